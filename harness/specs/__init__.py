"""Experiments as data: the schemas of task, approach and profile YAML files, and their loaders.

Every problem is reported as `<file>: field '<dotted.path>': <what is wrong>`; YAML is read with
the safe loader only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from harness.errors import SpecError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TASKS_DIR = PROJECT_ROOT / "tasks"
APPROACHES_DIR = PROJECT_ROOT / "approaches"
PROFILES_DIR = PROJECT_ROOT / "profiles"
SUITES_DIR = PROJECT_ROOT / "suites"

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
SLICE_BOUND = r"(-?\d+%?)?"  # datasets' slice syntax: an index or a percentage, either end optional
SPLIT_PATTERN = re.compile(rf"^(?P<base>[A-Za-z0-9_]+)(\[{SLICE_BOUND}:{SLICE_BOUND}\])?$")

METRICS_DIR = PROJECT_ROOT / "harness" / "metrics"  # evaluate metric modules, loaded by path (harness.training.scoring)
CLAIM_KINDS = (
    "",
    "ood",
    "multitask",
    "sequential",
    "probe",
    "held-out-task",
    "learning-curve",
    "forgetting",
    "pretraining",
    "zero-shot",
)  # `learns` keys: <task>, ood/<task>, ...


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricSpec(BaseModel):
    """A metric as `evaluate` names it: a module in harness/metrics/ (or, where the hub is reachable, on
    the hub); any other key is an argument of its `compute`, e.g. `{name: f1, average: macro}`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _module_exists(self) -> MetricSpec:
        import os

        if not (METRICS_DIR / self.name / f"{self.name}.py").is_file() and os.environ.get("HF_HUB_OFFLINE") == "1":
            local = ", ".join(sorted(p.name for p in METRICS_DIR.iterdir() if (p / f"{p.name}.py").is_file()))
            raise ValueError(
                f"'{self.name}' is not a metric module in harness/metrics/ ({local}), and the hub, "
                "where evaluate would look next, is offline (HF_HUB_OFFLINE=1)"
            )
        return self

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @model_serializer(mode="wrap")
    def _bare_name(self, handler):
        """A metric without arguments is written as its name, as in the YAML (and in earlier job identities)."""
        return handler(self) if self.model_extra else self.name


class DatasetRef(Spec):
    path: str = Field(description="datasets.load_dataset path on the hub, e.g. 'glue'")
    name: str | None = Field(default=None, description="dataset config, e.g. 'sst2'")

    @field_validator("path", "name")
    @classmethod
    def _inside_the_source(cls, value: str | None) -> str | None:
        """Both name a folder of a mirror too (harness.data.DataSource.mirror_dir): never a way out of it."""
        if value is not None and (value.startswith(("/", "~")) or "\\" in value or ".." in value.split("/")):
            raise ValueError(f"'{value}': a hub id such as 'glue' or 'stanfordnlp/imdb', not a path out of the source")
        return value


class Splits(Spec):
    """Split expressions in datasets' slice syntax, e.g. 'validation_matched[:80%]'."""

    train: str | None = Field(default=None, description="absent for evaluation-only tasks")
    eval: str

    @field_validator("train", "eval")
    @classmethod
    def _slice_syntax(cls, value: str | None) -> str | None:
        if value is not None and not SPLIT_PATTERN.match(value):
            raise ValueError(f"'{value}' is not a split expression such as 'train' or 'validation[:80%]'")
        return value

    def base_names(self) -> set[str]:
        return {split_base_name(expr) for expr in (self.train, self.eval) if expr is not None}

    def describe(self) -> str:
        return f"train={self.train} eval={self.eval}" if self.train else f"eval={self.eval}"


class TaskSpec(Spec):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    dataset: DatasetRef
    text_fields: list[str] = Field(min_length=1, max_length=2, description="one text, or a pair")
    label_field: str = "label"
    label_names: list[str] = Field(min_length=2)
    splits: Splits
    fallback_splits: Splits | None = Field(
        default=None,
        description="used where the data source lacks a split of `splits`; must keep train and eval disjoint",
    )
    metrics: list[MetricSpec] = Field(
        default=[MetricSpec(name="accuracy")], description="accuracy is always computed, first"
    )
    max_length: int = Field(ge=8, le=4096)
    ood_eval: list[str] = Field(default=[], description="tasks whose eval split also scores this task's model")
    prefix: str | None = Field(
        default=None, description="T5-style text prefix, used where a multi-task suite turns prefixes on"
    )
    label_descriptions: list[str] | None = Field(
        default=None,
        description="one short text per label, in label order (SST-2: 'a negative movie review', ...): where given, "
        "the pre-trained encoder is also scored as a zero-shot classifier (harness.jobs.baselines.ZeroShotJob)",
    )
    group_by: list[str] = Field(
        default=[],
        description="text fields whose shared values tie examples together (MNLI's premise, three hypotheses each): "
        "a group is never cut by a sliced split (`validation[:80%]`) or by the dev slice, so no premise is both "
        "trained on and scored",
    )

    @model_serializer(mode="wrap")
    def _ungrouped_unsaid(self, handler):
        """No grouping is what every task did before the field existed: left out of job identities, so keys stay."""
        data = handler(self)
        if not data.get("group_by", True):  # added later: absent where empty keeps earlier identities
            del data["group_by"]
        # They shape only the zero-shot classifier, whose identity names them itself (harness.jobs.baselines):
        # every other job on the task keeps its key whatever they say.
        data.pop("label_descriptions", None)
        return data

    @field_validator("label_names")
    @classmethod
    def _unique_labels(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("label names must be unique")
        return names

    @field_validator("metrics")
    @classmethod
    def _accuracy_first(cls, metrics: list[MetricSpec]) -> list[MetricSpec]:
        others = [m for m in metrics if m.name != "accuracy"]
        if len({m.name for m in others}) != len(others):
            raise ValueError("a metric is named twice; each is reported under its name")
        return [MetricSpec(name="accuracy"), *others]

    @model_validator(mode="after")
    def _fallback_is_complete(self) -> TaskSpec:
        if self.fallback_splits and bool(self.fallback_splits.train) != bool(self.splits.train):
            raise ValueError("fallback_splits must declare the same splits (train, eval) as splits")
        if self.fallback_splits and self.fallback_splits.train == self.fallback_splits.eval:
            raise ValueError("fallback_splits.train and fallback_splits.eval must differ (they would overlap)")
        if self.label_descriptions is not None and len(self.label_descriptions) != len(self.label_names):
            raise ValueError(
                f"label_descriptions has {len(self.label_descriptions)} entries for {len(self.label_names)} labels"
            )
        unknown = [name for name in self.group_by if name not in self.text_fields]
        if unknown:
            raise ValueError(f"group_by names {', '.join(unknown)}, not among text_fields {self.text_fields}")
        return self

    @property
    def trainable(self) -> bool:
        return self.splits.train is not None

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


class TrainingSettings(Spec):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    head_learning_rate: float | None = Field(
        default=None,
        gt=0,
        description="the task head's rate under every approach (harness.models.heads); default: the approach's",
    )
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="bf16 autocast (weights and optimizer state stay fp32): 'auto' on CUDA, and on CPUs with bf16 "
        "units (avx512_bf16, AMX) where no GPU is present (harness.options.profile_as_run); 'bf16' on any device; "
        "'fp32' nowhere; every record says which ran",
    )

    @model_serializer(mode="wrap")
    def _auto_precision_unsaid(self, handler):
        """'auto' is what every run did before the setting existed: left out of job identities, so their keys stay."""
        data = handler(self)
        if data.get("precision") == "auto":
            del data["precision"]
        return data


class TrainingOverrides(Spec):
    epochs: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    learning_rate: float | None = Field(default=None, gt=0)
    warmup_ratio: float | None = Field(default=None, ge=0, lt=1)
    weight_decay: float | None = Field(default=None, ge=0)
    seeds: list[int] | None = Field(
        default=None, min_length=1, description="this task's single-task seeds in this profile"
    )
    train_examples: int | None = Field(default=None, ge=1)
    dev_examples: int | None = Field(default=None, ge=1)
    eval_examples: int | None = Field(default=None, ge=1)
    max_length: int | None = Field(default=None, ge=8, description="this task's token cap in this profile")


class ProfileSpec(Spec):
    name: str = Field(pattern=NAME_PATTERN)
    description: str
    model: str = Field(description="built-in alias, local directory or hub id")
    seeds: list[int] = Field(min_length=1, description="single-task seeds (per task: task_overrides)")
    suite_seeds: list[int] | None = Field(
        default=None, min_length=1, description="seeds of the other suites; default: seeds"
    )
    tasks: list[str] | None = Field(default=None, description="default: every trainable task in tasks/")
    train_examples: int | None = Field(default=None, ge=1, description="cap per task; default: the whole split")
    min_train_examples_per_class: int = Field(
        default=8, ge=1, description="fewer in a drawn training set is a spec error: such a set cannot show anything"
    )
    dev_examples: int = Field(
        ge=1, description="held out of each training split for choosing hyper-parameters, never trained on"
    )
    eval_examples: int | None = Field(default=None, ge=1, description="cap per evaluation split")
    max_length: int | None = Field(default=None, ge=8, description="cap on every task's max_length")
    eval_batch_size: int = Field(default=64, ge=1)
    training: TrainingSettings
    task_overrides: dict[str, TrainingOverrides] = {}
    learns: dict[str, list[str] | Literal["all"]] = Field(
        default={},
        description="<task> (single-task models), or <kind>/<task> for another suite kind (ood, multitask, "
        "sequential, held-out-task, learning-curve, forgetting, pretraining, zero-shot) or probe/<probe> -> the "
        "approaches ('all') whose score must beat the majority class by 2 standard errors at this budget; elsewhere "
        "the budget claims nothing and the check is skipped, saying so",
    )
    beats_frozen_features: dict[str, float] = Field(
        default={},
        description="task -> how far (accuracy) any approach may stay below the frozen-feature baseline; only a "
        "shortfall beyond it by 2 standard errors of the paired difference fails",
    )
    max_gap_to_full: dict[str, dict[str, float]] = Field(
        default={},
        description="task -> approach -> how far below full fine-tuning's accuracy it may stay",
    )
    multitask_step_share: float = Field(
        default=1.0,
        gt=0,
        description="a multi-task model's training steps, as a share of its single-task models' steps added up",
    )
    suites: dict[str, dict[str, Any]] = Field(
        default={},
        description="suite name -> lists (or mappings) of its YAML cut, at this profile, to the entries given here",
    )
    leaderboard: str | None = Field(
        default=None,
        description="the profile's published board, relative to the project: "
        "written only by `python -m harness leaderboard --publish`; a run writes its own beside its store",
    )

    @field_validator("leaderboard")
    @classmethod
    def _inside_the_project(cls, board: str | None) -> str | None:
        if board is not None and (Path(board).is_absolute() or ".." in Path(board).parts or not board.endswith(".md")):
            raise ValueError(f"'{board}': expected a .md path inside the project, relative to it (e.g. leaderboard.md)")
        return board

    @field_validator("learns")
    @classmethod
    def _claim_kinds(cls, learns: dict) -> dict:
        for key in learns:
            kind, _, name = key.rpartition("/")
            if kind not in CLAIM_KINDS or not name:
                raise ValueError(f"'{key}': expected <task> or {', '.join(f'{k}/<name>' for k in CLAIM_KINDS if k)}")
        return learns

    _source: str | None = PrivateAttr(default=None)  # the file it was read from (harness.specs.catalog.load_profile)

    @property
    def source(self) -> str:
        """How errors name this profile: its file where it came from one."""
        return self._source or f"profile '{self.name}'"

    def named_approaches(self) -> dict[str, set[str]]:
        """Per field, the approach names it refers to, for a check against approaches/."""
        return {
            "learns": {name for names in self.learns.values() if names != "all" for name in names},
            "max_gap_to_full": {name for bounds in self.max_gap_to_full.values() for name in bounds},
        }

    def named_tasks(self) -> dict[str, set[str]]:
        """Per field, the task names it refers to (probe names excepted), for a check against tasks/."""
        return {
            "learns": {key.rpartition("/")[2] for key in self.learns if not key.startswith("probe/")},
            "beats_frozen_features": set(self.beats_frozen_features),
            "max_gap_to_full": set(self.max_gap_to_full),
            "task_overrides": set(self.task_overrides),
            "tasks": set(self.tasks or []),
        }

    def training_for(self, task: str) -> TrainingSettings:
        overrides = self.task_overrides.get(task)
        if overrides is None:
            return self.training
        changes = overrides.model_dump(
            exclude_none=True, exclude={"seeds", "train_examples", "dev_examples", "eval_examples", "max_length"}
        )
        return self.training.model_copy(update=changes)

    def train_examples_for(self, task: str) -> int | None:
        overrides = self.task_overrides.get(task)
        return overrides.train_examples if overrides and overrides.train_examples else self.train_examples

    def with_train_examples(self, task: str, examples: int) -> ProfileSpec:
        """This profile with `task`'s training subset cut to `examples` (drawn with each seed from the same pool)."""
        override = self.task_overrides.get(task) or TrainingOverrides()
        changed = override.model_copy(update={"train_examples": examples})
        return self.model_copy(update={"task_overrides": self.task_overrides | {task: changed}})

    def seeds_for(self, task: str) -> list[int]:
        overrides = self.task_overrides.get(task)
        return overrides.seeds if overrides and overrides.seeds else self.seeds

    def dev_examples_for(self, task: str) -> int:
        overrides = self.task_overrides.get(task)
        return overrides.dev_examples if overrides and overrides.dev_examples else self.dev_examples

    def eval_examples_for(self, task: str) -> int | None:
        overrides = self.task_overrides.get(task)
        return overrides.eval_examples if overrides and overrides.eval_examples else self.eval_examples

    def max_length_for(self, task: TaskSpec) -> int:
        """The task's own cap, lowered by the profile's (for every task, or this task's override)."""
        overrides = self.task_overrides.get(task.name)
        caps = [task.max_length, self.max_length, overrides.max_length if overrides else None]
        return min(cap for cap in caps if cap)

    def claims_learning(self, task: str, approach: str) -> bool:
        approaches = self.learns.get(task, [])
        return approaches == "all" or approach in approaches


class ApproachSpec(BaseModel):
    """Common keys of an approach; the method plug-in validates the rest (its hyper-parameters)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    method: str
    description: str = ""
    learning_rate: float | None = Field(default=None, gt=0, description="overrides the profile's")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def check_known(where: str, field: str, names: list[str], known) -> None:
    """A suite field naming tasks or approaches: every name must be a valid spec."""
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SpecError(f"{where}: field '{field}': unknown or invalid {', '.join(unknown)}")


def split_base_name(expression: str) -> str:
    match = SPLIT_PATTERN.match(expression)
    if not match:
        raise ValueError(f"not a split expression: {expression!r}")
    return match.group("base")


def format_validation_error(source: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "<top level>"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(f"{source}: field '{field}': {message}")
    return "\n".join(problems)


SPEC_SUFFIXES = (".yaml", ".yml")


def spec_files(directory: Path) -> list[Path]:
    """The spec files of a directory, `.yaml` and `.yml` alike, by name."""
    return (
        sorted(path for path in directory.iterdir() if path.suffix in SPEC_SUFFIXES and path.is_file())
        if directory.is_dir()
        else []
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' is given twice in one mapping", key_node.start_mark
                )
            seen[key] = True
        return super().construct_mapping(node, deep=deep)


MAX_SPEC_BYTES = 256 * 1024  # a spec file: far above any real one, far below what would slow a run down
MAX_SPEC_DEPTH = 32  # nesting of mappings and lists
MAX_SPEC_VALUES = 100_000  # values once YAML aliases are expanded (an alias bomb expands to billions)
MAX_SCALAR_CHARS = 10_000  # one value: it is copied into every record


def _bounded(node: yaml.Node, path: Path) -> None:
    """Rejects, naming the field, a document that nests too deep, expands (through aliases) to too many values, or
    holds one too long; walked without recursion, so that any depth can be reported."""
    count, stack = 0, [(node, (), 0)]
    while stack:
        current, where, depth = stack.pop()
        field = ".".join(where) or "(top)"
        count += 1
        if count > MAX_SPEC_VALUES:
            raise SpecError(
                f"{path}: field '{field}': more than {MAX_SPEC_VALUES:,} values once YAML aliases are expanded"
            )
        if depth > MAX_SPEC_DEPTH:
            raise SpecError(f"{path}: field '{field}': nested deeper than {MAX_SPEC_DEPTH} levels")
        if isinstance(current, yaml.ScalarNode) and len(current.value) > MAX_SCALAR_CHARS:
            raise SpecError(
                f"{path}: field '{field}': {len(current.value):,} characters, more than {MAX_SCALAR_CHARS:,}"
            )
        if isinstance(current, yaml.MappingNode):
            stack += [(value, (*where, str(key.value)), depth + 1) for key, value in current.value]
        elif isinstance(current, yaml.SequenceNode):
            stack += [(value, (*where, str(index)), depth + 1) for index, value in enumerate(current.value)]


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(f"{path}: {path.stat().st_size:,} bytes; a spec file holds at most {MAX_SPEC_BYTES:,}")
        loader = _UniqueKeyLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            if node is None:
                raise SpecError(f"{path}: expected a mapping of fields, got an empty file")
            _bounded(node, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except RecursionError:
        raise SpecError(f"{path}: nested deeper than {MAX_SPEC_DEPTH} levels") from None
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    return data


def parse_spec(spec_type: type[BaseModel], data: dict[str, Any], source: str):
    try:
        return spec_type.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_validation_error(source, exc)) from None


def load_spec(spec_type: type[BaseModel], path: Path):
    return parse_spec(spec_type, read_yaml(path), display_path(path))


def display_path(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)

"""What a run's record holds, named once: the fields every record has (`Record`), the groups of fields several kinds
share (an evaluation, training cost, trainable state, data splits), and one record type per kind of job, registered
by the module that defines the job (`record_type`). The store validates every record it writes and reads against
its kind's type, so a misspelt or missing field is an error where it is made, not a blank cell on a board.

Schema versions: 1 — the untyped records written before this module (no `schema_version` field; the same fields);
2 — this module. `parse_record` reads both.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

SCHEMA_VERSION = 2
FIRST_TYPED_VERSION = 2  # records without `schema_version` are version 1: the same fields, not yet validated

Status = Literal["ok", "failed", "skipped", "cancelled"]


class Fields(BaseModel):
    """A group of record fields. Unknown fields are refused so that every field is declared where it is written."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class EvaluationRecord(Fields):
    """One model scored on one split: its metrics and, compactly (harness.results.encode_ids), every prediction and
    label, so that intervals and paired tests can be computed later (harness.stats)."""

    examples: int
    metrics: dict[str, float]
    majority_class: int | None = None
    majority_rate: float
    predictions: str | None = None  # absent from records written before predictions were kept
    labels: str | None = None

    @property
    def accuracy(self) -> float:
        return self.metrics["accuracy"]


class WorkerInfo(Fields):
    pid: int
    jobs_run: int
    torch_threads: int
    cuda_visible_devices: str | None = None


class TrainingMemory(Fields):
    """Training memory by component, in bytes, each from the tensors (harness.training.memory.training_memory)."""

    weights: dict[str, int]  # by dtype
    gradients: int
    optimizer_state: int
    activations: int  # saved for backward, one forward on the reference batch
    reference_batch: str  # its shape: `32×64 tokens`
    total: int


class TrainingCost(Fields):
    """What one training loop measured (harness.jobs.measured_training)."""

    train_seconds: float | None = None
    train_steps: int | None = None
    train_samples_per_second: float | None = None
    train_loss_start: float | None = None
    train_loss_end: float | None = None
    precision: str | None = None  # absent from records before mixed precision was a setting: fp32 ran
    hardware: str | None = None
    peak_memory_bytes: int | None = None
    peak_memory_kind: str | None = None
    memory_baseline_bytes: int | None = None
    training_memory: TrainingMemory | None = None


class TrainableState(Fields):
    """The parameter counts and size of the saved trainable state (harness.training.checkpoints.save_trainable)."""

    trainable_params: int | None = None
    method_params: int | None = None
    head_params: int | None = None
    trainable_state_bytes: int | None = None


class SplitFields(Fields):
    """Which examples a single-task model trained on and was tuned on (harness.jobs.TaskData.describe)."""

    split_spec: str | None = None
    train_examples: int | None = None
    dev_examples: int | None = None
    dev_split: str | None = None


class ScoredFields(Fields):
    """A single-task model (or the frozen-feature baseline) scored: on its dev slice, its evaluation split and the
    out-of-domain tasks; `metrics`, `majority_rate` and `eval_examples` repeat the evaluation's for the runs CSV."""

    majority_class: int | None = None  # of the training split
    dev: EvaluationRecord | None = None
    eval: EvaluationRecord | None = None  # absent where a job never sees the evaluation split (a sweep)
    ood: dict[str, EvaluationRecord] = {}
    eval_examples: int | None = None
    metrics: dict[str, float] = {}
    majority_rate: float | None = None
    # where a frozen encoder's pooled outputs were used, per set (train, dev, eval, ood <task>): computed by this job
    # or read from the store, and their cost (harness.training.features)
    encoder_features: dict[str, str] | None = None


class Record(Fields):
    """The fields of every record, whatever its kind and status. A failed or skipped run's record has these only."""

    schema_version: int = SCHEMA_VERSION
    config_hash: str
    config: dict[str, Any]
    status: Status
    kind: str = "single-task"  # records from before kinds were recorded are single-task
    task: str
    approach: str
    variant: str | None = None
    method: str | None = None
    model: str
    pooling: str | None = None
    profile: str
    seed: int
    data_source: str
    package_versions: dict[str, str] = {}
    started_at: str | None = None
    finished_at: str | None = None
    wall_seconds: float | None = None
    worker: WorkerInfo | None = None
    failure: str | None = None
    attempts: int | None = None  # how often the engine ran the job, where more than once
    retried_because: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def updated(self, **fields: Any) -> Record:
        """A copy with `fields` changed, validated as the original was."""
        return type(self).model_validate(self.model_dump() | fields)


class UnknownKindRecord(Record):
    """A record of a kind no imported module registers: its common fields are checked, the others kept as they are."""

    model_config = ConfigDict(extra="allow")


_TYPES: dict[str, type[Record]] = {}
_discover: list[Callable[[], Any]] = []  # imports the modules that register record types (set by harness.kinds)


def discover_with(importer: Callable[[], Any]) -> None:
    """`importer` is called once, the first time a record of an unregistered kind is read, to import the modules
    that register record types (harness.kinds sets it: a process that reads records through the harness knows
    every kind's type; a bare `harness.results` reader gets UnknownKindRecord for kinds not yet imported)."""
    _discover.append(importer)


def record_type(*kinds: str) -> Callable[[type[Record]], type[Record]]:
    """Registers a class as the record type of `kinds` (decorator). A kind has one type; a second is refused."""

    def register(cls: type[Record]) -> type[Record]:
        for kind in kinds:
            if kind in _TYPES and _TYPES[kind] is not cls:
                raise ValueError(f"record kind '{kind}' is already registered to {_TYPES[kind].__qualname__}")
            _TYPES[kind] = cls
        return cls

    return register


def record_class(kind: str) -> type[Record]:
    """The record type registered for `kind` (UnknownKindRecord where none is)."""
    while kind not in _TYPES and _discover:
        _discover.pop()()
    return _TYPES.get(kind, UnknownKindRecord)


def parse_record(raw: dict[str, Any]) -> Record:
    """A record from its JSON form, any schema version, validated against its kind's type. Raises ValueError (a
    pydantic ValidationError names each field) where `raw` is not a record of this harness."""
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version!r}: written by a newer harness (this one reads 1 to {SCHEMA_VERSION})"
        )
    if version < FIRST_TYPED_VERSION:
        raw = raw | {"schema_version": SCHEMA_VERSION}
    return record_class(raw.get("kind") or "single-task").model_validate(raw)


def problem_of(exc: ValidationError | ValueError) -> str:
    """One line naming the fields that made a record invalid."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
    return str(exc)

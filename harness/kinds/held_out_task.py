"""Generalization to a new task (suites/held-out-task.yaml): each held-out task T is fine-tuned on a few examples
from three starts, at the same budget, seeds and examples: the pre-trained encoder; the encoder of a multi-task
model trained on the suite's other tasks (T never in its mixture); and the encoder of a single-task model of another
task (the suite's `transfer_from`). The board gives each start's accuracy and its gain over the pre-trained start.

The starts are trained with full fine-tuning (a transfer needs an encoder that changed; a LoRA or adapter start would
first have to be merged): the single-task start is the single-task suite's own full job, shared in the store.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from harness.errors import SpecError
from harness.jobs import DerivedJob, Job, SingleTaskRecord, common_record
from harness.jobs import execute as fine_tune
from harness.kinds import SuiteKind, at_suite_seeds, register
from harness.kinds.multitask import MultiTaskJob, MultiTaskRecord, MultitaskSuiteSpec
from harness.models import ModelRef, load_tokenizer, save_encoder
from harness.report.marks import Differences, MarkedTable, in_domain
from harness.report.tables import BoardContext, grouped, table
from harness.results import ResultStore, store_root_of
from harness.results.record import record_type
from harness.specs import NAME_PATTERN, Spec, TaskSpec, check_known, load_spec
from harness.training.checkpoints import restore
from harness.training.samplers import ProportionalSpec, SamplerSpec

HELD_OUT_FORMAT = 1
START_APPROACH = "full"
PRETRAINED = "pre-trained"


class HeldOutTaskSuiteSpec(Spec):
    kind: Literal["held-out-task"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    tasks: list[str] = Field(min_length=3, description="the pool: a held-out task's mixture trains on the others")
    held_out: list[str] = Field(min_length=1, description="tasks held out in turn, each one of `tasks`")
    transfer_from: dict[str, str] = Field(
        description="per held-out task, the other task whose single-task encoder is the third start"
    )
    sampler: Annotated[SamplerSpec, Field(discriminator="name")] = ProportionalSpec(name="proportional")
    approaches: list[str] = Field(min_length=1, description="how the held-out task is fine-tuned from each start")
    examples: int = Field(ge=8, description="training examples of the held-out task")


def load_held_out_suite(path: Path, tasks: dict[str, TaskSpec], approaches) -> HeldOutTaskSuiteSpec:
    suite = load_spec(HeldOutTaskSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "tasks", suite.tasks, {n: t for n, t in tasks.items() if t.trainable})
    check_known(where, "approaches", suite.approaches, approaches)
    check_known(where, "held_out", suite.held_out, {name: name for name in suite.tasks})
    for task in suite.held_out:
        source = suite.transfer_from.get(task)
        if source is None or source == task or source not in suite.tasks:
            raise SpecError(
                f"{where}: field 'transfer_from.{task}': another task of 'tasks' is needed for each held-out task, "
                f"got {source!r}"
            )
    return suite


@record_type("held-out-task")
class HeldOutTaskRecord(SingleTaskRecord):
    """The held-out task fine-tuned from one start (a single-task record's fields); `variant` names the start:
    `pre-trained`, `multi-task without <task>` or `<task> single-task`; its `config.start`, the config hash of the job
    whose encoder it started from."""

    @model_validator(mode="before")
    @classmethod
    def _without_start_config(cls, raw: Any) -> Any:
        """Records written before 2026-12-04 repeated `config.start` as `start_config`."""
        return {k: v for k, v in raw.items() if k != "start_config"} if isinstance(raw, dict) else raw


record_type("held-out-mixture")(MultiTaskRecord)  # a start: kept apart from the multi-task suite's table


@dataclass(frozen=True)
class HeldOutMixtureJob(MultiTaskJob):
    """The multi-task start: the suite's other tasks, under its sampler."""

    def base_record(self) -> dict[str, Any]:
        return super().base_record() | {"kind": "held-out-mixture"}


@dataclass(frozen=True)
class HeldOutTaskJob(DerivedJob):
    suite: HeldOutTaskSuiteSpec
    fine_tuning: Job  # the few-shot job on the held-out task, from the pre-trained encoder
    start: Job | MultiTaskJob | None  # the trained job whose encoder it starts from; None: the pre-trained encoder

    @property
    def origin(self) -> Job:
        return self.fine_tuning

    @property
    def start_label(self) -> str:
        if self.start is None:
            return PRETRAINED
        if isinstance(self.start, MultiTaskJob):
            return f"multi-task without {self.fine_tuning.task.name}"
        return f"{self.start.task.name} single-task"

    @property
    def name(self) -> str:
        if self.start is None:
            start = "pretrained"
        else:
            start = "mixture" if isinstance(self.start, MultiTaskJob) else self.start.task.name
        return f"{self.suite.name}-{self.fine_tuning.task.name}-from-{start}-{self.approach.name}-seed{self.seed}"

    def dependencies(self) -> tuple:
        return (self.start,) if self.start else ()

    def with_dependencies(self, done: dict) -> HeldOutTaskJob:
        return replace(self, start=done[self.start.name].job) if self.start else self

    def identity(self) -> dict[str, Any]:
        return {
            "format": HELD_OUT_FORMAT,
            "fine_tuning": self.fine_tuning.config_hash,
            "start": self.start.config_hash if self.start else PRETRAINED,
        }

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {
            "kind": "held-out-task",
            "task": self.fine_tuning.task.name,
            "variant": self.start_label,
        }

    def execute(self, run_dir: Path) -> dict[str, Any]:
        if self.start is None:
            return fine_tune(self.fine_tuning, run_dir)
        store = ResultStore(store_root_of(run_dir))
        trained = restore(self.start, store.run_dir(self.start.config_hash))
        encoder_dir = run_dir / "start-encoder"
        save_encoder(self.model, trained, encoder_dir, self.seed)
        load_tokenizer(self.model).save_pretrained(encoder_dir)
        name, pooling = f"{self.model.name}+{self.start.name}", self.model.pooling
        started = ModelRef(name=name, location=str(encoder_dir), kind="local", pooling=pooling)
        return fine_tune(replace(self.fine_tuning, model=started), run_dir)


def held_out_jobs(suite: HeldOutTaskSuiteSpec, tasks, approaches, model, profile, seeds, source) -> list:
    jobs = []
    for name in suite.held_out:
        others = [other for other in suite.tasks if other != name]
        few_shot = profile.with_train_examples(name, suite.examples)
        mixture = MultitaskSuiteSpec(
            kind="multitask",
            name=f"{suite.name}-without-{name}",
            tasks=others,
            samplers=[suite.sampler],
            approaches=[START_APPROACH],
        )
        for seed in seeds:
            common = dict(model=model, profile=profile, seed=seed, source=source)
            starts = [
                None,
                HeldOutMixtureJob(
                    suite=mixture,
                    tasks=tuple(tasks[other] for other in others),
                    ood_tasks=(),
                    sampler=suite.sampler,
                    approach=approaches[START_APPROACH],
                    **common,
                ),
                Job(  # the single-task suite's own job (its out-of-domain tasks too), shared in the store
                    task=(transfer := tasks[suite.transfer_from[name]]),
                    ood_tasks=tuple(tasks[target] for target in transfer.ood_eval),
                    approach=approaches[START_APPROACH],
                    **common,
                ),
            ]
            for approach in suite.approaches:
                fine_tuning = Job(
                    task=tasks[name], ood_tasks=(), approach=approaches[approach], **(common | {"profile": few_shot})
                )
                jobs += [HeldOutTaskJob(suite=suite, fine_tuning=fine_tuning, start=start) for start in starts]
    return jobs


def start_comparisons(runs: pd.DataFrame) -> tuple[dict, MarkedTable, Differences]:
    """The runs by (task, approach, start); each start's accuracy marked against the majority class; each start's
    gain over the pre-trained start on the same seeds and examples."""
    marked, gains = MarkedTable(), Differences()
    by_start = grouped(runs, ["task", "approach", "variant"])
    for (task, approach, start), started in by_start.items():
        marked.add((task, approach, start), started)
        pretrained = by_start.get((task, approach, PRETRAINED), [])
        if start != PRETRAINED:
            gains.add((task, approach, start), started, in_domain, pretrained, in_domain)
    return by_start, marked, gains


def transfer_answers(runs: pd.DataFrame, board: BoardContext) -> list[str]:
    """Per held-out task and approach: the pre-trained start's accuracy, and each other start's gain over it."""
    by_start, _, gains = board.once("held-out-task", lambda: start_comparisons(runs))
    texts, lines = gains.texts(), []
    for task, approach in sorted({(task, approach) for task, approach, _ in by_start}):
        pretrained = by_start.get((task, approach, PRETRAINED))
        if not pretrained:
            continue
        accuracy = statistics.fmean(r.eval.accuracy for r in pretrained)
        starts = sorted(start for t, a, start in by_start if (t, a) == (task, approach) and start != PRETRAINED)
        gained = [
            f"{start}: {texts[key]} ({gains.verdict(key, 'a better start', 'a worse start')})"
            for start in starts
            for key in [(task, approach, start)]
        ]
        lines.append(
            f"- **transfer to a held-out task** ({task}, {approach} on {pretrained[0].train_examples} examples): "
            f"{100 * accuracy:.1f} % from the pre-trained encoder; gain from another start: " + "; ".join(gained) + "."
        )
    return lines


def leaderboard_section(runs: pd.DataFrame, board: BoardContext) -> list[str]:
    by_start, marked, gains = board.once("held-out-task", lambda: start_comparisons(runs))
    cells, deltas = marked.cells_text(), gains.texts()

    def pretrained_first(key):
        task, approach, start = key
        return task, approach, start != PRETRAINED, start

    rows = [
        [*key, by_start[key][0].train_examples, cells[key], deltas.get(key, "")]
        for key in sorted(by_start, key=pretrained_first)
    ]
    return [
        "## Generalization to a held-out task",
        "",
        "Each task fine-tuned on a few examples from three starts, on the same seeds, examples and budget: the "
        "pre-trained encoder; a multi-task encoder trained (full fine-tuning) on the suite's other tasks, never this "
        "one; and another task's single-task encoder (full fine-tuning). Accuracy (%) as in the single-task table "
        "(○ not distinguishable from the majority class); gain: minus the pre-trained start on the same seeds and "
        "examples, in points with its 95 % paired bootstrap interval (▲ ▼ where significant after "
        "Benjamini–Hochberg over the table, on at least 3 seeds).",
        "",
        table(rows, headers=["task", "approach", "start", "examples", "accuracy", "gain over pre-trained"]),
        "",
    ]


register(
    SuiteKind(
        name="held-out-task",
        fixture="held_out",
        load=load_held_out_suite,
        jobs=at_suite_seeds(held_out_jobs),
        needs=lambda job: (job, *job.dependencies()),
        leaderboard=leaderboard_section,
        answers=transfer_answers,
        order=3,
    )
)

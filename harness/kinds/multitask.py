"""Multi-task fine-tuning: one shared encoder, one head per task, batches drawn by a task sampler.

The heads are disjoint slices of one output layer, each with its own softmax: that keeps every
approach plug-in (LoRA, adapters, prefix, ...) working unchanged on a multi-task model. BERT's
pooler and DistilBERT's pre_classifier sit below the slices and are shared like the encoder.
A suite YAML (suites/multitask.yaml) declares the tasks, samplers, approaches and step budget.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from harness.data import DataSource, reference_batch
from harness.errors import HarnessError, SpecError
from harness.jobs import Job, SingleTaskRecord, TrainingJob, common_record, load_task_data, measured_training
from harness.kinds import SuiteKind, at_suite_seeds, register
from harness.models import ModelRef, load_tokenizer
from harness.report.marks import Differences, in_domain
from harness.report.tables import BoardContext, grouped, mean_std, size, table
from harness.results.record import EvaluationRecord, Record, TrainableState, TrainingCost, record_type
from harness.specs import (
    NAME_PATTERN,
    ApproachSpec,
    ProfileSpec,
    Spec,
    TaskSpec,
    TrainingSettings,
    check_known,
    load_spec,
)
from harness.training.checkpoints import build_model, save_trainable
from harness.training.samplers import (
    CurriculumSpec,
    SamplerSpec,
    make_sampler,
    order_by_difficulty,
    sampler_label,
)

MULTITASK_FORMAT = 4  # bump when a change makes earlier multi-task records incomparable


class MultitaskSuiteSpec(Spec):
    kind: Literal["multitask"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    tasks: list[str] = Field(min_length=2)
    samplers: list[Annotated[SamplerSpec, Field(discriminator="name")]] = Field(min_length=1)
    approaches: list[str] = Field(min_length=1)
    text_prefixes: bool = Field(default=False, description="put each task's `prefix` before its text")
    steps: int | None = Field(
        default=None,
        ge=1,
        description="default: the single-task models' steps added up, times the profile's multitask_step_share",
    )
    equal_budget: list[str] = Field(
        default_factory=list,
        description=(
            "labels of samplers (as in test ids, e.g. proportional, temperature-T2) also trained at the single-task "
            "models' summed steps, whatever the profile's multitask_step_share: the equal-budget comparison"
        ),
    )


def load_suite(path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]) -> MultitaskSuiteSpec:
    """The suite, checked against the tasks and approaches it names."""
    suite = load_spec(MultitaskSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "tasks", suite.tasks, tasks)
    check_known(where, "approaches", suite.approaches, approaches)
    untrainable = [n for n in suite.tasks if not tasks[n].trainable]
    if untrainable:
        raise SpecError(f"{where}: field 'tasks': {', '.join(untrainable)} has no train split")
    for index, sampler in enumerate(suite.samplers):
        if (
            isinstance(sampler, CurriculumSpec)
            and sampler.order != "measured"
            and sorted(sampler.order) != sorted(suite.tasks)
        ):
            raise SpecError(
                f"{where}: field 'samplers.{index}.order': must list exactly the suite's tasks {suite.tasks}"
            )
    unknown = sorted(set(suite.equal_budget) - {sampler_label(sampler) for sampler in suite.samplers})
    if unknown:
        raise SpecError(
            f"{where}: field 'equal_budget': {', '.join(unknown)} names no sampler of the suite "
            f"(known: {', '.join(sampler_label(sampler) for sampler in suite.samplers)})"
        )
    if suite.text_prefixes:
        missing = [n for n in suite.tasks if not tasks[n].prefix]
        if missing:
            raise SpecError(f"{where}: field 'text_prefixes': tasks {', '.join(missing)} declare no prefix")
    return suite


class TaskEvaluation(EvaluationRecord):
    """One task of the mixture scored, with the split and number of examples it trained on."""

    split_spec: str
    train_examples: int


@record_type("multitask")
class MultiTaskRecord(Record, TrainingCost, TrainableState):
    tasks: list[str] = []
    per_task: dict[str, TaskEvaluation] = {}
    ood: dict[str, EvaluationRecord] = {}  # keyed `task→target`: a task's head scored on an out-of-domain task
    sampled_batches: dict[str, int] = {}
    single_task_steps: dict[str, int] = {}  # what the mixture's tasks would train for alone, for the step budget


@dataclass(frozen=True)
class MultiTaskJob(TrainingJob):
    suite: MultitaskSuiteSpec
    tasks: tuple[TaskSpec, ...]
    ood_tasks: tuple[TaskSpec, ...]
    sampler: SamplerSpec
    measured_order: tuple[str, ...] | None = (
        None  # a curriculum's 'measured' order, once resolved (with_measured_order)
    )
    equal_budget: bool = False  # trains the single-task models' summed steps, not the profile's share of them

    @property
    def step_share(self) -> float:
        return 1.0 if self.equal_budget else self.profile.multitask_step_share

    @property
    def variant(self) -> str:
        return sampler_label(self.sampler) + ("-equal-budget" if self.equal_budget else "")

    @property
    def needs_measured_order(self) -> bool:
        return (
            isinstance(self.sampler, CurriculumSpec)
            and self.sampler.order == "measured"
            and self.measured_order is None
        )

    def single_task_jobs(self) -> tuple[Job, ...]:
        """The single-task jobs of its tasks, same approach and seed (what a measured order ranks by)."""
        ood = {o.name: o for o in self.ood_tasks}
        return tuple(
            Job(
                task=t,
                ood_tasks=tuple(ood[name] for name in t.ood_eval),
                approach=self.approach,
                model=self.model,
                profile=self.profile,
                seed=self.seed,
                source=self.source,
            )
            for t in self.tasks
        )

    def dependencies(self) -> tuple:
        return self.single_task_jobs() if self.needs_measured_order else ()

    def with_dependencies(self, done: dict) -> MultiTaskJob:
        return self.with_measured_order({job.task.name: done[job.name].record for job in self.single_task_jobs()})

    def with_measured_order(self, single_task_records: dict[str, SingleTaskRecord]) -> MultiTaskJob:
        """This job with its curriculum ordered by the single-task records of its tasks (same approach and seed)."""
        results = {name: (record.eval.accuracy, record.majority_rate) for name, record in single_task_records.items()}
        return replace(self, measured_order=tuple(order_by_difficulty(results)))

    def sampler_spec(self) -> SamplerSpec:
        if self.measured_order is None:
            return self.sampler
        return self.sampler.model_copy(update={"order": list(self.measured_order)})

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.variant}-{self.approach.name}-seed{self.seed}"

    @property
    def training(self) -> TrainingSettings:
        return self.training_for()

    def prefix(self, task: TaskSpec) -> str:
        return task.prefix if self.suite.text_prefixes and task.prefix else ""

    def classifier_labels(self) -> tuple[int, list[str]]:
        """One output layer holding every task's labels (see harness.models.heads.MultiTaskHeads)."""
        return sum(t.num_labels for t in self.tasks), [
            f"{t.name}/{label}" for t in self.tasks for label in t.label_names
        ]

    def single_task_steps(self, task: TaskSpec, examples: int) -> int:
        settings = self.profile.training_for(task.name)
        return settings.epochs * math.ceil(examples / settings.batch_size)

    def steps(self, sizes: dict[str, int]) -> int:
        if self.suite.steps:
            return self.suite.steps
        single_task = sum(self.single_task_steps(t, sizes[t.name]) for t in self.tasks)
        return max(1, round(single_task * self.step_share))

    def identity(self) -> dict[str, Any]:
        return {
            "format": MULTITASK_FORMAT,
            "suite": self.suite.model_dump(exclude={"description", "samplers", "approaches"}),
            "tasks": [t.model_dump() for t in self.tasks],
            "ood_tasks": [t.model_dump(exclude={"prefix"}) for t in self.ood_tasks],
            "sampler": self.sampler.model_dump(),
            "approach": self.approach.model_dump(),
            "model": self.model_identity(),
            "profile": self.profile.name,
            "training": self.training.model_dump(),
            "single_task_training": {t.name: self.profile.training_for(t.name).model_dump() for t in self.tasks},
            "step_share": self.step_share,
            "train_examples": {t.name: self.profile.train_examples_for(t.name) for t in self.tasks},
            "eval_examples": {t.name: self.profile.eval_examples_for(t.name) for t in (*self.tasks, *self.ood_tasks)},
            "max_length": {t.name: self.max_length(t) for t in (*self.tasks, *self.ood_tasks)},
            "seed": self.seed,
            "data_source": self.source.describe(),
        } | ({"measured_order": list(self.measured_order)} if self.measured_order else {})

    def base_record(self) -> dict[str, Any]:

        return common_record(self) | {
            "kind": "multitask",
            "task": self.suite.name,
            "variant": self.variant,
            "tasks": [t.name for t in self.tasks],
        }

    def execute(self, run_dir: Path) -> dict[str, Any]:
        return execute(self, run_dir)


class MixtureBatches:
    """`steps` batches; before each, the sampler picks the task it comes from. Each task cycles
    through its own length-grouped batches, reshuffled on every pass."""

    def __init__(self, loaders: dict[str, Any], sampler, steps: int, seed: int):
        self.loaders = loaders
        self.tasks = list(loaders)
        self.sampler = sampler
        self.steps = steps
        self.rng = np.random.default_rng(seed)
        self.counts = dict.fromkeys(self.tasks, 0)
        self.current: str | None = None

    def __len__(self) -> int:
        return self.steps

    def _cycle(self, task: str):
        while True:
            yield from self.loaders[task]

    def __iter__(self):
        streams = {task: self._cycle(task) for task in self.tasks}
        for step in range(self.steps):
            index = int(self.rng.choice(len(self.tasks), p=self.sampler.probabilities(step / self.steps)))
            self.current = self.tasks[index]
            self.counts[self.current] += 1
            batch = next(streams[self.current])
            batch["task_index"] = index
            yield batch

    def observe(self, loss: float) -> None:
        self.sampler.observe(self.current, loss)


def execute(job: MultiTaskJob, run_dir: Path) -> dict[str, Any]:
    from accelerate.utils import set_seed

    from harness.models.heads import MultiTaskHeads, TaskView
    from harness.training.loop import make_accelerator, task_loader, train
    from harness.training.scoring import score

    set_seed(job.seed)
    tokenizer = load_tokenizer(job.model)
    data = {t.name: load_task_data(job, t, tokenizer, job.prefix(t)) for t in job.tasks}
    # Out-of-domain text gets the source task's prefix: the model is asked the question it was trained on.
    ood_sets = {
        (t.name, target.name): (target, load_task_data(job, target, tokenizer, job.prefix(t), train=False).eval_set)
        for t in job.tasks
        for target in job.ood_tasks
        if target.name in t.ood_eval
    }

    _, model, arch = build_model(job, *job.classifier_labels())
    heads = MultiTaskHeads(model, [t.num_labels for t in job.tasks])

    sizes = {name: len(d.train_set) for name, d in data.items()}
    steps = job.steps(sizes)
    if job.needs_measured_order:
        raise HarnessError(f"{job.name}: the curriculum's 'measured' order was not resolved from single-task results")
    sampler = make_sampler(
        job.sampler_spec(), [t.name for t in job.tasks], sizes, {t.name: math.log(t.num_labels) for t in job.tasks}
    )
    loaders = {name: task_loader(d.train_set, tokenizer, job.training.batch_size, job.seed) for name, d in data.items()}
    batches = MixtureBatches(loaders, sampler, steps, job.seed)
    accelerator = make_accelerator(job.training)
    with measured_training() as measured:
        measured.stats = train(heads, batches, job.training, accelerator, desc=job.name, is_head=arch.is_head)
    longest = max(range(len(job.tasks)), key=lambda index: job.max_length(job.tasks[index]))  # the largest batch
    reference = reference_batch(
        data[job.tasks[longest].name].train_set, tokenizer, job.training.batch_size, job.max_length(job.tasks[longest])
    )
    measured.measure_components(heads, reference, accelerator, task_index=longest)

    batch_size = job.profile.eval_batch_size
    per_task, ood = {}, {}
    for index, task in enumerate(job.tasks):
        view = TaskView(heads, index)
        majority = data[task.name].majority_class
        result = score(view, data[task.name].eval_set, tokenizer, task, batch_size, accelerator.device, majority)
        per_task[task.name] = TaskEvaluation(
            **result.summary().model_dump(),
            split_spec=data[task.name].splits.describe(),
            train_examples=sizes[task.name],
        )
        for (source_name, _), (target, ood_set) in ood_sets.items():
            if source_name == task.name:
                ood[f"{task.name}→{target.name}"] = score(
                    view, ood_set, tokenizer, target, batch_size, accelerator.device, majority
                ).summary()
    return {
        "status": "ok",
        "per_task": per_task,
        "ood": ood,
        "sampled_batches": batches.counts,
        "single_task_steps": {t.name: job.single_task_steps(t, sizes[t.name]) for t in job.tasks},
        **save_trainable(
            model, arch, run_dir
        ),  # the inner classifier's names, as harness.training.checkpoints.restore builds it
        **measured.fields(),
    }


def multitask_jobs(
    suite: MultitaskSuiteSpec,
    tasks: dict[str, TaskSpec],
    approaches: dict[str, ApproachSpec],
    model: ModelRef,
    profile: ProfileSpec,
    seeds: list[int],
    source: DataSource,
) -> list[MultiTaskJob]:
    members = tuple(tasks[name] for name in suite.tasks)
    ood = tuple(tasks[name] for name in dict.fromkeys(target for task in members for target in task.ood_eval))
    variants = [(sampler, False) for sampler in suite.samplers]
    if profile.multitask_step_share != 1.0:
        variants += [(sampler, True) for sampler in suite.samplers if sampler_label(sampler) in suite.equal_budget]
    return [
        MultiTaskJob(
            suite=suite,
            tasks=members,
            ood_tasks=ood,
            sampler=sampler,
            approach=approaches[approach],
            model=model,
            profile=profile,
            seed=seed,
            source=source,
            equal_budget=equal_budget,
        )
        for sampler, equal_budget in variants
        for approach in suite.approaches
        for seed in seeds
    ]


def leaderboard_section(mixtures: pd.DataFrame, board: BoardContext) -> list[str]:
    """Per mixture: each task's accuracy against the same approach's single-task models (same profile and
    seeds), the task shares the sampler realised, and the cost of one model vs many."""
    single = board.single
    accuracy_rows, cost_rows, differences = [], [], Differences()
    by_mixture = grouped(mixtures, ["task", "variant", "approach"])
    for (suite, sampler, approach), runs in by_mixture.items():
        tasks = runs[0].tasks
        total = sum(runs[0].sampled_batches.values())
        cells = {}
        for task in tasks:
            ours = [r.per_task[task].accuracy for r in runs]
            key = (suite, sampler, approach, task)
            differences.add(
                key, runs, lambda r, task=task: r.per_task[task], single.get((task, approach), []), in_domain
            )
            share = 100 * runs[0].sampled_batches[task] / total
            cells[task] = (key, f"{mean_std(ours)} (Δ {{}}; {share:.0f}% of batches)")
        ood = "; ".join(f"{name} {mean_std([r.ood[name].accuracy for r in runs])}" for name in sorted(runs[0].ood))
        accuracy_rows.append([suite, sampler, approach, cells, ood or "–"])
        singles = [single.get((task, approach), []) for task in tasks]
        complete = all(singles)
        single_task_steps = sum(runs[0].single_task_steps.values())
        cost_rows.append(
            [
                suite,
                sampler,
                approach,
                size(runs[0].trainable_state_bytes),
                size(sum(s[0].trainable_state_bytes for s in singles)) if complete else "–",
                f"{statistics.fmean(r.train_seconds for r in runs):.1f}",
                f"{sum(statistics.fmean(r.train_seconds for r in s) for s in singles):.1f}" if complete else "–",
                f"{runs[0].train_steps} ({runs[0].train_steps / single_task_steps:.0%})"
                if single_task_steps
                else str(runs[0].train_steps),
            ]
        )
    deltas = differences.texts()
    # a column per task of any mixture (the forgetting kind's pairs mix two tasks), "–" where a mixture lacks it
    columns = list(dict.fromkeys(task for runs in by_mixture.values() for task in runs[0].tasks))
    accuracy_rows = [[*row[:3], *(row[3].get(task, "–") for task in columns), row[4]] for row in accuracy_rows]
    accuracy_rows = [
        [cell[1].format(deltas[cell[0]]) if isinstance(cell, tuple) else cell for cell in row] for row in accuracy_rows
    ]
    return [
        "## Multi-task vs single-task",
        "",
        "Accuracy (%) of one shared-encoder model with a head per task; Δ = multi-task minus the same approach's "
        "single-task model on the same seeds and examples, in points, with its 95 % paired bootstrap interval "
        "(▲ ▼ where significant after Benjamini–Hochberg over the table's Δ, on at least 3 seeds; harness.report."
        "marks); then the share of training batches the sampler actually drew from the task.",
        "",
        table(accuracy_rows, headers=["suite", "sampler", "approach", *columns, "out-of-domain"]),
        "",
        "Cost: what must be stored (trainable state) and train time, one multi-task model vs the single-task models "
        "it replaces.",
        "",
        table(
            cost_rows,
            headers=[
                "suite",
                "sampler",
                "approach",
                "stored (multi-task)",
                "stored (single-task, summed)",
                "train s (multi-task)",
                "train s (single-task, summed)",
                "steps (share of single-task sum)",
            ],
        ),
        "",
    ]


register(
    SuiteKind(
        name="multitask",
        fixture="multitask",
        load=load_suite,
        jobs=at_suite_seeds(multitask_jobs),
        leaderboard=leaderboard_section,
    )
)

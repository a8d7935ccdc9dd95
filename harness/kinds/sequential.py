"""Sequential fine-tuning: a chain of tasks (mnli → rte) trained one after the other on one encoder.

Each stage adds the head of its task (a slice of the multi-task output layer, see harness.kinds.multitask)
and continues from the previous stage's weights; earlier heads are kept for re-evaluation. After
every stage every task of the chain is evaluated, giving the accuracy matrix of harness.results.forgetting.
A suite YAML (suites/sequential.yaml) declares the chains and approaches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from harness.data import DataSource, reference_batch
from harness.errors import SpecError
from harness.jobs import TrainingJob, common_record, load_task_data, measured_training
from harness.kinds import SuiteKind, at_suite_seeds, register
from harness.models import ModelRef, load_tokenizer
from harness.report.marks import Differences, in_domain
from harness.report.tables import BoardContext, grouped, kept, learned, mean_std, table
from harness.results.forgetting import average_forgetting, backward_transfer, forgetting
from harness.results.record import EvaluationRecord, Record, TrainableState, TrainingCost, record_type
from harness.specs import (
    NAME_PATTERN,
    ApproachSpec,
    ProfileSpec,
    Spec,
    TaskSpec,
    check_known,
    load_spec,
)
from harness.training.checkpoints import build_model, save_trainable

SEQUENTIAL_FORMAT = 3  # bump when a change makes earlier sequential records incomparable


class SequentialSuiteSpec(Spec):
    kind: Literal["sequential"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    chains: list[list[str]] = Field(min_length=1, description="each a list of at least two tasks, trained in order")
    approaches: list[str] = Field(min_length=1)


def load_sequential_suite(
    path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]
) -> SequentialSuiteSpec:
    suite = load_spec(SequentialSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    for index, chain in enumerate(suite.chains):
        if len(chain) < 2 or len(set(chain)) != len(chain):
            raise SpecError(f"{where}: field 'chains.{index}': a chain needs two or more different tasks, got {chain}")
        unknown = [n for n in chain if n not in tasks or not tasks[n].trainable]
        if unknown:
            raise SpecError(f"{where}: field 'chains.{index}': unknown or untrainable task {', '.join(unknown)}")
    check_known(where, "approaches", suite.approaches, approaches)
    return suite


class Stage(TrainingCost):
    """One task of a chain: what it trained on, and every task of the chain scored after it."""

    task: str
    split_spec: str
    train_examples: int
    evaluations: dict[str, EvaluationRecord]


@record_type("sequential")
class SequentialRecord(Record, TrainingCost, TrainableState):
    chain: list[str] = []
    accuracy_matrix: list[list[float]] = []  # row i: every task's accuracy after training on task i
    forgetting: dict[str, float] = {}
    average_forgetting: float | None = None
    backward_transfer: float | None = None
    stages: list[Stage] = []


@dataclass(frozen=True)
class SequentialJob(TrainingJob):
    suite: SequentialSuiteSpec
    chain: tuple[TaskSpec, ...]

    @property
    def label(self) -> str:
        return "-then-".join(t.name for t in self.chain)

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.label}-{self.approach.name}-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return {
            "format": SEQUENTIAL_FORMAT,
            "chain": [t.model_dump(exclude={"prefix"}) for t in self.chain],
            "approach": self.approach.model_dump(),
            "model": self.model_identity(),
            "profile": self.profile.name,
            "training": {t.name: self.training_for(t.name).model_dump() for t in self.chain},
            "train_examples": {t.name: self.profile.train_examples_for(t.name) for t in self.chain},
            "eval_examples": {t.name: self.profile.eval_examples_for(t.name) for t in self.chain},
            "max_length": {t.name: self.max_length(t) for t in self.chain},
            "seed": self.seed,
            "data_source": self.source.describe(),
        }

    def base_record(self) -> dict[str, Any]:

        return common_record(self) | {
            "kind": "sequential",
            "task": self.label,
            "variant": None,
            "chain": [t.name for t in self.chain],
        }

    def execute(self, run_dir: Path) -> dict[str, Any]:
        return execute(self, run_dir)


class IndexedBatches:
    """A stage's batches, marked with the head (task index) they train."""

    def __init__(self, batches, task_index: int):
        self.batches = batches
        self.task_index = task_index

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            batch["task_index"] = self.task_index
            yield batch

    def observe(self, loss: float) -> None:
        self.batches.observe(loss)


def execute(job: SequentialJob, run_dir: Path) -> dict[str, Any]:
    from accelerate.utils import set_seed

    from harness.models.heads import MultiTaskHeads, TaskView
    from harness.training.loop import TaskBatches, make_accelerator, train
    from harness.training.scoring import score

    set_seed(job.seed)
    tokenizer = load_tokenizer(job.model)
    data = [load_task_data(job, task, tokenizer) for task in job.chain]
    label_counts = [t.num_labels for t in job.chain]
    _, model, arch = build_model(
        job, sum(label_counts), [f"{t.name}/{label}" for t in job.chain for label in t.label_names]
    )
    heads = MultiTaskHeads(model, label_counts)
    accelerator = make_accelerator(job.training_for(job.chain[0].name))  # precision is the profile's, for every task
    batch_size = job.profile.eval_batch_size

    matrix, stages = [], []
    for index, (task, task_data) in enumerate(zip(job.chain, data)):
        settings = job.training_for(task.name)  # each stage trains as that task's single-task model would
        batches = IndexedBatches(TaskBatches(task_data.train_set, tokenizer, settings, job.seed + index), index)
        with measured_training() as measured:
            measured.stats = train(
                heads,
                batches,
                settings,
                accelerator,
                desc=f"{job.name} stage {index + 1}: {task.name}",
                is_head=arch.is_head,
            )
        reference = reference_batch(task_data.train_set, tokenizer, settings.batch_size, job.max_length(task))
        measured.measure_components(heads, reference, accelerator, task_index=index)
        scores = [
            score(TaskView(heads, j), d.eval_set, tokenizer, t, batch_size, accelerator.device, d.majority_class)
            for j, (t, d) in enumerate(zip(job.chain, data))
        ]
        matrix.append([s.metrics["accuracy"] for s in scores])
        stages.append(
            Stage(
                task=task.name,
                split_spec=task_data.splits.describe(),
                train_examples=len(task_data.train_set),
                evaluations={t.name: s.summary() for t, s in zip(job.chain, scores)},
                **measured.fields(),
            )
        )
    return {
        "status": "ok",
        "accuracy_matrix": matrix,
        "forgetting": dict(zip([t.name for t in job.chain[:-1]], forgetting(matrix))),
        "average_forgetting": average_forgetting(matrix),
        "backward_transfer": backward_transfer(matrix),
        "stages": stages,
        "train_seconds": sum(stage.train_seconds for stage in stages),
        "peak_memory_bytes": max(
            (s.peak_memory_bytes for s in stages if s.peak_memory_bytes is not None), default=None
        ),
        "peak_memory_kind": stages[0].peak_memory_kind,
        "training_memory": max((s.training_memory for s in stages), key=lambda components: components.total),
        "hardware": stages[0].hardware,
        "precision": stages[0].precision,
        **save_trainable(heads, arch, run_dir),
    }


def sequential_jobs(
    suite: SequentialSuiteSpec,
    tasks: dict[str, TaskSpec],
    approaches: dict[str, ApproachSpec],
    model: ModelRef,
    profile: ProfileSpec,
    seeds: list[int],
    source: DataSource,
) -> list[SequentialJob]:
    return [
        SequentialJob(
            suite=suite,
            chain=tuple(tasks[n] for n in chain),
            approach=approaches[approach],
            model=model,
            profile=profile,
            seed=seed,
            source=source,
        )
        for chain in suite.chains
        for approach in suite.approaches
        for seed in seeds
    ]


def leaderboard_section(chains: pd.DataFrame, board: BoardContext) -> list[str]:
    single = board.single
    rows, drops, gains = [], Differences(), Differences()
    for (_, approach), runs in grouped(chains, ["task", "approach"]).items():
        chain = runs[0].chain
        stages = "; ".join(
            f"after {chain[i]}: "
            + ", ".join(
                f"{task} {mean_std([r.accuracy_matrix[i][j] for r in runs])}" for j, task in enumerate(chain[: i + 1])
            )
            for i in range(len(chain))
        )
        final = [r.accuracy_matrix[-1][-1] for r in runs]
        seeds = {r.seed for r in runs}
        scratch_runs = [r for r in single.get((chain[-1], approach), []) if r.seed in seeds]
        scratch = [r.eval.accuracy for r in scratch_runs]
        if len(scratch) != len(final):
            gain = "–"
        elif not all(learned(r.eval, r.majority_class) for r in scratch_runs if kept(r.eval)):
            gain = "n/a: the from-scratch model did not learn"
        else:
            gain = (chain[-1], approach, "gain")
            gains.add(gain, runs, lambda r, task=chain[-1]: r.stages[-1].evaluations[task], scratch_runs, in_domain)

        def forgot(stage: int, task: str, runs=runs, approach=approach, chain=tuple(chain)):
            evaluations = [r.stages[stage].evaluations.get(task) for r in runs if len(r.stages) == len(chain)]
            if len(evaluations) != len(runs) or None in evaluations:
                return f"{task} –"  # records without their stages' evaluations
            if not all(learned(e, e.majority_class) for e in evaluations if kept(e)):
                return f"{task} n/a (not learned)"
            key = (chain, approach, task)
            drops.add(
                key,
                runs,
                lambda r: r.stages[stage].evaluations[task],  # right after learning it
                runs,
                lambda r: r.stages[-1].evaluations[task],  # after the last stage
            )
            return (task, key)

        rows.append(
            [
                " → ".join(chain),
                approach,
                stages,
                [forgot(stage, task) for stage, task in enumerate(chain[:-1])],
                mean_std([r.backward_transfer for r in runs]),
                mean_std(final),
                mean_std(scratch),
                gain,
            ]
        )
    dropped, gained = drops.texts(), gains.texts()
    rows = [
        row[:3]
        + [", ".join(f"{c[0]} {dropped[c[1]]}" if isinstance(c, tuple) else c for c in row[3])]
        + row[4:7]
        + [gained[row[7]] if isinstance(row[7], tuple) else row[7]]
        for row in rows
    ]
    return [
        "## Sequential fine-tuning: forgetting and transfer",
        "",
        "R[stage][task] is the accuracy on a chain's task after a training stage. Forgetting of a task = its "
        "accuracy right after it was learned minus its final accuracy, on the same seeds and examples, with a 95 % "
        "paired bootstrap interval (for a two-task chain Chaudhry et al.'s 2018 definition; ▲ ▼ as in the tables "
        "above: significant after Benjamini–Hochberg over the column, on at least 3 seeds). "
        "BWT = mean over earlier tasks of final accuracy minus accuracy right after learning it (Lopez-Paz & "
        "Ranzato, 2017). "
        "Transfer gain = the last task's accuracy after the chain minus the same approach's single-task accuracy from "
        "scratch (same profile, seeds and examples; paired interval and marks likewise). All in points (%). "
        "Forgetting and transfer are only given where the model they are measured against learned its task "
        "(beat the majority class by 2 standard errors); otherwise n/a.",
        "",
        table(
            rows,
            headers=[
                "chain",
                "approach",
                "accuracy after each stage",
                "forgetting",
                "BWT",
                "target after chain",
                "target from scratch",
                "transfer gain",
            ],
        ),
        "",
    ]


register(
    SuiteKind(
        name="sequential",
        fixture="sequential",
        load=load_sequential_suite,
        jobs=at_suite_seeds(sequential_jobs),
        leaderboard=leaderboard_section,
    )
)

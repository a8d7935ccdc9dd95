"""Learning curves (suites/learning-curve.yaml): single-task accuracy at several training-set sizes, per approach, on
the same dev slice and evaluation examples as the single-task jobs. Each point is a single-task job whose training
subset is cut to the size (drawn with its seed from the same pool); the board gives accuracy against examples with
intervals and, per approach, the examples it needs to reach a stated fraction of full fine-tuning's top accuracy.
With a `mixture`, a multi-task model of those tasks (full fine-tuning, proportional sampling, the single-task steps
added up) is trained at each size too, every task of it cut to that size: its accuracy on each curve task is that
task's multi-task point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from harness.errors import SpecError
from harness.jobs import Job, SingleTaskRecord
from harness.kinds import SuiteKind, at_suite_seeds, register
from harness.kinds.multitask import MultiTaskJob, MultiTaskRecord, MultitaskSuiteSpec
from harness.report.marks import Differences, MarkedTable, in_domain
from harness.report.tables import BoardContext, grouped, learned, table
from harness.results.record import EvaluationRecord, record_type
from harness.specs import NAME_PATTERN, ApproachSpec, Spec, TaskSpec, check_known, load_spec
from harness.training.samplers import ProportionalSpec

record_type("learning-curve")(SingleTaskRecord)  # a point is a single-task run at a smaller size
record_type("learning-curve-mixture")(MultiTaskRecord)  # the multi-task points: kept apart from the multi-task table
MIXTURE_APPROACH = "full"
PLOT_CAPTION = "Mean accuracy against training examples (log scale), the band from the lowest to the highest seed."
TARGET_FRACTION = 0.9  # the board's sample-efficiency question: examples to reach this share of full's top accuracy


class LearningCurveSuiteSpec(Spec):
    kind: Literal["learning-curve"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    tasks: list[str] = Field(min_length=1)
    approaches: list[str] = Field(min_length=1, description="full fine-tuning among them gives the target")
    sizes: list[int] = Field(min_length=1, description="training examples per point, increasing")
    mixture: list[str] = Field(
        default_factory=list,
        description="tasks of a multi-task model trained at each size (each cut to it); none: no multi-task points",
    )


def load_learning_curve_suite(
    path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]
) -> LearningCurveSuiteSpec:
    suite = load_spec(LearningCurveSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "approaches", suite.approaches, approaches)
    unknown = [name for name in suite.tasks if name not in tasks or not tasks[name].trainable]
    if unknown:
        raise SpecError(f"{where}: field 'tasks': unknown or untrainable task {', '.join(unknown)}")
    if sorted(set(suite.sizes)) != suite.sizes or suite.sizes[0] < 8:
        raise SpecError(f"{where}: field 'sizes': increasing, distinct sizes of at least 8 examples, got {suite.sizes}")
    if suite.mixture:
        check_known(where, "mixture", suite.mixture, {n: t for n, t in tasks.items() if t.trainable})
        if len(set(suite.mixture)) < 2 or not set(suite.mixture) & set(suite.tasks):
            raise SpecError(
                f"{where}: field 'mixture': two or more different tasks, at least one of them in 'tasks', got "
                f"{suite.mixture}"
            )
    return suite


@dataclass(frozen=True)
class CurvePointJob(Job):
    """A single-task job trained on `examples` examples (its profile's training size for the task cut to it)."""

    examples: int = 0
    suite_name: str = ""

    @property
    def name(self) -> str:
        return f"{self.suite_name}-{self.task.name}-{self.approach.name}-{self.examples}ex-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return super().identity() | {"suite": self.suite_name}  # never the key of a single-task run of that size

    def base_record(self) -> dict[str, Any]:
        return super().base_record() | {"kind": "learning-curve", "variant": f"{self.examples} examples"}


@dataclass(frozen=True)
class CurveMixtureJob(MultiTaskJob):
    """The multi-task model of the suite's `mixture` with every task's training subset cut to `examples`."""

    examples: int = 0

    def base_record(self) -> dict[str, Any]:
        return super().base_record() | {"kind": "learning-curve-mixture"}


def mixture_jobs(suite: LearningCurveSuiteSpec, tasks, approaches, model, profile, seeds, source) -> list:
    pools = [profile.train_examples_for(name) for name in suite.mixture]
    jobs = []
    for examples in suite.sizes:
        if any(pool is not None and examples > pool for pool in pools):
            continue  # as for single-task points: never more than the profile draws
        cut = profile
        for name in suite.mixture:
            cut = cut.with_train_examples(name, examples)
        mixture = MultitaskSuiteSpec(
            kind="multitask",
            name=f"{suite.name}-mixture-{examples}ex",
            tasks=suite.mixture,
            samplers=[ProportionalSpec(name="proportional")],
            approaches=[MIXTURE_APPROACH],
        )
        jobs += [
            CurveMixtureJob(
                suite=mixture,
                tasks=tuple(tasks[name] for name in suite.mixture),
                ood_tasks=(),
                sampler=mixture.samplers[0],
                equal_budget=True,
                approach=approaches[MIXTURE_APPROACH],
                model=model,
                profile=cut,
                seed=seed,
                source=source,
                examples=examples,
            )
            for seed in seeds
        ]
    return jobs


def curve_jobs(suite: LearningCurveSuiteSpec, tasks, approaches, model, profile, seeds, source) -> list:
    jobs = mixture_jobs(suite, tasks, approaches, model, profile, seeds, source) if suite.mixture else []
    for name in suite.tasks:
        task = tasks[name]
        pool = profile.train_examples_for(name)
        for examples in suite.sizes:
            if pool is not None and examples > pool:
                continue  # more than the profile ever draws for the task: not a point of this profile's curve
            cut = profile.with_train_examples(name, examples)
            jobs += [
                CurvePointJob(
                    task=task,
                    ood_tasks=(),
                    approach=approaches[approach],
                    model=model,
                    profile=cut,
                    seed=seed,
                    source=source,
                    examples=examples,
                    suite_name=suite.name,
                )
                for approach in suite.approaches
                for seed in seeds
            ]
    return jobs


def select_points(jobs: list, session, mixtures: bool = False) -> list:
    """`@pytest.mark.harness_jobs(mixtures=True)`: the multi-task points; else the single-task ones."""
    return [job for job in jobs if isinstance(job, CurveMixtureJob) == mixtures]


@dataclass(frozen=True)
class MixturePoint:
    """One task of a curve mixture's record, read as a curve point (what the tables and the plot read of one)."""

    seed: int
    eval: EvaluationRecord
    majority_class: int | None
    train_examples: int


def mixture_label(tasks: list[str]) -> str:
    return f"multi-task ({'+'.join(tasks)})"


def curve_points(curves: pd.DataFrame, runs: pd.DataFrame | None) -> pd.DataFrame:
    """The single-task points (`curves`), and each curve mixture among `runs` as a point of every curve task it
    trained on (the tasks the single-task points have)."""
    if runs is None or runs.empty:
        return curves
    mixtures, rows = runs[runs["kind"] == "learning-curve-mixture"]["record"], []
    for record in mixtures:
        for task in sorted(set(record.per_task) & set(curves["task"])):
            scored = record.per_task[task]
            point = MixturePoint(record.seed, scored, scored.majority_class, scored.train_examples)
            rows.append(
                {
                    "task": task,
                    "approach": mixture_label(record.tasks),
                    "record": point,
                    "accuracy": scored.accuracy,
                    "majority_rate": scored.majority_rate,
                }
            )
    return pd.concat([curves, pd.DataFrame(rows)], ignore_index=True) if rows else curves


def examples_to_reach(points: dict[int, list], target: float) -> int | None:
    """The smallest size whose mean accuracy reaches `target`."""
    for size in sorted(points):
        runs = points[size]
        if sum(r.eval.accuracy for r in runs) / len(runs) >= target:
            return size
    return None


@dataclass
class Curves:
    """The points by (task, approach, examples), the sizes run, and per (task, approach) the examples it needs to
    reach TARGET_FRACTION of full fine-tuning's top mean accuracy on the task."""

    by_cell: dict[tuple, list]
    sizes: list[int]
    pairs: list[tuple[str, str]]

    @classmethod
    def of(cls, curves: pd.DataFrame) -> Curves:
        curves = curves.assign(examples=[r.train_examples for r in curves["record"]])
        return cls(
            grouped(curves, ["task", "approach", "examples"]),
            sorted(curves["examples"].unique()),
            list(grouped(curves, ["task", "approach"])),
        )

    def points(self, task: str, approach: str) -> dict[int, list]:
        return {
            size: self.by_cell[(task, approach, size)] for size in self.sizes if (task, approach, size) in self.by_cell
        }

    def target(self, task: str) -> float | None:
        """TARGET_FRACTION of full fine-tuning's top mean accuracy; None where full has no curve or did not learn."""
        full = self.points(task, "full")
        if not full:
            return None
        best = max(full, key=lambda size: mean_accuracy(full[size]))
        if not all(learned(r.eval, r.majority_class) for r in full[best]):
            return None
        return TARGET_FRACTION * mean_accuracy(full[best])

    def needed(self, task: str, approach: str) -> str:
        target, points = self.target(task), self.points(task, approach)
        if target is None:
            return "n/a"
        return str(examples_to_reach(points, target) or f"> {max(points)}")


def mean_accuracy(runs) -> float:
    return sum(r.eval.accuracy for r in runs) / len(runs)


def sample_efficiency_answers(curves: pd.DataFrame, board: BoardContext) -> list[str]:
    """Per task with a full fine-tuning curve: the examples each approach needs to reach the target, and each
    approach's difference from full fine-tuning at the smallest size both ran."""
    points, lines = Curves.of(curve_points(curves, board.runs)), []
    for task in sorted({task for task, _ in points.pairs}):
        approaches = sorted(approach for t, approach in points.pairs if t == task)
        target = points.target(task)
        if target is None:
            lines.append(f"- **sample efficiency** ({task}): no answer: full fine-tuning has no curve that learned.")
            continue
        needs = ", ".join(f"{approach} {points.needed(task, approach)}" for approach in approaches)
        differences, compared = Differences(), []
        for approach in approaches:
            shared = sorted(set(points.points(task, approach)) & set(points.points(task, "full")))
            if approach != "full" and shared:
                key = (approach, shared[0])
                differences.add(
                    key,
                    points.by_cell[(task, approach, shared[0])],
                    in_domain,
                    points.by_cell[(task, "full", shared[0])],
                    in_domain,
                )
                compared.append(key)
        texts = differences.texts()
        smallest = "; ".join(
            f"at {size} examples {approach} minus full {texts[key]} "
            f"({differences.verdict(key, 'significantly more sample-efficient', 'significantly less')})"
            for key in compared
            for approach, size in [key]
        )
        lines.append(
            f"- **sample efficiency** ({task}): examples to reach {100 * target:.1f} % ({TARGET_FRACTION:.0%} of full "
            f"fine-tuning's top mean accuracy; sizes run {', '.join(map(str, points.sizes))}): {needs}"
            + (f"; {smallest}" if smallest else "")
            + "."
        )
    return lines


def leaderboard_section(curves: pd.DataFrame, board: BoardContext) -> list[str]:
    points = Curves.of(curve_points(curves, board.runs))
    marked, rows, needs = MarkedTable(), [], []
    sizes = points.sizes
    for task, approach in points.pairs:
        for size in sizes:
            marked.add((task, approach, size), points.by_cell.get((task, approach, size), []))
    cells = marked.cells_text()
    fraction = TARGET_FRACTION
    for task, approach in points.pairs:
        rows.append([task, approach, *[cells[(task, approach, size)] for size in sizes]])
        if points.points(task, "full"):
            target = points.target(task)
            if target is None:
                needs.append([task, approach, "–", "n/a: full fine-tuning did not learn the task at any size run"])
                continue
            needs.append([task, approach, f"{100 * target:.1f}", points.needed(task, approach)])
    return [
        "## Learning curves",
        "",
        "Single-task accuracy (%) by training examples (columns), each point on the seeds of the suites, the same dev "
        "slice and evaluation examples as the single-task table; cells as there (mean ± std, 95 % interval, ○ not "
        "distinguishable from the majority class). A multi-task row: one model of the tasks it names (full "
        "fine-tuning, proportional sampling, the single-task steps added up), trained on that many examples of each "
        "of them, scored on this task.",
        "",
        table(rows, headers=["task", "approach", *[f"{size} examples" for size in sizes]]),
        "",
        *(
            [f"![accuracy vs training examples]({board.plots['learning-curve']})", "", PLOT_CAPTION, ""]
            if "learning-curve" in board.plots
            else []
        ),
        f"Examples each approach needs for its mean accuracy to reach {fraction:.0%} of full fine-tuning's top mean "
        "accuracy on the task (among the sizes run):",
        "",
        table(needs, headers=["task", "approach", "target (%)", "examples"]) if needs else "No full fine-tuning curve.",
        "",
    ]


register(
    SuiteKind(
        name="learning-curve",
        fixture="learning_curve",
        load=load_learning_curve_suite,
        jobs=at_suite_seeds(curve_jobs),
        select=select_points,
        leaderboard=leaderboard_section,
        answers=sample_efficiency_answers,
        order=2,
    )
)

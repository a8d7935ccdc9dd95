"""Published-number gates (suite kind `reference`, e.g. suites/published.yaml): full fine-tuning of a
named pre-trained model, at the named profiles, against the accuracy its source published on the same
evaluation split. The tolerance comes from the spread of this harness's own seeds and evaluation
examples (harness.stats) and of the source's runs where it states one; nothing is a guessed margin.

A gate reads the single-task runs of its model, task and the session's seeds; it adds no job of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from harness.errors import SpecError
from harness.jobs import Job
from harness.kinds import SuiteKind, register
from harness.report.tables import BoardContext, table
from harness.results.checks import STANDARD_ERRORS, clears, correct, gain_over_majority_pooled, reference_gap
from harness.results.record import Record
from harness.specs import (
    NAME_PATTERN,
    ApproachSpec,
    Spec,
    TaskSpec,
    check_known,
    load_spec,
)
from harness.specs.catalog import load_approaches, load_suites, load_tasks
from harness.stats import bootstrap


class ReferenceSpec(Spec):
    model: str = Field(description="the model as --model names it: a built-in alias or a hub id")
    source: str = Field(
        min_length=1, description="where the numbers come from: paper and table, or the run that pinned them"
    )
    accuracy: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        description="task -> published accuracy on the task's eval split (0-1)"
    )
    source_standard_error: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default={},
        description="task -> the standard error of the published number, where the source gives its runs' spread",
    )


class ReferenceSuiteSpec(Spec):
    kind: Literal["reference"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    approach: str = Field(default="full", description="the approach the references were obtained with")
    profiles: list[str] = Field(
        min_length=1, description="profiles whose budget matches the sources' (whole train splits)"
    )
    references: list[ReferenceSpec] = Field(min_length=1)


def load_reference_suite(
    path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]
) -> ReferenceSuiteSpec:
    suite = load_spec(ReferenceSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "approach", [suite.approach], approaches)
    for index, reference in enumerate(suite.references):
        check_known(where, f"references.{index}.accuracy", list(reference.accuracy), tasks)
        check_known(
            where,
            f"references.{index}.source_standard_error",
            list(reference.source_standard_error),
            reference.accuracy,
        )
    return suite


@dataclass(frozen=True)
class Gate:
    """One (model, task) reference and the session's runs it is checked against, one per seed."""

    suite: ReferenceSuiteSpec
    reference: ReferenceSpec
    task: TaskSpec
    jobs: tuple[Job, ...]

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.task.name}-{self.reference.model}"

    @property
    def accuracy(self) -> float:
        return self.reference.accuracy[self.task.name]

    @property
    def source_standard_error(self) -> float:
        return self.reference.source_standard_error.get(self.task.name, 0.0)


def gates(suite: ReferenceSuiteSpec, session) -> list[Gate]:
    """The suite's gates for the session's model and profile; none elsewhere."""
    if session.profile.name not in suite.profiles:
        return []
    return [
        Gate(
            suite,
            reference,
            session.tasks[task],
            tuple(session.single_task_job(task, suite.approach, seed) for seed in session.seeds_for(task)),
        )
        for reference in suite.references
        if reference.model == session.model.name
        for task in reference.accuracy
    ]


def pin(
    path: Path,
    records: list[dict[str, Any]],
    model: str,
    approach: str,
    run: str,
    tasks: dict[str, TaskSpec],
    approaches: dict[str, ApproachSpec],
    if_missing: bool = False,
) -> ReferenceSpec | None:
    """Appends to the suite at `path` a reference for `model` taken from a run's records (the selected
    leaderboard records of one profile, model and data source): per task, the mean accuracy of
    `approach` over its seeds and, as the source's standard error, that mean's bootstrap standard error.
    A task keeps the first reference pinned for it: with `if_missing` only the run's other tasks are pinned
    (None where none is left), so a later, fuller run adds the tasks an earlier one lacked."""

    suite = load_reference_suite(path, tasks, approaches)
    runs: dict[str, list[Record]] = {}
    for record in records:
        if record.kind == "single-task" and record.approach == approach and record.ok:
            runs.setdefault(record.task, []).append(record)
    if not runs:
        raise SpecError(f"no successful {approach} single-task runs of {model} in the results store to pin")
    pinned = sorted(
        runs.keys()
        & {task for reference in suite.references if reference.model == model for task in reference.accuracy}
    )
    if pinned and not if_missing:
        raise SpecError(
            f"{path.name}: field 'references': {model} already has a reference for {', '.join(pinned)}; "
            "remove it to pin another run"
        )
    runs = {task: task_runs for task, task_runs in runs.items() if task not in pinned}
    at_majority = sorted(
        task
        for task, task_runs in runs.items()
        if not clears(*gain_over_majority_pooled([r.eval for r in task_runs], task_runs[0].majority_class))
    )
    if at_majority and not if_missing:
        raise SpecError(
            f"{model}'s {approach} runs on {', '.join(at_majority)} do not beat the majority class by "
            f"{STANDARD_ERRORS} standard errors: a reference pinned from them would let a constant predictor pass"
        )
    runs = {task: task_runs for task, task_runs in runs.items() if task not in at_majority}  # pinned once learned
    if not runs:
        return None
    intervals = {
        task: bootstrap(np.stack([correct(r.eval) for r in task_runs])) for task, task_runs in sorted(runs.items())
    }
    seeds = sorted({r.seed for task_runs in runs.values() for r in task_runs})
    first = next(iter(runs.values()))[0]
    reference = ReferenceSpec(
        model=model,
        source=f"{run}: seeds {', '.join(map(str, seeds))}; {first.hardware}; {first.data_source}",
        accuracy={task: round(interval.mean, 4) for task, interval in intervals.items()},
        source_standard_error={task: round(interval.standard_error, 4) for task, interval in intervals.items()},
    )
    original = path.read_text()
    # Appended as text, so that the file's comments stay; `references` must be its last key (checked below).
    path.write_text(original.rstrip("\n") + "\n  - " + json.dumps(reference.model_dump()) + "\n")
    try:
        if load_reference_suite(path, tasks, approaches).references[-1] != reference:
            raise SpecError(
                f"{path.name}: the pinned reference did not land in 'references' (it must be the file's last key)"
            )
    except SpecError:
        path.write_text(original)
        raise
    return reference


def other_splits(task: TaskSpec, records: list[dict[str, Any]]) -> str | None:
    """Why a gate cannot judge these runs, where they used other splits than the task's own (a fallback):
    the source's number is for the task's own evaluation split."""
    used = sorted({record.split_spec for record in records})
    if used == [task.splits.describe()]:
        return None
    return f"ran on {', '.join(used)}, not the task's own splits the source used ({task.splits.describe()})"


def leaderboard_section(single: pd.DataFrame, board: BoardContext) -> list[str]:
    """The gates of the runs' model and profile, each as suites/test_published.py checks it: the reference,
    this run's mean over seeds, and whether it lies within 2 standard errors of the difference."""
    groups = board.single

    model, profile = single["model"].iloc[0], single["profile"].iloc[0]
    tasks = load_tasks().specs
    rows = []
    for suite in load_suites(tasks, load_approaches().specs).specs.values():
        if getattr(suite, "kind", None) != "reference" or profile not in suite.profiles:
            continue
        for reference in (r for r in suite.references if r.model == model):
            for task, accuracy in reference.accuracy.items():
                runs = groups.get((task, suite.approach), [])
                row = [
                    suite.name,
                    task,
                    f"{100 * accuracy:.1f}",
                    reference.source,
                    ", ".join(str(run.seed) for run in runs) or "–",
                ]
                if not runs:
                    rows.append(row + ["–", "–", "–", "not run"])
                elif reason := other_splits(tasks[task], runs):
                    rows.append(row + ["–", "–", "–", f"skipped: {reason}"])
                else:
                    summaries = [run.eval for run in runs]
                    mean, tolerance = reference_gap(summaries, accuracy, reference.source_standard_error.get(task, 0.0))
                    learned = clears(*gain_over_majority_pooled(summaries, runs[0].majority_class))
                    verdict = "within" if abs(mean - accuracy) <= tolerance else "OUTSIDE: the gate fails"
                    rows.append(
                        row
                        + [
                            f"{100 * mean:.1f}",
                            f"{100 * (mean - accuracy):+.1f}",
                            f"±{100 * tolerance:.1f}",
                            verdict if learned else "at the majority class: the gate fails",
                        ]
                    )
    if not rows:
        return []
    return [
        "## Published-number gates",
        "",
        "Each suite of kind `reference`: its approach (full fine-tuning in suites/published.yaml) on this "
        "leaderboard's "
        f"model against the accuracy a source published or a pinned run reached. Allowed: {STANDARD_ERRORS} standard "
        "errors of the difference, this run's (bootstrap over seeds and evaluation examples) and the source's where "
        "it states one (harness.results.checks.reference_gap).",
        "",
        table(
            rows,
            [
                "gate",
                "task",
                "reference (%)",
                "source",
                "seeds",
                "this run (%)",
                "difference (points)",
                "allowed",
                "verdict",
            ],
        ),
        "",
    ]


register(
    SuiteKind(
        name="reference",
        fixture="reference",
        load=load_reference_suite,
        jobs=gates,
        needs=lambda gate: gate.jobs,
        runs_own_job=False,
        leaderboard=leaderboard_section,
    )
)

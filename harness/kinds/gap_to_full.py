"""The gap to full fine-tuning as a suite kind (suites/gap-to-full.yaml): where the profile bounds it
(`max_gap_to_full`), an approach's mean accuracy over a task's seeds stays within that gap of full fine-tuning's,
on the same seeds (so the same training subsets). A check over single-task runs, with no job of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.jobs import Job
from harness.kinds import SuiteKind, register
from harness.specs import ApproachSpec, Spec, TaskSpec, check_known, load_spec


class GapSuiteSpec(Spec):
    kind: Literal["gap-to-full"]
    name: str
    description: str
    reference: str = "full"  # the approach every other is compared with


def load_suite(path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]) -> GapSuiteSpec:
    suite = load_spec(GapSuiteSpec, path)
    check_known(f"{path.parent.name}/{path.name}", "reference", [suite.reference], approaches)
    return suite


@dataclass(frozen=True)
class GapCheck:
    """An approach against the reference on one task, compared on their mean over the task's seeds."""

    task: str
    approach: str
    reference: str
    allowed: float
    jobs: tuple[Job, ...]  # the approach's, one per seed
    reference_jobs: tuple[Job, ...]  # the reference's, same seeds

    @property
    def name(self) -> str:
        seeds = ",".join(str(job.seed) for job in self.jobs)
        return f"{self.task}-{self.approach}-vs-{self.reference}-seeds{seeds}"


def gap_checks(suite: GapSuiteSpec, session) -> list[GapCheck]:
    def runs(task: str, approach: str) -> tuple[Job, ...]:
        return tuple(session.single_task_job(task, approach, seed) for seed in session.seeds_for(task))

    return [
        GapCheck(task, approach, suite.reference, allowed, runs(task, approach), runs(task, suite.reference))
        for task, bounds in session.profile.max_gap_to_full.items()
        for approach, allowed in bounds.items()
    ]


register(
    SuiteKind(
        name="gap-to-full",
        fixture="gap",
        load=load_suite,
        jobs=gap_checks,
        needs=lambda check: (*check.jobs, *check.reference_jobs),
        runs_own_job=False,
    )
)

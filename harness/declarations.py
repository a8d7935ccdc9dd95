"""What the YAML declarations make of one (profile, model, data source): the jobs of every suite, each with the
identity it is stored under. The pytest session parametrizes
its tests over them (harness.pytest_plugin); the leaderboard compares stored runs with them, to mark
runs the declarations have moved on from.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from harness import jobs
from harness.data import DataSource
from harness.jobs.baselines import FrozenFeaturesJob, ZeroShotJob
from harness.kinds import kinds
from harness.models import ModelRef
from harness.report.frame import run_key
from harness.specs import ApproachSpec, ProfileSpec, TaskSpec
from harness.specs.catalog import load_suites, narrow_suites


@dataclass
class Declarations:
    """The cases and jobs of one profile, model, data source and seed choice, from the loaded task and approach specs
    and the suite YAMLs."""

    profile: ProfileSpec
    model: ModelRef
    seeds: list[int] | None  # --seeds, for every task and suite; None: the profile's
    source: DataSource
    tasks: dict[str, TaskSpec]
    approaches: dict[str, ApproachSpec]

    def seeds_for(self, task: str) -> list[int]:
        return self.seeds or self.profile.seeds_for(task)

    @property
    def suite_seeds(self) -> list[int]:
        """Seeds of the multi-task, sequential, probe and continued pre-training suites."""
        return self.seeds or self.profile.suite_seeds or self.profile.seeds

    def single_task_job(self, task_name: str, approach: str, seed: int) -> jobs.Job:
        task = self.tasks[task_name]
        return jobs.Job(
            task=task,
            ood_tasks=tuple(self.tasks[n] for n in task.ood_eval),
            approach=self.approaches[approach],
            model=self.model,
            profile=self.profile,
            seed=seed,
            source=self.source,
        )

    def frozen_features_job(self, job: jobs.Job) -> FrozenFeaturesJob:
        """The frozen-feature baseline of a single-task job's task and seed (harness.jobs.baselines)."""
        return self._baseline(FrozenFeaturesJob, job)

    def zero_shot_job(self, job: jobs.Job) -> ZeroShotJob:
        """The zero-shot classifier of a single-task job's task and seed (harness.jobs.baselines)."""
        return self._baseline(ZeroShotJob, job)

    def _baseline(self, kind, job: jobs.Job):
        return kind(
            task=job.task,
            ood_tasks=job.ood_tasks,
            model=self.model,
            profile=self.profile,
            seed=job.seed,
            source=self.source,
        )

    def single_task_jobs(self) -> list[jobs.Job]:
        """The single-task jobs other suites build on (probes, continued pre-training): at the suites' seeds."""
        return [job for job in self.suite_jobs("single-task") if job.seed in self.suite_seeds]

    @functools.cached_property
    def suites(self) -> dict:
        return narrow_suites(self.profile, load_suites(self.tasks, self.approaches).specs)

    def suite_jobs(self, kind: str) -> list:
        """Jobs of every valid suite YAML of this kind; a broken one is reported by suites/test_spec_files.py."""
        suites = [suite for suite in self.suites.values() if suite.kind == kind]
        return [job for suite in suites for job in kinds()[kind].jobs(suite, self)]

    def identities(self) -> dict[tuple, dict[str, Any]]:
        """Every job declared here that leaves a record of its own (every kind's, and the jobs its extra fixtures
        read: the frozen-feature baselines), by run key: the identity it would train with today, as the store keeps
        it (JSON: tuples become lists)."""
        declared = {}  # by name: an extra job (one baseline per task and seed) is shared by many jobs
        for name, kind in kinds().items():
            if kind.runs_own_job:
                for job in self.suite_jobs(name):
                    for each in (job, *(extra(job, self) for extra in kind.extras.values())):
                        declared.setdefault(each.name, each)
        records = [job.base_record() for job in declared.values()]  # each holds its identity as `config`
        return {run_key(record): json.loads(json.dumps(record["config"])) for record in records}

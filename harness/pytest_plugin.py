"""pytest plugin: options, the parametrization of suite tests, the fixtures that hand them trained
runs, and the leaderboard written at the end of a session that trained.

- `case` / `trained_run`: single-task runs over (task, approach, seed), ids like `sst2-full-seed0`;
  `@pytest.mark.harness_cases(ood=True)` keeps tasks with an out-of-domain evaluation.
- `gap_case`: (task, approach) pairs whose gap to full fine-tuning the profile bounds.
- `multitask_run`, `sequential_run`, `probe_run`, `pretraining_runs`: one per job of every valid
  suite YAML of that kind, ids starting with the suite's name.
A job that cannot run here is skipped with its pre-flight reason; one that failed fails its tests
with the recorded reason.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from harness import jobs, leaderboard
from harness.data import DataSource, mirror_from
from harness.errors import HarnessError, SpecError
from harness.models import ModelRef, resolve_model
from harness.multitask import MultiTaskJob, multitask_jobs
from harness.pretraining import PretrainingJob, pretraining_jobs
from harness.probe import ProbeJob, probe_jobs
from harness.registry import load_approaches, load_profile, load_suites, load_tasks
from harness.results import ResultStore
from harness.sequential import SequentialJob, sequential_jobs
from harness.specs import PROJECT_ROOT, ApproachSpec, ProfileSpec, TaskSpec

DEFAULT_PROFILE = "quick"


@dataclass(frozen=True)
class Case:
    task: str
    approach: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.task}-{self.approach}-seed{self.seed}"

    def against_full(self) -> Case:
        return Case(self.task, "full", self.seed)


@dataclass
class TrainedRun:
    job: jobs.Job | MultiTaskJob | SequentialJob | ProbeJob | PretrainingJob
    record: dict[str, Any]
    run_dir: Path

    @property
    def accuracy(self) -> float:
        return self.record["metrics"]["accuracy"]


@dataclass
class HarnessSession:
    profile: ProfileSpec
    model: ModelRef
    seeds: list[int]
    source: DataSource
    store: ResultStore
    tasks: dict[str, TaskSpec]
    approaches: dict[str, ApproachSpec]
    leaderboard_path: Path
    retrain_before: str | None  # with --retrain, records finished before this are trained again
    capture: Any  # pytest's capture manager
    runs: dict[str, TrainedRun | str] = field(default_factory=dict)  # by job name; a string says why it cannot run

    def cases(self, ood_only: bool = False) -> list[Case]:
        names = self.profile.tasks or [name for name, task in self.tasks.items() if task.trainable]
        return [Case(task, approach, seed) for task in names if not ood_only or self.tasks[task].ood_eval
                for approach in self.approaches for seed in self.seeds]

    def gap_cases(self) -> list[Case]:
        return [Case(task, approach, seed) for task, bounds in self.profile.max_gap_to_full.items()
                for approach in bounds for seed in self.seeds]

    def job(self, case: Case) -> jobs.Job:
        task = self.tasks[case.task]
        return jobs.Job(task=task, ood_tasks=tuple(self.tasks[n] for n in task.ood_eval), approach=self.approaches[case.approach],
                        model=self.model, profile=self.profile, seed=case.seed, source=self.source)

    def suite_jobs(self, kind: str) -> list:
        """Jobs of every valid suite YAML of this kind; a broken one is reported by suites/test_spec_files.py."""
        suites = [suite for suite in load_suites(self.tasks, self.approaches).specs.values() if suite.kind == kind]
        if kind in ("probe", "continued-pretraining"):  # built on the trained jobs of this session
            single_task = [self.job(case) for case in self.cases()]
            if kind == "probe":
                multitask = self.suite_jobs("multitask")
                return [job for suite in suites for job in probe_jobs(suite, single_task, multitask, self.tasks)]
            return [job for suite in suites for job in pretraining_jobs(suite, single_task, self.tasks)]
        make = {"multitask": multitask_jobs, "sequential": sequential_jobs}[kind]
        return [job for suite in suites
                for job in make(suite, self.tasks, self.approaches, self.model, self.profile, self.seeds, self.source)]

    def trained(self, job) -> TrainedRun | str:
        """The job's trained run, or why it cannot run here."""
        if job.name not in self.runs:
            reason = jobs.preflight(job)
            if reason:
                self.runs[job.name] = reason
            else:
                record = jobs.run(job, self.store, fresh_after=self.retrain_before)
                self.runs[job.name] = TrainedRun(job, record, self.store.run_dir(job.config_hash))
        return self.runs[job.name]

    def resolved(self, job):
        """The job ready to run: a multi-task curriculum with a 'measured' order gets it from the
        single-task runs of its tasks (same approach and seed), trained first where needed."""
        if isinstance(job, MultiTaskJob) and job.needs_measured_order:
            return job.with_measured_order({t.name: self.require(Case(t.name, job.approach.name, job.seed)).record for t in job.tasks})
        return job

    def require(self, job) -> TrainedRun:
        """The trained run for a test: skipped where pre-flight says it cannot run, failed with the
        job's reason where training failed. Takes a job or a single-task Case."""
        job = self.job(job) if isinstance(job, Case) else job
        with self.capture.global_and_fixture_disabled():  # the job's progress bar reaches the terminal
            run = self.trained(job)
        if isinstance(run, str):
            pytest.skip(run)
        if run.record["status"] != "ok":
            pytest.fail(f"{job.name}: {run.record['failure']}", pytrace=False)
        return run

    def scope(self) -> leaderboard.Scope:
        return leaderboard.Scope(self.profile.name, self.profile.description, self.model.name, self.source.describe())


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "fine-tuning benchmark harness")
    group.addoption("--profile", default=DEFAULT_PROFILE, help="profile name in profiles/ or a YAML path (default: quick)")
    group.addoption("--model", default=None, help="model alias, local directory or hub id (default: the profile's)")
    group.addoption("--seeds", default=None, help="comma-separated seeds (default: the profile's)")
    group.addoption("--data-dir", default=os.environ.get("HARNESS_DATA_DIR"),
                    help="local mirror <task>/<split>.jsonl.gz (default: $HARNESS_DATA_DIR, else the hub)")
    group.addoption("--results-dir", default=os.environ.get("HARNESS_RESULTS_DIR", str(PROJECT_ROOT / ".harness")),
                    help="results store (default: $HARNESS_RESULTS_DIR, else .harness/)")
    group.addoption("--retrain", action="store_true", help="train again even where a cached result exists")
    group.addoption("--leaderboard", default=None, help="where to write the leaderboard (default: the profile's)")


def _parse_seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--seeds: expected comma-separated integers, got '{text}'") from None


def _build_session(config: pytest.Config) -> HarnessSession:
    profile = load_profile(config.getoption("profile"))
    tasks = load_tasks().specs
    unknown = sorted(set(profile.tasks or []) - set(tasks))
    if unknown:
        raise SpecError(f"profile '{profile.name}': field 'tasks': unknown or invalid task {', '.join(unknown)}")
    seeds = _parse_seeds(config.getoption("seeds")) if config.getoption("seeds") else profile.seeds
    return HarnessSession(
        profile=profile,
        model=resolve_model(config.getoption("model") or profile.model),
        seeds=seeds,
        source=mirror_from(config.getoption("data_dir")),
        store=ResultStore(Path(config.getoption("results_dir"))),
        tasks=tasks,
        approaches=load_approaches().specs,
        leaderboard_path=Path(config.getoption("leaderboard") or PROJECT_ROOT / profile.leaderboard),
        retrain_before=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if config.getoption("retrain") else None,
        capture=config.pluginmanager.get_plugin("capturemanager"),
    )


HARNESS_KEY = pytest.StashKey[HarnessSession]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "harness_cases(ood=False): parametrize `case` over the harness's (task, approach, seed)")
    config.addinivalue_line("markers", "forgetting: measures forgetting (selected by -k forgetting)")
    config.addinivalue_line("markers", "ood: scores out-of-domain generalization (selected by -k ood)")
    try:
        config.stash[HARNESS_KEY] = _build_session(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[HARNESS_KEY]
    if "case" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("harness_cases")
        cases = state.cases(ood_only=bool(marker and marker.kwargs.get("ood")))
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])
    for kind in ("multitask", "sequential", "probe", "continued-pretraining"):
        if f"{kind.replace('-', '_')}_job" in metafunc.fixturenames:
            suite_jobs = state.suite_jobs(kind)
            metafunc.parametrize(f"{kind.replace('-', '_')}_job", suite_jobs, ids=[job.name for job in suite_jobs])
    if "gap_case" in metafunc.fixturenames:
        cases = state.gap_cases()
        metafunc.parametrize("gap_case", cases, ids=[f"{c.task}-{c.approach}-vs-full-seed{c.seed}" for c in cases])


@pytest.fixture(scope="session")
def harness(pytestconfig: pytest.Config) -> HarnessSession:
    return pytestconfig.stash[HARNESS_KEY]


@pytest.fixture
def trained_run(case: Case, harness: HarnessSession) -> TrainedRun:
    return harness.require(case)


@pytest.fixture
def multitask_run(multitask_job: MultiTaskJob, harness: HarnessSession) -> TrainedRun:
    return harness.require(harness.resolved(multitask_job))


@pytest.fixture
def sequential_run(sequential_job: SequentialJob, harness: HarnessSession) -> TrainedRun:
    return harness.require(sequential_job)


@pytest.fixture
def probe_run(probe_job: ProbeJob, harness: HarnessSession) -> TrainedRun:
    probe_job = replace(probe_job, trained=harness.resolved(probe_job.trained))
    harness.require(probe_job.trained)  # the probe reloads the fine-tuned model it measures
    return harness.require(probe_job)


@pytest.fixture
def pretraining_runs(continued_pretraining_job: PretrainingJob, harness: HarnessSession) -> tuple[TrainedRun, TrainedRun]:
    """The run with continued pre-training and the same fine-tuning without it."""
    return harness.require(continued_pretraining_job), harness.require(continued_pretraining_job.fine_tuning)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(HARNESS_KEY, None)
    if state is None or not any(isinstance(run, TrainedRun) for run in state.runs.values()):
        return
    # xdist workers each rewrite it from the whole store; the lock and atomic write keep it whole.
    with state.store.lock("leaderboard"):
        shown = leaderboard.write(state.leaderboard_path, state.store.records(), state.scope())
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"harness: leaderboard with {shown} runs written to {state.leaderboard_path}")


"""pytest plugin: options, the parametrization of suite tests, the job plan behind their fixtures,
and the leaderboard written at the end of a session that trained.

- `case` / `trained_run`: single-task runs over (task, approach, seed), ids like `sst2-full-seed0`;
  `@pytest.mark.harness_cases(ood=True)` keeps tasks with an out-of-domain evaluation, `first_seed=True`
  each task's first seed only.
- `frozen_features_run`: the frozen-feature baseline of the case's task and seed (harness.jobs.baselines).
- `gap_case`: (task, approach) pairs whose gap to full fine-tuning (mean over seeds) the profile bounds.
- `<fixture>_job` / `<fixture>_run` for every suite kind (harness.kinds: `multitask`,
  `sequential`, `probe`, `pretraining`): one per job of every valid suite YAML of that kind;
  `reference_job` (published-number gates, harness.kinds.references) reads the single-task runs it needs.

After collection and `-k`/`-m` deselection, the jobs the selected tests read are planned with their
dependencies (harness.engine) and run on warm workers while tests wait for their own. Under
pytest-xdist the first worker (gw0) hosts the engine and the others wait for the records in the
store. A job that cannot run here is skipped with its pre-flight reason; one that failed fails its
tests with the recorded reason.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import options
from harness.data import hub_unreachable, mirror_from
from harness.declarations import Case, Declarations, GapCase
from harness.engine import Engine
from harness.engine.devices import (
    default_jobs_per_device,
    layout,
    parse_devices,
    visible_gpus,
)
from harness.engine.executors import ExecutorOptions, executors
from harness.engine.plan import Node, Plan, blocked, dependencies, preflight, resolve
from harness.engine.progress import StatusPrinter
from harness.errors import HarnessError, SpecError
from harness.kinds import kinds
from harness.models import resolve_model
from harness.report import board, frame, inference, publish
from harness.results import ResultStore, is_fresh, timestamp
from harness.specs import SUITES_DIR
from harness.specs.catalog import (
    check_profile_tasks,
    load_approaches,
    load_profile,
    load_tasks,
)

BENCHMARK_STORAGE_DEFAULT = "file://./.benchmarks"  # pytest-benchmark's, which it creates in the working directory
ENGINE_RUNS_KEPT = 5  # <results-dir>/engine/<run>/ folders (status, progress, worker logs) left after a successful run
HOST_WORKER = "gw0"  # under xdist, the worker that runs the engine
HOST_START_TIMEOUT_S = 600  # how long a waiting xdist worker gives the host to start its engine


@dataclass
class TrainedRun:
    job: Any
    record: dict[str, Any]
    run_dir: Path

    @property
    def accuracy(self) -> float:
        return self.record["metrics"]["accuracy"]


class StoreWaiter:
    """An xdist worker that does not host the engine: it waits for the host's records in the store,
    resolving dependencies the same way the plan does."""

    def __init__(self, store: ResultStore, status_dir: Path, fresh_after: str | None, session_started: str):
        self.store = store
        self.status_file = status_dir / "status.json"
        self.fresh_after = fresh_after
        self.session_started = session_started
        self.nodes: dict[str, Node] = {}

    def wait(self, job) -> Node:
        if job.name in self.nodes:
            return self.nodes[job.name]
        node = Node(job, ())
        deps = [self.wait(dep) for dep in dependencies(job)]
        outcome = blocked(deps) or (("skipped", reason) if (reason := preflight(job)) else None)
        if outcome:
            node.finish(outcome[0], reason=outcome[1])
        else:
            node.job = resolve(job, deps)
            record = self._record(node.job)
            node.finish("done" if record["status"] == "ok" else "failed", record, record.get("failure"))
        self.nodes[job.name] = node
        return node

    def _record(self, job) -> dict[str, Any]:
        waited = 0.0
        while True:
            record = self.store.load(job.config_hash)
            if is_fresh(record, self.fresh_after):
                return record
            if record and record["status"] != "ok" and record["finished_at"] >= self.session_started:
                return record
            status = self._host_status()
            if status is None and waited > HOST_START_TIMEOUT_S:
                return {
                    "status": "failed",
                    "failure": f"the engine host ({HOST_WORKER}) did not start within {HOST_START_TIMEOUT_S} s",
                }
            if status is not None and (status["finished"] or not _alive(status["host_pid"])):
                return {
                    "status": "failed",
                    "failure": f"the engine host ({HOST_WORKER}) ended without a result for {job.name}",
                }
            time.sleep(1.0)
            waited += 1.0

    def _host_status(self) -> dict | None:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


@dataclass
class HarnessSession(Declarations):
    """A pytest session's declarations (the jobs its tests are parametrized over) and how it runs them."""

    config: pytest.Config
    store: ResultStore
    leaderboard_path: Path
    fresh_after: str | None  # with --retrain, records finished before this are trained again
    run_id: str  # one per pytest run, shared by its xdist workers
    started: str
    engine: Engine | None = None
    waiter: StoreWaiter | None = None
    read_only: bool = False  # the store cannot be written and nothing needs training (see start)

    def jobs_of(self, item: pytest.Item) -> list:
        """The jobs whose records a collected test reads."""
        params = getattr(getattr(item, "callspec", None), "params", {})
        needed = []
        if isinstance(params.get("case"), Case):  # an empty parametrization holds a placeholder
            needed.append(self.job(params["case"]))
            if "frozen_features_run" in item.fixturenames:
                needed.append(self.frozen_features_job(params["case"]))
        if isinstance(params.get("gap_case"), GapCase):
            needed += [
                self.job(case)
                for approach in (params["gap_case"].approach, "full")
                for case in params["gap_case"].cases(approach)
            ]
        for kind in kinds().values():
            job = params.get(f"{kind.fixture}_job")
            if job is not None and not isinstance(job, enum.Enum):  # an empty parametrization holds an enum placeholder
                needed += kind.needs(job)
        return needed

    # -- running --

    @property
    def status_dir(self) -> Path:
        return self.store.root / "engine" / self.run_id

    @property
    def hosts_engine(self) -> bool:
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        return worker in (None, HOST_WORKER)

    def slots(self) -> list:
        option = self.config.getoption
        devices = parse_devices(option("devices"), visible_gpus())
        gpu = devices[0].kind == "cuda"
        per_device = option("jobs_per_device") or default_jobs_per_device(
            devices[0],
            (os.cpu_count() or 1) // len(devices),
            self._measured_cuda_peaks() if gpu else [],
            _device_memory(devices[0]),
        )
        return layout(devices, per_device)

    def executor(self):
        """The --executor's (harness.engine.executors), for this session's slots."""
        create = executors()[self.config.getoption("executor")]
        return create(
            ExecutorOptions(self.slots(), log_dir=self.status_dir, address=self.config.getoption("ray_address"))
        )

    def _measured_cuda_peaks(self) -> list[int]:
        return [
            r["peak_memory_bytes"]
            for r in self.store.records()
            if r.get("profile") == self.profile.name
            and r.get("peak_memory_bytes")
            and str(r.get("peak_memory_kind", "")).startswith("CUDA")
        ]

    def plan(self, needed: list) -> Plan:
        """The jobs with what the store has; times of jobs never run here from the published board's runs."""
        return Plan.build(needed, self.store, self.fresh_after, publish.reference_wall_times(self.profile))

    def start(self, needed: list) -> Plan | None:
        """Plans the jobs and, in the host, starts running them; elsewhere, waits for the host's records."""
        if not self.hosts_engine:
            self.waiter = StoreWaiter(self.store, self.status_dir, self.fresh_after, self.started)
            return None
        plan = self.plan(needed)
        problem = self.store.unwritable()
        if problem:
            to_train = [node.name for node in plan.nodes.values() if node.state == "pending"]
            if to_train:
                pytest.exit(
                    f"results store {self.store.root} is not writable ({problem}) and {len(to_train)} jobs need "
                    f"training (e.g. {to_train[0]}): choose a writable store with --results-dir or "
                    "$HARNESS_RESULTS_DIR",
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )
            self.read_only = True  # every record is cached: serve them, write nothing into the store
        self.engine = Engine(plan, self.executor(), None if self.read_only else self.status_dir).start()
        return plan

    def require(self, job) -> TrainedRun:
        """The trained run for a test: skipped where pre-flight says it cannot run, failed with the
        job's reason where training failed. Takes a job or a single-task Case."""
        job = self.job(job) if isinstance(job, Case) else job
        if self.engine is None and self.waiter is None:
            self.start([])
        node = self.engine.wait(job) if self.engine else self.waiter.wait(job)
        if node.state == "skipped":
            pytest.skip(node.reason)
        if not node.ok:
            pytest.fail(f"{job.name}: {node.reason}", pytrace=False)
        return TrainedRun(node.job, node.record, self.store.run_dir(node.job.config_hash))

    def scope(self) -> frame.Scope:
        return frame.Scope(self.profile.name, self.profile.description, self.model.name, self.source.describe())


def _device_memory(device) -> int | None:
    if device.kind != "cuda":
        return None
    import torch

    return torch.cuda.get_device_properties(device.index).total_memory


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "fine-tuning benchmark harness")
    options.add(group.addoption, "--profile", "--model", "--seeds", "--data-dir", "--results-dir")
    group.addoption("--retrain", action="store_true", help="train again even where a cached result exists")
    group.addoption(
        "--leaderboard",
        default=None,
        help="where this run writes its leaderboard (default: "
        "<results-dir>/leaderboard-<profile>.md; the committed boards change only through "
        "`python -m harness leaderboard --publish`)",
    )
    group.addoption(
        "--plan",
        action="store_true",
        help="print the jobs the selected tests need (to train, cached, skipped) and exit",
    )
    group.addoption(
        "--devices", default=None, help="'auto' (every visible GPU, else the CPU), 'cpu', or GPU indices '0,1'"
    )
    group.addoption(
        "--jobs-per-device",
        type=int,
        default=None,
        help="jobs sharing one device (default: CPU one per core; GPU from measured memory, else 2)",
    )
    group.addoption(
        "--executor",
        choices=sorted(executors()),
        default="local",
        help="where jobs run (harness.engine.executors): local warm workers, or a Ray cluster",
    )
    group.addoption(
        "--ray-address",
        default=None,
        help="with --executor ray: 'auto', 'ray://host:port', or none for a local instance",
    )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _parse_seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--seeds: expected comma-separated integers, got '{text}'") from None


def _build_session(config: pytest.Config) -> HarnessSession:
    profile = load_profile(config.getoption("profile"))
    tasks = load_tasks().specs
    check_profile_tasks(profile, tasks)
    seeds = _parse_seeds(config.getoption("seeds")) if config.getoption("seeds") else None
    shared = getattr(config, "workerinput", {}).get("harness_run")  # set by the xdist controller
    started = shared["started"] if shared else timestamp()
    session = HarnessSession(
        config=config,
        profile=profile,
        model=resolve_model(config.getoption("model") or profile.model),
        seeds=seeds,
        source=mirror_from(config.getoption("data_dir")),
        store=ResultStore(Path(config.getoption("results_dir"))),
        tasks=tasks,
        approaches=load_approaches().specs,
        leaderboard_path=Path(
            config.getoption("leaderboard") or publish.local_board(Path(config.getoption("results_dir")), profile)
        ),
        fresh_after=started if config.getoption("retrain") else None,
        run_id=shared["id"] if shared else f"{os.getpid()}-{int(time.time())}",
        started=started,
    )
    _ = (
        session.suites
    )  # a profile's cut of a suite that does not fit the suite stops the run here, with its file and field
    return session


HARNESS_KEY = pytest.StashKey[HarnessSession]()
PRINTER_KEY = pytest.StashKey[StatusPrinter]()
PLAN_SUMMARY_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness_cases(ood=False, first_seed=False): parametrize `case` over the harness's "
        "(task, approach, seed); ood: tasks with an out-of-domain evaluation; first_seed: each task's first seed",
    )
    config.addinivalue_line("markers", "forgetting: measures forgetting (selected by -k forgetting)")
    config.addinivalue_line("markers", "ood: scores out-of-domain generalization (selected by -k ood)")
    config.addinivalue_line(
        "markers", "inference: inference latency with pytest-benchmark (a pass of its own: -p no:xdist)"
    )
    config.addinivalue_line("markers", "single_task: single-task fine-tuning tests (and gaps to full fine-tuning)")
    for kind in kinds().values():
        config.addinivalue_line("markers", f"{kind.fixture}: tests of the '{kind.name}' suite kind (harness.kinds)")
    if config.getoption(
        "plan"
    ):  # the plan is printed by this process: no xdist workers (its configure runs after this)
        config.option.dist, config.option.numprocesses = "no", 0
    if getattr(config.option, "benchmark_storage", None) == BENCHMARK_STORAGE_DEFAULT:  # not in the project's root
        config.option.benchmark_storage = f"file://{Path(config.getoption('results_dir')) / 'benchmarks' / 'history'}"
    if getattr(config, "workerinput", None) is None:
        signal.signal(signal.SIGTERM, _interrupt)  # a stopped session ends like Ctrl-C: its workers end with it
    try:
        state = config.stash[HARNESS_KEY] = _build_session(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    from harness.jobs.baselines import BASELINE_APPROACH

    for name, spec in {**state.tasks, **state.approaches, BASELINE_APPROACH.name: BASELINE_APPROACH}.items():
        config.addinivalue_line(
            "markers", f"{name}: tests whose jobs use the task or approach '{name}' ({spec.description})"
        )
    _stop_if_data_unreachable(config, state)


def _selects_suites(config: pytest.Config) -> bool:
    """Whether the command line collects suite tests (the ones that need task data)."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args] or [Path(config.rootpath)]
    return any(path == SUITES_DIR or SUITES_DIR in path.parents or path in SUITES_DIR.parents for path in paths)


def _stop_if_data_unreachable(config: pytest.Config, state: HarnessSession) -> None:
    """Decides once, in seconds, whether the hub is reachable. If not, the session and its workers go offline
    (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE: no library waits on the hub again), and without a mirror the suites
    stop with one usage error naming the tasks and the fix, before any job starts."""
    if getattr(config, "workerinput", None) is not None:
        return  # decided by the xdist controller, whose environment the workers inherit
    problem = hub_unreachable()
    if problem:
        os.environ["HF_HUB_OFFLINE"] = os.environ["HF_DATASETS_OFFLINE"] = "1"
    if problem and state.source.mirror is None and _selects_suites(config):
        names = state.profile.tasks or sorted(state.tasks)
        raise pytest.UsageError(
            f"cannot load tasks {', '.join(names)}: no --data-dir (nor $HARNESS_DATA_DIR) and the Hugging Face hub "
            f"is unreachable ({problem}). Pass --data-dir with a mirror, set HARNESS_DATA_DIR, connect to the hub, or "
            "set HF_DATASETS_OFFLINE=1 to use the datasets already in the local cache."
        )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller: every worker gets the same run id and start time."""
    state = node.config.stash[HARNESS_KEY]
    node.workerinput["harness_run"] = {"id": state.run_id, "started": state.started}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash[HARNESS_KEY]
    if "case" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("harness_cases")
        cases = state.cases(
            ood_only=bool(marker and marker.kwargs.get("ood")),
            first_seed=bool(marker and marker.kwargs.get("first_seed")),
        )
        metafunc.parametrize("case", cases, ids=[c.id for c in cases])
    for name, kind in kinds().items():
        if f"{kind.fixture}_job" in metafunc.fixturenames:
            suite_jobs = state.suite_jobs(name)
            metafunc.parametrize(f"{kind.fixture}_job", suite_jobs, ids=[job.name for job in suite_jobs])
    if "gap_case" in metafunc.fixturenames:
        cases = state.gap_cases()
        metafunc.parametrize("gap_case", cases, ids=[case.id for case in cases])


def _writer(config: pytest.Config):
    """Writes a line of the harness's own to the terminal, below whatever pytest left on the current line."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return print

    def write(line: str) -> None:
        if reporter._tw.width_of_current_line:  # pytest's progress dots end their line only later
            reporter._tw.line()
        reporter.write_line(line)

    return write


def _status_printer(config: pytest.Config, state: HarnessSession) -> StatusPrinter:
    """The run's status line: redrawn in place where pytest writes to a terminal (on a line of its own once pytest
    has written after it), a new line each time elsewhere."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not getattr(reporter, "isatty", False):
        return StatusPrinter(state.status_dir, _writer(config))
    drawn = {"width": -1}

    def redraw(line: str) -> None:
        if reporter._tw.width_of_current_line not in (0, drawn["width"]):  # pytest wrote after the last status
            reporter._tw.line()
        reporter.rewrite(line, erase=True)
        drawn["width"] = reporter._tw.width_of_current_line

    def end() -> None:
        if reporter._tw.width_of_current_line == drawn["width"]:  # the status is the last line: leave it
            reporter._tw.line()

    return StatusPrinter(state.status_dir, _writer(config), redraw=redraw, end=end)


def _job_markers(job) -> set[str]:
    """The approach and task names of a job: markers that select it with -m."""
    names = {job.approach.name} if getattr(job, "approach", None) is not None else set()
    for field in ("task", "tasks", "chain"):
        value = getattr(job, field, None)
        names |= {t.name for t in (value if isinstance(value, tuple) else (value,)) if hasattr(t, "name")}
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from the data, so that `-m "lora and sst2"` selects exactly: every approach and task a test's
    jobs use, and the kind of suite (single_task, or a suite kind's fixture name: multitask, sequential, ...)."""
    state = config.stash[HARNESS_KEY]
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        kinds_used = {kind.fixture for kind in kinds().values() if f"{kind.fixture}_job" in params}
        if isinstance(params.get("case"), Case) or isinstance(params.get("gap_case"), GapCase):
            kinds_used.add("single_task")
        for name in sorted(kinds_used | {marker for job in state.jobs_of(item) for marker in _job_markers(job)}):
            item.add_marker(name)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Plans the jobs the selected tests need; in the engine's host, starts them."""
    config = session.config
    state = config.stash[HARNESS_KEY]
    if config.option.collectonly and not config.getoption("plan"):
        return  # --collect-only trains nothing
    needed = list({job.name: job for item in session.items for job in state.jobs_of(item)}.values())
    if config.getoption("plan"):
        plan = state.plan(needed)
        _writer(config)(plan.table())
        config.stash[PLAN_SUMMARY_KEY] = plan.summary(len(state.slots())) + "; nothing trained (--plan)"
        return
    if not needed:
        return  # nothing to train (the harness's own tests); a job asked for later starts the engine then
    plan = state.start(needed)
    if plan is not None and not hasattr(config, "workerinput"):  # this process owns the terminal
        for line in state.store.set_aside:
            _writer(config)(f"harness: {line}")
        _writer(config)(
            plan.summary(state.engine.executor.capacity)
            + f" ({state.engine.executor.describe()})"
            + (f"; store {state.store.root} is read-only: cached records only" if state.read_only else "")
        )
        if not state.read_only:
            config.stash[PRINTER_KEY] = _status_printer(config, state).start()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """--plan: the plan is printed, no test runs."""
    return True if session.config.getoption("plan") else None


def pytest_unconfigure(config: pytest.Config) -> None:
    """--plan ends with its summary, after pytest's own closing line."""
    summary = config.stash.get(PLAN_SUMMARY_KEY, None)
    if summary:
        print(summary, flush=True)


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if config.pluginmanager.has_plugin("dsession"):  # the xdist controller owns the terminal
        state = config.stash[HARNESS_KEY]
        config.stash[PRINTER_KEY] = _status_printer(config, state).start()


@pytest.fixture(scope="session")
def harness(pytestconfig: pytest.Config) -> HarnessSession:
    return pytestconfig.stash[HARNESS_KEY]


@pytest.fixture
def trained_run(case: Case, harness: HarnessSession) -> TrainedRun:
    return harness.require(case)


@pytest.fixture
def frozen_features_run(case: Case, harness: HarnessSession) -> TrainedRun:
    """The frozen-feature baseline (harness.jobs.baselines) for the case's task and seed."""
    return harness.require(harness.frozen_features_job(case))


def _run_fixture(fixture: str):
    """`<fixture>_run`: the trained run of the suite job the test is parametrized with."""

    def run(**arguments) -> TrainedRun:
        return arguments["harness"].require(arguments[f"{fixture}_job"])

    parameter = inspect.Parameter.POSITIONAL_OR_KEYWORD
    run.__signature__ = inspect.Signature(
        [inspect.Parameter(f"{fixture}_job", parameter), inspect.Parameter("harness", parameter)]
    )
    run.__name__ = f"{fixture}_run"
    return pytest.fixture(run, name=f"{fixture}_run")


for _kind in kinds().values():
    if _kind.runs_own_job:
        globals()[f"{_kind.fixture}_run"] = _run_fixture(_kind.fixture)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    printer = config.stash.get(PRINTER_KEY, None)
    state = config.stash.get(HARNESS_KEY, None)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or bool(session.shouldstop) or bool(session.shouldfail)
    if state is None or state.engine is None:
        if printer:
            printer.stop()
        if state is not None and printer and interrupted:  # the xdist controller: the host's last status says what ran
            with contextlib.suppress(OSError, ValueError, KeyError):
                status = json.loads((state.status_dir / "status.json").read_text())
                counts = status["counts"]
                _writer(config)(
                    _stopped(counts["done"], counts["left"] + counts.get("cancelled", 0) + len(status["running"]))
                )
        return
    # Under xdist the other workers may still wait for jobs: the host finishes the plan unless interrupted.
    state.engine.finish(cancel=interrupted)
    if printer:
        printer.stop()
    counts = state.engine.plan.counts()
    if interrupted and counts["cancelled"]:
        _writer(config)(_stopped(counts["done"], counts["cancelled"]))
    trained = counts["done"] + counts["failed"] > 0
    benchmark_json = config.getoption("benchmark_json", None)  # pytest-benchmark wrote it before this hook
    benchmarked = bool(benchmark_json) and Path(benchmark_json).is_file() and not state.read_only
    if benchmarked:
        inference.keep_inference(Path(benchmark_json), state.store.root, state.profile.name)
    if not state.read_only and not interrupted:
        _prune_engine_runs(state.store.root / "engine", keep=ENGINE_RUNS_KEPT)
    if not (trained or benchmarked) and (
        state.leaderboard_path.exists() or not any(node.ok for node in state.engine.plan.nodes.values())
    ):
        return  # nothing new: the leaderboard on disk already shows these records
    with contextlib.nullcontext() if state.read_only else state.store.lock("leaderboard"):
        shown = board.write(
            state.leaderboard_path, state.store.records(), state.scope(), state.store.root, state.identities()
        )
    published = publish.published_board(state.profile)
    _writer(config)(
        f"harness: leaderboard with {shown} runs written to {state.leaderboard_path}"
        + (
            f" (the published {published.name} changes only with `python -m harness leaderboard --publish`)"
            if published
            else ""
        )
    )


def _stopped(done: int, not_finished: int) -> str:
    return (
        f"harness: stopped: {done} jobs done, {not_finished} not finished (cancelled); rerun the same command to resume"
    )


def _prune_engine_runs(engine_dir: Path, keep: int) -> None:
    """Each run's status, progress files and worker logs: the newest `keep` stay."""
    runs = sorted((p for p in engine_dir.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)

"""pytest plugin: the harness's options and hooks. Suite tests are parametrized over every suite kind's jobs
(`<fixture>_job`, harness.kinds) and read their trained runs through fixtures (fixtures.py); after collection and
`-k`/`-m` deselection the jobs the selected tests read are planned with their dependencies (harness.engine) and run
on warm workers while tests wait for their own (session.py). Under pytest-xdist the first worker (gw0) hosts the
engine and the others wait for its records in the store (xdist.py). A job that cannot run here is skipped with its
pre-flight reason; one that failed fails its tests with the recorded reason. At the end of a session that trained,
the run's board is written beside its store (harness.report).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from harness import options
from harness.data import hub_unreachable
from harness.engine.executors import executors
from harness.engine.progress import StatusPrinter
from harness.errors import HarnessError
from harness.jobs.baselines import BASELINE_APPROACH, ZERO_SHOT_APPROACH
from harness.kinds import kinds
from harness.pytest_plugin.session import HARNESS_KEY, HarnessSession, build_session
from harness.pytest_plugin.terminal import status_printer, stopped_line, writer
from harness.report import board, inference, publish
from harness.specs import SUITES_DIR

pytest_plugins = ["harness.pytest_plugin.fixtures"]

BENCHMARK_STORAGE_DEFAULT = "file://./.benchmarks"  # pytest-benchmark's, which it creates in the working directory
ENGINE_RUNS_KEPT = 5  # <results-dir>/engine/<run>/ folders (status, progress, worker logs) left after a successful run
PRINTER_KEY = pytest.StashKey[StatusPrinter]()
PLAN_SUMMARY_KEY = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "fine-tuning benchmark harness")
    options.add(group.addoption, "--profile", "--model", "--seeds", "--data-dir", "--results-dir", "--precision")
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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness_jobs(**kwargs): narrow a suite kind's jobs for this test (single-task: ood=True, first_seed=True); "
        "(task, approach, seed); ood: tasks with an out-of-domain evaluation; first_seed: each task's first seed",
    )
    config.addinivalue_line("markers", "forgetting: measures forgetting (selected by -k forgetting)")
    config.addinivalue_line("markers", "ood: scores out-of-domain generalization (selected by -k ood)")
    config.addinivalue_line(
        "markers", "inference: inference latency with pytest-benchmark (a pass of its own: -p no:xdist)"
    )
    for kind in kinds().values():
        config.addinivalue_line("markers", f"{kind.fixture}: tests of the '{kind.name}' suite kind (harness.kinds)")
    if config.getoption("plan"):  # printed by this process: no xdist workers (xdist's configure runs after this)
        config.option.dist, config.option.numprocesses = "no", 0
    if getattr(config.option, "benchmark_storage", None) == BENCHMARK_STORAGE_DEFAULT:  # not in the project's root
        config.option.benchmark_storage = f"file://{Path(config.getoption('results_dir')) / 'benchmarks' / 'history'}"
    if getattr(config, "workerinput", None) is None:
        signal.signal(signal.SIGTERM, _interrupt)  # a stopped session ends like Ctrl-C: its workers end with it
    try:
        state = config.stash[HARNESS_KEY] = build_session(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None

    baselines = {spec.name: spec for spec in (BASELINE_APPROACH, ZERO_SHOT_APPROACH)}
    for name, spec in {**state.tasks, **state.approaches, **baselines}.items():
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
    """Every suite kind's tests over its jobs (`<fixture>_job`), narrowed by `@pytest.mark.harness_jobs(...)`."""
    state = metafunc.config.stash[HARNESS_KEY]
    marker = metafunc.definition.get_closest_marker("harness_jobs")
    for name, kind in kinds().items():
        if f"{kind.fixture}_job" in metafunc.fixturenames:
            jobs = state.suite_jobs(name)
            if marker and kind.select:
                jobs = kind.select(jobs, state, **marker.kwargs)
            metafunc.parametrize(f"{kind.fixture}_job", jobs, ids=[job.name for job in jobs])


def _job_markers(job) -> set[str]:
    """The approach and task names of a job: markers that select it with -m."""
    names = {job.approach.name} if getattr(job, "approach", None) is not None else set()
    for field in ("task", "tasks", "chain"):
        value = getattr(job, field, None)
        names |= {t.name for t in (value if isinstance(value, tuple) else (value,)) if hasattr(t, "name")}
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from the data, so that `-m "lora and sst2"` selects exactly: every approach and task a test's
    jobs use, and the kind of suite (its fixture name: single_task, multitask, sequential, ...)."""
    state = config.stash[HARNESS_KEY]
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        kinds_used = {kind.fixture for kind in kinds().values() if f"{kind.fixture}_job" in params}
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
        writer(config)(plan.table())
        config.stash[PLAN_SUMMARY_KEY] = plan.summary(len(state.slots())) + "; nothing trained (--plan)"
        return
    if not needed:
        return  # nothing to train (the harness's own tests); a job asked for later starts the engine then
    plan = state.start(needed)
    if plan is not None and not hasattr(config, "workerinput"):  # this process owns the terminal
        for line in state.store.set_aside:
            writer(config)(f"harness: {line}")
        writer(config)(
            plan.summary(state.engine.executor.capacity)
            + f" ({state.engine.executor.describe()})"
            + (f"; store {state.store.root} is read-only: cached records only" if state.read_only else "")
        )
        if not state.read_only:
            config.stash[PRINTER_KEY] = status_printer(config, state.status_dir).start()


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
        config.stash[PRINTER_KEY] = status_printer(config, state.status_dir).start()


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
                writer(config)(
                    stopped_line(counts["done"], counts["left"] + counts.get("cancelled", 0) + len(status["running"]))
                )
        return
    # Under xdist the other workers may still wait for jobs: the host finishes the plan unless interrupted.
    state.engine.finish(cancel=interrupted)
    if printer:
        printer.stop()
    counts = state.engine.plan.counts()
    if interrupted and counts["cancelled"]:
        writer(config)(stopped_line(counts["done"], counts["cancelled"]))
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
    try:
        with contextlib.nullcontext() if state.read_only else state.store.lock("leaderboard"):
            shown = board.write(
                state.leaderboard_path, state.store.records(), state.scope(), state.store.root, state.identities()
            )
    except OSError as exc:  # a full disk: the records are stored; `python -m harness leaderboard` writes it later
        writer(config)(f"harness: the leaderboard could not be written ({exc}); the runs are in {state.store.root}")
        return
    published = publish.published_board(state.profile)
    writer(config)(
        f"harness: leaderboard with {shown} runs written to {state.leaderboard_path}"
        + (
            f" (the published {published.name} changes only with `python -m harness leaderboard --publish`)"
            if published
            else ""
        )
    )


def _prune_engine_runs(engine_dir: Path, keep: int) -> None:
    """Each run's status, progress files and worker logs: the newest `keep` stay."""
    runs = sorted((p for p in engine_dir.glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)

"""Local and published boards (harness.report.publish): a run never rewrites the committed boards, publishing refuses
to drop
runs, a board's files change together, an empty store gets a board, a fresh clone's plan has an estimate, and a
stopped session leaves no worker behind."""

import hashlib
import json
import signal
import subprocess
import sys
import time

import pytest
from record_factory import make_record
from test_leaderboard import SCOPE, record

from harness.engine import plan as plan_module
from harness.engine.plan import Plan
from harness.errors import HarnessError
from harness.jobs import JobBase
from harness.report import board, frame, publish
from harness.results import ResultStore
from harness.specs import PROFILES_DIR, PROJECT_ROOT
from harness.specs.catalog import load_profile


def committed_boards() -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(PROJECT_ROOT.glob("leaderboard*"))
    }


@pytest.fixture
def published_tiny(tmp_path):
    """The tiny profile as if it had a published board: the committed leaderboard.md."""
    path = tmp_path / "tiny-published.yaml"
    path.write_text((PROFILES_DIR / "tiny.yaml").read_text() + "leaderboard: leaderboard.md\n")
    return path


def pytest_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites/test_single_task.py", "-p", "no:cacheprovider", "-q", *arguments]


def test_a_subset_run_and_a_stopped_run_leave_the_committed_boards_as_they_were(mirror, published_tiny, tmp_path):
    before = committed_boards()
    assert "leaderboard.md" in before and "leaderboard-runs.csv" in before
    common = ("--profile", str(published_tiny), "--data-dir", str(mirror.mirror))

    subset = subprocess.run(
        pytest_command(*common, "--results-dir", str(tmp_path / "subset"), "-k", "sst2-full-seed0 and beats_majority"),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert subset.returncode == 0, subset.stdout[-3000:] + subset.stderr[-3000:]
    local = tmp_path / "subset" / "leaderboard-tiny.md"
    assert f"written to {local}" in subset.stdout and "--publish" in subset.stdout
    assert "**Runs:** 1 (0 failed)" in local.read_text()
    assert committed_boards() == before

    store = tmp_path / "stopped"
    session = subprocess.Popen(
        pytest_command(*common, "--results-dir", str(store)),
        cwd=PROJECT_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    workers = _running_workers(store / "engine", timeout=300)
    session.send_signal(signal.SIGTERM)
    output, _ = session.communicate(timeout=120)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)], f"workers {workers} outlived the stopped session"
    assert (
        "harness: stopped:" in output
        and "rerun the same command to resume" in output
        and " failed" not in output.split("stopped:")[1].splitlines()[0]
    )
    assert committed_boards() == before


def _running_workers(engine_dir, timeout: float) -> list[int]:
    """The worker PIDs of a session once one of its jobs is running (its status file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for status_file in engine_dir.glob("*/status.json"):
            try:
                status = json.loads(status_file.read_text())
            except ValueError:
                continue
            if status["running"] and status["worker_pids"]:
                return status["worker_pids"]
        time.sleep(0.2)
    raise AssertionError(f"no job started within {timeout} s")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has ended; its parent just has not reaped it
    except FileNotFoundError:
        return False


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A profile whose published board lives in a temporary project, holding three runs."""
    monkeypatch.setattr(publish, "PROJECT_ROOT", tmp_path)
    profile = load_profile("quick").model_copy(update={"leaderboard": "board.md"})
    runs = [record(), record(seed=1, accuracy=0.9), record(task="rte", accuracy=0.6)]
    board.write(tmp_path / "board.md", runs, SCOPE)
    return profile, runs


def test_publishing_refuses_to_drop_runs_the_published_board_shows(published, tmp_path):
    profile, runs = published
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    with pytest.raises(HarnessError) as refused:
        publish.publish(profile, runs[:1], SCOPE, tmp_path / "store", None)
    assert "lacks 2 of the runs it shows" in str(refused.value) and "single-task rte full seed 0" in str(refused.value)
    assert "sst2 full seed 1" in str(refused.value) and "--allow-fewer" in str(refused.value)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before

    board, shown = publish.publish(
        profile, [*runs, record(approach="lora", accuracy=0.7)], SCOPE, tmp_path / "store", None
    )
    assert (board, shown) == (tmp_path / "board.md", 4) and "**Runs:** 4" in board.read_text()
    assert publish.publish(profile, runs[:1], SCOPE, tmp_path / "store", None, allow_fewer=True)[1] == 1


def test_a_profile_without_a_published_board_says_where_its_board_is(tmp_path):
    with pytest.raises(HarnessError, match="no published board.*leaderboard-tiny.md"):
        publish.publish(load_profile("tiny"), [record()], SCOPE, tmp_path, None)


def test_an_interrupted_write_leaves_every_file_of_the_board_as_it_was(published, tmp_path, monkeypatch):
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(board, "render", interrupted)  # after the plots and the CSV were written
    with pytest.raises(KeyboardInterrupt):
        board.write(tmp_path / "board.md", [record(seed=5)], SCOPE)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before  # no temporary left either


def test_the_leaderboard_command_on_an_empty_store_writes_a_board_that_says_so(tmp_path, mirror):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "leaderboard",
            "--profile",
            "tiny",
            "--results-dir",
            str(tmp_path),
            "--data-dir",
            str(mirror.mirror),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "leaderboard-tiny.md").read_text()
    assert "**Runs:** 0 (0 failed)" in text and "No runs of this profile" in text
    assert (tmp_path / "leaderboard-tiny-runs.csv").read_text().startswith(",".join(frame.RUN_KEY))


def test_a_board_of_baselines_alone_renders():
    baseline = record(approach="frozen-features", kind="frozen-features")
    assert "**Runs:** 1 (0 failed)" in board.render(frame.select([baseline], SCOPE), SCOPE)


def test_a_board_shows_the_mirror_relative_to_the_project():
    scope = frame.Scope("quick", "", "minilm", f"mirror {PROJECT_ROOT.parent / 'shared' / 'data'}")
    assert "**Data source:** mirror ../shared/data" in board.render([], scope)


def test_a_fresh_clone_plans_with_an_estimate_from_the_published_runs(tmp_path, mirror):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/",
            "--plan",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "--data-dir",
            str(mirror.mirror),
            "--results-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("plan: ") and "to train, 0 cached" in last and "unknown" not in last, last
    assert "Exit" not in result.stdout + result.stderr and not (tmp_path / "runs").exists()


class TimedJob(JobBase):
    def __init__(self, task: str):
        self.name, self.task = f"{task}-job", task

    def identity(self):
        return {"never run": self.task}

    def base_record(self):
        return {"kind": "single-task", "task": self.task, "approach": "full", "model": "minilm", "profile": "quick"}


def test_estimates_come_from_the_reference_scaled_by_this_machines_speed(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_module, "preflight", lambda job: None)
    store = ResultStore(tmp_path)
    reference = {}
    for task, seconds in (("sst2", 100.0), ("rte", 40.0)):
        for key in plan_module.estimate_keys(TimedJob(task).base_record()):
            reference.setdefault(key, []).append(seconds)
    store.write(make_record(**TimedJob("sst2").base_record(), config_hash="a1", wall_seconds=50.0))
    jobs = [TimedJob("sst2"), TimedJob("rte")]
    plan = Plan.build(jobs, store, reference=reference)
    assert plan.speed_ratio() == 0.5  # this machine took 50 s where the reference took 100
    assert plan.nodes["sst2-job"].estimate == 50.0 and plan.nodes["rte-job"].estimate == 20.0
    plan.observe(TimedJob("rte"), 30.0)  # a job of this run: its own time from now on
    assert plan.nodes["rte-job"].estimate == 30.0

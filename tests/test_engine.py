"""The job engine: records written by warm workers and reused from the store, failures recorded with
their reason, the plan's dependencies, device pinning, a worker killed mid-job, and Ray on the CPU."""

import dataclasses
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import jobs
from harness.data import DataSource
from harness.engine import run
from harness.engine.devices import Device, default_jobs_per_device, layout, parse_devices
from harness.engine.executors.local import LocalExecutor
from harness.engine.plan import Plan
from harness.errors import HarnessError
from harness.kinds.probe import ProbeSuiteSpec, WordContentSpec, probe_jobs
from harness.models import resolve_model
from harness.results import RECORD_FILE, STATE_FILE, ResultStore
from harness.specs import PROJECT_ROOT
from harness.specs.catalog import load_approaches, load_profile, load_tasks

APPROACHES = load_approaches().specs
TASKS = load_tasks().specs


@pytest.fixture
def job(mirror, sst2_spec):
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "eval_examples": 32, "task_overrides": {}})
    return jobs.Job(
        task=sst2_spec,
        ood_tasks=(),
        approach=APPROACHES["full"],
        model=resolve_model("tiny-bert"),
        profile=profile,
        seed=0,
        source=mirror,
    )


def test_run_writes_a_complete_record_then_reuses_it(job, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    (record,) = run([job], store)
    assert record.status == "ok", record.failure
    run_dir = store.run_dir(job.config_hash)
    assert (run_dir / RECORD_FILE).exists() and (run_dir / STATE_FILE).stat().st_size == record.trainable_state_bytes
    assert (run_dir / "job.log").exists()  # third-party output goes to the job's log, not the terminal
    assert record.peak_memory_kind.startswith("CPU peak RSS during training, above the worker's idle baseline")
    assert record.memory_baseline_bytes > 100 * 2**20 and 0 < record.peak_memory_bytes
    assert record.split_spec == "train=train eval=validation" and record.train_examples == 64
    assert record.eval_examples == 32 and record.wall_seconds > 0
    assert {"torch", "transformers", "datasets"} <= set(record.package_versions)

    def no_worker(*args, **kwargs):
        raise AssertionError("a cached job must not reach a worker")

    monkeypatch.setattr(LocalExecutor, "submit", no_worker)
    assert run([job], store) == [record]


def test_fresh_after_forces_a_new_run(job, tmp_path):
    store = ResultStore(tmp_path)
    (first,) = run([job], store)
    (again,) = run([job], store, fresh_after="9999-01-01T00:00:00")
    assert again.status == "ok" and again.started_at >= first.finished_at


def test_a_failing_job_records_its_reason(job, tmp_path):
    broken = dataclasses.replace(job, source=DataSource(tmp_path / "empty"))
    (record,) = run([broken], ResultStore(tmp_path / "store"))
    assert record.status == "failed"
    assert "has no split" in record.failure and "sst2" in record.failure


def test_config_hash_tracks_what_shapes_the_result(job):
    same = dataclasses.replace(job)
    other_seed = dataclasses.replace(job, seed=1)
    other_lr = dataclasses.replace(job, approach=job.approach.model_copy(update={"learning_rate": 1e-4}))
    assert same.config_hash == job.config_hash
    assert len({job.config_hash, other_seed.config_hash, other_lr.config_hash}) == 3
    assert other_lr.training.learning_rate == 1e-4


def probe_suite() -> ProbeSuiteSpec:
    return ProbeSuiteSpec(
        kind="probe", name="knowledge", probes={"sst2": "mnli"}, word_content=WordContentSpec(task="imdb")
    )


def test_plan_puts_dependencies_first_and_shares_the_probe_baseline(job, tmp_path):
    lora = dataclasses.replace(job, approach=APPROACHES["lora"])
    probes = probe_jobs(probe_suite(), [job, lora], [], TASKS)
    plan = Plan.build(probes, ResultStore(tmp_path))
    names = list(plan.nodes)
    for probe in probes:
        trained, baseline = probe.dependencies()
        assert names.index(trained.name) < names.index(probe.name) and names.index(baseline.name) < names.index(
            probe.name
        )
    # one "before" job per probe (word content, mnli) for the model and seed, whatever the approach
    assert sorted(n for n in names if "-before-" in n) == [
        "knowledge-tiny-bert-seed0-before-mnli",
        "knowledge-tiny-bert-seed0-before-word-content",
    ]
    assert plan.counts() == {"done": 0, "failed": 0, "cached": 0, "skipped": 0, "cancelled": 0, "left": 2 + 2 + 4}


def test_plan_skips_what_the_store_has(job, tmp_path):
    store = ResultStore(tmp_path)
    (record,) = run([job], store)
    (probe,) = [p for p in probe_jobs(probe_suite(), [job], [], TASKS) if p.probe.label == "mnli"]
    plan = Plan.build([probe], store)
    assert plan.nodes[job.name].state == "cached" and plan.nodes[job.name].record == record
    assert plan.nodes[probe.name].state == "pending"


def test_a_skipped_dependency_skips_its_dependents(job, tmp_path, monkeypatch):
    from harness.engine import plan as plan_module

    monkeypatch.setattr(plan_module, "preflight", lambda j: "cannot run here" if j.name == job.name else None)
    (probe,) = [p for p in probe_jobs(probe_suite(), [job], [], TASKS) if p.probe.label == "mnli"]
    plan = Plan.build([probe], ResultStore(tmp_path))
    assert plan.nodes[probe.name].state == "skipped" and job.name in plan.nodes[probe.name].reason


def test_selecting_a_probe_with_k_plans_its_fine_tuned_model_and_trains_nothing(tmp_path, mirror):
    command = [
        sys.executable,
        "-m",
        "pytest",
        "suites/test_knowledge.py",
        "--profile",
        "tiny",
        "--plan",
        "-p",
        "no:cacheprovider",
        "-k",
        "sst2-full-seed0-probed-on-mnli",
        "--results-dir",
        str(tmp_path),
        "--data-dir",
        str(mirror.mirror),
    ]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    planned = {
        line.split()[0]: line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith(("sst2-", "knowledge-"))
    }
    assert planned == {
        "sst2-full-seed0": "train",
        "knowledge-tiny-bert-seed0-before-mnli": "train",
        "knowledge-sst2-full-seed0-probed-on-mnli": "train",
    }
    assert "plan: 3 jobs: 3 to train" in result.stdout
    collect_only = subprocess.run(
        [*command[:6], "--collect-only", *command[7:]], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert collect_only.returncode == 0 and "1 selected" in collect_only.stdout, (
        collect_only.stdout + collect_only.stderr
    )
    assert not (tmp_path / "runs").exists()  # neither trained anything


def test_status_line_counts_jobs_and_shows_each_running_jobs_steps(tmp_path):
    import json
    import time

    from harness.engine.progress import status_line

    (tmp_path / "sst2-full-seed0.json").write_text(json.dumps({"done": 40, "total": 150}))
    status = {
        "started": time.time() - 125,
        "counts": {"done": 3, "failed": 1, "cached": 5, "skipped": 2, "left": 7},
        "running": ["sst2-full-seed0", "rte-lora-seed0"],
        "eta_seconds": 3700,
    }
    line = status_line(status, tmp_path)
    assert line.startswith("harness: 3 done, 1 failed, 5 cached, 2 skipped, 2 running, 7 left | 2m0")
    assert "ETA 1h01m" in line and line.endswith("sst2-full-seed0 40/150; rte-lora-seed0")


def test_devices_and_slots_from_fake_device_lists():
    four = parse_devices(None, [0, 1, 2, 3])
    assert [d.label for d in four] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    assert parse_devices("auto", []) == [Device("cpu")]
    assert [d.label for d in parse_devices("cuda:2,3", [0, 1, 2, 3])] == ["cuda:2", "cuda:3"]
    with pytest.raises(HarnessError, match="GPU 5 is not visible"):
        parse_devices("5", [0, 1])
    slots = layout(four, 2, cpu_count=16)
    assert [s.device.environment()["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert all(s.threads == 2 for s in slots)
    assert Device("cpu").environment() == {"CUDA_VISIBLE_DEVICES": ""}  # a CPU worker never touches a GPU
    assert default_jobs_per_device(Device("cpu"), 2, [], None) == 2
    assert default_jobs_per_device(Device("cuda", 0), 16, [], 80 * 2**30) == 2  # nothing measured yet
    assert default_jobs_per_device(Device("cuda", 0), 16, [6 * 2**30], 80 * 2**30) == 8
    assert default_jobs_per_device(Device("cuda", 0), 16, [20 * 2**30], 80 * 2**30) == 2
    assert default_jobs_per_device(Device("cuda", 0), 16, [2**29], 140 * 2**30) == 10  # small jobs: the measured cap
    assert default_jobs_per_device(Device("cuda", 0), 4, [2**29], 140 * 2**30) == 4  # one core per job at least


def test_a_worker_is_pinned_before_torch_starts(job, tmp_path):
    executor = LocalExecutor(layout([Device("cuda", 3)], 1, cpu_count=1))
    (record,) = run([job], ResultStore(tmp_path), executor=executor)
    assert record.status == "ok", record.failure
    assert record.worker.cuda_visible_devices == "3" and record.worker.torch_threads == 1


def test_a_worker_that_outgrew_its_memory_share_is_replaced_between_jobs(job, tmp_path, monkeypatch):
    """A warm worker's memory grows job after job; past its share of the machine it is replaced, not reused."""
    from harness.engine.executors import local

    executor = LocalExecutor(layout([Device("cpu")], 1, cpu_count=1))
    first, second = run([job, dataclasses.replace(job, seed=1)], ResultStore(tmp_path / "kept"), executor=executor)
    assert first.worker.pid == second.worker.pid  # warm: one worker for both
    monkeypatch.setattr(local, "RECYCLE_ABOVE_SHARE", 1e-6)  # every worker over its share after a job
    executor = LocalExecutor(layout([Device("cpu")], 1, cpu_count=1))
    first, second = run([job, dataclasses.replace(job, seed=1)], ResultStore(tmp_path / "fresh"), executor=executor)
    assert first.status == second.status == "ok" and first.worker.pid != second.worker.pid


@dataclasses.dataclass(frozen=True)
class SelfKillingJob(jobs.Job):
    """Killed with SIGKILL mid-job (as by the OOM killer) on its first `kills` attempts."""

    counter: str = ""
    kills: int = 1

    def execute(self, run_dir):
        counter = Path(self.counter)
        attempts = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(attempts + 1))
        if attempts < self.kills:
            (run_dir / STATE_FILE).write_bytes(b"half-written")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().execute(run_dir)


def test_a_worker_killed_mid_job_is_replaced_and_the_job_retried_once(job, tmp_path):
    store = ResultStore(tmp_path / "store")
    once = SelfKillingJob(**vars(job), counter=str(tmp_path / "once"), kills=1)
    always = SelfKillingJob(**vars(dataclasses.replace(job, seed=1)), counter=str(tmp_path / "always"), kills=99)
    executor = LocalExecutor(layout([Device("cpu")], 1, cpu_count=1))
    retried, failed = run([once, always], store, executor=executor)
    assert retried.status == "ok" and retried.attempts == 2 and "worker process died" in retried.retried_because
    assert failed.status == "failed" and "died again on its retry" in failed.failure and failed.attempts == 2
    assert list(store.run_dir(always.config_hash).iterdir()) == [store.run_dir(always.config_hash) / RECORD_FILE]
    # a rerun trains only what is missing: the failed job, not the finished one
    (Path(always.counter)).write_text("99")
    rerun = run([once, always], store, executor=LocalExecutor(layout([Device("cpu")], 1, cpu_count=1)))
    assert rerun[0] == retried and rerun[1].status == "ok" and rerun[1].attempts is None


def test_ray_executor_runs_each_job_once_into_the_store(job, tmp_path):
    ray = pytest.importorskip("ray")
    from harness.engine.executors.ray import RayExecutor

    several = [dataclasses.replace(job, seed=seed) for seed in range(3)]
    executor = RayExecutor(None, layout([Device("cpu")], 2, cpu_count=2), num_cpus=2)
    try:
        store = ResultStore(tmp_path)
        records = run(several, store, executor=executor)
    finally:
        ray.shutdown()
    assert [r.status for r in records] == ["ok"] * 3, [r.failure for r in records]
    stored = list(store.records())
    assert sorted(r.config_hash for r in stored) == sorted(j.config_hash for j in several)  # each exactly once
    for one in several:
        stored_size = (store.run_dir(one.config_hash) / STATE_FILE).stat().st_size
        assert stored_size == store.load(one.config_hash).trainable_state_bytes


def test_the_plugin_imports_without_torch():
    """pytest (and xdist's controller) load the plugin in every run; torch is for the workers only."""
    import subprocess
    import sys

    code = "import sys, harness.pytest_plugin; sys.exit('torch' in sys.modules or 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_time_left_counts_each_kind_of_job_at_its_own_pace(tmp_path):
    from harness.engine.plan import Node

    class Mixture:
        name = "mixture"

    class Probe:
        def __init__(self, name):
            self.name = name

    plan = Plan(ResultStore(tmp_path))
    for job in (Mixture(), Probe("probe-1"), Probe("probe-2")):
        plan.nodes[job.name] = Node(job, ())
    assert plan.remaining_estimate(2) is None  # nothing timed yet
    assert plan.remaining_estimate(2, {"Probe": [10.0]}) == 15.0  # the mixture at this run's mean over every kind
    assert plan.remaining_estimate(2, {"Probe": [10.0], "Mixture": [300.0]}) == 160.0
    plan.nodes["probe-1"].estimate = 4.0  # timed by an earlier run: that time wins
    assert plan.remaining_estimate(2, {"Probe": [10.0], "Mixture": [300.0]}) == 157.0


def test_a_killed_retrain_keeps_the_previous_record_and_its_set_aside_files(job, tmp_path, capsys):
    """--retrain trains into a staging directory that replaces the run only once complete: killed (twice, so the job
    fails), the good record stays as it was, and check-store lists the unfinished runs."""
    from harness.__main__ import main
    from harness.results import timestamp

    store = ResultStore(tmp_path / "store")
    (good,) = run([job], store)
    kept = store.run_dir(job.config_hash) / f"{RECORD_FILE}.damaged-20260101T000000000000"
    kept.write_text("a record set aside earlier")
    killed = SelfKillingJob(**vars(job), counter=str(tmp_path / "killed"), kills=99)
    assert killed.config_hash == job.config_hash
    (failed,) = run(
        [killed], store, fresh_after=timestamp(), executor=LocalExecutor(layout([Device("cpu")], 1, cpu_count=1))
    )
    assert failed.status == "failed" and "died again on its retry" in failed.failure
    assert store.load(job.config_hash) == good and kept.read_text() == "a record set aside earlier"
    assert len(store.leftovers()["unfinished"]) == 2 and store.leftovers()["set aside"] == [kept]
    assert main(["check-store", "--results-dir", str(store.root)]) == 0
    out = capsys.readouterr().out
    assert "1 intact records, 0 damaged, 1 set aside (kept), 2 unfinished runs" in out and f"set aside: {kept}" in out

    (retrained,) = run([job], store, fresh_after=timestamp())  # a retrain that completes replaces it, keeping the rest
    assert retrained.finished_at > good.finished_at and store.load(job.config_hash) == retrained
    assert (store.run_dir(job.config_hash) / kept.name).read_text() == "a record set aside earlier"
    assert (store.run_dir(job.config_hash) / STATE_FILE).stat().st_mode & 0o777 == (
        store.run_dir(job.config_hash) / RECORD_FILE
    ).stat().st_mode & 0o777


class FullDiskExecutor:
    """Every job's worker finds the disk full (its record cannot be written), as with `ulimit -f` or ENOSPC."""

    retries_crashes, capacity = False, 1

    def describe(self) -> str:
        return "a full disk"

    def submit(self, job, store, fresh_after, progress_dir):
        from concurrent.futures import Future

        future: Future = Future()
        future.set_exception(OSError(errno.ENOSPC, "No space left on device", str(store.run_dir(job.config_hash))))
        return future

    def release(self, future) -> None:
        pass

    def crashed(self, exc) -> None:
        return None

    def worker_pids(self) -> list[int]:
        return []

    def terminate(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_full_disk_fails_the_job_with_the_path_and_never_hangs(job, tmp_path, monkeypatch):
    store = ResultStore(tmp_path / "store")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "store" / "staging"))

    monkeypatch.setattr(store, "commit", disk_full)  # the failure record cannot be written either
    started = time.monotonic()
    (record,) = run([job], store, executor=FullDiskExecutor())
    assert time.monotonic() - started < 30
    assert record.status == "failed" and "No space left on device" in record.failure
    assert str(store.run_dir(job.config_hash)) in record.failure and "could not be stored either" in record.failure

"""Jobs: a record per run written in a child process, cached by configuration hash, retrained on
request, failures recorded with their reason."""

import dataclasses
import multiprocessing

import pytest

from harness import jobs
from harness.data import DataSource
from harness.models import resolve_model
from harness.registry import load_approaches, load_profile
from harness.results import RECORD_FILE, STATE_FILE, ResultStore


@pytest.fixture
def job(mirror, sst2_spec):
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "eval_examples": 32})
    return jobs.Job(task=sst2_spec, ood_tasks=(), approach=load_approaches().specs["full"], model=resolve_model("tiny-bert"),
                    profile=profile, seed=0, source=mirror)


def test_run_writes_a_complete_record_then_reuses_it(job, tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    record = jobs.run(job, store)
    assert record["status"] == "ok", record.get("failure")
    run_dir = store.run_dir(job.config_hash)
    assert (run_dir / RECORD_FILE).exists() and (run_dir / STATE_FILE).stat().st_size == record["trainable_state_bytes"]
    assert record["peak_memory_kind"] == "CPU peak RSS of the job process" and record["peak_memory_bytes"] > 50 * 2**20
    assert record["split_spec"] == "train=train eval=validation" and record["train_examples"] == 64
    assert {"torch", "transformers", "datasets"} <= set(record["package_versions"])

    def no_process(*args, **kwargs):
        raise AssertionError("a cached job must not start a process")

    monkeypatch.setattr(multiprocessing, "get_context", no_process)
    assert jobs.run(job, store) == record


def test_fresh_after_forces_a_new_run(job, tmp_path):
    store = ResultStore(tmp_path)
    first = jobs.run(job, store)
    again = jobs.run(job, store, fresh_after="9999-01-01T00:00:00")
    assert again["status"] == "ok" and again["finished_at"] >= first["finished_at"]
    assert again["started_at"] >= first["finished_at"]


def test_a_failing_job_records_its_reason(job, tmp_path):
    broken = dataclasses.replace(job, source=DataSource(tmp_path / "empty"))
    record = jobs.run(broken, ResultStore(tmp_path / "store"))
    assert record["status"] == "failed"
    assert "has no split" in record["failure"] and "sst2" in record["failure"]


def test_config_hash_tracks_what_shapes_the_result(job):
    same = dataclasses.replace(job)
    other_seed = dataclasses.replace(job, seed=1)
    other_lr = dataclasses.replace(job, approach=job.approach.model_copy(update={"learning_rate": 1e-4}))
    assert same.config_hash == job.config_hash
    assert len({job.config_hash, other_seed.config_hash, other_lr.config_hash}) == 3
    assert other_lr.training.learning_rate == 1e-4

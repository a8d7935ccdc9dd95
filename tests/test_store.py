"""The results store heals: a damaged record (truncated, empty, not this harness's format) is set aside
under another name, reported in one line and its job trains again; an unwritable store serves what it
has and refuses, once and clearly, to train."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from record_factory import make_record

from harness import jobs
from harness.__main__ import main
from harness.engine import run
from harness.models import resolve_model
from harness.report import board, frame
from harness.results import RECORD_FILE, ResultStore, atomic_write_text
from harness.specs import PROJECT_ROOT
from harness.specs.catalog import load_approaches, load_profile


@pytest.fixture
def job(mirror, sst2_spec):
    profile = load_profile("tiny").model_copy(
        update={"train_examples": 64, "eval_examples": 32, "dev_examples": 32, "task_overrides": {}}
    )
    return jobs.Job(
        task=sst2_spec,
        ood_tasks=(),
        approach=load_approaches().specs["head-only"],
        model=resolve_model("tiny-bert"),
        profile=profile,
        seed=0,
        source=mirror,
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated: disk full, power loss
        lambda text: "",  # empty
        lambda text: json.dumps({"metrics": {"accuracy": 0.9}}),  # not a record of this harness's format
    ],
)
def test_damaged_record_is_set_aside_reported_and_not_served(tmp_path, damage, capsys):
    store = ResultStore(tmp_path)
    record = make_record(config_hash="abc")
    store.write(record)
    path = store.run_dir("abc") / RECORD_FILE
    path.write_text(damage(path.read_text()))
    assert main(["check-store", "--results-dir", str(tmp_path)]) == 1
    assert f"damaged: {path}" in capsys.readouterr().out and path.exists()  # checking changes nothing
    assert store.load("abc") is None and not path.exists()
    (kept,) = store.run_dir("abc").glob(f"{RECORD_FILE}.damaged-*")
    assert kept.read_text() == damage(record.to_json())
    (line,) = store.set_aside
    assert str(path) in line and "the job trains again" in line
    assert list(store.records()) == []


def test_store_damaged_between_runs_heals_on_the_next_run(job, tmp_path):
    store = ResultStore(tmp_path)
    (first,) = run([job], store)
    assert first.status == "ok", first.failure
    path = store.run_dir(job.config_hash) / RECORD_FILE
    path.write_text(path.read_text()[:100])
    (healed,) = run([job], ResultStore(tmp_path))
    assert healed.status == "ok" and healed.finished_at > first.finished_at  # trained again, no manual step
    scope = frame.Scope("tiny", "", "tiny-bert", job.source.describe())

    def in_domain(records):
        return board.render(frame.select(records, scope), scope, now=dt.datetime(2026, 1, 1)).split("## Cost")[0]

    assert in_domain([healed]) == in_domain([first])


def test_unwritable_store_serves_cached_records_and_refuses_to_train(mirror, tmp_path):
    def pytest_run(*selection):
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "suites/test_single_task.py",
                "--profile",
                "tiny",
                "-p",
                "no:cacheprovider",
                "--data-dir",
                str(mirror.mirror),
                "--results-dir",
                str(tmp_path),
                "-q",
                *selection,
            ],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    selection = ("-k", "sst2-head-only-seed0 and beats_majority")
    assert pytest_run(*selection).returncode == 0
    (tmp_path / "locks").rename(tmp_path / "locks-moved")
    (tmp_path / "locks").write_text("")  # nothing can be created under the store's locks any more
    served = pytest_run(*selection)
    assert served.returncode == 0 and "is read-only: cached records only" in served.stdout, served.stdout[-2000:]
    refused = pytest_run("-k", "sst2-full-seed0 and beats_majority")
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR
    assert (
        f"results store {tmp_path} is not writable" in refused.stdout + refused.stderr
        and "--results-dir" in refused.stdout + refused.stderr
    )


def test_atomic_writes_get_the_mode_open_would_give(tmp_path):
    """mkstemp's temporary file is private; a leaderboard or record written through it is not."""
    atomic_write_text(tmp_path / "board.md", "# Leaderboard\n")
    probe = tmp_path / "plain"
    probe.write_text("")
    assert (tmp_path / "board.md").stat().st_mode & 0o777 == probe.stat().st_mode & 0o777


OLD_STORE = PROJECT_ROOT / "tests" / "data" / "store-1c4c2af"  # record.json files written by main at 1c4c2af (tiny)


def test_a_store_written_by_an_earlier_main_still_reads_keeps_its_keys_and_fills_a_board():
    """Records of every kind, written before the layout moved (harness/ at 1c4c2af), read intact; today's declarations
    give each the same config hash, so nothing retrains; and every kind's section draws from them."""
    from harness.data import DataSource
    from harness.declarations import Declarations
    from harness.results import config_hash
    from harness.results.record import SCHEMA_VERSION, record_class
    from harness.specs.catalog import load_tasks

    store = ResultStore(OLD_STORE)
    records = list(store.records())
    assert not store.set_aside and not store.problems()
    assert {r.kind for r in records} == {
        "single-task",
        "frozen-features",
        "multitask",
        "sequential",
        "probe",
        "probe-baseline",
        "continued-pretraining",
    }
    assert all(type(r) is record_class(r.kind) and r.schema_version == SCHEMA_VERSION for r in records)  # typed
    source = DataSource(Path(records[0].data_source.removeprefix("mirror ")))  # the machine it ran on; not read
    declared = Declarations(
        profile=load_profile("tiny"),
        model=resolve_model("tiny-bert"),
        seeds=None,
        source=source,
        tasks=load_tasks().specs,
        approaches=load_approaches().specs,
    ).identities()
    compared = [r for r in records if frame.run_key(r) in declared]
    assert {r.kind for r in compared} >= {"single-task", "frozen-features", "multitask", "sequential", "probe"}
    # Runs on MNLI or QNLI moved on purpose (session 11: their carved splits keep premises and questions whole,
    # `group_by`, so their data changed); every other run keeps its key.
    # Continued pre-training moved on purpose too (session 12: its MLM stage measures a held-out loss and stops by
    # rule, over up to 5 epochs at 1e-4).
    grouped = [r for r in compared if '"group_by"' in json.dumps(declared[frame.run_key(r)])]
    assert {r.kind for r in grouped} == {"multitask", "sequential"}
    # So did every frozen-feature baseline (session 15: a pair task's texts are encoded apart, its format 3).
    moved = grouped + [r for r in compared if r.kind in ("continued-pretraining", "frozen-features")]
    assert all(config_hash(declared[frame.run_key(r)]) != r.config_hash for r in moved)
    assert all(config_hash(declared[frame.run_key(r)]) == r.config_hash for r in compared if r not in moved)
    scope = frame.Scope("tiny", "", "tiny-bert", records[0].data_source)
    text = board.render(frame.select(records, scope), scope, declared=declared)
    for section in (
        "## In-domain",
        "## Multi-task",
        "## Sequential",
        "## Forgetting of pre-trained",
        "## Continued pre-training",
    ):
        assert section in text, section
    moved = text.split("moved on from", 1)[1].split("\n## ", 1)[0]  # the board lists exactly the runs that moved
    assert "| multitask " in moved and "| sequential " in moved
    assert "| single-task " not in moved and "| probe " not in moved

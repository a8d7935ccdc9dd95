"""Single-task fine-tuning: every task in tasks/ × every approach in approaches/ × every seed."""

import math

import pytest

from harness.results import RECORD_FILE, STATE_FILE


def test_beats_majority_class(trained_run, harness):
    record = trained_run.record
    required = record["majority_rate"] + harness.profile.gain_required(record["task"])
    assert trained_run.accuracy >= required, (
        f"accuracy {trained_run.accuracy:.3f} < majority-class rate {record['majority_rate']:.3f} "
        f"+ {harness.profile.gain_required(record['task'])} required by profile '{harness.profile.name}'"
    )


def test_training_loss_decreased(trained_run, harness):
    record = trained_run.record
    expected = harness.profile.loss_must_fall_for
    if expected is not None and record["approach"] not in expected:
        pytest.skip(f"profile '{harness.profile.name}' expects a falling loss only for {', '.join(expected)}")
    assert record["train_loss_end"] < record["train_loss_start"], (
        f"training loss went from {record['train_loss_start']:.4f} to {record['train_loss_end']:.4f}"
    )


def test_result_record_is_complete(trained_run, case):
    record = trained_run.record
    assert (trained_run.run_dir / RECORD_FILE).is_file()
    assert (trained_run.run_dir / STATE_FILE).stat().st_size == record["trainable_state_bytes"] > 0
    assert (record["task"], record["approach"], record["seed"]) == (case.task, case.approach, case.seed)
    assert 0 < record["trainable_params"] == record["method_params"] + record["head_params"]
    assert record["trainable_params"] <= record["model_params"]
    assert record["peak_memory_bytes"] > 0 and record["peak_memory_kind"]
    assert record["train_samples_per_second"] > 0 and record["eval_samples_per_second"] > 0
    assert record["split_spec"].startswith("train=")
    assert all(0.0 <= value <= 1.0 or name == "mcc" for name, value in record["metrics"].items())
    assert all(math.isfinite(v) for v in record["metrics"].values())


def test_close_to_full_fine_tuning(gap_case, harness):
    """Where the profile bounds it, an approach stays within a gap of full fine-tuning's accuracy."""
    approach = harness.require(gap_case)
    full = harness.require(gap_case.against_full())
    allowed = harness.profile.max_gap_to_full[gap_case.task][gap_case.approach]
    assert full.accuracy - approach.accuracy <= allowed, (
        f"{gap_case.approach} {approach.accuracy:.3f} vs full {full.accuracy:.3f}: gap above {allowed}"
    )

"""Single-task fine-tuning: every task in tasks/ × every approach in approaches/ × every seed.

Each claim is made where the profile says its budget can show it (harness.results.checks); a constant
predictor fails every one of them (tests/test_checks.py)."""

import math

import pytest

from harness.results import RECORD_FILE, STATE_FILE, checks


def test_beats_majority_class(single_task_run, harness):
    record = single_task_run.record
    checks.require_claim(harness.profile, record.task, record.approach)
    checks.beats_majority(record.eval, record.majority_class, f"{record.task} {record.approach}")


def test_training_loss_decreased(single_task_run, harness):
    record = single_task_run.record
    checks.require_claim(harness.profile, record.task, record.approach)
    checks.loss_fell(record, single_task_run.job.name, record.dev, record.majority_class)


def test_not_below_frozen_features(single_task_run, frozen_features_run, harness):
    """No approach is significantly below a logistic regression on the frozen encoder's features (paired, same
    examples)."""
    task = single_task_run.record.task
    if task not in harness.profile.beats_frozen_features:
        pytest.skip(f"profile '{harness.profile.name}' makes no claim against the frozen-feature baseline on {task}")
    checks.not_below_baseline(
        single_task_run.record.eval,
        frozen_features_run.record.eval,
        harness.profile.beats_frozen_features[task],
        single_task_run.job.name,
    )


@pytest.mark.harness_jobs(first_seed=True)
def test_zero_shot_is_scored_on_the_same_examples(single_task_run, zero_shot_run):
    """The zero-shot classifier (label descriptions, no training; a row of the in-domain and out-of-domain tables) is
    scored on exactly the examples and labels the fine-tuned models are, so the paired marks compare like with like."""
    if single_task_run.job.approach.name != "full":
        pytest.skip("one check per task and seed: with full fine-tuning's run")
    ours, zero = single_task_run.record, zero_shot_run.record
    assert zero.eval.labels == ours.eval.labels and zero.dev.labels == ours.dev.labels
    assert set(zero.ood) <= set(ours.ood) and all(zero.ood[t].labels == ours.ood[t].labels for t in zero.ood)
    assert zero.label_descriptions and zero.eval.examples == ours.eval.examples


@pytest.mark.harness_jobs(first_seed=True)
def test_zero_shot_beats_the_majority_class_where_the_profile_claims_it(single_task_run, zero_shot_run, harness):
    if single_task_run.job.approach.name != "full":
        pytest.skip("one check per task and seed: with full fine-tuning's run")
    zero = zero_shot_run.record
    checks.require_claim(harness.profile, f"zero-shot/{zero.task}", "zero-shot")
    checks.beats_majority(zero.eval, zero.majority_class, zero_shot_run.job.name)


def test_result_record_is_complete(single_task_run, single_task_job):
    record = single_task_run.record
    assert (single_task_run.run_dir / RECORD_FILE).is_file()
    assert (single_task_run.run_dir / STATE_FILE).stat().st_size == record.trainable_state_bytes > 0
    job = single_task_job
    assert (record.task, record.approach, record.seed) == (job.task.name, job.approach.name, job.seed)
    assert 0 < record.trainable_params == record.method_params + record.head_params
    assert record.head_params > 0, "the head trains under every approach"
    assert record.trainable_params <= record.model_params
    assert record.peak_memory_bytes > 0 and record.peak_memory_kind
    assert record.train_samples_per_second > 0 and record.eval_samples_per_second > 0
    assert record.split_spec.startswith("train=")
    assert record.eval.examples == len(checks.correct(record.eval)) == record.eval_examples
    assert record.dev_examples == len(checks.correct(record.dev)) > 0
    assert math.isclose(checks.correct(record.eval).mean(), single_task_run.accuracy), (
        "kept predictions give the reported accuracy"
    )
    assert all(math.isfinite(v) for v in record.metrics.values())

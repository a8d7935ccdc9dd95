"""Continued pre-training (suites/pretraining.yaml): MLM on unlabelled in-domain text before
fine-tuning, scored in-domain and out-of-domain against the same fine-tuning without it."""

import pytest

from harness.results import checks

pytestmark = pytest.mark.ood


def test_adapted_model_learns_where_the_profile_claims_it(pretraining_run, harness):
    record = pretraining_run.record
    checks.require_claim(harness.profile, f"pretraining/{record.task}", record.approach)
    checks.beats_majority(record.eval, record.majority_class, pretraining_run.job.name)


def test_both_pipelines_scored_on_the_same_splits(pretraining_run, harness):
    adapted, baseline = pretraining_run.record, harness.require(pretraining_run.job.fine_tuning).record
    assert adapted.baseline == baseline.config_hash
    assert adapted.split_spec == baseline.split_spec and adapted.eval_examples == baseline.eval_examples
    assert set(adapted.ood) == set(baseline.ood)


def test_masked_language_model_loss_fell(pretraining_run):
    mlm = pretraining_run.record.mlm
    assert mlm.examples > 0 and mlm.train_steps > 0
    assert mlm.train_loss_end < mlm.train_loss_start, (
        f"MLM loss went from {mlm.train_loss_start:.3f} to {mlm.train_loss_end:.3f}"
    )


def test_held_out_masked_language_model_loss_fell(pretraining_run):
    """Measured on corpus texts kept out of MLM training, with the same masks before and after: the stage adapted the
    encoder to the domain, not only to its training texts."""
    mlm = pretraining_run.record.mlm
    before, after = mlm.held_out_loss[0], mlm.held_out_loss[-1]
    assert mlm.held_out_examples > 0 and len(mlm.held_out_loss) >= 2 and mlm.stopped
    assert after < before, f"held-out MLM loss went from {before:.3f} to {after:.3f} ({mlm.stopped})"

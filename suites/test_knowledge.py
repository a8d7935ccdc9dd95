"""Forgetting of pre-trained knowledge (suites/knowledge.yaml): frozen-feature linear probes (a task
the model was not trained on; word content) before vs after fine-tuning, for every single-task approach
and every multi-task model. The "before" score is one job per probe, model and seed, shared by all."""

import pytest

from harness.results import checks

pytestmark = pytest.mark.forgetting


def test_probes_read_knowledge_before_and_after(probe_run, harness):
    """Knowledge lost is only measured where there was knowledge to lose, and what remains is measured
    on an encoder that still tells examples apart: both probes beat the probe's majority class."""
    record = probe_run.record
    checks.require_claim(harness.profile, f"probe/{record.probe_task}", record.approach)
    checks.beats_majority(
        record.probe_before_eval,
        record.probe_before_eval.majority_class,
        f"{record.probe_task} probe, pre-trained",
    )
    checks.beats_majority(
        record.probe_after_eval,
        record.probe_after_eval.majority_class,
        f"{record.probe_task} probe after {probe_run.job.name}",
    )

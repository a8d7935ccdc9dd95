"""Forgetting of pre-trained knowledge (suites/knowledge.yaml): frozen-feature linear probes (a task
the model was not trained on; word content) before vs after fine-tuning, for every single-task approach
and every multi-task model. The "before" score is one job per probe, model and seed, shared by all."""

import pytest

pytestmark = pytest.mark.forgetting


def test_probe_scores_before_and_after(probe_run):
    record = probe_run.record
    assert 0.0 <= record["probe_before"] <= 1.0 and 0.0 <= record["probe_after"] <= 1.0
    assert abs(record["knowledge_lost"] - (record["probe_before"] - record["probe_after"])) < 1e-12
    assert record["probe_examples"]["eval"] > 0

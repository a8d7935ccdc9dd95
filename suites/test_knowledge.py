"""Forgetting of pre-trained knowledge (suites/knowledge.yaml): frozen-feature linear probes (a task
the model was not trained on; word order) before vs after fine-tuning, for every single-task approach
and every multi-task model."""

import pytest

pytestmark = pytest.mark.forgetting


def test_probe_scores_before_and_after(probe_run):
    record = probe_run.record
    assert 0.0 <= record["probe_before"] <= 1.0 and 0.0 <= record["probe_after"] <= 1.0
    assert abs(record["knowledge_lost"] - (record["probe_before"] - record["probe_after"])) < 1e-12
    assert record["probe_examples"]["eval"] > 0


def test_probe_of_the_pretrained_encoder_does_not_depend_on_the_approach(probe_run, harness):
    """Every approach starts from the same encoder, so its 'before' probe must agree with the others'."""
    record = probe_run.record
    others = [r for r in harness.store.records() if r.get("kind") == "probe" and r["status"] == "ok"
              and r["task"] == record["task"] and r["probe_task"] == record["probe_task"] and r["model"] == record["model"]
              and r["profile"] == record["profile"] and r["data_source"] == record["data_source"]]
    assert all(abs(r["probe_before"] - record["probe_before"]) < 1e-6 for r in others)

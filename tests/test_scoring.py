"""Metrics through `evaluate`, from the modules shipped in harness/metrics/: offline, and the same numbers
as scikit-learn's on the same predictions."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from harness.errors import SpecError
from harness.specs.catalog import load_tasks
from harness.training.scoring import compute_metrics, metric_module


def test_shipped_metrics_load_offline_and_equal_scikit_learn(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rng = np.random.default_rng(0)
    labels, predictions = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    metrics = load_tasks().specs["rte"].metrics
    assert [m.name for m in metrics] == ["accuracy", "f1", "matthews_correlation"]
    assert compute_metrics(metrics, labels, predictions) == pytest.approx(
        {
            "accuracy": accuracy_score(labels, predictions),
            "f1": f1_score(labels, predictions, average="macro"),
            "matthews_correlation": matthews_corrcoef(labels, predictions),
        },
        abs=1e-12,
    )


def test_a_metric_neither_shipped_nor_on_a_reachable_hub_is_a_spec_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SpecError, match="metric 'no_such_metric': not in harness/metrics/"):
        metric_module("no_such_metric")

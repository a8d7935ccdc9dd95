"""Accuracy: the share of predictions equal to their reference label."""

import evaluate
from sklearn.metrics import accuracy_score

from harness.metrics import class_id_metric_info


class Accuracy(evaluate.Metric):
    def _info(self):
        return class_id_metric_info("Share of predictions equal to the reference label.")

    def _compute(self, predictions, references):
        return {"accuracy": float(accuracy_score(references, predictions))}

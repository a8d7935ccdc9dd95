"""F1 score (scikit-learn's), averaged as the task asks: `macro` by default (the mean over classes,
defined alike for two and three classes), or `binary` (the positive label 1), `micro`, `weighted`."""

import evaluate
from sklearn.metrics import f1_score

from harness.metrics import class_id_metric_info


class F1(evaluate.Metric):
    def _info(self):
        return class_id_metric_info(
            "Harmonic mean of precision and recall.", "average: macro (default), binary, micro or weighted"
        )

    def _compute(self, predictions, references, average="macro"):
        return {"f1": float(f1_score(references, predictions, average=average))}

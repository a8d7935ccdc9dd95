"""F1 score (scikit-learn's), averaged as the task asks: `macro` by default (the mean over classes,
defined alike for two and three classes), or `binary` (the positive label 1), `micro`, `weighted`."""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Harmonic mean of precision and recall.",
            citation="",
            inputs_description="predictions, references: class ids; average: macro (default), binary, micro or weighted",
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, average="macro"):
        return {"f1": float(f1_score(references, predictions, average=average))}

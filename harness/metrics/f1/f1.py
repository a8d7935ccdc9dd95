"""F1 score (scikit-learn's), averaged as the task asks: `average: binary` (the positive label 1),
`macro` (the mean over classes, defined alike for two and three classes), `micro` or `weighted`."""

import datasets
import evaluate
from sklearn.metrics import f1_score


class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description="Harmonic mean of precision and recall.",
            citation="",
            inputs_description="predictions, references: class ids; average: binary, macro, micro or weighted",
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, average="binary"):
        return {"f1": float(f1_score(references, predictions, average=average))}

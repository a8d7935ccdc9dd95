"""Matthews correlation coefficient: the correlation between predicted and reference labels, from -1 to 1,
0 for a constant or random predictor whatever the class balance."""

import evaluate
from sklearn.metrics import matthews_corrcoef

from harness.metrics import class_id_metric_info


class MatthewsCorrelation(evaluate.Metric):
    def _info(self):
        return class_id_metric_info("Matthews correlation coefficient.")

    def _compute(self, predictions, references):
        return {"matthews_correlation": float(matthews_corrcoef(references, predictions))}

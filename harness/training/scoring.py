"""Scoring: batched, no-grad, length-sorted prediction and the task's metrics through `evaluate`, whose
modules load by path from harness/metrics/ (offline), or from the hub for a name not there."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np
import torch

from harness.data import length_sorted_batches
from harness.errors import SpecError
from harness.results import encode_ids
from harness.results.record import EvaluationRecord
from harness.specs import METRICS_DIR, MetricSpec, TaskSpec


@functools.cache
def metric_module(name: str):
    """The `evaluate` module of a metric, loaded once per process: by path where the project ships it."""
    import evaluate

    local = METRICS_DIR / name
    try:
        return evaluate.load(str(local) if (local / f"{name}.py").is_file() else name, keep_in_memory=True)
    except Exception as exc:  # evaluate raises whatever its hub look-up met: say which metric, once
        raise SpecError(f"metric '{name}': not in harness/metrics/ and not loadable from the hub ({exc})") from exc


def compute_metrics(metrics: list[MetricSpec], labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Each metric under its name. One module at a time, not `evaluate.combine`: combine passes no
    per-metric arguments (f1's `average`)."""
    return {
        metric.name: float(
            metric_module(metric.name).compute(predictions=predictions, references=labels, **metric.arguments)[
                metric.name
            ]
        )
        for metric in metrics
    }


@dataclass
class Evaluation:
    metrics: dict[str, float]
    majority_class: int  # the training split's most frequent label
    majority_rate: float  # accuracy of always answering it
    examples: int
    seconds: float
    predictions: np.ndarray
    labels: np.ndarray

    @property
    def samples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0

    def summary(self) -> EvaluationRecord:
        """What a record keeps of an evaluation: metrics and, compactly, every prediction and label, so
        that intervals and paired tests can be computed afterwards (harness.stats)."""
        return EvaluationRecord(
            metrics=self.metrics,
            majority_class=self.majority_class,
            majority_rate=self.majority_rate,
            examples=self.examples,
            predictions=encode_ids(self.predictions),
            labels=encode_ids(self.labels),
        )


@torch.no_grad()
def predict(model, dataset, tokenizer, batch_size: int, device) -> np.ndarray:
    """Class ids in dataset order."""
    model.eval()
    predictions = np.empty(len(dataset), dtype=np.int64)
    for indices, batch in length_sorted_batches(dataset, tokenizer, batch_size, device):
        predictions[indices] = model(**batch).logits.argmax(dim=-1).cpu().numpy()
    return predictions


def score(model, dataset, tokenizer, task: TaskSpec, batch_size: int, device, majority_class: int) -> Evaluation:
    """Scores `model` on `dataset`; `majority_class` is the training split's most frequent label."""
    started = time.perf_counter()
    predictions = predict(model, dataset, tokenizer, batch_size, device)
    seconds = time.perf_counter() - started
    return scored(task, np.asarray(dataset["labels"]), predictions, majority_class, seconds)


def scored(
    task: TaskSpec, labels: np.ndarray, predictions: np.ndarray, majority_class: int, seconds: float = 0.0
) -> Evaluation:
    return Evaluation(
        metrics=compute_metrics(task.metrics, labels, predictions),
        majority_class=majority_class,
        majority_rate=float(np.mean(labels == majority_class)),
        examples=len(labels),
        seconds=seconds,
        predictions=predictions,
        labels=labels,
    )

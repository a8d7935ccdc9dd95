"""Hand-made records for tests, built the way the store reads them (harness.results.record.parse_record)."""

import numpy as np

from harness.kinds import kinds
from harness.results import encode_ids
from harness.results.record import EvaluationRecord, Record, parse_record

kinds()  # imports every kind's module, which registers its record type

ENVELOPE = dict(
    config_hash="h0",
    config={},
    status="ok",
    task="sst2",
    approach="full",
    model="minilm",
    profile="quick",
    seed=0,
    data_source="mirror /data",
)


def make_record(**fields) -> Record:
    """A record of `fields`' kind (single-task by default), the envelope's required fields filled in."""
    return parse_record(ENVELOPE | fields)


def make_evaluation(predictions, labels, majority_class: int = 0) -> EvaluationRecord:
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    return EvaluationRecord(
        examples=len(labels),
        metrics={"accuracy": float(np.mean(predictions == labels))},
        majority_class=majority_class,
        majority_rate=float(np.mean(labels == majority_class)),
        predictions=encode_ids(predictions),
        labels=encode_ids(labels),
    )

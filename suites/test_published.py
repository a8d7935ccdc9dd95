"""Published-number gates (suites/published.yaml, harness.kinds.references): full fine-tuning of a named model
at the full profile reproduces the accuracy its source published, within two standard errors of the
difference (this run's seeds and evaluation examples, and the source's runs where it states their spread)."""

import pytest

from harness.kinds import references
from harness.results import checks


def test_full_fine_tuning_reproduces_the_published_accuracy(reference_job, harness):
    gate = reference_job
    records = [harness.require(job).record for job in gate.jobs]
    if reason := references.other_splits(gate.task, records):
        pytest.skip(f"{gate.name}: {reason}")
    checks.near_reference(
        [record.eval for record in records],
        records[0].majority_class,
        gate.accuracy,
        gate.source_standard_error,
        f"{gate.task.name} {gate.suite.approach} on {gate.reference.model} vs {gate.reference.source}",
    )

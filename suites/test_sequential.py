"""Sequential fine-tuning (suites/sequential.yaml): each chain trains its tasks in order on one
encoder; the accuracy matrix after every stage gives forgetting, backward transfer and transfer gain."""

import math

import pytest

from harness.results import checks

pytestmark = pytest.mark.forgetting


def test_accuracy_matrix_is_complete(sequential_run):
    record = sequential_run.record
    matrix, chain = record.accuracy_matrix, record.chain
    assert len(matrix) == len(chain) and all(len(row) == len(chain) for row in matrix)
    assert set(record.forgetting) == set(chain[:-1])
    assert math.isfinite(record.average_forgetting) and math.isfinite(record.backward_transfer)


def test_every_stage_learns_its_task(sequential_run, harness):
    record = sequential_run.record
    claimed = [
        (stage, task)
        for stage, task in enumerate(record.chain)
        if harness.profile.claims_learning(f"sequential/{task}", record.approach)
    ]
    if not claimed:
        pytest.skip(
            f"profile '{harness.profile.name}' claims no sequential/<task> of the chain learns under "
            f"{record.approach} (field 'learns')"
        )
    for stage, task in claimed:
        evaluation = record.stages[stage].evaluations[task]
        checks.beats_majority(
            evaluation, evaluation.majority_class, f"{sequential_run.job.name}: stage {stage + 1} ({task})"
        )


def test_training_memory_measured_by_component(sequential_run):
    for stage in sequential_run.record.stages:
        checks.memory_by_component(stage, f"{sequential_run.job.name}: stage {stage.task}")

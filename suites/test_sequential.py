"""Sequential fine-tuning (suites/sequential.yaml): each chain trains its tasks in order on one
encoder; the accuracy matrix after every stage gives forgetting, backward transfer and transfer gain."""

import math

import pytest

pytestmark = pytest.mark.forgetting


def test_accuracy_matrix_is_complete(sequential_run):
    record = sequential_run.record
    matrix, chain = record["accuracy_matrix"], record["chain"]
    assert len(matrix) == len(chain) and all(len(row) == len(chain) for row in matrix)
    assert all(0.0 <= value <= 1.0 for row in matrix for value in row)
    assert set(record["forgetting"]) == set(chain[:-1])
    assert math.isfinite(record["average_forgetting"]) and math.isfinite(record["backward_transfer"])


def test_every_stage_learns_its_task(sequential_run, harness):
    record = sequential_run.record
    for stage, task in enumerate(record["chain"]):
        evaluation = record["stages"][stage]["evaluations"][task]
        required = evaluation["majority_rate"] + harness.profile.gain_required(task)
        assert evaluation["metrics"]["accuracy"] >= required, (
            f"stage {stage + 1} ({task}): accuracy {evaluation['metrics']['accuracy']:.3f} < majority-class rate "
            f"{evaluation['majority_rate']:.3f} + {harness.profile.gain_required(task)} required by profile '{harness.profile.name}'"
        )

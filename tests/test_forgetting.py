"""Forgetting and transfer metrics on hand-made accuracy matrices with known answers, and a tiny
chain that produces a complete matrix."""

import pytest

from harness.results.forgetting import average_forgetting, backward_transfer, forgetting


def test_two_stage_chain():
    matrix = [[0.80, 0.50], [0.70, 0.65]]
    assert forgetting(matrix) == pytest.approx([0.10])
    assert average_forgetting(matrix) == pytest.approx(0.10)
    assert backward_transfer(matrix) == pytest.approx(-0.10)


def test_forgetting_is_measured_from_the_best_earlier_accuracy():
    matrix = [
        [0.60, 0.40, 0.30],
        [0.75, 0.80, 0.35],  # learning task 1 helped task 0 (positive backward transfer so far)
        [0.65, 0.70, 0.90],
    ]
    assert forgetting(matrix) == pytest.approx([0.10, 0.10])  # task 0 from its best (0.75), task 1 from 0.80
    assert backward_transfer(matrix) == pytest.approx(((0.65 - 0.60) + (0.70 - 0.80)) / 2)


def test_no_forgetting_when_nothing_is_lost():
    matrix = [[0.7, 0.5], [0.72, 0.8]]
    assert forgetting(matrix) == pytest.approx([-0.02]) and backward_transfer(matrix) == pytest.approx(0.02)


def test_tiny_chain_produces_a_complete_matrix(mirror, tmp_path):
    from harness.engine import run
    from harness.kinds.sequential import load_sequential_suite, sequential_jobs
    from harness.models import resolve_model
    from harness.results import ResultStore
    from harness.specs.catalog import load_approaches, load_profile, load_tasks

    path = tmp_path / "chain.yaml"
    path.write_text("kind: sequential\nname: chain\nchains: [[sst2, rte, mnli]]\napproaches: [houlsby]\n")
    tasks, approaches = load_tasks().specs, load_approaches().specs
    suite = load_sequential_suite(path, tasks, approaches)
    profile = load_profile("tiny").model_copy(update={"train_examples": 48, "eval_examples": 32, "task_overrides": {}})
    (job,) = sequential_jobs(suite, tasks, approaches, resolve_model("tiny-bert"), profile, [0], mirror)
    (record,) = run([job], ResultStore(tmp_path / "store"))
    assert record.status == "ok", record.failure
    assert len(record.accuracy_matrix) == 3 and all(len(row) == 3 for row in record.accuracy_matrix)
    assert record.forgetting == dict(zip(["sst2", "rte"], forgetting(record.accuracy_matrix)))
    assert [stage.task for stage in record.stages] == ["sst2", "rte", "mnli"]
    assert record.stages[0].split_spec == "train=train eval=validation"


@pytest.mark.parametrize(
    "chain, message", [("[[sst2]]", "two or more different tasks"), ("[[sst2, imdb]]", "untrainable task imdb")]
)
def test_chain_errors_name_the_field(tmp_path, chain, message):
    from harness.errors import SpecError
    from harness.kinds.sequential import load_sequential_suite
    from harness.specs.catalog import load_approaches, load_tasks

    path = tmp_path / "chain.yaml"
    path.write_text(f"kind: sequential\nname: chain\nchains: {chain}\napproaches: [full]\n")
    with pytest.raises(SpecError, match=rf"field 'chains.0': .*{message}"):
        load_sequential_suite(path, load_tasks().specs, load_approaches().specs)

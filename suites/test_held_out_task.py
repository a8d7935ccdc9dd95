"""Generalization to a held-out task (suites/held-out-task.yaml): the task fine-tuned on a few examples from the
pre-trained encoder, a multi-task encoder of the other tasks and another task's single-task encoder."""

from harness.results import checks


def test_held_out_task_learned_from_each_start(held_out_run, harness):
    record = held_out_run.record
    checks.require_claim(harness.profile, f"held-out-task/{record.task}", record.approach)
    checks.beats_majority(record.eval, record.majority_class, f"{held_out_run.job.name}")


def test_start_trained_without_the_held_out_task(held_out_run, harness):
    """The start's record is a stored, successful run that never saw the held-out task, and the fine-tuning drew
    the suite's few examples (the same for every start: the comparison is at an equal budget)."""
    job, record = held_out_run.job, held_out_run.record
    assert record.train_examples == job.suite.examples
    if job.start is None:
        return
    start = harness.require(job.start).record
    assert start.ok and record.config["start"] == start.config_hash
    trained_on = start.tasks if start.kind == "held-out-mixture" else [start.task]
    assert record.task not in trained_on, f"{job.name}: its start trained on {trained_on}"

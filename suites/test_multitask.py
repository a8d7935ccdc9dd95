"""Multi-task fine-tuning (suites/multitask.yaml): every sampler × approach trains one model on all
the suite's tasks; each task is scored on its own split and compared with its single-task model."""

import pytest

from harness.results import checks


def test_every_task_learned_where_the_profile_claims_it(multitask_run, harness):
    record = multitask_run.record
    claimed = [task for task in record.tasks if harness.profile.claims_learning(f"multitask/{task}", record.approach)]
    if not claimed:
        pytest.skip(
            f"profile '{harness.profile.name}' claims no multitask/<task> learns under {record.approach} (field "
            f"'learns')"
        )
    for task in claimed:
        result = record.per_task[task]
        checks.beats_majority(result, result.majority_class, f"{multitask_run.job.name}: {task}")


def test_sampler_drew_every_task_and_every_step(multitask_run):
    record = multitask_run.record
    counts = record.sampled_batches
    assert sum(counts.values()) == record.train_steps > 0
    assert set(counts) == set(record.tasks) and min(counts.values()) > 0, counts


def test_out_of_domain_scored_for_tasks_that_declare_it(multitask_run, harness):
    record = multitask_run.record
    expected = {f"{t}→{target}" for t in record.tasks for target in harness.tasks[t].ood_eval}
    assert set(record.ood) == expected


def test_training_memory_measured_by_component(multitask_run):
    checks.memory_by_component(multitask_run.record, multitask_run.job.name)

"""Multi-task fine-tuning (suites/multitask.yaml): every sampler × approach trains one model on all
the suite's tasks; each task is scored on its own split and compared with its single-task model."""


def test_every_task_scored_above_the_profile_floor(multitask_run, harness):
    record = multitask_run.record
    for task in record["tasks"]:
        result = record["per_task"][task]
        required = result["majority_rate"] + harness.profile.gain_required(task)
        assert result["metrics"]["accuracy"] >= required, (
            f"{task}: accuracy {result['metrics']['accuracy']:.3f} < majority-class rate {result['majority_rate']:.3f} "
            f"+ {harness.profile.gain_required(task)} required by profile '{harness.profile.name}'"
        )


def test_sampler_drew_every_task_and_every_step(multitask_run):
    record = multitask_run.record
    counts = record["sampled_batches"]
    assert sum(counts.values()) == record["train_steps"] > 0
    assert set(counts) == set(record["tasks"]) and min(counts.values()) > 0, counts


def test_out_of_domain_scored_for_tasks_that_declare_it(multitask_run, harness):
    record = multitask_run.record
    expected = {f"{t}→{target}" for t in record["tasks"] for target in harness.tasks[t].ood_eval}
    assert set(record["ood"]) == expected

"""Learning curves (suites/learning-curve.yaml): every point trained on exactly its number of examples and scored on
the single-task evaluation examples, so points and single-task cells compare pairwise; each beats the majority class
where the profile claims `learning-curve/<task>`. A mixture's points: every task of the multi-task model trained on the
same number of examples, each scored on its single-task evaluation examples."""

import pytest

from harness.results import checks


@pytest.mark.harness_jobs()  # the single-task points (harness.kinds.learning_curve.select_points)
def test_each_point_trains_on_its_size_and_is_scored_on_the_single_task_examples(learning_curve_run, harness):
    record, job = learning_curve_run.record, learning_curve_run.job
    assert record.train_examples == job.examples and record.variant == f"{job.examples} examples"
    assert record.eval.examples == min(harness.profile.eval_examples_for(record.task) or 10**9, record.eval.examples)
    assert record.config["suite"] == job.suite_name and record.dev_examples == job.profile.dev_examples_for(record.task)


@pytest.mark.harness_jobs(mixtures=True)
def test_each_mixture_trains_every_task_on_its_size(learning_curve_run, harness):
    record, job = learning_curve_run.record, learning_curve_run.job
    assert record.kind == "learning-curve-mixture" and record.tasks == [task.name for task in job.tasks]
    for task in job.tasks:
        scored = record.per_task[task.name]
        assert scored.train_examples == job.examples, f"{job.name}: {task.name} trained on {scored.train_examples}"
        assert scored.examples == min(harness.profile.eval_examples_for(task.name) or 10**9, scored.examples)
    assert record.train_steps == sum(record.single_task_steps.values()), "a mixture point trains the summed steps"


def check_point_learns(learning_curve_run, harness) -> None:
    """Every claimed task of a point (a single-task point's task, or each task of a mixture point) beats the
    majority class by 2 standard errors."""
    record = learning_curve_run.record
    scored = record.per_task if record.kind == "learning-curve-mixture" else {record.task: record.eval}
    claimed = [task for task in scored if harness.profile.claims_learning(f"learning-curve/{task}", record.approach)]
    if not claimed:
        pytest.skip(f"profile '{harness.profile.name}' claims no learning-curve/<task> learns (field 'learns')")
    for task in claimed:
        majority = scored[task].majority_class if record.kind == "learning-curve-mixture" else record.majority_class
        checks.beats_majority(scored[task], majority, f"{learning_curve_run.job.name}: {task}")


@pytest.mark.harness_jobs()
def test_each_point_learns_where_the_profile_claims_it(learning_curve_run, harness):
    check_point_learns(learning_curve_run, harness)


@pytest.mark.harness_jobs(mixtures=True)
def test_each_mixture_point_learns_where_the_profile_claims_it(learning_curve_run, harness):
    check_point_learns(learning_curve_run, harness)

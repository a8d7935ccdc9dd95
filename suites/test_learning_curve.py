"""Learning curves (suites/learning-curve.yaml): every point trained on exactly its number of examples and scored on
the single-task evaluation examples, so points and single-task cells compare pairwise. Accuracy claims stay with the
single-task suite, at the profile's own budget."""


def test_each_point_trains_on_its_size_and_is_scored_on_the_single_task_examples(learning_curve_run, harness):
    record, job = learning_curve_run.record, learning_curve_run.job
    assert record.train_examples == job.examples and record.variant == f"{job.examples} examples"
    assert record.eval.examples == min(harness.profile.eval_examples_for(record.task) or 10**9, record.eval.examples)
    assert record.config["suite"] == job.suite_name and record.dev_examples == job.profile.dev_examples_for(record.task)

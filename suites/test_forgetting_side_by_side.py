"""Forgetting, sequential against multi-task side by side (suites/forgetting.yaml, harness.kinds.forgetting): the
chain and the mixture train the same two tasks for the same total steps and are scored on the same examples."""


def test_chain_and_mixture_train_equal_steps_and_are_scored_alike(forgetting_job, harness):
    chain, mixture = harness.require(forgetting_job.chain).record, harness.require(forgetting_job.mixture).record
    assert mixture.train_steps == sum(stage.train_steps for stage in chain.stages)
    assert set(mixture.tasks) == set(chain.chain) and mixture.approach == chain.approach
    for task in chain.chain:
        assert mixture.per_task[task].labels == chain.stages[-1].evaluations[task].labels

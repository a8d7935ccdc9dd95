"""Forgetting, sequential against multi-task side by side (suites/forgetting.yaml, harness.kinds.forgetting): the
chain and the mixture train the same two tasks for the same total steps and are scored on the same examples. Where the
profile claims `forgetting/<task>`, the mixture learns that task and so does the chain if it ends with it (what the
chain keeps of its first task is the measurement, not a claim)."""

import pytest

from harness.results import checks


def test_chain_and_mixture_train_equal_steps_and_are_scored_alike(forgetting_job, harness):
    chain, mixture = harness.require(forgetting_job.chain).record, harness.require(forgetting_job.mixture).record
    assert mixture.train_steps == sum(stage.train_steps for stage in chain.stages)
    assert set(mixture.tasks) == set(chain.chain) and mixture.approach == chain.approach
    for task in chain.chain:
        assert mixture.per_task[task].labels == chain.stages[-1].evaluations[task].labels


def test_chain_and_mixture_learn_where_the_profile_claims_it(forgetting_job, harness):
    chain, mixture = harness.require(forgetting_job.chain).record, harness.require(forgetting_job.mixture).record
    claimed = [task for task in chain.chain if harness.profile.claims_learning(f"forgetting/{task}", chain.approach)]
    if not claimed:
        pytest.skip(f"profile '{harness.profile.name}' claims no forgetting/<task> learns (field 'learns')")
    for task in claimed:
        scored = mixture.per_task[task]
        checks.beats_majority(scored, scored.majority_class, f"{forgetting_job.name} mixture: {task}")
    last = chain.chain[-1]
    if last in claimed:
        scored = chain.stages[-1].evaluations[last]
        checks.beats_majority(scored, scored.majority_class, f"{forgetting_job.name} chain: {last}")

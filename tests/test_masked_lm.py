"""Continued pre-training's MLM stage: its step projects only the masked positions onto the vocabulary; its stop rule;
one stage shared by every approach."""

import datasets
import pytest
import torch
from transformers import DataCollatorForLanguageModeling

from harness.data import DataSource
from harness.jobs import Job
from harness.kinds.pretraining import (
    StopWhenStalled,
    load_masked_lm,
    load_pretraining_suite,
    masked_positions_only,
    pretraining_jobs,
)
from harness.models import load_tokenizer, resolve_model
from harness.specs import SUITES_DIR, TrainingSettings
from harness.specs.catalog import load_approaches, load_profile, load_tasks
from harness.training.loop import TaskBatches

SETTINGS = TrainingSettings(epochs=5, batch_size=2, learning_rate=1e-3)


@pytest.mark.parametrize("model_name", ["tiny-bert", "tiny-distilbert"])
def test_masked_positions_only_gives_the_same_loss_and_gives_the_model_back_whole(model_name):
    ref = resolve_model(model_name)
    tokenizer = load_tokenizer(ref)
    model, _ = load_masked_lm(ref, seed=0)
    model.eval()  # no dropout: the two losses must match exactly
    texts = ["a film of rare beauty and some length", "the plot is thin but the acting is fine indeed"]
    torch.manual_seed(0)
    batch = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3)([tokenizer(t) for t in texts])
    expected = model(**batch).loss
    training = masked_positions_only(model)
    loss = training(**batch).loss
    assert torch.isclose(loss, expected, rtol=1e-5)
    loss.backward()
    restored = training.restored()
    assert restored is model and isinstance(restored.get_output_embeddings(), torch.nn.Linear)
    assert restored.get_output_embeddings().weight is restored.get_input_embeddings().weight  # still tied
    assert restored.get_input_embeddings().weight.grad is not None
    assert torch.isclose(restored(**batch).loss, expected, rtol=1e-5)


def test_stop_rule_ends_training_after_the_first_epoch_that_stalls():
    """TaskBatches' `stop_after` hook: the held-out loss is measured before training and after each epoch; the
    third epoch lowers it by under 1 %, so the fourth and fifth never run."""
    losses = iter([10.0, 6.0, 5.0, 4.96, 4.0, 3.0])
    rule = StopWhenStalled(lambda: next(losses), min_improvement=0.01, epochs=5)
    rows = datasets.Dataset.from_dict({"input_ids": [[101, 7, 102]] * 4, "length": [3] * 4, "labels": [0] * 4})
    batches = TaskBatches(rows, load_tokenizer(resolve_model("tiny-bert")), SETTINGS, 0, stop_after=rule)
    assert len(list(batches)) == 3 * 2  # three epochs of two batches
    assert rule.losses == [10.0, 6.0, 5.0, 4.96]
    assert rule.stopped.startswith("stop rule after epoch 3")


def test_stop_rule_says_when_every_epoch_ran():
    losses = iter([10.0, 6.0, 5.0])
    rule = StopWhenStalled(lambda: next(losses), min_improvement=0.01, epochs=2)
    assert not rule(1) and not rule(2)
    assert rule.stopped == "the 2 epochs allowed"


def test_one_mlm_stage_serves_every_approach_at_a_seed():
    """The stage's identity holds nothing of an approach: full and LoRA fine-tune the same adapted encoder (one job in
    the plan, trained once), while each seed has its own."""
    tasks, approaches = load_tasks().specs, load_approaches().specs
    suite = load_pretraining_suite(SUITES_DIR / "pretraining.yaml", tasks, approaches)
    profile = load_profile("quick")
    fine_tuning = [
        Job(
            task=tasks["sst2"],
            ood_tasks=(),
            approach=approaches[name],
            model=resolve_model("minilm"),
            profile=profile,
            seed=seed,
            source=DataSource(),
        )
        for name in ("full", "lora")
        for seed in (0, 1)
    ]
    jobs = pretraining_jobs(suite, fine_tuning, tasks)
    stages = {job.stage.name: job.stage.config_hash for job in jobs}
    assert len(jobs) == 4 and len(stages) == 2 and len(set(stages.values())) == 2
    assert all(job.dependencies() == (job.stage,) for job in jobs)
    assert len({job.config_hash for job in jobs}) == 4

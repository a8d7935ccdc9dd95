"""Timing passes, measured with pytest-benchmark, one job at a time: the prediction latency of one fixed batch for
each trained model restored from the store (no retraining), for the plain pre-trained classifier of the same
task measured right before it, and for LoRA's merged model; and each approach's training step (the loop's own,
harness.training.loop.TrainingStep) on a fixed reference batch of its task. One seed per task: the network, not the
seed, sets the cost. pytest-benchmark turns itself off under xdist, so this is a pass of its own, after
training, where the in-run times are taken while workers share the cores. Its JSON is merged into the results
store (harness.report.inference.INFERENCE_FILE), where the leaderboard's speed columns read it:

    pytest suites/test_inference.py -p no:xdist --data-dir ../shared/data --benchmark-json=inference.json
"""

import math

import pytest
import torch
from transformers import BatchEncoding

from harness.approaches import method_of
from harness.data import length_sorted_batches, reference_batch
from harness.jobs import load_task_data
from harness.models import build_classifier, load_tokenizer
from harness.models.heads import HeadOnFeatures, pooled_features
from harness.training import checkpoints
from harness.training.loop import TrainingStep, default_device, make_accelerator

pytestmark = pytest.mark.inference

INFERENCE_EXAMPLES = 64  # the first examples of the eval split: one batch, as one served request
ROUNDS, WARMUP_ROUNDS = 15, 3
STEP_ROUNDS, STEP_WARMUP_ROUNDS = 10, 3


def served_model(single_task_run, variant: str):
    """The network a variant times: the plain classifier, the trained model, or LoRA's merged model."""
    job = single_task_run.job
    if variant == "plain":
        return build_classifier(job.model, job.task.num_labels, job.task.label_names, job.seed)
    model = checkpoints.restore(job, single_task_run.run_dir)
    return model.merge_and_unload() if variant == "merged" else model


@pytest.mark.harness_jobs(first_seed=True)
@pytest.mark.parametrize("variant", ["plain", "trained", "merged"])
def test_inference_latency(variant, single_task_run, benchmark):
    job = single_task_run.job
    if variant == "merged" and method_of(job.approach)[0].name != "lora":
        pytest.skip(f"{job.approach.name}: no merged form (LoRA only)")
    device = default_device()
    model = served_model(single_task_run, variant).to(device).eval()
    tokenizer = load_tokenizer(job.model)
    eval_set = load_task_data(job, job.task, tokenizer, train=False).eval_set
    examples = eval_set.select(range(min(INFERENCE_EXAMPLES, len(eval_set))))
    ((_, batch),) = length_sorted_batches(examples, tokenizer, len(examples), device)

    def predict():
        with torch.no_grad():
            predictions = model(**batch).logits.argmax(dim=-1)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return predictions

    benchmark.extra_info.update(
        task=job.task.name,
        approach=job.approach.name,
        variant=variant,
        seed=job.seed,
        examples=len(examples),
        device=str(device),
        config_hash=single_task_run.record.config_hash,
    )
    predictions = benchmark.pedantic(predict, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    assert predictions.shape == (len(examples),)


@pytest.mark.harness_jobs(first_seed=True)
def test_training_step(single_task_run, benchmark):
    """The approach's training step as its job ran it (a head on cached features where the encoder is frozen), on
    the task's reference batch (the first `batch_size` training examples padded to `max_length`), warm-up rounds
    first; the board's train-step column is its median [interquartile range], samples/s derived from it."""
    job = single_task_run.job
    accelerator = make_accelerator(job.training)
    tokenizer = load_tokenizer(job.model)
    train_set = load_task_data(job, job.task, tokenizer).train_set
    size = min(job.training.batch_size, len(train_set))
    batch = reference_batch(train_set, tokenizer, size, job.max_length(job.task))
    _, model, arch = checkpoints.build_model(job, job.task.num_labels, job.task.label_names)
    model = model.to(accelerator.device)
    if job.on_cached_features:
        with accelerator.autocast():
            features = pooled_features(
                model, train_set.select(range(size)), tokenizer, size, accelerator.device, job.model.pooling
            )
        batch = BatchEncoding({"features": torch.from_numpy(features), "labels": batch["labels"]})
        model = HeadOnFeatures(model)
    step = TrainingStep(model, job.training, accelerator, total_steps=10**6, is_head=arch.is_head)

    def train_step():
        loss = step(batch)
        if accelerator.device.type == "cuda":
            torch.cuda.synchronize()
        return loss

    benchmark.extra_info.update(
        task=job.task.name,
        approach=job.approach.name,
        variant="train-step",
        seed=job.seed,
        examples=size,
        tokens=int(batch["input_ids"].shape[1]) if "input_ids" in batch else None,
        device=str(accelerator.device),
        precision=job.training.precision,
        config_hash=single_task_run.record.config_hash,
    )
    loss = benchmark.pedantic(train_step, rounds=STEP_ROUNDS, warmup_rounds=STEP_WARMUP_ROUNDS, iterations=1)
    assert math.isfinite(loss), f"the step's loss is {loss}"

"""Inference cost, measured with pytest-benchmark: the prediction latency of one fixed batch for each
trained model restored from the store (no retraining), for the plain pre-trained classifier of the same
task measured right before it, and for LoRA's merged model. One seed per task: the network, not the
seed, sets the cost. pytest-benchmark turns itself off under xdist, so this is a pass of its own, after
training. Its JSON is merged into the results store (harness.report.inference.INFERENCE_FILE), where the
leaderboard's inference columns read it:

    pytest suites/test_inference.py -p no:xdist --data-dir ../shared/data --benchmark-json=inference.json
"""

import pytest
import torch

from harness.approaches import method_of
from harness.data import length_sorted_batches
from harness.jobs import load_task_data
from harness.models import build_classifier, load_tokenizer
from harness.training import checkpoints
from harness.training.loop import default_device

pytestmark = pytest.mark.inference

INFERENCE_EXAMPLES = 64  # the first examples of the eval split: one batch, as one served request
ROUNDS, WARMUP_ROUNDS = 15, 3


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

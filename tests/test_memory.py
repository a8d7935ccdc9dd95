"""Training memory by component (harness.training.memory.training_memory): measured from the tensors, so it shows
what each approach is for — LoRA's gradients and optimizer state are a sliver of full fine-tuning's, a frozen
encoder saves no activations for backward — where a process's peak RSS drowns it in allocator noise."""

import pytest

from harness import jobs
from harness.engine import run
from harness.models import resolve_model
from harness.results import ResultStore
from harness.specs.catalog import load_approaches, load_profile


@pytest.fixture
def memory_by_approach(tmp_path, mirror, sst2_spec):
    profile = load_profile("tiny").model_copy(
        update={"train_examples": 64, "eval_examples": 16, "dev_examples": 16, "task_overrides": {}}
    )
    approaches = load_approaches().specs
    batch = [
        jobs.Job(
            task=sst2_spec,
            ood_tasks=(),
            approach=approaches[name],
            model=resolve_model("tiny-bert"),
            profile=profile,
            seed=0,
            source=mirror,
        )
        for name in ("full", "lora", "head-only")
    ]
    records = run(batch, ResultStore(tmp_path))
    assert all(r.ok for r in records), [r.failure for r in records]
    return {job.approach.name: record.training_memory for job, record in zip(batch, records)}


def test_components_add_up_and_show_what_each_approach_saves(memory_by_approach):
    for memory in memory_by_approach.values():
        parts = sum(memory.weights.values()) + memory.gradients + memory.optimizer_state + memory.activations
        assert memory.total == parts and memory.reference_batch.endswith(" tokens")
        assert memory.weights["float32"] > 0
    full, lora = memory_by_approach["full"], memory_by_approach["lora"]
    assert lora.gradients + lora.optimizer_state < 0.02 * (full.gradients + full.optimizer_state)
    assert 0 <= full.optimizer_state - 2 * full.gradients < 4096  # AdamW: two moments a parameter, and step counts
    assert lora.total < full.total
    assert memory_by_approach["head-only"].activations < 0.05 * memory_by_approach["full"].activations


def test_measuring_saved_activations_keeps_none_of_them_alive():
    """A worker measures every job's activations: a forward whose graph outlived it cost 915 MiB a MiniLM job."""
    import contextlib
    import gc

    import torch
    import transformers

    from harness.training.memory import saved_activation_bytes

    config = transformers.BertConfig(
        vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
    )
    model, batch = transformers.BertModel(config), {"input_ids": torch.randint(0, 100, (4, 8))}

    def tensors_alive() -> int:
        gc.collect()
        return sum(type(o) is torch.Tensor for o in gc.get_objects())

    before = tensors_alive()
    assert saved_activation_bytes(model, batch, contextlib.nullcontext()) > 0
    assert tensors_alive() == before

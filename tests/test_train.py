"""The one training loop on tiny BERT and tiny DistilBERT: it learns, repeats itself under a seed,
and stops on a NaN loss; evaluation keeps dataset order despite length sorting."""

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from harness.data import load_examples, tokenize
from harness.errors import TrainingDiverged
from harness.models import build_classifier, load_tokenizer, resolve_model
from harness.specs import TrainingSettings
from harness.training.loop import TaskBatches, make_accelerator, train
from harness.training.scoring import predict, score

SETTINGS = TrainingSettings(epochs=4, batch_size=16, learning_rate=3e-3)


@pytest.fixture(scope="module", params=["tiny-bert", "tiny-distilbert"])
def model_ref(request):
    return resolve_model(request.param)


@pytest.fixture
def keyword_task(sst2_spec, model_ref):
    """Real SST-2 text where the label is whether one word was appended: a random tiny model learns
    it within a few dozen steps, so a loop that does not learn fails here."""
    tokenizer = load_tokenizer(model_ref)
    rows = {
        "sentence": [
            f"{word} {tail}" for word, tail in zip(["awful", "splendid"] * 64, ["the plot", "a film", "it is"] * 43)
        ],
        "label": [0, 1] * 64,
    }
    return tokenize(sst2_spec, datasets.Dataset.from_dict(rows), tokenizer, 16), tokenizer


def fit(model_ref, sst2_spec, data, tokenizer, seed=0, settings=SETTINGS):
    model = build_classifier(model_ref, sst2_spec.num_labels, sst2_spec.label_names, seed)
    accelerator = make_accelerator(settings)
    stats = train(model, TaskBatches(data, tokenizer, settings, seed), settings, accelerator, desc="test")
    return model, stats


def test_bf16_autocast_learns_says_so_and_keeps_the_weights_fp32(model_ref, sst2_spec, keyword_task):
    """`precision: bf16` trains under autocast on a CPU too (weights stay fp32) and scores as it trained; 'auto'
    (fp32 on a CPU) stays out of the job identity, so records from before the setting keep their keys."""
    data, tokenizer = keyword_task
    bf16 = SETTINGS.model_copy(update={"precision": "bf16"})
    model, stats = fit(model_ref, sst2_spec, data, tokenizer, settings=bf16)
    assert stats.precision == "bf16" and stats.loss_end < 0.5 * stats.loss_start
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert score(model, data, tokenizer, sst2_spec, 32, "cpu", 0).metrics["accuracy"] == 1.0
    assert fit(model_ref, sst2_spec, data, tokenizer)[1].precision == "fp32"  # auto, on a CPU
    assert "precision" not in SETTINGS.model_dump() and bf16.model_dump()["precision"] == "bf16"


@pytest.mark.parametrize(
    "gpu, bf16_cpu, requested, runs_at",
    [
        (False, True, None, "bf16"),  # a CPU-only machine with bf16 units: auto is bf16, and says so in identities
        (False, False, None, "auto"),  # fp32 on a CPU without them, keyed as before the setting existed
        (True, True, None, "auto"),  # a GPU machine: bf16 autocast on CUDA, keyed as before
        (False, True, "fp32", "fp32"),  # --precision wins
    ],
)
def test_auto_precision_is_bf16_on_a_cpu_with_bf16_units(monkeypatch, gpu, bf16_cpu, requested, runs_at):
    from harness import hardware
    from harness.options import profile_as_run
    from harness.specs.catalog import load_profile

    monkeypatch.setattr(hardware, "gpu_driver_present", lambda: gpu)
    monkeypatch.setattr(hardware, "cpu_has_bf16_units", lambda: bf16_cpu)
    profile = profile_as_run(load_profile("quick"), requested)
    assert profile.training.precision == runs_at
    assert profile.training_for("sst2").precision == runs_at  # per-task settings keep it
    assert ("precision" in profile.training.model_dump()) == (runs_at != "auto")


def test_cpu_flags_are_read_from_cpuinfo():
    from harness import hardware

    flags = hardware.cpu_flags()
    if Path("/proc/cpuinfo").exists():
        assert flags, "a Linux /proc/cpuinfo lists the CPU's flags"
    assert hardware.cpu_has_bf16_units() == any(f in flags for f in hardware.BF16_CPU_FLAGS)


def test_loss_falls_and_every_example_is_seen(model_ref, sst2_spec, keyword_task):
    data, tokenizer = keyword_task
    model, stats = fit(model_ref, sst2_spec, data, tokenizer)
    assert stats.steps == 4 * 8 and stats.examples_seen == 4 * 128
    assert stats.loss_end < 0.5 * stats.loss_start
    assert (
        score(model, data, tokenizer, sst2_spec, batch_size=32, device="cpu", majority_class=0).metrics["accuracy"]
        == 1.0
    )


def test_same_seed_same_model_other_seed_other_model(model_ref, sst2_spec, keyword_task):
    data, tokenizer = keyword_task
    short = SETTINGS.model_copy(update={"epochs": 1})
    first, _ = fit(model_ref, sst2_spec, data, tokenizer, seed=1, settings=short)
    again, _ = fit(model_ref, sst2_spec, data, tokenizer, seed=1, settings=short)
    other, _ = fit(model_ref, sst2_spec, data, tokenizer, seed=2, settings=short)
    same = [torch.equal(p, q) for p, q in zip(first.parameters(), again.parameters())]
    differ = [torch.equal(p, q) for p, q in zip(first.parameters(), other.parameters())]
    assert all(same) and not all(differ)


def test_nan_loss_stops_the_run_with_its_reason(model_ref, sst2_spec, keyword_task):
    data, tokenizer = keyword_task
    model = build_classifier(model_ref, sst2_spec.num_labels, sst2_spec.label_names, 0)
    model.classifier.register_forward_hook(lambda module, inputs, output: output * float("nan"))
    with pytest.raises(TrainingDiverged, match=r"sst2-full-seed0: loss became nan at step 1 of 32"):
        train(model, TaskBatches(data, tokenizer, SETTINGS, 0), SETTINGS, make_accelerator(), desc="sst2-full-seed0")


class LengthParity(torch.nn.Module):
    """Predicts class 1 for inputs with an odd number of real tokens: order bugs show at once."""

    def forward(self, input_ids, attention_mask, **_):
        odd = attention_mask.sum(dim=1) % 2
        return type("Output", (), {"logits": torch.stack([1 - odd, odd], dim=1).float()})


def test_predictions_come_back_in_dataset_order(mirror, sst2_spec):
    tokenizer = load_tokenizer(resolve_model("tiny-bert"))
    data = tokenize(sst2_spec, load_examples(sst2_spec, mirror, "validation", limit=100), tokenizer, 32)
    predictions = predict(LengthParity(), data, tokenizer, batch_size=7, device="cpu")
    assert predictions.tolist() == [n % 2 for n in data["length"]]
    result = score(LengthParity(), data, tokenizer, sst2_spec, batch_size=7, device="cpu", majority_class=0)
    expected = np.mean(np.array(data["labels"]) == np.array(data["length"]) % 2)
    assert result.metrics["accuracy"] == pytest.approx(expected) and result.examples == 100


def test_fused_adamw_trains_the_same_model_as_the_per_tensor_loop(model_ref, sst2_spec, keyword_task, monkeypatch):
    """The loop uses torch's fused AdamW (one kernel, ~6x faster a step on CPU); it must train the
    same model as the default implementation, up to float rounding."""
    import harness.training.loop

    data, tokenizer = keyword_task
    fused, fused_stats = fit(model_ref, sst2_spec, data, tokenizer)
    monkeypatch.setattr(harness.training.loop, "fused_adamw_supported", lambda parameters: False)
    looped, looped_stats = fit(model_ref, sst2_spec, data, tokenizer)
    assert fused_stats.loss_end == pytest.approx(looped_stats.loss_end, rel=1e-3, abs=1e-4)
    for (name, p), q in zip(fused.named_parameters(), looped.parameters()):
        assert torch.allclose(p, q, atol=1e-4), name

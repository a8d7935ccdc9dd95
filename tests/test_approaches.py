"""Every method on tiny BERT and tiny DistilBERT: the right parameters move and the frozen ones do
not, counts match formulas from the config, adapters start as the identity, saved trainable state
reloads into a fresh base with the same predictions, and pre-flight explains what cannot run."""

from importlib import metadata

import datasets
import pytest
import torch

from harness import jobs
from harness.approaches import METHODS, method_of
from harness.approaches.lora import bitsandbytes_missing
from harness.data import DataSource
from harness.models import load_tokenizer, resolve_model
from harness.results import STATE_FILE
from harness.specs import ApproachSpec, TrainingSettings
from harness.specs.catalog import load_approaches, load_profile
from harness.training import checkpoints
from harness.training.checkpoints import restore
from harness.training.loop import TaskBatches, make_accelerator, train
from harness.training.scoring import predict

APPROACHES = load_approaches().specs
MODELS = ["tiny-bert", "tiny-distilbert"]
SETTINGS = TrainingSettings(epochs=2, batch_size=16, learning_rate=1e-2, warmup_ratio=0.0)


def make_job(sst2_spec, model: str, approach: str) -> jobs.Job:
    return jobs.Job(
        task=sst2_spec,
        ood_tasks=(),
        approach=APPROACHES[approach],
        model=resolve_model(model),
        profile=load_profile("tiny"),
        seed=0,
        source=DataSource(),
    )


@pytest.fixture(scope="module")
def keyword_rows():
    words = ["awful", "splendid"] * 32
    return datasets.Dataset.from_dict({"sentence": [f"{w} the film" for w in words], "label": [0, 1] * 32})


def tokenized(sst2_spec, rows, model):
    from harness.data import tokenize

    tokenizer = load_tokenizer(resolve_model(model))
    return tokenize(sst2_spec, rows, tokenizer, 16), tokenizer


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("approach", sorted(APPROACHES))
def test_only_the_method_parameters_move(approach, model, sst2_spec, keyword_rows):
    job = make_job(sst2_spec, model, approach)
    if job.preflight():
        pytest.skip(job.preflight())
    _, net, arch = checkpoints.build_model(job, 2, ["negative", "positive"])
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    data, tokenizer = tokenized(sst2_spec, keyword_rows, model)
    train(net, TaskBatches(data, tokenizer, SETTINGS, 0), SETTINGS, make_accelerator(), desc=job.name)
    moved = {name for name, p in net.named_parameters() if not torch.equal(p.detach(), before[name])}
    assert moved <= trainable, f"frozen parameters moved: {sorted(moved - trainable)[:3]}"
    assert len(moved) >= 0.9 * len(trainable), f"trainable parameters that never moved: {sorted(trainable - moved)[:3]}"
    assert any(arch.is_head(name) for name in moved)
    if approach != "full":
        assert any(not arch.is_head(name) for name in moved) or approach == "head-only"


def expected_method_params(approach: str, config) -> int:
    """Counts derived from the architecture's config alone, independent of the model object."""
    hidden = config.to_dict().get("hidden_size") or config.dim
    inner = config.to_dict().get("intermediate_size") or config.hidden_dim
    layers = config.to_dict().get("num_hidden_layers") or config.n_layers
    spec = APPROACHES[approach].params
    if approach in ("lora", "qlora"):
        return layers * 2 * spec["r"] * (hidden + hidden)
    if approach == "ia3":
        return layers * (hidden + hidden + inner)
    if approach in ("houlsby", "pfeiffer"):
        bottleneck = hidden // spec["reduction_factor"]
        per_adapter = hidden * bottleneck + bottleneck + bottleneck * hidden + hidden
        return layers * per_adapter * (2 if approach == "houlsby" else 1)
    if approach == "prompt":
        return spec["num_virtual_tokens"] * hidden
    if approach == "prefix":
        d, tokens = spec["projection_dim"], spec["num_virtual_tokens"]
        return layers * (tokens * d + d * d + d + d * 2 * hidden + 2 * hidden)
    if approach == "bitfit":
        per_layer = 4 * hidden + inner + hidden + 2 * hidden  # q, k, v, o; ffn in, out; two LayerNorm biases
        embedding_norm = hidden
        return layers * per_layer + embedding_norm  # BERT's pooler bias counts as head
    return 0


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "approach", ["lora", "qlora", "ia3", "houlsby", "pfeiffer", "prompt", "prefix", "bitfit", "head-only"]
)
def test_parameter_counts_match_the_config(approach, model, sst2_spec):
    job = make_job(sst2_spec, model, approach)
    if job.preflight():
        pytest.skip(job.preflight())
    _, net, arch = checkpoints.build_model(job, 2, ["negative", "positive"])
    config = net.config
    hidden = config.to_dict().get("hidden_size") or config.dim
    head = hidden * hidden + hidden + hidden * 2 + 2  # BERT's pooler or DistilBERT's pre_classifier, and the classifier
    trainable = {name: p.numel() for name, p in net.named_parameters() if p.requires_grad}
    assert sum(n for name, n in trainable.items() if arch.is_head(name)) == head
    assert sum(n for name, n in trainable.items() if not arch.is_head(name)) == expected_method_params(approach, config)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("approach", ["houlsby", "pfeiffer"])
def test_adapters_start_as_the_identity(approach, model, sst2_spec):
    plain, adapted, _ = checkpoints.build_model(make_job(sst2_spec, model, approach), 2, ["negative", "positive"])
    tokenizer = load_tokenizer(resolve_model(model))
    batch = tokenizer(["a splendid film", "awful"], padding=True, return_tensors="pt")
    plain.eval(), adapted.eval()
    assert torch.equal(plain(**batch).logits, adapted(**batch).logits)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("approach", ["lora", "houlsby", "prefix", "prompt", "ia3", "bitfit"])
def test_saved_state_reloads_with_the_same_predictions(approach, model, sst2_spec, keyword_rows, tmp_path):
    from safetensors.torch import save_file

    job = make_job(sst2_spec, model, approach)
    _, net, _ = checkpoints.build_model(job, 2, ["negative", "positive"])
    data, tokenizer = tokenized(sst2_spec, keyword_rows, model)
    train(net, TaskBatches(data, tokenizer, SETTINGS, 0), SETTINGS, make_accelerator(), desc=job.name)
    save_file(
        {n: p.detach().contiguous() for n, p in net.named_parameters() if p.requires_grad}, str(tmp_path / STATE_FILE)
    )
    torch.manual_seed(123)  # the restore must not depend on the random state
    restored = restore(job, tmp_path)
    assert (predict(net, data, tokenizer, 32, "cpu") == predict(restored, data, tokenizer, 32, "cpu")).all()
    net.eval(), restored.eval()
    batch = tokenizer(["a splendid film"], return_tensors="pt")
    assert torch.allclose(net(**batch).logits, restored(**batch).logits, atol=1e-6)


def test_preflight_explains_a_missing_bitsandbytes(monkeypatch, sst2_spec):
    real_version = metadata.version

    def version(name):
        if name == "bitsandbytes":
            raise metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    assert bitsandbytes_missing(None, None) == "qlora: bitsandbytes not installed"
    assert make_job(sst2_spec, "tiny-bert", "qlora").preflight() == "qlora: bitsandbytes not installed"


def test_preflight_explains_an_unmapped_architecture(monkeypatch, sst2_spec):
    monkeypatch.setattr("harness.jobs.model_type", lambda ref: "roberta")
    assert "model type 'roberta'" in make_job(sst2_spec, "tiny-bert", "lora").preflight()


def test_every_method_has_an_approach_file():
    assert set(METHODS) <= {spec.method for spec in APPROACHES.values()}
    for spec in APPROACHES.values():
        method_of(spec)


def test_lora_target_names_an_allowed_set(tmp_path):
    from harness.errors import SpecError

    with pytest.raises(SpecError, match=r"field 'target': Input should be 'attention-qv'"):
        method_of(ApproachSpec(name="x", method="lora", target="everything"))

"""The one head: mean pooling where the checkpoint was trained with it, the architecture's own pooler
otherwise, counted as head and trained under every approach."""

import dataclasses

import pytest
import torch
from datasets import Dataset

from harness.approaches import method_of
from harness.approaches.architectures import architecture_of
from harness.models import build_classifier, checkpoint_pooling, embedded_model_path, load_tokenizer, resolve_model
from harness.models.heads import masked_mean
from harness.specs.catalog import load_approaches

TEXTS = ["a good film", "a long, slow and thoroughly awful film with nothing to say"]


@pytest.mark.parametrize("pooling", ["mean", "first-token"])
@pytest.mark.parametrize("name", ["tiny-bert", "tiny-distilbert"])
def test_the_head_over_cached_features_computes_what_the_whole_model_does(name, pooling):
    """Head-only trains on pooled features computed once: its head must map them to the logits the model gives."""
    from harness.models.heads import classify_pooled, pooled_features

    ref = dataclasses.replace(resolve_model(name), pooling=pooling)
    model = build_classifier(ref, 3, ["a", "b", "c"], seed=0).eval()
    tokenizer = load_tokenizer(ref)
    dataset = Dataset.from_dict(dict(tokenizer(TEXTS)) | {"labels": [0, 1]})
    dataset = dataset.map(lambda row: {"length": len(row["input_ids"])})
    features = torch.from_numpy(pooled_features(model, dataset, tokenizer, 2, "cpu", pooling))
    with torch.no_grad():
        whole = model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits
        assert torch.allclose(classify_pooled(model, features), whole, atol=1e-5)


def test_the_embedded_checkpoint_asks_for_mean_pooling_and_tiny_models_do_not():
    assert checkpoint_pooling(embedded_model_path()) == "mean"
    assert resolve_model("minilm").pooling == "mean"
    assert resolve_model("tiny-bert").pooling == "first-token"


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-distilbert"])
def test_mean_pooling_reads_the_mean_of_real_tokens(name):
    """The classifier sees exactly the masked mean of the last layer: padding changes nothing."""
    ref = dataclasses.replace(resolve_model(name), pooling="mean")
    model = build_classifier(ref, 2, ["negative", "positive"], seed=0).eval()
    tokenizer = load_tokenizer(ref)
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    seen = []
    model.classifier.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    with torch.no_grad():
        logits = model(**batch, output_hidden_states=True)
        alone = model(**tokenizer(TEXTS[:1], return_tensors="pt")).logits
    mean = masked_mean(logits.hidden_states[-1], batch["attention_mask"])
    if name == "tiny-bert":
        assert torch.allclose(seen[0], mean, atol=1e-6)  # BERT: the mean goes straight to the classifier
    assert torch.allclose(logits.logits[0], alone[0], atol=1e-5), "padding the batch changed a prediction"


@pytest.mark.parametrize("approach", ["head-only", "lora", "prompt", "ia3", "prefix", "houlsby"])
@pytest.mark.parametrize(
    "name,pooling,head_modules",
    [
        ("tiny-bert", "first-token", {"pooler", "classifier"}),
        ("tiny-bert", "mean", {"classifier"}),
        ("tiny-distilbert", "first-token", {"pre_classifier", "classifier"}),
    ],
)
def test_the_head_trains_under_every_approach(approach, name, pooling, head_modules):
    ref = dataclasses.replace(resolve_model(name), pooling=pooling)
    method, params = method_of(load_approaches().specs[approach])
    base = build_classifier(ref, 2, ["negative", "positive"], seed=0)
    arch = architecture_of(base.config.model_type)
    model = method.apply(base, params, arch)
    trained = {
        part
        for n, p in model.named_parameters()
        if p.requires_grad and arch.is_head(n)
        for part in n.split(".")
        if part in arch.head
    }
    assert trained == head_modules

"""A held-out task's start (harness.kinds.held_out_task): the encoder of a fine-tuned classifier, saved with
harness.models.save_encoder, is what the next classifier is built on — for BERT and DistilBERT."""

import pytest
import torch

from harness.models import ModelRef, build_classifier, load_tokenizer, resolve_model, save_encoder


@pytest.mark.parametrize("name", ["tiny-bert", "tiny-distilbert"])
def test_fine_tuned_encoder_is_the_next_models_start(tmp_path, name):
    ref = resolve_model(name)
    trained = build_classifier(ref, 3, ["a", "b", "c"], seed=0)
    with torch.no_grad():
        for parameter in trained.base_model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # as if fine-tuned: every encoder weight moved
    save_encoder(ref, trained, tmp_path, seed=0)
    load_tokenizer(ref).save_pretrained(tmp_path)
    started = build_classifier(
        ModelRef(name=f"{name}+start", location=str(tmp_path), kind="local", pooling=ref.pooling), 2, ["x", "y"], 1
    )
    fresh = build_classifier(ref, 2, ["x", "y"], seed=1)
    moved = trained.base_model.state_dict()
    for key, value in started.base_model.state_dict().items():
        assert torch.equal(value, moved[key]), key
    assert not torch.equal(next(fresh.base_model.parameters()), next(started.base_model.parameters()))

"""Continued pre-training's masked-LM step projects only the masked positions onto the vocabulary."""

import pytest
import torch
from transformers import DataCollatorForLanguageModeling

from harness.kinds.pretraining import load_masked_lm, masked_positions_only
from harness.models import load_tokenizer, resolve_model


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

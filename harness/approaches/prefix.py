"""Prefix tuning: trainable key/value vectors prepended in every self-attention layer.

peft's prefix tuning fails on transformers 5.x BERT and never supported DistilBERT, so it lives
here as an attention function registered with transformers' AttentionInterface: it concatenates
the layer's prefix to the keys and values, widens the padding mask to let every query see the
prefix, and hands over to the stock SDPA attention. The prefix is reparameterised through a small
MLP during training (Li & Liang, 2021), which trains far more stably than free vectors.
"""

from __future__ import annotations

from pydantic import Field

from harness.approaches.architectures import encoder_dims
from harness.approaches.base import Method, register
from harness.approaches.freezing import train_only
from harness.specs import Spec


class PrefixParams(Spec):
    num_virtual_tokens: int = Field(default=20, ge=1)
    projection_dim: int = Field(default=128, ge=1, description="hidden size of the reparameterising MLP")


def apply_prefix(model, params: PrefixParams, arch):
    from harness.approaches.prefix_layers import (
        ATTENTION_NAME,
        LayerPrefix,
        register_attention,
    )

    register_attention()
    dims = encoder_dims(model.config)
    for name in arch.matching(model, arch.query):
        attention = model.get_submodule(name.rpartition(".")[0])
        attention.prefix = LayerPrefix(
            params.num_virtual_tokens, dims.heads, dims.hidden // dims.heads, params.projection_dim
        )
    model.set_attn_implementation(ATTENTION_NAME)
    train_only(model, lambda n: arch.is_head(n) or ".prefix." in n)
    return model


register(Method(name="prefix", params=PrefixParams, apply=apply_prefix))

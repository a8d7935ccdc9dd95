"""Prefix tuning: trainable key/value vectors prepended in every self-attention layer.

peft's prefix tuning fails on transformers 5.x BERT and never supported DistilBERT, so it lives
here as an attention function registered with transformers' AttentionInterface: it concatenates
the layer's prefix to the keys and values, widens the padding mask to let every query see the
prefix, and hands over to the stock SDPA attention. The prefix is reparameterised through a small
MLP during training (Li & Liang, 2021), which trains far more stably than free vectors.
"""

from __future__ import annotations

import torch
from pydantic import Field
from torch import nn

from harness.approaches import Method, register
from harness.approaches.architectures import encoder_dims
from harness.approaches.freezing import train_only
from harness.specs import Spec

ATTENTION_NAME = "harness_prefix"


class PrefixParams(Spec):
    num_virtual_tokens: int = Field(default=20, ge=1)
    projection_dim: int = Field(default=128, ge=1, description="hidden size of the reparameterising MLP")


class LayerPrefix(nn.Module):
    """Prefix keys and values of one attention layer: shape (heads, tokens, head_dim) each."""

    def __init__(self, tokens: int, heads: int, head_dim: int, projection_dim: int):
        super().__init__()
        self.shape = (heads, tokens, head_dim)
        self.seed = nn.Parameter(torch.randn(tokens, projection_dim) * 0.02)
        self.project = nn.Sequential(nn.Linear(projection_dim, projection_dim), nn.Tanh(),
                                     nn.Linear(projection_dim, 2 * heads * head_dim))

    def forward(self, batch_size: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        heads, tokens, head_dim = self.shape
        keys, values = self.project(self.seed).view(tokens, 2, heads, head_dim).permute(1, 2, 0, 3)
        return (keys.unsqueeze(0).expand(batch_size, -1, -1, -1).to(dtype),
                values.unsqueeze(0).expand(batch_size, -1, -1, -1).to(dtype))


def prefix_attention(module, query, key, value, attention_mask, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    prefix = getattr(module, "prefix", None)
    if prefix is not None:
        prefix_keys, prefix_values = prefix(query.shape[0], key.dtype)
        key = torch.cat([prefix_keys, key], dim=2)
        value = torch.cat([prefix_values, value], dim=2)
        if attention_mask is not None:
            seen = torch.ones(*attention_mask.shape[:-1], prefix_keys.shape[2], dtype=attention_mask.dtype, device=attention_mask.device)
            if attention_mask.dtype != torch.bool:  # additive masks: 0 means attend
                seen = torch.zeros_like(seen)
            attention_mask = torch.cat([seen, attention_mask], dim=-1)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, prefix_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


def apply_prefix(model, params: PrefixParams, arch):
    _register_attention()
    dims = encoder_dims(model.config)
    for name in arch.matching(model, arch.query):
        attention = model.get_submodule(name.rpartition(".")[0])
        attention.prefix = LayerPrefix(params.num_virtual_tokens, dims.heads, dims.hidden // dims.heads, params.projection_dim)
    model.set_attn_implementation(ATTENTION_NAME)
    train_only(model, lambda n: arch.is_head(n) or ".prefix." in n)
    return model


register(Method(name="prefix", params=PrefixParams, apply=apply_prefix))

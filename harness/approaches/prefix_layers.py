"""The prefix-tuning layers and attention function (harness.approaches.prefix), apart so that
registering the method does not import torch."""

from __future__ import annotations

import torch
from torch import nn

ATTENTION_NAME = "harness_prefix"


class LayerPrefix(nn.Module):
    """Prefix keys and values of one attention layer: shape (heads, tokens, head_dim) each."""

    def __init__(self, tokens: int, heads: int, head_dim: int, projection_dim: int):
        super().__init__()
        self.shape = (heads, tokens, head_dim)
        self.seed = nn.Parameter(torch.randn(tokens, projection_dim) * 0.02)
        self.project = nn.Sequential(
            nn.Linear(projection_dim, projection_dim), nn.Tanh(), nn.Linear(projection_dim, 2 * heads * head_dim)
        )

    def forward(self, batch_size: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        heads, tokens, head_dim = self.shape
        keys, values = self.project(self.seed).view(tokens, 2, heads, head_dim).permute(1, 2, 0, 3)
        return (
            keys.unsqueeze(0).expand(batch_size, -1, -1, -1).to(dtype),
            values.unsqueeze(0).expand(batch_size, -1, -1, -1).to(dtype),
        )


def prefix_attention(module, query, key, value, attention_mask, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    prefix = getattr(module, "prefix", None)
    if prefix is not None:
        prefix_keys, prefix_values = prefix(query.shape[0], key.dtype)
        key = torch.cat([prefix_keys, key], dim=2)
        value = torch.cat([prefix_values, value], dim=2)
        if attention_mask is not None:
            seen = torch.ones(
                *attention_mask.shape[:-1],
                prefix_keys.shape[2],
                dtype=attention_mask.dtype,
                device=attention_mask.device,
            )
            if attention_mask.dtype != torch.bool:  # additive masks: 0 means attend
                seen = torch.zeros_like(seen)
            attention_mask = torch.cat([seen, attention_mask], dim=-1)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, prefix_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)

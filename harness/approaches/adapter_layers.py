"""The bottleneck adapter layers (harness.approaches.adapters), apart so that registering the
method does not import torch."""

from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, dim: int, reduction_factor: int, activation: str):
        super().__init__()
        self.down = nn.Linear(dim, max(1, dim // reduction_factor))
        self.activation = nn.ReLU() if activation == "relu" else nn.GELU()
        self.up = nn.Linear(self.down.out_features, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden):
        return hidden + self.up(self.activation(self.down(hidden)))


class AdaptedProjection(nn.Module):
    """A frozen output projection followed by its adapter, in place of the projection."""

    def __init__(self, projection: nn.Linear, adapter: Bottleneck):
        super().__init__()
        self.projection = projection
        self.adapter = adapter

    def forward(self, hidden):
        return self.adapter(self.projection(hidden))

"""Bottleneck adapters, written here because peft has none and the `adapters` package pins
transformers 4.57. Houlsby places one after the attention output projection and one after the
feed-forward output projection of every layer; Pfeiffer only the latter. Each adapter adds
`up(act(down(h)))` to the projection's output with `up` zero-initialised, so the wrapped model
starts as exactly the base model; everything but adapters and head is frozen."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.approaches.base import Method, register
from harness.approaches.freezing import train_only
from harness.specs import Spec


class AdapterParams(Spec):
    placement: Literal["houlsby", "pfeiffer"]
    reduction_factor: int = Field(default=16, ge=1, description="hidden size / bottleneck size")
    activation: Literal["relu", "gelu"] = "relu"


def apply_adapters(model, params: AdapterParams, arch):
    from harness.approaches.adapter_layers import AdaptedProjection, Bottleneck

    places = [arch.ffn_output] + ([arch.attention_output] if params.placement == "houlsby" else [])
    for name in arch.matching(model, *places):
        parent_name, _, child = name.rpartition(".")
        projection = model.get_submodule(name)
        adapter = Bottleneck(projection.out_features, params.reduction_factor, params.activation)
        setattr(model.get_submodule(parent_name), child, AdaptedProjection(projection, adapter))
    train_only(model, lambda n: arch.is_head(n) or ".adapter." in n)
    return model


register(Method(name="adapter", params=AdapterParams, apply=apply_adapters))

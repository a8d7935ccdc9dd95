"""Approach plug-ins. A method says how the model is built and wrapped and which parameters train;
the one training loop (harness.train) does the rest. Approaches in approaches/*.yaml pick a method
and set its hyper-parameters, which the method's `Params` schema validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel

from harness.errors import SpecError
from harness.specs import ApproachSpec, parse_spec

if TYPE_CHECKING:
    from torch import nn

    from harness.approaches.architectures import Architecture
    from harness.models import ModelRef


def _nothing_missing(model: "ModelRef", params: BaseModel) -> str | None:
    return None


@dataclass(frozen=True)
class Method:
    name: str
    params: type[BaseModel]
    # Wraps or freezes the freshly built classifier; returns the model to train.
    apply: Callable[["nn.Module", BaseModel, "Architecture"], "nn.Module"]
    # Pre-flight: why this method cannot run with this model here, or None.
    unavailable: Callable[["ModelRef", BaseModel], str | None] = _nothing_missing
    # Builds the base classifier when the method needs a special load (QLoRA's 4-bit weights).
    build: Callable | None = None


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    METHODS[method.name] = method
    return method


def method_of(spec: ApproachSpec, source: str | None = None) -> tuple[Method, BaseModel]:
    source = source or f"approach '{spec.name}'"
    method = METHODS.get(spec.method)
    if method is None:
        raise SpecError(f"{source}: field 'method': unknown method '{spec.method}': choose one of {', '.join(sorted(METHODS))}")
    return method, parse_spec(method.params, spec.params, source)


def validate_method_params(spec: ApproachSpec, source: str) -> None:
    method_of(spec, source)


# Registers the built-in methods.
from harness.approaches import adapters, freezing, ia3, lora, prefix, prompt  # noqa: E402,F401

"""The approach registry: what a method plug-in declares (`Method`) and how an approach YAML finds its method."""

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


def _nothing_missing(model: ModelRef, params: BaseModel) -> str | None:
    return None


@dataclass(frozen=True)
class Method:
    name: str
    params: type[BaseModel]
    # Wraps or freezes the freshly built classifier; returns the model to train.
    apply: Callable[[nn.Module, BaseModel, Architecture], nn.Module]
    # Pre-flight: why this method cannot run with this model here, or None.
    unavailable: Callable[[ModelRef, BaseModel], str | None] = _nothing_missing
    # Builds the base classifier when the method needs a special load (QLoRA's 4-bit weights).
    build: Callable | None = None
    # Nothing below the head trains: single-task jobs train and score the head on the encoder's pooled outputs,
    # computed once and cached (harness.training.features), instead of running the frozen encoder every step.
    frozen_encoder: bool = False


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Adds a method plug-in; a second plug-in of the same name is an error, not a silent replacement."""
    if METHODS.get(method.name, method) is not method:
        raise SpecError(f"approach method '{method.name}' is registered twice; rename one of them")
    METHODS[method.name] = method
    return method


def method_of(spec: ApproachSpec, source: str | None = None) -> tuple[Method, BaseModel]:
    source = source or f"approach '{spec.name}'"
    method = METHODS.get(spec.method)
    if method is None:
        raise SpecError(
            f"{source}: field 'method': unknown method '{spec.method}': choose one of {', '.join(sorted(METHODS))}"
        )
    return method, parse_spec(method.params, spec.params, source)


def validate_method_params(spec: ApproachSpec, source: str) -> None:
    method_of(spec, source)

"""Approach plug-ins. A method says how the model is wrapped and which parameters train; the one
training loop (harness.train) does the rest. Approaches in approaches/*.yaml pick a method and set
its hyper-parameters, which the method's `Params` schema validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel

from harness.errors import SpecError
from harness.specs import ApproachSpec, parse_spec

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Method:
    name: str
    params: type[BaseModel]
    apply: Callable[["nn.Module", BaseModel], "nn.Module"]  # returns the model to train, trainable flags set


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    METHODS[method.name] = method
    return method


def method_of(spec: ApproachSpec, source: str) -> tuple[Method, BaseModel]:
    method = METHODS.get(spec.method)
    if method is None:
        raise SpecError(f"{source}: field 'method': unknown method '{spec.method}': choose one of {', '.join(sorted(METHODS))}")
    return method, parse_spec(method.params, spec.params, source)


def validate_method_params(spec: ApproachSpec, source: str) -> None:
    method_of(spec, source)


def prepare_model(spec: ApproachSpec, model: "nn.Module") -> "nn.Module":
    method, params = method_of(spec, f"approach '{spec.name}'")
    return method.apply(model, params)


from harness.approaches import full  # noqa: E402,F401  (registers the built-in methods)

"""Methods that only choose which existing parameters train: full fine-tuning, head-only (a linear
probe on the frozen encoder) and BitFit (biases and head)."""

from harness.approaches.base import Method, register
from harness.specs import Spec


class NoParams(Spec):
    """These methods have no hyper-parameters beyond the profile's training settings."""


def train_only(model, keep) -> None:
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(keep(name))


def full(model, params, arch):
    train_only(model, lambda name: True)
    return model


def head_only(model, params, arch):
    train_only(model, arch.is_head)
    return model


def bitfit(model, params, arch):
    train_only(model, lambda name: arch.is_head(name) or name.endswith(".bias"))
    return model


register(Method(name="full", params=NoParams, apply=full))
register(Method(name="head-only", params=NoParams, apply=head_only, frozen_encoder=True))
register(Method(name="bitfit", params=NoParams, apply=bitfit))

"""Full fine-tuning: every parameter of encoder and head trains."""

from harness.approaches import Method, register
from harness.specs import Spec


class Params(Spec):
    """Full fine-tuning has no hyper-parameters beyond the profile's training settings."""


def apply(model, params: Params):
    model.requires_grad_(True)
    return model


register(Method(name="full", params=Params, apply=apply))

"""Approach plug-ins. A method says how the model is built and wrapped and which parameters train;
the one training loop (harness.training.loop) does the rest. Approaches in approaches/*.yaml pick a method
and set its hyper-parameters, which the method's `Params` schema validates.
"""

# The built-in methods, each registering itself on import.
from harness.approaches import adapters, freezing, ia3, lora, prefix, prompt  # noqa: F401
from harness.approaches.base import (
    METHODS,
    Method,
    method_of,
    register,
    validate_method_params,
)

__all__ = ["METHODS", "Method", "method_of", "register", "validate_method_params"]

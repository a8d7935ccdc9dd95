"""IA3 (peft): learned rescaling of keys, values and the feed-forward output."""

from harness.approaches.base import Method, register
from harness.specs import Spec


class IA3Params(Spec):
    """IA3 has no hyper-parameters beyond where it applies, which the architecture map fixes."""


def apply_ia3(model, params: IA3Params, arch):
    from peft import IA3Config, TaskType, get_peft_model

    config = IA3Config(
        task_type=TaskType.SEQ_CLS,
        target_modules=f"(?:{arch.key})|(?:{arch.value})|(?:{arch.ffn_output})",
        feedforward_modules=f"(?:{arch.ffn_output})",
        modules_to_save=arch.head_modules(model),
    )
    return get_peft_model(model, config)


register(Method(name="ia3", params=IA3Params, apply=apply_ia3))

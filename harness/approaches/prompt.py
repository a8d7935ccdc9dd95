"""Prompt tuning (peft): trainable virtual-token embeddings prepended to the input."""

from pydantic import Field

from harness.approaches.architectures import encoder_dims
from harness.approaches.base import Method, register
from harness.specs import Spec


class PromptParams(Spec):
    num_virtual_tokens: int = Field(default=20, ge=1)


def apply_prompt(model, params: PromptParams, arch):
    from peft import PromptTuningConfig, TaskType, get_peft_model

    dims = encoder_dims(model.config)  # peft cannot read these from DistilBERT's config
    config = PromptTuningConfig(
        task_type=TaskType.SEQ_CLS,
        num_virtual_tokens=params.num_virtual_tokens,
        modules_to_save=arch.head_modules(model),
        token_dim=dims.hidden,
        num_attention_heads=dims.heads,
        num_layers=dims.layers,
    )
    return get_peft_model(model, config)


register(Method(name="prompt", params=PromptParams, apply=apply_prompt))

"""LoRA (peft) and QLoRA: LoRA on a base model whose linear layers are stored as 4-bit NF4
(bitsandbytes). The task head stays out of quantization and trains in full precision."""

from __future__ import annotations

import tempfile
from importlib import metadata
from typing import Literal

from pydantic import Field

from harness.approaches.architectures import architecture_of
from harness.approaches.base import Method, register
from harness.models import build_classifier, load_classifier
from harness.specs import Spec

MIN_BITSANDBYTES = (0, 48)  # the first release that runs 4-bit layers on the CPU


class LoraParams(Spec):
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    target: Literal["attention-qv", "attention-qkvo", "all-linear"] = "attention-qv"


def target_patterns(arch, target: str) -> list[str]:
    patterns = {
        "attention-qv": [arch.query, arch.value],
        "attention-qkvo": [arch.query, arch.key, arch.value, arch.attention_output],
    }
    return patterns.get(
        target, [arch.query, arch.key, arch.value, arch.attention_output, arch.ffn_input, arch.ffn_output]
    )


def apply_lora(model, params: LoraParams, arch):
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=params.r,
        lora_alpha=params.alpha,
        lora_dropout=params.dropout,
        target_modules="|".join(f"(?:{p})" for p in target_patterns(arch, params.target)),
        modules_to_save=arch.head_modules(model),
    )
    return get_peft_model(model, config)


def bitsandbytes_missing(model_ref, params) -> str | None:
    try:
        version = metadata.version("bitsandbytes")
    except metadata.PackageNotFoundError:
        return "qlora: bitsandbytes not installed"
    if tuple(int(part) for part in version.split(".")[:2]) < MIN_BITSANDBYTES:
        return f"qlora: bitsandbytes {version} cannot run 4-bit layers on this hardware; needs >= 0.48"
    return None


def build_4bit(model_ref, num_labels: int, label_names: list[str], seed: int):
    """Loads the base model with NF4 weights. A randomly initialised (tiny) model is saved first,
    since quantization happens while loading a checkpoint."""
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    base = build_classifier(model_ref, num_labels, label_names, seed)
    arch = architecture_of(base.config.model_type)
    head = [
        name for name, _ in base.named_modules() if name and arch.is_head(name)
    ]  # full names: a bare "pooler" misses pooler.dense
    quantization = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.bfloat16 if torch.cuda.is_available() else torch.float32,
        llm_int8_skip_modules=head,
    )
    with tempfile.TemporaryDirectory() as checkpoint:
        base.save_pretrained(checkpoint)  # the same seeded head as every other method starts from
        model = load_classifier(
            model_ref,
            checkpoint,
            quantization_config=quantization,
            device_map={"": 0} if torch.cuda.is_available() else {"": "cpu"},
        )
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)


register(Method(name="lora", params=LoraParams, apply=apply_lora))
register(Method(name="qlora", params=LoraParams, apply=apply_lora, unavailable=bitsandbytes_missing, build=build_4bit))

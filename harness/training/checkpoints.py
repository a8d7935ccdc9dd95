"""Checkpoints: how the model a job trains is built (the approach applied to the pre-trained classifier), what a
run keeps (its trainable tensors only) and how a fine-tuned model is rebuilt from a fresh base and that state."""

from __future__ import annotations

import copy
import os
from typing import Any

from harness.approaches import method_of
from harness.approaches.architectures import architecture_of
from harness.errors import HarnessError
from harness.models import build_classifier
from harness.results import STATE_FILE, file_mode


def save_trainable(model, arch, run_dir) -> dict[str, Any]:
    """Saves what must be kept to reproduce the fine-tuned model (its trainable state) and returns
    the parameter counts and size every record reports."""
    from safetensors.torch import save_file

    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / STATE_FILE
    save_file({name: p.detach().float().cpu().contiguous() for name, p in trainable.items()}, str(state_path))
    os.chmod(state_path, file_mode())  # safetensors writes it private (0600), unlike every other file of a run
    head_params = sum(p.numel() for name, p in trainable.items() if arch.is_head(name))
    total = sum(p.numel() for p in trainable.values())
    return {
        "trainable_params": total,
        "method_params": total - head_params,
        "head_params": head_params,
        "trainable_state_bytes": state_path.stat().st_size,
    }


def restore(job, run_dir):
    """The fine-tuned model (a single- or multi-task job's) rebuilt from a fresh base and the run's
    saved trainable state."""
    from safetensors.torch import load_file

    _, model, _ = build_model(job, *job.classifier_labels())
    state = load_file(str(run_dir / STATE_FILE))
    missing = set(state) - {name for name, _ in model.named_parameters()}
    if missing:
        raise HarnessError(
            f"{run_dir / STATE_FILE}: {len(missing)} saved tensors have no place in the model, e.g. "
            f"{sorted(missing)[0]}"
        )
    model.load_state_dict(state, strict=False)
    return model


def build_model(job, num_labels: int, label_names: list[str]):
    """The plain classifier (the pre-trained model's size), the model the approach trains, and
    the architecture map. Both start from the same seeded weights and head."""

    method, params = method_of(job.approach)
    plain = build_classifier(job.model, num_labels, label_names, job.seed)
    arch = architecture_of(plain.config.model_type)
    base = method.build(job.model, num_labels, label_names, job.seed) if method.build else copy.deepcopy(plain)
    return plain, method.apply(base, params, arch), arch

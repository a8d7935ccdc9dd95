"""Peak memory of one job inside a long-lived worker.

The worker's idle memory (interpreter, torch, transformers) is measured when the job starts and
subtracted, so a job reports its own peak. On CUDA the allocator's peak counter is reset; on Linux
CPUs the kernel's peak-RSS counter is reset by writing 5 to /proc/self/clear_refs.
"""

from __future__ import annotations

import ctypes
import gc
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")

_job_baseline: int | None = None  # the worker's idle memory when the current job started


def _status_bytes(field: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # reported in kB
    except OSError:
        return None
    return None


def _cuda():
    import torch

    return torch.cuda if torch.cuda.is_available() else None


def _release_freed_memory() -> None:
    """Hands memory freed by earlier jobs back to the system, so the idle baseline is idle."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    cuda = _cuda()
    if cuda:
        cuda.empty_cache()


def start_job() -> None:
    """Call in the worker before a job: records the idle baseline the job's peak is measured above."""
    global _job_baseline
    _release_freed_memory()
    cuda = _cuda()
    _job_baseline = cuda.memory_allocated() if cuda else _status_bytes("VmRSS")


def reset_peak() -> bool:
    """Restarts the peak counter; False where this platform cannot (the peak then counts from process start)."""
    cuda = _cuda()
    if cuda:
        cuda.reset_peak_memory_stats()
        return True
    try:
        CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def peak_fields(reset_worked: bool) -> dict:
    """The job's peak since `reset_peak`, above the worker's idle baseline, and what that number is."""
    cuda = _cuda()
    peak = cuda.max_memory_allocated() if cuda else _status_bytes("VmHWM")
    baseline = _job_baseline if _job_baseline is not None else 0
    if peak is None:
        return {
            "peak_memory_bytes": None,
            "peak_memory_kind": "not measured (no /proc on this platform)",
            "memory_baseline_bytes": None,
        }
    where = "CUDA max allocated" if cuda else "CPU peak RSS"
    since = (
        "counter reset before training"
        if reset_worked
        else "counter not resettable here: peak since the worker started"
    )
    return {
        "peak_memory_bytes": max(0, peak - baseline),
        "memory_baseline_bytes": baseline,
        "peak_memory_kind": f"{where} during training, above the worker's idle baseline ({since})",
    }


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def weight_bytes_by_dtype(model) -> dict[str, int]:
    """Every parameter and buffer once (tied weights share storage), by dtype: a 4-bit model's packed weights show
    as uint8."""
    seen, by_dtype = set(), {}
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        name = str(tensor.dtype).removeprefix("torch.")
        by_dtype[name] = by_dtype.get(name, 0) + tensor.numel() * tensor.element_size()
    return by_dtype


def saved_activation_bytes(model, batch, autocast) -> int:
    """What autograd keeps for the backward pass of one training forward of `model` on `batch` (under the job's
    `autocast` context): each saved storage once, the parameters themselves not counted (they are the weights)."""
    import torch

    # Every saved tensor, kept alive until the forward ends (no storage's address reused, as in training) but packed
    # into the graph as None: this forward never runs backward, and an output packed as itself would hold its own
    # grad_fn in a cycle through C++ that Python's gc cannot see (the forward outlived the job: 915 MiB a MiniLM job).
    held = []
    was_training = model.training
    model.train()
    with torch.random.fork_rng(), autocast, torch.autograd.graph.saved_tensors_hooks(held.append, no_backward):
        output = model(**batch)
    del output
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in held}
    held.clear()
    model.train(was_training)
    return sum(size for address, size in saved.items() if address not in parameters)


def no_backward(_packed) -> None:
    raise RuntimeError("saved_activation_bytes' forward keeps no tensors: it cannot run backward")


def training_memory(model, optimizer_state_bytes: int, batch, autocast, batch_shape: str) -> dict:
    """Training memory by component, each from the tensors themselves: the weights (by dtype), the gradients of the
    trainable parameters, the optimizer's state (as measured after training), and the activations saved for backward
    on a fixed reference batch; `total` is their sum. Unlike a process's peak, it does not depend on the allocator,
    the batch lengths a seed drew or what else the worker held."""
    weights = weight_bytes_by_dtype(model)
    gradients = tensor_bytes(p for p in model.parameters() if p.requires_grad)
    activations = saved_activation_bytes(model, batch, autocast)
    return {
        "weights": weights,
        "gradients": gradients,
        "optimizer_state": optimizer_state_bytes,
        "activations": activations,
        "reference_batch": batch_shape,
        "total": sum(weights.values()) + gradients + optimizer_state_bytes + activations,
    }

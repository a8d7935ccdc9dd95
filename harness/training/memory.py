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

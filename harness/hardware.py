"""What this machine offers, read without importing torch (the plugin and the planner run without it)."""

from __future__ import annotations

import functools
from pathlib import Path

GPU_DRIVERS = ("/proc/driver/nvidia", "/dev/kfd")  # NVIDIA, AMD ROCm
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # instructions that make bf16 matmuls faster than fp32 on a CPU


def gpu_driver_present() -> bool:
    return any(Path(path).exists() for path in GPU_DRIVERS)


@functools.cache
def cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags known, so nothing assumed
        return frozenset()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


def cpu_has_bf16_units() -> bool:
    return any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)

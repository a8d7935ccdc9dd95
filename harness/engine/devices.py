"""Devices jobs run on, and how workers are pinned to them.

A worker is pinned before torch starts in it (`CUDA_VISIBLE_DEVICES`), so each job sees exactly one
GPU, as cuda:0, and no job can land on another worker's GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.hardware import gpu_driver_present

# Without a measurement of the jobs' GPU memory, this many share one GPU.
DEFAULT_GPU_JOBS = 2
# Measured (README, "GPU-hours"): ten MiniLM jobs kept an H200 99 % busy at 9x one job's steps/s; each job
# is bound by the core that launches its kernels, so a GPU gets no more jobs than it has cores.
MAX_GPU_JOBS = 10
GPU_MEMORY_HEADROOM = 1.5  # a job's measured CUDA peak, times this, is what packing reserves for it


@dataclass(frozen=True)
class Device:
    kind: str  # "cuda" or "cpu"
    index: int | None = None

    @property
    def label(self) -> str:
        return f"cuda:{self.index}" if self.kind == "cuda" else "cpu"

    def environment(self) -> dict[str, str]:
        """Set in a worker before torch starts: a GPU worker sees its GPU only, a CPU worker none."""
        return {"CUDA_VISIBLE_DEVICES": str(self.index) if self.kind == "cuda" else ""}


@dataclass(frozen=True)
class Slot:
    """One warm worker: the device it is pinned to and the CPU threads its torch may use."""

    device: Device
    threads: int

    @property
    def label(self) -> str:
        return self.device.label


def visible_gpus() -> list[int]:
    if not gpu_driver_present():  # spare importing torch
        return []
    import torch

    return list(range(torch.cuda.device_count()))


def parse_devices(text: str | None, gpus: list[int]) -> list[Device]:
    """`None`/"auto": every visible GPU, else the CPU; "cpu"; or GPU indices "0,1" / "cuda:0,cuda:1"."""
    if text in (None, "", "auto"):
        return [Device("cuda", i) for i in gpus] or [Device("cpu")]
    if text == "cpu":
        return [Device("cpu")]
    devices = []
    for part in text.split(","):
        part = part.strip().removeprefix("cuda:")
        if not part.isdigit():
            raise HarnessError(f"--devices: expected 'auto', 'cpu' or GPU indices such as '0,1', got '{text}'")
        if int(part) not in gpus:
            raise HarnessError(
                f"--devices: GPU {part} is not visible here (visible: {', '.join(map(str, gpus)) or 'none'})"
            )
        devices.append(Device("cuda", int(part)))
    return devices


def default_jobs_per_device(
    device: Device, cpu_count: int, measured_peaks: list[int], device_memory: int | None
) -> int:
    """`cpu_count`: the cores for this device. CPU: one single-threaded job per core (the fastest use of
    cores for many small jobs). GPU: as many jobs as the largest measured CUDA peak of this profile leaves
    room for, one core each at least."""
    if device.kind == "cpu":
        return max(1, cpu_count)
    if not measured_peaks or not device_memory:
        return min(DEFAULT_GPU_JOBS, max(1, cpu_count))
    return max(1, min(MAX_GPU_JOBS, cpu_count, int(device_memory // (max(measured_peaks) * GPU_MEMORY_HEADROOM))))


def layout(devices: list[Device], jobs_per_device: int, cpu_count: int | None = None) -> list[Slot]:
    """The worker slots: `jobs_per_device` per device, the machine's cores shared out among them."""
    if jobs_per_device < 1:
        raise HarnessError(f"--jobs-per-device: must be at least 1, got {jobs_per_device}")
    cpu_count = cpu_count or os.cpu_count() or 1
    count = len(devices) * jobs_per_device
    threads = max(1, cpu_count // count)
    return [Slot(device, threads) for device in devices for _ in range(jobs_per_device)]

"""The options the pytest plugin and the command line share, declared once: each takes `add(parser.add_argument, ...)`
or `add(group.addoption, ...)`, which have the same signature."""

from __future__ import annotations

import os
from typing import Any, Callable

from harness import hardware
from harness.specs import PROJECT_ROOT, ProfileSpec

OPTIONS: dict[str, dict[str, Any]] = {
    "--profile": dict(default="quick", help="profile name in profiles/ or a YAML path (default: quick)"),
    "--model": dict(default=None, help="model alias, local directory or hub id (default: the profile's)"),
    "--seeds": dict(default=None, help="comma-separated seeds (default: the profile's)"),
    "--data-dir": dict(
        default=os.environ.get("HARNESS_DATA_DIR"),
        help="local mirror <task>/<split>.jsonl.gz (default: $HARNESS_DATA_DIR, else the hub)",
    ),
    "--results-dir": dict(
        default=os.environ.get("HARNESS_RESULTS_DIR", str(PROJECT_ROOT / ".harness")),
        help="results store (default: $HARNESS_RESULTS_DIR, else .harness/)",
    ),
    "--precision": dict(
        choices=("auto", "fp32", "bf16"),
        default=None,
        help="bf16 autocast: auto (CUDA, and CPUs with bf16 units), bf16 (any device), fp32 (default: the profile's)",
    ),
}


def profile_as_run(profile: ProfileSpec, precision: str | None = None) -> ProfileSpec:
    """The profile with the precision its jobs run at on this machine: `precision` (--precision) if given. Else the
    profile's; its 'auto' becomes an explicit 'bf16' on a machine without GPUs whose CPU has bf16 units (avx512_bf16,
    AMX: measured 1.6x faster training steps at the same accuracy, docs/measurements.md), so those runs are keyed
    apart from fp32 ones; elsewhere 'auto' stays (bf16 autocast on CUDA, fp32 on other CPUs), left out of job
    identities as before the setting existed."""
    chosen = precision or profile.training.precision
    if chosen == "auto" and not hardware.gpu_driver_present() and hardware.cpu_has_bf16_units():
        chosen = "bf16"
    if chosen == profile.training.precision:
        return profile
    return profile.model_copy(update={"training": profile.training.model_copy(update={"precision": chosen})})


def add(add_option: Callable[..., Any], *names: str, **changes: dict[str, Any]) -> None:
    """Declares the shared options `names` with `add_option`; `changes` maps an option's dest (`profile`) to what
    differs for this command (`default="full"`, `required=True`)."""
    for name in names:
        settings = OPTIONS[name] | changes.get(name.lstrip("-").replace("-", "_"), {})
        if settings.get("required"):
            settings.pop("default", None)
        add_option(name, **settings)

"""Where jobs run: executors registered by name (`--executor`), each one module of this package found by
`executors()`; a new executor is one module that calls `register`.

- `local` (local.py): warm worker processes on this machine, one per slot.
- `ray` (ray.py): each job a Ray task on a local or remote cluster.
"""

from __future__ import annotations

import importlib
import pkgutil
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from harness.engine.devices import Slot
from harness.errors import SpecError
from harness.results import ResultStore

CRASH_REASON = (
    "the worker process died while running this job (killed by a signal, e.g. the "
    "out-of-memory killer, or crashed in native code)"
)


@dataclass(frozen=True)
class ExecutorOptions:
    """What a session gives an executor: its slots (device, threads), where worker logs go, a cluster to join."""

    slots: list[Slot]
    log_dir: Path | None = None
    address: str | None = None  # --ray-address


class Executor(Protocol):
    """What the engine (harness.engine.runner) asks of an executor."""

    retries_crashes: bool  # whether it retries a job whose worker died itself (else the engine does, once)

    @property
    def capacity(self) -> int: ...  # jobs at once

    def describe(self) -> str: ...

    def submit(self, job, store: ResultStore, fresh_after: str | None, progress_dir: Path | None) -> Future: ...

    def release(self, future: Future) -> None: ...  # the job's future is done: its slot is free

    def crashed(self, exc: BaseException) -> str | None: ...  # why, where `exc` means the worker died

    def worker_pids(self) -> list[int]: ...  # on this machine, for the status file

    def terminate(self) -> None: ...  # an interrupted session: end the running jobs now

    def close(self) -> None: ...


EXECUTORS: dict[str, Callable[[ExecutorOptions], Executor]] = {}


def register(name: str, create: Callable[[ExecutorOptions], Executor]) -> None:
    """Adds an executor; a second one of the same name is an error, not a silent replacement."""
    if EXECUTORS.get(name, create) is not create:
        raise SpecError(f"executor '{name}' is registered twice; rename one of them")
    EXECUTORS[name] = create


def executors() -> dict[str, Callable[[ExecutorOptions], Executor]]:
    """Every registered executor: each module of this package is imported (and so registers) first."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return EXECUTORS

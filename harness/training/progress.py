"""A running job's progress: the training loop reports its steps, at most every WRITE_EVERY_S, to a small file the
engine's status line reads (harness.engine.progress)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness.results import atomic_write_text

WRITE_EVERY_S = 2.0

_sink: Path | None = None  # this worker's progress file for the job it runs
_last_write = 0.0


def report_to(path: Path | None) -> None:
    """Called in a worker around each job; None stops reporting."""
    global _sink, _last_write
    _sink, _last_write = path, 0.0


def step(done: int, total: int) -> None:
    """Called by the training loop after each step; writes at most every WRITE_EVERY_S."""
    global _last_write
    now = time.monotonic()
    if _sink is None or (now - _last_write < WRITE_EVERY_S and done < total):
        return
    _last_write = now
    atomic_write_text(_sink, json.dumps({"done": done, "total": total}))

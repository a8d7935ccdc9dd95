"""What the user sees while jobs run: one status line for the whole run, with each running job's steps.

The engine (in whichever process hosts it) writes `status.json`; workers write one small progress file
per running job (harness.training.progress); the process that owns the terminal (pytest's, or xdist's
controller) prints a line from both, every few seconds on a terminal and every 30 s in a log.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
    )


def status_line(status: dict, progress_dir: Path) -> str:
    counts = status["counts"]
    running = []
    for name in status["running"]:
        try:
            progress = json.loads((progress_dir / f"{name}.json").read_text())
            running.append(f"{name} {progress['done']}/{progress['total']}")
        except (OSError, ValueError):
            running.append(name)
    elapsed = time.time() - status["started"]
    cancelled = f"{counts['cancelled']} cancelled, " if counts.get("cancelled") else ""
    parts = [
        f"harness: {counts['done']} done, {counts['failed']} failed, {cancelled}{counts['cached']} cached, "
        f"{counts['skipped']} skipped, {len(status['running'])} running, {counts['left']} left",
        f"{format_duration(elapsed)} elapsed",
        f"ETA {format_duration(status.get('eta_seconds'))}",
    ]
    line = " | ".join(parts)
    return line + (f" | {'; '.join(running)}" if running else "")


class StatusPrinter:
    """A daemon thread printing the status line while the engine's status file says the run is on: redrawn in place
    on a terminal (`redraw`, with `end` to leave the line), a new line every 30 s in a log."""

    def __init__(self, status_dir: Path, write, interval: float | None = None, redraw=None, end=None):
        self.status_file = status_dir / "status.json"
        self.progress_dir = status_dir / "progress"
        self.write = redraw or write
        self.end = end if redraw else None
        self.drawn = False
        self.interval = interval or (5.0 if redraw or sys.stderr.isatty() else 30.0)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="harness-status", daemon=True)

    def start(self) -> StatusPrinter:
        self.thread.start()
        return self

    def _loop(self) -> None:
        last = None
        while not self.stopped.wait(self.interval):
            try:
                status = json.loads(self.status_file.read_text())
            except (OSError, ValueError):
                continue
            line = status_line(status, self.progress_dir)
            if line != last and (status["running"] or status["counts"]["left"]):
                self.write(line)
                self.drawn, last = True, line

    def stop(self) -> None:
        self.stopped.set()
        if self.end and self.drawn:
            self.end()

"""Warm local workers: one process per slot, each a single-worker `concurrent.futures.ProcessPoolExecutor` whose
initializer pins it to its device and pays the imports once. One pool per slot means a crash breaks exactly that
slot's job; the slot then gets a fresh worker. So does a worker whose memory outgrew RECYCLE_ABOVE_SHARE after a job:
a warm worker's idle memory grows job after job (the quick profile's 2026-12-03 run: 0.6 GiB after its first job,
7.5 GiB after about 65, until the machine ran out), so it is replaced before it starves the next job."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from harness.engine import worker
from harness.engine.devices import Slot
from harness.engine.executors import CRASH_REASON, register
from harness.results import ResultStore

TRACKER_WARNING = "ignore:resource_tracker:UserWarning"
# A worker holding more than this share of the machine's memory, per slot, between jobs is replaced: each slot keeps
# the rest for its next job's peak (2-3.5 GiB above idle for a quick MiniLM job).
RECYCLE_ABOVE_SHARE = 0.25


class LocalExecutor:
    retries_crashes = False  # the runner retries a crashed job once itself

    def __init__(self, slots: list[Slot], log_dir: Path | None = None):
        # A worker killed by terminate() leaves its semaphores (tqdm's lock) to multiprocessing's resource tracker,
        # which frees them and warns at exit; the tracker starts with the first pool and reads this then.
        if TRACKER_WARNING not in os.environ.get("PYTHONWARNINGS", ""):
            os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), TRACKER_WARNING]))
        self.slots = slots
        self.log_dir = log_dir
        self.pools: list[ProcessPoolExecutor | None] = [None] * len(slots)
        self.busy = [False] * len(slots)

    @property
    def capacity(self) -> int:
        return len(self.slots)

    def describe(self) -> str:
        devices = sorted({s.label for s in self.slots})
        return (
            f"{len(self.slots)} warm local workers on {', '.join(devices)} ({self.slots[0].threads} torch threads each)"
        )

    def _pool(self, index: int) -> ProcessPoolExecutor:
        if self.pools[index] is None:
            slot = self.slots[index]
            log = str(self.log_dir / f"worker-{index}.log") if self.log_dir else None
            self.pools[index] = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker.start,
                initargs=(slot.device.environment(), slot.threads, log),
            )
        return self.pools[index]

    def submit(self, job, store: ResultStore, fresh_after: str | None, progress_dir: Path | None) -> Future:
        index = self.busy.index(False)
        self.busy[index] = True
        future = self._pool(index).submit(
            worker.run_job, job, str(store.root), fresh_after, str(progress_dir) if progress_dir else None
        )
        future.slot = index
        return future

    def release(self, future: Future) -> None:
        """Frees the future's slot; a slot whose worker died, or holds too much memory, gets a new worker on its next
        job."""
        index = future.slot
        exc = future.exception() if not future.cancelled() else None
        if isinstance(exc, BrokenProcessPool) or self._outgrown(index):
            self.pools[index].shutdown(wait=True, cancel_futures=True)  # idle or gone: quick, and nothing leaks
            self.pools[index] = None
        self.busy[index] = False

    def _outgrown(self, index: int) -> bool:
        import psutil

        limit = RECYCLE_ABOVE_SHARE * psutil.virtual_memory().total / len(self.slots)
        processes = (self.pools[index]._processes or {}).values() if self.pools[index] else ()
        try:
            return any(psutil.Process(process.pid).memory_info().rss > limit for process in processes)
        except psutil.NoSuchProcess:
            return False

    def crashed(self, exc: BaseException) -> str | None:
        return CRASH_REASON if isinstance(exc, BrokenProcessPool) else None

    def _processes(self) -> list:
        # ProcessPoolExecutor has no public handle on its worker processes.
        return [process for pool in self.pools if pool is not None for process in (pool._processes or {}).values()]

    def worker_pids(self) -> list[int]:
        return [process.pid for process in self._processes()]

    def terminate(self) -> None:
        """Ends every worker now (an interrupted session): their jobs' futures fail, and nothing trains on."""
        for process in self._processes():
            process.kill()

    def close(self) -> None:
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self.pools = [None] * len(self.slots)


register("local", lambda options: LocalExecutor(options.slots, log_dir=options.log_dir))

"""Where jobs run.

- `LocalExecutor`: one warm worker process per slot, each a single-worker
  `concurrent.futures.ProcessPoolExecutor` whose initializer pins it to its device and pays the
  imports once. One pool per slot means a crash breaks exactly that slot's job; the slot then gets
  a fresh worker.
- `RayExecutor`: each job a Ray task with a fractional GPU (`1 / jobs-per-device`) on a local or
  remote cluster; Ray retries a task whose worker died once, and its files come back to this store.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from harness.engine import worker
from harness.engine.devices import Slot
from harness.results import ResultStore

CRASH_REASON = ("the worker process died while running this job (killed by a signal, e.g. the "
                "out-of-memory killer, or crashed in native code)")


TRACKER_WARNING = "ignore:resource_tracker:UserWarning"


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
        return (f"{len(self.slots)} warm local workers on {', '.join(devices)} "
                f"({self.slots[0].threads} torch threads each)")

    def _pool(self, index: int) -> ProcessPoolExecutor:
        if self.pools[index] is None:
            slot = self.slots[index]
            log = str(self.log_dir / f"worker-{index}.log") if self.log_dir else None
            self.pools[index] = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=worker.start, initargs=(slot.device.environment(), slot.threads, log))
        return self.pools[index]

    def submit(self, job, store: ResultStore, fresh_after: str | None, progress_dir: Path | None) -> Future:
        index = self.busy.index(False)
        self.busy[index] = True
        future = self._pool(index).submit(worker.run_job, job, str(store.root), fresh_after,
                                          str(progress_dir) if progress_dir else None)
        future.slot = index
        return future

    def release(self, future: Future) -> None:
        """Frees the future's slot; a slot whose worker died gets a new worker on its next job."""
        index = future.slot
        exc = future.exception() if not future.cancelled() else None
        if isinstance(exc, BrokenProcessPool):
            self.pools[index].shutdown(wait=True, cancel_futures=True)  # its process is gone: quick, and nothing leaks
            self.pools[index] = None
        self.busy[index] = False

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


class RayExecutor:
    retries_crashes = True  # `max_retries=1`: Ray itself runs a crashed task once more

    def __init__(self, address: str | None, slots: list[Slot], **init_options):
        import ray

        if not ray.is_initialized():
            ray.init(address=address, log_to_driver=False, include_dashboard=False, **init_options)
        self.ray = ray
        gpu = slots[0].device.kind == "cuda"
        jobs_per_device = sum(1 for s in slots if s.device == slots[0].device)
        self.threads = slots[0].threads
        self.task = ray.remote(worker.run_job_remote).options(
            num_cpus=self.threads, num_gpus=1 / jobs_per_device if gpu else 0, max_retries=1)
        resources = ray.cluster_resources()
        per_job = (1 / jobs_per_device) if gpu else self.threads
        self._capacity = max(1, int(resources.get("GPU" if gpu else "CPU", 1) / per_job))
        self.running: set = set()  # object refs of the tasks not yet finished, for terminate

    @property
    def capacity(self) -> int:
        return self._capacity

    def describe(self) -> str:
        return f"Ray cluster, up to {self._capacity} jobs at once"

    def submit(self, job, store: ResultStore, fresh_after: str | None, progress_dir: Path | None) -> Future:
        result: Future = Future()

        def write_back(remote: Future) -> None:
            try:
                record, files = remote.result()
                run_dir = store.fresh_run_dir(job.config_hash)
                for name, content in files.items():
                    if name != "record.json":
                        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
                        (run_dir / name).write_bytes(content)
                store.write(record)  # last: its presence means the run is complete
                result.set_result(record)
            except BaseException as exc:
                result.set_exception(exc)

        remote = self.task.remote(job, fresh_after, self.threads)
        self.running.add(remote)
        remote.future().add_done_callback(write_back)
        result.add_done_callback(lambda _: self.running.discard(remote))
        return result

    def release(self, future: Future) -> None:
        pass

    def worker_pids(self) -> list[int]:
        return []  # Ray's workers are the cluster's, possibly on other machines

    def terminate(self) -> None:
        for remote in list(self.running):
            self.ray.cancel(remote, force=True)

    def crashed(self, exc: BaseException) -> str | None:
        errors = self.ray.exceptions
        if isinstance(exc, (errors.WorkerCrashedError, errors.NodeDiedError, errors.OutOfMemoryError)):
            return f"{CRASH_REASON}; Ray ran it twice ({type(exc).__name__})"
        return None

    def close(self) -> None:
        pass  # the cluster outlives the session; `ray.shutdown()` is the caller's

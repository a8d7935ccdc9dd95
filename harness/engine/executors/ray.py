"""A Ray cluster (local or remote): each job a Ray task with a fractional GPU (`1 / jobs-per-device`); Ray retries a
task whose worker died once, and its files come back to this store. Needs `pip install -e ".[ray]"`."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from harness.engine import worker
from harness.engine.devices import Slot
from harness.engine.executors import CRASH_REASON, register
from harness.results import ResultStore


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
            num_cpus=self.threads, num_gpus=1 / jobs_per_device if gpu else 0, max_retries=1
        )
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
                run_dir = store.staging_dir(job.config_hash)
                for name, content in files.items():
                    if name != "record.json":
                        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
                        (run_dir / name).write_bytes(content)
                store.commit(run_dir, record)  # in place of the run's directory once complete
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


register("ray", lambda options: RayExecutor(options.address, options.slots))

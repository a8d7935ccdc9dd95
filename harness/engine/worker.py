"""What runs inside a worker process: set-up once (device pin, threads, imports), then one job at a
time, each with its own log file, peak-memory measurement and progress file.

A worker outlives its jobs, so torch, transformers and the job modules are imported once per worker,
not once per job. Third-party output (warnings, bitsandbytes' kernel messages, tqdm) goes to the
job's log, not the terminal.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.kinds import kinds
from harness.results import ResultStore, is_fresh, timestamp
from harness.results.record import Record, parse_record
from harness.training import memory, progress

LOG_FILE = "job.log"
PARENT_POLL_S = 1.0
TRACEBACK_FILE = "traceback.txt"

_jobs_run = 0  # by this worker, for the record
# What a job needs, imported once when the worker starts rather than by its first job.
WARM_IMPORTS = (
    "torch",
    "transformers",
    "datasets",
    "accelerate",
    "peft",
    "sklearn.linear_model",
    "harness.training.loop",
    "harness.models.heads",
    "harness.training.scoring",
    "harness.approaches.adapter_layers",
    "harness.approaches.prefix_layers",
)


def start(environment: dict[str, str], threads: int, log_path: str | None) -> None:
    """Process-pool initializer: pins the worker before torch starts, then pays the imports once."""

    os.environ.update(environment)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # jobs run one at a time per worker
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="harness-parent-watch", daemon=True).start()
    if log_path:  # import-time noise of this worker, outside any job
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        _redirect_output(open(log_path, "a"))
    set_threads(threads)
    for module in WARM_IMPORTS:
        importlib.import_module(module)
    kinds()  # and every job kind's module


def _exit_with_parent(parent: int) -> None:
    """A worker whose session died without ending it (SIGKILL, an xdist worker torn down) ends within a second,
    instead of training on into the store; ProcessPoolExecutor does not notice a vanished parent."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _redirect_output(handle) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(handle.fileno(), 1)
    os.dup2(handle.fileno(), 2)


@contextmanager
def output_to(path: Path):
    """Everything written to stdout/stderr, by Python or by C extensions, goes to `path` meanwhile."""
    saved = (os.dup(1), os.dup(2))
    with open(path, "a") as handle:
        _redirect_output(handle)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def failure(reason: str) -> dict[str, Any]:
    return {"status": "failed", "failure": reason, "finished_at": timestamp()}


def run_job(job, store_root: str, fresh_after: str | None = None, progress_dir: str | None = None) -> Record:
    """Runs `job` here and writes its record (last, atomically) into the store; returns the record.
    Another session that trained the same job meanwhile wins: its fresh record is returned."""
    global _jobs_run
    store = ResultStore(Path(store_root))
    run_hash = job.config_hash
    with store.lock(run_hash):
        cached = store.load(run_hash)
        if is_fresh(cached, fresh_after):
            return cached
        run_dir = store.staging_dir(run_hash)  # replaces the run's directory only once complete
        progress.report_to(Path(progress_dir) / f"{job.name}.json" if progress_dir else None)
        started = time.perf_counter()
        fields = job.base_record() | {"started_at": timestamp()}
        with output_to(run_dir / LOG_FILE):
            memory.start_job()
            try:
                fields |= job.execute(run_dir) | {"finished_at": timestamp()}
                parse_record(fields)  # a field the job got wrong or left out fails the job here, with its name
            except HarnessError as exc:
                fields |= failure(str(exc))
            except Exception as exc:  # recorded, with the traceback kept beside the record for debugging
                (run_dir / TRACEBACK_FILE).write_text(traceback.format_exc())
                reason = f"{type(exc).__name__}: {exc}"
                fields = job.base_record() | {"started_at": fields["started_at"]} | failure(reason)
        progress.report_to(None)
        _jobs_run += 1
        record = parse_record(fields | {"wall_seconds": time.perf_counter() - started, "worker": worker_description()})
        if not store.commit(run_dir, record):
            record = record.updated(failure=f"{record.failure}; the previous successful record of this job is kept")
        return record


def worker_description() -> dict[str, Any]:
    import torch

    return {
        "pid": os.getpid(),
        "jobs_run": _jobs_run,
        "torch_threads": torch.get_num_threads(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def run_job_remote(job, fresh_after: str | None, threads: int) -> tuple[Record, dict[str, bytes]]:
    """A Ray task: runs the job in a scratch store on whichever machine Ray chose and returns the
    record and the run directory's files, which the driver writes into its own store."""
    set_threads(threads)
    scratch = tempfile.mkdtemp(prefix="harness-ray-")
    try:
        record = run_job(job, scratch, fresh_after)
        run_dir = ResultStore(Path(scratch)).run_dir(job.config_hash)
        files = {str(p.relative_to(run_dir)): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
        return record, files
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

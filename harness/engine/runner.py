"""The scheduler: a thread that submits every job whose dependencies are done to a free worker,
collects results, and retries once a job whose worker died.

Tests and fixtures block on `Engine.wait(job)`; a job asked for that is not yet in the plan joins it.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_any
from pathlib import Path

from harness.engine.devices import Device, layout
from harness.engine.executors.local import LocalExecutor
from harness.engine.plan import FINAL, Node, Plan, blocked
from harness.engine.worker import failure
from harness.results import ResultStore, atomic_write_text
from harness.results.record import Record, parse_record

POLL_S = 1.0


class Engine:
    def __init__(self, plan: Plan, executor, status_dir: Path | None = None):
        self.plan = plan
        self.store = plan.store
        self.executor = executor
        self.status_dir = status_dir
        self.progress_dir = status_dir / "progress" if status_dir else None
        self.changed = threading.Condition(plan.lock)
        self.in_flight: dict[Future, Node] = {}
        self.closing = False
        self.cancelled = False
        self.started = time.time()
        self.wall_times: dict[str, list[float]] = {}  # by job class: this run's times, for jobs never timed before
        self.thread = threading.Thread(target=self._loop, name="harness-engine", daemon=True)

    def start(self) -> Engine:
        if self.progress_dir:
            self.progress_dir.mkdir(parents=True, exist_ok=True)
        self._write_status()
        self.thread.start()
        return self

    def add(self, job) -> Node:
        with self.changed:
            node = self.plan.add(job)
            self.changed.notify()
        return node

    def wait(self, job) -> Node:
        node = self.add(job)
        node.finished.wait()
        return node

    def finish(self, cancel: bool = False, close_executor: bool = True) -> None:
        """Runs what is left, then stops; with `cancel` (an interrupted session), ends the running jobs' workers at
        once and counts those jobs and the ones not started as cancelled: no worker outlives the session."""
        with self.changed:
            self.closing, self.cancelled = True, cancel
            self.changed.notify()
        if cancel:
            self.executor.terminate()
        self.thread.join()
        if close_executor:
            self.executor.close()
        self._write_status(finished=True)

    # -- the scheduler thread --

    def _loop(self) -> None:
        try:
            self._schedule()
        except BaseException as exc:  # tests waiting on a job must not wait forever: every unfinished job ends
            with self.changed:
                for node in self.plan.nodes.values():
                    if node.state not in FINAL:
                        node.finish("failed", reason=f"the job engine stopped: {type(exc).__name__}: {exc}")

    def _schedule(self) -> None:
        while True:
            with self.changed:
                if not self.cancelled:
                    self._submit_ready()
                futures = list(self.in_flight)
                if not futures and self.closing and (self.cancelled or not self._open()):
                    for node in self._open():
                        node.finish("cancelled", reason="the session was stopped before it ran")
                    return
            self._write_status()
            if not futures:
                with self.changed:
                    self.changed.wait(POLL_S)  # until a job is added, or the session closes
                continue
            done, _ = wait_any(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)
            with self.changed:
                for future in done:
                    self._collect(future)

    def _open(self) -> list[Node]:
        return [n for n in self.plan.nodes.values() if n.state == "pending"]

    def _submit_ready(self) -> None:
        for node in self._open():
            deps = [self.plan.nodes[name] for name in node.deps]
            if not all(d.state in FINAL for d in deps):
                continue
            outcome = blocked(deps)
            if outcome:
                node.finish(outcome[0], reason=outcome[1])
                continue
            self.plan.resolve(node)
            if node.state != "pending" or len(self.in_flight) >= self.executor.capacity:
                continue
            node.state = "running"
            node.attempts += 1
            future = self.executor.submit(node.job, self.store, self.plan.fresh_after, self.progress_dir)
            self.in_flight[future] = node

    def _collect(self, future: Future) -> None:
        node = self.in_flight.pop(future)
        self.executor.release(future)
        if self.cancelled and not (future.done() and not future.cancelled() and future.exception() is None):
            node.finish("cancelled", reason="the session was stopped while it ran; it trains again on the next run")
            return
        try:
            record = future.result()
        except Exception as exc:
            crash = self.executor.crashed(exc)
            if crash and not self.executor.retries_crashes and node.attempts < 2:
                node.state = "pending"  # once more, on a fresh worker
                node.reason = crash
                return
            reason = crash or f"{type(exc).__name__}: {exc}"
            if crash and node.attempts > 1:
                reason += f"; it died again on its retry ({node.attempts} attempts)"
            record = parse_record(node.job.base_record() | failure(reason) | {"attempts": node.attempts})
            try:
                self.store.commit(self.store.staging_dir(node.job.config_hash), record)  # never over a good record
            except OSError as write_error:  # a full disk: the job fails with both reasons, the session goes on
                reason += f"; its failure record could not be stored either ({write_error})"
                record = record.updated(failure=reason)
        else:
            if node.attempts > 1:  # said in the record: this run needed a retry
                record = record.updated(attempts=node.attempts, retried_because=node.reason)
                self.store.write(record)
            if record.wall_seconds:
                self.wall_times.setdefault(type(node.job).__name__, []).append(record.wall_seconds)
                self.plan.observe(node.job, record.wall_seconds)
        node.finish("done" if record.ok else "failed", record, record.failure)

    def eta(self) -> float | None:
        return self.plan.remaining_estimate(self.executor.capacity, self.wall_times)

    def _write_status(self, finished: bool = False) -> None:
        if not self.status_dir:
            return
        with self.changed:
            status = {
                "host_pid": os.getpid(),
                "started": self.started,
                "finished": finished,
                "counts": self.plan.counts(),
                "running": [n.name for n in self.in_flight.values()],
                "eta_seconds": self.eta(),
                "executor": self.executor.describe(),
                "worker_pids": self.executor.worker_pids(),
            }
        atomic_write_text(self.status_dir / "status.json", json.dumps(status))


_shared_executor: LocalExecutor | None = None


def shared_executor() -> LocalExecutor:
    """One warm worker for this process's direct `run` calls (tests, scripts), started on first use."""
    global _shared_executor
    if _shared_executor is None:
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
        _shared_executor = LocalExecutor(layout([Device("cpu")], 1, max(1, (os.cpu_count() or 1) // workers)))
        atexit.register(_shared_executor.close)
    return _shared_executor


def run(jobs, store: ResultStore, fresh_after: str | None = None, executor=None) -> list[Record]:
    """Runs `jobs` (and what they depend on) to completion; their records, in order. A job that
    cannot run here (or was cancelled) gets a record with that status and the reason, not stored."""
    jobs = list(jobs)
    plan = Plan.build(jobs, store, fresh_after)
    engine = Engine(plan, executor or shared_executor()).start()
    nodes = [engine.wait(job) for job in jobs]
    engine.finish(close_executor=executor is not None)
    return [
        node.record or parse_record(node.job.base_record() | {"status": node.state, "failure": node.reason})
        for node in nodes
    ]

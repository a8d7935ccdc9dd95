"""Under pytest-xdist the first worker (gw0) hosts the engine; every other worker waits for the host's records in
the store, resolving dependencies the way the plan does."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from harness.engine.plan import Node, blocked, dependencies, preflight, resolve
from harness.engine.worker import failure
from harness.results import ResultStore, is_fresh
from harness.results.record import Record, parse_record

HOST_WORKER = "gw0"  # under xdist, the worker that runs the engine
HOST_START_TIMEOUT_S = 600  # how long a waiting xdist worker gives the host to start its engine


class StoreWaiter:
    """An xdist worker that does not host the engine: it waits for the host's records in the store,
    resolving dependencies the same way the plan does."""

    def __init__(self, store: ResultStore, status_dir: Path, fresh_after: str | None, session_started: str):
        self.store = store
        self.status_file = status_dir / "status.json"
        self.fresh_after = fresh_after
        self.session_started = session_started
        self.nodes: dict[str, Node] = {}

    def wait(self, job) -> Node:
        if job.name in self.nodes:
            return self.nodes[job.name]
        node = Node(job, ())
        deps = [self.wait(dep) for dep in dependencies(job)]
        outcome = blocked(deps) or (("skipped", reason) if (reason := preflight(job)) else None)
        if outcome:
            node.finish(outcome[0], reason=outcome[1])
        else:
            node.job = resolve(job, deps)
            record = self._record(node.job)
            node.finish("done" if record.ok else "failed", record, record.failure)
        self.nodes[job.name] = node
        return node

    def _record(self, job) -> Record:
        waited = 0.0
        while True:
            record = self.store.load(job.config_hash)
            if is_fresh(record, self.fresh_after):
                return record
            if record and not record.ok and record.finished_at >= self.session_started:
                return record
            status = self._host_status()
            if status is None and waited > HOST_START_TIMEOUT_S:
                return parse_record(
                    job.base_record()
                    | failure(f"the engine host ({HOST_WORKER}) did not start within {HOST_START_TIMEOUT_S} s")
                )
            if status is not None and (status["finished"] or not alive(status["host_pid"])):
                return parse_record(
                    job.base_record()
                    | failure(f"the engine host ({HOST_WORKER}) ended without a result for {job.name}")
                )
            time.sleep(1.0)
            waited += 1.0

    def _host_status(self) -> dict | None:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

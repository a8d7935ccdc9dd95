"""The plan: every job a selection needs, with the jobs they depend on, what the store already has,
what cannot run here (pre-flight), and an estimate of the rest from earlier runs' wall times.

A job tells the plan what it depends on with `dependencies()` (jobs whose records it reads: a probe
needs its fine-tuned model) and may finish its own configuration from them with
`with_dependencies(done)` (a measured curriculum takes its order from single-task results).
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from tabulate import tabulate

from harness.engine.progress import format_duration
from harness.jobs import JobProtocol
from harness.results import ResultStore, is_fresh
from harness.results.record import Record

FINAL = ("cached", "done", "failed", "skipped", "cancelled")


@dataclass
class Node:
    job: JobProtocol
    deps: tuple[str, ...]
    state: str = "pending"  # pending → running → done | failed | cancelled; or cached | skipped from the start
    reason: str | None = None  # why it was skipped or failed
    record: Record | None = None
    estimate: float | None = None  # seconds, from earlier runs of the same kind of job
    attempts: int = 0
    resolved: bool = False  # completed from its dependencies (see Plan.resolve)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def ok(self) -> bool:
        return self.state in ("cached", "done")

    def finish(self, state: str, record: Record | None = None, reason: str | None = None) -> None:
        self.state, self.record, self.reason = state, record, reason
        self.finished.set()


def dependencies(job: JobProtocol) -> tuple[JobProtocol, ...]:
    return tuple(job.dependencies())


def preflight(job: JobProtocol) -> str | None:
    return job.preflight()


ESTIMATE_FIELDS = ("kind", "task", "variant", "approach", "model", "profile")


def estimate_keys(record: Mapping[str, Any]) -> tuple[tuple, tuple, tuple]:
    """What a job's time is estimated from: runs of the same (kind, task, variant, approach, model, profile), else
    of the same kind of job on that model and profile, else (a kind never timed, e.g. one added since) of any job on
    that model and profile. `record`: a job's base record, a stored record's fields or a runs CSV row; empty fields
    read as None (a CSV's '' as a record's None)."""
    key = tuple(record.get(field) or None for field in ESTIMATE_FIELDS)
    return key, key[:1] + key[4:], key[4:]


class Plan:
    def __init__(
        self, store: ResultStore, fresh_after: str | None = None, reference: dict[tuple, list[float]] | None = None
    ):
        self.store = store
        self.fresh_after = fresh_after
        self.nodes: dict[str, Node] = {}  # insertion order: every job after its dependencies
        self.lock = threading.RLock()
        self._wall_times: dict[tuple, list[float]] | None = None
        self.reference = (
            reference or {}
        )  # wall times measured elsewhere (the published board's runs: harness.report.publish)

    @classmethod
    def build(
        cls, jobs, store: ResultStore, fresh_after: str | None = None, reference: dict[tuple, list[float]] | None = None
    ) -> Plan:
        plan = cls(store, fresh_after, reference)
        for job in jobs:
            plan.add(job)
        return plan

    def cached_record(self, job) -> Record | None:
        record = self.store.load(job.config_hash)
        if is_fresh(record, self.fresh_after):
            return record
        return None

    def add(self, job) -> Node:
        with self.lock:
            if job.name in self.nodes:
                return self.nodes[job.name]
            deps = [self.add(dep) for dep in dependencies(job)]
            node = Node(job, tuple(d.name for d in deps))
            self.nodes[job.name] = node
            outcome = blocked(deps) or (("skipped", reason) if (reason := preflight(job)) else None)
            if outcome:
                node.finish(outcome[0], reason=outcome[1])
            else:
                self.resolve(node)
                if node.state == "pending":  # also before its dependencies are done: it waits, but will run
                    node.estimate = self.estimate(node.job)
            return node

    def resolve(self, node: Node) -> None:
        """Once its dependencies are done: the job completed from them, and cached if the store has it."""
        deps = [self.nodes[name] for name in node.deps]
        if node.resolved or not all(d.ok for d in deps):
            return
        node.resolved = True
        node.job = resolve(node.job, deps)
        record = self.cached_record(node.job)
        if record:
            node.finish("cached", record)

    def estimate(self, job) -> float | None:
        """Seconds: the median of this store's runs of the same kind (harness.engine.plan.estimate_keys), else of the
        reference's, scaled by how this machine's times compare with the reference's where both ran the same job."""
        local = self._local_times()
        for key in estimate_keys(job.base_record()):
            if local.get(key):
                return statistics.median(local[key])
            if self.reference.get(key):
                return statistics.median(self.reference[key]) * self.speed_ratio()
        return None

    def _local_times(self) -> dict[tuple, list[float]]:
        if self._wall_times is None:
            self._wall_times = {}
            for record in self.store.records():
                if record.ok and record.wall_seconds:
                    for key in estimate_keys(record.model_dump()):
                        self._wall_times.setdefault(key, []).append(record.wall_seconds)
        return self._wall_times

    def speed_ratio(self) -> float:
        """This machine's time over the reference's, median over the jobs both have timed; 1 where none."""
        local = self._local_times()
        ratios = [
            statistics.median(local[key]) / statistics.median(times)
            for key, times in self.reference.items()
            if len(key) == len(ESTIMATE_FIELDS) and local.get(key) and statistics.median(times) > 0
        ]
        return statistics.median(ratios) if ratios else 1.0

    def observe(self, job, seconds: float) -> None:
        """A job of this run finished in `seconds`: it times its kind of job from now on, and the jobs still to run
        are estimated again."""
        with self.lock:
            for key in estimate_keys(job.base_record()):
                self._local_times().setdefault(key, []).append(seconds)
            for node in self.nodes.values():
                if node.state == "pending":
                    node.estimate = self.estimate(node.job)

    def counts(self) -> dict[str, int]:
        with self.lock:
            states = [n.state for n in self.nodes.values()]
        return {
            "done": states.count("done"),
            "failed": states.count("failed"),
            "cached": states.count("cached"),
            "skipped": states.count("skipped"),
            "cancelled": states.count("cancelled"),
            "left": states.count("pending"),
        }

    def remaining_estimate(self, slots: int, this_run: dict[str, list[float]] | None = None) -> float | None:
        """Seconds of work left (pending and running jobs) over the slots: each job's time from earlier runs,
        else `this_run`'s mean for its kind of job (job class: a multi-task mixture takes many times a
        probe), else this run's mean over every kind; None while any job has none of these."""
        this_run = this_run or {}
        everything = [seconds for times in this_run.values() for seconds in times]
        with self.lock:
            open_nodes = [n for n in self.nodes.values() if n.state in ("pending", "running")]
        total = 0.0
        for node in open_nodes:
            times = this_run.get(type(node.job).__name__) or everything
            if node.estimate is None and not times:
                return None
            total += node.estimate if node.estimate is not None else statistics.fmean(times)
        return total / max(1, slots)

    def table(self) -> str:
        rows = [
            [
                n.name,
                {"pending": "train"}.get(n.state, n.state),
                ", ".join(n.deps) or "-",
                format_duration(n.estimate) if n.state == "pending" else "",
                n.reason or "",
            ]
            for n in self.nodes.values()
        ]
        return tabulate(rows, headers=["job", "plan", "needs", "estimate", "note"])

    def summary(self, slots: int) -> str:
        counts = self.counts()
        to_train = [n for n in self.nodes.values() if n.state in ("pending", "running")]
        estimate = self.remaining_estimate(slots)
        unknown = sum(1 for n in to_train if n.estimate is None)
        eta = format_duration(estimate) if estimate is not None else f"unknown ({unknown} jobs never timed here)"
        source = (
            f" (times from this store, else the published board's runs × {self.speed_ratio():.2f} for this machine)"
            if self.reference and estimate is not None
            else ""
        )
        return (
            f"plan: {len(self.nodes)} jobs: {len(to_train)} to train, {counts['cached']} cached, "
            f"{counts['skipped']} cannot run here; estimate {eta} on {slots} workers{source}"
        )


def blocked(deps: list[Node]) -> tuple[str, str] | None:
    """A job whose dependency cannot run here is skipped, one whose dependency failed fails: the
    state and reason, or None while nothing blocks it."""
    broken = next((d for d in deps if d.state in ("skipped", "failed")), None)
    if broken is None:
        return None
    if broken.state == "skipped":
        return "skipped", f"needs {broken.name}, which cannot run here: {broken.reason}"
    return "failed", f"needs {broken.name}, which failed: {broken.reason}"


def resolve(job, deps: list[Node]):
    """The job with whatever it takes from its finished dependencies."""
    if deps:
        return job.with_dependencies({d.name: d for d in deps})
    return job

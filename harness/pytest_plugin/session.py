"""The pytest session's harness: its declarations (harness.declarations), where it stores and shows results, and how
it runs the jobs its tests need (harness.engine); built once per process from the command line."""

from __future__ import annotations

import enum
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.data import mirror_from
from harness.declarations import Declarations
from harness.engine import Engine
from harness.engine.devices import default_jobs_per_device, layout, parse_devices, visible_gpus
from harness.engine.executors import ExecutorOptions, executors
from harness.engine.plan import Plan
from harness.errors import SpecError
from harness.kinds import kinds
from harness.models import resolve_model
from harness.options import profile_as_run
from harness.pytest_plugin.xdist import HOST_WORKER, StoreWaiter
from harness.report import frame, publish
from harness.results import ResultStore, timestamp
from harness.results.record import Record, TrainingCost
from harness.specs.catalog import check_profile, load_approaches, load_profile, load_tasks


@dataclass
class TrainedRun:
    job: Any
    record: Record
    run_dir: Path

    @property
    def accuracy(self) -> float:
        return self.record.eval.accuracy


@dataclass
class HarnessSession(Declarations):
    """A pytest session's declarations (the jobs its tests are parametrized over) and how it runs them."""

    config: pytest.Config
    store: ResultStore
    leaderboard_path: Path
    fresh_after: str | None  # with --retrain, records finished before this are trained again
    run_id: str  # one per pytest run, shared by its xdist workers
    started: str
    engine: Engine | None = None
    waiter: StoreWaiter | None = None
    read_only: bool = False  # the store cannot be written and nothing needs training (see start)

    def jobs_of(self, item: pytest.Item) -> list:
        """The jobs whose records a collected test reads."""
        params = getattr(getattr(item, "callspec", None), "params", {})
        needed = []
        for kind in kinds().values():
            job = params.get(f"{kind.fixture}_job")
            if job is not None and not isinstance(job, enum.Enum):  # an empty parametrization holds an enum placeholder
                needed += kind.needs(job)
                needed += [extra(job, self) for name, extra in kind.extras.items() if name in item.fixturenames]
        return needed

    # -- running --

    @property
    def status_dir(self) -> Path:
        return self.store.root / "engine" / self.run_id

    @property
    def hosts_engine(self) -> bool:
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        return worker in (None, HOST_WORKER)

    def slots(self) -> list:
        option = self.config.getoption
        devices = parse_devices(option("devices"), visible_gpus())
        gpu = devices[0].kind == "cuda"
        per_device = option("jobs_per_device") or default_jobs_per_device(
            devices[0],
            (os.cpu_count() or 1) // len(devices),
            self._measured_cuda_peaks() if gpu else [],
            _device_memory(devices[0]),
        )
        return layout(devices, per_device)

    def executor(self):
        """The --executor's (harness.engine.executors), for this session's slots."""
        create = executors()[self.config.getoption("executor")]
        return create(
            ExecutorOptions(self.slots(), log_dir=self.status_dir, address=self.config.getoption("ray_address"))
        )

    def _measured_cuda_peaks(self) -> list[int]:
        return [
            r.peak_memory_bytes
            for r in self.store.records()
            if r.profile == self.profile.name
            and isinstance(r, TrainingCost)
            and r.peak_memory_bytes
            and str(r.peak_memory_kind).startswith("CUDA")
        ]

    def plan(self, needed: list) -> Plan:
        """The jobs with what the store has; times of jobs never run here from the published board's runs."""
        return Plan.build(needed, self.store, self.fresh_after, publish.reference_wall_times(self.profile))

    def start(self, needed: list) -> Plan | None:
        """Plans the jobs and, in the host, starts running them; elsewhere, waits for the host's records."""
        if not self.hosts_engine:
            self.waiter = StoreWaiter(self.store, self.status_dir, self.fresh_after, self.started)
            return None
        plan = self.plan(needed)
        problem = self.store.unwritable()
        if problem:
            to_train = [node.name for node in plan.nodes.values() if node.state == "pending"]
            if to_train:
                pytest.exit(
                    f"results store {self.store.root} is not writable ({problem}) and {len(to_train)} jobs need "
                    f"training (e.g. {to_train[0]}): choose a writable store with --results-dir or "
                    "$HARNESS_RESULTS_DIR",
                    returncode=pytest.ExitCode.USAGE_ERROR,
                )
            self.read_only = True  # every record is cached: serve them, write nothing into the store
        self.engine = Engine(plan, self.executor(), None if self.read_only else self.status_dir).start()
        return plan

    def require(self, job) -> TrainedRun:
        """The trained run for a test: skipped where pre-flight says it cannot run, failed with the
        job's reason where training failed."""
        if self.engine is None and self.waiter is None:
            self.start([])
        node = self.engine.wait(job) if self.engine else self.waiter.wait(job)
        if node.state == "skipped":
            pytest.skip(node.reason)
        if not node.ok:
            pytest.fail(f"{job.name}: {node.reason}", pytrace=False)
        return TrainedRun(node.job, node.record, self.store.run_dir(node.job.config_hash))

    def scope(self) -> frame.Scope:
        return frame.Scope(self.profile.name, self.profile.description, self.model.name, self.source.describe())


def _device_memory(device) -> int | None:
    if device.kind != "cuda":
        return None
    import torch

    return torch.cuda.get_device_properties(device.index).total_memory


def _parse_seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError(f"--seeds: expected comma-separated integers, got '{text}'") from None


def build_session(config: pytest.Config) -> HarnessSession:
    profile = profile_as_run(load_profile(config.getoption("profile")), config.getoption("precision"))
    tasks, approaches = load_tasks().specs, load_approaches().specs
    check_profile(profile, tasks, approaches)
    seeds = _parse_seeds(config.getoption("seeds")) if config.getoption("seeds") else None
    shared = getattr(config, "workerinput", {}).get("harness_run")  # set by the xdist controller
    started = shared["started"] if shared else timestamp()
    session = HarnessSession(
        config=config,
        profile=profile,
        model=resolve_model(config.getoption("model") or profile.model),
        seeds=seeds,
        source=mirror_from(config.getoption("data_dir")),
        store=ResultStore(Path(config.getoption("results_dir"))),
        tasks=tasks,
        approaches=approaches,
        leaderboard_path=Path(
            config.getoption("leaderboard") or publish.local_board(Path(config.getoption("results_dir")), profile)
        ),
        fresh_after=started if config.getoption("retrain") else None,
        run_id=shared["id"] if shared else f"{os.getpid()}-{int(time.time())}",
        started=started,
    )
    _ = session.suites  # a profile's cut of a suite that does not fit it stops the run here, with its file and field
    return session


HARNESS_KEY = pytest.StashKey[HarnessSession]()

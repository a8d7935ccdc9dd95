"""The job engine: plan the jobs a selection needs, run them on warm workers, pin workers to devices.

    plan.py       the dependency graph of jobs, what the store already has, and a time estimate
    devices.py    which devices jobs run on, and how many jobs share one
    worker.py     what runs inside a worker process: set-up once, then one job at a time
    memory.py     per-job peak memory inside a long-lived worker
    executors.py  where jobs run: warm local processes (concurrent.futures) or a Ray cluster
    runner.py     the scheduler: submits jobs whose dependencies are done, retries a crashed worker's job once
    progress.py   one status line for the whole run, and per-job step counts

Tests and scripts call `run(jobs, store)`; the pytest plugin builds one plan per session.
"""

from harness.engine.runner import Engine, run

__all__ = ["Engine", "run"]

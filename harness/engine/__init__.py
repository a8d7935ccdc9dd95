"""The job engine: plan the jobs a selection needs, run them on warm workers, pin workers to devices.

    plan.py       the dependency graph of jobs, what the store already has, and a time estimate
    devices.py    which devices jobs run on, and how many jobs share one
    worker.py     what runs inside a worker process: set-up once, then one job at a time
    executors/    where jobs run, one module per executor: warm local processes (local.py) or a Ray cluster (ray.py)
    runner.py     the scheduler: submits jobs whose dependencies are done, retries a crashed worker's job once
    progress.py   one status line for the whole run, with each running job's steps

Tests and scripts call `run(jobs, store)`; the pytest plugin builds one plan per session.
"""

from harness.engine.runner import Engine, run

__all__ = ["Engine", "run"]

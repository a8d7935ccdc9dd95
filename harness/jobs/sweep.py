"""Hyper-parameter sweeps that only look at the dev slice.

One single-task job per value (and seed) trains on the task's training subset and is scored on the dev
slice held out of the training split (harness.jobs.load_task_data); the evaluation split's scores are
never read here. The sweep is written to `sweeps/<profile>/<task>-<approach>-<parameter>.yaml`, which
profile and approach settings cite.

    python -m harness sweep --profile quick --task sst2 --approach head-only \\
        --parameter head_learning_rate --values 5e-4,2e-3,1e-2 --seeds 0
    python -m harness sweep --task mnli --approach lora --parameter pooling --values mean,first-token
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np
import yaml

from harness.jobs import Job
from harness.results.checks import correct
from harness.results.record import EvaluationRecord, Record
from harness.specs import PROJECT_ROOT
from harness.stats import paired_bootstrap

SWEEPS_DIR = PROJECT_ROOT / "sweeps"
PARAMETERS = ("learning_rate", "head_learning_rate", "pooling")


@dataclass(frozen=True)
class SweepJob(Job):
    parameter: str = "learning_rate"
    value: str = ""
    scores_eval_split: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return f"sweep-{self.task.name}-{self.approach.name}-{self.parameter}={self.value}-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return super().identity() | {"purpose": "sweep"}  # never taken for (nor mistaken for) a leaderboard run

    def base_record(self) -> dict[str, Any]:
        return super().base_record() | {"kind": "sweep", "variant": f"{self.parameter}={self.value}"}


def sweep_job(job: Job, parameter: str, value: str) -> SweepJob:
    """`job` with one setting changed: the approach's learning rate, the profile's head learning rate, or
    the head's pooling (harness.models.heads)."""
    if parameter == "pooling":
        changed = replace(job, model=replace(job.model, pooling=value))
    elif parameter == "learning_rate":
        changed = replace(job, approach=job.approach.model_copy(update={"learning_rate": float(value)}))
    else:
        training = job.profile.training.model_copy(update={parameter: float(value)})
        changed = replace(job, profile=job.profile.model_copy(update={"training": training}))
    return SweepJob(
        **{field.name: getattr(changed, field.name) for field in fields(changed)}, parameter=parameter, value=value
    )


def summarise(jobs: list[SweepJob], records: list[Record]) -> dict[str, Any]:
    """Dev accuracy per value (mean over seeds), the value chosen (the best; ties: the first listed), and the
    values a paired bootstrap on the same dev examples and seeds cannot tell from it (harness.stats)."""
    by_value: dict[str, dict[int, EvaluationRecord]] = {}
    for job, record in zip(jobs, records):
        if record.ok:
            by_value.setdefault(job.value, {})[job.seed] = record.dev
    dev = {
        value: statistics.fmean(summary.accuracy for summary in by_seed.values()) for value, by_seed in by_value.items()
    }
    chosen = max(dev, key=dev.get) if dev else None
    correct_by_seed = {
        value: {seed: correct(summary) for seed, summary in by_seed.items()} for value, by_seed in by_value.items()
    }
    first = jobs[0]
    return {
        "task": first.task.name,
        "approach": first.approach.name,
        "parameter": first.parameter,
        "profile": first.profile.name,
        "model": first.model.name,
        "seeds": sorted({job.seed for job in jobs}),
        "dev_split": records[0].dev_split if records else None,
        "dev_accuracy": {value: round(accuracy, 4) for value, accuracy in dev.items()},
        "chosen": chosen,
        "within_noise_of_chosen": [
            value for value in dev if value != chosen and not _differs(correct_by_seed[value], correct_by_seed[chosen])
        ],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _differs(ours: dict[int, np.ndarray], theirs: dict[int, np.ndarray]) -> bool:
    interval = paired_bootstrap(ours, theirs)
    return interval is not None and interval.excludes_zero()


def write(summary: dict[str, Any]) -> str:
    path = SWEEPS_DIR / summary["profile"] / f"{summary['task']}-{summary['approach']}-{summary['parameter']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `python -m harness sweep`; scores are on the dev slice only.\n"
        + yaml.safe_dump(summary, sort_keys=False)
    )
    return str(path.relative_to(PROJECT_ROOT))

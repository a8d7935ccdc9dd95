"""The store's records as a data frame: one row per run, the newest record of each (kind, task, approach, variant,
seed) within one scope (profile, model, data source)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from harness.results.record import Record
from harness.specs import PROJECT_ROOT

RUN_KEY = ["kind", "task", "approach", "variant", "seed"]  # a newer record of the same key replaces the older
RUN_KEY_DEFAULTS = {"kind": "single-task", "variant": ""}  # records from before kinds and variants were recorded
ALWAYS = [
    "status",
    "finished_at",
    "profile",
    "model",
    "data_source",
    "hardware",
    "peak_memory_kind",
    "failure",
]  # columns even when no record has them


@dataclass(frozen=True)
class Scope:
    profile: str
    profile_description: str
    model: str
    data_source: str


def shown_source(data_source: str) -> str:
    """A data source as a committed board shows it: a mirror's path relative to the project (`mirror ../shared/data`),
    not one machine's absolute path; records keep what they ran on."""
    kind, _, where = data_source.partition(" ")
    if kind != "mirror" or not Path(where).is_absolute():
        return data_source
    return f"mirror {os.path.relpath(where, PROJECT_ROOT)}"


def run_key(record: Record | Mapping[str, Any]) -> tuple:
    """A record's RUN_KEY (of a stored record, or of a job's base record), with the defaults fill_run_key gives
    records from before kinds and variants."""
    fields = record if isinstance(record, Mapping) else record.model_dump(include=set(RUN_KEY))
    return tuple(
        (fields.get(field) or RUN_KEY_DEFAULTS[field]) if field in RUN_KEY_DEFAULTS else fields[field]
        for field in RUN_KEY
    )


def runs_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per record: its top-level fields as columns (missing ones NaN), `kind` and `variant` filled in,
    `accuracy` from its metrics, and the record itself in `record` for cells that need its predictions."""
    records = list(records)
    rows = [record.model_dump(exclude_none=True) for record in records]
    columns = sorted({field for row in rows for field in row} | {*RUN_KEY, *ALWAYS})
    frame = pd.DataFrame(rows, columns=columns)
    frame["record"] = records
    fill_run_key(frame)
    frame["accuracy"] = [(row.get("metrics") or {}).get("accuracy") for row in rows]
    return frame


def fill_run_key(frame: pd.DataFrame) -> None:
    """Records from before kinds and variants were recorded are single-task runs without a variant."""
    for column, default in RUN_KEY_DEFAULTS.items():
        frame[column] = frame[column].where(frame[column].notna(), default) if column in frame else default


def select(records: Iterable[Record], scope: Scope) -> list[Record]:
    frame = runs_frame(records)
    in_scope = (
        (frame["profile"] == scope.profile)
        & (frame["model"] == scope.model)
        & (frame["data_source"] == scope.data_source)
        & (frame["kind"] != "sweep")
    )  # sweeps: hyper-parameter search on the dev slice (harness.jobs.sweep), not results
    newest = frame[in_scope].sort_values("finished_at", kind="stable").drop_duplicates(RUN_KEY, keep="last")
    return newest.sort_values(RUN_KEY, kind="stable")["record"].tolist()

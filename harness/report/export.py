"""Every run's numbers as CSV beside its board, for analysis outside the harness."""

from __future__ import annotations

import json
from typing import Any, Iterable

import pandas as pd

from harness.report.frame import RUN_KEY, fill_run_key, shown_source
from harness.results.record import Record

PER_EXAMPLE = ("predictions", "labels")  # one digit per example: in the store's records, not in the CSV
NOT_EXPORTED = ("config", "worker")  # config_hash names the config; the worker is where it ran, not what


def _without_per_example(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_per_example(inner) for key, inner in value.items() if key not in PER_EXAMPLE}
    return value


def runs_csv(records: Iterable[Record]) -> str:
    """One row per run, for analysis outside the harness: every record field, nested ones flattened to dotted
    columns (`eval.metrics.accuracy`, `ood.imdb.metrics.accuracy`, `per_task.mnli.metrics.accuracy`,
    `package_versions.torch`), lists as JSON; without the per-example predictions and the config itself."""
    frame = pd.json_normalize([_without_per_example(record.model_dump(exclude_none=True)) for record in records])
    frame = frame.drop(columns=[c for c in frame.columns if c.split(".")[0] in NOT_EXPORTED])
    frame = frame.reindex(columns=list(dict.fromkeys([*RUN_KEY, *frame.columns])))  # an empty store: a header alone
    if "data_source" in frame:
        frame["data_source"] = frame["data_source"].map(shown_source, na_action="ignore")
    frame = frame.map(lambda cell: json.dumps(cell, ensure_ascii=False) if isinstance(cell, list) else cell)
    fill_run_key(frame)
    first = RUN_KEY + [column for column in ("status", "config_hash") if column in frame.columns]
    frame = frame[first + sorted(set(frame.columns) - set(first))]
    return frame.sort_values(
        RUN_KEY, key=lambda column: column if column.name == "seed" else column.astype(str)
    ).to_csv(index=False)

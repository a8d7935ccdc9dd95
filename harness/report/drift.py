"""Runs the declarations have moved on from: each stored run's config against the identity its job has today."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from harness.report.frame import run_key
from harness.report.tables import table
from harness.results.record import Record

Declared = Mapping[tuple, dict[str, Any]]  # run key -> the identity its job has today, as stored (harness.declarations)


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested fields as dotted keys; by hand, as pandas' json_normalize turns None into NaN, which equals nothing."""
    flat = {}
    for key, value in config.items():
        flat.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) and value else {f"{prefix}{key}": value})
    return flat


def changes_since(record: Record, declared: Declared | None) -> list[str]:
    """How the YAML declarations today differ from what this run trained with, as `field: then → now`; empty where
    they agree or nothing can be compared (no declarations given, or a run they do not declare — other seeds, a
    suite since removed)."""
    now = declared.get(run_key(record)) if declared else None
    if now is None:
        return []
    then, now = _flat(record.config), _flat(now)
    return [
        f"{field}: {_short(then.get(field, '–'))} → {_short(now.get(field, '–'))}"
        for field in sorted(then.keys() | now.keys())
        if then.get(field) != now.get(field)
    ]


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def changed_runs(records: Iterable[Record], declared: Declared | None) -> dict[tuple, dict[str, Any]]:
    """By (kind, task, approach, variant): the seeds whose runs the declarations have moved on from, and what
    changed."""
    changed: dict[tuple, dict[str, Any]] = {}
    for record in records:
        changes = changes_since(record, declared)
        if changes:
            entry = changed.setdefault(run_key(record)[:-1], {"seeds": [], "changes": set()})
            entry["seeds"].append(record.seed)
            entry["changes"].update(changes)
    return changed


def changed_table(changed: dict[tuple, dict[str, Any]]) -> str:
    return table(
        [
            [*key, ",".join(str(s) for s in sorted(entry["seeds"])), "; ".join(sorted(entry["changes"]))]
            for key, entry in sorted(changed.items())
        ],
        headers=["kind", "task", "approach", "variant", "seeds", "then → now"],
    )

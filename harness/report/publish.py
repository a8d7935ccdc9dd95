"""Where leaderboards go: a run's own board beside its results store, and the published boards that change only
through `publish`.

- Local: every run writes `<results-dir>/leaderboard-<profile>.md` (its runs as CSV and its plots beside it),
  whatever it selected; nothing committed changes.
- Published: a profile's `leaderboard:` field names its committed board (`leaderboard.md` for quick).
  `python -m harness leaderboard --publish` writes it from the store, and refuses, naming them, when the store
  lacks runs the published board shows (read from the CSV beside it), so a `-k` subset or an interrupted run
  never makes runs disappear. `--allow-fewer` drops them on purpose (a task removed from the profile).
- The published runs' wall times also estimate how long a fresh clone's plan will take (harness.engine.plan).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from harness.engine.plan import estimate_keys
from harness.errors import HarnessError
from harness.report.board import board_files, write
from harness.report.drift import Declared
from harness.report.frame import RUN_KEY, Scope, runs_frame, select
from harness.results.record import Record
from harness.specs import PROJECT_ROOT, ProfileSpec, display_path

SHOWN_MISSING = 8  # groups of missing runs named in a refusal; the rest are counted


def local_board(store_root: Path, profile: ProfileSpec) -> Path:
    return Path(store_root) / f"leaderboard-{profile.name}.md"


def published_board(profile: ProfileSpec) -> Path | None:
    return PROJECT_ROOT / profile.leaderboard if profile.leaderboard else None


def published_runs(profile: ProfileSpec) -> pd.DataFrame:
    """The published board's runs (its CSV, every column as text); empty where it has none."""
    board = published_board(profile)
    runs = board_files(board)["runs"] if board else None
    if runs is None or not runs.is_file():
        return pd.DataFrame(columns=RUN_KEY)
    frame = pd.read_csv(runs, dtype=str, keep_default_na=False)
    return frame if set(RUN_KEY) <= set(frame.columns) else pd.DataFrame(columns=RUN_KEY)


def _keys(frame: pd.DataFrame) -> set[tuple[str, ...]]:
    """Run keys as text, so that the CSV's and the store's compare (a seed is '0' in both, a missing task '')."""
    return {tuple(_text(value) for value in row) for row in frame[RUN_KEY].itertuples(index=False)}


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def missing_runs(published: pd.DataFrame, records: list[Record]) -> list[tuple[str, ...]]:
    """Run keys the published board shows that `records` (one scope's, harness.select) lack."""
    stored = _keys(runs_frame(records)) if records else set()
    return sorted(_keys(published) - stored)


def describe_missing(missing: list[tuple[str, ...]]) -> str:
    """'single-task sst2 full seeds 0,1,2; multitask … (and 12 more groups)'."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for *key, seed in missing:
        groups.setdefault(tuple(part for part in key if part), []).append(seed)
    named = [
        f"{' '.join(key)} seed{'s' if len(seeds) > 1 else ''} {','.join(seeds)}"
        for key, seeds in list(groups.items())[:SHOWN_MISSING]
    ]
    more = len(groups) - SHOWN_MISSING
    return "; ".join(named) + (f" (and {more} more groups)" if more > 0 else "")


def publish(
    profile: ProfileSpec,
    records: Iterable[dict[str, Any]],
    scope: Scope,
    store_root: Path,
    declared: Declared | None,
    allow_fewer: bool = False,
) -> tuple[Path, int]:
    """Writes the profile's published board from the store; its path and how many runs it shows. Refuses, saying
    which, where the store lacks runs the published board has, unless `allow_fewer`."""
    board = published_board(profile)
    if board is None:
        raise HarnessError(
            f"profile '{profile.name}' has no published board (no 'leaderboard' field in its YAML): "
            f"its runs' board is {display_path(local_board(store_root, profile))}"
        )
    records = list(records)
    missing = missing_runs(published_runs(profile), select(records, scope))
    if missing and not allow_fewer:
        raise HarnessError(
            f"not publishing {display_path(board)}: the store {store_root} lacks {len(missing)} of the runs it shows "
            f"({describe_missing(missing)}). Train them into this store (the same command without -k, or "
            "--results-dir pointing at the store the board came from), or pass --allow-fewer to drop them."
        )
    return board, write(board, records, scope, store_root, declared)


def reference_wall_times(profile: ProfileSpec) -> dict[tuple, list[float]]:
    """Wall seconds of the published board's runs by harness.engine.plan.estimate_keys (the same job, and any job of
    its kind), for a plan that has no local times yet."""

    times: dict[tuple, list[float]] = {}
    for row in published_runs(profile).to_dict("records"):
        try:
            seconds = float(row.get("wall_seconds", ""))
        except ValueError:
            continue
        if row.get("status") == "ok":
            for key in estimate_keys(row):
                times.setdefault(key, []).append(seconds)
    return times

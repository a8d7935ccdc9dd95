"""Suite kinds. A suite YAML's `kind` picks its schema, how it expands into jobs for a session, and
the fixture its tests take (`<fixture>_run`, parametrized over `<fixture>_job`). Each kind registers
itself from its own module, as an approach method does; a new kind is one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


def _itself(job) -> tuple:
    return (job,)


@dataclass(frozen=True)
class SuiteKind:
    name: str  # the YAML's `kind`
    fixture: str  # tests take `<fixture>_run`
    load: Callable[[Path, dict, dict], Any]  # parses the YAML and checks the tasks and approaches it names
    jobs: Callable[[Any, Any], list]  # (suite, session) -> the suite's jobs for the session's model, profile, seeds
    needs: Callable[[Any], tuple] = _itself  # the jobs a test of this kind reads: its own, and any it compares with
    runs_own_job: bool = True  # False: the kind's `<fixture>_job` is a check over `needs`, with no `<fixture>_run`
    # Its leaderboard section: (the kind's successful runs as harness.leaderboard's data frame, or the single-task
    # runs for a kind with no job of its own; the single-task records by (task, approach)) -> markdown lines;
    # None for kinds whose results show in other tables.
    leaderboard: Callable[[Any, dict], list[str]] | None = None


KINDS: dict[str, SuiteKind] = {}


def register(kind: SuiteKind) -> SuiteKind:
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, SuiteKind]:
    """Every registered kind, the built-in ones imported (and so registered) first."""
    import harness.multitask  # noqa: F401
    import harness.pretraining  # noqa: F401
    import harness.probe  # noqa: F401
    import harness.references  # noqa: F401
    import harness.sequential  # noqa: F401

    return KINDS

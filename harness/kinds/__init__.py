"""Suite kinds. A suite YAML's `kind` picks its schema, how it expands into jobs for a session, and
the fixture its tests take (`<fixture>_run`, parametrized over `<fixture>_job`). Each kind registers
itself from its own module in this package, found by `kinds()`: a new kind is one module here (plus its
suite YAML and test module), with nothing to list anywhere else. Its board section uses the table API of
harness.report.tables only.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.errors import SpecError
from harness.results.record import discover_with


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
    # More fixtures per job: name -> (job, session) -> the job whose run that fixture gives (a baseline beside it);
    # trained only for the tests that take the fixture.
    extras: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    # (jobs, session, **kwargs of a test's `@pytest.mark.harness_jobs(...)`) -> the jobs that test is parametrized over.
    select: Callable[..., list] | None = None
    # Its board section: (the kind's successful runs as harness.report.frame's data frame, or the single-task runs for
    # a kind with no job of its own; harness.report.tables.BoardContext) -> markdown lines; None for kinds whose
    # results show in other tables. Sections follow `order`, then the name.
    leaderboard: Callable[[Any, Any], list[str]] | None = None
    # Its lines of the board's opening "What the numbers say" (harness.report.answers), from the same runs and context:
    # markdown list items, each answer with its number and interval, or saying why there is none; None for no lines.
    answers: Callable[[Any, Any], list[str]] | None = None
    order: int = 50


def at_suite_seeds(expand: Callable[..., list]) -> Callable[[Any, Any], list]:
    """A kind's `jobs` from a function of (suite, tasks, approaches, model, profile, seeds, source), called with the
    session's, at the seeds of the suites (multi-task and sequential kinds)."""

    def jobs(suite, session) -> list:
        return expand(
            suite,
            session.tasks,
            session.approaches,
            session.model,
            session.profile,
            session.suite_seeds,
            session.source,
        )

    return jobs


KINDS: dict[str, SuiteKind] = {}


def register(kind: SuiteKind) -> SuiteKind:
    """Adds a kind; a second kind of the same name (or fixture) is an error, not a silent replacement."""
    for other in KINDS.values():
        if other is not kind and (other.name == kind.name or other.fixture == kind.fixture):
            raise SpecError(
                f"suite kind '{kind.name}' (fixture '{kind.fixture}') clashes with the registered kind "
                f"'{other.name}' (fixture '{other.fixture}'); rename one of them"
            )
    KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, SuiteKind]:
    """Every registered kind: each module of this package is imported (and so registers its kind) first."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return KINDS


discover_with(kinds)  # a record read before any kind module was imported still gets its kind's type

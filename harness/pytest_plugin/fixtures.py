"""The fixtures suite tests take: `harness` (the session), and for every suite kind `<fixture>_run` (the trained run of
the `<fixture>_job` a test is parametrized with) and the kind's extra fixtures (`frozen_features_run`: the
single-task job's frozen-feature baseline), made from the kinds' registry."""

from __future__ import annotations

import inspect

import pytest

from harness.kinds import kinds
from harness.pytest_plugin.session import HARNESS_KEY, HarnessSession, TrainedRun


@pytest.fixture(scope="session")
def harness(pytestconfig: pytest.Config) -> HarnessSession:
    return pytestconfig.stash[HARNESS_KEY]


def _job_fixture(fixture: str, name: str, job_of):
    """A fixture `name` taking `<fixture>_job` and `harness`: the trained run of `job_of(job, harness)`."""

    def run(**arguments) -> TrainedRun:
        session = arguments["harness"]
        return session.require(job_of(arguments[f"{fixture}_job"], session))

    parameter = inspect.Parameter.POSITIONAL_OR_KEYWORD
    run.__signature__ = inspect.Signature(
        [inspect.Parameter(f"{fixture}_job", parameter), inspect.Parameter("harness", parameter)]
    )
    run.__name__ = name
    return pytest.fixture(run, name=name)


for _kind in kinds().values():
    if _kind.runs_own_job:
        globals()[f"{_kind.fixture}_run"] = _job_fixture(_kind.fixture, f"{_kind.fixture}_run", lambda job, _: job)
    for _name, _extra in _kind.extras.items():
        globals()[_name] = _job_fixture(_kind.fixture, _name, _extra)

"""Selection by markers: every task and approach YAML is a registered marker, and `-m` selects exactly
the tests whose jobs use it."""

import subprocess
import sys

from harness.specs import PROJECT_ROOT
from harness.specs.catalog import load_approaches, load_tasks


def pytest_in_project(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_every_task_and_approach_is_a_registered_marker():
    registered = {
        line.split(":")[0].removeprefix("@pytest.mark.") for line in pytest_in_project("--markers").splitlines()
    }
    assert (
        set(load_tasks().specs) | set(load_approaches().specs) | {"single_task", "multitask", "inference"} <= registered
    )


def test_marker_expression_selects_the_tests_whose_jobs_use_them():
    collected = [
        line
        for line in pytest_in_project(
            "suites/", "--profile", "tiny", "-m", "lora and sst2", "--collect-only", "-q"
        ).splitlines()
        if "::" in line
    ]
    assert any("test_single_task.py::test_beats_majority_class[sst2-lora-seed0]" in line for line in collected)
    assert any("test_multitask.py" in line for line in collected)  # mixtures of sst2 and other tasks, trained with lora
    assert all("lora" in line for line in collected) and not any(
        "qlora" in line and "-lora" not in line for line in collected
    )

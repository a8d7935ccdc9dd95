"""Every task, approach and profile YAML in the project validates; a broken one fails here by name
while the other tasks still train."""

import pytest

from harness.specs import (
    APPROACHES_DIR,
    PROFILES_DIR,
    SUITES_DIR,
    TASKS_DIR,
    display_path,
)
from harness.specs.catalog import load_all_errors

SPEC_FILES = sorted(
    display_path(p) for d in (TASKS_DIR, APPROACHES_DIR, PROFILES_DIR, SUITES_DIR) for p in d.glob("*.yaml")
)


@pytest.fixture(scope="module")
def spec_errors():
    return load_all_errors()


@pytest.mark.parametrize("path", SPEC_FILES)
def test_spec_file_is_valid(path, spec_errors):
    if path in spec_errors:
        pytest.fail(spec_errors[path], pytrace=False)

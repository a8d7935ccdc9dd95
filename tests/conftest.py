"""Fixtures for the harness's own tests: the real data mirror, small task specs and tiny models."""

import os
from pathlib import Path

import pytest

from harness.data import DataSource
from harness.specs import PROJECT_ROOT, TaskSpec

MIRROR = Path(os.environ.get("HARNESS_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def mirror() -> DataSource:
    if not (MIRROR / "sst2").is_dir():
        pytest.skip(f"no data mirror at {MIRROR} (set HARNESS_DATA_DIR)")
    return DataSource(MIRROR.resolve())


@pytest.fixture
def sst2_spec() -> TaskSpec:
    return TaskSpec.model_validate(
        dict(
            name="sst2",
            dataset={"path": "glue", "name": "sst2"},
            text_fields=["sentence"],
            label_names=["negative", "positive"],
            splits={"train": "train", "eval": "validation"},
            max_length=32,
        )
    )


@pytest.fixture
def mnli_spec() -> TaskSpec:
    return TaskSpec.model_validate(
        dict(
            name="mnli",
            dataset={"path": "glue", "name": "mnli"},
            text_fields=["premise", "hypothesis"],
            label_names=["entailment", "neutral", "contradiction"],
            splits={"train": "train", "eval": "validation_matched"},
            fallback_splits={"train": "validation_matched[:80%]", "eval": "validation_matched[80%:]"},
            max_length=64,
        )
    )

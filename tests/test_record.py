"""The typed record (harness.results.record): every field declared once, by the kind that writes it; the store
refuses what does not fit, naming the field, and reads the untyped records of earlier versions."""

import json

import pytest
from record_factory import make_evaluation, make_record

from harness.results import RECORD_FILE, ResultStore
from harness.results.record import (
    SCHEMA_VERSION,
    Record,
    UnknownKindRecord,
    parse_record,
    record_class,
    record_type,
)


def test_each_kind_reads_as_its_own_type_and_a_misspelt_field_is_refused_by_name():
    assert record_class("multitask").__name__ == "MultiTaskRecord"
    assert record_class("sequential").__name__ == "SequentialRecord"
    record = make_record(eval=make_evaluation([1, 0, 1], [1, 1, 1], majority_class=1), majority_class=1)
    assert record.eval.accuracy == pytest.approx(2 / 3) and record.schema_version == SCHEMA_VERSION
    with pytest.raises(ValueError, match="train_loss_ned"):
        make_record(train_loss_ned=0.3)
    with pytest.raises(ValueError, match="per_task"):
        make_record(kind="single-task", per_task={})  # a multi-task field on a single-task record
    with pytest.raises(ValueError, match="seed"):
        make_record(seed="zero")


def test_a_record_without_a_schema_version_reads_as_today_and_a_newer_one_is_refused():
    raw = json.loads(make_record().to_json())
    del raw["schema_version"]
    assert parse_record(raw).schema_version == SCHEMA_VERSION
    with pytest.raises(ValueError, match="newer harness"):
        parse_record(raw | {"schema_version": SCHEMA_VERSION + 1})


def test_a_kind_nobody_registered_keeps_its_own_fields():
    record = make_record(kind="from-a-plugin-not-installed", anything={"kept": 1})
    assert isinstance(record, UnknownKindRecord) and record.anything == {"kept": 1}


def test_a_second_type_for_a_registered_kind_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        record_type("single-task")(type("Other", (Record,), {"__annotations__": {}}))


def test_a_stored_record_that_does_not_fit_its_kind_is_set_aside_naming_the_field(tmp_path):
    store = ResultStore(tmp_path)
    record = make_record(config_hash="abc")
    store.write(record)
    path = store.run_dir("abc") / RECORD_FILE
    raw = json.loads(path.read_text())
    path.write_text(json.dumps(raw | {"train_seconds": "fast"}))
    ((_, problem),) = store.problems()
    assert "train_seconds" in problem
    assert store.load("abc") is None and "train_seconds" in store.set_aside[0]
    (kept,) = store.run_dir("abc").glob(f"{RECORD_FILE}.damaged-*")
    assert json.loads(kept.read_text())["train_seconds"] == "fast"  # kept as it was, never deleted

"""The loader: the real mirror, fallback splits, field and label checks, subsets, tokenization cache,
and the hub path mocked at the `datasets` boundary."""

import gzip
import json

import datasets
import pytest

from harness.data import (
    DataSource,
    load_examples,
    mirror_from,
    resolve_splits,
    tokenize,
)
from harness.errors import DataError
from harness.models import load_tokenizer, resolve_model
from harness.specs import TaskSpec


def write_mirror(root, task, split, rows):
    (root / task).mkdir(parents=True, exist_ok=True)
    with gzip.open(root / task / f"{split}.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    return DataSource(root)


def test_mirror_uses_declared_splits_when_present(mirror, sst2_spec):
    assert resolve_splits(sst2_spec, mirror) == sst2_spec.splits
    validation = load_examples(sst2_spec, mirror, "validation", limit=None)
    assert len(validation) == 872 and validation[0]["sentence"].startswith("it 's a charming")


def test_missing_train_split_falls_back_to_disjoint_parts(mirror, mnli_spec):
    splits = resolve_splits(mnli_spec, mirror)
    assert splits == mnli_spec.fallback_splits
    train = load_examples(mnli_spec, mirror, splits.train, limit=None)
    evaluation = load_examples(mnli_spec, mirror, splits.eval, limit=None)
    assert len(train) + len(evaluation) == 9815
    assert not set(train["idx"]) & set(evaluation["idx"])


def test_missing_split_without_fallback_is_one_clear_error(tmp_path, sst2_spec):
    source = write_mirror(tmp_path, "sst2", "validation", [{"sentence": "fine", "label": 1}])
    with pytest.raises(
        DataError, match=r"tasks/sst2.yaml: field 'splits': mirror .* has no split train .*declare fallback_splits"
    ):
        resolve_splits(sst2_spec, source)


def test_label_outside_declared_names_is_refused(tmp_path, sst2_spec):
    source = write_mirror(tmp_path, "sst2", "train", [{"sentence": "a", "label": 0}, {"sentence": "b", "label": 2}])
    with pytest.raises(DataError, match=r"field 'label_names': split 'train' has label 2, outside the 2 declared"):
        load_examples(sst2_spec, source, "train", limit=None)


def test_missing_text_column_is_named(tmp_path, sst2_spec):
    source = write_mirror(tmp_path, "sst2", "train", [{"text": "a", "label": 0}])
    with pytest.raises(
        DataError, match=r"field 'text_fields': column 'sentence' not in split 'train' \(columns: text, label\)"
    ):
        load_examples(sst2_spec, source, "train", limit=None)


def test_missing_data_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        mirror_from(tmp_path / "nowhere")


def test_subset_is_a_fixed_shuffled_sample(mirror, sst2_spec):
    first = load_examples(sst2_spec, mirror, "train", limit=50)
    again = load_examples(sst2_spec, mirror, "train", limit=50)
    assert first["idx"] == again["idx"] and first["idx"] != list(range(50))


def test_tokenization_is_cached_and_reused(mirror, sst2_spec):
    tokenizer = load_tokenizer(resolve_model("tiny-bert"))
    rows = load_examples(sst2_spec, mirror, "validation", limit=None)
    first = tokenize(sst2_spec, rows, tokenizer, max_length=32)
    again = tokenize(sst2_spec, rows, tokenizer, max_length=32)
    assert first.cache_files and first.cache_files == again.cache_files
    assert set(first.column_names) == {"input_ids", "token_type_ids", "attention_mask", "labels", "length"}
    assert max(first["length"]) <= 32
    assert tokenize(sst2_spec, rows, tokenizer, max_length=16).cache_files != first.cache_files


def test_hub_source_calls_datasets_with_the_task_spec(monkeypatch, sst2_spec):
    calls = []
    monkeypatch.setattr(datasets, "get_dataset_split_names", lambda path, name: ["train", "validation", "test"])

    def fake_load(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict({"sentence": ["good", "bad"], "label": [1, 0], "idx": [0, 1]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    hub = DataSource()
    assert resolve_splits(sst2_spec, hub) == sst2_spec.splits
    assert len(load_examples(sst2_spec, hub, "validation[:50%]", limit=None)) == 2
    assert calls == [("glue", "sst2", "validation[:50%]")]


def test_hub_failure_is_one_clear_error(monkeypatch, sst2_spec):
    def unreachable(path, name=None, split=None):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(
        DataError, match=r"task 'sst2': cannot load split 'train' from Hugging Face hub: no route to host"
    ):
        DataSource().load(sst2_spec, "train")


def test_new_task_over_a_mirrored_dataset_finds_it_by_dataset(mirror):
    """The mirror is looked up by the dataset the task names, not by the task's name."""
    task = TaskSpec.model_validate(
        dict(
            name="imdb-sentiment",
            dataset={"path": "stanfordnlp/imdb"},
            text_fields=["text"],
            label_names=["neg", "pos"],
            splits={"train": "train", "eval": "test"},
            max_length=64,
        )
    )
    assert mirror.mirror_dir(task).name == "imdb"
    assert resolve_splits(task, mirror).describe() == "train=train eval=test"
    assert len(load_examples(task, mirror, "test", limit=5)) == 5


def test_without_a_mirror_an_unreachable_hub_stops_the_main_job_at_once_with_one_message(tmp_path):
    """No --data-dir, no offline flag, no hub (an endpoint that refuses connections): one usage error, in seconds."""
    import os
    import subprocess
    import sys
    import time

    from harness.specs import PROJECT_ROOT

    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HARNESS_DATA_DIR")
    }
    env["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/",
            "-n",
            "2",
            "--results-dir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert (
        "cannot load tasks imdb, mnli, qnli, rte, sst2: no --data-dir" in result.stderr
        and "127.0.0.1:9" in result.stderr
    )
    assert "--data-dir" in result.stderr and "HARNESS_DATA_DIR" in result.stderr and not list(tmp_path.glob("runs/*"))


def test_an_empty_split_is_one_clear_error_naming_the_task_and_split(tmp_path, sst2_spec):
    write_mirror(tmp_path, "sst2", "train", [])
    with pytest.raises(
        DataError, match=r"(task 'sst2': cannot load split 'train' from mirror .*: \S|split 'train' has no)"
    ):
        load_examples(sst2_spec, DataSource(tmp_path), "train", limit=None)


def test_labels_that_are_not_class_ids_are_refused_naming_the_field(tmp_path, sst2_spec):
    source = write_mirror(tmp_path, "sst2", "train", [{"sentence": "a", "label": "positive"}])
    with pytest.raises(DataError, match=r"field 'label_field': column 'label' of split 'train' holds str values"):
        load_examples(sst2_spec, source, "train", limit=None)


def test_a_training_set_with_too_few_examples_of_a_class_is_a_spec_error(tmp_path, sst2_spec):
    from harness.data import check_per_class

    rows = [{"sentence": f"text {i}", "label": int(i == 0)} for i in range(20)]  # one positive example
    source = write_mirror(tmp_path, "sst2", "train", rows)
    train = load_examples(sst2_spec, source, "train", limit=None)
    with pytest.raises(DataError, match=r"1 of class 'positive' \(20 examples\), fewer than 8 per class"):
        check_per_class(sst2_spec, train, "train", 8, "profiles/quick.yaml")
    check_per_class(sst2_spec, train, "train", 1, "profiles/quick.yaml")


@pytest.mark.parametrize("split", ["train[:abc%]", "train[1:2:3]", "../train"])
def test_a_malformed_split_expression_is_refused_when_the_task_is_read(split):
    with pytest.raises(ValueError, match="is not a split expression"):
        TaskSpec.model_validate(
            dict(name="t", dataset={"path": "glue"}, text_fields=["s"], label_names=["a", "b"], splits={"eval": split})
        )


@pytest.mark.parametrize("name", ["../../etc", "/etc", "a/../../b"])
def test_a_dataset_that_points_out_of_the_mirror_is_refused(name):
    with pytest.raises(ValueError, match="not a path out of the source"):
        TaskSpec.model_validate(
            dict(
                name="t",
                dataset={"path": "glue", "name": name},
                text_fields=["s"],
                label_names=["a", "b"],
                splits={"eval": "validation"},
            )
        )


@pytest.mark.parametrize("name", ["mnli", "qnli"])
def test_fallback_splits_never_share_a_premise_or_question_across_train_dev_and_eval(mirror, name):
    """MNLI and QNLI train on part of their validation split here: whole groups (a premise; a question or sentence)
    go to one side of the slice and of the dev slice, so no text is both trained on and scored."""
    from harness.data import carve_dev
    from harness.specs.catalog import load_tasks

    task = load_tasks().specs[name]
    splits = resolve_splits(task, mirror)
    assert splits == task.fallback_splits and task.group_by
    train = load_examples(task, mirror, splits.train, None)
    evaluation = load_examples(task, mirror, splits.eval, None)
    dev, rest = carve_dev(train, 500, task.group_by)
    assert len(dev) >= 500 and len(dev) + len(rest) == len(train)
    whole = mirror.load(task, splits.eval.split("[")[0])
    assert len(train) + len(evaluation) == len(whole)  # complementary slices: every example, once
    assert 0.75 < len(train) / len(whole) < 0.85
    for field in task.group_by:
        assert not set(evaluation[field]) & set(train[field]), field
        assert not set(dev[field]) & set(rest[field]), field


def test_an_ungrouped_slice_is_the_rows_datasets_own_slicing_gives(tmp_path):
    """Tasks without group_by keep exactly the examples (and so the keys) they had."""
    rows = [{"sentence": f"text {i}", "label": i % 2} for i in range(37)]
    write_mirror(tmp_path, "toy", "validation", rows)
    task = TaskSpec.model_validate(
        {
            "name": "toy",
            "dataset": {"path": "toy"},
            "text_fields": ["sentence"],
            "label_names": ["a", "b"],
            "splits": {"train": "validation[:80%]", "eval": "validation[80%:]"},
            "max_length": 16,
        }
    )
    source = mirror_from(str(tmp_path))
    direct = datasets.load_dataset(
        "json", data_files={"validation": str(tmp_path / "toy" / "validation.jsonl.gz")}, split="validation[80%:]"
    )
    assert source.load(task, "validation[80%:]")["sentence"] == direct["sentence"]
    assert "group_by" not in task.model_dump()  # ungrouped tasks keep their identities

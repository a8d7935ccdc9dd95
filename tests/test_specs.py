"""Schema errors name the file and the field; YAML is read safely; cross-file references are checked."""

import textwrap

import pytest

from harness.__main__ import main
from harness.errors import SpecError
from harness.specs import PROFILES_DIR as PROJECT_PROFILES
from harness.specs import TaskSpec, load_spec, read_yaml
from harness.specs.catalog import load_approaches, load_profile, load_tasks

VALID_TASK = """\
name: {name}
dataset: {{path: glue, name: sst2}}
text_fields: [sentence]
label_names: [negative, positive]
splits: {{train: train, eval: validation}}
max_length: 64
"""


def write(directory, name, text):
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def errors_for(tmp_path, text, name="demo"):
    write(tmp_path, name, text)
    catalog = load_tasks(tmp_path)
    assert name not in catalog.specs
    (message,) = catalog.errors.values()
    return message


def test_valid_task_loads_and_accuracy_is_always_a_metric(tmp_path):
    write(
        tmp_path,
        "demo",
        VALID_TASK.format(name="demo") + "metrics: [matthews_correlation, {name: f1, average: macro}]\n",
    )
    spec = load_tasks(tmp_path).specs["demo"]
    assert [m.name for m in spec.metrics] == ["accuracy", "matthews_correlation", "f1"] and spec.metrics[
        2
    ].arguments == {"average": "macro"}
    assert spec.trainable and spec.num_labels == 2


def test_unknown_metric_offline_names_file_and_field(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    message = errors_for(tmp_path, VALID_TASK.format(name="demo") + "metrics: [accuracy, bleu_score]\n")
    assert "demo.yaml: field 'metrics.1': 'bleu_score' is not a metric module in harness/metrics/" in message
    assert "hub, where evaluate would look next, is offline" in message


def test_malformed_yaml_names_file_and_line(tmp_path):
    message = errors_for(tmp_path, "name: demo\n  bad: [\n")
    assert "demo.yaml: malformed YAML (line 2" in message


def test_missing_field_is_named(tmp_path):
    message = errors_for(tmp_path, VALID_TASK.format(name="demo").replace("max_length: 64\n", ""))
    assert "demo.yaml: field 'max_length': Field required" in message


def test_unknown_field_and_bad_values_each_named(tmp_path):
    text = VALID_TASK.format(name="demo").replace("[negative, positive]", "[pos, pos]") + "colour: blue\n"
    message = errors_for(tmp_path, text)
    assert "field 'label_names': label names must be unique" in message
    assert "field 'colour': unknown field" in message


def test_bad_split_expression(tmp_path):
    message = errors_for(tmp_path, VALID_TASK.format(name="demo").replace("eval: validation", "eval: 'val[:10%'"))
    assert "field 'splits.eval'" in message and "not a split expression" in message


def test_overlapping_fallback_splits_are_refused(tmp_path):
    text = VALID_TASK.format(name="demo") + "fallback_splits: {train: 'validation', eval: 'validation'}\n"
    assert "must differ" in errors_for(tmp_path, text)


def test_name_must_match_file(tmp_path):
    assert "differs from the file name 'demo'" in errors_for(tmp_path, VALID_TASK.format(name="other"))


def test_yaml_is_loaded_safely(tmp_path):
    path = write(tmp_path, "demo", "!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="malformed YAML"):
        load_spec(TaskSpec, path)


def test_ood_eval_must_name_a_task_with_the_same_labels(tmp_path):
    write(tmp_path, "demo", VALID_TASK.format(name="demo") + "ood_eval: [other]\n")
    write(tmp_path, "other", VALID_TASK.format(name="other").replace("[negative, positive]", "[a, b, c]"))
    assert "'other' has labels ['a', 'b', 'c']" in load_tasks(tmp_path).errors[str(tmp_path / "demo.yaml")]
    (tmp_path / "other.yaml").unlink()
    assert "unknown task 'other'" in load_tasks(tmp_path).errors[str(tmp_path / "demo.yaml")]


def test_a_broken_file_leaves_the_others_loaded(tmp_path):
    write(tmp_path, "good", VALID_TASK.format(name="good"))
    write(tmp_path, "bad", "name: [\n")
    catalog = load_tasks(tmp_path)
    assert set(catalog.specs) == {"good"} and len(catalog.errors) == 1


def test_project_specs_are_valid():
    assert not load_tasks().errors and not load_approaches().errors
    for name in ("tiny", "quick", "full"):
        load_profile(name)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(SpecError, match=r"unknown profile 'huge': choose one of full, quick, tiny"):
        load_profile("huge")


def test_profile_task_overrides_apply_to_that_task_only():
    quick = load_profile("quick")
    rte = quick.task_overrides["rte"].model_copy(update={"learning_rate": 3e-5})
    changed = quick.model_copy(update={"task_overrides": {**quick.task_overrides, "rte": rte}})
    assert changed.training_for("rte").learning_rate == 3e-5 != changed.training.learning_rate
    assert changed.training_for("sst2") == changed.training


def test_profile_seeds_per_task_and_for_other_suites():
    quick = load_profile("quick")
    rte_at_one_seed = quick.task_overrides["rte"].model_copy(update={"seeds": [0]})
    narrowed = quick.model_copy(update={"task_overrides": quick.task_overrides | {"rte": rte_at_one_seed}})
    assert narrowed.seeds_for("sst2") == [0, 1, 2] and narrowed.seeds_for("rte") == [0]
    assert quick.suite_seeds == [0] and quick.dev_examples_for("rte") < quick.dev_examples


def test_profile_claims_are_checked(tmp_path):
    text = (PROJECT_PROFILES / "tiny.yaml").read_text()
    path = tmp_path / "claims.yaml"
    path.write_text(text.replace("learns: {sst2: [full]}", "learns: {sst2: [full], transfer/imdb: all}"))
    with pytest.raises(SpecError, match=r"claims.yaml: field 'learns': 'transfer/imdb': expected <task> or ood/<name>"):
        load_profile(str(path))
    assert load_profile("quick").claims_learning("sst2", "prompt") and not load_profile("quick").claims_learning(
        "rte", "full"
    )
    assert load_profile("tiny").claims_learning("sst2", "full") and not load_profile("tiny").claims_learning(
        "sst2", "lora"
    )


def test_approach_method_and_params_are_validated(tmp_path):
    write(tmp_path, "mystery", "name: mystery\nmethod: alchemy\n")
    write(tmp_path, "full-x", "name: full-x\nmethod: full\nrank: 3\n")
    errors = load_approaches(tmp_path).errors
    assert "field 'method': unknown method 'alchemy'" in errors[str(tmp_path / "mystery.yaml")]
    assert "field 'rank': unknown field" in errors[str(tmp_path / "full-x.yaml")]


def test_cli_validate_reports_each_problem_and_fails(tmp_path, capsys):
    bad = write(tmp_path, "demo", VALID_TASK.format(name="demo").replace("max_length: 64", "max_length: many"))
    assert main(["tasks", "validate", str(bad)]) == 1
    assert "demo.yaml: field 'max_length': Input should be a valid integer" in capsys.readouterr().out
    assert main(["tasks", "validate"]) == 0


def test_spec_file_that_is_not_utf8_is_an_error_for_that_file_only(tmp_path):
    write(tmp_path, "good", VALID_TASK.format(name="good"))
    (tmp_path / "latin.yaml").write_bytes(
        VALID_TASK.format(name="latin").replace("sst2}", "sst2}\ndescription: caf\xe9").encode("latin-1")
    )
    catalog = load_tasks(tmp_path)
    assert "good" in catalog.specs and "latin" not in catalog.specs
    assert "latin.yaml: not UTF-8 text" in catalog.errors[next(iter(catalog.errors))]


def test_yml_files_load_like_yaml_and_one_name_twice_is_refused(tmp_path):
    (tmp_path / "short.yml").write_text(VALID_TASK.format(name="short"))
    catalog = load_tasks(tmp_path)
    assert "short" in catalog.specs and not catalog.errors
    write(tmp_path, "short", VALID_TASK.format(name="short"))
    catalog = load_tasks(tmp_path)
    (message,) = catalog.errors.values()
    assert "short.yml: field 'name': 'short' is declared by" in message and "short.yaml already" in message


def test_a_key_given_twice_is_an_error_naming_file_and_line(tmp_path):
    message = errors_for(tmp_path, VALID_TASK.format(name="demo") + "max_length: 128\n")
    assert "demo.yaml: malformed YAML (line 7" in message and "key 'max_length' is given twice" in message


def test_a_profile_naming_unknown_tasks_or_approaches_is_refused_with_every_problem_its_file_and_field():
    from harness.specs.catalog import check_profile

    quick = load_profile("quick")
    profile = quick.model_copy(
        update={
            "task_overrides": {"sst3": quick.task_overrides["sst2"]},
            "max_gap_to_full": {"sst2": {"lorra": 0.05}},
            "learns": {"sst2": ["ful"]},
        }
    )
    with pytest.raises(SpecError) as refused:
        check_profile(profile, load_tasks().specs, load_approaches().specs)
    assert str(refused.value).splitlines() == [
        "profiles/quick.yaml: field 'task_overrides': unknown or invalid task sst3",
        "profiles/quick.yaml: field 'learns': unknown or invalid approach ful",
        "profiles/quick.yaml: field 'max_gap_to_full': unknown or invalid approach lorra",
    ]


def test_a_profile_cuts_a_suite_to_entries_of_its_own_and_says_which_field_is_wrong():
    from harness.specs.catalog import load_suites, narrow_suites

    tasks, approaches = load_tasks().specs, load_approaches().specs
    suites = load_suites(tasks, approaches).specs
    quick = load_profile("quick")
    cut = narrow_suites(quick.model_copy(update={"suites": {"sequential": {"chains": [["sst2", "mnli"]]}}}), suites)
    assert cut["sequential"].chains == [["sst2", "mnli"]] and cut["multitask"] == suites["multitask"]

    def error(cuts) -> str:
        with pytest.raises(SpecError) as raised:
            narrow_suites(quick.model_copy(update={"suites": cuts}), suites)
        return str(raised.value)

    assert error({"sequential": {"chains": [["rte", "sst2"]]}}) == (
        "profiles/quick.yaml: field 'suites.sequential.chains': ['rte', 'sst2'] is not one of the suite's own entries"
    )
    assert "field 'suites': unknown or invalid suite nightly" in error({"nightly": {"chains": []}})
    assert "field 'suites.knowledge.train_examples': only a list or a mapping" in error(
        {"knowledge": {"train_examples": 10}}
    )
    assert "field 'suites.sequential.chain'" in error({"sequential": {"chain": []}})  # a typo of the field name


ALIAS_BOMB = "name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "text, problem",
    [
        (ALIAS_BOMB, "values once YAML aliases are expanded"),
        ("metrics: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper than 32 levels"),
        ("description: " + "x" * 20_000 + "\n", "field 'description': 20,000 characters, more than 10,000"),
        ("description: |\n" + "  x\n" * 100_000, "bytes; a spec file holds at most 262,144"),
    ],
    ids=["alias-bomb", "deep-nesting", "long-value", "huge-file"],
)
def test_a_spec_past_the_bounds_is_refused_at_once_naming_its_file(tmp_path, text, problem):
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as refused:
        read_yaml(path)
    assert str(refused.value).startswith(f"{path}: ") and problem in str(refused.value)


def test_a_profile_board_outside_the_project_is_refused(tmp_path):
    path = tmp_path / "escape.yaml"
    path.write_text((PROJECT_PROFILES / "tiny.yaml").read_text() + "leaderboard: ../../x.md\n")
    with pytest.raises(SpecError, match=r"escape.yaml: field 'leaderboard': .*inside the project"):
        load_profile(str(path))

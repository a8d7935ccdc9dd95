"""Published-number gates: the suite schema, and which gates a session gets."""

from types import SimpleNamespace

import pytest
from record_factory import make_evaluation, make_record

from harness.errors import SpecError
from harness.kinds.references import gates, load_reference_suite
from harness.specs import SUITES_DIR
from harness.specs.catalog import load_approaches, load_profile, load_tasks

TASKS = load_tasks().specs
APPROACHES = load_approaches().specs


def session(profile: str, model: str):
    return SimpleNamespace(
        profile=load_profile(profile),
        model=SimpleNamespace(name=model),
        tasks=TASKS,
        seeds_for=lambda task: [0, 1, 2],
        single_task_job=lambda task, approach, seed: (task, approach, seed),
    )


def test_gates_of_the_named_model_at_the_named_profiles_only():
    suite = load_reference_suite(SUITES_DIR / "published.yaml", TASKS, APPROACHES)
    distilbert = gates(suite, session("full", "distilbert-base-uncased"))
    assert {gate.task.name: gate.accuracy for gate in distilbert} == {
        "sst2": 0.913,
        "mnli": 0.822,
        "qnli": 0.892,
        "rte": 0.599,
    }
    assert distilbert[0].jobs == (("sst2", "full", 0), ("sst2", "full", 1), ("sst2", "full", 2))
    assert gates(suite, session("quick", "distilbert-base-uncased")) == [] == gates(suite, session("full", "tiny-bert"))


@pytest.mark.parametrize(
    "references, message",
    [
        ("[{model: m, source: s, accuracy: {sst3: 0.9}}]", "field 'references.0.accuracy': unknown or invalid sst3"),
        (
            "[{model: m, source: s, accuracy: {sst2: 0.9}, source_standard_error: {rte: 0.01}}]",
            "field 'references.0.source_standard_error': unknown or invalid rte",
        ),
        ("[{model: m, accuracy: {sst2: 0.9}}]", "references.0.source"),
    ],
)
def test_suite_errors_name_the_field(tmp_path, references, message):
    path = tmp_path / "gates.yaml"
    path.write_text(f"kind: reference\nname: gates\nprofiles: [full]\nreferences: {references}\n")
    with pytest.raises(SpecError, match=message):
        load_reference_suite(path, TASKS, APPROACHES)


def test_pin_appends_the_runs_mean_and_spread_and_keeps_the_file_comments(tmp_path):
    import numpy as np

    from harness.kinds.references import pin

    path = tmp_path / "gates.yaml"
    path.write_text(
        "kind: reference\nname: gates\nprofiles: [full]\n# a comment that stays\n"
        "references:\n  - {model: other, source: s, accuracy: {rte: 0.6}}\n"
    )
    labels = np.arange(200) % 2

    def record(seed, wrong):
        predictions = labels.copy()
        predictions[:wrong] = 1 - predictions[:wrong]
        return make_record(
            task="sst2",
            seed=seed,
            hardware="CPU test",
            data_source="mirror x",
            majority_class=0,
            eval=make_evaluation(predictions, labels),
        )

    records = [record(0, 20), record(1, 30), record(0, 0).updated(approach="lora")]
    reference = pin(path, records, "minilm", "full", "a full run", TASKS, APPROACHES)
    assert reference.accuracy == {"sst2": 0.875} and 0 < reference.source_standard_error["sst2"] < 0.05
    assert reference.source.startswith("a full run: seeds 0, 1; CPU test; mirror x")
    assert "# a comment that stays" in path.read_text()
    assert load_reference_suite(path, TASKS, APPROACHES).references[-1] == reference
    with pytest.raises(SpecError, match="minilm already has a reference for sst2"):
        pin(path, records, "minilm", "full", "again", TASKS, APPROACHES)
    assert pin(path, records, "minilm", "full", "again", TASKS, APPROACHES, if_missing=True) is None
    # A fuller run later: its new task is pinned beside the first reference, which stays.
    fuller = records + [record(seed, 50).updated(task="rte") for seed in (0, 1)]
    added = pin(path, fuller, "minilm", "full", "fuller", TASKS, APPROACHES, if_missing=True)
    assert added.accuracy == {"rte": 0.75} and added.source.startswith("fuller")
    assert [r.accuracy for r in load_reference_suite(path, TASKS, APPROACHES).references if r.model == "minilm"] == [
        {"sst2": 0.875},
        {"rte": 0.75},
    ]
    # Runs at the majority class are never pinned: the reference would let a constant predictor pass.
    constant = [
        record(seed, 0).updated(task="qnli", eval=make_evaluation(np.zeros_like(labels), labels)) for seed in (0, 1)
    ]
    with pytest.raises(SpecError, match="runs on qnli do not beat the majority class"):
        pin(path, constant, "other-model", "full", "constant", TASKS, APPROACHES)
    assert pin(path, constant, "minilm", "full", "constant", TASKS, APPROACHES, if_missing=True) is None


def test_the_leaderboard_shows_each_gate_with_its_verdict():
    import numpy as np

    from harness.kinds.references import leaderboard_section
    from harness.report.frame import runs_frame
    from harness.report.tables import BoardContext, grouped

    labels = np.arange(1000) % 2

    def record(task, seed, accuracy, split_spec=None):
        predictions = labels.copy()
        predictions[: round((1 - accuracy) * len(labels))] ^= 1
        return make_record(
            task=task,
            seed=seed,
            model="distilbert-base-uncased",
            profile="full",
            split_spec=split_spec or TASKS[task].splits.describe(),
            majority_class=0,
            eval=make_evaluation(predictions, labels),
        )

    records = [record("sst2", seed, 0.91) for seed in (0, 1)] + [record("mnli", seed, 0.70) for seed in (0, 1)]
    records.append(record("rte", 0, 0.6, split_spec="train=validation[:80%] eval=validation[80%:]"))
    single = runs_frame(records)
    text = "\n".join(leaderboard_section(single, BoardContext(single=grouped(single, ["task", "approach"]))))
    rows = {line.split("|")[2].strip(): line for line in text.splitlines() if line.startswith("| published")}
    assert "| 91.3 " in rows["sst2"] and "| 91.0 " in rows["sst2"] and rows["sst2"].rstrip(" |").endswith("within")
    assert "| -12.2 " in rows["mnli"] and "OUTSIDE: the gate fails" in rows["mnli"]
    assert "skipped: ran on train=validation[:80%] eval=validation[80%:], not the task's own splits" in rows["rte"]
    assert "not run" in rows["qnli"]
    assert leaderboard_section(runs_frame([r.updated(profile="quick") for r in records]), BoardContext(single={})) == []

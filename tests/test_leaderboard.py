"""The leaderboard writer: tables from hand-made records, scope filtering, newest-record-wins."""

import dataclasses
import datetime as dt
import json
import re
import sys

import pandas as pd
import pytest
from record_factory import make_record

from harness.errors import SpecError
from harness.report import board, drift, frame, inference, plots
from harness.results.record import record_class

SCOPE = frame.Scope("quick", "a test profile", "minilm", "mirror /data")


def record(task="sst2", approach="full", seed=0, accuracy=0.8, finished="2026-01-01T00:00:00", **changes):
    base = dict(
        task=task,
        approach=approach,
        seed=seed,
        profile="quick",
        model="minilm",
        data_source="mirror /data",
        status="ok",
        finished_at=finished,
        metrics={"accuracy": accuracy},
        eval=scored(accuracy),
        majority_rate=0.5,
        ood={"imdb": scored(accuracy - 0.1)} if task == "sst2" else {},
        trainable_params=10,
        method_params=8,
        head_params=2,
        model_params=100,
        trainable_state_bytes=2**20,
        peak_memory_bytes=3 * 2**20,
        training_memory={
            "weights": {"float32": 2**20},
            "gradients": 2**20,
            "optimizer_state": 2**21,
            "activations": 5 * 2**20,
            "reference_batch": "32×64 tokens",
            "total": 9 * 2**20,
        },
        peak_memory_kind="CPU peak RSS of the job process",
        train_seconds=2.0,
        train_samples_per_second=50.0,
        eval_samples_per_second=500.0,
        split_spec="train=train eval=validation",
        train_examples=400,
        eval_examples=100,
        config_hash=f"h{task}{approach}{seed}{finished[-2:]}",
        hardware="CPU test",
        config={"task": {"splits": {"train": "train", "eval": "validation"}}},
    )
    declared = record_class(changes.get("kind", "single-task")).model_fields  # a kind's record has its fields only
    return make_record(**({k: v for k, v in base.items() if k in declared} | changes))


def test_render_aggregates_seeds_and_shows_every_table():
    records = [
        record(seed=0, accuracy=0.80),
        record(seed=1, accuracy=0.90),
        record(task="rte", accuracy=0.6, split_spec="train=validation[:80%] eval=validation[80%:]"),
    ]
    text = board.render(frame.select(records, SCOPE), SCOPE, now=dt.datetime(2026, 1, 2))
    assert "**Profile:** quick — a test profile" in text and "**Hardware:** CPU test" in text
    assert "85.0 ± 7.1" in text  # mean and sample std of 80 and 90
    assert "| splits (train, eval)" in text and "fallback train=validation[:80%] eval=validation[80%:]" in text
    assert "| majority class (of the training split) |" in text
    assert "sst2 → imdb" in text and "75.0 ± 7.1" in text
    assert "train=train eval=validation" in text and "10.000%" in text and "3.0 MiB" in text
    assert "| 9.0 MiB " in text and "| 5.0 MiB " in text  # training memory, its activations


def test_header_names_the_kinds_that_ran_fewer_seeds():
    singles = [record(seed=seed) for seed in (0, 1, 2)]
    probes = [
        record(
            approach=approach,
            kind="probe",
            probe_task="mnli",
            probe_before=0.7,
            probe_after=0.7,
            knowledge_lost=0.0,
            probe_before_eval=scored(0.7),
            probe_after_eval=scored(0.7),
        )
        for approach in ("full", "lora")
    ]
    assert "seeds 0, 1, 2; accuracies" in board.render(frame.select(singles, SCOPE), SCOPE)
    assert "seeds 0, 1, 2 (at 0: probe); accuracies" in board.render(frame.select(singles + probes, SCOPE), SCOPE)


def test_select_keeps_scope_and_newest_record():
    records = [
        record(accuracy=0.5, finished="2026-01-01T00:00:00"),
        record(accuracy=0.7, finished="2026-01-03T00:00:00"),
        record(accuracy=0.9, profile="tiny"),
        record(accuracy=0.9, model="tiny-bert"),
    ]
    (chosen,) = frame.select(records, SCOPE)
    assert chosen.eval.accuracy == 0.7


def test_failed_runs_are_listed_with_their_reason():
    records = [record(), record(task="rte", status="failed", failure="loss became nan at step 3")]
    text = board.render(frame.select(records, SCOPE), SCOPE)
    assert "## Failed runs" in text and "loss became nan at step 3" in text
    assert "1 failed" in text


def test_write_is_atomic_counts_runs_and_embeds_the_plot(tmp_path):
    path = tmp_path / "board.md"
    assert board.write(path, [record(), record(task="rte"), record(approach="lora", accuracy=0.7)], SCOPE) == 3
    text = path.read_text()
    assert text.startswith("# Leaderboard") and not list(tmp_path.glob(".*tmp"))
    plot = tmp_path / "board-accuracy-vs-cost.png"
    assert "](board-accuracy-vs-cost.png)" in text and plot.read_bytes().startswith(b"\x89PNG")
    assert "](board-generalization.png)" in text and (tmp_path / "board-generalization.png").stat().st_size > 0


def test_learning_curves_are_plotted_beside_their_table(tmp_path):
    curve = [
        record(kind="learning-curve", variant=f"{n} examples", train_examples=n, seed=seed, accuracy=a + 0.01 * seed)
        for n, a in ((250, 0.6), (1000, 0.8))
        for seed in (0, 1)
    ]
    path = tmp_path / "board.md"
    board.write(path, [record(), *curve], SCOPE)
    text = path.read_text()
    assert "## Learning curves" in text and "](board-learning-curves.png)" in text
    assert (tmp_path / "board-learning-curves.png").read_bytes().startswith(b"\x89PNG")
    board.write(path, [record()], SCOPE)  # no curve runs any more: no plot, and no stale file
    assert "learning-curves.png" not in path.read_text() and not (tmp_path / "board-learning-curves.png").exists()


def test_runs_are_written_as_csv_beside_the_leaderboard(tmp_path):
    path = tmp_path / "board.md"
    kept = record(
        eval={
            "metrics": {"accuracy": 0.75},
            "predictions": "0101",
            "labels": "0111",
            "examples": 4,
            "majority_rate": 0.75,
        },
        majority_class=1,
    )
    chain = record(
        task="sst2-then-mnli",
        kind="sequential",
        chain=["sst2", "mnli"],
        accuracy_matrix=[[0.8, 0.5], [0.7, 0.6]],
        forgetting={"sst2": 0.1},
        backward_transfer=-0.1,
    )
    board.write(
        path,
        [kept, chain, record(task="rte", accuracy=0.6), record(task="rte", accuracy=0.9, profile="tiny")],
        SCOPE,
    )
    runs = pd.read_csv(tmp_path / "board-runs.csv")
    assert "](board-runs.csv)" in path.read_text()
    assert list(runs.columns[:5]) == frame.RUN_KEY  # the scope's runs only, by kind, task, approach, variant, seed
    assert list(runs["task"]) == ["sst2-then-mnli", "rte", "sst2"] and json.loads(runs["chain"].iloc[0]) == [
        "sst2",
        "mnli",
    ]
    single = runs[runs["kind"] == "single-task"]
    assert list(single["metrics.accuracy"]) == [0.6, 0.8]
    assert single["ood.imdb.metrics.accuracy"].iloc[1] == pytest.approx(0.7)
    assert single["eval.metrics.accuracy"].iloc[1] == 0.75
    assert not [c for c in runs.columns if c.startswith("config.") or c.endswith(("predictions", "labels"))]


def test_pareto_front_keeps_only_undominated_points():
    points = [(100.0, 0.90), (1.0, 0.85), (0.1, 0.60), (1.0, 0.80), (50.0, 0.84)]
    assert plots.pareto_front(points) == {0, 1, 2}


def test_sequential_table_reports_forgetting_and_transfer_gain():
    chain = record(
        task="mnli-then-rte",
        kind="sequential",
        chain=["mnli", "rte"],
        accuracy_matrix=[[0.6, 0.5], [0.55, 0.62]],
        forgetting={"mnli": 0.05},
        backward_transfer=-0.05,
        stages=[
            {"task": "mnli", **SPLIT, "evaluations": {"mnli": scored(0.6), "rte": scored(0.5)}},
            {"task": "rte", **SPLIT, "evaluations": {"mnli": scored(0.55), "rte": scored(0.62)}},
        ],
    )
    scratch = record(task="rte", accuracy=0.58)
    text = board.render(frame.select([chain, scratch], SCOPE), SCOPE)
    assert "## Sequential fine-tuning" in text and "mnli → rte" in text
    assert "after mnli: mnli 60.0; after rte: mnli 55.0, rte 62.0" in text
    assert "| mnli +5.0 " in text and "| -5.0 " in text and "| +4.0 " in text  # forgetting, BWT, transfer gain


SPLIT = {"split_spec": "train=train eval=validation", "train_examples": 100}


def scored(accuracy: float) -> dict:
    return {"metrics": {"accuracy": accuracy}, "majority_rate": 0.5, "examples": 100}


def test_multitask_table_compares_with_single_task():
    mixture = record(
        task="multitask",
        kind="multitask",
        variant="uniform",
        tasks=["sst2", "rte"],
        per_task={"sst2": scored(0.82) | SPLIT, "rte": scored(0.55) | SPLIT},
        ood={"sst2→imdb": scored(0.7)},
        sampled_batches={"sst2": 30, "rte": 10},
        train_steps=40,
    )
    singles = [record(task="sst2", accuracy=0.80), record(task="rte", accuracy=0.60)]
    text = board.render(frame.select([mixture, *singles], SCOPE), SCOPE)
    assert "82.0 (Δ +2.0; 75% of batches)" in text and "55.0 (Δ -5.0; 25% of batches)" in text
    assert "sst2→imdb 70.0" in text and "2.0 MiB" in text  # stored: one model vs two single-task states


def test_knowledge_table_puts_approaches_in_columns():
    probes = [
        record(
            task=trained,
            approach=approach,
            kind="probe",
            probe_task=probe,
            probe_before=0.7,
            probe_after=0.7 - lost,
            knowledge_lost=lost,
            probe_before_eval=scored(0.7),
            probe_after_eval=scored(0.7 - lost),
        )
        for trained, approach, probe, lost in [
            ("sst2", "full", "mnli", 0.05),
            ("sst2", "lora", "mnli", 0.01),
            ("sst2+rte (uniform)", "full", "word-content", 0.10),
        ]
    ]
    text = board.render(frame.select(probes, SCOPE), SCOPE)
    assert "## Forgetting of pre-trained knowledge" in text
    assert re.search(r"\| mnli +\| sst2 +\| 70\.0 +\| \+5\.0 +\| \+1\.0 +\|", text)
    assert re.search(r"\| word-content +\| sst2\+rte \(uniform\) +\| 70\.0 +\| \+10\.0 +\| – +\|", text)


def test_inference_passes_merge_into_the_store_and_fill_the_cost_columns(tmp_path):
    def bench(approach, variant, median):
        return {
            "extra_info": {"task": "sst2", "approach": approach, "variant": variant, "examples": 32},
            "stats": {"median": median, "q1": median * 0.9, "q3": median * 1.1},
        }

    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(
        json.dumps(
            {
                "benchmarks": [
                    bench("full", "plain", 0.010),
                    bench("full", "trained", 0.0102),
                    bench("lora", "plain", 0.010),
                    bench("lora", "trained", 0.030),
                    bench("full", "train-step", 0.400),
                    bench("lora", "train-step", 0.250),
                ]
            }
        )
    )
    second.write_text(json.dumps({"benchmarks": [bench("lora", "plain", 0.010), bench("lora", "trained", 0.020)]}))
    inference.keep_inference(first, tmp_path, "quick")
    inference.keep_inference(second, tmp_path, "quick")  # a `-k lora` pass replaces lora's rows only
    timings = inference.load_inference(tmp_path / inference.INFERENCE_FILE.format(profile="quick"))
    assert (
        timings[("sst2", "full", "trained")]["median"] == 0.0102
        and timings[("sst2", "lora", "trained")]["median"] == 0.020
    )
    text = board.render(frame.select([record(), record(approach="lora")], SCOPE), SCOPE, inference=timings)
    assert "| 10.2 [9.2, 11.2]" in text and "1.02× ≈" in text and "2.00×" in text and "2.00× ≈" not in text
    # the timing pass's training steps: median [IQR] in ms and samples/s from it (32 examples / 0.4 s)
    assert re.search(r"\| 400\.0 \[360\.0, 440\.0\] +\| 80\.0 ", text)
    assert re.search(r"\| 250\.0 \[225\.0, 275\.0\] +\| 128\.0 ", text)


def test_step_times_closer_than_one_step_timed_twice_are_not_told_apart():
    def step(task, approach, median, tokens=64):
        return {"median": median, "q1": median, "q3": median, "examples": 32, "tokens": tokens}

    timings = {
        ("sst2", "full", "train-step"): step("sst2", "full", 0.50),
        ("rte", "full", "train-step"): step("rte", "full", 0.60),  # the same computation: 20 % apart
        ("sst2", "lora", "train-step"): step("sst2", "lora", 0.45),
        ("sst2", "ia3", "train-step"): step("sst2", "ia3", 0.30),
        ("rte", "lora", "train-step"): step("rte", "lora", 0.40, tokens=128),  # another shape: not a repeat
    }
    assert inference.step_timing_spread(timings) == pytest.approx(0.2)
    assert inference.step_timing_spread({("sst2", "full", "train-step"): step("sst2", "full", 0.5)}) is None
    runs = [record(approach=a, seed=s, accuracy=0.8) for a in ("full", "lora", "ia3") for s in (0, 1, 2)]
    text = board.render(frame.select(runs, SCOPE), SCOPE, inference=timings)
    assert "varied by up to 20 % here" in text
    # ia3 is fastest; lora (0.45 s) is more than 20 % slower than it, so it is not listed beside it
    assert re.search(r"least time a training step at that accuracy: ia3 \(300 ms, timing pass\)\n", text)
    timings[("sst2", "lora", "train-step")] = step("sst2", "lora", 0.35)
    text = board.render(frame.select(runs, SCOPE), SCOPE, inference=timings)
    assert "ia3 (300 ms, timing pass); not distinguishable from it, within the 20 %" in text
    assert "lora (350 ms, timing pass)" in text


def test_the_answers_compare_the_most_accurate_approach_with_the_frozen_feature_baseline():
    runs = [record(seed=seed, accuracy=0.8) for seed in (0, 1, 2)]
    baseline = [record(kind="frozen-features", approach="frozen-features", accuracy=0.75, seed=s) for s in (0, 1, 2)]
    text = board.render(frame.select(runs + baseline, SCOPE), SCOPE)
    assert "  - against the frozen-feature baseline (75.0 %): full +5.0" in text
    assert "against the frozen-feature baseline" not in board.render(frame.select(runs, SCOPE), SCOPE)


TOY_KIND = """
from harness.kinds import SuiteKind, register
from harness.report.tables import table


def section(runs, board):
    return ["## Toy", f"{len(runs)} run(s); single-task models: {sorted(board.single)}", table([[len(runs)]], ["runs"])]


register(SuiteKind(name="toy", fixture="toy", load=None, jobs=None, leaderboard=section))
"""


def test_a_new_suite_kind_is_one_module_found_by_the_registry_with_its_section_on_the_board(tmp_path, monkeypatch):
    """A module dropped beside the kinds (here: in a folder added to the package's path) registers itself when the
    kinds are listed, and the board draws its section; nothing else names it."""
    from harness import kinds

    (tmp_path / "toy_kind.py").write_text(TOY_KIND)
    monkeypatch.setattr(kinds, "__path__", [*kinds.__path__, str(tmp_path)])
    monkeypatch.setattr(kinds, "KINDS", dict(kinds.KINDS))
    monkeypatch.delitem(sys.modules, "harness.kinds.toy_kind", raising=False)
    assert "toy" in kinds.kinds()
    text = board.render(
        frame.select(
            [record(), record(kind="toy", task="x"), record(kind="toy", task="y", status="failed", failure="boom")],
            SCOPE,
        ),
        SCOPE,
    )
    assert "## Toy\n1 run(s); single-task models: [('sst2', 'full')]" in text and "boom" in text
    sys.modules.pop("harness.kinds.toy_kind", None)


def test_a_second_kind_or_method_of_the_same_name_is_refused(monkeypatch):
    from harness import approaches, kinds

    monkeypatch.setattr(kinds, "KINDS", dict(kinds.kinds()))
    with pytest.raises(SpecError, match="'multitask'.*clashes with the registered kind 'multitask'"):
        kinds.register(kinds.SuiteKind(name="multitask", fixture="mixture", load=None, jobs=None))
    with pytest.raises(SpecError, match="fixture 'multitask'"):
        kinds.register(kinds.SuiteKind(name="mixtures", fixture="multitask", load=None, jobs=None))
    lora = approaches.METHODS["lora"]
    with pytest.raises(SpecError, match="approach method 'lora' is registered twice"):
        approaches.register(dataclasses.replace(lora))


def test_runs_the_declarations_have_moved_on_from_are_marked_with_what_changed():
    then = {
        "approach": {"name": "lora", "learning_rate": 5e-4},
        "task": {"splits": {"train": "train", "eval": "validation"}},
    }
    now = then | {"approach": {"name": "lora", "learning_rate": 4.5e-3}}
    records = [
        record(approach="lora", config=then),
        record(approach="full", config=now | {"approach": {"name": "full"}}),
    ]
    mixture = make_record(task="sst2+rte", approach="lora", kind="multitask", variant="uniform", seed=0, config=then)
    declared = {frame.run_key(records[1]): records[1].config}
    declared |= {frame.run_key(r): now for r in (records[0], mixture)}
    text = board.render(frame.select(records, SCOPE), SCOPE, declared=declared)
    lora_row, full_row = (
        next(line for line in text.splitlines() if line.startswith(f"| {name} ")) for name in ("lora", "full")
    )
    assert "†" in lora_row and "†" not in full_row
    moved_on = text.split("## Runs the declarations have moved on from")[1]
    assert (
        "| single-task | sst2 " in moved_on
        and "approach.learning_rate: 0.0005 → 0.0045" in moved_on
        and "| full " not in moved_on
    )
    assert list(drift.changed_runs([*records, mixture], declared)) == [
        ("single-task", "sst2", "lora", ""),
        ("multitask", "sst2+rte", "lora", "uniform"),
    ]
    agreeing = board.render(frame.select(records[1:2], SCOPE), SCOPE, declared=declared)
    assert "†" not in agreeing and "moved on" not in agreeing
    assert drift.changes_since(records[0], {}) == []  # a run the declarations do not name: nothing to compare


def test_stored_configs_agree_with_the_declarations_they_came_from(mirror):
    """Every job a profile declares, its identity stored through JSON, reads as unchanged; a changed YAML field reads
    as changed, in single-task and suite runs alike."""
    from harness.declarations import Declarations
    from harness.models import resolve_model
    from harness.specs.catalog import load_approaches, load_profile, load_tasks

    tasks, approaches = load_tasks().specs, load_approaches().specs
    declarations = Declarations(load_profile("tiny"), resolve_model("tiny-bert"), None, mirror, tasks, approaches)
    declared = declarations.identities()
    kinds = {key[0] for key in declared}
    assert {"single-task", "frozen-features", "multitask", "sequential", "probe", "continued-pretraining"} <= kinds
    stored = [
        make_record(
            **json.loads(
                json.dumps(
                    {"task": key[1], "approach": key[2], "kind": key[0], "variant": key[3], "seed": key[4]}
                    | {"config": identity}
                )
            )
        )
        for key, identity in declared.items()
    ]
    assert [r for r in stored if drift.changes_since(r, declared)] == []
    retuned = Declarations(
        declarations.profile,
        declarations.model,
        None,
        mirror,
        tasks,
        approaches | {"lora": approaches["lora"].model_copy(update={"learning_rate": 1e-2})},
    ).identities()
    lora_kinds = {r.kind for r in stored if r.approach == "lora" and drift.changes_since(r, retuned)}
    assert lora_kinds == {"single-task", "multitask", "sequential", "probe", "continued-pretraining"} & {
        r.kind for r in stored if r.approach == "lora"
    }
    rate = approaches["lora"].learning_rate
    assert f"approach.learning_rate: {rate} → 0.01" in drift.changes_since(
        next(r for r in stored if r.kind == "single-task" and r.approach == "lora"), retuned
    )
    assert not any(drift.changes_since(r, retuned) for r in stored if r.approach not in ("lora",))


def test_learning_curves_give_the_examples_each_approach_needs():
    import numpy as np
    from record_factory import make_evaluation

    labels = np.arange(400) % 2

    def point(approach, examples, wrong):
        predictions = labels.copy()
        predictions[:wrong] ^= 1
        return record(
            approach=approach, kind="learning-curve", variant=f"{examples} examples", train_examples=examples
        ).updated(eval=make_evaluation(predictions, labels), majority_class=0, config_hash=f"c{approach}{examples}")

    curves = [point("full", 250, 100), point("full", 1000, 40), point("lora", 250, 120), point("lora", 1000, 60)]
    text = board.render(frame.select(curves, SCOPE), SCOPE)
    section = text[text.index("## Learning curves") :]
    assert "| sst2   | full       | 75.0 [" in section and "| 250 examples" in section
    assert re.search(r"\| sst2 +\| full +\| 81\.0 +\| 1000 ", section)  # 90 % of full's 90.0: full needs 1,000
    assert re.search(r"\| sst2 +\| lora +\| 81\.0 +\| 1000 ", section)  # lora: 85.0 at 1,000
    said = text[text.index("## What the numbers say") : text.index("## Learning curves")]
    assert "**sample efficiency** (sst2): examples to reach 81.0 %" in said and "full 1000, lora 1000" in said
    assert "at 250 examples lora minus full -5.0 [" in said and "not distinguishable on 1 seed" in said


def test_forgetting_side_by_side_pairs_a_chain_with_its_equal_step_mixture():
    stage = {**SPLIT, "train_steps": 10}
    chain = record(
        task="sst2-then-mnli",
        kind="sequential",
        chain=["sst2", "mnli"],
        accuracy_matrix=[[0.8, 0.4], [0.7, 0.6]],
        backward_transfer=-0.1,
        stages=[
            {"task": "sst2", **stage, "evaluations": {"sst2": scored(0.8), "mnli": scored(0.4)}},
            {"task": "mnli", **stage, "evaluations": {"sst2": scored(0.7), "mnli": scored(0.6)}},
        ],
    )
    mixture = record(
        task="forgetting",
        kind="multitask",
        variant="proportional-equal-budget",
        tasks=["sst2", "mnli"],
        per_task={"sst2": scored(0.78) | SPLIT, "mnli": scored(0.55) | SPLIT},
        sampled_batches={"sst2": 10, "mnli": 10},
        train_steps=20,
    )
    unequal = mixture.updated(variant="uniform", config_hash="other", train_steps=5)
    text = board.render(frame.select([chain, mixture, unequal, record()], SCOPE), SCOPE)
    section = text[text.index("## Forgetting: sequential against multi-task") :].split("\n## ")[0]
    assert re.search(
        r"\| sst2 → mnli +\| full +\| 0 +\| 70\.0 +\| 78\.0 +\| \+8\.0 +\| 60\.0 +\| 55\.0 +\| -5\.0", section
    )
    assert section.count("sst2 → mnli") == 1  # the mixture of other steps is no match
    said = text[text.index("## What the numbers say") : text.index("## In-domain")]
    assert (
        "**forgetting** (sst2 then mnli, full, equal steps): sst2 after the chain 70.0 %, in the mixture 78.0 %: "
        in said
    )
    assert "mixture minus chain +8.0" in said


def test_held_out_task_answer_gives_each_starts_gain_over_the_pre_trained_encoder():
    import numpy as np
    from record_factory import make_evaluation

    labels = np.arange(400) % 2

    def held_out(start, wrong, seed):
        predictions = labels.copy()
        predictions[seed : seed + wrong] ^= 1
        return record(kind="held-out-task", variant=start, seed=seed, train_examples=250, ood={}).updated(
            eval=make_evaluation(predictions, labels), majority_class=0, config_hash=f"{start}{seed}"
        )

    runs = [
        held_out(start, wrong, seed)
        for start, wrong in [("pre-trained", 100), ("mnli single-task", 140)]
        for seed in range(3)
    ]
    text = board.render(frame.select(runs, SCOPE), SCOPE)
    said = text[text.index("## What the numbers say") : text.index("## Generalization to a held-out task")]
    assert "**transfer to a held-out task** (sst2, full on 250 examples): 75.0 % from the pre-trained encoder" in said
    assert "mnli single-task: -10.0 [" in said and "(a worse start)" in said
    one_seed = board.render(frame.select(runs[::3], SCOPE), SCOPE)
    assert "not distinguishable on 1 seed: significance needs 3" in one_seed

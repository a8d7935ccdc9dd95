"""Significance marks (harness.report.marks): only on cells of at least 3 seeds, each family corrected for the
number of its comparisons in the table (Benjamini–Hochberg), and a constant predictor always marked ○."""

import numpy as np
from record_factory import make_evaluation, make_record

from harness.report.marks import MarkedTable
from harness.stats import bootstrap

LABELS = np.arange(400) % 2


def runs(wrong_by_seed: list[int], approach: str = "lora", shift: int = 0) -> list:
    """One record per seed: predictions wrong on `wrong` examples, starting at `shift` (errors nested across runs
    that share the shift, so differences are paired)."""
    made = []
    for seed, wrong in enumerate(wrong_by_seed):
        predictions = LABELS.copy()
        predictions[shift : shift + wrong] ^= 1
        made.append(
            make_record(approach=approach, seed=seed, majority_class=0, eval=make_evaluation(predictions, LABELS))
        )
    return made


def test_a_difference_from_one_or_two_seeds_carries_no_mark_from_three_it_does():
    full = runs([40, 40, 40], "full")
    table = MarkedTable()
    table.add("one seed", runs([120]), full[:1])
    table.add("two seeds", runs([120, 120]), full[:2])
    table.add("three seeds", runs([120, 120, 120]), full)
    cells = table.cells_text()
    assert "▼" not in cells["one seed"] and "▼" not in cells["two seeds"]
    assert cells["three seeds"].endswith("▼")


def test_a_borderline_difference_is_marked_alone_and_not_among_many_null_comparisons():
    full = runs([100, 100, 100], "full")  # wrong on examples 0-99
    borderline = runs([84, 84, 84], shift=26)  # wrong on 26-109: right on 26 where full errs, wrong on 10 it gets
    assert 0.001 < bootstrap(np.stack([[1.0] * 26 + [-1.0] * 10 + [0.0] * 364])).p_value < 0.05
    alone = MarkedTable()
    alone.add("borderline", borderline, full)
    among = MarkedTable()
    among.add("borderline", borderline, full)
    for index in range(19):
        among.add(index, runs([100, 100, 100], shift=0), full)  # the same errors as full: no difference at all
    assert "▲" in alone.cells_text()["borderline"]
    assert "▲" not in among.cells_text()["borderline"]


def test_a_constant_predictor_is_marked_as_the_majority_class():
    table = MarkedTable()
    table.add("constant", runs([200, 200, 200]))  # half wrong: the majority class's 50 %
    table.add("learned", runs([40, 40, 40]))
    cells = table.cells_text()
    assert cells["constant"].endswith("○") and "○" not in cells["learned"]


def test_a_difference_carries_its_paired_interval_and_a_mark_only_from_three_seeds():
    from harness.report.marks import Differences, in_domain

    better, worse = runs([20, 20, 20]), runs([120, 120, 120], "full")
    table = Differences()
    table.add("three", better, in_domain, worse, in_domain)
    table.add("one", better[:1], in_domain, worse[:1], in_domain)
    table.add("none shared", better[:1], in_domain, worse[1:], in_domain)
    texts = table.texts()
    assert texts["three"].startswith("+25.0 [") and texts["three"].endswith("▲")
    assert texts["one"].startswith("+25.0 [") and "▲" not in texts["one"]
    assert texts["none shared"] == "–"


def test_what_the_numbers_say_names_the_best_the_ties_and_the_cheapest_among_them():
    from harness.report.answers import answers

    def with_costs(made, params):
        return [r.updated(trainable_params=params, model_params=1000, task="sst2") for r in made]

    groups = {
        ("sst2", "full"): with_costs(runs([40, 40, 40], "full"), 1000),
        ("sst2", "lora"): with_costs(runs([42, 42, 42], "lora", shift=1), 10),
        ("sst2", "constant"): with_costs(runs([200, 200, 200], "constant"), 1),  # the majority class's accuracy
        ("rte", "full"): [r.updated(task="rte") for r in runs([100], "full")],
        ("rte", "lora"): [r.updated(task="rte") for r in runs([120], "lora")],
    }
    text = "\n".join(answers(groups, {}))
    assert "**sst2**: most accurate full (90.0 %); not distinguishable from it: lora (-0.5 [" in text
    assert "constant" not in text.split("**sst2**")[1].split("\n")[0]  # significantly below: not among the ties
    assert "least trainable parameters at that accuracy: lora (1.000 % of the model)" in text
    assert "least time a training step at that accuracy: not measured" in text
    assert "**rte**: highest mean accuracy full (75.0 %); with 1 seed per approach" in text

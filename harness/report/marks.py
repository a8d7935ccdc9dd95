"""Accuracy cells with their intervals and significance marks (paired bootstraps, harness.stats), marked a table at
a time: each family of comparisons in a table (against full fine-tuning, against the majority class, against the
frozen-feature baseline) is corrected for its number of comparisons with Benjamini–Hochberg (scipy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np
from scipy.stats import false_discovery_control

from harness.report.tables import kept, mean_std
from harness.results import checks
from harness.results.record import EvaluationRecord, ScoredFields
from harness.stats import Interval, bootstrap, paired_bootstrap

LEVEL = 0.05  # the false discovery rate each family of marks in a table is held to
MIN_SEEDS_FOR_SIGNIFICANCE = 3  # below this, a difference says nothing of training variance: no ▼ ▲ ◆

MARKS = (
    "Cells: mean ± std over seeds, then the 95 % bootstrap interval over seeds and evaluation examples "
    "(harness.stats). "
    "Marks, each from a paired bootstrap on the same examples and seeds, each family (against full, against the "
    "majority class, against the baseline) corrected for the number of its comparisons in the table with "
    f"Benjamini–Hochberg at a false discovery rate of {LEVEL:.0%}: ▼ / ▲ significantly below / above full "
    "fine-tuning; ○ not distinguishable from the majority class; ◇ not distinguishable from the frozen-feature "
    "baseline (a pair task's two texts encoded apart, [u, v, |u − v|, u ⊙ v]), "
    f"◆ significantly below it. ▼ ▲ ◆ only on cells of at least {MIN_SEEDS_FOR_SIGNIFICANCE} seeds: one "
    "or two runs say nothing of how much another seed would move."
)


def in_domain(record: ScoredFields) -> EvaluationRecord | None:
    return record.eval


def _correctness(runs, summary=in_domain) -> dict[int, np.ndarray] | None:
    """Per seed, 1 where a prediction was right; None for records that kept no predictions."""
    summaries = {r.seed: summary(r) for r in runs}
    if not summaries or not all(map(kept, summaries.values())):
        return None
    return {seed: checks.correct(s) for seed, s in summaries.items()}


@dataclass
class _Cell:
    text: str
    seeds: int
    against_full: Interval | None = None
    against_majority: Interval | None = None
    against_baseline: Interval | None = None


@dataclass
class MarkedTable:
    """The accuracy cells of one table: `add` each, then `cells()` marks them all, corrected per family."""

    cells: dict[Hashable, _Cell] = field(default_factory=dict)

    def add(self, key: Hashable, runs, full=None, baseline=None, summary: Callable = in_domain) -> None:
        """A cell of `runs` (one approach's seeds), compared with `full`'s and `baseline`'s runs on the same seeds."""
        if not runs:
            self.cells[key] = _Cell("–", 0)
            return
        cell = _Cell(mean_std([summary(r).accuracy for r in runs]), len(runs))
        ours = _correctness(runs, summary)
        if ours is not None:
            interval = bootstrap(np.stack(list(ours.values())))
            cell.text += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
            majority = {r.seed: checks.majority_correct(summary(r), r.majority_class) for r in runs}
            cell.against_majority = paired_bootstrap(ours, majority)
            cell.against_full = paired_bootstrap(ours, _correctness(full, summary) or {}) if full else None
            cell.against_baseline = paired_bootstrap(ours, _correctness(baseline, summary) or {}) if baseline else None
        self.cells[key] = cell

    def cells_text(self) -> dict[Hashable, str]:
        significant = {
            family: _discoveries([getattr(cell, family) for cell in self.cells.values()])
            for family in ("against_full", "against_majority", "against_baseline")
        }
        texts = {}
        for index, (key, cell) in enumerate(self.cells.items()):
            enough = cell.seeds >= MIN_SEEDS_FOR_SIGNIFICANCE
            marks = ""
            if enough and significant["against_full"][index]:
                marks += "▲" if cell.against_full.mean > 0 else "▼"
            if cell.against_majority and not (
                significant["against_majority"][index] and cell.against_majority.mean > 0
            ):
                marks += "○"
            if cell.against_baseline:
                if significant["against_baseline"][index]:
                    marks += "◆" if enough and cell.against_baseline.mean < 0 else ""
                else:
                    marks += "◇"
            texts[key] = f"{cell.text} {marks}".rstrip()
        return texts


def _discoveries(intervals: list[Interval | None]) -> list[bool]:
    """Which comparisons are significant after Benjamini–Hochberg over those made (None: no comparison)."""
    made = [i for i, interval in enumerate(intervals) if interval is not None]
    found = [False] * len(intervals)
    if made:
        adjusted = false_discovery_control([intervals[i].p_value for i in made], method="bh")
        for i, p in zip(made, adjusted):
            found[i] = bool(p < LEVEL)
    return found


@dataclass
class Differences:
    """Paired differences of one table — ours minus theirs on the seeds both have and the same examples, in points
    with a 95 % bootstrap interval — marked ▲ ▼ where significant after Benjamini–Hochberg over the table's
    differences, on at least MIN_SEEDS_FOR_SIGNIFICANCE seeds; the mean difference alone where the records kept
    no predictions; "–" where the two share no seed."""

    found: dict[Hashable, tuple[Interval | None, int]] = field(default_factory=dict)

    def add(self, key: Hashable, runs, summary: Callable, others, other_summary: Callable) -> None:
        ours, theirs = _correctness(runs, summary), _correctness(others, other_summary)
        interval = paired_bootstrap(ours, theirs) if ours and theirs else None
        if interval is None:  # no predictions kept: the mean of the per-seed differences, without an interval
            mine = {r.seed: summary(r).accuracy for r in runs}
            shared = [mine[r.seed] - other_summary(r).accuracy for r in others if r.seed in mine]
            point = Interval(sum(shared) / len(shared), float("nan"), float("nan")) if shared else None
            self.found[key] = (point, 0)
            return
        self.found[key] = (interval, len(set(ours) & set(theirs)))

    def significant(self) -> dict[Hashable, bool]:
        """Which differences are significant: after Benjamini–Hochberg over the table, on enough seeds."""
        found = _discoveries([interval for interval, _ in self.found.values()])
        return {
            key: found[index] and seeds >= MIN_SEEDS_FOR_SIGNIFICANCE
            for index, (key, (_, seeds)) in enumerate(self.found.items())
        }

    def verdict(self, key: Hashable, above: str, below: str) -> str:
        """`above` or `below` where the difference at `key` is significant (ours above or below theirs), else why it
        is not."""
        interval, seeds = self.found[key]
        if interval is not None and self.significant()[key]:
            return above if interval.mean > 0 else below
        if interval is not None and seeds < MIN_SEEDS_FOR_SIGNIFICANCE:
            plural = "s" if seeds != 1 else ""
            return f"not distinguishable on {seeds} seed{plural}: significance needs {MIN_SEEDS_FOR_SIGNIFICANCE}"
        return "not distinguishable"

    def texts(self) -> dict[Hashable, str]:
        significant = self.significant()
        texts = {}
        for key, (interval, seeds) in self.found.items():
            if interval is None:
                texts[key] = "–"
                continue
            mark = ("▲" if interval.mean > 0 else "▼") if significant[key] else ""
            text = f"{100 * interval.mean:+.1f}"
            if seeds:
                text += f" [{100 * interval.low:+.1f}, {100 * interval.high:+.1f}]"
            texts[key] = f"{text} {mark}".rstrip()
        return texts

"""Accuracy cells with their intervals and significance marks (paired bootstraps, harness.stats)."""

from __future__ import annotations

import numpy as np

from harness.report.tables import kept, mean_std
from harness.results import checks
from harness.results.record import EvaluationRecord, ScoredFields
from harness.stats import bootstrap, paired_bootstrap

MARKS = (
    "Cells: mean ± std over seeds, then the 95 % bootstrap interval over seeds and evaluation examples "
    "(harness.stats). "
    "Marks, each from a paired bootstrap on the same examples and seeds: ▼ / ▲ significantly below / above full "
    "fine-tuning; ○ not distinguishable from the majority class; ◇ not distinguishable from the frozen-feature "
    "baseline, ◆ significantly below it."
)


def in_domain(record: ScoredFields) -> EvaluationRecord | None:
    return record.eval


def _correctness(runs, summary=in_domain) -> dict[int, np.ndarray] | None:
    """Per seed, 1 where a prediction was right; None for records that kept no predictions."""
    summaries = {r.seed: summary(r) for r in runs}
    if not summaries or not all(map(kept, summaries.values())):
        return None
    return {seed: checks.correct(s) for seed, s in summaries.items()}


def accuracy_cell(runs, full=None, baseline=None, summary=in_domain) -> str:
    """mean ± std [95 % interval] and the significance marks of MARKS."""
    if not runs:
        return "–"
    values = [summary(r).accuracy for r in runs]
    cell = mean_std(values)
    ours = _correctness(runs, summary)
    if ours is None:
        return cell
    interval = bootstrap(np.stack(list(ours.values())))
    cell += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
    majority = {r.seed: checks.majority_correct(summary(r), r.majority_class) for r in runs}
    marks = ""
    against_full = paired_bootstrap(ours, _correctness(full, summary) or {}) if full else None
    if against_full and against_full.excludes_zero():
        marks += "▲" if against_full.mean > 0 else "▼"
    against_majority = paired_bootstrap(ours, majority)
    if against_majority and not against_majority.low > 0:
        marks += "○"
    against_baseline = paired_bootstrap(ours, _correctness(baseline, summary) or {}) if baseline else None
    if against_baseline:
        marks += "◆" if against_baseline.high < 0 else ("◇" if not against_baseline.excludes_zero() else "")
    return f"{cell} {marks}".rstrip()

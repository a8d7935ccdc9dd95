"""The narrow table API every board section uses: markdown tables, mean ± std cells, sizes, records grouped, and
whether an evaluation kept its predictions or learned."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pandas as pd

from harness.results import checks
from harness.results.record import EvaluationRecord

Groups = dict[tuple[str, str], list[dict[str, Any]]]  # (task, approach) -> its runs' records, one per seed


def table(rows: pd.DataFrame | list[list[Any]], headers: list[str] | None = None) -> str:
    """A data frame, or rows under `headers`, as markdown (pandas' to_markdown, tabulate). Cells are
    pre-formatted strings (mean ± std, percentages): keep them as written."""
    frame = rows if headers is None else pd.DataFrame(rows, columns=headers)
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def grouped(frame: pd.DataFrame, by: str | list[str]) -> dict[Any, list[dict[str, Any]]]:
    """The records of each group, keys sorted."""
    return {key: group["record"].tolist() for key, group in frame.groupby(by, sort=True)}


def mean_std(values: Iterable[float], scale: float = 100.0) -> str:
    values = [float(value) for value in values]
    if not values:
        return "–"
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {statistics.stdev(values) * scale:.1f}"


def size(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value / 2**20:,.1f} MiB" if value >= 2**20 else f"{value / 2**10:,.1f} KiB"


def kept(summary: EvaluationRecord | None) -> bool:
    """Whether an evaluation kept its predictions (records from before they were kept did not)."""
    return summary is not None and summary.predictions is not None and summary.majority_class is not None


def learned(summary: EvaluationRecord | None, majority_class: int | None) -> bool:
    """Whether a kept evaluation beats its majority class by 2 standard errors (harness.results.checks); derived
    numbers (transfer, forgetting) are only computed against models that learned."""
    return kept(summary) and majority_class is not None and checks.learned(summary, majority_class)


@dataclass(frozen=True)
class BoardContext:
    """What a suite kind's board section may draw on besides its own runs (harness.report.board builds it)."""

    single: Groups  # successful single-task records by (task, approach), for comparisons
    baselines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # frozen-feature baselines by task
    zero_shot: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # zero-shot classifiers by task
    runs: pd.DataFrame | None = None  # every successful run, for a check that compares other kinds' runs
    changed: frozenset[tuple[str, str]] = frozenset()  # single-task cells trained under earlier declarations (†)
    inference: dict[tuple[str, str, str], dict[str, Any]] = field(
        default_factory=dict
    )  # latency by (task, approach, variant)
    plots: dict[str, str] = field(default_factory=dict)  # plot name -> file, where drawn
    # What a kind's section and its answers both read (paired bootstraps), computed once per board: name -> result.
    computed: dict[str, Any] = field(default_factory=dict)

    def once(self, name: str, compute: Callable[[], Any]) -> Any:
        if name not in self.computed:
            self.computed[name] = compute()
        return self.computed[name]

"""What the numbers say: the board's opening answers, each generated from a suite kind's runs with its interval, or
"not distinguishable" where the paired comparisons say so (harness.report.marks: paired bootstraps, Benjamini–Hochberg
over each question's comparisons, significance only on at least 3 seeds). No sentence without a number behind it: a
question the runs cannot answer (too few seeds, a cost not measured) says so instead. Each kind gives its own lines
(harness.kinds.SuiteKind.answers); this module writes the section and the single-task kind's: accuracy, the cheapest
approach at that accuracy, and out-of-domain accuracy."""

from __future__ import annotations

import statistics
from typing import Any, Callable

from harness.report.marks import MIN_SEEDS_FOR_SIGNIFICANCE, Differences, in_domain
from harness.report.tables import Groups, size


def _mean(runs, summary: Callable = in_domain) -> float:
    return statistics.fmean(summary(r).accuracy for r in runs)


def _tied_with_best(runs_by_approach: dict[str, list], summary: Callable) -> tuple[str, dict[str, str], set[str]]:
    """(the approach of best mean accuracy, each other's difference from it as text, the approaches not
    distinguishable from it, itself included)."""
    best = max(runs_by_approach, key=lambda approach: _mean(runs_by_approach[approach], summary))
    differences = Differences()
    for approach, runs in runs_by_approach.items():
        if approach != best:
            differences.add(approach, runs, summary, runs_by_approach[best], summary)
    significant = differences.significant()
    tied = {best} | {approach for approach, below in significant.items() if not below}
    return best, differences.texts(), tied


def _cheapest(tied: set[str], cost: dict[str, float | None]) -> str | None:
    known = {approach: cost[approach] for approach in tied if cost.get(approach) is not None}
    return min(known, key=known.get) if known else None


def _accuracy(runs, summary: Callable = in_domain) -> str:
    return f"{100 * _mean(runs, summary):.1f} %"


def _cheapest_lines(
    task: str, by_approach: dict[str, list], tied: set[str], inference, step_spread: float | None
) -> list[str]:
    """Among the approaches not distinguishable from the most accurate, the cheapest by each measured cost."""
    first = {approach: runs[0] for approach, runs in by_approach.items()}
    steps = {a: inference.get((task, a, "train-step")) for a in by_approach}
    costs = {  # what: (cost by approach, its text, how far apart two costs must be to differ: counted costs exactly)
        "trainable parameters": (
            {a: r.trainable_params for a, r in first.items()},
            lambda a: f"{100 * first[a].trainable_params / first[a].model_params:.3f} % of the model",
            0.0,
        ),
        "training memory": (
            {a: r.training_memory.total if r.training_memory else None for a, r in first.items()},
            lambda a: size(first[a].training_memory.total),
            0.0,
        ),
        "time a training step": (
            {a: step["median"] if step else None for a, step in steps.items()},
            lambda a: f"{1000 * steps[a]['median']:.0f} ms, timing pass",
            step_spread or 0.0,
        ),
    }
    lines = []
    for what, (cost, shown, spread_allowed) in costs.items():
        cheapest = _cheapest(tied, cost)
        if not cheapest:
            lines.append(f"  - least {what} at that accuracy: not measured for these runs")
            continue
        close = sorted(
            a for a in tied - {cheapest} if cost.get(a) is not None and cost[a] <= cost[cheapest] * (1 + spread_allowed)
        )
        lines.append(
            f"  - least {what} at that accuracy: {cheapest} ({shown(cheapest)})"
            + (
                f"; not distinguishable from it, within the {100 * spread_allowed:.0f} % by which one step timed "
                f"on several tasks varied: {', '.join(f'{a} ({shown(a)})' for a in close)}"
                if close and spread_allowed
                else ""
            )
        )
    return lines


def _against_baseline(best: str, runs: list, baseline: list) -> str:
    """The most accurate approach against the frozen-feature baseline: does fine-tuning beat the encoder's features
    read as they are?"""
    differences = Differences()
    differences.add(best, runs, in_domain, baseline, in_domain)
    verdict = differences.verdict(best, "significantly above it", "significantly below it")
    difference = differences.texts()[best]
    return f"  - against the frozen-feature baseline ({_accuracy(baseline)}): {best} {difference} ({verdict})"


def answers(
    groups: Groups,
    inference: dict[tuple[str, str, str], dict[str, Any]],
    baselines: dict[str, list] | None = None,
    step_spread: float | None = None,
) -> list[str]:
    """Per task, the most accurate approach and those it cannot be told from, how it compares with the frozen-feature
    baseline, the cheapest of those per trainable parameter, MiB of training memory and second of a training step
    (step times within `step_spread` of the cheapest, harness.report.inference.step_timing_spread, not told apart),
    and the most accurate out of domain."""
    lines = []
    for task in sorted({task for task, _ in groups}):
        by_approach = {approach: runs for (t, approach), runs in groups.items() if t == task}
        seeds = min(len(runs) for runs in by_approach.values())
        best, differences, tied = _tied_with_best(by_approach, in_domain)
        if seeds < MIN_SEEDS_FOR_SIGNIFICANCE:
            lines.append(
                f"- **{task}**: highest mean accuracy {best} ({_accuracy(by_approach[best])}); with "
                f"{seeds} seed{'s' if seeds > 1 else ''} per approach no difference is called significant, so no "
                "approach is established as best here."
            )
            continue
        others = sorted(tied - {best})
        lines.append(
            f"- **{task}**: most accurate {best} ({_accuracy(by_approach[best])}); "
            + (
                "not distinguishable from it: " + ", ".join(f"{a} ({differences[a]})" for a in others)
                if others
                else "every other approach is significantly below it"
            )
            + "."
        )
        if (baselines or {}).get(task):
            lines.append(_against_baseline(best, by_approach[best], baselines[task]))
        lines += _cheapest_lines(task, by_approach, tied, inference, step_spread)
        targets = sorted({target for runs in by_approach.values() for target in runs[0].ood})
        for target in targets:
            with_target = {a: runs for a, runs in by_approach.items() if target in runs[0].ood}

            def on_target(record, target=target):
                return record.ood[target]

            best_ood, ood_differences, ood_tied = _tied_with_best(with_target, on_target)
            others = sorted(ood_tied - {best_ood})
            lines.append(
                f"  - out of domain ({task} → {target}): most accurate {best_ood} "
                f"({_accuracy(with_target[best_ood], on_target)})"
                + (
                    "; not distinguishable: " + ", ".join(f"{a} ({ood_differences[a]})" for a in others)
                    if others
                    else ""
                )
                + "."
            )
    return lines


def answers_section(lines: list[str]) -> list[str]:
    return [
        "## What the numbers say",
        "",
        "Generated from the tables below: differences are paired (same seeds and examples) with 95 % bootstrap "
        'intervals, in points; "not distinguishable" where Benjamini–Hochberg over the question\'s comparisons finds '
        f"no difference, or where fewer than {MIN_SEEDS_FOR_SIGNIFICANCE} seeds ran. Per task: the most accurate "
        "approach and those not distinguishable from it, the cheapest of those by each measured cost, out-of-domain "
        "accuracy; then sample efficiency, transfer to a held-out task and forgetting, from their suites.",
        "",
        *lines,
        "",
    ]

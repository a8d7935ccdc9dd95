"""Forgetting, multi-task against sequential (suites/forgetting.yaml): a pair of tasks trained one after the other
(a sequential chain, A then B) and as a mixture of the two (proportional sampling) at the same total steps — the
single-task steps of A and B added up — then each scored on both tasks. Multi-task training is said to forget less:
the board gives A's accuracy after the chain and in the mixture side by side, with the paired difference. A check over
the two jobs (harness.kinds.sequential, harness.kinds.multitask), with no job of its own."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from harness.errors import SpecError
from harness.kinds import SuiteKind, register
from harness.kinds.multitask import MultiTaskJob, MultitaskSuiteSpec
from harness.kinds.sequential import SequentialJob, SequentialSuiteSpec
from harness.report.marks import Differences
from harness.report.tables import BoardContext, mean_std, table
from harness.specs import NAME_PATTERN, ApproachSpec, Spec, TaskSpec, check_known, load_spec
from harness.training.samplers import ProportionalSpec


class ForgettingSuiteSpec(Spec):
    kind: Literal["forgetting"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    pairs: list[list[str]] = Field(min_length=1, description="each [A, B]: A trained first in the chain")
    approaches: list[str] = Field(min_length=1)


def load_forgetting_suite(path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]):
    suite = load_spec(ForgettingSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "approaches", suite.approaches, approaches)
    for index, pair in enumerate(suite.pairs):
        if len(pair) != 2 or pair[0] == pair[1] or any(n not in tasks or not tasks[n].trainable for n in pair):
            raise SpecError(f"{where}: field 'pairs.{index}': two different trainable tasks, got {pair}")
    return suite


@dataclass(frozen=True)
class SideBySide:
    """One pair, approach and seed: the chain A → B and the mixture of A and B at the chain's total steps."""

    chain: SequentialJob
    mixture: MultiTaskJob

    @property
    def name(self) -> str:
        return f"{self.chain.label}-{self.chain.approach.name}-seed{self.chain.seed}-vs-mixture"


def side_by_side(suite: ForgettingSuiteSpec, session) -> list[SideBySide]:
    checks = []
    for first, second in suite.pairs:
        pair = (session.tasks[first], session.tasks[second])
        chains = SequentialSuiteSpec(kind="sequential", name=suite.name, chains=[[first, second]], approaches=["x"])
        mixtures = MultitaskSuiteSpec(
            kind="multitask",
            name=suite.name,
            tasks=[first, second],
            samplers=[ProportionalSpec(name="proportional")],
            approaches=["x"],
        )
        for approach in suite.approaches:
            for seed in session.suite_seeds:
                common = dict(
                    approach=session.approaches[approach],
                    model=session.model,
                    profile=session.profile,
                    seed=seed,
                    source=session.source,
                )
                checks.append(
                    SideBySide(
                        SequentialJob(suite=chains, chain=pair, **common),
                        MultiTaskJob(
                            suite=mixtures,
                            tasks=pair,
                            ood_tasks=(),
                            sampler=ProportionalSpec(name="proportional"),
                            equal_budget=True,  # the single-task steps added up: the chain's total
                            **common,
                        ),
                    )
                )
    return checks


def after_chain(task: str):
    """A chain record's evaluation on `task` after its last stage."""
    return lambda record: record.stages[-1].evaluations[task]


def in_mixture(task: str):
    return lambda record: record.per_task[task]


def side_by_side_differences(board: BoardContext) -> tuple[dict[tuple, list], Differences]:
    """The stored chains and mixtures that match (same pair, approach and seed; the mixture proportional at the
    chain's total steps), by (A, B, approach); and mixture minus chain on each task, keyed (A, B, approach, task)."""
    runs = board.runs
    if runs is None or runs.empty:
        return {}, Differences()
    chains = [r for r in runs[runs["kind"] == "sequential"]["record"] if len(r.chain) == 2 and r.stages]
    mixtures = [r for r in runs[runs["kind"] == "multitask"]["record"] if len(r.tasks) == 2]
    matched: dict[tuple, list] = {}
    for chain in chains:
        for mixture in mixtures:
            if (
                set(mixture.tasks) == set(chain.chain)
                and (mixture.approach, mixture.seed) == (chain.approach, chain.seed)
                and (mixture.variant or "").startswith("proportional")
                and mixture.train_steps == sum(stage.train_steps for stage in chain.stages)
            ):
                matched.setdefault((*chain.chain, chain.approach), []).append((chain, mixture))
    differences = Differences()
    for (first, second, approach), pairs in sorted(matched.items()):
        chain_runs, mixture_runs = [c for c, _ in pairs], [m for _, m in pairs]
        for task in (first, second):
            key = (first, second, approach, task)
            differences.add(key, mixture_runs, in_mixture(task), chain_runs, after_chain(task))
    return matched, differences


def forgetting_answers(_single: pd.DataFrame, board: BoardContext) -> list[str]:
    """Per pair and approach: the first task's accuracy after the chain and in the mixture, and their difference."""
    matched, differences = board.once("forgetting", lambda: side_by_side_differences(board))
    texts, lines = differences.texts(), []
    for (first, second, approach), pairs in sorted(matched.items()):
        key = (first, second, approach, first)
        chained = statistics.fmean(after_chain(first)(chain).accuracy for chain, _ in pairs)
        mixed = statistics.fmean(in_mixture(first)(mixture).accuracy for _, mixture in pairs)
        verdict = differences.verdict(key, "the mixture forgets significantly less", "the chain keeps more")
        lines.append(
            f"- **forgetting** ({first} then {second}, {approach}, equal steps): {first} after the chain "
            f"{100 * chained:.1f} %, in the mixture {100 * mixed:.1f} %: mixture minus chain {texts[key]} ({verdict})."
        )
    return lines


def leaderboard_section(_single: pd.DataFrame, board: BoardContext) -> list[str]:
    matched, differences = board.once("forgetting", lambda: side_by_side_differences(board))
    if not matched:
        return []
    texts, rows = differences.texts(), []
    for (first, second, approach), pairs in sorted(matched.items()):
        row = [f"{first} → {second}", approach, ",".join(str(chain.seed) for chain, _ in pairs)]
        for task in (first, second):
            row += [
                mean_std([after_chain(task)(chain).accuracy for chain, _ in pairs]),
                mean_std([in_mixture(task)(mixture).accuracy for _, mixture in pairs]),
                texts[(first, second, approach, task)],
            ]
        rows.append(row)
    return [
        "## Forgetting: sequential against multi-task",
        "",
        "The same two tasks trained one after the other (A → B, each stage as its single-task model) and as a "
        "proportional mixture at the same total steps, each scored on both tasks (accuracy %, same examples and "
        "seeds). Δ = mixture minus chain, with its 95 % paired bootstrap interval (▲ ▼ after Benjamini–Hochberg over "
        "the table, on at least 3 seeds): on A, how much less the mixture forgets; on B, what the chain gains by "
        "ending on it.",
        "",
        table(
            rows,
            headers=[
                "pair",
                "approach",
                "seeds",
                "A after chain",
                "A in mixture",
                "Δ on A",
                "B after chain",
                "B in mixture",
                "Δ on B",
            ],
        ),
        "",
    ]


register(
    SuiteKind(
        name="forgetting",
        fixture="forgetting",
        load=load_forgetting_suite,
        jobs=side_by_side,
        needs=lambda check: (check.chain, check.mixture),
        runs_own_job=False,
        leaderboard=leaderboard_section,
        answers=forgetting_answers,
        order=5,
    )
)

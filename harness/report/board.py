"""A leaderboard, regenerated from the results store: its header, every suite kind's own section (harness.kinds;
single-task first), the runs the declarations have moved on from, and the failures; its runs as CSV and its plots
beside it, all written in one step."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

import harness
from harness.kinds import kinds
from harness.kinds.learning_curve import curve_points
from harness.report.answers import answers_section
from harness.report.drift import Declared, changed_runs, changed_table
from harness.report.export import runs_csv
from harness.report.frame import Scope, runs_frame, select, shown_source
from harness.report.inference import INFERENCE_FILE, load_inference
from harness.report.plots import plot_accuracy_vs_cost, plot_generalization, plot_learning_curves
from harness.report.tables import BoardContext, grouped, table
from harness.results import StagedFiles
from harness.results.record import Record


def render(
    records: list[dict[str, Any]],
    scope: Scope,
    now: dt.datetime | None = None,
    plots: dict[str, str] | None = None,
    inference: dict[tuple[str, str, str], dict[str, Any]] | None = None,
    runs_file: str | None = None,
    declared: Declared | None = None,
) -> str:
    """The header, every suite kind's section (single-task first), the runs the declarations have moved on from,
    and the failures."""
    now = now or dt.datetime.now(dt.timezone.utc)
    frame = runs_frame(records)
    ok, failures = frame[frame["status"] == "ok"], frame[frame["status"] != "ok"]
    single = ok[ok["kind"] == "single-task"]
    changed = changed_runs(ok["record"], declared)
    context = BoardContext(
        single=grouped(single, ["task", "approach"]),
        baselines=grouped(ok[ok["kind"] == "frozen-features"], "task"),  # harness.jobs.baselines
        zero_shot=grouped(ok[ok["kind"] == "zero-shot"], "task"),
        runs=ok,
        changed=frozenset(key[1:3] for key in changed if key[0] == "single-task"),
        inference=inference or {},
        plots=plots or {},  # plot name (board_files) -> its file, where drawn
    )
    lines = [
        "# Leaderboard",
        "",
        "Written by the harness from its results store; do not edit by hand.",
        "",
        f"- **Profile:** {scope.profile} — {scope.profile_description}",
        f"- **Model:** {scope.model}",
        f"- **Data source:** {shown_source(scope.data_source)}",
        f"- **Hardware:** {'; '.join(sorted(frame['hardware'].dropna().unique())) or 'unknown'}",
        f"- **Precision:** {precisions(frame)}",
        f"- **Date:** {now:%Y-%m-%d %H:%M} UTC",
        f"- **Harness version:** {harness.__version__}",
        f"- **Runs:** {len(frame)} ({len(failures)} failed); seeds {seeds_by_kind(frame)}; accuracies in %"
        + (f"; every run's numbers as CSV: [{runs_file}]({runs_file})" if runs_file else ""),
        f"- **Head:** {', '.join(sorted({head_description(r) for r in records if r.pooling})) or 'unknown'} "
        f"(harness.models.heads)",
        "",
    ]
    if ok.empty:
        lines += ["No successful runs." if len(frame) else "No runs of this profile, model and data source yet.", ""]
    said, sections = [], []
    for name, kind in sorted(kinds().items(), key=lambda item: (item[1].order, item[0])):
        runs = ok[ok["kind"] == name] if kind.runs_own_job else single  # a check over other runs reads those
        if runs.empty:
            continue
        said += kind.answers(runs, context) if kind.answers else []
        sections += kind.leaderboard(runs, context) if kind.leaderboard else []
    lines += (answers_section(said) if said else []) + sections
    if changed:
        lines += [
            "## Runs the declarations have moved on from",
            "",
            "These runs trained with settings that tasks/, approaches/, suites/ and the profile no longer declare "
            "(each field that changed since, then → now); every table shows what they measured then (single-task "
            "cells marked †). The same command retrains them under today's declarations.",
            "",
            changed_table(changed),
            "",
        ]
    if not failures.empty:
        lines += [
            "## Failed runs",
            "",
            table(
                failures[["task", "approach", "variant", "seed", "failure"]].set_axis(
                    ["task", "approach", "sampler", "seed", "reason"], axis=1
                )
            ),
            "",
        ]
    return "\n".join(lines)


def seeds_by_kind(frame: pd.DataFrame) -> str:
    """The seeds most runs have, then the kinds that ran others: a profile may run its suites at fewer seeds than its
    single-task models (and zero-shot trains nothing, so needs one), and the union alone would claim more than a
    suite's table holds."""

    def listed(seeds) -> str:
        return ", ".join(str(seed) for seed in sorted(seeds))

    if frame.empty:
        return "none"
    seeds_of_kind = frame.groupby("kind")["seed"].agg(lambda seeds: listed(seeds.unique()))
    usual = frame["kind"].map(seeds_of_kind).value_counts().idxmax()  # the seeds most runs have
    others = [
        f"at {seeds}: {', '.join(sorted(kinds.index))}"
        for seeds, kinds in seeds_of_kind.groupby(seeds_of_kind)
        if seeds != usual
    ]
    return usual + (f" ({'; '.join(others)})" if others else "")


def head_description(record: Record) -> str:
    return (
        "mean of the token states → linear classifier (the checkpoint was trained with mean pooling)"
        if record.pooling == "mean"
        else "the architecture's own pooler / pre_classifier over the first token → linear classifier"
    )


def precisions(frame: pd.DataFrame) -> str:
    """Which precision the training runs ran at (harness.training.loop.make_accelerator), with their counts."""
    ran = frame["precision"].dropna().value_counts() if "precision" in frame else pd.Series(dtype=int)
    said = "; ".join(f"{'bf16 autocast' if name == 'bf16' else name}: {count} runs" for name, count in ran.items())
    return said or "not recorded (runs from before it was: fp32 on a CPU, bf16 autocast on CUDA)"


def board_files(path: Path) -> dict[str, Path]:
    """Every file of the board at `path`: the markdown, its runs as CSV and its plots, written together."""
    path = Path(path)
    return {
        "board": path,
        "runs": path.with_name(f"{path.stem}-runs.csv"),
        "plot": path.with_name(f"{path.stem}-accuracy-vs-cost.png"),
        "generalization": path.with_name(f"{path.stem}-generalization.png"),
        "learning-curve": path.with_name(f"{path.stem}-learning-curves.png"),
    }


def write(
    path: Path,
    records: Iterable[dict[str, Any]],
    scope: Scope,
    store_root: Path | None = None,
    declared: Declared | None = None,
) -> int:
    """Writes the leaderboard for `scope`, and beside it its plots and its runs as CSV (runs_csv), all in one
    step (results.StagedFiles: an interrupt leaves the old files or the new ones, never a mix); returns how
    many runs it shows. The inference columns come from the store's benchmark JSON (INFERENCE_FILE), where
    there is one; runs that `declared` (today's declarations) no longer describe are marked."""
    files = board_files(path)
    selected = select(records, scope)
    frame = runs_frame(selected)
    ok = frame[frame["status"] == "ok"]
    single = ok[ok["kind"] == "single-task"]
    inference = load_inference(Path(store_root) / INFERENCE_FILE.format(profile=scope.profile)) if store_root else {}
    with StagedFiles() as staged:
        drawn = {
            name: draw(staged.path(files[name]))
            for name, draw in (
                ("plot", lambda target: plot_accuracy_vs_cost(single, target)),
                ("generalization", lambda target: plot_generalization(grouped(single, ["task", "approach"]), target)),
                (
                    "learning-curve",
                    lambda target: plot_learning_curves(curve_points(ok[ok["kind"] == "learning-curve"], ok), target),
                ),
            )
        }
        for name, was_drawn in drawn.items():
            if not was_drawn:  # no stale plot beside a board that no longer shows it
                staged.remove(files[name])
        staged.text(files["runs"], runs_csv(selected))
        staged.text(
            files["board"],
            render(
                selected,
                scope,
                plots={name: files[name].name for name, was_drawn in drawn.items() if was_drawn},
                inference=inference,
                runs_file=files["runs"].name,
                declared=declared,
            ),
        )
    return len(selected)

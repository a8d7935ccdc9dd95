"""leaderboard.md, regenerated from the results store.

The records of one (profile, model, data source) become a data frame (pandas), one row per run: the
newest record of each (kind, task, approach, variant, seed). Cells aggregate a group's seeds as
mean ± standard deviation. The single-task tables are drawn here; every other suite kind draws its
own section with the renderer it registers (harness.suitekinds.SuiteKind.leaderboard).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

import harness
from harness import checks
from harness.results import StagedFiles, atomic_write_text
from harness.specs import PROJECT_ROOT
from harness.stats import bootstrap, paired_bootstrap

RUN_KEY = ["kind", "task", "approach", "variant", "seed"]  # a newer record of the same key replaces the older
RUN_KEY_DEFAULTS = {"kind": "single-task", "variant": ""}  # records from before kinds and variants were recorded
ALWAYS = ["status", "finished_at", "profile", "model", "data_source", "hardware", "peak_memory_kind", "failure"]  # columns even when no record has them
Groups = dict[tuple[str, str], list[dict[str, Any]]]  # (task, approach) -> its runs' records, one per seed
Declared = Mapping[tuple, dict[str, Any]]  # run key -> the identity its job has today, as stored (harness.declarations)


@dataclass(frozen=True)
class Scope:
    profile: str
    profile_description: str
    model: str
    data_source: str


def shown_source(data_source: str) -> str:
    """A data source as a committed board shows it: a mirror's path relative to the project (`mirror ../shared/data`),
    not one machine's absolute path; records keep what they ran on."""
    kind, _, where = data_source.partition(" ")
    if kind != "mirror" or not Path(where).is_absolute():
        return data_source
    return f"mirror {os.path.relpath(where, PROJECT_ROOT)}"


def table(rows: pd.DataFrame | list[list[Any]], headers: list[str] | None = None) -> str:
    """A data frame, or rows under `headers`, as markdown (pandas' to_markdown, tabulate). Cells are
    pre-formatted strings (mean ± std, percentages): keep them as written."""
    frame = rows if headers is None else pd.DataFrame(rows, columns=headers)
    return frame.to_markdown(index=False, tablefmt="github", disable_numparse=True)


def run_key(record: dict[str, Any]) -> tuple:
    """A record's RUN_KEY, with the defaults _fill_run_key gives records from before kinds and variants."""
    return tuple((record.get(field) or RUN_KEY_DEFAULTS[field]) if field in RUN_KEY_DEFAULTS else record[field] for field in RUN_KEY)


def runs_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per record: its top-level fields as columns (missing ones NaN), `kind` and `variant` filled in,
    `accuracy` from its metrics, and the record itself in `record` for cells that need its predictions."""
    records = list(records)
    columns = sorted({field for record in records for field in record} | {*RUN_KEY, *ALWAYS})
    frame = pd.DataFrame(records, columns=columns)
    frame["record"] = records
    _fill_run_key(frame)
    frame["accuracy"] = [(record.get("metrics") or {}).get("accuracy") for record in records]
    return frame


def _fill_run_key(frame: pd.DataFrame) -> None:
    """Records from before kinds and variants were recorded are single-task runs without a variant."""
    for column, default in RUN_KEY_DEFAULTS.items():
        frame[column] = frame[column].where(frame[column].notna(), default) if column in frame else default


def select(records: Iterable[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    frame = runs_frame(records)
    in_scope = ((frame["profile"] == scope.profile) & (frame["model"] == scope.model) & (frame["data_source"] == scope.data_source)
                & (frame["kind"] != "sweep"))  # sweeps: hyper-parameter search on the dev slice (harness.sweep), not results
    newest = frame[in_scope].sort_values("finished_at", kind="stable").drop_duplicates(RUN_KEY, keep="last")
    return newest.sort_values(RUN_KEY, kind="stable")["record"].tolist()


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


MARKS = (
    "Cells: mean ± std over seeds, then the 95 % bootstrap interval over seeds and evaluation examples (harness.stats). "
    "Marks, each from a paired bootstrap on the same examples and seeds: ▼ / ▲ significantly below / above full "
    "fine-tuning; ○ not distinguishable from the majority class; ◇ not distinguishable from the frozen-feature "
    "baseline, ◆ significantly below it."
)


def _correctness(runs, summary=lambda record: record.get("eval") or record) -> dict[int, np.ndarray] | None:
    """Per seed, 1 where a prediction was right; None for records that kept no predictions."""
    summaries = {r["seed"]: summary(r) for r in runs}
    if not summaries or any(s is None or "predictions" not in s for s in summaries.values()):
        return None
    return {seed: checks.correct(s) for seed, s in summaries.items()}


def accuracy_cell(runs, full=None, baseline=None, summary=lambda record: record.get("eval") or record) -> str:
    """mean ± std [95 % interval] and the significance marks of MARKS."""
    if not runs:
        return "–"
    values = [summary(r)["metrics"]["accuracy"] for r in runs]
    cell = mean_std(values)
    ours = _correctness(runs, summary)
    if ours is None:
        return cell
    interval = bootstrap(np.stack(list(ours.values())))
    cell += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
    majority = {r["seed"]: checks.majority_correct(summary(r), r["majority_class"]) for r in runs}
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


def in_domain_table(groups, baselines, changed: set[tuple[str, str]] = frozenset()) -> str:
    tasks = sorted({task for task, _ in groups})
    approaches = sorted({approach for _, approach in groups})
    majority = {task: [r["majority_rate"] for r in runs] for (task, _), runs in groups.items()}
    rows = [["majority class (of the training split)"] + [mean_std(majority[task]) for task in tasks],
            ["frozen features + logistic regression"] + [accuracy_cell(baselines.get(task, [])) for task in tasks]]
    for approach in approaches:
        rows.append([approach] + [accuracy_cell(groups.get((task, approach), []), None if approach == "full" else groups.get((task, "full")),
                                                baselines.get(task)) + (" †" if (task, approach) in changed else "")
                                  for task in tasks])
    rows.append(["splits (train, eval)"] + [_splits_cell([r for (t, _), runs in groups.items() if t == task for r in runs]) for task in tasks])
    return table(rows, headers=["approach"] + tasks)


def _splits_cell(runs) -> str:
    """The splits the task's runs used; 'fallback' where the source lacked the task's own (tasks/<task>.yaml)."""
    used = sorted({r["split_spec"] for r in runs})
    declared = runs[0]["config"]["task"]["splits"]
    own = f"train={declared['train']} eval={declared['eval']}"
    return "; ".join(spec if spec == own else f"fallback {spec}" for spec in used)


def out_of_domain_table(groups, baselines) -> str:
    rows = []
    named = {("frozen-features", task): runs for task, runs in baselines.items()}
    for (task, approach), runs in sorted(groups.items()) + sorted((k[::-1], v) for k, v in named.items()):
        for target in sorted(runs[0]["ood"]):
            def ood(record, target=target):
                return record["ood"].get(target)

            in_domain = [r["metrics"]["accuracy"] for r in runs]
            gaps = [a - ood(r)["metrics"]["accuracy"] for a, r in zip(in_domain, runs)]
            full = groups.get((task, "full")) if approach != "full" else None
            rows.append([f"{task} → {target}", approach, mean_std(in_domain),
                         accuracy_cell(runs, full, baselines.get(task) if approach != "frozen-features" else None, ood),
                         mean_std(gaps), mean_std([ood(r)["majority_rate"] for r in runs]), ood(runs[0])["examples"]])
    return table(rows, headers=["transfer", "approach", "in-domain acc", "out-of-domain acc", "gap", "majority", "eval examples"])


INFERENCE_FILE = "benchmarks/inference-{profile}.json"  # in the results store, merged from each inference pass's JSON


def _inference_key(benchmark: dict[str, Any]) -> tuple[str, str, str] | None:
    info = benchmark.get("extra_info", {})
    return (info["task"], info["approach"], info["variant"]) if "variant" in info else None


def keep_inference(benchmark_json: Path, store_root: Path, profile: str) -> None:
    """Merges a pass's pytest-benchmark JSON into the store's (INFERENCE_FILE): its benchmarks replace those
    of the same (task, approach, variant), the others stay, so a `-k` selection updates only its rows."""
    target = Path(store_root) / INFERENCE_FILE.format(profile=profile)
    new = json.loads(Path(benchmark_json).read_text())
    if target.is_file():
        replaced = {_inference_key(b) for b in new["benchmarks"]}
        new["benchmarks"] += [b for b in json.loads(target.read_text())["benchmarks"] if _inference_key(b) not in replaced]
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps(new, indent=1))


def load_inference(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(task, approach, variant) -> pytest-benchmark's statistics (seconds) from its JSON; {} where there is none."""
    if not path.is_file():
        return {}
    benchmarks = json.loads(path.read_text())["benchmarks"]
    return {_inference_key(b): b["stats"] for b in benchmarks if _inference_key(b)}


def _latency(stats: dict[str, Any] | None) -> str:
    return f"{1000 * stats['median']:.1f} [{1000 * stats['q1']:.1f}, {1000 * stats['q3']:.1f}]" if stats else "–"


def _against_plain(stats: dict[str, Any] | None, plain: dict[str, Any] | None) -> str:
    """Median over the plain model's median; ≈ where the two interquartile ranges overlap."""
    if not stats or not plain:
        return "–"
    overlap = stats["q1"] <= plain["q3"] and plain["q1"] <= stats["q3"]
    return f"{stats['median'] / plain['median']:.2f}×" + (" ≈" if overlap else "")


def cost_table(single: pd.DataFrame, inference: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """Sizes from a (task, approach)'s first run (every seed has the same), memory and speed averaged over its seeds."""
    per = single.groupby(["task", "approach"]).agg(
        method_params=("method_params", "first"), head_params=("head_params", "first"),
        trainable_params=("trainable_params", "first"), model_params=("model_params", "first"),
        saved_state=("trainable_state_bytes", "first"), peak_memory=("peak_memory_bytes", "mean"),
        train_seconds=("train_seconds", "mean"), train_speed=("train_samples_per_second", "mean"))
    rows = []
    for (task, approach), run in per.iterrows():
        plain = inference.get((task, approach, "plain"))
        rows.append([
            approach, task, f"{int(run.method_params):,}", f"{int(run.head_params):,}",
            f"{100 * run.trainable_params / run.model_params:.3f}%", size(run.saved_state), size(run.peak_memory),
            f"{run.train_seconds:.1f}", f"{run.train_speed:.1f}",
            _latency(inference.get((task, approach, "trained"))),
            _against_plain(inference.get((task, approach, "trained")), plain),
            _against_plain(inference.get((task, approach, "merged")), plain),
        ])
    return table(rows, headers=["approach", "task", "method params", "head params", "trainable % of model", "saved state",
                                "peak memory", "train s", "train samples/s", "inference ms/batch [IQR]", "vs plain",
                                "merged vs plain"])


def runs_table(groups: Groups) -> str:
    rows = []
    for (task, approach), runs in groups.items():
        first = runs[0]
        metrics = ", ".join(f"{name} {mean_std([r['metrics'][name] for r in runs])}" for name in first["metrics"])
        dev = mean_std([r["dev"]["metrics"]["accuracy"] for r in runs if "dev" in r])
        rows.append([task, approach, ",".join(str(r["seed"]) for r in runs), metrics, dev, first["split_spec"],
                     first["train_examples"], first.get("dev_examples", "–"), first["eval_examples"], " ".join(r["config_hash"] for r in runs)])
    return table(rows, headers=["task", "approach", "seeds", "metrics (%)", "dev accuracy (%)", "splits", "train examples",
                                "dev examples", "eval examples", "config"])


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested fields as dotted keys; by hand, as pandas' json_normalize turns None into NaN, which equals nothing."""
    flat = {}
    for key, value in config.items():
        flat.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) and value else {f"{prefix}{key}": value})
    return flat


def changes_since(record: dict[str, Any], declared: Declared | None) -> list[str]:
    """How the YAML declarations today differ from what this run trained with, as `field: then → now`; empty where
    they agree or nothing can be compared (no declarations given, a run they do not declare — other seeds, a suite
    since removed — or a record without its config)."""
    now = declared.get(run_key(record)) if declared else None
    if now is None or "config" not in record:
        return []
    then, now = _flat(record["config"]), _flat(now)
    return [f"{field}: {_short(then.get(field, '–'))} → {_short(now.get(field, '–'))}"
            for field in sorted(then.keys() | now.keys()) if then.get(field) != now.get(field)]


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def changed_runs(records: Iterable[dict[str, Any]], declared: Declared | None) -> dict[tuple, dict[str, Any]]:
    """By (kind, task, approach, variant): the seeds whose runs the declarations have moved on from, and what changed."""
    changed: dict[tuple, dict[str, Any]] = {}
    for record in records:
        changes = changes_since(record, declared)
        if changes:
            entry = changed.setdefault(run_key(record)[:-1], {"seeds": [], "changes": set()})
            entry["seeds"].append(record["seed"])
            entry["changes"].update(changes)
    return changed


def changed_table(changed: dict[tuple, dict[str, Any]]) -> str:
    return table([[*key, ",".join(str(s) for s in sorted(entry["seeds"])), "; ".join(sorted(entry["changes"]))]
                  for key, entry in sorted(changed.items())], headers=["kind", "task", "approach", "variant", "seeds", "then → now"])


def pareto_front(points: list[tuple[float, float]]) -> set[int]:
    """Indices of points no other point beats on both fewer parameters and higher accuracy."""
    return {i for i, (share, accuracy) in enumerate(points)
            if not any(s <= share and a >= accuracy and (s, a) != (share, accuracy) for s, a in points)}


def plot_accuracy_vs_parameters(single: pd.DataFrame, path: Path) -> bool:
    """One panel per task: accuracy against trainable share of the model (log scale), Pareto front joined."""
    if single.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = (single.assign(share=100 * single["trainable_params"] / single["model_params"], accuracy=100 * single["accuracy"])
              .groupby(["task", "approach"]).agg(share=("share", "first"), accuracy=("accuracy", "mean")))
    tasks = points.index.unique("task")
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        rows = points.loc[task]
        front = pareto_front(list(zip(rows["share"], rows["accuracy"])))
        for index, (approach, share, accuracy) in enumerate(rows.itertuples()):
            axis.scatter(share, accuracy, color="tab:red" if index in front else "tab:blue", zorder=3)
            axis.annotate(approach, (share, accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
        line = rows.iloc[sorted(front)].sort_values(["share", "accuracy"])
        axis.plot(line["share"], line["accuracy"], color="tab:red", linewidth=1, label="Pareto front")
        axis.axhline(100 * single.loc[single["task"] == task, "majority_rate"].mean(),
                     color="grey", linestyle=":", linewidth=1, label="majority class")
        axis.set_xscale("log")
        axis.set_title(task)
        axis.set_xlabel("trainable parameters, % of model (log)")
        axis.set_ylabel("accuracy (%)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def plot_generalization(groups, path: Path) -> bool:
    """In-domain against out-of-domain accuracy per approach, one panel per transfer (SST-2 → IMDB)."""
    transfers = sorted({(task, target) for (task, _), runs in groups.items() for target in runs[0]["ood"]})
    if not transfers:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(transfers), figsize=(5 * len(transfers), 4.2), squeeze=False)
    for axis, (task, target) in zip(axes[0], transfers):
        for (t, approach), runs in sorted(groups.items()):
            if t != task or target not in runs[0]["ood"]:
                continue
            x = 100 * statistics.fmean(r["metrics"]["accuracy"] for r in runs)
            y = 100 * statistics.fmean(r["ood"][target]["metrics"]["accuracy"] for r in runs)
            axis.scatter(x, y, zorder=3)
            axis.annotate(approach, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        low, high = axis.get_xlim()[0], axis.get_xlim()[1]
        axis.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1, label="no generalization gap")
        axis.set_title(f"{task} → {target}")
        axis.set_xlabel(f"in-domain accuracy on {task} (%)")
        axis.set_ylabel(f"out-of-domain accuracy on {target} (%)")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def render(records: list[dict[str, Any]], scope: Scope, now: dt.datetime | None = None, plot: str | None = None,
           generalization_plot: str | None = None, inference: dict[tuple[str, str, str], dict[str, Any]] | None = None,
           runs_file: str | None = None, declared: Declared | None = None) -> str:
    from harness.suitekinds import kinds

    now = now or dt.datetime.now(dt.timezone.utc)
    frame = runs_frame(records)
    ok, failures = frame[frame["status"] == "ok"], frame[frame["status"] != "ok"]
    single = ok[ok["kind"] == "single-task"]
    groups = grouped(single, ["task", "approach"])
    baselines = grouped(ok[ok["kind"] == "frozen-features"], "task")  # harness.baselines
    changed = changed_runs(ok["record"], declared)
    changed_cells = {key[1:3] for key in changed if key[0] == "single-task"}
    lines = [
        "# Leaderboard",
        "",
        "Written by the harness from its results store; do not edit by hand.",
        "",
        f"- **Profile:** {scope.profile} — {scope.profile_description}",
        f"- **Model:** {scope.model}",
        f"- **Data source:** {shown_source(scope.data_source)}",
        f"- **Hardware:** {'; '.join(sorted(frame['hardware'].dropna().unique())) or 'unknown'}",
        f"- **Date:** {now:%Y-%m-%d %H:%M} UTC",
        f"- **Harness version:** {harness.__version__}",
        f"- **Runs:** {len(frame)} ({len(failures)} failed); seeds {', '.join(str(s) for s in sorted(frame['seed'].unique()))}; accuracies in %"
        + (f"; every run's numbers as CSV: [{runs_file}]({runs_file})" if runs_file else ""),
        f"- **Head:** {', '.join(sorted({_head(r) for r in records if r.get('pooling')})) or 'unknown'} (harness.heads)",
        "",
        "## In-domain accuracy (%)",
        "",
        in_domain_table(groups, baselines, changed_cells) if groups else
        ("No successful runs." if len(frame) else "No runs of this profile, model and data source in the store yet."),
        "",
        MARKS + (" † trained under earlier declarations: see \"Runs the declarations have moved on from\"." if changed_cells else ""),
        "",
    ]
    if plot:
        lines += [f"![accuracy vs trainable parameters]({plot})", "",
                  "Accuracy against the share of the model's parameters that trained (log scale); red points "
                  "and line: the Pareto front (no other approach is both cheaper and more accurate).", ""]
    if any(runs[0]["ood"] for runs in groups.values()):
        lines += ["## Out-of-domain accuracy (%)", "",
                  "Gap = in-domain minus out-of-domain accuracy, in points; majority: the training split's majority "
                  "label's rate on the out-of-domain set. Out-of-domain cells carry the marks of the in-domain table.", "",
                  out_of_domain_table(groups, baselines), ""]
        if generalization_plot:
            lines += [f"![in-domain vs out-of-domain accuracy]({generalization_plot})", "",
                      "Each approach's in-domain accuracy against its out-of-domain accuracy; the further below the "
                      "diagonal, the larger the generalization gap.", ""]
    if groups:
        memory_kinds = sorted(frame["peak_memory_kind"].dropna().unique())
        lines += ["## Cost", "", f"Peak memory: {', '.join(memory_kinds)}. Saved state: the trainable parameters, "
                  "all that must be stored to reproduce the fine-tuned model. Method params: what the approach adds or "
                  "unfreezes in the encoder; head params: the task head, trained under every approach (BERT's pooler or "
                  "DistilBERT's `pre_classifier` where the head uses it, and the classifier; see Head above). "
                  "Inference: pytest-benchmark's median [interquartile range] over rounds of predicting one batch of the "
                  "eval split (suites/test_inference.py, a pass of its own after training); vs plain: over the plain "
                  "pre-trained classifier timed just before it, ≈ where the two ranges overlap; merged: LoRA folded "
                  "into the weights. – where no inference pass has run.", "",
                  cost_table(single, inference or {}), "",
                  "## Runs", "", runs_table(groups), ""]
    if changed:
        lines += ["## Runs the declarations have moved on from", "",
                  "These runs trained with settings that tasks/, approaches/, suites/ and the profile no longer declare "
                  "(each field that changed since, then → now); every table shows what they measured then (single-task "
                  "cells marked †). The same command retrains them under today's declarations.", "", changed_table(changed), ""]
    for name, kind in sorted(kinds().items()):
        runs = ok[ok["kind"] == name] if kind.runs_own_job else single  # a check over other runs reads those
        if kind.leaderboard and not runs.empty:
            lines += kind.leaderboard(runs, groups)
    if not failures.empty:
        lines += ["## Failed runs", "", table(failures[["task", "approach", "variant", "seed", "failure"]]
                                              .set_axis(["task", "approach", "sampler", "seed", "reason"], axis=1)), ""]
    return "\n".join(lines)


PER_EXAMPLE = ("predictions", "labels")  # one digit per example: in the store's records, not in the CSV
NOT_EXPORTED = ("config", "worker")  # config_hash names the config; the worker is where it ran, not what


def _without_per_example(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_per_example(inner) for key, inner in value.items() if key not in PER_EXAMPLE}
    return value


def runs_csv(records: Iterable[dict[str, Any]]) -> str:
    """One row per run, for analysis outside the harness: every record field, nested ones flattened to dotted
    columns (`eval.metrics.accuracy`, `ood.imdb.metrics.accuracy`, `per_task.mnli.metrics.accuracy`,
    `package_versions.torch`), lists as JSON; without the per-example predictions and the config itself."""
    frame = pd.json_normalize([_without_per_example(record) for record in records])
    frame = frame.drop(columns=[c for c in frame.columns if c.split(".")[0] in NOT_EXPORTED])
    frame = frame.reindex(columns=list(dict.fromkeys([*RUN_KEY, *frame.columns])))  # an empty store: a header alone
    if "data_source" in frame:
        frame["data_source"] = frame["data_source"].map(shown_source, na_action="ignore")
    frame = frame.map(lambda cell: json.dumps(cell, ensure_ascii=False) if isinstance(cell, list) else cell)
    _fill_run_key(frame)
    first = RUN_KEY + [column for column in ("status", "config_hash") if column in frame.columns]
    frame = frame[first + sorted(set(frame.columns) - set(first))]
    return frame.sort_values(RUN_KEY, key=lambda column: column if column.name == "seed" else column.astype(str)).to_csv(index=False)


def kept(summary: dict[str, Any] | None) -> bool:
    """Whether an evaluation kept its predictions (records from before they were kept did not)."""
    return bool(summary and "predictions" in summary and "majority_class" in summary)


def learned(summary: dict[str, Any] | None, majority_class: int | None) -> bool:
    """Whether a kept evaluation beats its majority class by 2 standard errors (harness.checks); derived
    numbers (transfer, forgetting) are only computed against models that learned."""
    return bool(summary and "predictions" in summary and majority_class is not None and checks.learned(summary, majority_class))


def _head(record: dict[str, Any]) -> str:
    return ("mean of the token states → linear classifier (the checkpoint was trained with mean pooling)" if record["pooling"] == "mean"
            else "the architecture's own pooler / pre_classifier over the first token → linear classifier")


def board_files(path: Path) -> dict[str, Path]:
    """Every file of the board at `path`: the markdown, its runs as CSV and its plots, written together."""
    path = Path(path)
    return {"board": path, "runs": path.with_name(f"{path.stem}-runs.csv"),
            "plot": path.with_name(f"{path.stem}-accuracy-vs-parameters.png"),
            "generalization": path.with_name(f"{path.stem}-generalization.png")}


def write(path: Path, records: Iterable[dict[str, Any]], scope: Scope, store_root: Path | None = None,
          declared: Declared | None = None) -> int:
    """Writes the leaderboard for `scope`, and beside it its plots and its runs as CSV (runs_csv), all in one
    step (results.StagedFiles: an interrupt leaves the old files or the new ones, never a mix); returns how
    many runs it shows. The inference columns come from the store's benchmark JSON (INFERENCE_FILE), where
    there is one; runs that `declared` (today's declarations) no longer describe are marked."""
    files = board_files(path)
    selected = select(records, scope)
    frame = runs_frame(selected)
    single = frame[(frame["status"] == "ok") & (frame["kind"] == "single-task")]
    inference = load_inference(Path(store_root) / INFERENCE_FILE.format(profile=scope.profile)) if store_root else {}
    with StagedFiles() as staged:
        drawn = {name: draw(staged.path(files[name])) for name, draw in (
            ("plot", lambda target: plot_accuracy_vs_parameters(single, target)),
            ("generalization", lambda target: plot_generalization(grouped(single, ["task", "approach"]), target)))}
        for name, was_drawn in drawn.items():
            if not was_drawn:  # no stale plot beside a board that no longer shows it
                staged.remove(files[name])
        staged.text(files["runs"], runs_csv(selected))
        staged.text(files["board"], render(
            selected, scope, plot=files["plot"].name if drawn["plot"] else None,
            generalization_plot=files["generalization"].name if drawn["generalization"] else None,
            inference=inference, runs_file=files["runs"].name, declared=declared))
    return len(selected)

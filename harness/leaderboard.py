"""leaderboard.md, regenerated from the results store with tabulate.

Only records of one (profile, model, data source) are shown together; for each (task, approach,
seed) the newest record counts, and seeds are aggregated as mean ± standard deviation.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from tabulate import tabulate

import numpy as np

import harness
from harness import checks
from harness.results import atomic_write_text
from harness.stats import Interval, bootstrap


@dataclass(frozen=True)
class Scope:
    profile: str
    profile_description: str
    model: str
    data_source: str


def table(rows, headers) -> str:
    """Cells are pre-formatted strings (mean ± std, percentages): keep them as written."""
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def select(records: Iterable[dict[str, Any]], scope: Scope) -> list[dict[str, Any]]:
    newest: dict[tuple, dict[str, Any]] = {}
    for record in records:
        if (record["profile"], record["model"], record["data_source"]) != (scope.profile, scope.model, scope.data_source):
            continue
        if kind(record) == "sweep":
            continue  # hyper-parameter search on the dev slice (harness.sweep), not a result
        key = (kind(record), record["task"], record["approach"], record.get("variant"), record["seed"])
        if key not in newest or record["finished_at"] > newest[key]["finished_at"]:
            newest[key] = record
    return sorted(newest.values(), key=lambda r: (kind(r), r["task"], r["approach"], r.get("variant") or "", r["seed"]))


def kind(record: dict[str, Any]) -> str:
    return record.get("kind", "single-task")


def _mean_std(values: list[float], scale: float = 100.0) -> str:
    if not values:
        return "–"
    mean = statistics.fmean(values) * scale
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {statistics.stdev(values) * scale:.1f}"


def _group(records: list[dict[str, Any]], of_kind: str = "single-task") -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["status"] == "ok" and kind(record) == of_kind:
            groups[(record["task"], record["approach"])].append(record)
    return groups


def _baselines(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Frozen-feature baseline runs (harness.baselines) by task."""
    return {task: runs for (task, _), runs in _group(records, "frozen-features").items()}


def multitask_tables(records: list[dict[str, Any]], single: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    """Per mixture: each task's accuracy against the same approach's single-task models (same
    profile and seeds), the task shares the sampler realised, and the cost of one model vs many."""
    mixtures: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["status"] == "ok" and kind(record) == "multitask":
            mixtures[(record["task"], record["variant"], record["approach"])].append(record)
    if not mixtures:
        return []
    accuracy_rows, cost_rows = [], []
    for (suite, sampler, approach), runs in sorted(mixtures.items()):
        tasks = runs[0]["tasks"]
        total = sum(runs[0]["sampled_batches"].values())
        cells = []
        for task in tasks:
            ours = [r["per_task"][task]["metrics"]["accuracy"] for r in runs]
            seeds = {r["seed"] for r in runs}
            theirs = [r["metrics"]["accuracy"] for r in single.get((task, approach), []) if r["seed"] in seeds]
            delta = _mean_std([a - b for a, b in zip(ours, theirs)]) if len(theirs) == len(ours) else "–"
            share = 100 * runs[0]["sampled_batches"][task] / total
            cells.append(f"{_mean_std(ours)} (Δ {delta}; {share:.0f}% of batches)")
        ood = "; ".join(f"{name} {_mean_std([r['ood'][name]['metrics']['accuracy'] for r in runs])}" for name in sorted(runs[0]["ood"]))
        accuracy_rows.append([suite, sampler, approach, *cells, ood or "–"])
        singles = [single.get((task, approach), []) for task in tasks]
        complete = all(singles)
        cost_rows.append([
            suite, sampler, approach, _bytes(runs[0]["trainable_state_bytes"]),
            _bytes(sum(s[0]["trainable_state_bytes"] for s in singles)) if complete else "–",
            f"{statistics.fmean(r['train_seconds'] for r in runs):.1f}",
            f"{sum(statistics.fmean(r['train_seconds'] for r in s) for s in singles):.1f}" if complete else "–",
            _steps(runs[0]),
        ])
    first_tasks = next(iter(mixtures.values()))[0]["tasks"]
    return [
        "## Multi-task vs single-task", "",
        "Accuracy (%) of one shared-encoder model with a head per task; Δ = multi-task minus the same approach's "
        "single-task model, same profile and seeds, in points; then the share of training batches the sampler "
        "actually drew from the task.", "",
        table(accuracy_rows, headers=["suite", "sampler", "approach", *first_tasks, "out-of-domain"]), "",
        "Cost: what must be stored (trainable state) and train time, one multi-task model vs the single-task models it replaces.", "",
        table(cost_rows, headers=["suite", "sampler", "approach", "stored (multi-task)", "stored (single-task, summed)",
                                     "train s (multi-task)", "train s (single-task, summed)",
                                     "steps (share of single-task sum)"]), "",
    ]


def _steps(record: dict[str, Any]) -> str:
    single_task = sum(record.get("single_task_steps", {}).values())
    return f"{record['train_steps']} ({record['train_steps'] / single_task:.0%})" if single_task else str(record["train_steps"])


def _bytes(value: float | None) -> str:
    if value is None:
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


def _paired(ours: dict[int, np.ndarray], theirs: dict[int, np.ndarray]) -> Interval | None:
    """Our accuracy minus theirs, on the seeds both have and the same examples."""
    seeds = sorted(set(ours) & set(theirs))
    if not seeds or any(len(ours[s]) != len(theirs[s]) for s in seeds):
        return None
    return bootstrap(np.stack([ours[s] - theirs[s] for s in seeds]))


def accuracy_cell(runs, full=None, baseline=None, summary=lambda record: record.get("eval") or record) -> str:
    """mean ± std [95 % interval] and the significance marks of MARKS."""
    if not runs:
        return "–"
    values = [summary(r)["metrics"]["accuracy"] for r in runs]
    cell = _mean_std(values)
    ours = _correctness(runs, summary)
    if ours is None:
        return cell
    interval = bootstrap(np.stack(list(ours.values())))
    cell += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
    majority = {r["seed"]: checks.majority_correct(summary(r), r["majority_class"]) for r in runs}
    marks = ""
    against_full = _paired(ours, _correctness(full, summary) or {}) if full else None
    if against_full and against_full.excludes_zero():
        marks += "▲" if against_full.mean > 0 else "▼"
    against_majority = _paired(ours, majority)
    if against_majority and not against_majority.low > 0:
        marks += "○"
    against_baseline = _paired(ours, _correctness(baseline, summary) or {}) if baseline else None
    if against_baseline:
        marks += "◆" if against_baseline.high < 0 else ("◇" if not against_baseline.excludes_zero() else "")
    return f"{cell} {marks}".rstrip()


def in_domain_table(groups, baselines) -> str:
    tasks = sorted({task for task, _ in groups})
    approaches = sorted({approach for _, approach in groups})
    majority = {task: [r["majority_rate"] for r in runs] for (task, _), runs in groups.items()}
    rows = [["majority class (of the training split)"] + [_mean_std(majority[task]) for task in tasks],
            ["frozen features + logistic regression"] + [accuracy_cell(baselines.get(task, [])) for task in tasks]]
    for approach in approaches:
        rows.append([approach] + [accuracy_cell(groups.get((task, approach), []), None if approach == "full" else groups.get((task, "full")),
                                                baselines.get(task)) for task in tasks])
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
            rows.append([f"{task} → {target}", approach, _mean_std(in_domain),
                         accuracy_cell(runs, full, baselines.get(task) if approach != "frozen-features" else None, ood),
                         _mean_std(gaps), _mean_std([ood(r)["majority_rate"] for r in runs]), ood(runs[0])["examples"]])
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


def cost_table(groups, inference: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    rows = []
    for (task, approach), runs in sorted(groups.items()):
        first = runs[0]
        memory = [r["peak_memory_bytes"] for r in runs if r["peak_memory_bytes"] is not None]
        plain = inference.get((task, approach, "plain"))
        rows.append([
            approach, task, f"{first['method_params']:,}", f"{first['head_params']:,}",
            f"{100 * first['trainable_params'] / first['model_params']:.3f}%",
            _bytes(first["trainable_state_bytes"]),
            _bytes(statistics.fmean(memory) if memory else None),
            f"{statistics.fmean(r['train_seconds'] for r in runs):.1f}",
            f"{statistics.fmean(r['train_samples_per_second'] for r in runs):.1f}",
            _latency(inference.get((task, approach, "trained"))),
            _against_plain(inference.get((task, approach, "trained")), plain),
            _against_plain(inference.get((task, approach, "merged")), plain),
        ])
    return table(rows, headers=["approach", "task", "method params", "head params", "trainable % of model", "saved state",
                                   "peak memory", "train s", "train samples/s", "inference ms/batch [IQR]", "vs plain",
                                   "merged vs plain"])


def runs_table(groups) -> str:
    rows = []
    for (task, approach), runs in sorted(groups.items()):
        first = runs[0]
        metrics = ", ".join(f"{name} {_mean_std([r['metrics'][name] for r in runs])}" for name in first["metrics"])
        dev = _mean_std([r["dev"]["metrics"]["accuracy"] for r in runs if "dev" in r])
        rows.append([task, approach, ",".join(str(r["seed"]) for r in runs), metrics, dev, first["split_spec"],
                     first["train_examples"], first.get("dev_examples", "–"), first["eval_examples"], " ".join(r["config_hash"] for r in runs)])
    return table(rows, headers=["task", "approach", "seeds", "metrics (%)", "dev accuracy (%)", "splits", "train examples",
                                "dev examples", "eval examples", "config"])


def pareto_front(points: list[tuple[float, float]]) -> set[int]:
    """Indices of points no other point beats on both fewer parameters and higher accuracy."""
    return {i for i, (share, accuracy) in enumerate(points)
            if not any(s <= share and a >= accuracy and (s, a) != (share, accuracy) for s, a in points)}


def plot_accuracy_vs_parameters(groups, path: Path) -> bool:
    """One panel per task: accuracy against trainable share of the model (log scale), Pareto front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({task for task, _ in groups})
    if not tasks:
        return False
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        rows = [(approach, 100 * runs[0]["trainable_params"] / runs[0]["model_params"],
                 100 * statistics.fmean(r["metrics"]["accuracy"] for r in runs))
                for (t, approach), runs in sorted(groups.items()) if t == task]
        front = pareto_front([(share, accuracy) for _, share, accuracy in rows])
        for index, (approach, share, accuracy) in enumerate(rows):
            axis.scatter(share, accuracy, color="tab:red" if index in front else "tab:blue", zorder=3)
            axis.annotate(approach, (share, accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
        line = sorted((rows[i][1], rows[i][2]) for i in front)
        axis.plot([x for x, _ in line], [y for _, y in line], color="tab:red", linewidth=1, label="Pareto front")
        axis.axhline(100 * statistics.fmean(runs[0]["majority_rate"] for (t, _), runs in groups.items() if t == task),
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


def sequential_tables(records: list[dict[str, Any]], single: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    chains: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["status"] == "ok" and kind(record) == "sequential":
            chains[(record["task"], record["approach"])].append(record)
    if not chains:
        return []
    rows = []
    for (_, approach), runs in sorted(chains.items()):
        chain = runs[0]["chain"]
        stages = "; ".join(
            f"after {chain[i]}: " + ", ".join(f"{task} {_mean_std([r['accuracy_matrix'][i][j] for r in runs])}" for j, task in enumerate(chain[: i + 1]))
            for i in range(len(chain)))
        target = chain[-1]
        final = [r["accuracy_matrix"][-1][-1] for r in runs]
        seeds = {r["seed"] for r in runs}
        scratch_runs = [r for r in single.get((target, approach), []) if r["seed"] in seeds]
        scratch = [r["metrics"]["accuracy"] for r in scratch_runs]
        if len(scratch) != len(final):
            gain = "–"
        elif not all(_learned(r.get("eval"), r.get("majority_class")) for r in scratch_runs if _kept(r.get("eval"))):
            gain = "n/a: the from-scratch model did not learn"
        else:
            gain = _mean_std([a - b for a, b in zip(final, scratch)])

        def forgot(stage: int, task: str) -> str:
            kept = [e for r in runs if _kept(e := r.get("stages", [{}] * (stage + 1))[stage].get("evaluations", {}).get(task))]
            learned = all(_learned(e, e["majority_class"]) for e in kept)
            return f"{task} {_mean_std([r['forgetting'][task] for r in runs])}" if learned else f"{task} n/a (not learned)"

        rows.append([" → ".join(chain), approach, stages, ", ".join(forgot(stage, task) for stage, task in enumerate(chain[:-1])),
                     _mean_std([r["backward_transfer"] for r in runs]), _mean_std(final), _mean_std(scratch), gain])
    return [
        "## Sequential fine-tuning: forgetting and transfer", "",
        "R[stage][task] is the accuracy on a chain's task after a training stage. Forgetting of a task = its best "
        "accuracy from when it was learned up to the stage before last, minus its final accuracy (Chaudhry et al., 2018). "
        "BWT = mean over earlier tasks of final accuracy minus accuracy right after learning it (Lopez-Paz & Ranzato, 2017). "
        "Transfer gain = the last task's accuracy after the chain minus the same approach's single-task accuracy from "
        "scratch (same profile and seeds). All in points (%). Forgetting and transfer are only given where the model they "
        "are measured against learned its task (beat the majority class by 2 standard errors); otherwise n/a.", "",
        table(rows, headers=["chain", "approach", "accuracy after each stage", "forgetting", "BWT", "target after chain",
                                "target from scratch", "transfer gain"]), "",
    ]


def knowledge_table(records: list[dict[str, Any]]) -> list[str]:
    """Points of probe accuracy lost per approach (columns), for each trained model and probe (rows)."""
    probes: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record["status"] == "ok" and kind(record) == "probe":
            probes[(record["probe_task"], record["task"])][record["approach"]].append(record)
    if not probes:
        return []
    approaches = sorted({approach for by_approach in probes.values() for approach in by_approach})
    rows = []
    for (probe, trained), by_approach in sorted(probes.items()):
        before = {r["seed"]: r["probe_before"] for runs in by_approach.values() for r in runs}  # one encoder per seed
        rows.append([probe, trained, _mean_std(list(before.values()))]
                    + [_mean_std([r["knowledge_lost"] for r in by_approach.get(a, [])]) for a in approaches])
    return [
        "## Forgetting of pre-trained knowledge", "",
        ("A logistic-regression probe on frozen, mean-pooled last-layer features, fitted on the pre-trained encoder "
         "(before, accuracy %) and on the fine-tuned one. Cells: points lost (before minus after); higher means "
         "fine-tuning erased more of what the encoder knew. Probes: a task the model was not trained on, and "
         "word content (which of a few mid-frequency words does a text contain? the record lists them), which no "
         "task here trains, so it also measures multi-task models (trained on: tasks (sampler))."), "",
        table(rows, headers=["probe", "trained on", "before", *approaches]), "",
    ]


def pretraining_table(records: list[dict[str, Any]], single: dict[tuple[str, str], list[dict[str, Any]]]) -> list[str]:
    adapted: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["status"] == "ok" and kind(record) == "continued-pretraining":
            adapted[(record["approach"], record["variant"], record["task"])].append(record)
    if not adapted:
        return []
    rows = []
    for (approach, corpus, task), runs in sorted(adapted.items()):
        baseline = {r["config_hash"]: r for r in single.get((task, approach), [])}
        pairs = [(r, baseline[r["baseline"]]) for r in runs if r["baseline"] in baseline]
        row = [approach, f"MLM on {corpus} ({runs[0]['mlm']['examples']} texts) → {task}"]
        row.append(f"{_mean_std([b['metrics']['accuracy'] for _, b in pairs])} → {_mean_std([r['metrics']['accuracy'] for r, _ in pairs])}")
        for target in sorted(runs[0]["ood"]):
            row.append(f"{target}: {_mean_std([b['ood'][target]['metrics']['accuracy'] for _, b in pairs])} → "
                       f"{_mean_std([r['ood'][target]['metrics']['accuracy'] for r, _ in pairs])}")
        rows.append(row + [f"{statistics.fmean(r['mlm']['train_seconds'] for r in runs):.1f}", ", ".join(runs[0]["mlm"]["initialised_weights"][:2])])
    return [
        "## Continued pre-training", "",
        "Accuracy (%) without → with masked-language-model pre-training on the unlabelled corpus before fine-tuning; "
        "same approach, profile and seed. Initialised: MLM-head weights the checkpoint lacked and that started random.", "",
        table(rows, headers=["approach", "pipeline", "in-domain", "out-of-domain", "MLM train s", "initialised"]), "",
    ]


def render(records: list[dict[str, Any]], scope: Scope, now: dt.datetime | None = None, plot: str | None = None,
           generalization_plot: str | None = None, inference: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> str:
    now = now or dt.datetime.now(dt.timezone.utc)
    groups = _group(records)
    failures = [r for r in records if r["status"] != "ok"]
    hardware = sorted({r["hardware"] for r in records if r.get("hardware")})
    memory_kinds = sorted({r["peak_memory_kind"] for r in records if r.get("peak_memory_kind")})
    lines = [
        "# Leaderboard",
        "",
        "Written by the harness from its results store; do not edit by hand.",
        "",
        f"- **Profile:** {scope.profile} — {scope.profile_description}",
        f"- **Model:** {scope.model}",
        f"- **Data source:** {scope.data_source}",
        f"- **Hardware:** {'; '.join(hardware) or 'unknown'}",
        f"- **Date:** {now:%Y-%m-%d %H:%M} UTC",
        f"- **Harness version:** {harness.__version__}",
        f"- **Runs:** {len(records)} ({len(failures)} failed); seeds {', '.join(str(s) for s in sorted({r['seed'] for r in records}))}; accuracies in %",
        f"- **Head:** {', '.join(sorted({_head(r) for r in records if r.get('pooling')})) or 'unknown'} (harness.heads)",
        "",
        "## In-domain accuracy (%)",
        "",
        in_domain_table(groups, _baselines(records)) if groups else "No successful runs.",
        "",
        MARKS,
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
                  out_of_domain_table(groups, _baselines(records)), ""]
        if generalization_plot:
            lines += [f"![in-domain vs out-of-domain accuracy]({generalization_plot})", "",
                      "Each approach's in-domain accuracy against its out-of-domain accuracy; the further below the "
                      "diagonal, the larger the generalization gap.", ""]
    if groups:
        lines += ["## Cost", "", f"Peak memory: {', '.join(memory_kinds)}. Saved state: the trainable parameters, "
                  "all that must be stored to reproduce the fine-tuned model. Method params: what the approach adds or "
                  "unfreezes in the encoder; head params: the task head, trained under every approach (BERT's pooler or "
                  "DistilBERT's `pre_classifier` where the head uses it, and the classifier; see Head above). "
                  "Inference: pytest-benchmark's median [interquartile range] over rounds of predicting one batch of the "
                  "eval split (suites/test_inference.py, a pass of its own after training); vs plain: over the plain "
                  "pre-trained classifier timed just before it, ≈ where the two ranges overlap; merged: LoRA folded "
                  "into the weights. – where no inference pass has run.", "",
                  cost_table(groups, inference or {}), "",
                  "## Runs", "", runs_table(groups), ""]
    lines += multitask_tables(records, groups)
    lines += sequential_tables(records, groups)
    lines += knowledge_table(records)
    lines += pretraining_table(records, groups)
    if failures:
        lines += ["## Failed runs", "", table([[r["task"], r["approach"], r.get("variant") or "", r["seed"], r["failure"]] for r in failures],
                                                 headers=["task", "approach", "sampler", "seed", "reason"]), ""]
    return "\n".join(lines)


def _kept(summary: dict[str, Any] | None) -> bool:
    """Whether an evaluation kept its predictions (records from before they were kept did not)."""
    return bool(summary and "predictions" in summary and "majority_class" in summary)


def _learned(summary: dict[str, Any] | None, majority_class: int | None) -> bool:
    """Whether a kept evaluation beats its majority class by 2 standard errors (harness.checks); derived
    numbers (transfer, forgetting) are only computed against models that learned."""
    return bool(summary and "predictions" in summary and majority_class is not None and checks.learned(summary, majority_class))


def _head(record: dict[str, Any]) -> str:
    return ("mean of the token states → linear classifier (the checkpoint was trained with mean pooling)" if record["pooling"] == "mean"
            else "the architecture's own pooler / pre_classifier over the first token → linear classifier")


def write(path: Path, records: Iterable[dict[str, Any]], scope: Scope, store_root: Path | None = None) -> int:
    """Writes the leaderboard for `scope`, and its plot beside it; returns how many runs it shows. The
    inference columns come from the store's benchmark JSON (INFERENCE_FILE), where there is one."""
    path = Path(path)
    selected = select(records, scope)
    groups = _group(selected)
    plot = path.with_name(f"{path.stem}-accuracy-vs-parameters.png")
    generalization = path.with_name(f"{path.stem}-generalization.png")
    drawn = plot_accuracy_vs_parameters(groups, plot)
    generalization_drawn = plot_generalization(groups, generalization)
    inference = load_inference(Path(store_root) / INFERENCE_FILE.format(profile=scope.profile)) if store_root else {}
    atomic_write_text(path, render(selected, scope, plot=plot.name if drawn else None,
                                   generalization_plot=generalization.name if generalization_drawn else None, inference=inference))
    return len(selected)

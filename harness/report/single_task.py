"""The single-task sections of a board: in-domain and out-of-domain accuracy, cost, and the runs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report.inference import against_plain, latency
from harness.report.marks import accuracy_cell
from harness.report.tables import Groups, mean_std, size, table


def in_domain_table(groups, baselines, changed: set[tuple[str, str]] = frozenset()) -> str:
    tasks = sorted({task for task, _ in groups})
    approaches = sorted({approach for _, approach in groups})
    majority = {task: [r["majority_rate"] for r in runs] for (task, _), runs in groups.items()}
    rows = [
        ["majority class (of the training split)"] + [mean_std(majority[task]) for task in tasks],
        ["frozen features + logistic regression"] + [accuracy_cell(baselines.get(task, [])) for task in tasks],
    ]
    for approach in approaches:
        rows.append(
            [approach]
            + [
                accuracy_cell(
                    groups.get((task, approach), []),
                    None if approach == "full" else groups.get((task, "full")),
                    baselines.get(task),
                )
                + (" †" if (task, approach) in changed else "")
                for task in tasks
            ]
        )
    rows.append(
        ["splits (train, eval)"]
        + [_splits_cell([r for (t, _), runs in groups.items() if t == task for r in runs]) for task in tasks]
    )
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
            rows.append(
                [
                    f"{task} → {target}",
                    approach,
                    mean_std(in_domain),
                    accuracy_cell(runs, full, baselines.get(task) if approach != "frozen-features" else None, ood),
                    mean_std(gaps),
                    mean_std([ood(r)["majority_rate"] for r in runs]),
                    ood(runs[0])["examples"],
                ]
            )
    return table(
        rows, headers=["transfer", "approach", "in-domain acc", "out-of-domain acc", "gap", "majority", "eval examples"]
    )


def cost_table(single: pd.DataFrame, inference: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """Sizes from a (task, approach)'s first run (every seed has the same), memory and speed averaged over its seeds."""
    per = single.groupby(["task", "approach"]).agg(
        method_params=("method_params", "first"),
        head_params=("head_params", "first"),
        trainable_params=("trainable_params", "first"),
        model_params=("model_params", "first"),
        saved_state=("trainable_state_bytes", "first"),
        peak_memory=("peak_memory_bytes", "mean"),
        train_seconds=("train_seconds", "mean"),
        train_speed=("train_samples_per_second", "mean"),
    )
    rows = []
    for (task, approach), run in per.iterrows():
        plain = inference.get((task, approach, "plain"))
        rows.append(
            [
                approach,
                task,
                f"{int(run.method_params):,}",
                f"{int(run.head_params):,}",
                f"{100 * run.trainable_params / run.model_params:.3f}%",
                size(run.saved_state),
                size(run.peak_memory),
                f"{run.train_seconds:.1f}",
                f"{run.train_speed:.1f}",
                latency(inference.get((task, approach, "trained"))),
                against_plain(inference.get((task, approach, "trained")), plain),
                against_plain(inference.get((task, approach, "merged")), plain),
            ]
        )
    return table(
        rows,
        headers=[
            "approach",
            "task",
            "method params",
            "head params",
            "trainable % of model",
            "saved state",
            "peak memory",
            "train s",
            "train samples/s",
            "inference ms/batch [IQR]",
            "vs plain",
            "merged vs plain",
        ],
    )


def runs_table(groups: Groups) -> str:
    rows = []
    for (task, approach), runs in groups.items():
        first = runs[0]
        metrics = ", ".join(f"{name} {mean_std([r['metrics'][name] for r in runs])}" for name in first["metrics"])
        dev = mean_std([r["dev"]["metrics"]["accuracy"] for r in runs if "dev" in r])
        rows.append(
            [
                task,
                approach,
                ",".join(str(r["seed"]) for r in runs),
                metrics,
                dev,
                first["split_spec"],
                first["train_examples"],
                first.get("dev_examples", "–"),
                first["eval_examples"],
                " ".join(r["config_hash"] for r in runs),
            ]
        )
    return table(
        rows,
        headers=[
            "task",
            "approach",
            "seeds",
            "metrics (%)",
            "dev accuracy (%)",
            "splits",
            "train examples",
            "dev examples",
            "eval examples",
            "config",
        ],
    )


def head_description(record: dict[str, Any]) -> str:
    return (
        "mean of the token states → linear classifier (the checkpoint was trained with mean pooling)"
        if record["pooling"] == "mean"
        else "the architecture's own pooler / pre_classifier over the first token → linear classifier"
    )

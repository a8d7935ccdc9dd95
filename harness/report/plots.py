"""The board's plots (matplotlib): accuracy against trainable parameters with the Pareto front, and in-domain
against out-of-domain accuracy."""

from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd


def pareto_front(points: list[tuple[float, float]]) -> set[int]:
    """Indices of points no other point beats on both fewer parameters and higher accuracy."""
    return {
        i
        for i, (share, accuracy) in enumerate(points)
        if not any(s <= share and a >= accuracy and (s, a) != (share, accuracy) for s, a in points)
    }


def plot_accuracy_vs_parameters(single: pd.DataFrame, path: Path) -> bool:
    """One panel per task: accuracy against trainable share of the model (log scale), Pareto front joined."""
    if single.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = (
        single.assign(
            share=100 * single["trainable_params"] / single["model_params"], accuracy=100 * single["accuracy"]
        )
        .groupby(["task", "approach"])
        .agg(share=("share", "first"), accuracy=("accuracy", "mean"))
    )
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
        axis.axhline(
            100 * single.loc[single["task"] == task, "majority_rate"].mean(),
            color="grey",
            linestyle=":",
            linewidth=1,
            label="majority class",
        )
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
    transfers = sorted({(task, target) for (task, _), runs in groups.items() for target in runs[0].ood})
    if not transfers:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(transfers), figsize=(5 * len(transfers), 4.2), squeeze=False)
    for axis, (task, target) in zip(axes[0], transfers):
        for (t, approach), runs in sorted(groups.items()):
            if t != task or target not in runs[0].ood:
                continue
            x = 100 * statistics.fmean(r.metrics["accuracy"] for r in runs)
            y = 100 * statistics.fmean(r.ood[target].accuracy for r in runs)
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

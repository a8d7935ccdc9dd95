"""The board's plots (matplotlib): accuracy against cost (trainable parameters, training memory) with the Pareto
front, in-domain against out-of-domain accuracy, and accuracy against training examples (learning curves)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pandas as pd


def pareto_front(points: list[tuple[float, float]]) -> set[int]:
    """Indices of points no other point beats on both lower cost and higher accuracy."""
    return {
        i
        for i, (cost, accuracy) in enumerate(points)
        if not any(c <= cost and a >= accuracy and (c, a) != (cost, accuracy) for c, a in points)
    }


MIB = 2**20
# the cost axes, each a row of panels: its label and each run's value (NaN where a run has none)
COSTS = {
    "trainable parameters, % of model (log)": lambda runs: 100 * runs["trainable_params"] / runs["model_params"],
    "training memory, MiB by component (log)": lambda runs: runs["record"].map(
        lambda record: record.training_memory.total / MIB if record.training_memory else float("nan")
    ),
}


def plot_accuracy_vs_cost(single: pd.DataFrame, path: Path) -> bool:
    """One panel per task and cost (trainable share; training memory, the component sum): mean accuracy against it
    on a log scale, the Pareto front joined. A cost no run of a task recorded leaves its panel out."""
    if single.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(single["task"]))
    figure, axes = plt.subplots(len(COSTS), len(tasks), figsize=(4.2 * len(tasks), 3.8 * len(COSTS)), squeeze=False)
    for row, (label, cost_of) in zip(axes, COSTS.items()):
        points = (
            single.assign(cost=cost_of(single), accuracy=100 * single["accuracy"])
            .groupby(["task", "approach"])
            .agg(cost=("cost", "mean"), accuracy=("accuracy", "mean"))
            .dropna()
        )
        for axis, task in zip(row, tasks):
            if task not in points.index.unique("task"):
                axis.set_visible(False)
                continue
            draw_panel(axis, points.loc[task], single.loc[single["task"] == task, "majority_rate"].mean())
            axis.set_title(task)
            axis.set_xlabel(label)
    axes[0][0].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def draw_panel(axis, rows: pd.DataFrame, majority_rate: float) -> None:
    front = pareto_front(list(zip(rows["cost"], rows["accuracy"])))
    for index, (approach, cost, accuracy) in enumerate(rows.itertuples()):
        axis.scatter(cost, accuracy, color="tab:red" if index in front else "tab:blue", zorder=3)
        axis.annotate(approach, (cost, accuracy), fontsize=7, xytext=(3, 3), textcoords="offset points")
    line = rows.iloc[sorted(front)].sort_values(["cost", "accuracy"])
    axis.plot(line["cost"], line["accuracy"], color="tab:red", linewidth=1, label="Pareto front")
    axis.axhline(100 * majority_rate, color="grey", linestyle=":", linewidth=1, label="majority class")
    axis.set_xscale("log")
    axis.set_ylabel("accuracy (%)")
    axis.grid(True, which="both", alpha=0.3)


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


def plot_learning_curves(curves: pd.DataFrame, path: Path) -> bool:
    """One panel per task: mean accuracy against training examples (log scale) per approach, with a band of the
    seeds' min to max, and the evaluation split's majority rate."""
    if curves.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = curves.assign(
        examples=[r.train_examples for r in curves["record"]], accuracy=100 * curves["accuracy"]
    ).groupby(["task", "approach", "examples"])["accuracy"]
    summary = pd.DataFrame({"mean": points.mean(), "low": points.min(), "high": points.max()}).reset_index()
    tasks = list(dict.fromkeys(summary["task"]))
    figure, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks), 3.8), squeeze=False)
    for axis, task in zip(axes[0], tasks):
        for approach, line in summary[summary["task"] == task].groupby("approach"):
            drawn = axis.plot(line["examples"], line["mean"], marker="o", label=approach)
            axis.fill_between(line["examples"], line["low"], line["high"], color=drawn[0].get_color(), alpha=0.2)
        majority = 100 * curves.loc[curves["task"] == task, "majority_rate"].mean()
        axis.axhline(majority, color="grey", linestyle=":", linewidth=1, label="majority class")
        axis.set_xscale("log")
        axis.set_title(task)
        axis.set_xlabel("training examples (log)")
        axis.set_ylabel("accuracy (%)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True

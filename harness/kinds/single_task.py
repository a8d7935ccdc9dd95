"""Single-task fine-tuning as a suite kind: every task × approach × seed (suites/single-task.yaml), each run with
its frozen-feature baseline beside it (`frozen_features_run`), and the board's in-domain, out-of-domain, cost and
runs tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pandas as pd

from harness.jobs import Job
from harness.jobs.baselines import FrozenFeaturesRecord  # noqa: F401  (registers its record type)
from harness.kinds import SuiteKind, register
from harness.report.answers import answers
from harness.report.inference import against_plain, latency, step_timing_spread
from harness.report.marks import MARKS, MarkedTable
from harness.report.tables import BoardContext, Groups, mean_std, size, table
from harness.specs import ApproachSpec, Spec, TaskSpec, check_known, load_spec


class SingleTaskSuiteSpec(Spec):
    kind: Literal["single-task"]
    name: str
    description: str
    tasks: list[str] | None = None  # default: the profile's tasks, else every trainable task
    approaches: list[str] | None = None  # default: every approach in approaches/


def load_suite(path: Path, tasks: dict[str, TaskSpec], approaches: dict[str, ApproachSpec]) -> SingleTaskSuiteSpec:
    suite = load_spec(SingleTaskSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    check_known(where, "tasks", suite.tasks or [], tasks)
    check_known(where, "approaches", suite.approaches or [], approaches)
    return suite


def single_task_jobs(suite: SingleTaskSuiteSpec, session) -> list[Job]:
    """Every (task, approach, seed): the task's seeds (the profile's, or --seeds), tasks in the profile's order."""
    names = suite.tasks or session.profile.tasks or [name for name, task in session.tasks.items() if task.trainable]
    return [
        session.single_task_job(task, approach, seed)
        for task in names
        for approach in suite.approaches or session.approaches
        for seed in session.seeds_for(task)
    ]


def select(jobs: list[Job], session, ood: bool = False, first_seed: bool = False) -> list[Job]:
    """`@pytest.mark.harness_jobs(ood=True)`: tasks with an out-of-domain evaluation; `first_seed=True`: each task's
    first seed."""
    return [
        job
        for job in jobs
        if (not ood or job.ood_tasks) and (not first_seed or job.seed == session.seeds_for(job.task.name)[0])
    ]


def leaderboard_section(runs: pd.DataFrame, board: BoardContext) -> list[str]:
    groups, baselines = board.single, board.baselines
    lines = [
        "## In-domain accuracy (%)",
        "",
        in_domain_table(groups, baselines, board.changed, board.zero_shot),
        "",
        MARKS
        + (
            ' † trained under earlier declarations: see "Runs the declarations have moved on from".'
            if board.changed
            else ""
        ),
        "",
    ]
    if "plot" in board.plots:
        lines += [
            f"![accuracy vs trainable parameters and training memory]({board.plots['plot']})",
            "",
            "Accuracy against the share of the model's parameters that trained (top) and against training memory, "
            "the sum of its components in the cost table (bottom), both on log scales; red points and line: the Pareto "
            "front (no other approach is both cheaper and more accurate).",
            "",
        ]
    if any(group[0].ood for group in groups.values()):
        lines += [
            "## Out-of-domain accuracy (%)",
            "",
            "Gap = in-domain minus out-of-domain accuracy, in points; majority: the training split's majority "
            "label's rate on the out-of-domain set. Out-of-domain cells carry the marks of the in-domain table.",
            "",
            out_of_domain_table(groups, baselines, board.zero_shot),
            "",
        ]
        if "generalization" in board.plots:
            lines += [
                f"![in-domain vs out-of-domain accuracy]({board.plots['generalization']})",
                "",
                "Each approach's in-domain accuracy against its out-of-domain accuracy; the further below the "
                "diagonal, the larger the generalization gap.",
                "",
            ]
    memory_kinds = sorted(runs["peak_memory_kind"].dropna().unique())
    return lines + [
        "## Cost",
        "",
        "Training memory: weights + gradients + optimizer state + activations saved for backward on one "
        "fixed reference batch per task (its shape in the CSV, `training_memory.reference_batch`), each counted "
        "from the tensors (harness.training.memory; the components are in the CSV); grads + optimizer: what "
        "training adds per trainable parameter. "
        f"Peak RSS, measured for reference only (allocator growth and the batch lengths a seed drew swamp the "
        f"differences between approaches): {', '.join(memory_kinds) or 'none'}. Saved state: the trainable parameters, "
        "all that must be stored to reproduce the fine-tuned model. Method params: what the approach adds or "
        "unfreezes in the encoder; head params: the task head, trained under every approach (BERT's pooler or "
        "DistilBERT's `pre_classifier` where the head uses it, and the classifier; see Head above). "
        "Train step: the approach's own training step (harness.training.loop.TrainingStep; a head on cached "
        "features where the encoder is frozen) on the task's reference batch, pytest-benchmark's median "
        "[interquartile range] over 10 rounds after 3 warm-up rounds, one job at a time; samples/s: the batch's "
        "examples over that median"
        + (
            f"; one step timed on several tasks (same approach, same batch shape) varied by up to "
            f"{100 * spread:.0f} % here, so step times closer than that are not told apart"
            if (spread := timing_spread(board)) is not None
            else ""
        )
        + ". The in-run training times, taken while workers share the cores, are in the CSV only (`train_seconds`). "
        "Inference: pytest-benchmark's median [interquartile range] over rounds of predicting one batch of the "
        "eval split (suites/test_inference.py, the same pass of its own after training); vs plain: over the plain "
        "pre-trained classifier timed just before it, ≈ where the two ranges overlap; merged: LoRA folded "
        "into the weights. – where no inference pass has run.",
        "",
        cost_table(runs, board.inference),
        "",
        "## Runs",
        "",
        runs_table(groups),
        "",
    ]


def in_domain_table(groups, baselines, changed: set[tuple[str, str]] = frozenset(), zero_shot=None) -> str:
    tasks = sorted({task for task, _ in groups})
    approaches = sorted({approach for _, approach in groups})
    majority = {task: [r.majority_rate for r in runs] for (task, _), runs in groups.items()}
    marked = MarkedTable()
    for task in tasks:
        marked.add(("frozen-features", task), baselines.get(task, []))
        marked.add(("zero-shot", task), (zero_shot or {}).get(task, []))
        for approach in approaches:
            full = None if approach == "full" else groups.get((task, "full"))
            marked.add((approach, task), groups.get((task, approach), []), full, baselines.get(task))
    cells = marked.cells_text()
    rows = [
        ["majority class (of the training split)"] + [mean_std(majority[task]) for task in tasks],
        ["frozen features + logistic regression"] + [cells[("frozen-features", task)] for task in tasks],
    ]
    if zero_shot:
        rows.append(["zero-shot (label descriptions, no training)"] + [cells[("zero-shot", task)] for task in tasks])
    for approach in approaches:
        rows.append(
            [approach] + [cells[(approach, task)] + (" †" if (task, approach) in changed else "") for task in tasks]
        )
    rows.append(
        ["splits (train, eval)"]
        + [_splits_cell([r for (t, _), runs in groups.items() if t == task for r in runs]) for task in tasks]
    )
    return table(rows, headers=["approach"] + tasks)


def _splits_cell(runs) -> str:
    """The splits the task's runs used; 'fallback' where the source lacked the task's own (tasks/<task>.yaml)."""
    used = sorted({r.split_spec for r in runs})
    declared = runs[0].config["task"]["splits"]
    own = f"train={declared['train']} eval={declared['eval']}"
    return "; ".join(spec if spec == own else f"fallback {spec}" for spec in used)


def out_of_domain_table(groups, baselines, zero_shot=None) -> str:
    rows, marked = [], MarkedTable()
    named = {("frozen-features", task): runs for task, runs in baselines.items()}
    named |= {("zero-shot", task): runs for task, runs in (zero_shot or {}).items()}
    for (task, approach), runs in sorted(groups.items()) + sorted((k[::-1], v) for k, v in named.items()):
        for target in sorted(runs[0].ood):

            def ood(record, target=target):
                return record.ood.get(target)

            in_domain = [r.metrics["accuracy"] for r in runs]
            gaps = [a - ood(r).accuracy for a, r in zip(in_domain, runs)]
            full = groups.get((task, "full")) if approach != "full" else None
            rows.append(
                [
                    f"{task} → {target}",
                    approach,
                    mean_std(in_domain),
                    (task, target, approach),
                    mean_std(gaps),
                    mean_std([ood(r).majority_rate for r in runs]),
                    ood(runs[0]).examples,
                ]
            )
            marked.add(
                (task, target, approach),
                runs,
                full,
                baselines.get(task) if approach not in ("frozen-features", "zero-shot") else None,
                ood,
            )
    cells = marked.cells_text()
    rows = [row[:3] + [cells[row[3]]] + row[4:] for row in rows]
    return table(
        rows, headers=["transfer", "approach", "in-domain acc", "out-of-domain acc", "gap", "majority", "eval examples"]
    )


def timing_spread(board: BoardContext) -> float | None:
    """The timing pass's noise (harness.report.inference.step_timing_spread), once per board: the cost caption and
    the answers both read it."""
    return board.once("step timing spread", lambda: step_timing_spread(board.inference))


def cost_table(single: pd.DataFrame, inference: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """Sizes from a (task, approach)'s first run (every seed has the same), memory and speed averaged over its seeds."""
    memory = single["training_memory"] if "training_memory" in single else pd.Series(index=single.index, dtype=object)

    def component(*names):
        return memory.map(lambda m: sum(m[n] for n in names) if isinstance(m, dict) else float("nan"))

    single = single.assign(
        memory_total=component("total"),
        memory_state=component("gradients", "optimizer_state"),
        memory_activations=component("activations"),
    )
    per = single.groupby(["task", "approach"]).agg(
        method_params=("method_params", "first"),
        head_params=("head_params", "first"),
        trainable_params=("trainable_params", "first"),
        model_params=("model_params", "first"),
        saved_state=("trainable_state_bytes", "first"),
        memory_total=("memory_total", "mean"),
        memory_state=("memory_state", "mean"),
        memory_activations=("memory_activations", "mean"),
        peak_memory=("peak_memory_bytes", "mean"),
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
                size(run.memory_total),
                size(run.memory_state),
                size(run.memory_activations),
                size(run.peak_memory),
                latency(step := inference.get((task, approach, "train-step"))),
                f"{step['examples'] / step['median']:.1f}" if step else "–",
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
            "training memory",
            "grads + optimizer",
            "activations",
            "peak RSS (measured)",
            "train step ms [IQR]",
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
        metrics = ", ".join(f"{name} {mean_std([r.metrics[name] for r in runs])}" for name in first.metrics)
        dev = mean_std([r.dev.accuracy for r in runs if r.dev])
        rows.append(
            [
                task,
                approach,
                ",".join(str(r.seed) for r in runs),
                metrics,
                dev,
                first.split_spec,
                first.train_examples,
                first.dev_examples or "–",
                first.eval_examples,
                " ".join(r.config_hash for r in runs),
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


register(
    SuiteKind(
        name="single-task",
        fixture="single_task",
        load=load_suite,
        jobs=single_task_jobs,
        extras={
            "frozen_features_run": lambda job, session: session.frozen_features_job(job),
            "zero_shot_run": lambda job, session: session.zero_shot_job(job),
        },
        select=select,
        leaderboard=leaderboard_section,
        answers=lambda runs, board: answers(board.single, board.inference, board.baselines, timing_spread(board)),
        order=0,
    )
)

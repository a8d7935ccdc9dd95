"""fp32 against bf16 autocast on this machine, side by side in one run (alternating, medians):

1. training steps of the profile's model (full fine-tuning, fused AdamW) on one fixed batch of the task,
2. whole single-task jobs (a fresh store each), with accuracy on the same evaluation examples and a paired
   bootstrap of the difference (harness.stats).

    python benchmarks/precision.py --data-dir ../shared/data [--profile quick] [--task sst2] [--rounds 2]

Prints a markdown table (docs/measurements.md keeps the measured ones).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quick_job import single_task_job

PRECISIONS = ("fp32", "bf16")


def make_job(args, precision: str):
    return single_task_job(args, precision=precision)


def step_seconds(args, precision: str) -> float:
    """Median seconds of one training step (forward, backward, optimizer) on one fixed batch."""
    import torch
    from transformers import AutoTokenizer

    from harness.data import load_examples, resolve_splits
    from harness.training.checkpoints import build_model
    from harness.training.loop import make_accelerator

    job = make_job(args, precision)
    splits = resolve_splits(job.task, job.source)
    texts = load_examples(job.task, job.source, splits.train, args.batch_size, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(job.model.location)
    batch = tokenizer(
        *[list(texts[f]) for f in job.task.text_fields],
        padding="max_length",
        truncation=True,
        max_length=args.max_length,
        return_tensors="pt",
    )
    batch["labels"] = torch.tensor(list(texts[job.task.label_field]))
    _, model, _ = build_model(job, job.task.num_labels, job.task.label_names)
    accelerator = make_accelerator(job.training)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    times = []
    for step in range(args.warmup + args.steps):
        started = time.perf_counter()
        loss = model(**batch).loss
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        if step >= args.warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


@dataclass(frozen=True)
class JobResult:
    record: Any  # harness.jobs.SingleTaskRecord
    end_to_end_seconds: float


def whole_job(args, precision: str) -> JobResult:
    from harness.engine import run
    from harness.engine.devices import Device, layout
    from harness.engine.executors.local import LocalExecutor
    from harness.results import ResultStore

    with tempfile.TemporaryDirectory() as store:
        started = time.perf_counter()
        (record,) = run(
            [make_job(args, precision)],
            ResultStore(Path(store)),
            executor=LocalExecutor(layout([Device("cpu")], 1, cpu_count=args.threads)),
        )
        wall = time.perf_counter() - started
    if not record.ok:
        raise SystemExit(f"{precision}: {record.failure}")
    return JobResult(record, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--approach", default="full")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as one of the main job's workers has")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    import numpy as np
    import torch

    from harness.results import decode_ids
    from harness.results.checks import correct
    from harness.stats import paired_bootstrap

    torch.set_num_threads(args.threads)
    steps: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    jobs: dict[str, list[JobResult]] = {p: [] for p in PRECISIONS}
    for index in range(args.rounds):
        order = PRECISIONS if index % 2 == 0 else PRECISIONS[::-1]  # alternate which goes first
        for precision in order:
            steps[precision].append(step_seconds(args, precision))
        for precision in order:
            jobs[precision].append(whole_job(args, precision))
            done = jobs[precision][-1]
            print(
                f"round {index + 1} {precision}: step {steps[precision][-1]:.3f} s, "
                f"job {done.end_to_end_seconds:.1f} s "
                f"(train {done.record.train_seconds:.1f} s), accuracy {100 * done.record.eval.accuracy:.1f}",
                flush=True,
            )

    def median(precision: str, field: str) -> float:
        return statistics.median(
            r.end_to_end_seconds if field == "end_to_end_seconds" else getattr(r.record, field) for r in jobs[precision]
        )

    fp32, bf16 = jobs["fp32"][-1].record, jobs["bf16"][-1].record
    difference = paired_bootstrap({0: correct(bf16.eval)}, {0: correct(fp32.eval)})
    print(
        f"\n{args.profile} profile, {args.task} {args.approach}, seed 0, {args.threads} torch thread(s), "
        f"{fp32.hardware}; medians of {args.rounds} rounds, alternating\n"
    )
    print("| measure | fp32 | bf16 autocast | bf16 / fp32 speed-up |\n|---|---|---|---|")
    step_fp32, step_bf16 = statistics.median(steps["fp32"]), statistics.median(steps["bf16"])
    print(
        f"| training step, {args.batch_size}×{args.max_length} tokens (s) | {step_fp32:.3f} | {step_bf16:.3f} | "
        f"×{step_fp32 / step_bf16:.2f} |"
    )
    for field, label in (("end_to_end_seconds", "whole job, end to end (s)"), ("train_seconds", "its training (s)")):
        print(
            f"| {label} | {median('fp32', field):.1f} | {median('bf16', field):.1f} | "
            f"×{median('fp32', field) / median('bf16', field):.2f} |"
        )
    print(
        f"| accuracy (%) | {100 * fp32.eval.accuracy:.1f} | {100 * bf16.eval.accuracy:.1f} | "
        f"difference {100 * difference.mean:+.1f} [{100 * difference.low:.1f}, {100 * difference.high:.1f}]"
        f"{' (within noise)' if not difference.excludes_zero() else ''} |"
    )
    same = np.mean(decode_ids(bf16.eval.predictions) == decode_ids(fp32.eval.predictions))
    print(f"\nSame prediction on {100 * same:.1f} % of the {fp32.eval.examples} evaluation examples.")


if __name__ == "__main__":
    main()

"""Benchmark: one harness job against a plain Hugging Face `Trainer` doing the same work — the same
training examples, model, hyper-parameters and threads, then the same in-domain and out-of-domain
evaluation sets. Each contender runs end to end in a fresh child process (interpreter start,
imports, data, training, evaluation), alternating which goes first each round, so both see the same
machine state. Prints samples/s, end-to-end wall and accuracy of each, and their ratios.

    python benchmarks/trainer_baseline.py --data-dir ../shared/data [--profile quick] [--task sst2]
        [--approach full] [--rounds 2] [--threads 2] [--jobs 1]

The harness child runs the job as users do: through the engine, on a warm worker it starts (so its
end-to-end wall includes starting that worker). "in-job" is the wall inside the child after its own
imports, to the last evaluation (for the harness it includes starting its worker). With `--jobs N` the work is N such
jobs
(seeds 0..N-1): the Trainer script runs them one after another with all threads, the harness packs
them as it does by default on this machine (one single-threaded worker per core).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from quick_job import single_task_job

RESULT_PREFIX = "RESULT "


def make_job(args, seed: int):
    return single_task_job(args, seed=seed)


def summary(results: list[dict], in_job_seconds: float) -> dict:
    """Accuracies and training speed averaged over the jobs."""
    return {
        "accuracy": statistics.fmean(r["accuracy"] for r in results),
        "ood_accuracy": {
            name: statistics.fmean(r["ood_accuracy"][name] for r in results) for name in results[0]["ood_accuracy"]
        },
        "train_samples_per_second": statistics.fmean(r["train_samples_per_second"] for r in results),
        "in_job_seconds": in_job_seconds,
    }


def harness_child(args) -> dict:
    from harness.engine import run
    from harness.engine.devices import Device, default_jobs_per_device, layout
    from harness.engine.executors.local import LocalExecutor
    from harness.results import ResultStore

    jobs = [make_job(args, seed) for seed in range(args.jobs)]
    per_device = min(args.jobs, default_jobs_per_device(Device("cpu"), args.threads, [], None))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as store:
        records = run(
            jobs,
            ResultStore(Path(store)),
            executor=LocalExecutor(layout([Device("cpu")], per_device, cpu_count=args.threads)),
        )
    failed = [r.failure for r in records if not r.ok]
    if failed:
        raise SystemExit(failed[0])
    return summary(
        [
            {
                "accuracy": r.eval.accuracy,
                "ood_accuracy": {k: v.accuracy for k, v in r.ood.items()},
                "train_samples_per_second": r.train_samples_per_second,
            }
            for r in records
        ],
        time.perf_counter() - started,
    )


def trainer_child(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    results = [train_with_trainer(args, seed) for seed in range(args.jobs)]
    return summary(results, time.perf_counter() - started) | {"optimizer": results[0]["optimizer"]}


def train_with_trainer(args, seed: int) -> dict:
    import numpy as np
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from harness.jobs import load_task_data
    from harness.models import build_classifier, load_tokenizer

    job = make_job(args, seed)
    settings = job.training
    tokenizer = load_tokenizer(job.model)
    data = load_task_data(job, job.task, tokenizer)
    ood_sets = {t.name: load_task_data(job, t, tokenizer, train=False).eval_set for t in job.ood_tasks}
    model = build_classifier(job.model, job.task.num_labels, job.task.label_names, seed)
    steps_per_epoch = -(-len(data.train_set) // settings.batch_size)
    with tempfile.TemporaryDirectory() as output:
        trainer = Trainer(
            model=model,
            args=TrainingArguments(
                output_dir=output,
                num_train_epochs=settings.epochs,
                per_device_train_batch_size=settings.batch_size,
                per_device_eval_batch_size=job.profile.eval_batch_size,
                learning_rate=settings.learning_rate,
                warmup_steps=round(settings.warmup_ratio * settings.epochs * steps_per_epoch),
                weight_decay=settings.weight_decay,
                max_grad_norm=settings.max_grad_norm,
                lr_scheduler_type="linear",
                train_sampling_strategy="group_by_length",
                length_column_name="length",
                seed=seed,
                report_to=[],
                save_strategy="no",
                logging_strategy="no",
                disable_tqdm=True,
                use_cpu=True,
            ),
            train_dataset=data.train_set,
            data_collator=DataCollatorWithPadding(tokenizer),
        )
        train_started = time.perf_counter()
        trainer.train()
        train_seconds = time.perf_counter() - train_started

        def accuracy(dataset) -> float:
            output = trainer.predict(dataset)
            return float((np.argmax(output.predictions, axis=-1) == output.label_ids).mean())

        return {
            "accuracy": accuracy(data.eval_set),
            "ood_accuracy": {name: accuracy(s) for name, s in ood_sets.items()},
            "train_samples_per_second": settings.epochs * len(data.train_set) / train_seconds,
            "optimizer": trainer.args.optim,
        }


CONTENDERS = {"harness": harness_child, "trainer": trainer_child}


def run_child(name: str, argv: list[str]) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, __file__, "--child", name, *argv], capture_output=True, text=True)
    wall = time.perf_counter() - started
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{name} child failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix(RESULT_PREFIX)) | {"end_to_end_seconds": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--task", default="sst2")
    parser.add_argument(
        "--approach", default="full", help="the harness's approach; the Trainer always fine-tunes fully"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1, help="seeds 0..N-1 of the same job")
    parser.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(RESULT_PREFIX + json.dumps(CONTENDERS[args.child](args)), flush=True)
        return

    argv = [
        "--data-dir",
        args.data_dir,
        "--profile",
        args.profile,
        "--task",
        args.task,
        "--approach",
        args.approach,
        "--threads",
        str(args.threads),
        "--jobs",
        str(args.jobs),
    ]
    results: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
    for round_index in range(args.rounds):
        order = list(CONTENDERS) if round_index % 2 == 0 else list(reversed(CONTENDERS))
        for name in order:
            results[name].append(run_child(name, argv))
            last = results[name][-1]
            print(
                f"round {round_index + 1} {name:8s}: end-to-end {last['end_to_end_seconds']:6.1f} s, in-job "
                f"{last['in_job_seconds']:6.1f} s, "
                f"train {last['train_samples_per_second']:6.1f} samples/s, accuracy {100 * last['accuracy']:.1f}, "
                f"out-of-domain {', '.join(f'{k} {100 * v:.1f}' for k, v in last['ood_accuracy'].items())}",
                flush=True,
            )

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    print(
        f"\n{args.jobs} x {args.task} / {args.approach}, {args.profile} profile, {args.threads} threads, "
        f"{args.rounds} alternating rounds (medians):"
    )
    for key, label, higher_is_better in [
        ("end_to_end_seconds", "end-to-end wall", False),
        ("in_job_seconds", "in-job wall", False),
        ("train_samples_per_second", "train samples/s/job", True),
    ]:
        ours, theirs = median("harness", key), median("trainer", key)
        speedup = ours / theirs if higher_is_better else theirs / ours
        print(f"  {label:16s}: harness {ours:7.1f}  Trainer {theirs:7.1f}  harness speed x{speedup:.2f}")
    gap = 100 * (median("harness", "accuracy") - median("trainer", "accuracy"))
    print(
        f"  accuracy        : harness {100 * median('harness', 'accuracy'):.1f}  Trainer "
        f"{100 * median('trainer', 'accuracy'):.1f}  "
        f"difference {gap:+.1f} pt (Trainer optimizer: {results['trainer'][0]['optimizer']})"
    )


if __name__ == "__main__":
    main()

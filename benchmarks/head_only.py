"""Head-only on cached encoder features against head-only running the frozen encoder every step (as it did before
harness.training.features), side by side in one run: alternating, medians, a fresh store for every job (so the
features are computed, never read from an earlier job), accuracy on the same evaluation examples with a paired
bootstrap of the difference.

    python benchmarks/head_only.py --data-dir ../shared/data [--profile quick] [--task sst2] [--rounds 2]

Prints a markdown table (docs/measurements.md keeps the measured ones).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

from quick_job import single_task_job

from harness import jobs

PATHS = ("encoder every step", "cached features")


@dataclass(frozen=True)
class EncoderEveryStepJob(jobs.Job):
    """Head-only as it ran before: tokens through the frozen encoder (dropout on) at every training step."""

    on_cached_features = False


def make_job(args, path: str) -> jobs.Job:
    job = single_task_job(args, precision=args.precision, approach="head-only")
    if path == PATHS[1]:
        return job
    return EncoderEveryStepJob(**{field.name: getattr(job, field.name) for field in fields(job)})


@dataclass(frozen=True)
class Timed:
    fields: dict  # what the job returned for its record
    seconds: float  # the whole job: data, features, training, scoring


def whole_job(args, path: str) -> Timed:
    from harness.results import ResultStore

    with tempfile.TemporaryDirectory() as store:
        run_dir = ResultStore(Path(store)).staging_dir("benchmark")
        started = time.perf_counter()
        fields = make_job(args, path).execute(run_dir)
        return Timed(fields, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="fp32", help="for both paths")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as one of the main job's workers has")
    args = parser.parse_args()

    import torch

    from harness.results.checks import correct
    from harness.stats import paired_bootstrap

    torch.set_num_threads(args.threads)
    runs: dict[str, list[Timed]] = {p: [] for p in PATHS}
    for index in range(args.rounds):
        for path in PATHS if index % 2 == 0 else PATHS[::-1]:  # alternate which goes first
            runs[path].append(whole_job(args, path))
            done = runs[path][-1]
            print(
                f"round {index + 1} {path}: job {done.seconds:.1f} s (train {done.fields['train_seconds']:.1f} s), "
                f"accuracy {100 * done.fields['eval'].accuracy:.1f}",
                flush=True,
            )

    def median(path: str, measure) -> float:
        return statistics.median(measure(r) for r in runs[path])

    before, after = runs[PATHS[0]][-1].fields, runs[PATHS[1]][-1].fields
    difference = paired_bootstrap({0: correct(after["eval"])}, {0: correct(before["eval"])})
    print(
        f"\n{args.profile} profile, {args.task} head-only, seed 0, {before['precision']}, "
        f"{args.threads} torch thread(s), {before['hardware']}; medians of {args.rounds} rounds, alternating, "
        "a fresh store each\n"
    )
    print(f"| measure | {PATHS[0]} | {PATHS[1]} | speed-up |\n|---|---|---|---|")
    for label, measure in (
        ("whole job (s)", lambda r: r.seconds),
        ("training, with the encoder pass over the training examples (s)", lambda r: r.fields["train_seconds"]),
    ):
        slow, fast = median(PATHS[0], measure), median(PATHS[1], measure)
        print(f"| {label} | {slow:.1f} | {fast:.1f} | ×{slow / fast:.2f} |")
    print(
        f"| accuracy (%) | {100 * before['eval'].accuracy:.1f} | {100 * after['eval'].accuracy:.1f} | "
        f"difference {100 * difference.mean:+.1f} [{100 * difference.low:.1f}, {100 * difference.high:.1f}]"
        f"{' (within noise)' if not difference.excludes_zero() else ''} |"
    )


if __name__ == "__main__":
    main()

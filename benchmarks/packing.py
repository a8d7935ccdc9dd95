"""Benchmark: job packing. The same selection of jobs runs through the real entry point
(`pytest suites/ ...`) with different numbers of jobs per device, each in a fresh results store,
alternating the order every round. Prints wall time, jobs/hour and the ratio to the first setting,
and each setting's per-job peak memory.

    python benchmarks/packing.py --data-dir ../shared/data --profile quick \\
        -k "rte and (full or lora or bitfit or head-only)" --jobs-per-device 1,2 --rounds 2
    # on a GPU machine: --devices 0 --jobs-per-device 1,4,8
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def run_once(args, jobs_per_device: int) -> dict:
    from harness.results import ResultStore

    with tempfile.TemporaryDirectory() as store:
        command = [
            sys.executable,
            "-m",
            "pytest",
            "suites/test_single_task.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--profile",
            args.profile,
            "--data-dir",
            args.data_dir,
            "--results-dir",
            store,
            "-k",
            args.k,
            "--jobs-per-device",
            str(jobs_per_device),
            "--leaderboard",
            str(Path(store) / "leaderboard.md"),
        ]
        if args.devices:
            command += ["--devices", args.devices]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        records = [r for r in ResultStore(Path(store)).records()]
    if result.returncode != 0 or not records or not all(r.ok for r in records):
        raise SystemExit(f"jobs-per-device {jobs_per_device} failed ({result.returncode}):\n{result.stdout[-3000:]}")
    return {
        "wall": wall,
        "jobs": len(records),
        "peaks": [r.peak_memory_bytes for r in records],
        "kind": records[0].peak_memory_kind,
        "hardware": records[0].hardware,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("-k", required=True, help="pytest -k expression selecting single-task jobs")
    parser.add_argument("--jobs-per-device", default="1,2", help="comma-separated settings to compare")
    parser.add_argument("--devices", default=None)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings = [int(n) for n in args.jobs_per_device.split(",")]

    results: dict[int, list[dict]] = {n: [] for n in settings}
    for round_index in range(args.rounds):
        for n in settings if round_index % 2 == 0 else reversed(settings):
            result = run_once(args, n)
            results[n].append(result)
            print(
                f"round {round_index + 1}, {n} jobs per device: {result['jobs']} jobs in {result['wall']:.1f} s "
                f"({3600 * result['jobs'] / result['wall']:.1f} jobs/hour)",
                flush=True,
            )

    base = statistics.median(3600 * r["jobs"] / r["wall"] for r in results[settings[0]])
    print(
        f"\n{args.profile} profile, -k '{args.k}', {results[settings[0]][0]['hardware']} (medians of {args.rounds} "
        f"rounds):"
    )
    for n in settings:
        rate = statistics.median(3600 * r["jobs"] / r["wall"] for r in results[n])
        peaks = [p for r in results[n] for p in r["peaks"] if p]
        print(
            f"  {n} per device: {rate:6.1f} jobs/hour, x{rate / base:.2f}; peak per job "
            f"{min(peaks) / 2**20:.0f}-{max(peaks) / 2**20:.0f} MiB"
        )
    print(f"  peak memory: {results[settings[0]][0]['kind']}")


if __name__ == "__main__":
    main()

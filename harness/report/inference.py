"""Timing passes (inference latency, training steps): each pass's pytest-benchmark JSON, merged into the store and read
for the cost table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.results import atomic_write_text

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
        new["benchmarks"] += [
            b for b in json.loads(target.read_text())["benchmarks"] if _inference_key(b) not in replaced
        ]
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, json.dumps(new, indent=1))


def load_inference(path: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(task, approach, variant) -> pytest-benchmark's statistics (seconds) from its JSON, with the examples (and
    for a training step, the tokens) its batch held; {} where there is none."""
    if not path.is_file():
        return {}
    benchmarks = json.loads(path.read_text())["benchmarks"]
    return {
        _inference_key(b): b["stats"] | {key: b["extra_info"].get(key) for key in ("examples", "tokens")}
        for b in benchmarks
        if _inference_key(b)
    }


def step_timing_spread(inference: dict[tuple[str, str, str], dict[str, Any]]) -> float | None:
    """The largest relative difference between timings of one computation: an approach's training step on
    reference batches of one shape, timed for several tasks (the task does not change the arithmetic). A difference
    between approaches smaller than this is not resolved by the timing pass; None where nothing was timed twice."""
    repeats: dict[tuple, list[float]] = {}
    for (_, approach, variant), stats in inference.items():
        if variant == "train-step" and stats.get("tokens"):
            repeats.setdefault((approach, stats["examples"], stats["tokens"]), []).append(stats["median"])
    spreads = [max(times) / min(times) - 1 for times in repeats.values() if len(times) > 1]
    return max(spreads) if spreads else None


def latency(stats: dict[str, Any] | None) -> str:
    return f"{1000 * stats['median']:.1f} [{1000 * stats['q1']:.1f}, {1000 * stats['q3']:.1f}]" if stats else "–"


def against_plain(stats: dict[str, Any] | None, plain: dict[str, Any] | None) -> str:
    """Median over the plain model's median; ≈ where the two interquartile ranges overlap."""
    if not stats or not plain:
        return "–"
    overlap = stats["q1"] <= plain["q3"] and plain["q1"] <= stats["q3"]
    return f"{stats['median'] / plain['median']:.2f}×" + (" ≈" if overlap else "")

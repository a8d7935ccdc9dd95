"""Benchmark: a masked-LM training step (continued pre-training, harness.kinds.pretraining) with the vocabulary
projection over every position (transformers' default) against over the masked positions only. Alternates
the two for several rounds in one process and prints each one's median step time and the ratio.

    python benchmarks/mlm_head.py --data-dir ../shared/data --rounds 2 --steps 4
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    args = parser.parse_args()

    from transformers import DataCollatorForLanguageModeling

    from harness.data import load_examples, mirror_from
    from harness.kinds.pretraining import load_masked_lm, masked_positions_only
    from harness.models import load_tokenizer, resolve_model
    from harness.specs.catalog import load_tasks

    ref = resolve_model(args.model)
    tokenizer = load_tokenizer(ref)
    imdb = load_tasks().specs["imdb"]
    texts = load_examples(imdb, mirror_from(args.data_dir), "train", args.batch_size * args.steps)["text"]
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    batches = [
        collate([tokenizer(t, truncation=True, max_length=args.max_length) for t in texts[i : i + args.batch_size]])
        for i in range(0, len(texts), args.batch_size)
    ]
    model, _ = load_masked_lm(ref, seed=0)
    model.train()

    def step_seconds(trained) -> list[float]:
        optimizer = torch.optim.AdamW(trained.parameters(), lr=1e-5, fused=True)
        times = []
        for batch in batches:
            started = time.perf_counter()
            trained(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - started)
        return times

    results: dict[str, list[float]] = {"every position": [], "masked positions only": []}
    for round_number in range(args.rounds):
        order = list(results) if round_number % 2 == 0 else list(results)[::-1]
        for setting in order:
            if setting == "every position":
                results[setting] += step_seconds(model)
            else:
                wrapped = masked_positions_only(model)
                results[setting] += step_seconds(wrapped)
                wrapped.restored()
    baseline = statistics.median(results["every position"])
    print(
        f"{ref.name}, batch {args.batch_size} x <= {args.max_length} tokens, {torch.get_num_threads()} threads, "
        f"{args.rounds} alternating rounds of {len(batches)} steps"
    )
    for setting, times in results.items():
        median = statistics.median(times)
        print(
            f"{setting:24s} median step {1000 * median:7.1f} ms  ({baseline / median:.2f}x the speed of every position)"
        )


if __name__ == "__main__":
    main()

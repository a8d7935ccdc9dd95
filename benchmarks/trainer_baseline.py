"""Benchmark: the harness's training loop against a plain Hugging Face `Trainer`, same run, same
examples, same model, same hyper-parameters. Prints both accuracies and the speed ratio.

    python benchmarks/trainer_baseline.py --data-dir ../shared/data [--profile quick] [--task sst2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--task", default="sst2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from sklearn.metrics import accuracy_score
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from harness import jobs
    from harness.data import load_examples, mirror_from, resolve_splits, tokenize
    from harness.models import build_classifier, load_tokenizer, resolve_model
    from harness.registry import load_approaches, load_profile, load_tasks

    profile = load_profile(args.profile)
    task = load_tasks().specs[args.task]
    job = jobs.Job(task=task, ood_tasks=(), approach=load_approaches().specs["full"], model=resolve_model(profile.model),
                   profile=profile, seed=args.seed, source=mirror_from(args.data_dir))

    with tempfile.TemporaryDirectory() as scratch:
        ours = jobs.execute(job, Path(scratch), isolated=False)

    settings = job.training
    tokenizer = load_tokenizer(job.model)
    splits = resolve_splits(task, job.source)
    train_set = tokenize(task, load_examples(task, job.source, splits.train, profile.train_examples_for(task.name)), tokenizer, job.max_length(task))
    eval_set = tokenize(task, load_examples(task, job.source, splits.eval, profile.eval_examples_for(task.name)), tokenizer, job.max_length(task))
    model = build_classifier(job.model, task.num_labels, task.label_names, args.seed)
    with tempfile.TemporaryDirectory() as output:
        trainer = Trainer(
            model=model,
            args=TrainingArguments(
                output_dir=output, num_train_epochs=settings.epochs, per_device_train_batch_size=settings.batch_size,
                per_device_eval_batch_size=profile.eval_batch_size, learning_rate=settings.learning_rate,
                warmup_steps=round(settings.warmup_ratio * settings.epochs * -(-len(train_set) // settings.batch_size)),
                weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm, lr_scheduler_type="linear",
                train_sampling_strategy="group_by_length", length_column_name="length", seed=args.seed, report_to=[], save_strategy="no",
                logging_strategy="no", disable_tqdm=True, bf16=False, use_cpu=True,
            ),
            train_dataset=train_set, eval_dataset=eval_set, data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=lambda p: {"accuracy": accuracy_score(p.label_ids, np.argmax(p.predictions, axis=-1))},
        )
        started = time.perf_counter()
        trainer.train()
        trainer_seconds = time.perf_counter() - started
        trainer_accuracy = trainer.evaluate()["eval_accuracy"]

    trainer_speed = settings.epochs * len(train_set) / trainer_seconds
    print(f"\n{args.task}, {profile.name} profile, {len(train_set)} examples x {settings.epochs} epochs, model {job.model.name}")
    print(f"harness loop : accuracy {100 * ours['metrics']['accuracy']:.1f}, {ours['train_samples_per_second']:.1f} train samples/s")
    print(f"HF Trainer   : accuracy {100 * trainer_accuracy:.1f}, {trainer_speed:.1f} train samples/s")
    print(f"ratio        : accuracy {ours['metrics']['accuracy'] - trainer_accuracy:+.3f}, "
          f"speed x{ours['train_samples_per_second'] / trainer_speed:.2f} (harness / Trainer)")


if __name__ == "__main__":
    main()

"""The one training loop every approach uses, on `accelerate`.

Dynamic padding over length-grouped batches, AdamW with linear warm-up and decay, bf16 autocast on
CUDA, a tqdm bar, and a stop with `TrainingDiverged` as soon as the loss is NaN or infinite.
Approaches differ only in the model they hand in and which of its parameters require grad.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup
from transformers.trainer_pt_utils import LengthGroupedSampler

from harness.errors import TrainingDiverged
from harness.specs import TrainingSettings

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
LOSS_WINDOW = 10  # steps averaged for the start and end training loss


@dataclass
class TrainStats:
    steps: int
    examples_seen: int
    seconds: float
    loss_start: float
    loss_end: float

    @property
    def samples_per_second(self) -> float:
        return self.examples_seen / self.seconds if self.seconds else 0.0


def make_accelerator() -> Accelerator:
    return Accelerator(mixed_precision="bf16" if torch.cuda.is_available() else "no")


def model_inputs(dataset):
    """The columns a model consumes: `length` only serves batching."""
    return dataset.remove_columns([c for c in ("length",) if c in dataset.column_names])


def train(model, dataset, tokenizer, settings: TrainingSettings, seed: int, accelerator: Accelerator, desc: str) -> TrainStats:
    generator = torch.Generator().manual_seed(seed)
    sampler = LengthGroupedSampler(settings.batch_size, lengths=dataset["length"], generator=generator)
    loader = DataLoader(
        model_inputs(dataset), batch_size=settings.batch_size, sampler=sampler,
        collate_fn=DataCollatorWithPadding(tokenizer),
    )
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in trainable if not n.endswith(NO_DECAY)], "weight_decay": settings.weight_decay},
        {"params": [p for n, p in trainable if n.endswith(NO_DECAY)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=settings.learning_rate)
    total_steps = settings.epochs * math.ceil(len(dataset) / settings.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, round(settings.warmup_ratio * total_steps), total_steps)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)

    model.train()
    losses: list[float] = []
    examples = 0
    started = time.perf_counter()
    with tqdm(total=total_steps, desc=desc, unit="step", leave=False, disable=not accelerator.is_local_main_process) as bar:
        for epoch in range(settings.epochs):
            for batch in loader:
                loss = model(**batch).loss
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingDiverged(f"{desc}: loss became {value} at step {len(losses) + 1} (epoch {epoch + 1})")
                accelerator.backward(loss)
                accelerator.clip_grad_norm_([p for _, p in trainable], settings.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(value)
                examples += len(batch["labels"])
                bar.update()
                bar.set_postfix(loss=f"{value:.4f}", refresh=False)
    seconds = time.perf_counter() - started
    window = max(1, min(LOSS_WINDOW, len(losses) // 5))
    return TrainStats(
        steps=len(losses), examples_seen=examples, seconds=seconds,
        loss_start=sum(losses[:window]) / window, loss_end=sum(losses[-window:]) / window,
    )

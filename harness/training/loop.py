"""The one training loop every approach uses, on `accelerate`.

Dynamic padding over length-grouped batches, fused AdamW with linear warm-up and decay, bf16 autocast on
CUDA, a tqdm bar, and a stop with `TrainingDiverged` as soon as the loss is NaN or infinite.
Approaches differ only in the model they hand in and which of its parameters require grad.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from transformers import DataCollatorWithPadding, get_linear_schedule_with_warmup
from transformers.trainer_pt_utils import LengthGroupedSampler

from harness.data import model_inputs
from harness.errors import TrainingDiverged
from harness.specs import TrainingSettings
from harness.training import progress

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
LOSS_WINDOW = 10  # steps averaged for the start and end training loss


@dataclass
class TrainStats:
    steps: int
    examples_seen: int
    seconds: float
    loss_start: float
    loss_end: float
    precision: str  # what ran: "bf16" (autocast) or "fp32"
    optimizer_state_bytes: int  # the optimizer's state tensors after the last step

    @property
    def samples_per_second(self) -> float:
        return self.examples_seen / self.seconds if self.seconds else 0.0


def make_accelerator(settings: TrainingSettings | None = None) -> Accelerator:
    """bf16 autocast of the forward passes (training and the scoring after it; master weights and optimizer state
    stay fp32) as `settings.precision` says: 'auto' on CUDA only, 'bf16' on any device, 'fp32' nowhere."""
    precision = settings.precision if settings else "auto"
    bf16 = precision == "bf16" or (precision == "auto" and torch.cuda.is_available())
    # accelerate keeps one process-wide state and refuses another precision; a warm worker runs one job at a time,
    # each with its own precision, so the last job's state goes.
    AcceleratorState._reset_state(reset_partial_state=True)
    return Accelerator(mixed_precision="bf16" if bf16 else "no")


def default_device() -> torch.device:
    """Where a job that does not train (probes, baselines, benchmarks) runs: the device accelerate picks."""
    return make_accelerator().device


def task_loader(dataset, tokenizer, batch_size: int, seed: int, collate=None) -> DataLoader:
    """Length-grouped batches (similar lengths, little padding), in a fresh seeded order each pass;
    padded by `collate` (default: dynamic padding)."""
    sampler = LengthGroupedSampler(batch_size, lengths=dataset["length"], generator=torch.Generator().manual_seed(seed))
    return DataLoader(
        model_inputs(dataset),
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate or DataCollatorWithPadding(tokenizer),
    )


class TaskBatches:
    """The batches of single-task training: `epochs` passes over one task's examples. `stop_after`, where given, is
    called with each epoch's number as the epoch ends, and ends training early when it returns True (a stop rule; the
    learning-rate schedule still spans every epoch allowed)."""

    def __init__(
        self,
        dataset,
        tokenizer,
        settings: TrainingSettings,
        seed: int,
        collate=None,
        stop_after: Callable[[int], bool] | None = None,
    ):
        self.loader = task_loader(dataset, tokenizer, settings.batch_size, seed, collate)
        self.epochs = settings.epochs
        self.stop_after = stop_after

    def __len__(self) -> int:
        return self.epochs * len(self.loader)

    def __iter__(self):
        for epoch in range(1, self.epochs + 1):
            yield from self.loader
            if self.stop_after and self.stop_after(epoch):
                return

    def observe(self, loss: float) -> None:
        """Batch sources that adapt to the loss (multi-task samplers) override this."""


def fused_adamw_supported(parameters) -> bool:
    """torch's fused AdamW (one kernel for all tensors; on CPU ~6x faster a step than the default
    per-tensor loop) takes floating-point tensors on CPU or CUDA."""
    return all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for _, p in parameters)


def parameter_groups(trainable, settings: TrainingSettings, is_head: Callable[[str], bool]) -> list[dict]:
    """Weight decay except on biases and norms; the head at its own learning rate where the settings give one."""
    groups = []
    for head in (False, True):
        rate = settings.head_learning_rate if head and settings.head_learning_rate else settings.learning_rate
        for decays in (True, False):
            params = [p for n, p in trainable if is_head(n) == head and n.endswith(NO_DECAY) != decays]
            if params:
                groups.append({"params": params, "lr": rate, "weight_decay": settings.weight_decay if decays else 0.0})
    return groups


class TrainingStep:
    """One optimisation step of the loop — forward, loss, backward, gradient clipping, fused AdamW, schedule — on the
    parameters of `model` that require grad; `is_head` names the head's, which train at `settings.head_learning_rate`.
    `train` runs it over its batches; the timing pass (suites/test_inference.py) times it on a fixed batch."""

    def __init__(
        self,
        model,
        settings: TrainingSettings,
        accelerator: Accelerator,
        total_steps: int,
        is_head: Callable[[str], bool] = lambda name: False,
    ):
        self.trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            parameter_groups(self.trainable, settings, is_head),
            lr=settings.learning_rate,
            fused=fused_adamw_supported(self.trainable),
        )
        scheduler = get_linear_schedule_with_warmup(optimizer, round(settings.warmup_ratio * total_steps), total_steps)
        self.model, self.optimizer, self.scheduler = accelerator.prepare(model, optimizer, scheduler)
        self.accelerator, self.max_grad_norm = accelerator, settings.max_grad_norm
        self.model.train()

    def __call__(self, batch) -> float:
        """The step on `batch`; its loss (NaN or infinite: the step stops before the backward pass)."""
        loss = self.model(**batch.to(self.accelerator.device)).loss
        value = loss.item()
        if not math.isfinite(value):
            return value
        self.accelerator.backward(loss)
        self.accelerator.clip_grad_norm_([p for _, p in self.trainable], self.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return value

    def optimizer_state_bytes(self) -> int:
        return sum(
            t.numel() * t.element_size()
            for state in self.optimizer.state.values()
            for t in state.values()
            if torch.is_tensor(t)
        )


def train(
    model,
    batches,
    settings: TrainingSettings,
    accelerator: Accelerator,
    desc: str,
    is_head: Callable[[str], bool] = lambda name: False,
) -> TrainStats:
    """Trains the parameters of `model` that require grad on `batches` (see TaskBatches), a TrainingStep per batch."""
    total_steps = len(batches)
    step = TrainingStep(model, settings, accelerator, total_steps, is_head)
    losses: list[float] = []
    examples = 0
    started = time.perf_counter()
    interactive = sys.stderr.isatty()  # in logs (CI), a line every 30 s instead of every step
    with tqdm(
        total=total_steps,
        desc=desc,
        unit="step",
        leave=not interactive,
        mininterval=0.1 if interactive else 30,
        disable=not accelerator.is_local_main_process,
    ) as bar:
        for batch in batches:
            value = step(batch)
            if not math.isfinite(value):
                raise TrainingDiverged(f"{desc}: loss became {value} at step {len(losses) + 1} of {total_steps}")
            batches.observe(value)
            losses.append(value)
            examples += len(batch["labels"])
            bar.update()
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            progress.step(bar.n, total_steps)
    seconds = time.perf_counter() - started
    window = max(1, min(LOSS_WINDOW, len(losses) // 5))
    return TrainStats(
        steps=len(losses),
        examples_seen=examples,
        seconds=seconds,
        loss_start=sum(losses[:window]) / window,
        loss_end=sum(losses[-window:]) / window,
        precision="bf16" if accelerator.mixed_precision == "bf16" else "fp32",
        optimizer_state_bytes=step.optimizer_state_bytes(),
    )

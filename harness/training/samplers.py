"""Task samplers for multi-task training: at each step, which task the next batch comes from.

Each sampler is a small plug-in declared by name and parameters in a suite YAML and gives a
probability per task for the coming step. Uniform, proportional and temperature sampling follow
jiant; loss-based and curriculum sampling are written here since no maintained library offers
them for current transformers.
"""

from __future__ import annotations

import math
from typing import Literal, Union

import numpy as np
from pydantic import Field

from harness.specs import Spec


class UniformSpec(Spec):
    name: Literal["uniform"]


class ProportionalSpec(Spec):
    name: Literal["proportional"]


class TemperatureSpec(Spec):
    name: Literal["temperature"]
    temperature: float = Field(default=2.0, gt=0, description="1 = proportional; large = uniform")
    size_cap: int | None = Field(default=None, ge=1, description="task sizes above this count as this")


class LossSpec(Spec):
    name: Literal["loss"]
    smoothing: float = Field(default=0.9, ge=0, lt=1, description="weight of the past in the loss moving average")
    floor: float = Field(
        default=0.2, ge=0, le=1, description="share of probability spread uniformly, so no task starves"
    )


class CurriculumSpec(Spec):
    name: Literal["curriculum"]
    order: list[str] | Literal["measured"] = Field(
        description="tasks from easiest to hardest, or 'measured': by the same approach's single-task results",
    )
    widen_until: float = Field(default=0.5, gt=0, le=1, description="fraction of training after which all tasks mix")


SamplerSpec = Union[UniformSpec, ProportionalSpec, TemperatureSpec, LossSpec, CurriculumSpec]


class Sampler:
    """Probabilities over `tasks`; `observe` hears each step's training loss."""

    def __init__(self, tasks: list[str], sizes: dict[str, int]):
        self.tasks = tasks
        self.sizes = np.array([sizes[t] for t in tasks], dtype=float)

    def probabilities(self, progress: float) -> np.ndarray:
        """Sampling distribution at `progress` in [0, 1] of training."""
        raise NotImplementedError

    def observe(self, task: str, loss: float) -> None:
        return None


class Uniform(Sampler):
    def probabilities(self, progress: float) -> np.ndarray:
        return np.full(len(self.tasks), 1.0 / len(self.tasks))


class Temperature(Sampler):
    """p ∝ n^(1/T); T = 1 is proportional sampling."""

    def __init__(self, tasks, sizes, temperature: float = 1.0, size_cap: int | None = None):
        super().__init__(tasks, sizes)
        capped = np.minimum(self.sizes, size_cap) if size_cap else self.sizes
        weights = capped ** (1.0 / temperature)
        self.fixed = weights / weights.sum()

    def probabilities(self, progress: float) -> np.ndarray:
        return self.fixed


class LossBased(Sampler):
    """More batches from tasks whose recent training loss is higher, relative to chance level."""

    def __init__(self, tasks, sizes, chance_losses: dict[str, float], smoothing: float, floor: float):
        super().__init__(tasks, sizes)
        self.chance = np.array([chance_losses[t] for t in tasks])
        self.average = self.chance.copy()  # before any step, each task is assumed at chance level
        self.smoothing = smoothing
        self.floor = floor

    def observe(self, task: str, loss: float) -> None:
        i = self.tasks.index(task)
        self.average[i] = self.smoothing * self.average[i] + (1 - self.smoothing) * loss

    def probabilities(self, progress: float) -> np.ndarray:
        # Loss relative to chance (ln of the label count), so 3-way tasks are not favoured for their scale.
        relative = np.maximum(self.average / self.chance, 1e-6)
        return self.floor / len(self.tasks) + (1 - self.floor) * relative / relative.sum()


class Curriculum(Sampler):
    """Starts on the easiest task and widens, one task at a time in the declared order, to a uniform
    mixture of all tasks by `widen_until` of training."""

    def __init__(self, tasks, sizes, order: list[str], widen_until: float):
        super().__init__(tasks, sizes)
        self.ranks = np.array([order.index(t) for t in tasks])
        self.widen_until = widen_until

    def active(self, progress: float) -> int:
        return min(len(self.tasks), 1 + math.floor(progress / self.widen_until * (len(self.tasks) - 1) + 1e-9))

    def probabilities(self, progress: float) -> np.ndarray:
        mask = (self.ranks < self.active(progress)).astype(float)
        return mask / mask.sum()


def make_sampler(
    spec: SamplerSpec, tasks: list[str], sizes: dict[str, int], chance_losses: dict[str, float]
) -> Sampler:
    if isinstance(spec, UniformSpec):
        return Uniform(tasks, sizes)
    if isinstance(spec, ProportionalSpec):
        return Temperature(tasks, sizes, temperature=1.0)
    if isinstance(spec, TemperatureSpec):
        return Temperature(tasks, sizes, spec.temperature, spec.size_cap)
    if isinstance(spec, LossSpec):
        return LossBased(tasks, sizes, chance_losses, spec.smoothing, spec.floor)
    if spec.order == "measured":
        raise ValueError("curriculum order 'measured' must be resolved from single-task results before training")
    missing = sorted(set(tasks) - set(spec.order))
    if missing:
        raise ValueError(f"curriculum order lacks {', '.join(missing)}")
    return Curriculum(tasks, sizes, spec.order, spec.widen_until)


def sampler_label(spec: SamplerSpec) -> str:
    """A short name for tables and test ids, e.g. 'temperature-T2'."""
    if isinstance(spec, TemperatureSpec):
        return f"temperature-T{spec.temperature:g}"
    if isinstance(spec, CurriculumSpec) and spec.order == "measured":
        return "curriculum-measured"
    return spec.name


def order_by_difficulty(results: dict[str, tuple[float, float]]) -> list[str]:
    """Tasks from easiest to hardest by (accuracy, majority-class rate): the share of the majority
    baseline's errors a single-task model removes, (accuracy - majority) / (1 - majority)."""

    def error_reduction(task: str) -> float:
        accuracy, majority = results[task]
        return (accuracy - majority) / (1 - majority)

    return sorted(results, key=error_reduction, reverse=True)

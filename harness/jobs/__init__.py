"""Jobs: what one training run is (single-task here; multi-task, sequential, probe and continued
pre-training jobs in their own modules), its identity (the hash it is cached under) and how it
executes. Where and when jobs run is the engine's business (harness.engine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from harness.approaches import method_of
from harness.approaches.architectures import ARCHITECTURES
from harness.data import (
    SUBSET_SEED,
    DataSource,
    carve_dev,
    check_per_class,
    load_examples,
    reference_batch,
    resolve_splits,
    subset,
    tokenize,
)
from harness.models import ModelRef, load_tokenizer, model_type
from harness.results import (
    config_hash,
    describe_hardware,
    package_versions,
    store_root_of,
)
from harness.results.record import Record, ScoredFields, SplitFields, TrainableState, TrainingCost, record_type
from harness.specs import ApproachSpec, ProfileSpec, TaskSpec, TrainingSettings
from harness.training import checkpoints, memory
from harness.training.checkpoints import build_model

RESULT_FORMAT = 5  # bump when a change makes earlier records incomparable


@record_type("single-task", "sweep")
class SingleTaskRecord(Record, ScoredFields, SplitFields, TrainingCost, TrainableState):
    model_params: int | None = None  # of the whole model, trainable or not
    eval_seconds: float | None = None
    ood_eval_seconds: float | None = None
    eval_samples_per_second: float | None = None


class JobProtocol(Protocol):
    """What the engine asks of a job (harness.engine); every job class derives from JobBase, which gives defaults."""

    @property
    def name(self) -> str: ...  # unique in a session: `sst2-lora-seed0`

    @property
    def config_hash(self) -> str: ...  # the store's key: the hash of identity()

    def identity(self) -> dict[str, Any]: ...  # everything that shapes the result, and nothing else

    def base_record(self) -> dict[str, Any]: ...  # the fields its record has before it runs (kind, task, ...)

    def preflight(self) -> str | None: ...  # why it cannot run here, or None

    def execute(self, run_dir: Path) -> dict[str, Any]: ...  # trains and scores; its record's result fields

    def dependencies(self) -> tuple[JobProtocol, ...]: ...  # jobs whose records it reads, run first

    def with_dependencies(self, done: dict[str, Any]) -> JobProtocol: ...  # completed from its finished dependencies


class JobBase:
    """What every kind of job derives alike from its profile, approach and model, and the defaults of JobProtocol."""

    profile: ProfileSpec
    approach: ApproachSpec
    model: ModelRef

    def max_length(self, task: TaskSpec) -> int:
        return self.profile.max_length_for(task)

    def training_for(self, task_name: str | None = None) -> TrainingSettings:
        """The profile's settings (for one task, with its overrides), at the approach's learning rate if it sets one."""
        settings = self.profile.training_for(task_name) if task_name else self.profile.training
        if self.approach.learning_rate is not None:
            settings = settings.model_copy(update={"learning_rate": self.approach.learning_rate})
        return settings

    def model_identity(self) -> dict[str, Any]:
        location = self.model.location if self.model.kind != "embedded" else None  # the package, wherever installed
        return {"name": self.model.name, "kind": self.model.kind, "location": location, "pooling": self.model.pooling}

    def preflight(self) -> str | None:
        """Why this (approach, model, hardware) cannot run, before any training starts; None if it can."""

        method, params = method_of(self.approach)
        kind = model_type(self.model)
        if kind not in ARCHITECTURES:
            return (
                f"{self.approach.name}: model type '{kind}' of '{self.model.name}' has no module map in "
                f"harness/approaches/architectures.py (known: {', '.join(ARCHITECTURES)})"
            )
        return method.unavailable(self.model, params)

    def identity(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def config_hash(self) -> str:
        return config_hash(self.identity())

    def dependencies(self) -> tuple[JobProtocol, ...]:
        return ()

    def with_dependencies(self, done: dict[str, Any]) -> JobProtocol:
        return self


@dataclass(frozen=True)
class TrainingJob(JobBase):
    """A job that trains a model of its own: single-task, multi-task or sequential."""

    approach: ApproachSpec
    model: ModelRef
    profile: ProfileSpec
    seed: int
    source: DataSource


class DerivedJob(JobBase):
    """A job built on a trained job (`origin`), whose approach, model, profile, seed and data it shares."""

    @property
    def origin(self) -> TrainingJob:
        raise NotImplementedError

    approach = property(lambda self: self.origin.approach)
    model = property(lambda self: self.origin.model)
    profile = property(lambda self: self.origin.profile)
    seed = property(lambda self: self.origin.seed)
    source = property(lambda self: self.origin.source)


@dataclass(frozen=True)
class Job(TrainingJob):
    task: TaskSpec
    ood_tasks: tuple[TaskSpec, ...]
    scores_eval_split: ClassVar[bool] = True  # False for hyper-parameter sweeps: they only ever see the dev slice

    @property
    def name(self) -> str:
        return f"{self.task.name}-{self.approach.name}-seed{self.seed}"

    @property
    def training(self) -> TrainingSettings:
        return self.training_for(self.task.name)

    def classifier_labels(self) -> tuple[int, list[str]]:
        return self.task.num_labels, self.task.label_names

    def identity(self) -> dict[str, Any]:
        """Everything that shapes the result, and nothing else."""
        return {
            "format": RESULT_FORMAT,
            "approach": self.approach.model_dump(),
            "training": self.training.model_dump(),
            **task_data_identity(self),
            **({"encoder": "frozen: cached pooled features"} if self.on_cached_features else {}),
        }

    @property
    def on_cached_features(self) -> bool:
        """Whether the head trains on the frozen encoder's cached outputs (harness.training.features)."""
        return method_of(self.approach)[0].frozen_encoder

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "single-task", "task": self.task.name, "variant": None}

    def execute(self, run_dir) -> dict[str, Any]:
        return execute(self, run_dir)


def task_data_identity(job) -> dict[str, Any]:
    """What shapes the examples a job on one task (`job.task`, `job.ood_tasks`) trains and is scored on."""
    tasks = (job.task, *job.ood_tasks)
    return {
        "task": job.task.model_dump(exclude={"prefix"}),  # text prefixes serve multi-task training only
        "ood_tasks": [t.model_dump(exclude={"prefix"}) for t in job.ood_tasks],
        "model": job.model_identity(),
        "profile": job.profile.name,
        "train_examples": job.profile.train_examples_for(job.task.name),
        "dev_examples": job.profile.dev_examples_for(job.task.name),
        "eval_examples": {t.name: job.profile.eval_examples_for(t.name) for t in tasks},
        "max_length": {t.name: job.max_length(t) for t in tasks},
        "seed": job.seed,
        "data_source": job.source.describe(),
    }


def common_record(job) -> dict[str, Any]:
    """Fields every record has, single-task or multi-task."""
    return {
        "config_hash": job.config_hash,
        "config": job.identity(),
        "approach": job.approach.name,
        "method": job.approach.method,
        "model": job.model.name,
        "pooling": job.model.pooling,
        "profile": job.profile.name,
        "seed": job.seed,
        "data_source": job.source.describe(),
        "package_versions": package_versions(),
    }


def execute(job: Job, run_dir) -> dict[str, Any]:
    """Train and evaluate in this process."""
    from accelerate.utils import set_seed

    from harness.models.heads import HeadOnFeatures
    from harness.training.features import FeatureBatches, FeatureCache, predict_from_features
    from harness.training.loop import TaskBatches, make_accelerator, train
    from harness.training.scoring import score, scored

    set_seed(job.seed)
    tokenizer = load_tokenizer(job.model)
    data = load_task_data(job, job.task, tokenizer)
    ood_sets = {t.name: (t, load_task_data(job, t, tokenizer, train=False).eval_set) for t in job.ood_tasks}
    accelerator = make_accelerator(job.training)
    batch_size = job.profile.eval_batch_size

    plain, model, arch = build_model(job, job.task.num_labels, job.task.label_names)
    model_params = sum(p.numel() for p in plain.parameters())
    del plain  # it must not hold memory while the job trains
    majority = data.majority_class
    if job.on_cached_features:
        cache = FeatureCache(
            store_root_of(run_dir), job, model.to(accelerator.device), tokenizer, accelerator, batch_size
        )
        trained = HeadOnFeatures(model)
        train_features = cache.features("train", data.train_set)
        batches = FeatureBatches(train_features.values, data.train_set["labels"], job.training, job.seed)

        def scored_on(name, task, dataset):
            started = time.perf_counter()
            features = cache.features(name, dataset).values
            predictions = predict_from_features(model, features, batch_size, accelerator.device)
            return scored(task, np.asarray(dataset["labels"]), predictions, majority, time.perf_counter() - started)
    else:
        trained, batches = model, TaskBatches(data.train_set, tokenizer, job.training, job.seed)

        def scored_on(name, task, dataset):
            return score(model, dataset, tokenizer, task, batch_size, accelerator.device, majority)

    with measured_training() as measured:
        measured.stats = train(trained, batches, job.training, accelerator, desc=job.name, is_head=arch.is_head)
    reference = reference_batch(data.train_set, tokenizer, job.training.batch_size, job.max_length(job.task))
    measured.measure_components(model, reference, accelerator)

    record = {
        "status": "ok",
        **data.describe(),
        "majority_class": majority,
        "model_params": model_params,
        "dev": scored_on("dev", job.task, data.dev_set).summary(),
    }
    if job.scores_eval_split:
        in_domain = scored_on("eval", job.task, data.eval_set)
        ood = {name: scored_on(f"ood {name}", task, ood_set) for name, (task, ood_set) in ood_sets.items()}
        record |= {
            "eval_examples": in_domain.examples,
            "metrics": in_domain.metrics,
            "majority_rate": in_domain.majority_rate,
            "eval": in_domain.summary(),
            "ood": {name: e.summary() for name, e in ood.items()},
            "eval_seconds": in_domain.seconds,
            "ood_eval_seconds": sum(e.seconds for e in ood.values()),
            "eval_samples_per_second": in_domain.samples_per_second,
        }
    if job.on_cached_features:  # the encoder pass over the training examples is part of training's cost
        measured.stats.seconds += train_features.seconds
        record["encoder_features"] = cache.describe()
    return {
        **record,
        **checkpoints.save_trainable(model, arch, run_dir),
        **measured.fields(),
    }


@dataclass
class TaskData:
    splits: Any
    train_set: Any
    dev_set: Any
    eval_set: Any

    @property
    def majority_class(self) -> int:
        """The most frequent label of the training examples: what a constant predictor would answer."""
        return int(np.bincount(self.train_set["labels"]).argmax())

    def describe(self) -> dict[str, Any]:
        return {
            "split_spec": self.splits.describe(),
            "train_examples": len(self.train_set),
            "dev_examples": len(self.dev_set),
            "dev_split": f"{self.splits.train}, {len(self.dev_set)} examples drawn with seed {SUBSET_SEED}, "
            "held out of training",
        }


def load_task_data(job, task: TaskSpec, tokenizer, prefix: str = "", train: bool = True) -> TaskData:
    """A task's tokenized sets at the job's profile sizes: the training subset (drawn with the job's
    seed from what the dev slice leaves), the dev slice, and the evaluation set (fixed for every seed)."""
    splits = resolve_splits(task, job.source)

    def encoded(dataset):
        return tokenize(task, dataset, tokenizer, job.max_length(task), prefix)

    eval_set = encoded(load_examples(task, job.source, splits.eval, job.profile.eval_examples_for(task.name)))
    if not train:
        return TaskData(splits, None, None, eval_set)
    dev, rest = carve_dev(
        load_examples(task, job.source, splits.train, None), job.profile.dev_examples_for(task.name), task.group_by
    )
    train_set = subset(rest, job.profile.train_examples_for(task.name), job.seed)
    check_per_class(task, train_set, splits.train, job.profile.min_train_examples_per_class, job.profile.source)
    return TaskData(splits, encoded(train_set), encoded(dev), eval_set)


class measured_training:
    """Times nothing itself (the loop does); resets the peak-memory counter before training, reads
    it after (harness.training.memory), and turns the loop's statistics into record fields."""

    def __enter__(self):
        self.stats = None
        self.components = None
        self.reset_worked = memory.reset_peak()
        return self

    def __exit__(self, *exc_info) -> None:
        self.memory = memory.peak_fields(self.reset_worked)

    def measure_components(self, model, reference, accelerator, **batch_fields) -> None:
        """After training: the trained `model`'s memory by component (harness.training.memory.training_memory), its
        activations from one training forward on the task's `reference` batch (plus `batch_fields`, e.g. the task
        index a multi-task model's forward takes)."""
        batch = {**reference.to(accelerator.device), **batch_fields}
        shape = "×".join(map(str, reference["input_ids"].shape)) + " tokens"
        self.components = memory.training_memory(
            model, self.stats.optimizer_state_bytes, batch, accelerator.autocast(), shape
        )

    def fields(self) -> dict[str, Any]:
        return {
            **self.memory,
            **({"training_memory": self.components} if self.components else {}),
            "train_seconds": self.stats.seconds,
            "train_steps": self.stats.steps,
            "train_samples_per_second": self.stats.samples_per_second,
            "train_loss_start": self.stats.loss_start,
            "train_loss_end": self.stats.loss_end,
            "precision": self.stats.precision,
            "hardware": describe_hardware(),
        }

"""A frozen encoder's work done once: the pooled encoder outputs of a set of examples (harness.models.heads.
pooled_features: dropout off, as in evaluation), cached in the store and shared by every job that reads the same
encoder over the same examples — head-only training and scoring, and the frozen-feature baseline.

Cached under `<store>/features/<key>.npz`, the key a hash of the model's identity, the seed where the encoder's
weights depend on it (a randomly initialised tiny model), and the examples' token ids themselves, so a cache entry
can only serve the very inputs it was computed from. One file lock per entry: parallel workers compute it once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock
from torch.utils.data import DataLoader, TensorDataset
from transformers import BatchEncoding

from harness.models.heads import classify_pooled, pooled_features
from harness.results import config_hash
from harness.specs import TaskSpec, TrainingSettings

FEATURES_DIR = "features"
FEATURES_FORMAT = 1  # bump when pooled_features changes what it returns


@dataclass(frozen=True)
class Features:
    values: np.ndarray  # examples × hidden, in dataset order
    seconds: float  # what computing them took, whichever job did
    cached: bool  # read from the store rather than computed by this job


def examples_digest(dataset) -> str:
    """A hash of the examples' token ids, in order: what the encoder reads."""
    digest = hashlib.sha256()
    for ids in dataset["input_ids"]:
        digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


class FeatureCache:
    """The pooled outputs of one frozen encoder (`model`, of `job`'s model and seed), cached in a store, computed on
    `accelerator`'s device under its autocast (bf16 features are keyed apart from fp32 ones)."""

    def __init__(self, store_root: Path, job, model, tokenizer, accelerator, batch_size: int):
        self.dir = Path(store_root) / FEATURES_DIR
        self.job, self.model, self.tokenizer, self.batch_size = job, model, tokenizer, batch_size
        self.accelerator = accelerator
        self.used: dict[str, Features] = {}  # by the name the caller gave each set, for the record

    def key(self, dataset) -> str:
        return config_hash(
            {
                "format": FEATURES_FORMAT,
                "model": self.job.model_identity(),
                "seed": self.job.seed if self.job.model.kind == "tiny" else None,  # random encoders differ by seed
                "precision": self.accelerator.mixed_precision,
                "examples": examples_digest(dataset),
            }
        )

    def features(self, name: str, dataset) -> Features:
        path = self.dir / f"{self.key(dataset)}.npz"
        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(path.with_suffix(".lock")):
            if path.exists():
                with np.load(path) as saved:
                    found = Features(saved["values"], float(saved["seconds"]), cached=True)
            else:
                started = time.perf_counter()
                with self.accelerator.autocast():
                    values = pooled_features(
                        self.model,
                        dataset,
                        self.tokenizer,
                        self.batch_size,
                        self.accelerator.device,
                        self.job.model.pooling,
                    )
                found = Features(values, time.perf_counter() - started, cached=False)
                _save(path, found)
        self.used[name] = found
        return found

    def describe(self) -> dict[str, str]:
        """What the record says of each set's features: computed here or read from the store, and their cost."""
        return {
            name: f"{'read from the store' if f.cached else 'computed'} ({f.seconds:.1f} s to compute)"
            for name, f in self.used.items()
        }


def texts_apart(task: TaskSpec) -> list[TaskSpec]:
    """A task as a sentence encoder reads its texts: itself for one text; for a pair, one copy per text field, each
    tokenized alone (the same examples, labels and splits: drawing them reads no text)."""
    if len(task.text_fields) == 1:
        return [task]
    return [task.model_copy(update={"text_fields": [text]}) for text in task.text_fields]


def sentence_features(pooled: list[np.ndarray]) -> np.ndarray:
    """Features from each of texts_apart's pooled embeddings: one text's as they are; a pair's u and v as [u, v,
    |u − v|, u ⊙ v] (Conneau et al. 2017; sentence-transformers' classifier objective)."""
    if len(pooled) == 1:
        return pooled[0]
    first, second = pooled
    return np.hstack([first, second, np.abs(first - second), first * second])


def _save(path: Path, features: Features) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, values=features.values, seconds=np.float64(features.seconds))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class FeatureBatches:
    """The batches of head-only training on cached features: `epochs` seeded passes, as TaskBatches over tokens."""

    def __init__(self, features: np.ndarray, labels, settings: TrainingSettings, seed: int):
        data = TensorDataset(torch.from_numpy(features), torch.as_tensor(np.asarray(labels), dtype=torch.long))
        generator = torch.Generator().manual_seed(seed)
        self.loader = DataLoader(data, batch_size=settings.batch_size, shuffle=True, generator=generator)
        self.epochs = settings.epochs

    def __len__(self) -> int:
        return self.epochs * len(self.loader)

    def __iter__(self):
        for _ in range(self.epochs):
            for features, labels in self.loader:
                yield BatchEncoding({"features": features, "labels": labels})

    def observe(self, loss: float) -> None:
        """Nothing adapts to the loss here."""


@torch.no_grad()
def predict_from_features(model, features: np.ndarray, batch_size: int, device) -> np.ndarray:
    """Class ids from cached features through the model's head (eval mode: no dropout)."""
    model.eval()
    values = torch.from_numpy(features)
    return (
        np.concatenate(
            [
                classify_pooled(model, values[start : start + batch_size].to(device)).argmax(dim=-1).cpu().numpy()
                for start in range(0, len(values), batch_size)
            ]
        )
        if len(values)
        else np.empty(0, dtype=np.int64)
    )

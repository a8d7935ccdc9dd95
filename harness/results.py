"""The results store: one directory per trained run, keyed by the hash of its configuration.

Each run directory holds `record.json` (written last, atomically, so its presence means the run is
complete) and the trainable state. Parallel workers coordinate with one file lock per run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from filelock import FileLock

RECORD_FILE = "record.json"
STATE_FILE = "trainable_state.safetensors"
PACKAGES = ("harness", "torch", "transformers", "datasets", "accelerate", "peft", "bitsandbytes")


def config_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a partial write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def run_dir(self, run_hash: str) -> Path:
        return self.root / "runs" / run_hash

    def lock(self, run_hash: str) -> FileLock:
        (self.root / "locks").mkdir(parents=True, exist_ok=True)
        return FileLock(self.root / "locks" / f"{run_hash}.lock")

    def load(self, run_hash: str) -> dict[str, Any] | None:
        path = self.run_dir(run_hash) / RECORD_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def fresh_run_dir(self, run_hash: str) -> Path:
        """The run's directory, emptied of anything an earlier, interrupted attempt left."""
        run_dir = self.run_dir(run_hash)
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        return run_dir

    def write(self, record: dict[str, Any]) -> None:
        atomic_write_text(self.run_dir(record["config_hash"]) / RECORD_FILE, json.dumps(record, indent=2, sort_keys=True))

    def records(self) -> Iterator[dict[str, Any]]:
        for path in sorted((self.root / "runs").glob(f"*/{RECORD_FILE}")):
            yield json.loads(path.read_text(encoding="utf-8"))


def encode_ids(ids: np.ndarray) -> str:
    """Class ids as one digit each (comma-separated from 10 classes on): 2,000 predictions in 2 KB of JSON."""
    return "".join(map(str, ids.tolist())) if len(ids) == 0 or ids.max() < 10 else ",".join(map(str, ids.tolist()))


def decode_ids(text: str) -> np.ndarray:
    return np.array([int(v) for v in (text.split(",") if "," in text else text)], dtype=np.int64)


def package_versions() -> dict[str, str]:
    return dict(_installed_versions())


@functools.lru_cache(maxsize=1)  # constant for a process; every record and plan estimate asks
def _installed_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def describe_hardware() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})"
    return f"CPU {platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"

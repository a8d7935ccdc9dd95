"""The results store: one directory per trained run, keyed by the hash of its configuration.

Each run directory holds `record.json` (written last, atomically, so its presence means the run is
complete) and the trainable state. Parallel workers coordinate with one file lock per run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import platform
import shutil
import signal
import tempfile
import threading
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from filelock import FileLock

from harness.results.record import Record, parse_record, problem_of

RECORD_FILE = "record.json"
STAGING_DIR = "staging"  # runs being built (ResultStore.staging_dir)
STATE_FILE = "trainable_state.safetensors"
PACKAGES = ("harness", "torch", "transformers", "datasets", "accelerate", "peft", "bitsandbytes")


def timestamp() -> str:
    """Now, UTC, ISO 8601 to the millisecond: records and sessions are ordered by these strings (newest record wins,
    --retrain), and a warm worker can finish one job twice within a second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def config_hash(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


@functools.cache
def file_mode() -> int:
    """What open() would give a new file; mkstemp's are private (0600). The umask can only be read by setting it."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_text(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never a partial write. A failed write (a full disk) raises OSError
    naming `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StagedFiles:
    """Files that belong together (a leaderboard, its CSV, its plots): each written to a temporary beside its
    target, then all renamed at once in `commit`, with SIGINT/SIGTERM held back meanwhile, so an interrupt
    leaves either every old file or every new one. Targets given as `remove` disappear in the same step."""

    def __init__(self):
        self.staged: dict[Path, Path] = {}
        self.removed: list[Path] = []

    def path(self, target: Path) -> Path:
        """A temporary to write `target`'s new content to."""
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}")
        os.close(fd)
        os.chmod(tmp, file_mode())
        self.staged[target] = Path(tmp)
        return Path(tmp)

    def text(self, target: Path, text: str) -> None:
        self.path(target).write_text(text, encoding="utf-8")

    def remove(self, target: Path) -> None:
        """`target` goes in the same step (and whatever was staged for it is dropped)."""
        target = Path(target)
        if target in self.staged:
            self.staged.pop(target).unlink(missing_ok=True)
        self.removed.append(target)

    def commit(self) -> None:
        with signals_held():
            for target, tmp in self.staged.items():
                os.replace(tmp, target)
            for target in self.removed:
                target.unlink(missing_ok=True)
        self.staged.clear()

    def discard(self) -> None:
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged.clear()

    def __enter__(self) -> StagedFiles:
        return self

    def __exit__(self, kind, *_) -> None:
        self.commit() if kind is None else self.discard()


@contextlib.contextmanager
def signals_held():
    """SIGINT and SIGTERM wait until the block ends (on the main thread, where Python handles signals)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def is_fresh(record: Record | None, fresh_after: str | None) -> bool:
    """Whether a stored record serves instead of training again: it succeeded, and (with --retrain) finished after
    `fresh_after`, the session's start."""
    return record is not None and record.ok and (fresh_after is None or record.finished_at >= fresh_after)


def record_problem(path: Path) -> tuple[Record | None, str | None]:
    """A record file's content, or why it cannot be a record (truncated, empty, not written by this harness, a
    field missing or of the wrong type for its kind)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"not valid JSON ({exc}): truncated or empty"
    if not isinstance(raw, dict):
        return None, f"a JSON {type(raw).__name__}, not a record"
    try:
        record = parse_record(raw)
    except ValueError as exc:
        return None, f"not a record of this harness's format ({problem_of(exc)})"
    if record.config_hash != path.parent.name:
        return None, f"its config_hash {record.config_hash} is not its directory's name"
    return record, None


def store_root_of(run_dir: Path) -> Path:
    """The store a run is being built in: a run builds in `<store>/staging/<name>` (ResultStore.staging_dir)."""
    return Path(run_dir).parent.parent


class ResultStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.set_aside: list[str] = []  # one line per damaged record moved out of the way, for the caller to report

    def run_dir(self, run_hash: str) -> Path:
        return self.root / "runs" / run_hash

    def lock(self, run_hash: str) -> FileLock:
        (self.root / "locks").mkdir(parents=True, exist_ok=True)
        return FileLock(self.root / "locks" / f"{run_hash}.lock")

    def unwritable(self) -> str | None:
        """Why runs cannot be written here (the reason), or None where they can."""
        try:
            (self.root / "locks").mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root / "locks", prefix=".probe."):
                return None
        except OSError as exc:
            return exc.strerror or str(exc)

    def load(self, run_hash: str) -> Record | None:
        """The run's record; None where there is none, or where it was damaged (then set aside, so that the
        job trains again)."""
        path = self.run_dir(run_hash) / RECORD_FILE
        if not path.exists():
            return None
        record, problem = record_problem(path)
        if problem:
            self._set_aside(path, problem)
        return record

    def _set_aside(self, path: Path, problem: str) -> None:
        """Keeps a damaged record beside the run under another name, never deleting it."""
        kept = path.with_name(f"{RECORD_FILE}.damaged-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%f}")
        try:
            path.rename(kept)
        except FileNotFoundError:
            return  # another worker set it aside first
        except OSError as exc:
            self.set_aside.append(f"{path}: damaged record ({problem}); could not be set aside ({exc.strerror})")
            return
        self.set_aside.append(f"{path}: damaged record ({problem}); kept as {kept.name}, the job trains again")

    def problems(self) -> list[tuple[Path, str]]:
        """Every damaged record of the store, with what is wrong; nothing is changed."""
        return [
            (path, problem)
            for path in sorted((self.root / "runs").glob(f"*/{RECORD_FILE}"))
            if (problem := record_problem(path)[1])
        ]

    def staging_dir(self, run_hash: str) -> Path:
        """A new, empty directory to build a run in (`<store>/staging/`, beside `runs/`: the same depth, and never
        read as a run). It replaces the run's directory only once complete (commit); a run killed meanwhile
        leaves the previous record as it was, and its staging directory for check-store to list."""
        path = self.root / STAGING_DIR / f"{run_hash}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        return path

    def commit(self, staged: Path, record: Record) -> bool:
        """Writes `record` last into `staged`, then puts `staged` in place of the run's directory, set-aside records
        of the old one moving with it. A failure never replaces a successful record: then `staged` is dropped and
        False returned."""
        run_dir = self.run_dir(record.config_hash)
        if not record.ok and (previous := self.load(record.config_hash)) is not None and previous.ok:
            shutil.rmtree(staged, ignore_errors=True)
            return False
        atomic_write_text(staged / RECORD_FILE, record.to_json())
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        with signals_held():
            if run_dir.exists():
                for kept in run_dir.glob(f"{RECORD_FILE}.damaged-*"):
                    os.replace(kept, staged / kept.name)
                retired = self.root / STAGING_DIR / f"{run_dir.name}-replaced-{uuid.uuid4().hex[:8]}"
                os.replace(run_dir, retired)
                os.replace(staged, run_dir)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                os.replace(staged, run_dir)
        return True

    def leftovers(self) -> dict[str, list[Path]]:
        """What is not an intact record, by kind: records set aside (damaged; kept, never deleted) and the staging
        directories of runs that never finished (killed, or their disk full; their previous record is intact)."""
        return {
            "set aside": sorted((self.root / "runs").glob(f"*/{RECORD_FILE}.damaged-*")),
            "unfinished": sorted(path for path in (self.root / STAGING_DIR).glob("*") if path.is_dir()),
        }

    def write(self, record: Record) -> None:
        atomic_write_text(self.run_dir(record.config_hash) / RECORD_FILE, record.to_json())

    def records(self) -> Iterator[Record]:
        """Every intact record; damaged ones are set aside (see load)."""
        for path in sorted((self.root / "runs").glob(f"*/{RECORD_FILE}")):
            record, problem = record_problem(path)
            if problem:
                self._set_aside(path, problem)
            else:
                yield record


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

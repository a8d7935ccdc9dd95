"""Task data: one loader for the Hugging Face hub and for a local mirror, split resolution,
reproducible subsets, cached tokenization and batches of similar length.

Both sources go through `datasets.load_dataset`, so split expressions (`validation[:80%]`) and
caching behave alike. A mirror holds `<dataset>/<split>.jsonl.gz` files with the hub's field names, one folder per
dataset (named by its configuration, as glue's `sst2`, or by the dataset, as `imdb`; see DataSource.mirror_dir).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import DataError
from harness.specs import Splits, TaskSpec, split_base_name

# Evaluation subsets and the dev slice are drawn with a fixed seed, so that every approach and training
# seed is scored on the same examples (paired comparisons); each training seed draws its own training subset.
SUBSET_SEED = 0
MIRROR_SUFFIX = ".jsonl.gz"
TOKENIZATION_VERSION = "1"  # bump when `tokenize` changes what it produces


@dataclass(frozen=True)
class DataSource:
    """Where task data comes from: a local mirror directory, or the hub when `mirror` is None."""

    mirror: Path | None = None

    def describe(self) -> str:
        return f"mirror {self.mirror}" if self.mirror else "Hugging Face hub"

    def mirror_dir(self, task: TaskSpec) -> Path:
        """The mirror's folder for the task's dataset: named by its configuration (glue's `sst2`), else by the
        dataset (`imdb`, also for `stanfordnlp/imdb`), else by the task; so a new task over a mirrored dataset
        finds its data as it would on the hub."""
        candidates = [task.dataset.name, task.dataset.path.rsplit("/", 1)[-1], task.name]
        return next((self.mirror / c for c in candidates if c and (self.mirror / c).is_dir()), self.mirror / task.name)

    def available_splits(self, task: TaskSpec) -> set[str]:
        if self.mirror:
            return {path.name.removesuffix(MIRROR_SUFFIX) for path in self.mirror_dir(task).glob(f"*{MIRROR_SUFFIX}")}
        import datasets

        try:
            return set(datasets.get_dataset_split_names(task.dataset.path, task.dataset.name))
        except Exception as exc:  # the hub's errors have many types; each means the same here
            raise DataError(f"task '{task.name}': cannot list the splits of {self._hub_name(task)}: {exc}") from None

    def load(self, task: TaskSpec, expression: str):
        import datasets

        base = split_base_name(expression)
        try:
            if self.mirror:
                data_file = self.mirror_dir(task) / f"{base}{MIRROR_SUFFIX}"
                if not data_file.exists():
                    raise DataError(f"task '{task.name}': split '{base}' has no file {data_file}")

            def read(split: str):
                if self.mirror:
                    return datasets.load_dataset("json", data_files={base: str(data_file)}, split=split)
                return datasets.load_dataset(task.dataset.path, task.dataset.name, split=split)

            if not task.group_by or expression == base:
                return read(expression)
            whole = read(base)  # a grouped slice: the bounds datasets would use, moved to whole groups
            (bounds,) = datasets.ReadInstruction.from_spec(expression).to_absolute({base: len(whole)})
            return grouped_slice(whole, task.group_by, bounds.from_, bounds.to)
        except DataError:
            raise
        except Exception as exc:
            reason = str(exc) or f"{type(exc).__name__} (an empty file or split?)"
            raise DataError(
                f"task '{task.name}': cannot load split '{expression}' from {self.describe()}: {reason}"
            ) from None

    @staticmethod
    def _hub_name(task: TaskSpec) -> str:
        return f"'{task.dataset.path}'" + (f" ({task.dataset.name})" if task.dataset.name else "")


def example_groups(dataset, fields: list[str]) -> list[int]:
    """Each example's group: examples that share a value of any of `fields` (MNLI's premise; QNLI's question or
    sentence), directly or through others, are one group (connected components, by union-find)."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(node):
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    columns = [dataset[field] for field in fields]
    for values in zip(*columns):
        first = root((fields[0], values[0]))
        for field, value in zip(fields[1:], values[1:]):
            parent[root((field, value))] = first
    roots = [root((fields[0], values[0])) for values in zip(*columns)]
    ids = {node: index for index, node in enumerate(dict.fromkeys(roots))}
    return [ids[node] for node in roots]


def grouped_slice(dataset, fields: list[str], start: int, stop: int):
    """The examples whose group starts within rows [start, stop) once the split's groups are laid out whole, in an
    order fixed by a hash of their first example's texts: a slice that never cuts a group, complementary slices
    (`[:80%]`, `[80%:]`) disjoint and together the whole split."""
    groups = example_groups(dataset, fields)
    first = {}
    for index, group in enumerate(groups):
        first.setdefault(group, index)
    columns = [dataset[field] for field in fields]
    key = {
        group: hashlib.sha256("\x1f".join(str(column[index]) for column in columns).encode()).hexdigest()
        for group, index in first.items()
    }
    sizes = Counter(groups)
    begins, position = {}, 0
    for group in sorted(first, key=key.get):
        begins[group] = position
        position += sizes[group]
    return dataset.select([i for i, group in enumerate(groups) if start <= begins[group] < stop])


def resolve_splits(task: TaskSpec, source: DataSource) -> Splits:
    """The task's splits if the source has them all, else its declared fallback."""
    available = source.available_splits(task)
    for candidate in (task.splits, task.fallback_splits):
        if candidate is not None and candidate.base_names() <= available:
            return candidate
    missing = sorted(task.splits.base_names() - available)
    hint = "" if task.fallback_splits else "; declare fallback_splits to carve it from what exists"
    raise DataError(
        f"tasks/{task.name}.yaml: field 'splits': {source.describe()} has no split {', '.join(missing)} "
        f"for task '{task.name}' (it has: {', '.join(sorted(available)) or 'nothing'}){hint}"
    )


def load_examples(task: TaskSpec, source: DataSource, expression: str, limit: int | None, seed: int = SUBSET_SEED):
    """One split, checked against the task spec, shuffled into a seeded subset when `limit` is smaller."""
    dataset = source.load(task, expression)
    check_fields(task, dataset, expression)
    return subset(dataset, limit, seed)


def check_per_class(task: TaskSpec, dataset, expression: str, minimum: int, profile_source: str) -> None:
    """A training set with fewer than `minimum` examples of some class cannot show anything: a spec error, naming
    the task's split and the profile's field, before any training."""
    counts = np.bincount(np.asarray(dataset[task.label_field], dtype=np.int64), minlength=task.num_labels)
    short = [(name, int(count)) for name, count in zip(task.label_names, counts, strict=True) if count < minimum]
    if short:
        listed = ", ".join(f"{count} of class '{name}'" for name, count in short)
        raise DataError(
            f"tasks/{task.name}.yaml: field 'splits': the training set drawn from '{expression}' has {listed} "
            f"({len(dataset)} examples), fewer than {minimum} per class ({profile_source}: field "
            "'min_train_examples_per_class')"
        )


def subset(dataset, limit: int | None, seed: int):
    return dataset.shuffle(seed=seed).select(range(limit)) if limit is not None and len(dataset) > limit else dataset


def carve_dev(dataset, examples: int, group_by: list[str] = ()):
    """(dev, rest): a dev slice of `examples` held out of a training split, the same for every seed,
    for choosing hyper-parameters without looking at the evaluation split. With `group_by`, whole groups
    (example_groups) go to the dev slice until it holds at least `examples`, so no group is on both sides."""
    if examples >= len(dataset):
        raise DataError(f"a dev slice of {examples} examples leaves nothing to train on ({len(dataset)} in the split)")
    shuffled = dataset.shuffle(seed=SUBSET_SEED)
    if not group_by:
        return shuffled.select(range(examples)), shuffled.select(range(examples, len(shuffled)))
    groups = example_groups(shuffled, list(group_by))
    sizes = Counter(groups)
    chosen, count = set(), 0
    for group in dict.fromkeys(groups):  # in the shuffled order of their first example
        if count >= examples:
            break
        chosen.add(group)
        count += sizes[group]
    dev = [i for i, group in enumerate(groups) if group in chosen]
    rest = [i for i, group in enumerate(groups) if group not in chosen]
    if not rest:
        raise DataError(f"a dev slice of {examples} examples leaves nothing to train on ({len(dataset)} in the split)")
    return shuffled.select(dev), shuffled.select(rest)


def check_fields(task: TaskSpec, dataset, expression: str) -> None:
    where = f"tasks/{task.name}.yaml"
    if len(dataset) == 0:
        raise DataError(f"{where}: field 'splits': split '{expression}' has no examples")
    for field_name, column in [("text_fields", c) for c in task.text_fields] + [("label_field", task.label_field)]:
        if column not in dataset.column_names:
            raise DataError(
                f"{where}: field '{field_name}': column '{column}' not in split '{expression}' "
                f"(columns: {', '.join(dataset.column_names)})"
            )
    labels = dataset.unique(task.label_field)
    not_ids = [label for label in labels if not isinstance(label, int) or isinstance(label, bool)]
    if not_ids:
        raise DataError(
            f"{where}: field 'label_field': column '{task.label_field}' of split '{expression}' holds "
            f"{type(not_ids[0]).__name__} values such as {not_ids[0]!r}; labels are class ids 0..{task.num_labels - 1} "
            "in the order of label_names"
        )
    outside = sorted(label for label in labels if not 0 <= label < task.num_labels)
    if outside:
        raise DataError(
            f"{where}: field 'label_names': split '{expression}' has label {outside[0]}, outside the "
            f"{task.num_labels} declared names {task.label_names}"
        )


def tokenize(task: TaskSpec, dataset, tokenizer, max_length: int, prefix: str = ""):
    """Token ids, `labels` and `length`; cached by datasets under a fingerprint of all that shapes them.
    A `prefix` (multi-task training's task marker) is put before the first text."""
    columns = task.text_fields

    def encode(batch):
        texts = [batch[c] for c in columns]
        if prefix:
            texts[0] = [prefix + text for text in texts[0]]
        encoded = tokenizer(*texts, truncation=True, max_length=max_length)
        encoded["labels"] = batch[task.label_field]
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    key = "|".join(
        [
            dataset._fingerprint,
            tokenizer.name_or_path,
            str(len(tokenizer)),
            str(max_length),
            ",".join(columns),
            task.label_field,
            prefix,
            TOKENIZATION_VERSION,
        ]
    )
    return dataset.map(
        encode,
        batched=True,
        remove_columns=dataset.column_names,
        new_fingerprint=hashlib.sha256(key.encode()).hexdigest()[:32],
        desc=f"tokenizing {task.name}",
    )


def mirror_from(path: str | Path | None) -> DataSource:
    if path is None:
        return DataSource()
    mirror = Path(path).expanduser().resolve()
    if not mirror.is_dir():
        raise DataError(f"data directory {path} does not exist")
    return DataSource(mirror)


HUB_PROBE_SECONDS = 3


def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot serve data here (one connection attempt, a few seconds at most),
    or None where it can or where the user asked for the local cache (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE),
    which then fails fast on a miss. Decided once, before any job, so that an offline machine gets one
    message instead of minutes of retries per job."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        return None
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as exc:
        return f"{endpoint.hostname}:{port}: {exc.strerror or exc}"
    return None


def model_inputs(dataset):
    """The columns a model consumes: `length` only serves batching."""
    return dataset.remove_columns([c for c in ("length",) if c in dataset.column_names])


def reference_batch(dataset, tokenizer, size: int, max_length: int):
    """The first `size` examples padded to `max_length`: one fixed batch per task, the same for every approach and
    seed's job of that task and profile (its training subset differs by seed, its shape does not)."""
    rows = model_inputs(dataset.select(range(min(size, len(dataset)))))
    return tokenizer.pad(rows[:], padding="max_length", max_length=max_length, return_tensors="pt")


def length_sorted_batches(dataset, tokenizer, batch_size: int, device):
    """(indices, padded inputs) over `dataset` in batches of similar length, which keep padding small."""
    order = np.argsort(dataset["length"], kind="stable")
    inputs = model_inputs(dataset).remove_columns(["labels"])
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        yield indices, tokenizer.pad(inputs[indices.tolist()], return_tensors="pt").to(device)

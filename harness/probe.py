"""Forgetting of pre-trained knowledge: a frozen-feature linear probe, fitted on the pre-trained
encoder and again on the fine-tuned one.

Two kinds of probe, declared in a suite YAML (suites/knowledge.yaml):
- a task the single-task model was not trained on (the SST-2 model probed on MNLI);
- word order (bigram shift, Conneau et al. 2018): was a pair of adjacent words swapped? No task here
  trains it, so it applies to every model alike, multi-task ones included.
Features are the last hidden layer, mean-pooled over real tokens (and over prompt tokens, for
methods that add them); the probe is scikit-learn's logistic regression. A drop in probe accuracy
after fine-tuning is knowledge the encoder lost. A probe job reloads a finished run from its saved
trainable state (harness.jobs.restore), so it never retrains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from harness.errors import SpecError
from harness.jobs import DerivedJob, Job
from harness.multitask import MultiTaskJob
from harness.samplers import sampler_label
from harness.specs import NAME_PATTERN, Spec, TaskSpec, load_spec

PROBE_FORMAT = 1
SHIFT_SEED = 1234  # which texts get a swapped pair, and where: fixed, so every model is probed on the same data


class WordOrderSpec(Spec):
    task: str = Field(description="the task whose texts (first text field, labels ignored) are shifted")
    split: str = "train"
    words: int = Field(default=24, ge=4, description="each text cut to its first `words` words")


class ProbeSuiteSpec(Spec):
    kind: Literal["probe"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    probes: dict[str, str] = Field(description="trained task -> the task it is probed on (one it was not trained on)")
    word_order: WordOrderSpec | None = Field(default=None, description="a word-order probe of every single- and multi-task model")
    train_examples: int = Field(default=1000, ge=10)
    eval_examples: int = Field(default=500, ge=10)


def load_probe_suite(path: Path, tasks: dict[str, TaskSpec], approaches) -> ProbeSuiteSpec:
    suite = load_spec(ProbeSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    for trained, probe in suite.probes.items():
        for name in (trained, probe):
            if name not in tasks or not tasks[name].trainable:
                raise SpecError(f"{where}: field 'probes.{trained}': unknown or untrainable task '{name}'")
        if trained == probe:
            raise SpecError(f"{where}: field 'probes.{trained}': a model must be probed on a task it was not trained on")
    if suite.word_order and suite.word_order.task not in tasks:
        raise SpecError(f"{where}: field 'word_order.task': unknown task '{suite.word_order.task}'")
    return suite


@dataclass(frozen=True)
class TaskProbe:
    """Probe on another task's own labels and splits."""

    task: TaskSpec

    @property
    def label(self) -> str:
        return self.task.name

    def identity(self) -> dict[str, Any]:
        return {"probe_task": self.task.model_dump(exclude={"prefix"})}

    def datasets(self, job: ProbeJob, tokenizer):
        from harness.data import load_examples, resolve_splits, tokenize

        splits = resolve_splits(self.task, job.source)
        max_length = job.max_length(self.task)

        def examples(expression: str, limit: int):
            return tokenize(self.task, load_examples(self.task, job.source, expression, limit), tokenizer, max_length)

        return examples(splits.train, job.suite.train_examples), examples(splits.eval, job.suite.eval_examples), splits.describe()


def shift_bigram(words: list[str], rng: np.random.Generator) -> list[str] | None:
    """The words with one adjacent pair of different words swapped, or None where every pair is equal."""
    positions = [i for i in range(len(words) - 1) if words[i] != words[i + 1]]
    if not positions:
        return None
    i = int(rng.choice(positions))
    return [*words[:i], words[i + 1], words[i], *words[i + 2:]]


@dataclass(frozen=True)
class WordOrderProbe:
    """Bigram shift on a task's texts: half the texts, chosen with a fixed seed, get one adjacent pair
    swapped (label 1). Built here because no maintained package makes this probing set."""

    spec: WordOrderSpec
    text_task: TaskSpec

    label = "word-order"

    def identity(self) -> dict[str, Any]:
        return {"word_order": self.spec.model_dump(), "text_task": self.text_task.model_dump(exclude={"prefix"})}

    def probe_task(self) -> TaskSpec:
        """The probing set as a task of its own, so tokenization and its cache work as for any task."""
        return self.text_task.model_copy(update={"name": f"{self.text_task.name}-word-order", "text_fields": ["text"],
                                                 "label_field": "shifted", "label_names": ["original", "shifted"]})

    def examples(self, job: ProbeJob):
        from harness.data import load_examples

        column = self.text_task.text_fields[0]
        texts = load_examples(self.text_task, job.source, self.spec.split, job.suite.train_examples + job.suite.eval_examples)[column]
        rng = np.random.default_rng(SHIFT_SEED)
        rows = {"text": [], "shifted": []}
        for text in texts:
            words = text.replace("<br />", " ").split()[: self.spec.words]
            shifted = shift_bigram(words, rng) if rng.random() < 0.5 else None
            rows["text"].append(" ".join(shifted or words))
            rows["shifted"].append(int(shifted is not None))
        return rows

    def datasets(self, job: ProbeJob, tokenizer):
        from datasets import Dataset

        from harness.data import tokenize

        task = self.probe_task()
        data = tokenize(task, Dataset.from_dict(self.examples(job)), tokenizer, job.max_length(self.text_task))
        cut = job.suite.train_examples
        return (data.select(range(cut)), data.select(range(cut, len(data))),
                f"{self.spec.split}[:{cut}] / [{cut}:] of {self.text_task.name}, first {self.spec.words} words, bigram shift")


def trained_on(job: Job | MultiTaskJob) -> str:
    if isinstance(job, MultiTaskJob):
        return f"{'+'.join(t.name for t in job.tasks)} ({sampler_label(job.sampler)})"
    return job.task.name


@dataclass(frozen=True)
class ProbeJob(DerivedJob):
    suite: ProbeSuiteSpec
    trained: Job | MultiTaskJob
    probe: TaskProbe | WordOrderProbe

    @property
    def origin(self) -> Job | MultiTaskJob:
        return self.trained

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.trained.name}-probed-on-{self.probe.label}"

    def identity(self) -> dict[str, Any]:
        return {"format": PROBE_FORMAT, "trained": self.trained.config_hash, **self.probe.identity(),
                "train_examples": self.suite.train_examples, "eval_examples": self.suite.eval_examples}

    def base_record(self) -> dict[str, Any]:
        from harness.jobs import common_record

        return common_record(self) | {"kind": "probe", "task": trained_on(self.trained), "variant": self.probe.label}

    def execute(self, run_dir: Path, isolated: bool) -> dict[str, Any]:
        return execute(self, run_dir)


def pooled_features(model, dataset, tokenizer, batch_size: int, device) -> np.ndarray:
    """Mean of the last hidden layer over attended positions, in dataset order."""
    import torch

    from harness.train import model_inputs

    model.eval()
    inputs = model_inputs(dataset).remove_columns(["labels"])
    features = []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            batch = tokenizer.pad(inputs[start:start + batch_size], return_tensors="pt").to(device)
            hidden = model(**batch, output_hidden_states=True).hidden_states[-1].float()
            mask = batch["attention_mask"].float()
            if hidden.shape[1] > mask.shape[1]:  # prompt tuning prepends virtual tokens the mask does not list
                mask = torch.cat([mask.new_ones(mask.shape[0], hidden.shape[1] - mask.shape[1]), mask], dim=1)
            features.append(((hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)).cpu().numpy())
    return np.concatenate(features)


def probe_accuracy(model, train_set, eval_set, tokenizer, batch_size: int, device, seed: int) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(pooled_features(model, train_set, tokenizer, batch_size, device), np.asarray(train_set["labels"]))
    return float(probe.score(pooled_features(model, eval_set, tokenizer, batch_size, device), np.asarray(eval_set["labels"])))


def execute(job: ProbeJob, run_dir: Path) -> dict[str, Any]:
    from accelerate.utils import set_seed

    from harness.jobs import restore
    from harness.models import build_classifier, load_tokenizer
    from harness.results import ResultStore
    from harness.train import make_accelerator

    set_seed(job.seed)
    trained_dir = ResultStore(run_dir.parent.parent).run_dir(job.trained.config_hash)
    tokenizer = load_tokenizer(job.model)
    train_set, eval_set, split_spec = job.probe.datasets(job, tokenizer)
    device = make_accelerator().device
    batch_size = job.profile.eval_batch_size
    plain = build_classifier(job.model, *job.trained.classifier_labels(), job.seed)
    before = probe_accuracy(plain.to(device), train_set, eval_set, tokenizer, batch_size, device, job.seed)
    after = probe_accuracy(restore(job.trained, trained_dir).to(device), train_set, eval_set, tokenizer, batch_size, device, job.seed)
    return {"status": "ok", "probe_task": job.probe.label, "probe_split_spec": split_spec,
            "probe_before": before, "probe_after": after, "knowledge_lost": before - after,
            "probe_examples": {"train": len(train_set), "eval": len(eval_set)}}


def probe_jobs(suite: ProbeSuiteSpec, single_task_jobs: list[Job], multitask_jobs: list[MultiTaskJob],
               tasks: dict[str, TaskSpec]) -> list[ProbeJob]:
    jobs = [ProbeJob(suite=suite, trained=job, probe=TaskProbe(tasks[suite.probes[job.task.name]]))
            for job in single_task_jobs if job.task.name in suite.probes]
    if suite.word_order:
        word_order = WordOrderProbe(suite.word_order, tasks[suite.word_order.task])
        jobs += [ProbeJob(suite=suite, trained=job, probe=word_order) for job in (*single_task_jobs, *multitask_jobs)]
    return jobs

"""Forgetting of pre-trained knowledge: a frozen-feature linear probe on a task the model was not
trained on, fitted on the pre-trained encoder and again on the fine-tuned one.

Features are the last hidden layer, mean-pooled over real tokens (and over prompt tokens, for
methods that add them); the probe is scikit-learn's logistic regression. A drop in probe accuracy
after fine-tuning is knowledge the encoder lost. A probe job reloads a finished single-task run
from its saved trainable state (harness.jobs.restore), so it never retrains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from harness.errors import SpecError
from harness.jobs import DerivedJob, Job
from harness.specs import NAME_PATTERN, Spec, TaskSpec, load_spec

PROBE_FORMAT = 1


class ProbeSuiteSpec(Spec):
    kind: Literal["probe"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    probes: dict[str, str] = Field(description="trained task -> the task it is probed on (one it was not trained on)")
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
    return suite


@dataclass(frozen=True)
class ProbeJob(DerivedJob):
    suite: ProbeSuiteSpec
    trained: Job
    probe_task: TaskSpec

    @property
    def origin(self) -> Job:
        return self.trained

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.trained.task.name}-on-{self.probe_task.name}-{self.approach.name}-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return {"format": PROBE_FORMAT, "trained": self.trained.config_hash, "probe_task": self.probe_task.model_dump(exclude={"prefix"}),
                "train_examples": self.suite.train_examples, "eval_examples": self.suite.eval_examples}

    def base_record(self) -> dict[str, Any]:
        from harness.jobs import common_record

        return common_record(self) | {"kind": "probe", "task": self.trained.task.name, "variant": self.probe_task.name}

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

    from harness.data import load_examples, resolve_splits, tokenize
    from harness.jobs import restore
    from harness.models import build_classifier, load_tokenizer
    from harness.results import ResultStore
    from harness.train import make_accelerator

    set_seed(job.seed)
    trained_dir = ResultStore(run_dir.parent.parent).run_dir(job.trained.config_hash)
    tokenizer = load_tokenizer(job.model)
    splits = resolve_splits(job.probe_task, job.source)

    def examples(expression: str, limit: int):
        return tokenize(job.probe_task, load_examples(job.probe_task, job.source, expression, limit), tokenizer, job.max_length(job.probe_task))

    train_set, eval_set = examples(splits.train, job.suite.train_examples), examples(splits.eval, job.suite.eval_examples)
    device = make_accelerator().device
    batch_size = job.profile.eval_batch_size
    plain = build_classifier(job.model, job.trained.task.num_labels, job.trained.task.label_names, job.seed)
    before = probe_accuracy(plain.to(device), train_set, eval_set, tokenizer, batch_size, device, job.seed)
    after = probe_accuracy(restore(job.trained, trained_dir).to(device), train_set, eval_set, tokenizer, batch_size, device, job.seed)
    return {"status": "ok", "probe_task": job.probe_task.name, "probe_split_spec": splits.describe(),
            "probe_before": before, "probe_after": after, "knowledge_lost": before - after,
            "probe_examples": {"train": len(train_set), "eval": len(eval_set)}}


def probe_jobs(suite: ProbeSuiteSpec, single_task_jobs: list[Job], tasks: dict[str, TaskSpec]) -> list[ProbeJob]:
    return [ProbeJob(suite=suite, trained=job, probe_task=tasks[suite.probes[job.task.name]])
            for job in single_task_jobs if job.task.name in suite.probes]

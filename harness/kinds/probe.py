"""Forgetting of pre-trained knowledge: a frozen-feature linear probe, fitted on the pre-trained
encoder and again on the fine-tuned one.

Two kinds of probe, declared in a suite YAML (suites/knowledge.yaml):
- a task the single-task model was not trained on (the SST-2 model probed on MNLI);
- word content (Conneau et al. 2018): which of a few mid-frequency words does a text contain? No task
  here trains it, so it applies to every model alike, multi-task ones included. (Their bigram-shift
  probe was tried first: with mean-pooled MiniLM features and 1,000 examples it stays at chance
  at every layer, 49-54 %, so it could not show a loss.)
Features are the last hidden layer, mean-pooled over real tokens (and over prompt tokens, for
methods that add them), a pair task's two texts encoded apart and combined as [u, v, |u − v|, u ⊙ v]; the probe is
scikit-learn's logistic regression. A drop in probe accuracy
after fine-tuning is knowledge the encoder lost. A probe job reloads a finished run from its saved
trainable state (harness.training.checkpoints.restore), so it never retrains. The "before" score and the
probing set are a job of their own (ProbeBaselineJob), computed once per probe, model and seed.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from harness.data import DataSource, load_examples, resolve_splits, tokenize
from harness.errors import SpecError
from harness.jobs import DerivedJob, Job, JobBase, common_record
from harness.kinds import SuiteKind, register
from harness.kinds.multitask import MultiTaskJob
from harness.models import ModelRef, build_classifier, load_tokenizer
from harness.report.marks import Differences
from harness.report.tables import BoardContext, grouped, mean_std, table
from harness.results import ResultStore, package_versions, store_root_of
from harness.results.record import EvaluationRecord, Fields, Record, record_type
from harness.specs import NAME_PATTERN, ProfileSpec, Spec, TaskSpec, load_spec
from harness.training.checkpoints import restore

PROBE_FORMAT = 3
PROBE_SET_FILE = "probe_set.json"
SHUFFLE_SEED = 1234  # the order of the word-content examples: fixed, so every model is probed on the same data


class WordContentSpec(Spec):
    task: str = Field(description="the task whose texts (first text field, labels ignored) are used")
    split: str = "train"
    words: int = Field(default=24, ge=4, description="each text cut to its first `words` words")
    targets: int = Field(default=10, ge=2, description="how many words to tell apart")
    skip_most_frequent: int = Field(
        default=300, ge=0, description="targets are the next most frequent words (4+ letters) after these"
    )


class ProbeSuiteSpec(Spec):
    kind: Literal["probe"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    probes: dict[str, str] = Field(description="trained task -> the task it is probed on (one it was not trained on)")
    word_content: WordContentSpec | None = Field(
        default=None, description="a word-content probe of every single- and multi-task model"
    )
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
            raise SpecError(
                f"{where}: field 'probes.{trained}': a model must be probed on a task it was not trained on"
            )
    if suite.word_content and suite.word_content.task not in tasks:
        raise SpecError(f"{where}: field 'word_content.task': unknown task '{suite.word_content.task}'")
    return suite


class ProbeExamples(Fields):
    train: int
    eval: int


class ProbeSetFields(Fields):
    """Which probing set a probe was fitted and scored on (built once per probe, model and seed)."""

    probe_split_spec: str | None = None
    probe_examples: ProbeExamples | None = None


@record_type("probe-baseline")
class ProbeBaselineRecord(Record, ProbeSetFields):
    """The probe fitted on the plain pre-trained encoder."""

    probe_accuracy: float | None = None
    probe_eval: EvaluationRecord | None = None


@record_type("probe")
class ProbeRecord(Record, ProbeSetFields):
    """The probe fitted on a fine-tuned encoder, beside the pre-trained encoder's (its baseline's) on the same set."""

    probe_task: str | None = None
    probe_before: float | None = None
    probe_after: float | None = None
    knowledge_lost: float | None = None  # before − after, in accuracy
    probe_before_eval: EvaluationRecord | None = None
    probe_after_eval: EvaluationRecord | None = None


@dataclass(frozen=True)
class TaskProbe:
    """Probe on another task's own labels and splits."""

    task: TaskSpec

    @property
    def label(self) -> str:
        return self.task.name

    def identity(self) -> dict[str, Any]:
        # A pair task's texts are encoded apart (probe_datasets): said in the key of those probes only, so the
        # single-text probes keep theirs.
        apart = {"texts": "apart"} if len(self.task.text_fields) == 2 else {}
        return {"probe_task": self.task.model_dump(exclude={"prefix"})} | apart

    def rows(self, job) -> tuple[dict[str, list], dict[str, list], TaskSpec, str]:
        """Train and eval rows (raw text and labels), the task spec that tokenizes them, and a description."""

        splits = resolve_splits(self.task, job.source)
        train = load_examples(self.task, job.source, splits.train, job.suite.train_examples)
        evaluation = load_examples(self.task, job.source, splits.eval, job.suite.eval_examples)
        columns = [*self.task.text_fields, self.task.label_field]
        return (
            train.select_columns(columns).to_dict(),
            evaluation.select_columns(columns).to_dict(),
            self.task,
            splits.describe(),
        )


def words_of(text: str) -> list[str]:
    return text.replace("<br />", " ").split()


def bare(word: str) -> str:
    return re.sub(r"[^a-z]", "", word.lower())


@dataclass(frozen=True)
class WordContentProbe:
    """Word content: texts that contain exactly one of `targets` mid-frequency words, labelled with
    that word, as many per word as the probe needs. Built here because no maintained package makes
    this probing set from a given corpus."""

    spec: WordContentSpec
    text_task: TaskSpec

    label = "word-content"

    def identity(self) -> dict[str, Any]:
        return {"word_content": self.spec.model_dump(), "text_task": self.text_task.model_dump(exclude={"prefix"})}

    def examples(self, job: ProbeJob) -> tuple[dict[str, list], list[str]]:

        texts = [
            words_of(t)[: self.spec.words]
            for t in load_examples(self.text_task, job.source, self.spec.split, None)[self.text_task.text_fields[0]]
        ]
        vocabularies = [{bare(w) for w in text} for text in texts]
        frequency = Counter(w for vocabulary in vocabularies for w in vocabulary if len(w) >= 4)
        ranked = [w for w, _ in sorted(frequency.items(), key=lambda item: (-item[1], item[0]))]
        targets = ranked[self.spec.skip_most_frequent : self.spec.skip_most_frequent + self.spec.targets]
        per_target = math.ceil((job.suite.train_examples + job.suite.eval_examples) / self.spec.targets)
        chosen: dict[str, list[str]] = {t: [] for t in targets}
        for text, vocabulary in zip(texts, vocabularies):
            present = [t for t in targets if t in vocabulary]
            if len(present) == 1 and len(chosen[present[0]]) < per_target:
                chosen[present[0]].append(" ".join(text))
        rows = [(text, index) for index, t in enumerate(targets) for text in chosen[t]]
        np.random.default_rng(SHUFFLE_SEED).shuffle(rows)
        return {"text": [r[0] for r in rows], "target": [r[1] for r in rows]}, targets

    def rows(self, job) -> tuple[dict[str, list], dict[str, list], TaskSpec, str]:
        rows, targets = self.examples(job)
        # The probing set as a task of its own, so tokenization and its cache work as for any task.
        task = self.text_task.model_copy(
            update={
                "name": f"{self.text_task.name}-word-content",
                "text_fields": ["text"],
                "label_field": "target",
                "label_names": targets,
                "label_descriptions": None,
            }
        )
        cut = round(len(rows["text"]) * job.suite.train_examples / (job.suite.train_examples + job.suite.eval_examples))
        train, evaluation = ({k: v[:cut] for k, v in rows.items()}, {k: v[cut:] for k, v in rows.items()})
        return (
            train,
            evaluation,
            task,
            f"{self.text_task.name} {self.spec.split}, first {self.spec.words} words, containing one of: "
            f"{', '.join(targets)}",
        )


def trained_on(job: Job | MultiTaskJob) -> str:
    if isinstance(job, MultiTaskJob):
        return f"{'+'.join(t.name for t in job.tasks)} ({job.variant})"
    return job.task.name


@dataclass(frozen=True)
class ProbeBaselineJob(JobBase):
    """The probe fitted on the plain pre-trained encoder ("before"), and the probing set itself, built
    once per (probe, model, seed) and shared by every fine-tuned model's probe job."""

    suite: ProbeSuiteSpec
    probe: TaskProbe | WordContentProbe
    model: ModelRef
    profile: ProfileSpec
    seed: int
    source: DataSource

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.model.name}-seed{self.seed}-before-{self.probe.label}"

    def identity(self) -> dict[str, Any]:
        return {
            "format": PROBE_FORMAT,
            "baseline": True,
            **self.probe.identity(),
            "model": self.model_identity(),
            "profile": self.profile.name,
            "max_length": self.profile.max_length,
            "seed": self.seed,
            "data_source": self.source.describe(),
            "train_examples": self.suite.train_examples,
            "eval_examples": self.suite.eval_examples,
        }

    def preflight(self) -> str | None:
        return None  # the plain pre-trained encoder, no approach: it runs wherever the model loads

    def base_record(self) -> dict[str, Any]:

        return {
            "config_hash": self.config_hash,
            "config": self.identity(),
            "kind": "probe-baseline",
            "task": self.probe.label,
            "variant": "before",
            "approach": "pre-trained",
            "model": self.model.name,
            "profile": self.profile.name,
            "seed": self.seed,
            "data_source": self.source.describe(),
            "package_versions": package_versions(),
        }

    def execute(self, run_dir: Path) -> dict[str, Any]:
        from accelerate.utils import set_seed

        from harness.training.loop import default_device

        set_seed(self.seed)
        train_rows, eval_rows, text_task, split_spec = self.probe.rows(self)
        (run_dir / PROBE_SET_FILE).write_text(
            json.dumps(
                {"train": train_rows, "eval": eval_rows, "task": text_task.model_dump(), "split_spec": split_spec}
            )
        )
        tokenizer = load_tokenizer(self.model)
        train_set, eval_set = probe_datasets(self, run_dir, tokenizer)
        device = default_device()
        # Mean-pooled encoder features do not depend on the head, so any label count serves.
        plain = build_classifier(self.model, 2, ["a", "b"], self.seed)
        evaluation = probe_evaluation(
            plain.to(device), train_set, eval_set, tokenizer, self.profile.eval_batch_size, device, self.seed
        )
        return {
            "status": "ok",
            "probe_accuracy": evaluation.accuracy,
            "probe_eval": evaluation,
            "probe_split_spec": split_spec,
            "probe_examples": {"train": len(train_set[0]), "eval": len(eval_set[0])},
        }


def probe_datasets(job, baseline_dir: Path, tokenizer) -> tuple[list, list]:
    """The probing set saved by the baseline job, train and eval, each as its tokenized texts: one set, or for a
    pair task one per text, each tokenized alone (a sentence encoder read as it was trained, as the frozen-feature
    baseline reads pairs: harness.jobs.baselines)."""
    from datasets import Dataset

    from harness.training.features import texts_apart

    saved = json.loads((baseline_dir / PROBE_SET_FILE).read_text())
    task = TaskSpec.model_validate(saved["task"])
    max_length = job.max_length(task)
    return tuple(
        [tokenize(view, Dataset.from_dict(saved[part]), tokenizer, max_length) for view in texts_apart(task)]
        for part in ("train", "eval")
    )


@dataclass(frozen=True)
class ProbeJob(DerivedJob):
    suite: ProbeSuiteSpec
    trained: Job | MultiTaskJob
    probe: TaskProbe | WordContentProbe

    @property
    def origin(self) -> Job | MultiTaskJob:
        return self.trained

    @property
    def baseline(self) -> ProbeBaselineJob:
        return ProbeBaselineJob(
            suite=self.suite,
            probe=self.probe,
            model=self.model,
            profile=self.profile,
            seed=self.seed,
            source=self.source,
        )

    @property
    def name(self) -> str:
        return f"{self.suite.name}-{self.trained.name}-probed-on-{self.probe.label}"

    def dependencies(self) -> tuple:
        return (self.trained, self.baseline)

    def with_dependencies(self, done: dict) -> ProbeJob:
        """Probes the trained job as it was run (a measured curriculum resolves its order first)."""
        return replace(self, trained=done[self.trained.name].job)

    def identity(self) -> dict[str, Any]:
        return {"format": PROBE_FORMAT, "trained": self.trained.config_hash, "baseline": self.baseline.config_hash}

    def base_record(self) -> dict[str, Any]:

        return common_record(self) | {"kind": "probe", "task": trained_on(self.trained), "variant": self.probe.label}

    def execute(self, run_dir: Path) -> dict[str, Any]:
        from accelerate.utils import set_seed

        from harness.training.loop import default_device

        set_seed(self.seed)
        store = ResultStore(store_root_of(run_dir))
        baseline = store.load(self.baseline.config_hash)
        tokenizer = load_tokenizer(self.model)
        train_set, eval_set = probe_datasets(self, store.run_dir(self.baseline.config_hash), tokenizer)
        device = default_device()
        model = restore(self.trained, store.run_dir(self.trained.config_hash)).to(device)
        evaluation = probe_evaluation(
            model, train_set, eval_set, tokenizer, self.profile.eval_batch_size, device, self.seed
        )
        after, before = evaluation.accuracy, baseline.probe_accuracy
        return {
            "status": "ok",
            "probe_task": self.probe.label,
            "probe_split_spec": baseline.probe_split_spec,
            "probe_before": before,
            "probe_after": after,
            "knowledge_lost": before - after,
            "probe_before_eval": baseline.probe_eval,
            "probe_after_eval": evaluation,
            "probe_examples": baseline.probe_examples,
        }


def probe_evaluation(model, train_set, eval_set, tokenizer, batch_size: int, device, seed: int) -> EvaluationRecord:
    """A logistic-regression probe on the model's mean-pooled features (of a pair's texts apart: probe_datasets):
    its evaluation summary (harness.training.scoring)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from harness.models.heads import pooled_features
    from harness.training.features import sentence_features
    from harness.training.scoring import Evaluation

    def features(texts: list):
        return sentence_features([pooled_features(model, text, tokenizer, batch_size, device) for text in texts])

    labels = np.asarray(train_set[0]["labels"])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(features(train_set), labels)
    eval_labels = np.asarray(eval_set[0]["labels"])
    predictions = probe.predict(features(eval_set))
    majority = int(np.bincount(labels).argmax())
    return Evaluation(
        metrics={"accuracy": float(np.mean(predictions == eval_labels))},
        majority_class=majority,
        majority_rate=float(np.mean(eval_labels == majority)),
        examples=len(eval_labels),
        seconds=0.0,
        predictions=predictions,
        labels=eval_labels,
    ).summary()


def probe_jobs(
    suite: ProbeSuiteSpec, single_task_jobs: list[Job], multitask_jobs: list[MultiTaskJob], tasks: dict[str, TaskSpec]
) -> list[ProbeJob]:
    jobs = [
        ProbeJob(suite=suite, trained=job, probe=TaskProbe(tasks[suite.probes[job.task.name]]))
        for job in single_task_jobs
        if job.task.name in suite.probes
    ]
    if suite.word_content:
        word_content = WordContentProbe(suite.word_content, tasks[suite.word_content.task])
        jobs += [ProbeJob(suite=suite, trained=job, probe=word_content) for job in (*single_task_jobs, *multitask_jobs)]
    return jobs


def leaderboard_section(probes: pd.DataFrame, _board: BoardContext) -> list[str]:
    """Points of probe accuracy lost per approach (columns), for each trained model and probe (rows)."""
    model = ["probe_task", "task"]
    before = (
        probes.drop_duplicates([*model, "seed"]).groupby(model)["probe_before"].agg(mean_std)
    )  # one encoder per seed
    differences = Differences()  # before minus after, paired on the same probing examples and seeds
    for key, runs in grouped(probes, [*model, "approach"]).items():
        differences.add(key, runs, lambda r: r.probe_before_eval, runs, lambda r: r.probe_after_eval)
    lost = (
        pd.Series(differences.texts(), name="lost")
        .rename_axis([*model, "approach"])
        .unstack("approach", fill_value="–")
    )
    rows = (
        before.rename("before")
        .to_frame()
        .join(lost)
        .reset_index()
        .rename(columns={"probe_task": "probe", "task": "trained on"})
    )
    return [
        "## Forgetting of pre-trained knowledge",
        "",
        (
            "A logistic-regression probe on frozen, mean-pooled last-layer features (a pair task's two texts encoded "
            "apart, [u, v, |u − v|, u ⊙ v]), fitted on the pre-trained encoder "
            "(before, accuracy %) and on the fine-tuned one. Cells: points lost (before minus after, on the same "
            "probing examples and seeds) with a 95 % paired bootstrap interval, ▲ ▼ where significant after "
            "Benjamini–Hochberg over the table, on at least 3 seeds; higher means fine-tuning erased more of what "
            "the encoder knew. Probes: a task the model was not trained on, and "
            "word content (which of a few mid-frequency words does a text contain? the record lists them), which no "
            "task here trains, so it also measures multi-task models (trained on: tasks (sampler))."
        ),
        "",
        table(rows),
        "",
    ]


register(
    SuiteKind(
        name="probe",
        fixture="probe",
        load=load_probe_suite,
        jobs=lambda suite, session: probe_jobs(
            suite, session.single_task_jobs(), session.suite_jobs("multitask"), session.tasks
        ),
        leaderboard=leaderboard_section,
    )
)

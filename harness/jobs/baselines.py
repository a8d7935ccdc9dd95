"""The frozen-feature baseline: a logistic regression (scikit-learn) on the frozen pre-trained
encoder's pooled features, the same pooling the classification head uses (harness.models.heads). A pair
task's texts are encoded one at a time, their features u and v combined as [u, v, |u − v|, u ⊙ v] (Conneau et
al. 2017; sentence-transformers' classifier objective): a sentence encoder read as it was trained, and on the
embedded MiniLM a far stronger bound than the pair's joint encoding (docs/measurements.md). Its regularisation
is chosen on the dev slice. Every approach trains more than this, so an approach below it is marked on the
leaderboard; on single-text tasks head-only should match it (the same linear model, trained by SGD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from harness.data import DataSource
from harness.jobs import JobBase, common_record, load_task_data, task_data_identity
from harness.models import ModelRef, build_classifier, load_tokenizer
from harness.results import store_root_of
from harness.results.record import Record, ScoredFields, SplitFields, record_type
from harness.specs import ApproachSpec, ProfileSpec, TaskSpec

BASELINE_FORMAT = 3  # 3: a pair's texts encoded apart
BASELINE_APPROACH = ApproachSpec(
    name="frozen-features",
    method="logistic-regression",
    description="logistic regression on the frozen encoder's pooled features",
)
INVERSE_REGULARISATION = (0.01, 0.1, 1.0, 10.0)  # scikit-learn's C, chosen on the dev slice


@record_type("frozen-features")
class FrozenFeaturesRecord(Record, ScoredFields, SplitFields):
    inverse_regularisation: float | None = None  # the logistic regression's C, chosen on the dev slice
    text_features: str | None = None  # what it reads of a text or a pair
    dev_accuracy_by_inverse_regularisation: dict[str, float] = {}


@dataclass(frozen=True)
class FrozenFeaturesJob(JobBase):
    task: TaskSpec
    ood_tasks: tuple[TaskSpec, ...]
    model: ModelRef
    profile: ProfileSpec
    seed: int
    source: DataSource
    approach: ApproachSpec = BASELINE_APPROACH

    @property
    def name(self) -> str:
        return f"{self.task.name}-frozen-features-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return self.frozen_identity(format=BASELINE_FORMAT, kind="frozen-features", grid=INVERSE_REGULARISATION)

    def frozen_identity(self, **own: Any) -> dict[str, Any]:
        """`own` with what shapes every frozen-encoder job: its examples, its model, its features' precision."""
        precision = self.profile.training.precision
        return own | task_data_identity(self) | ({"precision": precision} if precision != "auto" else {})

    def preflight(self) -> str | None:
        return None  # the plain pre-trained encoder, no approach: it runs wherever the model loads

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "frozen-features", "task": self.task.name, "variant": None}

    def scores_out_of_domain(self, task: TaskSpec) -> bool:
        return True

    def execute(self, run_dir) -> dict[str, Any]:
        """The frozen encoder's pooled features (shared through the store, harness.training.features), a classifier
        over them (`classifier`), and its scores on the dev slice, the evaluation split and the out-of-domain tasks."""
        import numpy as np
        from accelerate.utils import set_seed

        from harness.training.features import FeatureCache
        from harness.training.loop import make_accelerator
        from harness.training.scoring import scored

        set_seed(self.seed)
        tokenizer = load_tokenizer(self.model)
        accelerator = make_accelerator(self.profile.training)  # the profile's precision, as head-only's features
        encoder = build_classifier(self.model, self.task.num_labels, self.task.label_names, self.seed)
        encoder = encoder.to(accelerator.device)
        cache = FeatureCache(
            store_root_of(run_dir), self, encoder, tokenizer, accelerator, self.profile.eval_batch_size
        )
        frozen = FrozenEncoder(self, tokenizer, accelerator, encoder, cache)
        data = frozen.sets(self.task)[0]
        predict, fields = self.classifier(frozen)
        majority = data.majority_class

        def evaluation(name, task, which):
            labels = np.asarray(frozen.dataset(task, which)["labels"])
            return scored(task, labels, predict(name, task, which), majority)

        in_domain = evaluation("eval", self.task, "eval_set")
        ood = {
            t.name: evaluation(f"ood {t.name}", t, "eval_set") for t in self.ood_tasks if self.scores_out_of_domain(t)
        }
        return {
            "status": "ok",
            **data.describe(),
            "eval_examples": in_domain.examples,
            "metrics": in_domain.metrics,
            "majority_class": majority,
            "majority_rate": in_domain.majority_rate,
            "eval": in_domain.summary(),
            "dev": evaluation("dev", self.task, "dev_set").summary(),
            "ood": {name: e.summary() for name, e in ood.items()},
            **fields,
            "encoder_features": cache.describe(),
        }

    def classifier(self, frozen: FrozenEncoder) -> tuple[Callable, dict[str, Any]]:
        """(predict(set name, task, which set) -> class ids, the record fields saying how it was chosen): a logistic
        regression on the training subset's features, its regularisation chosen on the dev slice."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        data = frozen.sets(self.task)[0]
        train_x, dev_x = (
            frozen.text_features("train", self.task, "train_set"),
            frozen.text_features("dev", self.task, "dev_set"),
        )
        train_y, dev_y = np.asarray(data.train_set["labels"]), np.asarray(data.dev_set["labels"])

        def fitted(c: float):
            return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=self.seed)).fit(
                train_x, train_y
            )

        dev_accuracy = {c: float(fitted(c).score(dev_x, dev_y)) for c in INVERSE_REGULARISATION}
        chosen = max(INVERSE_REGULARISATION, key=lambda c: (dev_accuracy[c], -c))  # ties: the stronger regularisation
        model = fitted(chosen)

        def predict(name, task, which):
            return model.predict(frozen.text_features(name, task, which))

        return predict, {
            "inverse_regularisation": chosen,
            "text_features": "[u, v, |u − v|, u ⊙ v] of the texts encoded apart"
            if len(self.task.text_fields) == 2
            else "the text's",
            "dev_accuracy_by_inverse_regularisation": {str(c): a for c, a in dev_accuracy.items()},
        }


@dataclass(frozen=True)
class FrozenEncoder:
    """What a frozen-encoder job's classifier works from: the job's tasks' data, and the encoder with its feature
    cache."""

    job: Any
    tokenizer: Any
    accelerator: Any
    encoder: Any
    cache: Any
    loaded: dict = field(default_factory=dict)  # (task, text fields) -> TaskData

    def sets(self, task: TaskSpec, apart: bool = False) -> list:
        """The task's sets (TaskData): tokenized as the task declares, or with `apart` one per text it reads alone
        (harness.training.features.texts_apart); a task other than the job's (out of domain) has its eval set only."""
        from harness.training.features import texts_apart

        keys = {(view.name, tuple(view.text_fields)): view for view in (texts_apart(task) if apart else [task])}
        for key, view in keys.items():
            if key not in self.loaded:
                train = task.name == self.job.task.name
                self.loaded[key] = load_task_data(self.job, view, self.tokenizer, train=train)
        return [self.loaded[key] for key in keys]

    def dataset(self, task: TaskSpec, which: str):
        """One of the task's tokenized sets: `which` is train_set, dev_set or eval_set."""
        return getattr(self.sets(task)[0], which)

    def features(self, name: str, dataset):
        return self.cache.features(name, dataset).values

    def text_features(self, name: str, task: TaskSpec, which: str):
        """Pooled features of a set (`which`: train_set, dev_set or eval_set): a single text's, or for a pair,
        [u, v, |u − v|, u ⊙ v] of its two texts encoded apart (harness.training.features.sentence_features)."""
        from harness.training.features import sentence_features

        apart = [getattr(data, which) for data in self.sets(task, apart=True)]
        if len(apart) == 1:
            return self.features(name, apart[0])
        if any(texts["labels"] != self.dataset(task, which)["labels"] for texts in apart):
            raise RuntimeError(f"{task.name} {which}: its texts encoded apart are not the pairs' examples in order")
        return sentence_features([self.features(f"{name} {text}", t) for text, t in zip(task.text_fields, apart)])


ZERO_SHOT_FORMAT = 1
ZERO_SHOT_APPROACH = ApproachSpec(
    name="zero-shot",
    method="label-similarity",
    description="no training: the label whose description's embedding is nearest (cosine) to the text's",
)


@record_type("zero-shot")
class ZeroShotRecord(Record, ScoredFields, SplitFields):
    label_descriptions: list[str] = []


@dataclass(frozen=True)
class ZeroShotJob(FrozenFeaturesJob):
    """The pre-trained encoder as a zero-shot classifier: each text's pooled embedding against the embeddings of its
    task's label descriptions (tasks/<task>.yaml `label_descriptions`), nearest by cosine; a real baseline for a
    sentence-embedding checkpoint (the embedded all-MiniLM-L6-v2), at no training cost. The texts' embeddings are
    the frozen features other jobs share (harness.training.features)."""

    approach: ApproachSpec = ZERO_SHOT_APPROACH

    @property
    def name(self) -> str:
        return f"{self.task.name}-zero-shot-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        return self.frozen_identity(
            format=ZERO_SHOT_FORMAT, kind="zero-shot", label_descriptions=self.task.label_descriptions
        )

    def preflight(self) -> str | None:
        if not self.task.label_descriptions:
            return f"tasks/{self.task.name}.yaml declares no label_descriptions: no zero-shot classifier to score"
        return None

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "zero-shot", "task": self.task.name, "variant": None}

    def scores_out_of_domain(self, task: TaskSpec) -> bool:
        return bool(task.label_descriptions)

    def classifier(self, frozen: FrozenEncoder) -> tuple[Callable, dict[str, Any]]:
        """Nearest label description by cosine: nothing fitted, the descriptions said in the record."""
        import numpy as np
        from datasets import Dataset

        from harness.models.heads import pooled_features

        def unit(vectors: np.ndarray) -> np.ndarray:
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

        def described(task: TaskSpec) -> np.ndarray:
            texts = frozen.tokenizer(task.label_descriptions, truncation=True, max_length=self.max_length(task))
            rows = Dataset.from_dict(
                dict(texts) | {"labels": [0] * len(texts["input_ids"]), "length": list(map(len, texts["input_ids"]))}
            )
            with frozen.accelerator.autocast():
                pooled = pooled_features(
                    frozen.encoder,
                    rows,
                    frozen.tokenizer,
                    self.profile.eval_batch_size,
                    frozen.accelerator.device,
                    self.model.pooling,
                )
            return unit(pooled)

        descriptions = {}  # by task: the dev and eval sets share one, each out-of-domain task has its own

        def predict(name, task, which):
            if task.name not in descriptions:
                descriptions[task.name] = described(task)
            return (unit(frozen.features(name, frozen.dataset(task, which))) @ descriptions[task.name].T).argmax(axis=1)

        return predict, {"label_descriptions": self.task.label_descriptions}

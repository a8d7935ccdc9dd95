"""The frozen-feature baseline: a logistic regression (scikit-learn) on the frozen pre-trained
encoder's pooled features, the same pooling the classification head uses (harness.models.heads). Its
regularisation is chosen on the dev slice. Every approach trains more than this, so an approach below
it is marked on the leaderboard; head-only should match it (the same linear model, trained by SGD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.data import DataSource
from harness.jobs import JobBase, common_record, load_task_data, task_data_identity
from harness.models import ModelRef, build_classifier, load_tokenizer
from harness.results import store_root_of
from harness.results.record import Record, ScoredFields, SplitFields, record_type
from harness.specs import ApproachSpec, ProfileSpec, TaskSpec

BASELINE_FORMAT = 2
BASELINE_APPROACH = ApproachSpec(
    name="frozen-features",
    method="logistic-regression",
    description="logistic regression on the frozen encoder's pooled features",
)
INVERSE_REGULARISATION = (0.01, 0.1, 1.0, 10.0)  # scikit-learn's C, chosen on the dev slice


@record_type("frozen-features")
class FrozenFeaturesRecord(Record, ScoredFields, SplitFields):
    inverse_regularisation: float | None = None  # the logistic regression's C, chosen on the dev slice
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
        return {
            "format": BASELINE_FORMAT,
            "kind": "frozen-features",
            "grid": INVERSE_REGULARISATION,
            **task_data_identity(self),
            **({"precision": self.profile.training.precision} if self.profile.training.precision != "auto" else {}),
        }

    def preflight(self) -> str | None:
        return None  # the plain pre-trained encoder, no approach: it runs wherever the model loads

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "frozen-features", "task": self.task.name, "variant": None}

    def execute(self, run_dir) -> dict[str, Any]:
        import numpy as np
        from accelerate.utils import set_seed
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from harness.training.features import FeatureCache
        from harness.training.loop import make_accelerator
        from harness.training.scoring import scored

        set_seed(self.seed)
        tokenizer = load_tokenizer(self.model)
        data = load_task_data(self, self.task, tokenizer)
        accelerator = make_accelerator(self.profile.training)  # the profile's precision, as head-only's features
        encoder = build_classifier(self.model, self.task.num_labels, self.task.label_names, self.seed)
        encoder = encoder.to(accelerator.device)
        cache = FeatureCache(
            store_root_of(run_dir), self, encoder, tokenizer, accelerator, self.profile.eval_batch_size
        )

        def features(name, dataset):
            return cache.features(name, dataset).values

        train_x, dev_x, train_y, dev_y = (
            features("train", data.train_set),
            features("dev", data.dev_set),
            np.asarray(data.train_set["labels"]),
            np.asarray(data.dev_set["labels"]),
        )

        def fitted(c: float):
            return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=self.seed)).fit(
                train_x, train_y
            )

        dev_accuracy = {c: float(fitted(c).score(dev_x, dev_y)) for c in INVERSE_REGULARISATION}
        chosen = max(INVERSE_REGULARISATION, key=lambda c: (dev_accuracy[c], -c))  # ties: the stronger regularisation
        classifier = fitted(chosen)
        majority = data.majority_class

        def evaluation(name, task, dataset):
            return scored(task, np.asarray(dataset["labels"]), classifier.predict(features(name, dataset)), majority)

        in_domain = evaluation("eval", self.task, data.eval_set)
        ood = {
            t.name: evaluation(f"ood {t.name}", t, load_task_data(self, t, tokenizer, train=False).eval_set)
            for t in self.ood_tasks
        }
        return {
            "status": "ok",
            **data.describe(),
            "eval_examples": in_domain.examples,
            "metrics": in_domain.metrics,
            "majority_class": majority,
            "majority_rate": in_domain.majority_rate,
            "eval": in_domain.summary(),
            "dev": evaluation("dev", self.task, data.dev_set).summary(),
            "ood": {name: e.summary() for name, e in ood.items()},
            "inverse_regularisation": chosen,
            "dev_accuracy_by_inverse_regularisation": {str(c): a for c, a in dev_accuracy.items()},
            "encoder_features": cache.describe(),
        }


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
        return {
            "format": ZERO_SHOT_FORMAT,
            "kind": "zero-shot",
            "label_descriptions": self.task.label_descriptions,
            **task_data_identity(self),
            **({"precision": self.profile.training.precision} if self.profile.training.precision != "auto" else {}),
        }

    def preflight(self) -> str | None:
        if not self.task.label_descriptions:
            return f"tasks/{self.task.name}.yaml declares no label_descriptions: no zero-shot classifier to score"
        return None

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "zero-shot", "task": self.task.name, "variant": None}

    def execute(self, run_dir) -> dict[str, Any]:
        import numpy as np
        from accelerate.utils import set_seed
        from datasets import Dataset

        from harness.models.heads import pooled_features
        from harness.training.features import FeatureCache
        from harness.training.loop import make_accelerator
        from harness.training.scoring import scored

        set_seed(self.seed)
        tokenizer = load_tokenizer(self.model)
        data = load_task_data(self, self.task, tokenizer)
        accelerator = make_accelerator(self.profile.training)
        encoder = build_classifier(self.model, self.task.num_labels, self.task.label_names, self.seed)
        encoder = encoder.to(accelerator.device)
        batch_size = self.profile.eval_batch_size
        cache = FeatureCache(store_root_of(run_dir), self, encoder, tokenizer, accelerator, batch_size)

        def unit(vectors: np.ndarray) -> np.ndarray:
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

        def described(task: TaskSpec) -> np.ndarray:
            texts = tokenizer(task.label_descriptions, truncation=True, max_length=self.max_length(task))
            rows = Dataset.from_dict(
                dict(texts) | {"labels": [0] * len(texts["input_ids"]), "length": list(map(len, texts["input_ids"]))}
            )
            with accelerator.autocast():
                return unit(
                    pooled_features(encoder, rows, tokenizer, batch_size, accelerator.device, self.model.pooling)
                )

        majority = data.majority_class

        def evaluation(name, task, dataset):
            similarity = unit(cache.features(name, dataset).values) @ described(task).T
            return scored(task, np.asarray(dataset["labels"]), similarity.argmax(axis=1), majority)

        in_domain = evaluation("eval", self.task, data.eval_set)
        ood = {
            t.name: evaluation(f"ood {t.name}", t, load_task_data(self, t, tokenizer, train=False).eval_set)
            for t in self.ood_tasks
            if t.label_descriptions
        }
        return {
            "status": "ok",
            **data.describe(),
            "eval_examples": in_domain.examples,
            "metrics": in_domain.metrics,
            "majority_class": majority,
            "majority_rate": in_domain.majority_rate,
            "eval": in_domain.summary(),
            "dev": evaluation("dev", self.task, data.dev_set).summary(),
            "ood": {name: e.summary() for name, e in ood.items()},
            "label_descriptions": self.task.label_descriptions,
            "encoder_features": cache.describe(),
        }

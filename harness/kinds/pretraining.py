"""Continued pre-training: masked-language-model training on unlabelled in-domain text (IMDB
reviews, labels dropped) before task fine-tuning, against the same fine-tuning without it.

The MLM stage is a job of its own (`MLMStageJob`, kind `mlm-stage`): one per model, profile and seed, shared by every
approach fine-tuned after it (the engine runs it once, first). The embedded MiniLM checkpoint has no MLM head
(sentence-transformers dropped it): a fresh one is initialised and trained along, and the record says so. The adapted
encoder is saved in the stage's run directory; each approach's job fine-tunes it as the ordinary single-task job would
the plain encoder, and quotes the stage's record.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field

from harness.data import DataSource, load_examples
from harness.errors import DataError, HarnessError, SpecError
from harness.jobs import DerivedJob, Job, JobBase, SingleTaskRecord, common_record, measured_training
from harness.jobs import execute as fine_tune
from harness.kinds import SuiteKind, register
from harness.models import TINY_CONFIGS, ModelRef, load_tokenizer, save_encoder
from harness.report.marks import Differences, in_domain
from harness.report.tables import BoardContext, grouped, mean_std, table
from harness.results import ResultStore, store_root_of
from harness.results.record import Record, TrainingCost, record_type
from harness.specs import (
    NAME_PATTERN,
    ApproachSpec,
    ProfileSpec,
    Spec,
    TaskSpec,
    TrainingSettings,
    check_known,
    load_spec,
)

CPT_FORMAT = 4  # 4: the MLM stage a job of its own, at the run's precision
ADAPTED_ENCODER = "adapted-encoder"  # in the stage's run directory
# What the stage trains (the whole encoder and the MLM head): an approach of its own on the board's runs, checked like
# full fine-tuning before it runs (harness.jobs.JobBase.preflight).
MLM_TRAINING = ApproachSpec(name="masked-lm", method="full", description="masked-language-model training")


class CorpusSpec(Spec):
    task: str = Field(description="a task whose text (its first text field) is the unlabelled corpus")
    split: str = Field(description="split expression, e.g. 'train'")
    examples: int = Field(ge=1)


class MLMSpec(Spec):
    epochs: int = Field(default=1, ge=1, description="at most; the stop rule may end training sooner")
    batch_size: int = Field(default=32, ge=1)
    learning_rate: float = Field(default=5e-5, gt=0)
    mask_probability: float = Field(default=0.15, gt=0, lt=1)
    max_length: int = Field(default=128, ge=8)
    held_out_examples: int = Field(
        default=200, ge=8, description="corpus texts kept out of training, on which the MLM loss is measured"
    )
    min_improvement: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description="stop rule: training ends after the first epoch that lowers the held-out loss by less than this "
        "share of its value before the epoch",
    )


class PretrainingSuiteSpec(Spec):
    kind: Literal["continued-pretraining"]
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    corpus: CorpusSpec
    mlm: MLMSpec = MLMSpec()
    tasks: list[str] = Field(min_length=1)
    approaches: list[str] = Field(min_length=1)


def load_pretraining_suite(path: Path, tasks: dict[str, TaskSpec], approaches) -> PretrainingSuiteSpec:
    suite = load_spec(PretrainingSuiteSpec, path)
    where = f"{path.parent.name}/{path.name}"
    if suite.corpus.task not in tasks:
        raise SpecError(f"{where}: field 'corpus.task': unknown task '{suite.corpus.task}'")
    check_known(where, "tasks", suite.tasks, {n: t for n, t in tasks.items() if t.trainable})
    check_known(where, "approaches", suite.approaches, approaches)
    return suite


class MaskedLanguageModelling(TrainingCost):
    """The continued pre-training stage: its corpus, its training cost, which weights started untrained, and the MLM
    loss on held-out corpus texts (the same masks each time) before training and after each epoch it ran."""

    examples: int
    corpus_split: str
    initialised_weights: list[str]
    held_out_examples: int | None = None
    held_out_loss: list[float] = []  # before, then after each epoch
    stopped: str | None = None  # why training ended: the stop rule, or the epochs the suite allows


@record_type("mlm-stage")
class MLMStageRecord(Record):
    mlm: MaskedLanguageModelling | None = None


@record_type("continued-pretraining")
class ContinuedPretrainingRecord(SingleTaskRecord):
    """The fine-tuning of the adapted encoder (a single-task record's fields), with its MLM stage's record quoted."""

    baseline: str | None = None  # the config hash of the same fine-tuning from the plain encoder
    mlm: MaskedLanguageModelling | None = None


@dataclass(frozen=True)
class MLMStageJob(JobBase):
    """Masked-language-model training of the encoder on the suite's corpus, at the run's precision. Nothing of an
    approach shapes it: one stage per model, profile and seed serves every approach fine-tuned after it."""

    suite: PretrainingSuiteSpec
    corpus_task: TaskSpec
    model: ModelRef
    profile: ProfileSpec
    seed: int
    source: DataSource
    approach: ApproachSpec = MLM_TRAINING

    @property
    def name(self) -> str:
        return f"{self.suite.name}-mlm-{self.corpus_task.name}-seed{self.seed}"

    @property
    def settings(self) -> TrainingSettings:
        mlm = self.suite.mlm
        return TrainingSettings(
            epochs=mlm.epochs,
            batch_size=mlm.batch_size,
            learning_rate=mlm.learning_rate,
            precision=self.profile.training.precision,
        )

    @property
    def examples(self) -> int:
        """The profile scales the corpus like the task data: its example cap (not a task's override) applies."""
        return min(self.suite.corpus.examples, self.profile.train_examples or self.suite.corpus.examples)

    @property
    def text_length(self) -> int:
        return min(self.suite.mlm.max_length, self.profile.max_length or self.suite.mlm.max_length)

    def identity(self) -> dict[str, Any]:
        return {
            "format": CPT_FORMAT,
            "model": self.model_identity(),
            "corpus": self.suite.corpus.model_dump(),
            "corpus_task": self.corpus_task.model_dump(exclude={"prefix"}),
            "mlm": self.suite.mlm.model_dump(),
            "examples": self.examples,
            "max_length": self.text_length,
            "precision": self.settings.precision,
            "seed": self.seed,
            "data_source": self.source.describe(),
        }

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {"kind": "mlm-stage", "task": self.corpus_task.name, "variant": None}

    def execute(self, run_dir: Path) -> dict[str, Any]:
        return train_mlm_stage(self, run_dir)


@dataclass(frozen=True)
class PretrainingJob(DerivedJob):
    fine_tuning: Job  # the single-task job it is compared with, run again on the adapted encoder
    stage: MLMStageJob

    @property
    def origin(self) -> Job:
        return self.fine_tuning

    @property
    def name(self) -> str:
        steps = f"{self.stage.suite.name}-{self.stage.corpus_task.name}-then-{self.fine_tuning.task.name}"
        return f"{steps}-{self.approach.name}-seed{self.seed}"

    def dependencies(self) -> tuple:
        return (self.stage,)

    def identity(self) -> dict[str, Any]:
        return {"format": CPT_FORMAT, "fine_tuning": self.fine_tuning.config_hash, "mlm_stage": self.stage.config_hash}

    def base_record(self) -> dict[str, Any]:
        return common_record(self) | {
            "kind": "continued-pretraining",
            "task": self.fine_tuning.task.name,
            "variant": self.stage.corpus_task.name,
            "baseline": self.fine_tuning.config_hash,
        }

    def execute(self, run_dir: Path) -> dict[str, Any]:
        store = ResultStore(store_root_of(run_dir))
        stage = store.load(self.stage.config_hash)
        if stage is None or not stage.ok:
            raise HarnessError(f"{self.name}: its MLM stage {self.stage.name} has no successful record in {store.root}")
        adapted = ModelRef(
            name=f"{self.model.name}+mlm-{self.stage.corpus_task.name}",
            location=str(store.run_dir(self.stage.config_hash) / ADAPTED_ENCODER),
            kind="local",
            pooling=self.model.pooling,
        )
        return fine_tune(replace(self.fine_tuning, model=adapted), run_dir) | {"mlm": stage.mlm}


def load_masked_lm(ref: ModelRef, seed: int):
    """The encoder with an MLM head; returns the model and the head weights the checkpoint lacked."""
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM

    torch.manual_seed(seed)
    if ref.kind == "tiny":
        settings = dict(TINY_CONFIGS[ref.name])
        tokenizer = load_tokenizer(ref)
        config = AutoConfig.for_model(
            settings.pop("model_type"), vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **settings
        )
        return AutoModelForMaskedLM.from_config(config), ["all (random tiny model)"]
    model, info = AutoModelForMaskedLM.from_pretrained(ref.location, output_loading_info=True)
    return model, sorted(info["missing_keys"])


def masked_positions_only(masked_lm):
    """`masked_lm` for training: it projects onto the vocabulary only the masked positions, the ~15 % whose
    labels count. transformers' *ForMaskedLM projects every position (with MiniLM's 30k words, as much work as
    the encoder) and ignores the rest in its loss. Same loss; the model comes back whole with `.restored()`."""
    import torch
    from transformers.modeling_outputs import MaskedLMOutput

    class Deferred(torch.nn.Identity):
        bias = None  # BERT's set_output_embeddings reads the projection's bias

    class MaskedPositionsOnly(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.projection = masked_lm.get_output_embeddings()
            masked_lm.set_output_embeddings(Deferred())
            self.masked_lm = masked_lm

        def forward(self, labels, **inputs):
            states = self.masked_lm(**inputs).logits  # each token through the head's transform, not yet projected
            counted = labels != -100
            return MaskedLMOutput(
                loss=torch.nn.functional.cross_entropy(self.projection(states[counted]), labels[counted])
            )

        def restored(self):
            self.masked_lm.set_output_embeddings(self.projection)
            return self.masked_lm

    return MaskedPositionsOnly()


def masked_batches(texts, tokenizer, collate, batch_size: int) -> list:
    """`texts` masked once, with a fixed seed: the same masked positions at every measurement."""
    import torch

    from harness.training.loop import task_loader

    with torch.random.fork_rng():
        torch.manual_seed(0)
        return list(task_loader(texts, tokenizer, batch_size, 0, collate))


class HeldOutLoss:
    """The mean MLM loss per masked token of `training` (masked_positions_only) on fixed masked batches, measured in
    evaluation mode (no dropout) under the run's precision."""

    def __init__(self, training, batches: list, accelerator):
        self.training, self.batches, self.accelerator = training, batches, accelerator

    def __call__(self) -> float:
        import torch

        was_training = self.training.training
        self.training.eval()
        total, tokens = 0.0, 0
        with torch.no_grad(), self.accelerator.autocast():
            for batch in self.batches:
                batch = {name: value.to(self.accelerator.device) for name, value in batch.items()}
                counted = int((batch["labels"] != -100).sum())
                total += float(self.training(**batch).loss) * counted
                tokens += counted
        self.training.train(was_training)
        return total / tokens


class StopWhenStalled:
    """The stop rule, as TaskBatches' `stop_after`: the held-out loss is measured before training and as each epoch
    ends, and training ends after the first epoch that lowers it by less than `min_improvement` of its value before
    the epoch. `losses`: before training, then after each epoch run; `stopped`: why training ended."""

    def __init__(self, held_out_loss: HeldOutLoss, min_improvement: float, epochs: int):
        self.held_out_loss, self.min_improvement, self.epochs = held_out_loss, min_improvement, epochs
        self.losses = [held_out_loss()]
        self.stopped: str | None = None

    def __call__(self, epoch: int) -> bool:
        self.losses.append(self.held_out_loss())
        before, after = self.losses[-2:]
        if before - after < self.min_improvement * before:
            self.stopped = (
                f"stop rule after epoch {epoch}: held-out loss {before:.3f} → {after:.3f}, less than "
                f"{self.min_improvement:.0%} lower"
            )
            return True
        if epoch == self.epochs:
            self.stopped = f"the {self.epochs} epochs allowed"
        return False


def train_mlm_stage(job: MLMStageJob, run_dir: Path) -> dict[str, Any]:
    from accelerate.utils import set_seed
    from transformers import DataCollatorForLanguageModeling

    from harness.training.loop import TaskBatches, make_accelerator, train

    set_seed(job.seed)
    tokenizer = load_tokenizer(job.model)
    column = job.corpus_task.text_fields[0]
    mlm, settings = job.suite.mlm, job.settings
    corpus = load_examples(job.corpus_task, job.source, job.suite.corpus.split, job.examples + mlm.held_out_examples)

    def encode(batch):
        encoded = tokenizer(batch[column], truncation=True, max_length=job.text_length)
        encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
        return encoded

    texts = corpus.map(encode, batched=True, remove_columns=corpus.column_names, desc="tokenizing corpus")
    if len(texts) <= mlm.held_out_examples:
        raise DataError(
            f"suites: field 'mlm.held_out_examples': {mlm.held_out_examples} held-out texts leave none of the "
            f"{len(texts)} in {job.corpus_task.name}'s '{job.suite.corpus.split}' to train on"
        )
    held_out = texts.select(range(len(texts) - mlm.held_out_examples, len(texts)))
    texts = texts.select(range(len(texts) - mlm.held_out_examples))
    model, initialised = load_masked_lm(job.model, job.seed)
    collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm.mask_probability)
    accelerator = make_accelerator(settings)
    with measured_training() as measured:
        training = masked_positions_only(model).to(accelerator.device)
        held_out_loss = HeldOutLoss(training, masked_batches(held_out, tokenizer, collate, mlm.batch_size), accelerator)
        stop_rule = StopWhenStalled(held_out_loss, mlm.min_improvement, settings.epochs)
        batches = TaskBatches(texts, tokenizer, settings, job.seed, collate, stop_after=stop_rule)
        measured.stats = train(training, batches, settings, accelerator, desc=job.name)
    # The reference batch: the first texts, masked, padded to the stage's length (the longest batch it can train on).
    padded = DataCollatorForLanguageModeling(
        tokenizer, mlm_probability=mlm.mask_probability, pad_to_multiple_of=job.text_length
    )
    first = texts.select(range(min(mlm.batch_size, len(texts))))
    measured.measure_components(training, masked_batches(first, tokenizer, padded, mlm.batch_size)[0], accelerator)
    model = training.restored()
    encoder_dir = run_dir / ADAPTED_ENCODER
    save_encoder(job.model, model, encoder_dir, job.seed)
    tokenizer.save_pretrained(encoder_dir)
    return {
        "status": "ok",
        "mlm": MaskedLanguageModelling(
            examples=len(texts),
            corpus_split=job.suite.corpus.split,
            initialised_weights=initialised,
            held_out_examples=len(held_out),
            held_out_loss=stop_rule.losses,
            stopped=stop_rule.stopped,
            **measured.fields(),
        ),
    }


def pretraining_jobs(
    suite: PretrainingSuiteSpec, single_task: list[Job], tasks: dict[str, TaskSpec]
) -> list[PretrainingJob]:
    def stage(job: Job) -> MLMStageJob:  # equal for every approach at a seed: the plan runs it once
        return MLMStageJob(
            suite=suite,
            corpus_task=tasks[suite.corpus.task],
            model=job.model,
            profile=job.profile,
            seed=job.seed,
            source=job.source,
        )

    return [
        PretrainingJob(fine_tuning=job, stage=stage(job))
        for job in single_task
        if job.task.name in suite.tasks and job.approach.name in suite.approaches
    ]


def held_out_loss(runs) -> str:
    measured = [r.mlm.held_out_loss for r in runs if r.mlm.held_out_loss]
    if not measured:
        return "not measured"
    before, after = (statistics.fmean(losses[index] for losses in measured) for index in (0, -1))
    epochs = sorted({len(losses) - 1 for losses in measured})
    return f"{before:.2f} → {after:.2f} (epochs run: {'/'.join(map(str, epochs))})"


def mlm_training_memory(runs) -> str:
    totals = [r.mlm.training_memory.total for r in runs if r.mlm.training_memory]
    return f"{statistics.fmean(totals) / 2**20:,.0f}" if totals else "not measured"


def leaderboard_section(adapted: pd.DataFrame, board: BoardContext) -> list[str]:
    single = board.single
    rows, differences = [], Differences()  # with minus without, paired on the same seeds and examples
    for (approach, corpus, task), runs in grouped(adapted, ["approach", "variant", "task"]).items():
        baseline = {r.config_hash: r for r in single.get((task, approach), [])}
        pairs = [(r, baseline[r.baseline]) for r in runs if r.baseline in baseline]
        row = [approach, f"MLM on {corpus} ({runs[0].mlm.examples} texts) → {task}"]
        differences.add((approach, corpus, task, None), runs, in_domain, [b for _, b in pairs], in_domain)
        row.append(
            (
                f"{mean_std([b.eval.accuracy for _, b in pairs])} → {mean_std([r.eval.accuracy for r, _ in pairs])} "
                "(Δ {})",
                (approach, corpus, task, None),
            )
        )
        for target in sorted(runs[0].ood):
            key = (approach, corpus, task, target)

            def on_target(record, target=target):
                return record.ood[target]

            differences.add(key, runs, on_target, [b for _, b in pairs], on_target)
            row.append(
                (
                    f"{target}: {mean_std([b.ood[target].accuracy for _, b in pairs])} → "
                    f"{mean_std([r.ood[target].accuracy for r, _ in pairs])} (Δ {{}})",
                    key,
                )
            )
        rows.append(
            row
            + [
                held_out_loss(runs),
                f"{statistics.fmean(r.mlm.train_seconds for r in runs):.1f}",
                mlm_training_memory(runs),
                ", ".join(runs[0].mlm.initialised_weights[:2]),
            ]
        )
    deltas = differences.texts()
    rows = [[cell[0].format(deltas[cell[1]]) if isinstance(cell, tuple) else cell for cell in row] for row in rows]
    return [
        "## Continued pre-training",
        "",
        "Accuracy (%) without → with masked-language-model pre-training on the unlabelled corpus before fine-tuning; "
        "same approach, profile and seed; Δ with minus without on the same seeds and examples, with its 95 % paired "
        "bootstrap interval (▲ ▼ where significant after Benjamini–Hochberg over the table, on at least 3 seeds). "
        "Held-out MLM loss: per masked token on corpus texts kept out of MLM training (the same masks each time), "
        "before → after, mean over seeds, with the epochs run (the stop rule ends training after the first epoch that "
        "lowers it by less than the suite's `min_improvement`). One MLM stage per seed serves every approach; its "
        "train s includes the measurements after each epoch, and its training memory is the component sum (weights, "
        "gradients, optimizer state, activations saved on its reference batch), as in the cost table. "
        "Initialised: MLM-head weights the checkpoint lacked and that started random.",
        "",
        table(
            rows,
            headers=[
                "approach",
                "pipeline",
                "in-domain",
                "out-of-domain",
                "held-out MLM loss",
                "MLM train s",
                "MLM training MiB",
                "initialised",
            ],
        ),
        "",
    ]


register(
    SuiteKind(
        name="continued-pretraining",
        fixture="pretraining",
        load=load_pretraining_suite,
        jobs=lambda suite, session: pretraining_jobs(suite, session.single_task_jobs(), session.tasks),
        needs=lambda job: (job, job.fine_tuning),
        leaderboard=leaderboard_section,
    )
)

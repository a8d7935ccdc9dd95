"""Frozen work done once (harness.training.features): head-only trains and is scored on the frozen encoder's pooled
outputs, computed once per model, seed and examples and shared with the frozen-feature baseline through the store;
the head it trains is the model's own, so the saved model, run whole, predicts what the record says."""

from dataclasses import replace

import numpy as np
import pytest

from harness import jobs
from harness.engine import run
from harness.jobs.baselines import FrozenFeaturesJob
from harness.models import load_tokenizer, resolve_model
from harness.results import ResultStore
from harness.results.checks import correct
from harness.specs.catalog import load_approaches, load_profile
from harness.training.checkpoints import restore
from harness.training.scoring import score


@pytest.fixture
def head_only(mirror, sst2_spec):
    profile = load_profile("tiny").model_copy(
        update={"train_examples": 96, "eval_examples": 48, "dev_examples": 32, "task_overrides": {}}
    )
    return jobs.Job(
        task=sst2_spec,
        ood_tasks=(),
        approach=load_approaches().specs["head-only"],
        model=resolve_model("tiny-distilbert"),
        profile=profile,
        seed=1,
        source=mirror,
    )


def test_head_only_trains_on_features_the_baseline_then_reads_from_the_store(head_only, tmp_path):
    store = ResultStore(tmp_path)
    (record,) = run([head_only], store)
    assert record.ok, record.failure
    assert set(record.encoder_features) == {"train", "dev", "eval"}
    assert all(said.startswith("computed") for said in record.encoder_features.values())
    assert record.config["encoder"] == "frozen: cached pooled features" and record.train_steps > 0

    baseline = FrozenFeaturesJob(
        task=head_only.task,
        ood_tasks=(),
        model=head_only.model,
        profile=head_only.profile,
        seed=head_only.seed,
        source=head_only.source,
    )
    (from_store,) = run([baseline], store)
    assert from_store.ok, from_store.failure
    assert all(said.startswith("read from the store") for said in from_store.encoder_features.values())
    assert from_store.eval.examples == record.eval.examples

    # The saved head, run with its encoder on the tokens, makes the predictions the record kept.
    model = restore(head_only, store.run_dir(head_only.config_hash))
    tokenizer = load_tokenizer(head_only.model)
    data = jobs.load_task_data(head_only, head_only.task, tokenizer)
    whole = score(model, data.eval_set, tokenizer, head_only.task, 16, "cpu", record.majority_class).summary()
    assert np.array_equal(correct(whole), correct(record.eval))


def test_a_head_only_job_of_another_seed_on_a_pretrained_encoder_shares_the_evaluation_features(head_only):
    from harness.training.features import FeatureCache
    from harness.training.loop import make_accelerator

    CPU = make_accelerator()  # noqa: N806

    pretrained = resolve_model("minilm")
    one = FeatureCache("/nonexistent", replace(head_only, model=pretrained), None, None, CPU, 8)
    other = FeatureCache("/nonexistent", replace(head_only, model=pretrained, seed=2), None, None, CPU, 8)
    examples = {"input_ids": [[101, 2000, 102], [101, 102]]}
    assert one.key(examples) == other.key(examples)  # the pre-trained encoder does not depend on the seed
    tiny = FeatureCache("/nonexistent", replace(head_only, seed=2), None, None, CPU, 8)
    assert FeatureCache("/nonexistent", head_only, None, None, CPU, 8).key(examples) != tiny.key(examples)
    assert one.key(examples) != one.key({"input_ids": [[101, 2001, 102], [101, 102]]})


def test_the_baseline_reads_a_pair_as_its_two_texts_encoded_apart(head_only, mnli_spec, tmp_path):
    from harness.jobs.baselines import FrozenEncoder
    from harness.models import build_classifier
    from harness.training.features import FeatureCache
    from harness.training.loop import make_accelerator

    baseline = FrozenFeaturesJob(
        task=mnli_spec,
        ood_tasks=(),
        model=head_only.model,
        profile=head_only.profile,
        seed=head_only.seed,
        source=head_only.source,
    )
    (record,) = run([baseline], ResultStore(tmp_path))
    assert record.ok, record.failure
    assert record.text_features.startswith("[u, v, |u − v|, u ⊙ v]")
    assert {"train premise", "train hypothesis", "eval premise", "eval hypothesis"} <= set(record.encoder_features)

    tokenizer = load_tokenizer(baseline.model)
    encoder = build_classifier(baseline.model, mnli_spec.num_labels, mnli_spec.label_names, baseline.seed)
    cache = FeatureCache(tmp_path, baseline, encoder, tokenizer, make_accelerator(), 16)
    frozen = FrozenEncoder(baseline, tokenizer, make_accelerator(), encoder, cache)
    pair = frozen.text_features("dev", mnli_spec, "dev_set")
    premises, hypotheses = (frozen.features("alone", data.dev_set) for data in frozen.sets(mnli_spec, apart=True))
    assert np.allclose(pair, np.hstack([premises, hypotheses, np.abs(premises - hypotheses), premises * hypotheses]))
    joint = frozen.dataset(mnli_spec, "dev_set")
    for data in frozen.sets(mnli_spec, apart=True):  # the same examples in the same order, each text alone
        assert data.dev_set["labels"] == joint["labels"] and data.dev_set["input_ids"] != joint["input_ids"]

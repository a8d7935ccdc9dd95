"""Knowledge probes: the word-content probing set, and a probe of a multi-task model restored from its
saved state."""

from types import SimpleNamespace

import numpy as np
import pytest

from harness.kinds.multitask import load_suite, multitask_jobs
from harness.kinds.probe import (
    ProbeJob,
    ProbeSuiteSpec,
    WordContentProbe,
    WordContentSpec,
    bare,
    probe_jobs,
)
from harness.models import resolve_model
from harness.specs.catalog import load_approaches, load_profile, load_tasks

TASKS = load_tasks().specs
APPROACHES = load_approaches().specs


def test_word_content_set_is_fixed_balanced_and_labelled_with_the_one_word_it_contains(mirror):
    spec = WordContentSpec(task="imdb", split="train", words=12, targets=5, skip_most_frequent=100)
    job = SimpleNamespace(source=mirror, suite=SimpleNamespace(train_examples=300, eval_examples=100))
    probe = WordContentProbe(spec, TASKS["imdb"])
    rows, targets = probe.examples(job)
    assert (rows, targets) == probe.examples(job)  # every model is probed on the same data
    assert len(targets) == 5 and len(rows["text"]) == 400 and np.bincount(rows["target"]).tolist() == [80] * 5
    for text, label in zip(rows["text"], rows["target"]):
        vocabulary = {bare(w) for w in text.split()}
        assert len(text.split()) <= 12 and [t for t in targets if t in vocabulary] == [targets[label]]


def test_word_content_probe_covers_single_and_multitask_models(tmp_path, mirror):
    suite = ProbeSuiteSpec(
        kind="probe", name="knowledge", probes={"sst2": "mnli"}, word_content=WordContentSpec(task="imdb")
    )
    profile = load_profile("tiny")
    mix = load_suite_text(
        tmp_path, "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: uniform}]\napproaches: [full]\n"
    )
    multitask = multitask_jobs(mix, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    from harness.jobs import Job

    single = [
        Job(
            task=TASKS[name],
            ood_tasks=(),
            approach=APPROACHES["lora"],
            model=resolve_model("tiny-bert"),
            profile=profile,
            seed=0,
            source=mirror,
        )
        for name in ("sst2", "rte")
    ]
    jobs = probe_jobs(suite, single, multitask, TASKS)
    assert sorted(job.name for job in jobs) == [
        "knowledge-mix-uniform-full-seed0-probed-on-word-content",
        "knowledge-rte-lora-seed0-probed-on-word-content",
        "knowledge-sst2-lora-seed0-probed-on-mnli",
        "knowledge-sst2-lora-seed0-probed-on-word-content",
    ]


def load_suite_text(tmp_path, text):
    path = tmp_path / "mix.yaml"
    path.write_text(text)
    return load_suite(path, TASKS, APPROACHES)


@pytest.mark.parametrize("approach", ["full", "lora"])
def test_multitask_model_is_restored_and_probed(tmp_path, mirror, approach):
    from harness.engine import run
    from harness.results import ResultStore
    from harness.training.checkpoints import restore

    mix = load_suite_text(
        tmp_path,
        f"kind: multitask\nname: mix\ntasks: [sst2, mnli]\nsamplers: [{{name: uniform}}]\napproaches: [{approach}]\n",
    )
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "eval_examples": 32, "task_overrides": {}})
    (trained,) = multitask_jobs(mix, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    store = ResultStore(tmp_path / "store")
    assert run([trained], store)[0].status == "ok"
    restored = restore(trained, store.run_dir(trained.config_hash))  # raises if a saved tensor has no place
    assert restored.config.num_labels == 2 + 3

    suite = ProbeSuiteSpec(
        kind="probe",
        name="knowledge",
        probes={},
        word_content=WordContentSpec(task="imdb", words=16, targets=4),
        train_examples=60,
        eval_examples=40,
    )
    (probe,) = probe_jobs(suite, [], [trained], TASKS)
    assert isinstance(probe, ProbeJob)
    (record,) = run([probe], store)  # trains the shared 'before' baseline job first
    assert record.status == "ok", record.failure
    assert record.task == "sst2+mnli (uniform)" and record.probe_task == "word-content"
    assert record.probe_examples.model_dump() == {"train": 60, "eval": 40}
    assert record.knowledge_lost == pytest.approx(record.probe_before - record.probe_after)


def test_a_pair_task_is_probed_on_its_two_texts_encoded_apart(tmp_path):
    import json

    from harness.kinds.probe import PROBE_SET_FILE, TaskProbe, probe_datasets, probe_evaluation
    from harness.models import build_classifier, load_tokenizer

    mnli, sst2 = TASKS["mnli"], TASKS["sst2"]
    assert TaskProbe(mnli).identity()["texts"] == "apart" and "texts" not in TaskProbe(sst2).identity()
    pairs = {"premise": ["A man sleeps.", "Two dogs run."] * 4, "hypothesis": ["He rests.", "Cats fly."] * 4}
    rows = pairs | {"label": [0, 2] * 4}
    (tmp_path / PROBE_SET_FILE).write_text(json.dumps({"train": rows, "eval": rows, "task": mnli.model_dump()}))
    model = resolve_model("tiny-bert")
    tokenizer = load_tokenizer(model)
    train, evaluation = probe_datasets(SimpleNamespace(max_length=lambda task: 32), tmp_path, tokenizer)
    assert len(train) == len(evaluation) == 2  # the premises, then the hypotheses, each tokenized alone
    assert train[0]["input_ids"][0] == tokenizer("A man sleeps.")["input_ids"]
    assert train[1]["input_ids"][0] == tokenizer("He rests.")["input_ids"]
    encoder = build_classifier(model, 3, mnli.label_names, seed=0)
    scored = probe_evaluation(encoder, train, evaluation, tokenizer, 4, "cpu", seed=0)
    assert scored.examples == 8 and scored.accuracy == 1.0  # two distinct pairs, fitted and scored on the same rows

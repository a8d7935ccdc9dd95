"""Knowledge probes: the word-order probing set, and a probe of a multi-task model restored from its
saved state."""

from types import SimpleNamespace

import numpy as np
import pytest

from harness.models import resolve_model
from harness.multitask import load_suite, multitask_jobs
from harness.probe import (
    ProbeJob,
    ProbeSuiteSpec,
    WordOrderProbe,
    WordOrderSpec,
    probe_jobs,
    shift_bigram,
)
from harness.registry import load_approaches, load_profile, load_tasks

TASKS = load_tasks().specs
APPROACHES = load_approaches().specs


def test_bigram_shift_swaps_exactly_one_adjacent_pair_of_different_words():
    rng = np.random.default_rng(0)
    words = "the film is not as good as the book says".split()
    for _ in range(50):
        shifted = shift_bigram(words, rng)
        changed = [i for i, (a, b) in enumerate(zip(words, shifted)) if a != b]
        assert len(changed) == 2 and changed[1] == changed[0] + 1
        assert shifted[changed[0]] == words[changed[1]] and shifted[changed[1]] == words[changed[0]]
    assert shift_bigram(["very", "very", "very"], rng) is None


def test_word_order_set_is_fixed_balanced_and_cut_to_length(mirror):
    spec = WordOrderSpec(task="imdb", split="train", words=12)
    job = SimpleNamespace(source=mirror, suite=SimpleNamespace(train_examples=300, eval_examples=100))
    probe = WordOrderProbe(spec, TASKS["imdb"])
    rows = probe.examples(job)
    assert rows == probe.examples(job)  # every model is probed on the same data
    assert len(rows["text"]) == 400 and 0.4 < np.mean(rows["shifted"]) < 0.6
    assert all(len(text.split()) <= 12 and "<br" not in text for text in rows["text"])


def test_word_order_probe_covers_single_and_multitask_models(tmp_path, mirror):
    suite = ProbeSuiteSpec(kind="probe", name="knowledge", probes={"sst2": "mnli"},
                           word_order=WordOrderSpec(task="imdb"))
    profile = load_profile("tiny")
    mix = load_suite_text(tmp_path, "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: uniform}]\napproaches: [full]\n")
    multitask = multitask_jobs(mix, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    from harness.jobs import Job

    single = [Job(task=TASKS[name], ood_tasks=(), approach=APPROACHES["lora"], model=resolve_model("tiny-bert"),
                  profile=profile, seed=0, source=mirror) for name in ("sst2", "rte")]
    jobs = probe_jobs(suite, single, multitask, TASKS)
    assert sorted(job.name for job in jobs) == [
        "knowledge-mix-uniform-full-seed0-probed-on-word-order",
        "knowledge-rte-lora-seed0-probed-on-word-order",
        "knowledge-sst2-lora-seed0-probed-on-mnli",
        "knowledge-sst2-lora-seed0-probed-on-word-order",
    ]


def load_suite_text(tmp_path, text):
    path = tmp_path / "mix.yaml"
    path.write_text(text)
    return load_suite(path, TASKS, APPROACHES)


@pytest.mark.parametrize("approach", ["full", "lora"])
def test_multitask_model_is_restored_and_probed(tmp_path, mirror, approach):
    from harness import jobs
    from harness.results import ResultStore

    mix = load_suite_text(tmp_path, f"kind: multitask\nname: mix\ntasks: [sst2, mnli]\nsamplers: [{{name: uniform}}]\napproaches: [{approach}]\n")
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "eval_examples": 32})
    (trained,) = multitask_jobs(mix, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    store = ResultStore(tmp_path / "store")
    assert jobs.run(trained, store)["status"] == "ok"
    restored = jobs.restore(trained, store.run_dir(trained.config_hash))  # raises if a saved tensor has no place
    assert restored.config.num_labels == 2 + 3

    suite = ProbeSuiteSpec(kind="probe", name="knowledge", probes={}, word_order=WordOrderSpec(task="imdb", words=16),
                           train_examples=60, eval_examples=40)
    (probe,) = probe_jobs(suite, [], [trained], TASKS)
    assert isinstance(probe, ProbeJob)
    record = jobs.run(probe, store)
    assert record["status"] == "ok", record.get("failure")
    assert record["task"] == "sst2+mnli (uniform)" and record["probe_task"] == "word-order"
    assert record["probe_examples"] == {"train": 60, "eval": 40}
    assert record["knowledge_lost"] == pytest.approx(record["probe_before"] - record["probe_after"])

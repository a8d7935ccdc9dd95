"""Sweeps: one job per value, scored on the dev slice only, summarised into the value chosen."""

from dataclasses import replace

from record_factory import make_evaluation, make_record

from harness import jobs
from harness.engine import run
from harness.jobs import sweep
from harness.models import resolve_model
from harness.results import ResultStore
from harness.specs.catalog import load_approaches, load_profile


def test_sweep_scores_the_dev_slice_only_and_chooses_the_best_value(mirror, sst2_spec, tmp_path):
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "dev_examples": 32, "task_overrides": {}})
    base = jobs.Job(
        task=sst2_spec,
        ood_tasks=(),
        approach=load_approaches().specs["head-only"],
        model=resolve_model("tiny-bert"),
        profile=profile,
        seed=0,
        source=mirror,
    )
    sweep_jobs = [sweep.sweep_job(replace(base, seed=0), "head_learning_rate", value) for value in ("1e-6", "1e-2")]
    assert (
        sweep_jobs[0].training.head_learning_rate == 1e-6
        and len({job.config_hash for job in sweep_jobs} | {base.config_hash}) == 3
    )
    records = run(sweep_jobs, ResultStore(tmp_path))
    assert all(r.status == "ok" for r in records), [r.failure for r in records]
    assert all(r.kind == "sweep" and r.dev.examples == 32 for r in records)
    assert all(r.eval is None and not r.metrics and not r.ood for r in records), "a sweep never sees the eval split"
    summary = sweep.summarise(sweep_jobs, records)
    dev = {job.value: r.dev.accuracy for job, r in zip(sweep_jobs, records)}
    assert summary["dev_accuracy"] == {value: round(accuracy, 4) for value, accuracy in dev.items()}
    assert summary["chosen"] == max(dev, key=dev.get) and summary["dev_split"].startswith("train, 32 examples")


def test_sweep_summary_names_the_values_within_noise_of_the_chosen_one():
    from types import SimpleNamespace

    import numpy as np

    labels = np.array([0, 1] * 100)

    def dev(wrong: int):  # a dev evaluation with its first `wrong` predictions wrong
        predictions = labels.copy()
        predictions[:wrong] = 1 - predictions[:wrong]
        return make_evaluation(predictions, labels)

    named = SimpleNamespace(name="x")
    wrong_by_value = {"1e-4": 100, "3e-4": 21, "1e-3": 20}  # 50 % and 89.5 % against the best, 90 %
    jobs = [
        SimpleNamespace(
            value=value, seed=0, task=named, approach=named, parameter="learning_rate", profile=named, model=named
        )
        for value in wrong_by_value
    ]
    summary = sweep.summarise(
        jobs, [make_record(kind="sweep", dev=dev(wrong), dev_split="train") for wrong in wrong_by_value.values()]
    )
    assert summary["chosen"] == "1e-3" and summary["within_noise_of_chosen"] == ["3e-4"]

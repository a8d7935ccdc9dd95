"""Multi-task pieces: the suite schema, per-task heads as slices, the batch mixture, text prefixes,
and one tiny multi-task job end to end."""

import datasets
import pytest
import torch

from harness.data import tokenize
from harness.errors import SpecError
from harness.kinds.multitask import (
    MixtureBatches,
    load_suite,
    multitask_jobs,
)
from harness.models import build_classifier, load_tokenizer, resolve_model
from harness.models.heads import MultiTaskHeads, TaskView
from harness.specs import SUITES_DIR
from harness.specs.catalog import load_approaches, load_profile, load_tasks
from harness.training.loop import task_loader
from harness.training.samplers import CurriculumSpec, UniformSpec, make_sampler

TASKS = load_tasks().specs
APPROACHES = load_approaches().specs


def write_suite(tmp_path, text):
    path = tmp_path / "mix.yaml"
    path.write_text(text)
    return path


def test_project_suite_is_valid():
    suite = load_suite(SUITES_DIR / "multitask.yaml", TASKS, APPROACHES)
    assert [s.name for s in suite.samplers] == ["uniform", "proportional", "temperature", "loss", "curriculum"]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "kind: multitask\nname: mix\ntasks: [sst2, nope]\nsamplers: [{name: uniform}]\napproaches: [full]\n",
            "field 'tasks': unknown or invalid nope",
        ),
        (
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: dice}]\napproaches: [full]\n",
            "field 'samplers.0'",
        ),
        (
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: curriculum, order: "
            "[sst2]}]\napproaches: [full]\n",
            "field 'samplers.0.order': must list exactly",
        ),
        (
            "kind: multitask\nname: mix\ntasks: [sst2, imdb]\nsamplers: [{name: uniform}]\napproaches: [full]\n",
            "imdb has no train split",
        ),
        (
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: uniform}]\napproaches: "
            "[full]\ntext_prefixes: true\n",
            "field 'text_prefixes': tasks sst2, rte declare no prefix",
        ),
        (
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: temperature}]\napproaches: "
            "[full]\nequal_budget: [temperature]\n",
            "field 'equal_budget': temperature names no sampler of the suite \\(known: temperature-T2\\)",
        ),
    ],
)
def test_suite_errors_name_the_field(tmp_path, text, message):
    with pytest.raises(SpecError, match=message):
        load_suite(write_suite(tmp_path, text), TASKS, APPROACHES)


def test_equal_budget_sampler_also_trains_the_summed_single_task_steps(tmp_path, mirror):
    suite = load_suite(
        write_suite(
            tmp_path,
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\napproaches: [full]\n"
            "samplers: [{name: uniform}, {name: proportional}]\nequal_budget: [proportional]\n",
        ),
        TASKS,
        APPROACHES,
    )
    profile = load_profile("quick")
    jobs = multitask_jobs(suite, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    assert [job.name for job in jobs] == [
        "mix-uniform-full-seed0",
        "mix-proportional-full-seed0",
        "mix-proportional-equal-budget-full-seed0",
    ]
    sizes = {"sst2": 2000, "rte": 1000}
    summed = jobs[0].single_task_steps(TASKS["sst2"], 2000) + jobs[0].single_task_steps(TASKS["rte"], 1000)
    assert (
        jobs[2].steps(sizes) == summed and jobs[1].steps(sizes) == round(summed * profile.multitask_step_share) < summed
    )
    assert len({job.config_hash for job in jobs}) == 3
    at_full_share = profile.model_copy(update={"multitask_step_share": 1.0})
    assert (
        len(multitask_jobs(suite, TASKS, APPROACHES, resolve_model("tiny-bert"), at_full_share, [0], mirror)) == 2
    )  # no duplicate


def test_heads_are_disjoint_slices_with_their_own_loss():
    model = build_classifier(resolve_model("tiny-bert"), 5, list("abcde"), seed=0)
    heads = MultiTaskHeads(model, [2, 3])
    tokenizer = load_tokenizer(resolve_model("tiny-bert"))
    batch = tokenizer(["a film", "another film"], return_tensors="pt", padding=True)
    out = heads(task_index=1, labels=torch.tensor([0, 2]), **batch)
    assert out.logits.shape == (2, 3)
    out.loss.backward()
    grad = model.classifier.weight.grad
    assert grad[:2].abs().sum() == 0 and grad[2:].abs().sum() > 0  # task 0's head is untouched
    heads.eval()
    assert torch.equal(TaskView(heads, 0)(**batch).logits, model(**batch).logits[:, :2])


def test_mixture_draws_by_the_sampler_and_counts_what_it_drew():
    tokenizer = load_tokenizer(resolve_model("tiny-bert"))
    spec = TASKS["sst2"]
    data = tokenize(
        spec,
        datasets.Dataset.from_dict({"sentence": ["good", "bad", "fine"] * 4, "label": [1, 0, 1] * 4}),
        tokenizer,
        8,
    )
    loaders = {"a": task_loader(data, tokenizer, 4, 0), "b": task_loader(data, tokenizer, 4, 0)}
    sampler = make_sampler(
        CurriculumSpec(name="curriculum", order=["a", "b"], widen_until=0.5),
        ["a", "b"],
        {"a": 1, "b": 1},
        {"a": 1, "b": 1},
    )
    batches = MixtureBatches(loaders, sampler, steps=40, seed=0)
    drawn = [batch["task_index"] for batch in batches]
    assert len(drawn) == 40 and set(drawn[:20]) == {0}  # the curriculum holds to the easiest task first
    assert batches.counts == {"a": drawn.count(0), "b": drawn.count(1)} and batches.counts["b"] > 5

    def uniform_draws(seed):
        sampler = make_sampler(UniformSpec(name="uniform"), ["a", "b"], {"a": 1, "b": 1}, {"a": 1, "b": 1})
        return [b["task_index"] for b in MixtureBatches(loaders, sampler, steps=10, seed=seed)]

    assert uniform_draws(3) == uniform_draws(3)  # the mixture is repeatable under a seed


def test_text_prefix_goes_before_the_first_text():
    tokenizer = load_tokenizer(resolve_model("tiny-bert"))
    rows = datasets.Dataset.from_dict({"sentence": ["a fine film"], "label": [1]})
    plain = tokenize(TASKS["sst2"], rows, tokenizer, 16)
    marked = tokenize(TASKS["sst2"], rows, tokenizer, 16, prefix="sst2: ")
    assert tokenizer.decode(marked[0]["input_ids"], skip_special_tokens=True).startswith("sst2 :")
    assert marked[0]["length"] > plain[0]["length"]


def test_tiny_multitask_job_scores_every_task(mirror, tmp_path):
    from harness.engine import run
    from harness.results import ResultStore

    suite = load_suite(
        write_suite(
            tmp_path,
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\nsamplers: [{name: proportional}]\napproaches: [lora]\n",
        ),
        TASKS,
        APPROACHES,
    )
    profile = load_profile("tiny").model_copy(
        update={"train_examples": 64, "eval_examples": 32, "multitask_step_share": 1.0, "task_overrides": {}}
    )
    (job,) = multitask_jobs(suite, TASKS, APPROACHES, resolve_model("tiny-distilbert"), profile, [0], mirror)
    (record,) = run([job], ResultStore(tmp_path / "store"))
    assert record.status == "ok", record.failure
    assert record.kind == "multitask" and record.variant == "proportional" and set(record.per_task) == {"sst2", "rte"}
    assert set(record.ood) == {"sst2→imdb"} and record.ood["sst2→imdb"].examples == 32
    assert record.train_steps == sum(record.sampled_batches.values()) == 2 * 3 * 4  # 3 epochs × 64/16 batches, per task
    assert record.head_params == 64 * 64 + 64 + 64 * 4 + 4  # DistilBERT pre_classifier + 2+2 label slices


def test_measured_curriculum_takes_its_order_from_single_task_runs(mirror, tmp_path):
    """The engine trains the single-task runs a measured curriculum depends on first, then the mixture ordered by
    them."""
    from harness.engine import run
    from harness.errors import HarnessError
    from harness.results import ResultStore

    suite = load_suite(
        write_suite(
            tmp_path,
            "kind: multitask\nname: mix\ntasks: [sst2, rte]\n"
            "samplers: [{name: curriculum, order: measured}]\napproaches: [full]\n",
        ),
        TASKS,
        APPROACHES,
    )
    profile = load_profile("tiny").model_copy(update={"train_examples": 64, "eval_examples": 32, "task_overrides": {}})
    (job,) = multitask_jobs(suite, TASKS, APPROACHES, resolve_model("tiny-bert"), profile, [0], mirror)
    assert job.needs_measured_order and job.name == "mix-curriculum-measured-full-seed0"
    assert [dep.task.name for dep in job.dependencies()] == ["sst2", "rte"]
    with pytest.raises(HarnessError, match="not resolved"):
        job.execute(tmp_path / "unresolved")

    store = ResultStore(tmp_path / "store")
    (record,) = run([job], store)
    assert record.status == "ok", record.failure
    singles = {dep.task.name: store.load(dep.config_hash) for dep in job.dependencies()}
    assert all(single.ok for single in singles.values())
    reduction = {n: (r.metrics["accuracy"] - r.majority_rate) / (1 - r.majority_rate) for n, r in singles.items()}
    assert record.config["measured_order"] == sorted(reduction, key=reduction.get, reverse=True)
    resolved = job.with_measured_order(singles)
    assert resolved.config_hash == record.config_hash != job.config_hash and resolved.name == job.name

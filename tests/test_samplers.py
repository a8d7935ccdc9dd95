"""Each task sampler's distribution: empirical frequencies over many draws against its formula."""

import numpy as np
import pytest

from harness.training.samplers import (
    CurriculumSpec,
    LossSpec,
    ProportionalSpec,
    TemperatureSpec,
    UniformSpec,
    make_sampler,
    order_by_difficulty,
    sampler_label,
)

TASKS = ["sst2", "mnli", "qnli", "rte"]
SIZES = {"sst2": 4000, "mnli": 8000, "qnli": 2000, "rte": 500}
CHANCE = {"sst2": np.log(2), "mnli": np.log(3), "qnli": np.log(2), "rte": np.log(2)}
DRAWS = 40_000
TOLERANCE = 0.01  # ~4 standard deviations of a frequency near 0.5 over 40,000 draws


def empirical(sampler, progress=0.5, seed=0):
    rng = np.random.default_rng(seed)
    draws = rng.choice(len(TASKS), size=DRAWS, p=sampler.probabilities(progress))
    return np.bincount(draws, minlength=len(TASKS)) / DRAWS


def sizes():
    return np.array([SIZES[t] for t in TASKS], dtype=float)


def test_uniform():
    sampler = make_sampler(UniformSpec(name="uniform"), TASKS, SIZES, CHANCE)
    assert np.abs(empirical(sampler) - 0.25).max() < TOLERANCE


def test_proportional_follows_training_set_sizes():
    sampler = make_sampler(ProportionalSpec(name="proportional"), TASKS, SIZES, CHANCE)
    assert np.abs(empirical(sampler) - sizes() / sizes().sum()).max() < TOLERANCE


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_temperature_formula(temperature):
    sampler = make_sampler(TemperatureSpec(name="temperature", temperature=temperature), TASKS, SIZES, CHANCE)
    expected = sizes() ** (1 / temperature) / (sizes() ** (1 / temperature)).sum()
    assert np.abs(empirical(sampler) - expected).max() < TOLERANCE


def test_temperature_limits_and_cap():
    proportional = make_sampler(ProportionalSpec(name="proportional"), TASKS, SIZES, CHANCE).probabilities(0)
    assert np.allclose(
        make_sampler(TemperatureSpec(name="temperature", temperature=1), TASKS, SIZES, CHANCE).probabilities(0),
        proportional,
    )
    hot = make_sampler(TemperatureSpec(name="temperature", temperature=1e6), TASKS, SIZES, CHANCE).probabilities(0)
    assert np.allclose(hot, 0.25, atol=1e-4)
    capped = make_sampler(TemperatureSpec(name="temperature", temperature=1, size_cap=2000), TASKS, SIZES, CHANCE)
    assert np.allclose(capped.probabilities(0), np.array([2000, 2000, 2000, 500]) / 6500)


def test_loss_based_moves_toward_the_task_held_at_higher_loss():
    sampler = make_sampler(LossSpec(name="loss", smoothing=0.5, floor=0.2), TASKS, SIZES, CHANCE)
    start = sampler.probabilities(0)
    assert np.allclose(start, 0.25)  # every task starts at chance level
    for _ in range(50):
        for task in TASKS:
            sampler.observe(task, 1.5 * CHANCE[task] if task == "rte" else 0.2 * CHANCE[task])
    after = empirical(sampler)
    expected = 0.2 / 4 + 0.8 * np.array([0.2, 0.2, 0.2, 1.5]) / 2.1
    assert np.abs(after - expected).max() < TOLERANCE
    assert after[3] > 0.5 and after.min() >= 0.2 / 4 - TOLERANCE  # the floor keeps every task alive


def test_curriculum_widens_monotonically_to_the_full_mixture():
    spec = CurriculumSpec(name="curriculum", order=["sst2", "qnli", "mnli", "rte"], widen_until=0.6)
    sampler = make_sampler(spec, TASKS, SIZES, CHANCE)
    assert sampler.probabilities(0.0).tolist() == [1.0, 0.0, 0.0, 0.0]
    active = [int((sampler.probabilities(p) > 0).sum()) for p in np.linspace(0, 1, 101)]
    assert active == sorted(active) and active[0] == 1 and active[-1] == 4
    assert np.allclose(sampler.probabilities(0.6), 0.25) and np.allclose(sampler.probabilities(1.0), 0.25)
    mid = empirical(sampler, progress=0.25)  # two tasks active: sst2 and qnli
    assert np.abs(mid - [0.5, 0.0, 0.5, 0.0]).max() < TOLERANCE


def test_curriculum_must_order_every_task():
    with pytest.raises(ValueError, match="curriculum order lacks rte"):
        make_sampler(CurriculumSpec(name="curriculum", order=["sst2", "qnli", "mnli"]), TASKS, SIZES, CHANCE)


def test_labels():
    assert sampler_label(TemperatureSpec(name="temperature", temperature=2)) == "temperature-T2"
    assert sampler_label(UniformSpec(name="uniform")) == "uniform"


def test_measured_curriculum_orders_by_error_reduction_over_the_majority_class():
    # (accuracy, majority rate): error reductions sst2 0.70, qnli 0.50, mnli 0.15, rte 0.10
    results = {"rte": (0.55, 0.5), "mnli": (0.45, 0.35), "sst2": (0.85, 0.5), "qnli": (0.75, 0.5)}
    assert order_by_difficulty(results) == ["sst2", "qnli", "mnli", "rte"]


def test_measured_curriculum_cannot_train_unresolved():
    spec = CurriculumSpec(name="curriculum", order="measured")
    assert sampler_label(spec) == "curriculum-measured"
    with pytest.raises(ValueError, match="must be resolved"):
        make_sampler(spec, TASKS, SIZES, CHANCE)

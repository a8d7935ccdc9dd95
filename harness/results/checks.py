"""What the suites assert, as functions of records and the profile, so that each claim can be shown
to fail on a collapsed model (tests/test_checks.py feeds them a constant predictor).

A claim is made only where the profile says its budget can show it (`learns`, `beats_frozen_features`,
`max_gap_to_full`); elsewhere the check is skipped with the reason, never passed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.results import decode_ids
from harness.results.record import EvaluationRecord, TrainingCost
from harness.specs import ProfileSpec
from harness.stats import bootstrap

STANDARD_ERRORS = 2


def correct(summary: EvaluationRecord) -> np.ndarray:
    """1 where a kept evaluation's prediction was right, in example order."""
    return (decode_ids(summary.predictions) == decode_ids(summary.labels)).astype(np.float64)


def majority_correct(summary: EvaluationRecord, majority_class: int) -> np.ndarray:
    return (decode_ids(summary.labels) == majority_class).astype(np.float64)


def require_claim(profile: ProfileSpec, claim: str, approach: str) -> None:
    """`claim`: a task (single-task models), or `<kind>/<task>` of another suite kind (harness.specs.CLAIM_KINDS),
    `probe/<probe>`."""
    if not profile.claims_learning(claim, approach):
        pytest.skip(
            f"profile '{profile.name}' does not claim that {approach} learns {claim} at its budget (field 'learns')"
        )


def paired_gain(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """Our accuracy minus theirs on the same examples (1 where right), and its standard error (bootstrap)."""
    difference = ours - theirs
    return float(difference.mean()), bootstrap(difference).standard_error


def gain_over_majority(summary: EvaluationRecord, majority_class: int) -> tuple[float, float]:
    """Accuracy minus the majority class's on the same examples, and its standard error."""
    return paired_gain(correct(summary), majority_correct(summary, majority_class))


def clears(gain: float, standard_error: float) -> bool:
    return gain > 0 and gain >= STANDARD_ERRORS * standard_error


def learned(summary: EvaluationRecord, majority_class: int) -> bool:
    return clears(*gain_over_majority(summary, majority_class))


def beats_majority(summary: EvaluationRecord, majority_class: int, what: str) -> None:
    """The score beats always answering the training split's majority label by 2 standard errors of
    the paired difference (same examples)."""
    gain, standard_error = gain_over_majority(summary, majority_class)
    assert clears(gain, standard_error), (
        f"{what}: accuracy {correct(summary).mean():.3f} is {100 * gain:+.1f} points over the majority class "
        f"({majority_correct(summary, majority_class).mean():.3f}); needs > {STANDARD_ERRORS} standard errors "
        f"({100 * STANDARD_ERRORS * standard_error:.1f} points)"
    )


def loss_fell(record: TrainingCost, what: str, dev: EvaluationRecord | None = None, majority_class: int = 0) -> None:
    """The training loss fell and, where a dev evaluation is given, the dev accuracy rose above the majority class
    by 2 standard errors with it: a loss can fall while a model memorises its training examples and learns nothing."""
    assert record.train_loss_end < record.train_loss_start, (
        f"{what}: training loss went from {record.train_loss_start:.4f} to {record.train_loss_end:.4f}"
    )
    if dev is not None:
        beats_majority(dev, majority_class, f"{what}: the training loss fell, but on the dev slice")


def memory_by_component(record: TrainingCost, what: str) -> None:
    """The record's training memory is measured by component and they add up: weights, gradients of what trained, the
    optimizer's state and the activations saved for backward, each non-zero where something trained."""
    memory = record.training_memory
    if memory is None:
        pytest.skip(f"{what}: trained before its kind measured memory by component (no 'training_memory')")
    parts = {"weights": sum(memory.weights.values()), **memory.model_dump(include={"gradients", "activations"})}
    parts["optimizer state"] = memory.optimizer_state
    assert memory.total == sum(parts.values()), f"{what}: components {parts} do not add up to {memory.total}"
    assert min(parts.values()) > 0, f"{what}: a component is zero though the model trained: {parts}"


def not_below_baseline(summary: EvaluationRecord, baseline: EvaluationRecord, tolerance: float, what: str) -> None:
    """The score is not below the frozen-feature baseline's on the same examples by more than `tolerance`
    with 2 standard errors of the paired difference to spare: a shortfall inside the noise passes, as the
    leaderboard marks it (◇, not ◆)."""
    gain, standard_error = paired_gain(correct(summary), correct(baseline))
    assert not clears(-(gain + tolerance), standard_error), (
        f"{what}: accuracy {correct(summary).mean():.3f} is {-100 * gain:.1f} points below the frozen-feature "
        f"baseline ({correct(baseline).mean():.3f}); the profile allows {100 * tolerance:.1f}, and the shortfall "
        f"beyond "
        f"it exceeds {STANDARD_ERRORS} standard errors ({100 * STANDARD_ERRORS * standard_error:.1f} points)"
    )


def reference_gap(
    summaries: list[EvaluationRecord], reference: float, reference_standard_error: float
) -> tuple[float, float]:
    """(mean accuracy over seeds, allowed distance from the reference): 2 standard errors of the difference,
    this run's (bootstrap over seeds and examples) and the reference's own combined as independent."""
    interval = bootstrap(np.stack([correct(summary) for summary in summaries]))
    return interval.mean, STANDARD_ERRORS * math.hypot(interval.standard_error, reference_standard_error)


def gain_over_majority_pooled(summaries: list[EvaluationRecord], majority_class: int) -> tuple[float, float]:
    """Over every seed's run (same examples), accuracy minus the majority class's, and its standard error."""
    difference = np.stack([correct(s) - majority_correct(s, majority_class) for s in summaries])
    interval = bootstrap(difference)
    return interval.mean, interval.standard_error


def near_reference(
    summaries: list[EvaluationRecord],
    majority_class: int,
    reference: float,
    reference_standard_error: float,
    what: str,
) -> None:
    """The runs beat the majority class by 2 standard errors (pooled over seeds) — a gate no model that learned
    nothing can pass, however close the reference lies to the majority rate — and their mean accuracy over seeds
    is within 2 standard errors of the reference accuracy (reference_gap)."""
    gain, standard_error = gain_over_majority_pooled(summaries, majority_class)
    assert clears(gain, standard_error), (
        f"{what}: accuracy is {100 * gain:+.1f} points over the majority class over {len(summaries)} seeds; a gate "
        f"needs > {STANDARD_ERRORS} standard errors ({100 * STANDARD_ERRORS * standard_error:.1f} points) first"
    )
    mean, tolerance = reference_gap(summaries, reference, reference_standard_error)
    assert abs(mean - reference) <= tolerance, (
        f"{what}: accuracy {mean:.3f} over {len(summaries)} seeds is {100 * (mean - reference):+.1f} points "
        f"from the reference {reference:.3f}; allowed ±{100 * tolerance:.1f} ({STANDARD_ERRORS} standard errors)"
    )

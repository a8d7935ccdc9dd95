"""Uncertainty of accuracies from the per-example predictions every record keeps: a bootstrap over
seeds and evaluation examples (both are samples: another seed, another test set), and its paired
form for differences between two models scored on the same examples with the same seeds.

Written here because the one maintained implementation (scipy.stats.bootstrap) resamples one axis
of independent samples, not seeds and shared examples together.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DRAWS = 2000
LEVEL = 0.95
BOOTSTRAP_SEED = 0  # intervals are a function of the records: the same store gives the same leaderboard


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    p_value: float = 1.0  # two-sided, of "the mean is 0" (for a paired difference: no difference), from the draws

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def standard_error(self) -> float:
        """The normal-approximation standard error the interval's width implies."""
        return (self.high - self.low) / (2 * 1.959964)


def bootstrap(correct: np.ndarray, draws: int = DRAWS, level: float = LEVEL) -> Interval:
    """`correct`: seeds × examples, 1 where the prediction was right (or, for a paired difference, the
    difference of two such matrices). Each draw resamples seeds and examples with replacement; the
    interval is the percentile interval of the mean."""
    correct = np.atleast_2d(np.asarray(correct, dtype=np.float64))
    seeds, examples = correct.shape
    example_counts, state = _example_draws(examples, draws)
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state  # where drawing the example counts left it: the same draws as without the cache
    per_seed = correct @ example_counts.T / examples  # seeds × draws
    seed_choice = rng.integers(seeds, size=(draws, seeds))
    means = per_seed[seed_choice, np.arange(draws)[:, None]].mean(axis=1)
    tail = (1 - level) / 2
    # The percentile test the interval inverts: the interval excludes 0 exactly where p < 1 - level.
    p_value = min(1.0, 2 * min(np.mean(means <= 0), np.mean(means >= 0)))
    return Interval(
        float(correct.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)), float(p_value)
    )


@functools.lru_cache(maxsize=8)
def _example_draws(examples: int, draws: int) -> tuple[np.ndarray, dict]:
    """Each draw's count of every example (draws × examples), and the generator's state after drawing them.
    Cached: they depend only on the number of examples, and every cell of a leaderboard over one evaluation set
    would otherwise redraw the same counts (the multinomial is most of a bootstrap's time)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    counts = rng.multinomial(examples, np.full(examples, 1 / examples), size=draws).astype(np.int32)
    counts.flags.writeable = False
    return counts, rng.bit_generator.state


def paired_bootstrap(ours: dict[int, np.ndarray], theirs: dict[int, np.ndarray]) -> Interval | None:
    """Our accuracy minus theirs (per seed, 1 where a prediction was right), on the seeds both have and the
    same examples; None where they share no seed or were scored on different examples."""
    seeds = sorted(set(ours) & set(theirs))
    if not seeds or any(len(ours[s]) != len(theirs[s]) for s in seeds):
        return None
    return bootstrap(np.stack([ours[s] - theirs[s] for s in seeds]))

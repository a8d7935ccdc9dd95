"""The bootstrap over seeds and examples: deterministic, unaffected by the draws it caches, and as wide as
its data say."""

import numpy as np

from harness import stats


def test_an_interval_is_the_same_whatever_was_bootstrapped_before():
    rng = np.random.default_rng(1)
    first, other = (rng.integers(0, 2, size=(3, 400)) for _ in range(2))
    before = stats.bootstrap(first)
    stats.bootstrap(other)  # the same number of examples: the cached example counts serve both
    stats.bootstrap(first[:, :200])
    assert stats.bootstrap(first) == before


def test_the_interval_holds_the_mean_and_narrows_with_more_examples():
    rng = np.random.default_rng(2)
    small, large = (rng.random((3, n)) < 0.7 for n in (100, 2000))
    narrow, wide = stats.bootstrap(large), stats.bootstrap(small)
    assert wide.low < wide.mean < wide.high and narrow.low < narrow.mean < narrow.high
    assert narrow.high - narrow.low < (wide.high - wide.low) / 2
    assert abs(narrow.mean - 0.7) < 0.03

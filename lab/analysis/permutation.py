"""An exact permutation test of the difference of mean logs between two small samples (a change
is a ratio), and the family-wise level of several such tests.

It assumes only that, with no change, the values of both sides are exchangeable: no normal
distribution, which a machine's long-tailed noise would break, and its false-alarm rate is exact
at any sample size, not asymptotic. All splits are enumerated up to EXACT_SPLITS, a random sample
of them (from the caller's seeded generator) beyond.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

# Up to this many splits of the values are enumerated; beyond, RANDOM_SPLITS are drawn.
EXACT_SPLITS = 20_000
RANDOM_SPLITS = 10_000
# Bisection steps for an interval's ends (log-ratio), far finer than any figure shown.
BISECTIONS = 32


def _enumerable(n: int, m: int) -> bool:
    return math.comb(n + m, m) <= EXACT_SPLITS


def smallest_p(n: int, m: int) -> float:
    """The least two-sided p an exact permutation test of n against m values can give (2 / C: the
    split and its mirror; unequal sides may reach 1 / C in one direction only, so this is the bound
    both directions share)."""
    return min(1.0, 2 / math.comb(n + m, m)) if _enumerable(n, m) else 1.0 / (RANDOM_SPLITS + 1)


def repeats_needed(level: float) -> int:
    """Repeats a side for the exact test's smallest p to reach `level`."""
    return next(n for n in itertools.count(2) if smallest_p(n, n) <= level)


@functools.cache
def _exact_splits(n: int, m: int) -> np.ndarray:
    """Every way to choose which m of n + m values are the new side's (True), one row each."""
    chosen = np.zeros((math.comb(n + m, m), n + m), dtype=bool)
    for row, members in enumerate(itertools.combinations(range(n + m), m)):
        chosen[row, list(members)] = True
    chosen.flags.writeable = False
    return chosen


def _random_splits(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """The observed split first, then random ones: p counts the observed, so it is never 0."""
    chosen = np.zeros((RANDOM_SPLITS + 1, n + m), dtype=bool)
    chosen[0, n:] = True
    for row in range(1, RANDOM_SPLITS + 1):
        chosen[row, rng.permutation(n + m)[:m]] = True
    return chosen


class PermutationTest:
    """The difference of mean logs between `base` and `new` against every split of the pooled
    values into groups of their sizes. Shifting the new side by s moves each split's statistic
    by s times a constant of the split, so p as a function of the change tested is cheap."""

    def __init__(self, base: np.ndarray, new: np.ndarray, rng: np.random.Generator) -> None:
        n, m = base.size, new.size
        self.observed = float(new.mean() - base.mean())
        pooled = np.concatenate([base, new])
        chosen = _exact_splits(n, m) if _enumerable(n, m) else _random_splits(n, m, rng)
        # The statistic of each split, and how it moves per unit of shift of the new side.
        self._statistic = chosen @ pooled / m - (~chosen) @ pooled / n
        from_new = chosen[:, n:].sum(axis=1)
        self._slope = from_new / m - (m - from_new) / n
        self._spread = float(np.ptp(pooled)) or 1.0

    def p(self, change: float = 0.0) -> float:
        """Two-sided p of the hypothesis that new = base + `change` (in logs)."""
        observed = abs(self.observed - change)
        tolerance = 1e-9 * self._spread  # a split as extreme as the observed one, up to rounding
        extreme = np.abs(self._statistic - change * self._slope) >= observed - tolerance
        return int(np.count_nonzero(extreme)) / int(extreme.size)

    def interval(self, level: float) -> tuple[float, float]:
        """The changes (in logs) the test does not reject at `level`: from the observed change
        outwards to where p falls to `level`, each end by bisection."""
        reach = 4 * self._spread + abs(self.observed)  # farther than the data could ever place it
        return self._edge(-reach, level), self._edge(reach, level)

    def _edge(self, step: float, level: float) -> float:
        inside, outside = self.observed, self.observed + step
        for _ in range(BISECTIONS):
            middle = (inside + outside) / 2
            if self.p(middle) > level:
                inside = middle
            else:
                outside = middle
        return outside


def family_level(smallest: list[float], alpha: float) -> float:
    """Tarone's Bonferroni level for a family-wise `alpha` over tests whose smallest reachable p are
    `smallest`: alpha / K for the least K with at most K tests able to reach alpha / K."""
    for k in itertools.count(1):
        if sum(p <= alpha / k for p in smallest) <= k:
            return alpha / k
    raise AssertionError("unreachable")  # k = len(smallest) always satisfies it

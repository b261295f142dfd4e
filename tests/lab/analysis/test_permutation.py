"""lab diff's permutation test beyond the sizes it enumerates: a seeded random sample of the
splits, which must agree with the enumeration where both can be made."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.analysis import permutation
from lab.analysis.permutation import RANDOM_SPLITS, PermutationTest, smallest_p

BASE = np.log([100.0, 104.0, 98.0, 101.0, 103.0, 99.0, 102.0, 97.0])
NEW = np.log([103.0, 106.0, 100.0, 104.0, 101.0, 105.0, 102.0, 107.0])


def test_random_splits_keep_the_observed_one_first_and_each_side_s_size() -> None:
    chosen = permutation._random_splits(3, 5, np.random.default_rng(1))
    assert chosen.shape == (RANDOM_SPLITS + 1, 8)
    assert list(chosen[0]) == [False] * 3 + [True] * 5  # the observed split: p is never 0
    assert (chosen.sum(axis=1) == 5).all()
    assert len({row.tobytes() for row in chosen[1:]}) == math.comb(8, 5)  # drawn from every split


def test_the_random_sample_agrees_with_the_enumeration(monkeypatch: pytest.MonkeyPatch) -> None:
    exact = PermutationTest(BASE, NEW, np.random.default_rng(7))
    assert math.comb(16, 8) <= permutation.EXACT_SPLITS  # 12,870: enumerated
    monkeypatch.setattr(permutation, "EXACT_SPLITS", 100)  # now drawn
    drawn = PermutationTest(BASE, NEW, np.random.default_rng(7))
    assert drawn.observed == exact.observed
    # 10,001 draws: a binomial standard error of at most 0.005 around the exact p.
    assert drawn.p() == pytest.approx(exact.p(), abs=0.02) and 0.01 < exact.p() < 0.5
    assert drawn.p(exact.observed) == 1.0  # nothing is further from the observed change than itself
    assert smallest_p(8, 8) == 1 / (RANDOM_SPLITS + 1)

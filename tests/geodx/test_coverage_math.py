"""Percentages, target flags and gaps are exact."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodx.coverage import gap, pct, target_met


@pytest.mark.parametrize(
    ("part", "whole", "target", "expected"),
    [
        (9, 10, 90, 0),
        (8, 10, 90, 1),
        (0, 10, 90, 9),
        (10, 10, 100, 0),
        (0, 0, 90, 0),
        (899, 1000, 90, 1),
        (28, 30, 93.3, 0),
        (27, 30, 93.4, 2),
    ],
)
def test_gap_examples(part: int, whole: int, target: float, expected: int) -> None:
    assert gap(part, whole, target) == expected


@given(
    whole=st.integers(0, 10**7), share=st.fractions(0, 1), target=st.integers(1, 100)
)
def test_gap_and_flag_agree_with_exact_arithmetic(
    whole: int, share: Fraction, target: int
) -> None:
    part = int(share * whole)
    need = math.ceil(Fraction(target, 100) * whole)
    assert gap(part, whole, target) == max(0, need - part)
    if whole:
        assert target_met(part, whole, target) == (gap(part, whole, target) == 0)
        assert 0 <= pct(part, whole) <= 100
    else:
        assert target_met(part, whole, target) is None and pct(part, whole) is None

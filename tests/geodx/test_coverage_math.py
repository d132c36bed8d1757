"""Percentages, target flags and gaps are exact, for whole and fractional weights."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodx.contract import gap, pct, target_met


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
        share_pct = pct(part, whole)
        assert share_pct is not None and 0 <= share_pct <= 100
    else:
        assert target_met(part, whole, target) is None and pct(part, whole) is None


def test_fractional_weights_met_means_no_gap() -> None:
    # 9.0 of 10.3 households is 87.4%: below 90%, and 0.27 households short -> 1.
    assert target_met(9.0, 10.3, 90) is False and gap(9.0, 10.3, 90) == 1
    # 9.3 of 10.3 is 90.3%: met, and so no household is missing (it was 0.3 before).
    assert target_met(9.3, 10.3, 90) is True and gap(9.3, 10.3, 90) == 0
    assert isinstance(gap(2.5, 10.1, 56.5), int)


weights = st.floats(0.001, 1e6, allow_nan=False, allow_infinity=False)


@given(
    whole=weights,
    share=st.floats(0, 1),
    target=st.one_of(st.integers(0, 100), st.floats(0, 100).map(lambda t: round(t, 2))),
)
def test_fractional_weights_one_rule(whole: float, share: float, target: float) -> None:
    part = whole * share
    g = gap(part, whole, target)
    assert isinstance(g, int) and g >= 0
    assert target_met(part, whole, target) == (g == 0)
    exact = Fraction(str(target)) / 100 * Fraction(whole) - Fraction(part)
    assert g - 1 < exact <= g or (exact <= 0 and g == 0)

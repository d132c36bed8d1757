"""Percentages, target flags and gaps are exact, for whole and fractional weights."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodx.contract_figures import (
    gap,
    pct,
    pct_array,
    target_met,
)
from geodx.coverage import commune_table, sum_by
from geodx.manifest_specs import Targets


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


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(
        st.tuples(st.floats(0.01, 500), st.booleans(), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    target=st.integers(1, 100),
)
def test_commune_rows_flag_and_gap_agree_for_fractional_weights(
    weights: list[tuple[float, bool, bool]], target: int
) -> None:
    w = np.array([x[0] for x in weights])
    fibre = np.array([x[1] for x in weights])
    mobile = np.array([x[2] for x in weights])
    group = np.ones(len(w), dtype=np.int64)  # one commune (index 0: unassigned)
    sums = sum_by(
        group, 2, w, {"fibre": fibre, "mobile": mobile, "mobile_5g": mobile}, {}
    )
    communes = pd.DataFrame(
        {"commune_code": ["1"], "commune_name": ["Xã A"], "district_code": [None],
         "district_name": [None]}
    )  # fmt: skip
    targets = Targets(fibre_household_pct=target, mobile_commune_household_pct=target)
    row = commune_table(communes, sums, targets, integral=False, layer_slugs=[])
    row = row.iloc[0]
    for met, gap_col in (("fibre_target_met", "fibre_gap_households"),
                         ("mobile_covered", "mobile_gap_households")):  # fmt: skip
        assert isinstance(row[gap_col], int | np.integer)
        assert bool(row[met]) == (row[gap_col] == 0)


@settings(max_examples=3000, deadline=None)
@given(
    st.floats(min_value=0, max_value=1e12, allow_nan=False),
    st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e12)),
)
def test_pct_is_pct_array_bit_for_bit(part: float, whole: float) -> None:
    """The scalar percentage equals the array rule's, halves and zeros included."""
    want = pct_array(np.array([part]), np.array([whole]))[0]
    got = pct(part, whole)
    assert (got is None) == bool(np.isnan(want))
    if got is not None:
        assert np.float64(got).tobytes() == want.tobytes()


@pytest.mark.parametrize(
    ("part", "whole"),
    [(1, 8), (3, 8), (1, 3), (2, 3), (5, 16), (0, 7), (7, 7), (1, 160000), (3, 80000)],
)
def test_pct_ties_round_as_numpy(part: int, whole: int) -> None:
    """Values on a half of the 4th decimal round half to even, as numpy's round does."""
    assert pct(part, whole) == float(np.round(100.0 * part / whole, 4))

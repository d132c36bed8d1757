"""Household points keep one position and one weight per household."""

from __future__ import annotations

import numpy as np
import pytest

from geodx.points import HouseholdPoints


def test_points_refuse_arrays_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length: 2, 2, 3"):
        HouseholdPoints(np.zeros(2), np.zeros(2), np.ones(3))


def test_points_of_equal_lengths_are_fine() -> None:
    assert len(HouseholdPoints(np.zeros(2), np.zeros(2), np.ones(2))) == 2


def test_the_region_check_names_the_first_bad_row() -> None:
    from pathlib import Path

    from geodx.errors import CRSError
    from geodx.validate import check_households_in_region

    points = HouseholdPoints(
        np.array([108.0, np.inf, 108.01]), np.array([12.6, 12.6, 12.6]), np.ones(3)
    )
    with pytest.raises(CRSError, match=r"1 row\(s\), first row 2"):
        check_households_in_region(points, (108, 12.6, 108.1, 12.7), path=Path("h.csv"))

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

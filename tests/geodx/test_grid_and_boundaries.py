"""H3 indexing matches the h3 library; the core does not import the web stack."""

from __future__ import annotations

import subprocess
import sys

import h3
import numpy as np
import pytest

from geodx.errors import InvalidResolution
from geodx.grid import cells_to_str, points_to_cells


def test_cells_equal_h3_latlng_to_cell() -> None:
    rng = np.random.default_rng(0)
    lat = rng.uniform(12.1, 13.7, 500)
    lng = rng.uniform(107.4, 109.5, 500)
    for res in (0, 7, 9, 15):
        got = cells_to_str(points_to_cells(lat, lng, resolution=res))
        assert got == [
            h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)
        ]


def test_literal_cells_of_known_points() -> None:
    # Buôn Ma Thuột and Tuy Hòa centres; literals pin the cell strings and their format.
    lat = np.array([12.6667, 12.6667, 13.0955])
    lng = np.array([108.05, 108.05, 109.3209])
    got = [
        cells_to_str(points_to_cells(lat[i : i + 1], lng[i : i + 1], resolution=r))[0]
        for i, r in enumerate((5, 9, 9))
    ]
    assert got == ["8565b2cffffffff", "8965b2ce093ffff", "896933d9233ffff"]


def test_resolution_out_of_range() -> None:
    with pytest.raises(InvalidResolution, match="resolution was 17; expected 0-15"):
        points_to_cells(np.zeros(1), np.zeros(1), resolution=17)


def test_core_does_not_pull_in_the_web_stack() -> None:
    code = "import app.pipeline, sys; assert not {'fastapi', 'starlette'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)

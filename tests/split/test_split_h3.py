"""The split's H3 cells (``app.split_h3``) against the libraries, point by point.

Random points over the whole sphere at every resolution, and the hard places: cell
corners and edge midpoints (points on the libraries' decisions), cell centres,
points a hair off a corner, the icosahedron's face centres, corners and edges,
the poles and the antimeridian, pentagons; duplicated points (one library call
serves them all).

Every cell is :func:`geodx.grid.points_to_cells`'s (``polars-h3``), and
``h3.latlng_to_cell``'s wherever the face address is certain. Exactly on a cell's
edge the two libraries can differ (h3o and the C library round differently there:
89 of 2,694 such points at resolution 0); those points are never certain, and
``points_to_cells`` computes them.
"""

from __future__ import annotations

import h3
import numpy as np
import pytest

from app import split_h3
from app.split_h3 import cells_of, face_addresses
from geodx.grid import points_to_cells


def _library(lat: np.ndarray, lng: np.ndarray, res: int) -> np.ndarray:
    return np.array(
        [int(h3.latlng_to_cell(a, b, res), 16) for a, b in zip(lat, lng, strict=True)],
        dtype=np.uint64,
    )


def _sphere(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return lat, rng.uniform(-180, 180, n)


def _latlng(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(v[..., 2], -1, 1))), np.degrees(
        np.arctan2(v[..., 1], v[..., 0])
    )


def _hard_points(res: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Corners, edge midpoints and centres of cells, near-corner points, the
    icosahedron's special places, poles and the antimeridian."""
    rng = np.random.default_rng(seed)
    lat, lng = _sphere(150, seed)
    cells = {h3.latlng_to_cell(a, b, res) for a, b in zip(lat, lng, strict=True)}
    cells |= set(h3.get_pentagons(res))
    pts: list[tuple[float, float]] = []
    for cell in sorted(cells):
        corners = h3.cell_to_boundary(cell)
        pts.append(h3.cell_to_latlng(cell))
        pts.extend(corners)
        for (a1, b1), (a2, b2) in zip(corners, corners[1:] + corners[:1], strict=True):
            if abs(b1 - b2) < 180:
                pts.append(((a1 + a2) / 2, (b1 + b2) / 2))
        for a, b in corners[:2]:
            off = rng.normal(0, 1e-11, (4, 2))
            pts.extend((a + da, b + db) for da, db in off)
    got_lat, got_lng = np.array(pts).T
    centres = split_h3._CENTRES
    adjacent = centres[:, None, :] + centres[None, :, :]
    corners3 = centres[:, None, :] + centres[None, :, :] * 0.8
    special = np.concatenate(
        [centres, adjacent.reshape(-1, 3), corners3.reshape(-1, 3)]
    )
    s_lat, s_lng = _latlng(special[np.linalg.norm(special, axis=1) > 1e-9])
    edge_lat = np.array([90.0, -90.0, 0.0, 0.0, 45.0, -45.0, 89.999999, -89.999999])
    edge_lng = np.array([0.0, 0.0, 180.0, -180.0, 180.0, -180.0, 123.0, -57.0])
    return (
        np.concatenate([got_lat, s_lat, edge_lat]),
        np.concatenate([got_lng, s_lng, edge_lng]),
    )


@pytest.mark.parametrize("res", range(16))
def test_cells_as_the_library_over_the_sphere(res: int) -> None:
    lat, lng = _sphere(3000, res)
    np.testing.assert_array_equal(
        cells_of(lat, lng, resolution=res), _library(lat, lng, res)
    )


@pytest.mark.parametrize("res", [0, 1, 4, 6, 9, 10, 13, 15])
def test_cells_as_the_library_at_the_hard_places(res: int) -> None:
    lat, lng = _hard_points(res, 100 + res)
    _, sure = face_addresses(lat, lng, res)
    assert sure.any() and not sure.all()  # both ways are exercised
    got = cells_of(lat, lng, resolution=res)
    np.testing.assert_array_equal(got, points_to_cells(lat, lng, resolution=res))
    np.testing.assert_array_equal(got[sure], _library(lat[sure], lng[sure], res))


@pytest.mark.parametrize("res", [2, 9, 12])
def test_an_address_is_one_cell(res: int) -> None:
    """Points of a town (many to a cell): each certain address holds one cell."""
    rng = np.random.default_rng(res)
    centre = np.array([[12.6, 108.0], [21.0, 105.8], [-33.9, 151.2], [64.1, -21.9]])
    town = rng.integers(0, len(centre), 20_000)
    lat = centre[town, 0] + rng.normal(0, 0.05, len(town))
    lng = centre[town, 1] + rng.normal(0, 0.05, len(town))
    keys, sure = face_addresses(lat, lng, res)
    want = _library(lat, lng, res)
    seen: dict[int, int] = {}
    for key, cell in zip(keys[sure].tolist(), want[sure].tolist(), strict=True):
        assert seen.setdefault(key, cell) == cell
    np.testing.assert_array_equal(cells_of(lat, lng, resolution=res), want)


def test_duplicates_and_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk edges inside runs of one cell, a point repeated, an empty input."""
    monkeypatch.setattr(split_h3, "CHUNK", 97)
    lat, lng = _sphere(400, 7)
    lat, lng = np.repeat(lat, 5), np.repeat(lng, 5)
    np.testing.assert_array_equal(
        cells_of(lat, lng, resolution=9), _library(lat, lng, 9)
    )
    empty = np.zeros(0)
    assert cells_of(empty, empty, resolution=9).dtype == np.uint64
    assert len(cells_of(empty, empty, resolution=9)) == 0


def _around(points: np.ndarray, angles: np.ndarray, seed: int) -> np.ndarray:
    """Points at ``angles`` (radians) from ``points``, in random directions."""
    rng = np.random.default_rng(seed)
    step = rng.normal(size=points.shape)
    step -= np.sum(step * points, axis=1, keepdims=True) * points
    step /= np.linalg.norm(step, axis=1, keepdims=True)
    return points * np.cos(angles)[:, None] + step * np.sin(angles)[:, None]


@pytest.mark.parametrize("res", [9, 12, 15])
def test_near_face_centres_and_face_edges(res: int) -> None:
    """Near a face's centre the libraries' ``acos`` loses digits; on a face's edge
    two faces are as near: both are left to the library when too close."""
    rng = np.random.default_rng(res)
    centres = split_h3._CENTRES[rng.integers(0, 20, 12_000)]
    # a few hexagons from the centre (where the library's acos is coarsest), and on
    hexagons = 10 ** rng.uniform(-8, -5.5, 10_000) * 7 ** ((15 - res) / 2)
    angles = np.r_[hexagons, 10 ** rng.uniform(-5.5, -0.7, 2000)]
    near_centre = _around(centres, angles, res)
    first, second = split_h3._CENTRES[:, None], split_h3._CENTRES[None, :]
    adjacent = (first * second).sum(axis=2) > 0.7
    mids = (first + second)[adjacent & ~np.eye(20, dtype=bool)]
    mids = np.repeat(mids / np.linalg.norm(mids, axis=1, keepdims=True), 50, axis=0)
    on_edges = _around(mids, 10 ** rng.uniform(-15, -9, len(mids)), res + 1)
    lat, lng = _latlng(np.concatenate([near_centre, on_edges]))
    got = cells_of(lat, lng, resolution=res)
    np.testing.assert_array_equal(got, points_to_cells(lat, lng, resolution=res))
    _, sure = face_addresses(lat, lng, res)
    np.testing.assert_array_equal(got[sure], _library(lat[sure], lng[sure], res))

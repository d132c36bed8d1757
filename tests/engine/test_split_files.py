"""The split writes each household once, into the partition of its parent cell's run.

Checked against the h3 library point by point: a partition file holds exactly the
households whose parent cell (at the chosen resolution) lies from the partition's own
parent up to the next partition's, in the order of the household file.
"""

from __future__ import annotations

from pathlib import Path

import h3
import numpy as np
import pytest

from app import spill
from app.spill import read_partition, spill_households
from geodx.limits import Limits
from geodx.points import WGS84, HouseholdPoints


def towns(n: int, seed: int) -> HouseholdPoints:
    """Households in a few dense towns and scattered over 3 degrees (many parents)."""
    rng = np.random.default_rng(seed)
    centre = rng.uniform([106.0, 11.0], [109.0, 14.0], (5, 2))
    pick = rng.integers(0, 5, n)
    lng = centre[pick, 0] + rng.normal(0, 0.03, n)
    lat = centre[pick, 1] + rng.normal(0, 0.03, n)
    spread = rng.random(n) < 0.3
    lng[spread] = rng.uniform(106.0, 109.0, spread.sum())
    lat[spread] = rng.uniform(11.0, 14.0, spread.sum())
    return HouseholdPoints(lng, lat, rng.integers(1, 4, n).astype(float), WGS84)


@pytest.mark.parametrize(
    ("max_points", "forced"), [(1500, None), (6000, None), (1500, 8)]
)
def test_partitions_hold_the_runs_of_their_parent_cells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_points: int, forced: int | None
) -> None:
    monkeypatch.setattr(spill, "BATCH", 9000)  # three batches, two of them halved
    points = towns(20_000, seed=max_points)
    got = spill_households(
        points, tmp_path, h3_resolution=9, region_bounds=None, limits=Limits(),
        max_points=max_points, resolution=forced,
    )  # fmt: skip
    res = got.resolution
    assert forced is None or res == forced  # finer than the counts of pass 1
    cells = [
        h3.latlng_to_cell(la, ln, 9) for ln, la in zip(*points.lng_lat, strict=True)
    ]
    parent = np.array([int(h3.cell_to_parent(c, res), 16) for c in cells], np.uint64)
    heads = [p.parent for p in got.partitions]
    assert heads == sorted(heads) and len(heads) > 2
    if forced is None:  # some partitions join parent cells; forced: one each
        assert len(np.unique(parent)) > len(heads)
    else:
        assert heads == np.unique(parent).tolist()
    seen = np.zeros(len(points), dtype=int)
    for i, part in enumerate(got.partitions):
        households, rows, stored = read_partition(part.path, WGS84)
        upper = heads[i + 1] if i + 1 < len(heads) else np.iinfo(np.uint64).max
        want = np.flatnonzero((parent >= part.parent) & (parent < upper))
        assert rows.tolist() == want.tolist()  # exactly these, in file order
        assert part.points == len(rows)
        assert [format(int(c), "x") for c in stored] == [cells[r] for r in rows]
        assert np.array_equal(households.x, points.x[rows])
        assert np.array_equal(households.weight, points.weight[rows])
        assert part.points <= max_points or len(np.unique(parent[rows])) == 1
        seen[rows] += 1
    assert (seen == 1).all()

"""The sectors each block of households looks at, found through the index.

:func:`geodx.propagation._near_sectors` must keep, for every block, exactly the sectors
the rule keeps: a sector whose reach touches the block's bounding box (the rule is
written again here, one block against every sector, as plainly as possible).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geodx.pathloss import (
    reach_km,
    sectors_at,
)
from geodx.propagation import (
    BLOCK_SIZE_M,
    REACH_SLACK_M,
    _blocks,
    _near_sectors,
    predict_rsrp,
)


def naive_near(
    bx: np.ndarray, by: np.ndarray, sx: np.ndarray, sy: np.ndarray, reach: np.ndarray
) -> list[int]:
    """Sectors within ``reach`` of the block's box, one at a time."""
    out = []
    for i in range(len(sx)):
        gx = max(bx.min() - sx[i], sx[i] - bx.max(), 0.0)
        gy = max(by.min() - sy[i], sy[i] - by.max(), 0.0)
        if math.hypot(gx, gy) <= reach[i]:
            out.append(i)
    return out


@pytest.mark.parametrize("seed", range(3))
def test_index_keeps_the_sectors_of_the_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    span = [1e3, 3e4, 2e5][seed % 3]
    x, y = rng.uniform(0, span, 400), rng.uniform(0, span, 400)
    m = 200
    sx, sy = rng.uniform(-8e3, span + 8e3, m), rng.uniform(-8e3, span + 8e3, m)
    reach = rng.uniform(0, 9e3, m)
    # Sectors exactly at their reach from a block's corner (the rule's boundary).
    blocks = _blocks(x, y, BLOCK_SIZE_M)
    first = blocks[0]
    corner_x, corner_y = x[first].min(), y[first].min()
    sx[:10], sy[:10] = corner_x - 3000.0, corner_y - 4000.0
    reach[:5], reach[5:10] = 5000.0, np.nextafter(5000.0, 0)
    sectors = sectors_at(
        sx, sy, height_m=np.full(m, 30.0), frequency_mhz=np.full(m, 1800.0),
        rs_eirp_dbm=np.full(m, 30.0),
    )  # fmt: skip
    got = _near_sectors(x, y, blocks, sectors, reach)
    assert len(got) == len(blocks)
    for rows, near in zip(blocks, got, strict=True):
        assert near.tolist() == naive_near(x[rows], y[rows], sx, sy, reach)
    assert got[0][:5].tolist() == [0, 1, 2, 3, 4]
    assert not set(got[0].tolist()) & set(range(5, 10))
    assert sum(len(g) for g in got) > 0


def test_prediction_equals_every_sector_scanned() -> None:
    """Through the index, the same RSRP bits as scanning every live sector per block."""
    rng = np.random.default_rng(11)
    x, y = rng.uniform(0, 3e4, 2000), rng.uniform(0, 3e4, 2000)
    m = 250
    sectors = sectors_at(
        rng.uniform(-2e3, 3.2e4, m), rng.uniform(-2e3, 3.2e4, m),
        height_m=rng.uniform(15, 60, m), frequency_mhz=rng.uniform(700, 2000, m),
        rs_eirp_dbm=rng.uniform(5, 40, m), azimuth_deg=rng.uniform(0, 360, m),
    )  # fmt: skip
    got = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-110.0)
    reach = reach_km(sectors, environment="urban", threshold_dbm=-110.0) * 1e3
    live = np.flatnonzero(reach >= 0)
    reach = reach[live] + REACH_SLACK_M
    want = np.full(len(x), -np.inf)
    for rows in _blocks(x, y, BLOCK_SIZE_M):
        near = naive_near(x[rows], y[rows], sectors.x[live], sectors.y[live], reach)
        if near:
            one = predict_rsrp(
                x[rows], y[rows], sectors.take(live[near]), environment="urban",
                floor_dbm=-110.0, block_size_m=1e12,
            )  # fmt: skip
            want[rows] = one
    assert np.isfinite(got).sum() > 500
    assert np.array_equal(got, want)


def test_crowded_blocks_split_and_the_answers_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dense town: blocks split down to 250 m give the bits of 2 km blocks."""
    from geodx import propagation

    rng = np.random.default_rng(4)
    x, y = rng.normal(5e3, 700, 3000), rng.normal(5e3, 700, 3000)
    m = 300
    sectors = sectors_at(
        rng.normal(5e3, 1500, m), rng.normal(5e3, 1500, m),
        height_m=rng.uniform(15, 40, m), frequency_mhz=rng.uniform(1700, 2000, m),
        rs_eirp_dbm=rng.uniform(0, 20, m), azimuth_deg=rng.uniform(0, 360, m),
    )  # fmt: skip
    monkeypatch.setattr(propagation, "SPLIT_CELLS", 10**15)  # 2 km blocks only
    whole = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-100.0)
    sizes: list[int] = []
    real = propagation._blocks

    def spy(bx: np.ndarray, by: np.ndarray, size: float) -> list[np.ndarray]:
        sizes.append(int(size))
        return real(bx, by, size)

    monkeypatch.setattr(propagation, "SPLIT_CELLS", 2000)
    monkeypatch.setattr(propagation, "_blocks", spy)
    split = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-100.0)
    assert {1000, 500, 250} <= set(sizes) and min(sizes) >= 250
    reach = whole >= -100.0
    assert 200 < reach.sum() < len(x) - 200
    assert np.array_equal(split >= -100.0, reach)
    assert np.array_equal(split[reach], whole[reach])

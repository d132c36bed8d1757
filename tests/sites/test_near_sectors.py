"""The blocks of households and the sectors each looks at.

:func:`geodx.propagation_blocks.split_blocks` must cover every household once and keep,
for every block, exactly the sectors the rule keeps: a sector whose reach touches the
block's bounding box (the rule is written again here, one block against every sector,
as plainly as possible).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geodx import propagation
from geodx.pathloss import (
    reach_km,
    sectors_at,
)
from geodx.propagation import (
    BLOCK_SIZE_M,
    MIN_BLOCK_M,
    REACH_SLACK_M,
    _reach_tree,
    predict_rsrp,
)
from geodx.propagation_blocks import Blocks, quadtree_order, split_blocks


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


def blocks_of(
    x: np.ndarray, y: np.ndarray, sx: np.ndarray, sy: np.ndarray, reach: np.ndarray,
    split_cells: int,
) -> Blocks:  # fmt: skip
    sectors = sectors_at(
        sx, sy, height_m=np.full(len(sx), 30.0),
        frequency_mhz=np.full(len(sx), 1800.0), rs_eirp_dbm=np.full(len(sx), 30.0),
    )  # fmt: skip
    return split_blocks(
        x, y, size=BLOCK_SIZE_M, min_size=MIN_BLOCK_M, split_cells=split_cells,
        sx=sx, sy=sy, reach_m=reach, tree=_reach_tree(sectors, reach),
    )  # fmt: skip


@pytest.mark.parametrize("split_cells", [10**15, 300, 1])
@pytest.mark.parametrize("seed", range(3))
def test_blocks_keep_the_sectors_of_the_rule(seed: int, split_cells: int) -> None:
    rng = np.random.default_rng(seed)
    span = [1e3, 3e4, 2e5][seed % 3]
    x, y = rng.uniform(0, span, 400), rng.uniform(0, span, 400)
    x[:40], y[:40] = x[0], y[40:80]  # households on one vertical line
    m = 200
    sx, sy = rng.uniform(-8e3, span + 8e3, m), rng.uniform(-8e3, span + 8e3, m)
    reach = rng.uniform(0, 9e3, m)
    # Sectors exactly at their reach from a block's corner (the rule's boundary).
    whole = blocks_of(x, y, sx, sy, reach, 10**15)
    first = whole.order[whole.start[0] : whole.stop[0]]
    corner_x, corner_y = x[first].min(), y[first].min()
    sx[:10], sy[:10] = corner_x - 3000.0, corner_y - 4000.0
    reach[:5], reach[5:10] = 5000.0, np.nextafter(5000.0, 0)
    got = blocks_of(x, y, sx, sy, reach, split_cells)
    runs = [got.order[a:b] for a, b in zip(got.start, got.stop, strict=True)]
    assert sorted(np.concatenate(runs).tolist()) == list(range(len(x)))
    assert np.all(np.diff(got.block) >= 0)
    pairs = 0
    for i, rows in enumerate(runs):
        near = got.sector[got.block == i]
        assert near.tolist() == naive_near(x[rows], y[rows], sx, sy, reach)
        box = [x[rows].min(), y[rows].min(), x[rows].max(), y[rows].max()]
        assert [float(b[i]) for b in got.box] == box
        assert box[2] - box[0] <= BLOCK_SIZE_M and box[3] - box[1] <= BLOCK_SIZE_M
        pairs += len(near)
        if split_cells == 1 and len(near):  # split down to the smallest blocks
            assert box[2] - box[0] <= MIN_BLOCK_M and box[3] - box[1] <= MIN_BLOCK_M
    assert pairs > 0
    if split_cells < 10**15 and seed == 0:  # 400 households in about a block
        assert len(got) > len(whole)
    if split_cells == 10**15:
        near = got.sector[got.block == 0]
        assert near[:5].tolist() == [0, 1, 2, 3, 4]
        assert not set(near.tolist()) & set(range(5, 10))


def grid_groups(x: np.ndarray, y: np.ndarray, size: float) -> list[np.ndarray]:
    """Households grouped by squares of ``size``, one square at a time."""
    key = np.floor(x / size) * 1e9 + np.floor(y / size)
    return [np.flatnonzero(key == k) for k in np.unique(key)]


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
    for rows in grid_groups(x, y, BLOCK_SIZE_M):
        near = naive_near(x[rows], y[rows], sectors.x[live], sectors.y[live], reach)
        if near:
            one = predict_rsrp(
                x[rows], y[rows], sectors.take(live[near]), environment="urban",
                floor_dbm=-110.0, block_size_m=1e12,
            )  # fmt: skip
            want[rows] = one
    above = want >= -110.0
    assert above.sum() > 500
    assert np.array_equal(got >= -110.0, above)
    assert np.array_equal(got[above], want[above])


def test_crowded_blocks_split_and_the_answers_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dense town: blocks split down to 250 m give the bits of 1 km blocks."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(5e3, 700, 3000), rng.normal(5e3, 700, 3000)
    m = 300
    sectors = sectors_at(
        rng.normal(5e3, 1500, m), rng.normal(5e3, 1500, m),
        height_m=rng.uniform(15, 40, m), frequency_mhz=rng.uniform(1700, 2000, m),
        rs_eirp_dbm=rng.uniform(0, 20, m), azimuth_deg=rng.uniform(0, 360, m),
    )  # fmt: skip
    monkeypatch.setattr(propagation, "SPLIT_CELLS", 10**15)  # 1 km blocks only
    whole = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-100.0)
    edges: list[float] = []
    real = propagation.split_blocks

    def spy(*args: object, **kwargs: object) -> Blocks:
        got = real(*args, **kwargs)  # type: ignore[arg-type]
        edges.extend(np.maximum(got.box[2] - got.box[0], got.box[3] - got.box[1]))
        return got

    monkeypatch.setattr(propagation, "SPLIT_CELLS", 2000)
    monkeypatch.setattr(propagation, "split_blocks", spy)
    split = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-100.0)
    assert max(edges) > 500 and min(edges) <= 250
    reach = whole >= -100.0
    assert 200 < reach.sum() < len(x) - 200
    assert np.array_equal(split >= -100.0, reach)
    assert np.array_equal(split[reach], whole[reach])


def test_quadtree_order_is_the_z_order_of_the_cells() -> None:
    """Keys against the plain interleave of each point's cell, edges and ties included."""
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 5e3, 500), rng.uniform(0, 5e3, 500)
    x[:50] = np.round(x[:50] / 250.0) * 250.0  # on cell edges
    y[50:100] = y[0]  # ties
    order, keys = quadtree_order(x, y, 1000.0, 2)
    rows = math.floor((y.max() - y.min()) / 1000.0) + 1
    plain = []
    for xi, yi in zip(x, y, strict=True):
        fx = math.floor((xi - x.min()) / 250.0)
        fy = math.floor((yi - y.min()) / 250.0)
        key = (fx >> 2) * rows + (fy >> 2)
        for bit in (1, 0):
            key = key * 4 + ((fx >> bit) & 1) * 2 + ((fy >> bit) & 1)
        plain.append(key)
    want = np.array(plain)
    assert np.array_equal(order, np.argsort(want, kind="stable"))
    assert np.array_equal(keys, want[order])

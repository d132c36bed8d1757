"""Sectors skipped through their bounds over a block give the answers of every sector.

The plain rule here is DESIGN.md's formula over every sector at once, one matrix of
households x sectors, with numpy's operations in the order the formula writes them
(``np.mod`` for the wrap of phi); the prediction's blocks, bounds and flat pairs must
give the same bits wherever the plain RSRP is at or above the floor, and never more
than it below.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geodx import propagation
from geodx.pathloss import (
    Sectors,
    loss_terms,
    rsrp_block,
    rsrp_pairs,
    sectors_at,
)
from geodx.propagation import (
    index_sectors,
    predict_rsrp,
)
from geodx.propagation_blocks import split_blocks
from geodx.sector_bounds import prune_pairs, rsrp_bounds


def plain_rsrp(
    x: np.ndarray, y: np.ndarray, s: Sectors, environment: str
) -> np.ndarray:
    """Best RSRP at each point over every sector: the formula, one matrix."""
    a, _ = loss_terms(s.frequency_mhz, s.height_m, environment=environment)
    k = s.rs_eirp_dbm - a
    b = 44.9 - 6.55 * np.log10(s.height_m)
    dx = x[:, None] - s.x[None, :]
    dy = y[:, None] - s.y[None, :]
    d_km = np.maximum(np.hypot(dx, dy) / 1000.0, 0.02)
    rx = k[None, :] - b[None, :] * np.log10(d_km)
    phi = np.degrees(np.arctan2(dx, dy)) - s.azimuth_deg[None, :]
    phi = np.mod(phi + 180.0, 360.0) - 180.0
    gain = 0.0 - np.minimum(12.0 * (phi / s.beamwidth_deg[None, :]) ** 2, 25.0)
    rx = rx + np.where(np.isnan(s.azimuth_deg)[None, :], 0.0, gain)
    return np.asarray(rx.max(axis=1))


def town(seed: int, n: int = 2500, m: int = 240) -> tuple[np.ndarray, ...]:
    """Households in two clusters; sectors three to a site, some omni, odd angles."""
    rng = np.random.default_rng(seed)
    x = np.r_[rng.normal(4e3, 600, n // 2), rng.uniform(0, 12e3, n - n // 2)]
    y = np.r_[rng.normal(5e3, 600, n // 2), rng.uniform(0, 12e3, n - n // 2)]
    sites = m // 3
    sx, sy = rng.uniform(-2e3, 14e3, sites), rng.uniform(-2e3, 14e3, sites)
    sx[:10], sy[:10] = x[:10], y[:10]  # a site on a household
    sx[10:20] = x[20:30]  # on the vertical line through a household (a box edge)
    sx, sy = np.repeat(sx, 3), np.repeat(sy, 3)
    azimuth = (rng.uniform(0, 360, sites)[:, None] + [0, 120, 240]).ravel() % 360
    azimuth[:6] = [0.0, 360.0, 180.0, 90.0, 270.0, 359.999999]
    azimuth[rng.random(len(azimuth)) < 0.15] = np.nan
    width = rng.choice([20.0, 33.0, 65.0, 90.0, 120.0, 360.0], len(azimuth))
    sectors = sectors_at(
        sx, sy, height_m=rng.uniform(15, 60, len(sx)),
        frequency_mhz=rng.uniform(700, 2000, len(sx)),
        rs_eirp_dbm=rng.uniform(0, 30, len(sx)), azimuth_deg=azimuth,
        beamwidth_deg=width,
    )  # fmt: skip
    return x, y, sectors


@pytest.mark.parametrize(
    ("seed", "environment", "floor"),
    [(0, "urban", -100.0), (1, "suburban", -110.0), (2, "rural", -75.0)],
)
def test_prediction_equals_every_sector_at_once(
    seed: int, environment: str, floor: float
) -> None:
    x, y, sectors = town(seed)
    want = plain_rsrp(x, y, sectors, environment)
    got = predict_rsrp(x, y, sectors, environment=environment, floor_dbm=floor)
    above = want >= floor
    assert 300 < above.sum() < len(x) - 100
    assert np.array_equal(got >= floor, above)
    assert np.array_equal(got[above], want[above])
    assert np.all(got[~above] <= want[~above])


def test_bounds_are_pruning_and_small_blocks_keep_the_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bounds drop sectors; 2 km blocks never split give the same bits."""
    x, y, sectors = town(5)
    index = index_sectors(sectors, environment="urban", floor_dbm=-105.0)
    got = split_blocks(
        x, y, size=1000.0, min_size=1000.0, split_cells=10**15, sx=index.sectors.x,
        sy=index.sectors.y, reach_m=index.reach_m, tree=index.tree,
    )  # fmt: skip
    blocks = [got.order[a:b] for a, b in zip(got.start, got.stop, strict=True)]
    near = [got.sector[got.block == i] for i in range(len(blocks))]
    keep, _, _ = prune_pairs(
        got.box, got.block, got.sector, index.bounds, blocks=len(blocks),
        floor_dbm=-105.0,
    )  # fmt: skip
    kept = [got.sector[keep & (got.block == i)] for i in range(len(blocks))]
    before = sum(len(b) * len(n) for b, n in zip(blocks, near, strict=True))
    after = sum(len(b) * len(n) for b, n in zip(blocks, kept, strict=True))
    assert after < 0.8 * before
    for n, k in zip(near, kept, strict=True):
        assert set(k.tolist()) <= set(n.tolist()) and list(k) == sorted(k)
    fine = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-105.0)
    monkeypatch.setattr(propagation, "SPLIT_CELLS", 10**15)
    coarse = predict_rsrp(
        x, y, sectors, environment="urban", floor_dbm=-105.0, block_size_m=2000.0
    )
    above = coarse >= -105.0
    assert np.array_equal(fine >= -105.0, above)
    assert np.array_equal(fine[above], coarse[above])


@pytest.mark.parametrize("seed", range(3))
def test_bounds_hold_at_every_point_of_the_box(seed: int) -> None:
    """Corners, edges and inside points of random boxes lie between the bounds."""
    rng = np.random.default_rng(seed)
    boxes, m = 60, 90
    xmin, ymin = rng.uniform(0, 5e3, boxes), rng.uniform(0, 5e3, boxes)
    w, h = rng.choice([0.0, 30.0, 400.0, 2000.0], (2, boxes))
    _, _, s = town(seed + 10, n=40, m=m)
    box_i, sec_i = (v.ravel() for v in np.meshgrid(range(boxes), range(m)))
    box = (xmin[box_i], ymin[box_i], (xmin + w)[box_i], (ymin + h)[box_i])
    a, b = loss_terms(s.frequency_mhz, s.height_m, environment="suburban")
    k = s.rs_eirp_dbm - a
    upper, lower = rsrp_bounds(
        box, s.x[sec_i], s.y[sec_i], s.azimuth_deg[sec_i], s.beamwidth_deg[sec_i],
        k[sec_i], b[sec_i],
    )  # fmt: skip
    u = np.r_[0.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 0.5, rng.random(25)]
    v = np.r_[0.0, 0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, rng.random(25)]
    for j in range(boxes):
        px, py = xmin[j] + u * w[j], ymin[j] + v * h[j]
        for i in range(m):
            one = s.take(np.array([i]))
            rx = plain_rsrp(px, py, one, "suburban")
            pair = np.flatnonzero((box_i == j) & (sec_i == i))[0]
            assert np.all(rx <= upper[pair]) and np.all(rx >= lower[pair])


def test_pairs_give_the_bits_of_the_matrix() -> None:
    x, y, sectors = town(3, n=400, m=150)
    a, b = loss_terms(sectors.frequency_mhz, sectors.height_m, environment="urban")
    k = sectors.rs_eirp_dbm - a
    want = rsrp_block(x, y, sectors, k)
    every = np.arange(len(sectors))
    rx = np.stack(
        [rsrp_pairs(np.full(len(every), xi), np.full(len(every), yi), sectors, k, b,
                    every) for xi, yi in zip(x, y, strict=True)]
    )  # fmt: skip
    assert np.array_equal(rx.max(axis=1), want)


@pytest.mark.parametrize("omni", ["none", "some", "all"])
def test_each_pair_gives_the_bits_of_its_sector_alone(omni: str) -> None:
    # The pattern is computed for the directional pairs only, in place: each pair's
    # value must still be that sector's own RSRP at that household, bit for bit.
    x, y, sectors = town(5, n=240, m=90)
    azimuth = sectors.azimuth_deg.copy()
    if omni == "none":
        azimuth[np.isnan(azimuth)] = 45.0
    elif omni == "all":
        azimuth[:] = np.nan
    sectors = dataclasses.replace(sectors, azimuth_deg=azimuth)
    a, b = loss_terms(sectors.frequency_mhz, sectors.height_m, environment="rural")
    k = sectors.rs_eirp_dbm - a
    m = len(sectors)
    house, sector = np.repeat(np.arange(len(x)), m), np.tile(np.arange(m), len(x))
    got = rsrp_pairs(x[house], y[house], sectors, k, b, sector)
    want = np.stack(
        [rsrp_block(x, y, sectors.take(np.array([i])), k[[i]]) for i in range(m)],
        axis=1,
    ).ravel()
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_an_index_is_for_one_floor() -> None:
    x, y, sectors = town(4, n=300, m=60)
    index = index_sectors(sectors, environment="urban", floor_dbm=-100.0)
    with pytest.raises(ValueError, match="another floor"):
        predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-90.0, index=index)
    got = predict_rsrp(
        x, y, sectors, environment="urban", floor_dbm=-100.0, index=index
    )
    again = predict_rsrp(x, y, sectors, environment="urban", floor_dbm=-100.0)
    assert np.array_equal(got, again)

"""The blocked, vectorised prediction against DESIGN.md transcribed literally (naive.py)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from geodx.manifest_specs import LayerSpec
from geodx.pathloss import (
    Sectors,
    cutoff_radius_km,
    loss_terms,
    path_loss_db,
    reach_km,
    rsrp_block,
    sectors_at,
)
from geodx.points import WGS84, HouseholdPoints
from geodx.propagation import (
    predict_rsrp,
)
from layers.sites import SiteLayer

from .naive import (
    UTM_EPSG,
    Sector,
    naive_rsrp,
    path_loss,
    random_households,
    random_sectors,
    to_utm,
    write_sectors,
)

UTM = CRS.from_epsg(UTM_EPSG)
THRESHOLD = -105.0


def site_layer(path: Path, environment: str, **extra: float) -> SiteLayer:
    spec = LayerSpec(
        id="sites",
        kind="mobile",
        technology="4G",
        path=path,
        min_rsrp_dbm=THRESHOLD,
        model="cost231-hata",
        environment=environment,
        **extra,  # type: ignore[arg-type]
    )
    return SiteLayer.open(spec, metric_crs=UTM)


@pytest.mark.parametrize("environment", ["urban", "suburban", "rural"])
def test_layer_equals_the_literal_formula(tmp_path: Path, environment: str) -> None:
    rng = np.random.default_rng(7)
    sectors = random_sectors(rng, 40)
    lon, lat = random_households(rng, 1500)
    layer = site_layer(
        write_sectors(tmp_path / "s.csv", sectors), environment, indoor_loss_db=8.0
    )
    households = HouseholdPoints(lon, lat, np.ones(len(lon)), WGS84)
    got = layer.rsrp(households)
    want = naive_rsrp(lon, lat, sectors, environment)
    above = want >= THRESHOLD
    assert 10 < above.sum() < len(above) - 10  # a test that can fail both ways
    np.testing.assert_allclose(got[above], want[above], rtol=0, atol=1e-9)
    assert np.all(got[~above] < THRESHOLD)
    away = np.abs(want - THRESHOLD) > 1e-6
    covered = layer.covers(households)
    assert np.array_equal(covered[away], above[away])
    indoor = layer.covers_indoor(households)
    assert indoor is not None
    indoor_want = want - 8.0 >= THRESHOLD
    away = np.abs(want - 8.0 - THRESHOLD) > 1e-6
    assert np.array_equal(indoor[away], indoor_want[away])
    assert 0 < indoor_want.sum() < above.sum()


def test_environments_differ_by_the_written_constants() -> None:
    f, hb, d = 1800.0, 40.0, 2.5
    sub = float(path_loss_db(f, hb, d, environment="suburban"))
    assert float(path_loss_db(f, hb, d, environment="urban")) == pytest.approx(
        sub + 3.0, abs=1e-12
    )
    lf = math.log10(f)
    rural = sub - 4.78 * lf**2 + 18.33 * lf - 40.94
    assert float(path_loss_db(f, hb, d, environment="rural")) == pytest.approx(
        rural, abs=1e-12
    )
    for env in ("urban", "suburban", "rural"):
        assert float(path_loss_db(f, hb, d, environment=env)) == pytest.approx(
            path_loss(f, hb, d, env), abs=1e-12
        )
    # d is floored at 0.02 km
    assert float(path_loss_db(f, hb, 0.0, environment="urban")) == pytest.approx(
        path_loss(f, hb, 0.02, "urban"), abs=1e-12
    )


def one_sector(
    azimuth: float | None, beamwidth: float | None = None
) -> tuple[list[Sector], float, float]:
    s = Sector(108.0, 12.6, 30.0, 1800.0, 30.0, azimuth, beamwidth)
    x, y = to_utm(s.lon, s.lat)
    return [s], x, y


def predicted_at(sectors: list[Sector], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    sx, sy = zip(*(to_utm(s.lon, s.lat) for s in sectors), strict=True)
    built = sectors_at(
        list(sx),
        list(sy),
        height_m=[s.height_m for s in sectors],
        frequency_mhz=[s.frequency_mhz for s in sectors],
        rs_eirp_dbm=[s.rs_eirp_dbm for s in sectors],
        azimuth_deg=[
            math.nan if s.azimuth_deg is None else s.azimuth_deg for s in sectors
        ],
        beamwidth_deg=[
            65.0 if s.beamwidth_deg is None else s.beamwidth_deg for s in sectors
        ],
    )
    return predict_rsrp(x, y, built, environment="suburban", floor_dbm=-156.0)


def test_phi_wraps_at_180() -> None:
    # Azimuth 350: a household at bearing 10 is 20 degrees off, not 340.
    sectors, x, y = one_sector(350.0)
    r = 400.0
    bearings = np.radians([10.0, 170.0, 190.0, 350.0, 0.0])
    got = predicted_at(sectors, x + r * np.sin(bearings), y + r * np.cos(bearings))
    base = 30.0 - path_loss(1800.0, 30.0, 0.4, "suburban")
    want = [
        base - 12 * (20 / 65) ** 2,
        base - 25,
        base - 25,
        base,
        base - 12 * (10 / 65) ** 2,
    ]
    np.testing.assert_allclose(got, want, atol=1e-9)
    # Azimuth 179 and a household at bearing 181 (= -179): 2 degrees off.
    sectors, x, y = one_sector(179.0, 30.0)
    b = math.radians(181.0)
    got = predicted_at(
        sectors, np.array([x + r * math.sin(b)]), np.array([y + r * math.cos(b)])
    )
    np.testing.assert_allclose(got, [base - 12 * (2 / 30) ** 2], atol=1e-9)


def test_omnidirectional_sector_is_the_same_all_round() -> None:
    sectors, x, y = one_sector(None)
    angles = np.radians(np.arange(0, 360, 15))
    got = predicted_at(sectors, x + 700 * np.sin(angles), y + 700 * np.cos(angles))
    np.testing.assert_allclose(
        got, 30.0 - path_loss(1800.0, 30.0, 0.7, "suburban"), atol=1e-9
    )


@pytest.mark.parametrize("environment", ["urban", "suburban", "rural"])
def test_reach_is_where_the_sector_meets_the_threshold(environment: str) -> None:
    s = sectors_at(
        [0.0, 0.0],
        [0.0, 0.0],
        height_m=[45.0, 200.0],
        frequency_mhz=[1900.0, 1500.0],
        rs_eirp_dbm=[25.0, 50.0],
    )
    d = reach_km(s, environment=environment, threshold_dbm=THRESHOLD)
    for i in range(2):
        rx = float(s.rs_eirp_dbm[i]) - path_loss(
            float(s.frequency_mhz[i]), float(s.height_m[i]), float(d[i]), environment
        )
        assert rx == pytest.approx(THRESHOLD, abs=1e-9)
        farther = float(s.rs_eirp_dbm[i]) - path_loss(
            float(s.frequency_mhz[i]),
            float(s.height_m[i]),
            float(d[i]) * 1.001,
            environment,
        )
        assert farther < THRESHOLD
    # The layer's cut-off is the best sector's reach: max EIRP, max height, lowest f.
    assert cutoff_radius_km(
        s, environment=environment, threshold_dbm=THRESHOLD
    ) == pytest.approx(float(d.max()))
    weak = sectors_at(
        [0.0], [0.0], height_m=[30.0], frequency_mhz=[2000.0], rs_eirp_dbm=[-20.0]
    )
    assert reach_km(weak, environment=environment, threshold_dbm=-31.0)[0] == -1.0


def test_cutoff_bounds_every_sector(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    sectors = random_sectors(rng, 50)
    layer = site_layer(write_sectors(tmp_path / "s.csv", sectors), "rural")
    reach = reach_km(layer.sectors, environment="rural", threshold_dbm=THRESHOLD)
    cut = cutoff_radius_km(layer.sectors, environment="rural", threshold_dbm=THRESHOLD)
    assert reach.max() <= cut
    best = reach_km(
        sectors_at(
            [0.0], [0.0], height_m=[80.0], frequency_mhz=[1500.0], rs_eirp_dbm=[22.0]
        ),
        environment="rural",
        threshold_dbm=THRESHOLD,
    )[0]
    assert reach.max() < cut <= best


def full_evaluation(
    x: np.ndarray, y: np.ndarray, sectors: Sectors, environment: str
) -> np.ndarray:
    a, _ = loss_terms(sectors.frequency_mhz, sectors.height_m, environment=environment)
    return rsrp_block(x, y, sectors, sectors.rs_eirp_dbm - a)


sector_rows = st.lists(
    st.tuples(
        st.floats(-3000, 3000),
        st.floats(-3000, 3000),
        st.floats(1, 300),
        st.floats(150, 2000),
        st.floats(-20, 60),
        st.one_of(st.none(), st.floats(0, 360)),
        st.floats(1, 360),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=sector_rows,
    seed=st.integers(0, 2**32 - 1),
    environment=st.sampled_from(["urban", "suburban", "rural"]),
    floor=st.floats(-140, -60),
    block=st.sampled_from([50.0, 400.0, 2000.0]),
)
def test_cutoff_never_drops_a_sector_that_could_cover(
    rows: list[tuple[float, ...]],
    seed: int,
    environment: str,
    floor: float,
    block: float,
) -> None:
    x0, y0, h, f, e, az, bw = (list(c) for c in zip(*rows, strict=True))
    sectors = sectors_at(
        x0,
        y0,
        height_m=h,
        frequency_mhz=f,
        rs_eirp_dbm=e,
        azimuth_deg=[math.nan if a is None else a for a in az],
        beamwidth_deg=bw,
    )
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-6000, 6000, 300), rng.uniform(-6000, 6000, 300)
    full = full_evaluation(x, y, sectors, environment)
    blocked = predict_rsrp(
        x,
        y,
        sectors,
        environment=environment,
        floor_dbm=floor,
        block_size_m=block,
        max_cells=97,
    )
    reaches = full >= floor
    assert np.array_equal(blocked >= floor, reaches)
    np.testing.assert_allclose(blocked[reaches], full[reaches], rtol=0, atol=1e-9)
    assert np.all(blocked <= full + 1e-9)

"""Households from counts (DESIGN.md): the spread against the rule written naively."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS, Transformer

from geodx.counts import estimate_households
from geodx.io import read_communes
from geodx.limits import DEFAULT_LIMITS
from geodx.manifest_specs import (
    CommunesSpec,
    CountsSpec,
)
from geodx.spread import Spread

from .world import (
    COUNTS,
    UTM,
    X0,
    Y0,
    brute_pixels,
    brute_spread,
    communes_frame,
    write_communes,
    write_counts,
    write_density,
)


@pytest.fixture
def communes(tmp_path: Path) -> gpd.GeoDataFrame:
    spec = CommunesSpec(
        write_communes(tmp_path / "c.gpkg"), code="ma_xa", name="ten_xa"
    )
    return read_communes(spec)


def spread_of(
    tmp_path: Path, communes: gpd.GeoDataFrame, spread: Path | None
) -> Spread:
    spec = CountsSpec(
        counts=write_counts(tmp_path / "counts.csv"),
        code="ma",
        households="so_ho",
        spread=spread,
    )
    result, _ = estimate_households(spec, communes, utm=CRS(UTM), limits=DEFAULT_LIMITS)
    return result


def per_commune(spread: Spread, communes: gpd.GeoDataFrame) -> dict[str, float]:
    sums = np.bincount(
        spread.commune, weights=spread.points.weight, minlength=len(communes)
    )
    return dict(zip(communes["commune_code"], sums.tolist(), strict=True))


def assert_conserved(spread: Spread, communes: gpd.GeoDataFrame) -> None:
    got = per_commune(spread, communes)
    for code, total in got.items():
        assert total == pytest.approx(COUNTS.get(code, 0.0), rel=1e-12), code
    assert sum(got.values()) == pytest.approx(
        sum(v for k, v in COUNTS.items() if k != "999")
    )


def as_rows(spread: Spread, communes: gpd.GeoDataFrame) -> list[tuple]:
    codes = communes["commune_code"].to_numpy()
    p = spread.points
    return sorted(
        (round(x, 6), round(y, 6), w, str(codes[i]))
        for x, y, w, i in zip(p.x, p.y, p.weight, spread.commune, strict=True)
    )


def assert_same(got: list[tuple], expected: list[tuple]) -> None:
    want = sorted((round(x, 6), round(y, 6), w, c) for x, y, w, c in expected)
    assert len(got) == len(want)
    for g, e in zip(got, want, strict=True):
        assert g[:2] == e[:2] and g[3] == e[3]
        assert g[2] == pytest.approx(e[2], rel=1e-12)


def test_raster_spread_is_the_rule_and_conserves_counts(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    tif = write_density(tmp_path / "pop.tif")
    spread = spread_of(tmp_path, communes, tif)
    assert_conserved(spread, communes)
    expected = brute_spread(brute_pixels(tif), communes_frame(), COUNTS)
    assert_same(as_rows(spread, communes), expected)
    # "005" lies off the raster: its count sits on its point_on_surface.
    assert spread.fallback.tolist() == [False, False, False, False, True]


def test_nodata_zero_and_negative_pixels_get_nothing(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    tif = write_density(tmp_path / "pop.tif")
    spread = spread_of(tmp_path, communes, tif)
    placed = set(zip(spread.points.x.tolist(), spread.points.y.tolist(), strict=True))
    empty = [(x, y) for x, y, v in brute_pixels(tif) if not v > 0]
    assert empty and not placed & set(empty)


def test_a_pixel_centre_on_a_shared_boundary_goes_to_the_smallest_code(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    tif = write_density(tmp_path / "pop.tif")
    spread = spread_of(tmp_path, communes, tif)
    codes = communes["commune_code"].to_numpy()[spread.commune]
    x, y = spread.points.x, spread.points.y
    edge = (x == X0 + 2_000) & (y > Y0) & (y < Y0 + 2_000)  # 001 | 002
    corner = (x == X0 + 2_000) & (y == Y0 + 2_000)  # 001, 002, 003, 004 meet
    top = (y == Y0 + 2_000) & (x > X0 + 2_000) & (x < X0 + 4_000)  # 002 | 004
    assert edge.sum() > 5 and set(codes[edge]) == {"001"}
    assert set(codes[corner]) <= {"001"}
    assert top.sum() > 5 and set(codes[top]) == {"002"}


def test_the_mask_band_is_honoured(tmp_path: Path, communes: gpd.GeoDataFrame) -> None:
    tif = tmp_path / "masked.tif"
    values = np.full((20, 20), 4, dtype=np.uint8)
    mask = np.full((20, 20), 255, dtype=np.uint8)
    mask[:, :10] = 0  # the western half of 001 is masked
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="uint8",
        crs=UTM,
        transform=rasterio.transform.from_origin(X0 - 50, Y0 + 1_950, 100, 100),
    ) as dst:
        dst.write(values, 1)
        dst.write_mask(mask)
    spread = spread_of(tmp_path, communes, tif)
    assert_conserved(spread, communes)
    assert_same(
        as_rows(spread, communes),
        brute_spread(brute_pixels(tif), communes_frame(), COUNTS),
    )
    assert spread.points.x[spread.commune == 0].min() == X0 + 1_000
    assert spread.fallback[1]  # 002 lies east of the raster


def buildings(kind: str) -> gpd.GeoDataFrame:
    """Buildings in WGS84 over communes 001-004 (none over 005), one on a boundary."""
    rng = np.random.default_rng(3)
    x = rng.uniform(X0 + 10, X0 + 3_990, 300)
    y = rng.uniform(Y0 + 10, Y0 + 3_990, 300)
    x[0], y[0] = X0 + 2_000, Y0 + 500  # a building point on the 001 | 002 boundary
    if kind == "points":
        geoms = shapely.points(x, y)
    else:
        half = rng.uniform(3, 15, 300)
        geoms = shapely.box(x - half, y - half, x + half, y + half * 0.5)
    return gpd.GeoDataFrame(geometry=geoms, crs=UTM).to_crs(4326)


@pytest.mark.parametrize("kind", ["polygons", "points"])
def test_building_spread_is_the_rule_and_conserves_counts(
    tmp_path: Path, communes: gpd.GeoDataFrame, kind: str
) -> None:
    frame = buildings(kind)
    path = tmp_path / "buildings.gpkg"
    frame.to_file(path, driver="GPKG")
    spread = spread_of(tmp_path, communes, path)
    assert_conserved(spread, communes)
    # Naively: centroid and area in the region's UTM zone, one building at a time.
    utm = gpd.read_file(path).to_crs(UTM)
    cands = []
    for geom in utm.geometry:
        if kind == "points":
            cands.append((geom.x, geom.y, 1.0))
        else:
            c = geom.centroid
            cands.append((c.x, c.y, geom.area))
    expected = brute_spread(cands, communes_frame(), COUNTS)
    assert_same(as_rows(spread, communes), expected)


def test_without_spread_every_commune_uses_the_fallback(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    spread = spread_of(tmp_path, communes, None)
    assert_conserved(spread, communes)
    assert spread.fallback.tolist() == [True, True, True, False, True]
    for i, x, y in zip(spread.commune, spread.points.x, spread.points.y, strict=True):
        expected = communes.geometry.iloc[i].point_on_surface()
        assert (x, y) == (expected.x, expected.y)


def test_counts_whose_code_is_no_commune_are_not_placed(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    spec = CountsSpec(
        counts=write_counts(tmp_path / "counts.csv"), code="ma", households="so_ho"
    )
    _, matched = estimate_households(
        spec, communes, utm=CRS(UTM), limits=DEFAULT_LIMITS
    )
    assert matched.not_placed == 9.0
    assert matched.not_placed_codes == ("999",)


def test_a_raster_in_another_crs_is_assigned_at_its_pixel_centres(
    tmp_path: Path, communes: gpd.GeoDataFrame
) -> None:
    """A WGS84 density raster over UTM communes: centres moved with pyproj, then covers."""
    box = gpd.GeoSeries([shapely.box(X0, Y0, X0 + 8_000, Y0 + 4_000)], crs=UTM)
    west, south, east, north = box.to_crs(4326).total_bounds
    tif = tmp_path / "wgs84.tif"
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 5, size=(40, 80)).astype(np.float32)
    with rasterio.open(
        tif, "w", driver="GTiff", width=80, height=40, count=1, dtype="float32",
        crs="EPSG:4326", nodata=0,
        transform=rasterio.transform.from_bounds(west, south, east, north, 80, 40),
    ) as dst:  # fmt: skip
        dst.write(raw, 1)
    spread = spread_of(tmp_path, communes, tif)
    assert_conserved(spread, communes)
    move = Transformer.from_crs(4326, UTM, always_xy=True)
    cands = [(*move.transform(x, y), v) for x, y, v in brute_pixels(tif)]
    expected = brute_spread(cands, communes_frame(), COUNTS)
    assert_same(as_rows(spread, communes), expected)

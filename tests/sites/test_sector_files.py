"""Sector files are untrusted input: every bad value is one line naming file, column, row."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from geodx.errors import (
    GeodxError,
    GeodxWarning,
    ManifestError,
    MissingColumn,
    UnsupportedFormat,
)
from geodx.manifest import load_manifest
from geodx.manifest_specs import LayerSpec
from layers.registry import open_layer
from layers.sites import SiteLayer, read_sectors

from .naive import UTM_EPSG, to_utm

UTM = CRS.from_epsg(UTM_EPSG)
GOOD = {
    "lon": [108.0, 108.01, 108.02],
    "lat": [12.6, 12.61, 12.62],
    "height_m": [30, 45, 60],
    "frequency_mhz": [1800, 1800, 2000],
    "rs_eirp_dbm": [18.0, 20.0, 22.0],
    "azimuth_deg": [0.0, None, 240.0],
    "beamwidth_deg": [65.0, None, None],
}


def spec_for(path: Path) -> LayerSpec:
    return LayerSpec(
        id="s",
        kind="mobile",
        technology="4G",
        path=path,
        model="cost231-hata",
        environment="urban",
    )


def write_csv(tmp_path: Path, **changes: list[object]) -> Path:
    columns = {**GOOD, **changes}
    frame = pd.DataFrame({k: v for k, v in columns.items() if v is not None})
    path = tmp_path / "sectors.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_good_file_reads_with_defaults(tmp_path: Path) -> None:
    sectors = read_sectors(spec_for(write_csv(tmp_path)), metric_crs=UTM)
    assert len(sectors) == 3
    assert math.isnan(sectors.azimuth_deg[1])  # empty azimuth: omnidirectional
    assert list(sectors.beamwidth_deg) == [65.0, 65.0, 65.0]
    x, y = to_utm(108.01, 12.61)
    assert sectors.x[1] == pytest.approx(x, abs=1e-6)
    assert sectors.y[1] == pytest.approx(y, abs=1e-6)


def test_a_point_file_and_parquet_read_the_same(tmp_path: Path) -> None:
    frame = pd.DataFrame(GOOD)
    want = read_sectors(spec_for(write_csv(tmp_path)), metric_crs=UTM)
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    points = gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]),
        geometry=shapely.points(frame["lon"], frame["lat"]),
        crs=4326,
    ).to_crs(3857)
    points.to_file(tmp_path / "s.gpkg", driver="GPKG")
    for name in ("s.parquet", "s.gpkg"):
        got = read_sectors(spec_for(tmp_path / name), metric_crs=UTM)
        np.testing.assert_allclose(got.x, want.x, atol=1e-5)
        np.testing.assert_allclose(got.y, want.y, atol=1e-5)
        np.testing.assert_array_equal(got.height_m, want.height_m)
        np.testing.assert_array_equal(
            np.isnan(got.azimuth_deg), np.isnan(want.azimuth_deg)
        )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rs_eirp_dbm": None}, "sector column 'rs_eirp_dbm' not found"),
        ({"height_m": [30, None, 60]}, "'height_m' is empty in data row 2"),
        ({"height_m": [30, "nan", 60]}, "'height_m' is 'nan' in data row 2"),
        (
            {"height_m": [30, 45, 0]},
            "'height_m' is '0' in data row 3; expected a number in [1, 300] m",
        ),
        (
            {"frequency_mhz": [5, 1800, 1800]},
            "'frequency_mhz' is '5' in data row 1; expected a number in [150, 2000] MHz",
        ),
        ({"azimuth_deg": [0, 400, 10]}, "'azimuth_deg' is '400' in data row 2"),
        ({"azimuth_deg": [0, "north", 10]}, "'azimuth_deg' is 'north' in data row 2"),
        (
            {"beamwidth_deg": [0, 65, 65]},
            "'beamwidth_deg' is '0' in data row 1; expected a number in (0, 360]",
        ),
        ({"rs_eirp_dbm": [18, 20, 120]}, "'rs_eirp_dbm' is '120' in data row 3"),
        ({"lat": [12.6, 95, 12.6]}, "'lat' is '95.0' in data row 2"),
    ],
)
def test_bad_sector_files_are_one_line_errors(
    tmp_path: Path, changes: dict[str, list[object]], expected: str
) -> None:
    path = write_csv(tmp_path, **changes)
    with pytest.raises(GeodxError) as info:
        read_sectors(spec_for(path), metric_crs=UTM)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message
    if "not found" in expected:
        assert isinstance(info.value, MissingColumn)


def test_parquet_text_columns_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({**GOOD, "height_m": ["30", "45", "60"]})
    frame.to_parquet(tmp_path / "s.parquet", index=False)
    with pytest.raises(
        GeodxError, match=r"sector column 'height_m' is (large_)?string, not numeric"
    ):
        read_sectors(spec_for(tmp_path / "s.parquet"), metric_crs=UTM)


def test_outside_the_models_own_range_warns_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path, height_m=[15, 45, 20], frequency_mhz=[900, 1800, 1800])
    with pytest.warns(GeodxWarning) as record:
        read_sectors(spec_for(path), metric_crs=UTM)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert (
        "2 sector(s) have height_m outside COST-231 Hata's [30, 200] m (first data row 1: 15)"
        in messages[0]
    )
    assert "1 sector(s) have frequency_mhz outside" in messages[1]


def manifest_with(tmp_path: Path, layer: str) -> Path:
    (tmp_path / "c.geojson").write_text('{"type":"FeatureCollection","features":[]}')
    (tmp_path / "h.csv").write_text("lon,lat\n")
    write_csv(tmp_path)
    text = f"""
[region]
h3_resolution = 8
[communes]
path = "c.geojson"
[households]
path = "h.csv"
[[layers]]
id = "x"
path = "sectors.csv"
{layer}
"""
    (tmp_path / "region.toml").write_text(text)
    return tmp_path


def test_manifest_keys(tmp_path: Path) -> None:
    good = 'kind = "mobile"\ntechnology = "4G"\nmodel = "cost231-hata"\nenvironment = "rural"\nindoor_loss_db = 12'
    spec = load_manifest(manifest_with(tmp_path, good)).layers[0]
    assert (spec.model, spec.environment, spec.indoor_loss_db) == (
        "cost231-hata",
        "rural",
        12.0,
    )
    plain = load_manifest(
        manifest_with(tmp_path, 'kind = "mobile"\ntechnology = "4G"')
    ).layers[0]
    assert (plain.model, plain.environment, plain.indoor_loss_db) == (None, None, None)


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (
            'kind = "mobile"\ntechnology = "4G"\nmodel = "okumura"\nenvironment = "urban"',
            "'model' was 'okumura'; expected one of ('cost231-hata',)",
        ),
        (
            'kind = "fibre"\nmodel = "cost231-hata"\nenvironment = "urban"',
            "'model' is for mobile layers only",
        ),
        (
            'kind = "mobile"\ntechnology = "4G"\nmodel = "cost231-hata"',
            "'environment' was None; expected one of",
        ),
        (
            'kind = "mobile"\ntechnology = "4G"\nmodel = "cost231-hata"\nenvironment = "city"',
            "'environment' was 'city'",
        ),
        (
            'kind = "mobile"\ntechnology = "4G"\nenvironment = "urban"',
            "'environment' needs 'model'",
        ),
        (
            'kind = "mobile"\ntechnology = "4G"\nmodel = "cost231-hata"\nenvironment = "urban"\nindoor_loss_db = -3',
            "'indoor_loss_db' was -3; expected a value in [0.0, 60.0]",
        ),
    ],
)
def test_manifest_refusals(tmp_path: Path, layer: str, expected: str) -> None:
    with pytest.raises(ManifestError, match=None) as info:
        load_manifest(manifest_with(tmp_path, layer))
    assert expected in str(info.value)


def test_the_registry_routes_model_layers(tmp_path: Path) -> None:
    spec = LayerSpec(
        id="s",
        kind="mobile",
        technology="4G",
        path=write_csv(tmp_path),
        model="cost231-hata",
        environment="rural",
        min_rsrp_dbm=-110.0,
    )
    assert isinstance(open_layer(spec, metric_crs=UTM), SiteLayer)  # no warning
    raster = LayerSpec(
        id="s",
        kind="mobile",
        technology="4G",
        path=tmp_path / "s.tif",
        model="cost231-hata",
        environment="rural",
    )
    with pytest.raises(
        UnsupportedFormat, match="sector table or point file, not a raster"
    ):
        open_layer(raster, metric_crs=UTM)

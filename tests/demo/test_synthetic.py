"""The synthetic demo province: determinism, manifest, files, shapes, households."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pyproj
import pytest
import rasterio
import shapely

from data import build_synthetic_region
from data.errors import DemoInputError

HOUSEHOLDS = 2_000
LAYER_KEYS = {
    "id",
    "kind",
    "operator",
    "technology",
    "path",
    "service_distance_m",
    "min_rsrp_dbm",
    "model",
    "environment",
    "indoor_loss_db",
    "min_download_mbps",
    "min_tests",
}


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
    }


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_region(
        tmp_path_factory.mktemp("demo"), seed=7, households=HOUSEHOLDS
    )


@pytest.fixture(scope="module")
def manifest(region: Path) -> dict[str, object]:
    return tomllib.loads(region.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def communes(region: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(region.parent / "communes.gpkg")


def test_same_seed_gives_identical_files(region: Path, tmp_path: Path) -> None:
    again = build_synthetic_region(tmp_path, seed=7, households=HOUSEHOLDS)
    assert digests(again.parent) == digests(region.parent)


def test_households_only_change_the_household_file(
    region: Path, tmp_path: Path
) -> None:
    other = digests(build_synthetic_region(tmp_path, seed=7, households=3_000).parent)
    same = digests(region.parent)
    changed = {name for name in same if same[name] != other[name]}
    # the source names the size; the density raster is the households' own
    assert changed == {"households.parquet", "density.tif", "region.toml"}


def test_another_seed_gives_another_province(region: Path, tmp_path: Path) -> None:
    other = build_synthetic_region(tmp_path, seed=8, households=HOUSEHOLDS)
    assert (
        digests(other.parent)["communes.gpkg"]
        != digests(region.parent)["communes.gpkg"]
    )


def test_manifest_has_the_contract_keys(manifest: dict[str, object]) -> None:
    assert list(manifest) == ["region", "communes", "households", "layers", "targets"]
    region = manifest["region"]
    assert isinstance(region, dict)
    assert set(region) == {"name", "h3_resolution", "synthetic", "source"}
    assert region["synthetic"] is True
    assert "synthetic" in region["name"] and "mô phỏng" in region["name"]
    assert manifest["communes"] == {
        "path": "communes.gpkg",
        "code": "ma_xa",
        "name": "ten_xa",
        "district_code": "ma_huyen",
        "district_name": "ten_huyen",
    }
    assert manifest["households"] == {
        "path": "households.parquet",
        "lon": "lon",
        "lat": "lat",
        "weight": "households",
    }
    assert manifest["targets"] == {
        "fibre_household_pct": 90,
        "mobile_commune_pct": 100,
        "mobile_commune_household_pct": 95,
    }


def test_layers_cover_three_operators_and_both_kinds(
    manifest: dict[str, object], region: Path
) -> None:
    every = manifest["layers"]
    assert isinstance(every, list)
    assert all(set(layer) <= LAYER_KEYS for layer in every)
    assert len({layer["id"] for layer in every}) == len(every)
    assert all((region.parent / layer["path"]).is_file() for layer in every)
    (tiles,) = [layer for layer in every if layer["kind"] == "measured"]
    assert tiles == {
        "id": "ookla-mobile-synthetic",
        "kind": "measured",
        "path": "ookla_tiles.parquet",
        "min_download_mbps": 10,
        "min_tests": 3,
    }
    assert every[-1] == tiles  # last: the other layers do not change with it
    layers = every[:-1]
    operators = {layer["operator"] for layer in layers}
    assert operators == {"VNPT", "Viettel", "MobiFone", "Vietnamobile"}
    techs = {(layer["kind"], layer.get("technology")) for layer in layers}
    assert techs == {("fibre", None), ("mobile", "4G"), ("mobile", "5G")}
    assert all((region.parent / layer["path"]).is_file() for layer in layers)
    suffixes = {Path(layer["path"]).suffix for layer in layers}
    assert {".gpkg", ".fgb", ".geojson", ".parquet", ".tif", ".csv"} <= suffixes
    (sites,) = [layer for layer in layers if "model" in layer]
    assert sites == {
        "id": "vietnamobile-4g-sites",
        "kind": "mobile",
        "operator": "Vietnamobile",
        "technology": "4G",
        "path": "vietnamobile_4g_sites.csv",
        "model": "cost231-hata",
        "environment": "suburban",
        "min_rsrp_dbm": -105,
        "indoor_loss_db": 10,
    }


def test_manifest_loads_with_the_engine_parser(region: Path) -> None:
    manifest = pytest.importorskip("geodx.manifest")
    parsed = manifest.load_manifest(region)
    assert parsed.synthetic is True
    assert parsed.communes.code == "ma_xa"
    assert len(parsed.layers) == 10
    assert [spec.id for spec in parsed.measured] == ["ookla-mobile-synthetic"]


@pytest.mark.parametrize(
    ("name", "epsg", "geom_type"),
    [
        ("communes.gpkg", 4326, None),
        ("vnpt_fibre_areas.gpkg", 4326, "Polygon"),
        ("viettel_fibre_routes.fgb", 32649, "LineString"),
        ("vnpt_fibre_splitters.geojson", 4326, "Point"),
        ("viettel_5g.geojson", 4326, "Polygon"),
        ("mobifone_5g.fgb", 4326, "Polygon"),
    ],
)
def test_vector_files_open_in_their_crs(
    region: Path, name: str, epsg: int, geom_type: str | None
) -> None:
    frame = gpd.read_file(region.parent / name)
    assert frame.crs == pyproj.CRS.from_epsg(epsg)
    assert len(frame) > 0 and frame.is_valid.all()
    if geom_type:
        assert set(frame.geom_type) == {geom_type}


def test_geoparquet_layer_opens(region: Path) -> None:
    frame = gpd.read_parquet(region.parent / "vnpt_5g.parquet")
    assert frame.crs == pyproj.CRS.from_epsg(4326)
    assert set(frame.geom_type) == {"Polygon"}


@pytest.mark.parametrize(
    ("name", "epsg"),
    [
        ("viettel_4g_rsrp.tif", 4326),
        ("vnpt_4g_rsrp.tif", 32649),
        ("mobifone_4g_rsrp.tif", 3857),
    ],
)
def test_rasters_are_float32_dbm_with_nodata(
    region: Path, name: str, epsg: int
) -> None:
    with rasterio.open(region.parent / name) as src:
        assert src.crs.to_epsg() == epsg
        assert src.dtypes == ("float32",) and src.nodata == -9999.0
        values = src.read(1, masked=True)
    assert values.mask.any() and not values.mask.all()
    assert values.min() >= -140 and values.max() <= -44


def test_one_raster_covers_only_part_of_the_province(
    region: Path, communes: gpd.GeoDataFrame
) -> None:
    with rasterio.open(region.parent / "mobifone_4g_rsrp.tif") as src:
        box = shapely.box(*src.bounds)
    province = shapely.union_all(communes.to_crs(3857).geometry)
    assert 0.3 < province.intersection(box).area / province.area < 0.9


def test_communes_have_gso_codes_and_synthetic_names(
    communes: gpd.GeoDataFrame,
) -> None:
    assert 140 <= len(communes) <= 170
    assert communes["ma_xa"].str.fullmatch(r"\d{5}").all()
    assert communes["ma_xa"].is_unique
    assert communes["ma_huyen"].str.fullmatch(r"\d{3}").all()
    assert communes["ma_huyen"].nunique() == 15
    assert communes["ten_xa"].is_unique
    assert communes["ten_xa"].str.endswith("(mô phỏng)").all()
    assert communes["ten_huyen"].str.endswith("(mô phỏng)").all()
    # every district has one name
    assert (communes.groupby("ma_huyen")["ten_huyen"].nunique() == 1).all()


def test_communes_tile_the_province_without_overlap(communes: gpd.GeoDataFrame) -> None:
    metric = communes.to_crs(32649)
    union = shapely.union_all(metric.geometry)
    assert union.area == pytest.approx(metric.area.sum(), rel=1e-6)
    bounds = communes.total_bounds
    assert (
        bounds[0] > 107.3
        and bounds[2] < 109.6
        and bounds[1] > 12.0
        and bounds[3] < 13.8
    )


def test_a_two_part_commune_and_an_enclave_exist(communes: gpd.GeoDataFrame) -> None:
    parts = shapely.get_num_geometries(communes.geometry.to_numpy())
    assert (parts == 2).sum() >= 1
    holes = [
        shapely.Polygon(ring)
        for geom in communes.geometry
        for poly in shapely.get_parts(geom)
        for ring in poly.interiors
    ]
    enclosed = communes.geometry.apply(
        lambda g: any(h.buffer(1e-9).contains(g) for h in holes)
    )
    assert communes.loc[enclosed, "loai"].tolist() == ["Thị trấn"]
    two_part = communes.geometry[parts == 2].iloc[0]
    assert any(h.buffer(1e-9).contains(p) for h in holes for p in two_part.geoms)


def test_households_add_up_and_some_lie_outside(
    region: Path, communes: gpd.GeoDataFrame
) -> None:
    table = pl.read_parquet(region.parent / "households.parquet")
    assert table.columns == ["lon", "lat", "households"]
    weight = table["households"].to_numpy()
    assert weight.sum() == HOUSEHOLDS
    assert weight.min() >= 1 and weight.max() > 1
    points = shapely.points(table["lon"].to_numpy(), table["lat"].to_numpy())
    inside = np.zeros(len(points), dtype=bool)
    hit = communes.sindex.query(points, predicate="covered_by")[0]
    inside[hit] = True
    assert (~inside).sum() == max(3, HOUSEHOLDS // 2_500)


def test_tiny_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoInputError, match="households was 10"):
        build_synthetic_region(tmp_path, households=10)

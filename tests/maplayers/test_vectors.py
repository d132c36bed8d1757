"""Vector layers: RFC 7946 GeoJSON, whitelisted properties, simplified in metres, bounded."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pytest
import shapely
from pyproj import Transformer

from geodx.manifest import load_manifest
from layers.mapdraw import write_map_layers
from layers.mapfeatures import DrawBudget

from .conftest import UTM, Drawn, lonlat_rows

PROPERTIES = {"layer", "operator", "kind", "technology"}
SECTOR_PROPERTIES = PROPERTIES | {"height_m", "frequency_mhz", "azimuth_deg"}


def _collection(drawn: Drawn, name: str) -> Any:
    return orjson.loads(drawn.path(name).read_bytes())


def test_vector_files_are_rfc7946(drawn: Drawn) -> None:
    for entry in drawn.index["layers"]:
        if entry["type"] != "vector":
            continue
        data = _collection(drawn, entry["file"])
        assert data["type"] == "FeatureCollection" and "crs" not in data
        assert data["synthetic"] is False
        features = data["features"]
        assert len(features) == entry["features"] == entry["features_total"]
        assert drawn.path(entry["file"]).stat().st_size == entry["bytes"]
        for i, feature in enumerate(features):
            assert feature["id"] == str(i)
            assert set(feature["properties"]) == PROPERTIES
            assert feature["properties"]["layer"] == entry["id"]
            geom = shapely.from_geojson(orjson.dumps(feature["geometry"]))
            assert geom.is_valid
            rings = [geom] if geom.geom_type == "Polygon" else list(geom.geoms)
            assert all(shapely.is_ccw(p.exterior) for p in rings)
        xy = lonlat_rows(features)
        assert np.allclose(xy.min(axis=0), entry["bounds"][:2])
        assert np.allclose(xy.max(axis=0), entry["bounds"][2:])


def test_sectors_keep_their_points_and_radio_fields(drawn: Drawn) -> None:
    entry = drawn.entry("viettel-4g")["sites"]
    features = _collection(drawn, entry["file"])["features"]
    assert len(features) == len(drawn.sectors)
    for feature, sector in zip(features, drawn.sectors, strict=True):
        assert set(feature["properties"]) == SECTOR_PROPERTIES
        lon, lat = feature["geometry"]["coordinates"]
        assert math.isclose(lon, sector.lon, abs_tol=1e-7)
        assert math.isclose(lat, sector.lat, abs_tol=1e-7)
        assert feature["properties"]["height_m"] == pytest.approx(sector.height_m)
        assert feature["properties"]["azimuth_deg"] == (
            None if sector.azimuth_deg is None else pytest.approx(sector.azimuth_deg)
        )


def _wiggly_region(folder: Path, base: Path) -> Path:
    """Zig-zag routes (a vertex every ~11 m, 2 m off the line) and 300 splitters."""
    rng = np.random.default_rng(5)
    lines = []
    for k in range(20):
        lon = np.linspace(107.995, 108.085, 800)
        lat = 12.6 + 0.004 * k + 0.00002 * (np.arange(800) % 2)
        lines.append(shapely.linestrings(lon, lat))
    gpd.GeoDataFrame(geometry=lines, crs=4326).to_file(folder / "routes.geojson")
    points = shapely.points(
        rng.uniform(108.0, 108.08, 300), rng.uniform(12.6, 12.68, 300)
    )
    gpd.GeoDataFrame(geometry=points, crs=4326).to_file(folder / "split.geojson")
    text = (base / "region.toml").read_text(encoding="utf-8").split("[[layers]]")[0]
    text = text.replace('path = "', f'path = "{base}/')
    for layer_id, path in (("routes", "routes.geojson"), ("split", "split.geojson")):
        text += f'[[layers]]\nid = "{layer_id}"\nkind = "fibre"\npath = "{path}"\n'
    (folder / "region.toml").write_text(text, encoding="utf-8")
    return folder / "region.toml"


def _metric(geom: shapely.Geometry) -> shapely.Geometry:
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_utm.transform(*xy.T)))


def test_over_the_budget_lines_are_simplified_more_and_points_truncated(
    drawn: Drawn, tmp_path: Path
) -> None:
    spec = load_manifest(_wiggly_region(tmp_path, drawn.manifest.root))
    budget = DrawBudget(max_bytes=60_000, max_features=250, tolerance_m=1.0)
    out = tmp_path / "out"
    out.mkdir()
    index = write_map_layers(
        out, spec, region_bounds=drawn.bounds, metric_crs=UTM, budget=budget
    )
    routes, split = index["layers"]
    assert routes["simplified_more"] and not routes["truncated"]
    assert routes["bytes"] <= budget.max_bytes and routes["features"] == 20
    tolerance = routes["simplified_m"]
    assert 1.0 < tolerance <= budget.max_tolerance_m
    original = gpd.read_file(tmp_path / "routes.geojson").geometry
    data = orjson.loads((out / "layers" / routes["file"]).read_bytes())
    for feature, line in zip(data["features"], original, strict=True):
        drawn_line = _metric(shapely.from_geojson(orjson.dumps(feature["geometry"])))
        # Every vertex of the filed route lies within the tolerance of the drawn one.
        assert shapely.hausdorff_distance(_metric(line), drawn_line) <= tolerance + 0.01
        assert len(shapely.get_coordinates(drawn_line)) < 800
    assert split["truncated"] and split["features"] == 250
    assert split["features_total"] == 300 and split["simplified_m"] == 0.0
    kept = orjson.loads((out / "layers" / split["file"]).read_bytes())["features"]
    first = gpd.read_file(tmp_path / "split.geojson").geometry[:250]
    assert np.allclose(lonlat_rows(kept), shapely.get_coordinates(first), atol=1e-7)


@pytest.mark.parametrize("max_bytes", [60_000, 3_000, 400])
def test_drawn_a_chunk_at_a_time_the_files_and_index_are_those_drawn_whole(
    drawn: Drawn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_bytes: int
) -> None:
    """Serialising stops once a budget is overrun; what is kept must not change."""
    import layers.mapfeatures as mapfeatures

    spec = load_manifest(_wiggly_region(tmp_path, drawn.manifest.root))
    budget = DrawBudget(max_bytes=max_bytes, max_features=250, tolerance_m=1.0)

    def draw(chunk: int) -> tuple[Any, dict[str, bytes]]:
        monkeypatch.setattr(mapfeatures, "CHUNK", chunk)
        out = tmp_path / f"out-{chunk}"
        out.mkdir()
        index = write_map_layers(
            out, spec, region_bounds=drawn.bounds, metric_crs=UTM, budget=budget
        )
        files = {p.name: p.read_bytes() for p in (out / "layers").iterdir()}
        return index, files

    whole = draw(10**9)
    for chunk in (1, 3, 7):
        assert draw(chunk) == whole
    routes, split = whole[0]["layers"]
    assert split["truncated"] and split["features_total"] == 300
    assert routes["features_total"] == 20

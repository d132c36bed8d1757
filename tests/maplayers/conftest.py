"""The operators' generated region (tests.operators.region), drawn once for the map tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import shapely
from pyproj import CRS

from geodx.manifest import load_manifest
from geodx.manifest_specs import Manifest
from layers.mapdraw import write_map_layers
from tests.operators.region import COMMUNES, build, manifest
from tests.sites.naive import UTM_EPSG, Sector

UTM = CRS.from_epsg(UTM_EPSG)


@dataclass(frozen=True)
class Drawn:
    out: Path
    manifest: Manifest
    index: dict[str, Any]
    sectors: list[Sector]
    bounds: tuple[float, float, float, float]

    def entry(self, layer_id: str) -> dict[str, Any]:
        return next(e for e in self.index["layers"] if e["id"] == layer_id)

    def path(self, name: str) -> Path:
        return self.out / "layers" / name


def region_bounds() -> tuple[float, float, float, float]:
    boxes = [shapely.box(*b) for _, _, b in COMMUNES]
    west, south, east, north = shapely.total_bounds(boxes).tolist()
    return west, south, east, north


@pytest.fixture(scope="package")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Drawn:
    folder = tmp_path_factory.mktemp("operators")
    _, sectors = build(folder, n=200)
    spec = load_manifest(manifest(folder))
    out = tmp_path_factory.mktemp("out")
    bounds = region_bounds()
    write_map_layers(out, spec, region_bounds=bounds, metric_crs=UTM)
    index = orjson.loads((out / "layers" / "index.json").read_bytes())
    return Drawn(out, spec, index, sectors, bounds)


def lonlat_rows(features: list[dict[str, Any]]) -> np.ndarray:
    """Every coordinate pair of the features' geometries."""
    geoms = [shapely.from_geojson(orjson.dumps(f["geometry"])) for f in features]
    return np.asarray(shapely.get_coordinates(np.asarray(geoms, dtype=object)))

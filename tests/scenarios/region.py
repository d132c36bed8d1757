"""The operators' region (tests.operators) with measured tiles, and layers to add.

The added layers are written as files with a ``[[layers]]`` TOML beside them (for a full
run and ``geodx scenario``) and as the body of ``POST /scenarios`` (the same features).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from tests.measured.naive import random_tiles, write_tiles
from tests.operators.region import SOUTH, WEST, build, manifest

MEASURED = """
[[layers]]
id = "ookla"
kind = "measured"
path = "tiles.parquet"
min_download_mbps = 10
min_tests = 2
"""
TARGETS = "\n[targets]\nfibre_household_pct = 50\nmobile_commune_household_pct = 75\n"


def build_region(folder: Path) -> Path:
    """The region's files and manifest (with a measured layer); the manifest's path."""
    world, _ = build(folder, n=600, seed=11)
    rng = np.random.default_rng(5)
    write_tiles(folder / "tiles.parquet", random_tiles(rng, world.lon, world.lat))
    path = manifest(folder)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + MEASURED + TARGETS, encoding="utf-8")
    return path


def added_layers(seed: int = 3) -> dict[str, dict[str, Any]]:
    """Layers to add (id -> keys and shapely geometries): lines, polygons, 5G polygons."""
    rng = np.random.default_rng(seed)

    def point() -> tuple[float, float]:
        return float(rng.uniform(WEST, WEST + 0.1)), float(
            rng.uniform(SOUTH, SOUTH + 0.1)
        )

    lines = [shapely.LineString([point() for _ in range(4)]) for _ in range(3)]
    boxes = []
    for _ in range(3):
        x, y = point()
        boxes.append(shapely.box(x, y, x + 0.02, y + 0.015))
    five_g = [shapely.Point(point()).buffer(0.012, quad_segs=4) for _ in range(2)]
    return {
        "new-route": {
            "keys": {"kind": "fibre", "operator": "VNPT", "service_distance_m": 300.0},
            "geoms": lines,
        },
        "new-area <x>": {
            "keys": {"kind": "fibre", "operator": "FPT"},
            "geoms": boxes,
        },
        "new-5g": {
            "keys": {"kind": "mobile", "operator": "Viettel", "technology": "5G"},
            "geoms": five_g,
        },
    }


def collection(geoms: list[Any]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of shapely geometries."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": mapping(g), "properties": {}} for g in geoms
        ],
    }


def body(name: str, ids: list[str]) -> dict[str, Any]:
    """The ``POST /scenarios`` body adding the layers ``ids``."""
    layers = added_layers()
    return {
        "name": name,
        "layers": [
            {"id": i, **layers[i]["keys"], "features": collection(layers[i]["geoms"])}
            for i in ids
        ],
    }


def _toml_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def write_layers(folder: Path, ids: list[str], name: str) -> tuple[str, Path]:
    """Write the layers' files and a TOML of their ``[[layers]]``; (its text, path)."""
    import json

    layers = added_layers()
    text = ""
    for k, i in enumerate(ids):
        file = f"{name}-{k}.geojson"
        (folder / file).write_text(json.dumps(collection(layers[i]["geoms"])))
        text += f'\n[[layers]]\nid = "{i}"\npath = "{file}"\n'
        for key, value in layers[i]["keys"].items():
            text += f"{key} = {_toml_value(value)}\n"
    path = folder / f"{name}.layers.toml"
    path.write_text(text, encoding="utf-8")
    return text, path

"""An earlier vintage of the demo province, so that ``make run`` records a trend.

``region-2024.toml`` beside the generated ``region.toml``: the same communes, households
and targets at the end of 2024, with less network — no 5G yet (every 5G layer left out),
no VNPT splitters, Vietnamobile's sites not filed yet, and each Viettel fibre route
built only to :data:`BUILT_SHARE` of its length (``viettel_fibre_routes_2024.fgb``).
Every fibre and 4G/5G household of 2024 is therefore one of 2025 too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import shapely
from shapely.ops import substring

from data.writer import manifest_text, write_vector
from geodx.io import read_vector

EARLIER_NAME = "region-2024.toml"
EARLIER_AS_OF = "2024-12-31"
#: the share of each route's length already built at the end of 2024
BUILT_SHARE = 0.6
#: layers not there yet at the end of 2024 (besides every 5G layer)
NOT_YET = frozenset({"vnpt-fibre-splitters", "vietnamobile-4g-sites"})
SHORTER = frozenset({"viettel-fibre-routes"})


def _shorter(line: Any) -> Any:
    """The first :data:`BUILT_SHARE` of a line, each part of a multi-line alike."""
    if isinstance(line, shapely.MultiLineString):
        return shapely.MultiLineString([_shorter(part) for part in line.geoms])
    if isinstance(line, shapely.LineString) and line.length > 0:
        return substring(line, 0.0, BUILT_SHARE, normalized=True)
    return line


def _shorter_file(root: Path, layer: dict[str, Any]) -> dict[str, Any]:
    """Write the layer's routes cut short beside it; the layer entry pointing there."""
    source = root / str(layer["path"])
    frame = read_vector(source, role=f"layer {layer['id']}")
    frame = frame.set_geometry([_shorter(g) for g in frame.geometry], crs=frame.crs)
    target = source.with_name(f"{source.stem}_2024{source.suffix}")
    write_vector(frame, target, frame.crs)
    return {**layer, "path": target.name}


def write_earlier(manifest: Path) -> Path:
    """Write ``region-2024.toml`` (and its shorter routes) beside ``manifest``.

    Returns ``manifest`` itself, so the generator calls it in one line.
    """
    doc = tomllib.loads(manifest.read_text(encoding="utf-8"))
    layers = []
    for layer in doc.pop("layers", []):
        if layer.get("technology") == "5G" or layer.get("id") in NOT_YET:
            continue
        if layer.get("id") in SHORTER:
            layer = _shorter_file(manifest.parent, layer)
        layers.append(layer)
    doc.setdefault("targets", {})  # the layers are written before [targets]
    text = manifest_text(doc, layers)
    (manifest.parent / EARLIER_NAME).write_text(text, encoding="utf-8")
    return manifest

"""A minimal reader of `region.toml` for the baselines (independent of geodx's own).

The baselines must not reuse geodx code, so they read the manifest themselves, with the
defaults of the design card (`/work/shared/DESIGN.md`) and `docs/definitions.md`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SERVICE_DISTANCE_M = 250.0
DEFAULT_MIN_RSRP_DBM = -105.0
DEFAULT_TARGETS = {
    "fibre_household_pct": 90,
    "mobile_commune_pct": 100,
    "mobile_commune_household_pct": 95,
}
RASTER_SUFFIXES = (".tif", ".tiff")  # the only rasters geodx opens (GTiff)


def slugify(layer_id: str) -> str:
    """`vnpt-fibre` -> `vnpt_fibre` (lower case, anything outside [a-z0-9] -> `_`)."""
    return re.sub(r"[^a-z0-9]", "_", layer_id.lower())


@dataclass(frozen=True)
class LayerSpec:
    id: str
    kind: str  # fibre | mobile
    technology: str | None  # 4G | 5G for mobile layers
    operator: str | None
    path: Path
    service_distance_m: float
    min_rsrp_dbm: float

    @property
    def slug(self) -> str:
        return slugify(self.id)

    @property
    def is_raster(self) -> bool:
        return self.path.suffix.lower() in RASTER_SUFFIXES


@dataclass(frozen=True)
class Region:
    manifest: Path
    name: str
    h3_resolution: int
    communes_path: Path
    communes_cols: dict[str, str]  # code, name, district_code, district_name
    households_path: Path
    lon: str
    lat: str
    weight: str | None
    layers: list[LayerSpec] = field(default_factory=list)
    targets: dict[str, float] = field(default_factory=dict)


def _layer(raw: dict[str, Any], root: Path) -> LayerSpec:
    kind = str(raw["kind"]).lower()
    tech = raw.get("technology")
    return LayerSpec(
        id=str(raw["id"]),
        kind=kind,
        technology=str(tech).upper() if tech is not None else None,
        operator=raw.get("operator"),
        path=root / raw["path"],
        service_distance_m=float(
            raw.get("service_distance_m", DEFAULT_SERVICE_DISTANCE_M)
        ),
        min_rsrp_dbm=float(raw.get("min_rsrp_dbm", DEFAULT_MIN_RSRP_DBM)),
    )


def read_region(path: str | Path) -> Region:
    """Read a region manifest (a folder or its `region.toml`)."""
    manifest = Path(path)
    if manifest.is_dir():
        manifest = manifest / "region.toml"
    raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
    root = manifest.parent
    com = raw.get("communes", {})
    hh = raw.get("households", {})
    return Region(
        manifest=manifest,
        name=str(raw.get("region", {}).get("name", root.name)),
        h3_resolution=int(raw.get("region", {}).get("h3_resolution", 9)),
        communes_path=root / com["path"],
        communes_cols={
            key: str(com.get(key, f"commune_{key}" if key in ("code", "name") else key))
            for key in ("code", "name", "district_code", "district_name")
        },
        households_path=root / hh["path"],
        lon=str(hh.get("lon", "lon")),
        lat=str(hh.get("lat", "lat")),
        weight=hh.get("weight"),
        layers=[_layer(layer, root) for layer in raw.get("layers", [])],
        targets={**DEFAULT_TARGETS, **raw.get("targets", {})},
    )

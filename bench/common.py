"""What both baselines share: reading inputs, commune assignment, group-by, writing.

Everything here is the plain geopandas/pandas way; the contenders differ in the steps
`bench.baselines` implements (H3 indexing, distance joins, raster sampling).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pyproj import CRS

from bench.manifest import Region

COUNTS = ["households", "fibre_households", "mobile_households", "mobile_5g_households"]


def count_columns(frame: pd.DataFrame) -> list[str]:
    """`households` and every `*_households` column, in frame order."""
    return [c for c in frame.columns if c == "households" or c.endswith("_households")]


class Stopwatch:
    """Seconds per named stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0


def read_vector(path: Path) -> gpd.GeoDataFrame:
    """Any vector file the manifest may name (GeoParquet through geopandas)."""
    if path.suffix.lower() in (".parquet", ".pq", ".geoparquet"):
        return gpd.read_parquet(path)
    return gpd.read_file(path)


def read_communes(region: Region) -> gpd.GeoDataFrame:
    """Communes: commune_code, commune_name, district_code, district_name, geometry."""
    raw = read_vector(region.communes_path)
    cols = region.communes_cols
    out = gpd.GeoDataFrame(geometry=raw.geometry.values, crs=raw.crs)
    for key in ("code", "name", "district_code", "district_name"):
        name = "commune_" + key if key in ("code", "name") else key
        col = (
            raw[cols[key]] if cols[key] in raw.columns else pd.Series([None] * len(raw))
        )
        out[name] = [None if v is None or v != v else str(v) for v in col]
    return out


def read_households(region: Region, *, engine: str = "c") -> gpd.GeoDataFrame:
    """Households as points (own CRS) with integer weight `w`, `lng`/`lat` in WGS84."""
    path = region.households_path
    suffix = path.suffix.lower()
    table: pd.DataFrame | None = None
    if suffix == ".csv":
        table = pd.read_csv(path, engine=engine)  # type: ignore[call-overload]
    elif suffix in (".parquet", ".pq") and b"geo" not in (
        pq.read_schema(path).metadata or {}
    ):
        table = pd.read_parquet(path)
    if table is not None:
        lng = table[region.lon].to_numpy(float)
        lat = table[region.lat].to_numpy(float)
        hh = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lng, lat), crs=4326)
    else:
        table = (
            gpd.read_parquet(path)
            if suffix in (".parquet", ".pq")
            else gpd.read_file(path)
        )
        hh = gpd.GeoDataFrame(geometry=table.geometry.values, crs=table.crs)
        wgs = hh.geometry.to_crs(4326)
        lng, lat = wgs.x.to_numpy(), wgs.y.to_numpy()
    weight = table[region.weight].to_numpy() if region.weight else np.ones(len(hh))
    hh["w"] = weight.astype(np.int64)
    hh["lng"], hh["lat"] = lng, lat
    return hh


def assign_communes(
    hh: gpd.GeoDataFrame, communes: gpd.GeoDataFrame
) -> tuple[pd.Series, int]:
    """Commune code per household (None outside), and the overlap-household weight.

    A point on a boundary counts as inside (`intersects` == `covers` for points); a
    household in several communes goes to the smallest code (string order).
    """
    pts = hh[["geometry"]].to_crs(communes.crs)
    joined = gpd.sjoin(
        pts, communes[["commune_code", "geometry"]], predicate="intersects"
    )
    per_hh = joined.groupby(level=0)["commune_code"]
    code = per_hh.min().reindex(hh.index)
    multi = per_hh.size()
    overlap = int(hh["w"].reindex(multi.index[multi.to_numpy() > 1]).sum())
    return code, overlap


def metric_crs(layer_crs: CRS, communes: gpd.GeoDataFrame) -> CRS:
    """The layer's CRS when projected in metres, else the communes' UTM zone."""
    if layer_crs.is_projected and layer_crs.axis_info[0].unit_name in (
        "metre",
        "meter",
    ):
        return layer_crs
    return communes.to_crs(4326).estimate_utm_crs()


def aggregate(
    hh: pd.DataFrame, covered: dict[str, np.ndarray], kinds: dict[str, tuple[str, bool]]
) -> pd.DataFrame:
    """Weighted counts per (h3, commune_code); kinds maps slug -> (kind, is_5g)."""
    w = hh["w"].to_numpy()
    fibre = np.zeros(len(hh), bool)
    mobile = np.zeros(len(hh), bool)
    g5 = np.zeros(len(hh), bool)
    cols: dict[str, object] = {"h3": hh["h3"], "commune_code": hh["commune_code"]}
    cols["households"] = w
    for slug, flags in covered.items():
        kind, is_5g = kinds[slug]
        if kind == "fibre":
            fibre |= flags
        elif kind == "mobile":
            mobile |= flags
            g5 |= flags if is_5g else False
    cols["fibre_households"] = w * fibre
    cols["mobile_households"] = w * mobile
    cols["mobile_5g_households"] = w * g5
    for slug, flags in covered.items():
        cols[f"layer_{slug}_households"] = w * flags
    frame = pd.DataFrame(cols)
    frame = frame[frame["households"] > 0]  # weight-0 rows make no cell row
    return (
        frame.groupby(["h3", "commune_code"], dropna=False, sort=False)
        .sum()
        .reset_index()
    )


def _pct(part: pd.Series, whole: pd.Series) -> list[float | None]:
    return [
        None if h == 0 else round(100 * p / h, 4)
        for p, h in zip(part, whole, strict=True)
    ]


def add_indicators(units: pd.DataFrame, targets: dict[str, float]) -> pd.DataFrame:
    """Percentages, fibre target and gap, mobile flag, as in docs/definitions.md."""
    fib_t = Fraction(str(targets["fibre_household_pct"]))
    mob_t = Fraction(str(targets["mobile_commune_household_pct"]))
    h, f, m = units["households"], units["fibre_households"], units["mobile_households"]
    units["fibre_pct"] = _pct(f, h)
    units["fibre_target_met"] = [
        None if hh == 0 else bool(fh * 100 >= fib_t * hh)
        for hh, fh in zip(h, f, strict=True)
    ]
    units["fibre_gap_households"] = [
        int(max(0, math.ceil(fib_t / 100 * hh) - fh))
        for hh, fh in zip(h, f, strict=True)
    ]
    units["mobile_pct"] = _pct(m, h)
    units["mobile_5g_pct"] = _pct(units["mobile_5g_households"], h)
    units["mobile_covered"] = [
        None if hh == 0 else bool(mh * 100 >= mob_t * hh)
        for hh, mh in zip(h, m, strict=True)
    ]
    for col in [c for c in units.columns if c.startswith("layer_")]:
        units[col.removesuffix("_households") + "_pct"] = _pct(units[col], h)
    return units


def roll_up(
    cells: pd.DataFrame, communes: gpd.GeoDataFrame, targets: dict[str, float]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Communes and districts (WGS84) with their counts and indicators."""
    counts = count_columns(cells)
    per = cells.dropna(subset=["commune_code"]).groupby("commune_code")[counts].sum()
    out = communes.to_crs(4326).join(per, on="commune_code")
    out[counts] = out[counts].fillna(0).astype(np.int64)
    keys = ["district_code", "district_name"]
    with_d = out.dropna(subset=["district_code"])
    if len(with_d):
        districts = with_d[[*keys, *counts, "geometry"]].dissolve(
            by=keys, aggfunc="sum"
        )
        districts = districts.reset_index()
    else:
        districts = gpd.GeoDataFrame(columns=[*keys, *counts, "geometry"], crs=4326)
    return add_indicators(out, targets), add_indicators(districts, targets)


def summary(
    cells: pd.DataFrame, communes: gpd.GeoDataFrame, region: Region, overlap: int
) -> dict[str, object]:
    """Region totals, targets and input checksums (the keys of the output contract)."""
    # province totals over households in a commune, as geodx does (the contract leaves
    # the base open); the unassigned ones are reported apart
    assigned = cells[cells["commune_code"].notna()]
    tot = {c: int(assigned[c].sum()) for c in count_columns(cells)}
    unit = add_indicators(pd.DataFrame([tot]), region.targets).iloc[0]
    with_hh = communes[communes["households"] > 0]
    covered = int(with_hh["mobile_covered"].astype(bool).sum())
    mob_pct = round(100 * covered / len(with_hh), 4) if len(with_hh) else None
    t = region.targets
    inputs = [region.manifest, region.communes_path, region.households_path]
    inputs += [layer.path for layer in region.layers]
    return {
        **tot,
        "unassigned_households": int(
            cells.loc[cells["commune_code"].isna(), "households"].sum()
        ),
        "overlap_households": overlap,
        "fibre_pct": _num(unit["fibre_pct"]),
        "fibre_gap_households": int(unit["fibre_gap_households"]),
        "mobile_pct": _num(unit["mobile_pct"]),
        "mobile_5g_pct": _num(unit["mobile_5g_pct"]),
        "communes": len(communes),
        "communes_with_households": len(with_hh),
        "communes_mobile_covered": covered,
        "mobile_commune_pct": mob_pct,
        "targets": t,
        "fibre_target_met": _num(unit["fibre_target_met"]),
        "mobile_target_met": covered * 100 >= t["mobile_commune_pct"] * len(with_hh),
        "checksums": {str(p.name): _sha256(p) for p in inputs},
    }


def _num(value: object) -> object:
    """A plain value for JSON: numpy scalars become Python ones, NaN None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_outputs(
    out: Path,
    cells: pd.DataFrame,
    communes: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    summ: dict[str, object],
) -> None:
    """communes.geojson, districts.geojson, summary.json, cells.parquet."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "communes.geojson").write_text(communes.to_json(na="null"), encoding="utf-8")
    (out / "districts.geojson").write_text(
        districts.to_json(na="null"), encoding="utf-8"
    )
    (out / "summary.json").write_text(
        json.dumps(summ, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    cells.to_parquet(out / "cells.parquet", index=False)

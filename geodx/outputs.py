"""The four outputs of ``geodx run``: communes, districts, summary and the cell table."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import shapely

from geodx.contract import (
    input_path,
    public_inputs,
)
from geodx.contract_figures import (
    count,
    pct,
    target_met,
)
from geodx.contract_geojson import (
    clean,
    collection_bytes,
    feature_bytes,
)
from geodx.contract_names import (
    CELLS_FILE,
    COMMUNES_FILE,
    COUNT_SUFFIX,
    DISTRICTS_FILE,
    ESTIMATED_MEMBER,
    H3_COL,
    INDICATORS,
    SUMMARY_FILE,
)
from geodx.contract_views import (
    MEASURED_DEFINITIONS,
    SENSITIVE_COLUMN,
    SENSITIVE_COUNT,
    VIEW_DEFINITIONS,
    ViewColumn,
    indoor_layer_column,
)
from geodx.coverage import (
    IndicatorSums,
    Overlay,
    commune_table,
    coverage_properties,
    operator_layers,
)
from geodx.grid import cells_to_str
from geodx.io import write_bytes, write_table
from geodx.manifest_specs import (
    LayerSpec,
    Manifest,
    slugify,
)
from geodx.partition import RunSums, commune_sums, overlap_total, run_sums
from geodx.pyramid import write_pyramid_of_ints
from geodx.spread import Estimate


def _geojson(
    geoms: np.ndarray, props: pd.DataFrame, ids: pd.Series, members: dict[str, Any]
) -> bytes:
    """A FeatureCollection marked ``synthetic`` (a top-level member) as the contract says.

    Estimated households (counts spread, DESIGN.md) add ``households_estimated: true``.
    """
    return collection_bytes(feature_bytes(geoms, props, ids), members=members)


def _members(manifest: Manifest, estimate: Estimate | None) -> dict[str, Any]:
    members: dict[str, Any] = {"synthetic": manifest.synthetic}
    if estimate is not None:
        members[ESTIMATED_MEMBER] = True
    return members


def write_outputs(
    out: Path,
    manifest: Manifest,
    communes: gpd.GeoDataFrame,
    communes_wgs84: np.ndarray,
    result: Overlay | RunSums,
    *,
    inputs: list[dict[str, Any]],
    engine: str,
    estimate: Estimate | None = None,
    pyramid: bool = False,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Write the four outputs into ``out`` and return the summary and commune table.

    ``result``: a single pass's overlay, or the sums of a partitioned run
    (:mod:`geodx.partition`); an overlay is summed into rows first, so both write the
    same numbers. ``pyramid``: also write the H3 pyramid of the cell table
    (:mod:`geodx.pyramid`), from the table in memory.
    """
    run = result if isinstance(result, RunSums) else run_sums(result, len(communes))
    slugs = [spec.slug for spec in manifest.layers]
    meta = {ESTIMATED_MEMBER: "true"} if estimate is not None else None
    # The cell table (and its pyramid) is the largest job; it runs beside the commune
    # and district files.
    with ThreadPoolExecutor(max_workers=1) as pool:
        cells = pool.submit(
            _write_cells, out, run, communes, slugs, meta, pyramid=pyramid
        )
        table, sums = _write_areas(
            out, manifest, communes, communes_wgs84, run, slugs, estimate
        )
        cells.result()
    summary = summarise(manifest, table, sums, run, inputs=inputs, engine=engine)
    if estimate is not None:
        summary.update({k: clean(v) for k, v in estimate.summary().items()})
    write_bytes(out / SUMMARY_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return summary, table


def _write_cells(
    out: Path,
    run: RunSums,
    communes: gpd.GeoDataFrame,
    slugs: list[str],
    meta: dict[str, str] | None,
    *,
    pyramid: bool,
) -> None:
    """Write ``cells.parquet`` and, with ``pyramid``, the pyramid rolled up from it.

    The table is written in a thread while the pyramid is rolled up from the rows'
    H3 integers (the table's own cells, its names never parsed back).
    """
    cells = cell_table(run, communes, slugs=slugs)
    if not pyramid:
        write_table(out / CELLS_FILE, cells, metadata=meta)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="geodx-cells") as pool:
        written = pool.submit(write_table, out / CELLS_FILE, cells, metadata=meta)
        # Equal labels exactly where the rows' commune_code is equal (-1: none).
        codes = pd.factorize(communes["commune_code"].to_numpy(dtype=object))[0]
        labels = np.r_[codes, [-1]].astype(np.int64)[run.rows.commune]
        write_pyramid_of_ints(out, cells, run.rows.cells, labels)
        written.result()


def _write_areas(
    out: Path,
    manifest: Manifest,
    communes: gpd.GeoDataFrame,
    geoms: np.ndarray,
    run: RunSums,
    slugs: list[str],
    estimate: Estimate | None = None,
) -> tuple[pd.DataFrame, IndicatorSums]:
    """Write communes.geojson and districts.geojson; return the commune table and sums."""
    integral = run.integral
    sums = commune_sums(run.rows, len(communes))
    table = commune_table(
        communes,
        sums,
        manifest.targets,
        integral=integral,
        layer_slugs=slugs,
        columns=run.columns,
    )
    members = _members(manifest, estimate)
    write_bytes(
        out / COMMUNES_FILE,
        _geojson(geoms, table, table["commune_code"], members),
    )
    districts = district_table(
        table, geoms, sums, manifest, integral=integral, slugs=slugs,
        columns=run.columns,
    )  # fmt: skip
    shapes = districts.pop("geometry").to_numpy()
    write_bytes(
        out / DISTRICTS_FILE,
        _geojson(shapes, districts, districts["district_code"], members),
    )
    return table, sums


def district_table(
    table: pd.DataFrame,
    geoms: np.ndarray,
    sums: IndicatorSums,
    manifest: Manifest,
    *,
    integral: bool,
    slugs: list[str],
    columns: list[ViewColumn] | None = None,
) -> pd.DataFrame:
    """One row per district: totals of its communes, gap on the district's own totals."""
    has = table["district_code"].notna().to_numpy()
    if not has.any():
        return pd.DataFrame({"district_code": [], "district_name": [], "geometry": []})
    codes = table["district_code"].to_numpy(dtype=object)
    keys, group = np.unique(codes[has], return_inverse=True)
    rows = np.flatnonzero(has)
    dsums = _regroup(sums, rows + 1, group, len(keys))
    records = []
    for d, code in enumerate(keys):
        members = table.iloc[rows[group == d]]
        props: dict[str, Any] = {
            "district_code": code,
            "district_name": members["district_name"].dropna().iloc[0]
            if members["district_name"].notna().any()
            else None,
            **_commune_counts(members, manifest),
        }
        props.update(
            coverage_properties(
                dsums,
                d,
                manifest.targets,
                integral=integral,
                layer_slugs=slugs,
                columns=columns or (),
            )  # fmt: skip
        )
        props["geometry"] = shapely.union_all(geoms[rows[group == d]])
        records.append(props)
    return pd.DataFrame(records)


def _regroup(
    sums: IndicatorSums, rows: np.ndarray, group: np.ndarray, n: int
) -> IndicatorSums:
    def agg(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values[rows], minlength=n)

    return IndicatorSums(
        households=agg(sums.households),
        indicators={k: agg(v) for k, v in sums.indicators.items()},
        layers={k: agg(v) for k, v in sums.layers.items()},
        views={k: agg(v) for k, v in sums.views.items()},
    )


def _commune_counts(members: pd.DataFrame, manifest: Manifest) -> dict[str, Any]:
    with_hh = int((members["households"] > 0).sum())
    covered = int((members["mobile_covered"] == True).sum())  # noqa: E712 - nullable
    margin: dict[str, Any] = {}
    if SENSITIVE_COLUMN in members:
        flips = members[SENSITIVE_COLUMN] == True  # noqa: E712 - nullable
        margin[SENSITIVE_COUNT] = int(flips.sum())
    return {
        "communes": len(members),
        "communes_with_households": with_hh,
        "communes_mobile_covered": covered,
        "mobile_commune_pct": pct(covered, with_hh),
        "mobile_target_met": target_met(
            covered, with_hh, manifest.targets.mobile_commune_pct
        ),
        **margin,
    }


def cell_table(
    run: RunSums, communes: gpd.GeoDataFrame, *, slugs: list[str]
) -> pa.Table:
    """One row per (H3 cell, commune) holding households; unassigned: null commune."""
    rows = run.rows
    sums = rows.sums
    codes = communes["commune_code"].to_numpy(dtype=object)
    integral = run.integral
    dtype = pa.int64() if integral else pa.float64()

    def col(values: np.ndarray) -> pa.Array:
        return pa.array(
            np.round(values).astype(np.int64) if integral else values, type=dtype
        )

    columns: dict[str, pa.Array] = {
        H3_COL: pa.array(cells_to_str(rows.cells), type=pa.string()),
        # commune -1 (unassigned) picks the trailing None.
        "commune_code": pa.array(np.r_[codes, [None]][rows.commune], type=pa.string()),
        "households": col(sums.households),
        **{f"{i}{COUNT_SUFFIX}": col(sums.indicators[i]) for i in INDICATORS},
    }
    for slug in slugs:
        columns[f"layer_{slug}_households"] = col(sums.layers[slug])
    # The views counted in households (not the margins: those are commune figures).
    for view in run.columns:
        if view.name in sums.views and view.name.endswith(COUNT_SUFFIX):
            columns[view.name] = col(sums.views[view.name])
    return pa.table(columns)


def summarise(
    manifest: Manifest,
    table: pd.DataFrame,
    sums: IndicatorSums,
    run: RunSums,
    *,
    inputs: list[dict[str, Any]],
    engine: str,
) -> dict[str, Any]:
    """The region's totals, targets, definitions and input checksums."""
    targets = manifest.targets
    integral = run.integral
    # The province is one group: the sums over its communes (index 0 is unassigned).
    province = _regroup(sums, np.arange(1, len(sums.households)), np.zeros(
        len(sums.households) - 1, dtype=np.int64), 1)  # fmt: skip
    hh = float(province.households[0])
    figures = coverage_properties(
        province, 0, targets, integral=integral, layer_slugs=[], columns=run.columns
    )
    counts = _commune_counts(table, manifest)
    overlap = overlap_total(run.rows)
    summary: dict[str, Any] = {
        "region": manifest.name,
        "synthetic": manifest.synthetic,
        "source": manifest.source,
        "h3_resolution": manifest.h3_resolution,
        "households": figures.pop("households"),
        "unassigned_households": count(float(sums.households[0]), integral),
        "overlap_households": count(overlap, integral),
        "household_points": run.rows.points,
        **figures,
        **counts,
        "counts_exact": integral,
        "targets": asdict(targets),
        "layers": _layer_summaries(manifest, sums, hh, integral, run.sources),
        "operators": _operator_summaries(manifest),
        "definitions": definitions(manifest),
        "inputs": public_inputs(inputs, manifest.root),
        "engine_version": engine,
    }
    return {k: clean(v) for k, v in summary.items()}


def _layer_summaries(
    manifest: Manifest,
    sums: IndicatorSums,
    hh: float,
    integral: bool,
    sources: dict[str, str],
) -> list[dict[str, Any]]:
    out = []
    for spec in manifest.layers:
        covered = float(sums.layers[spec.slug][1:].sum())
        out.append(
            {
                "id": spec.id,
                "slug": spec.slug,
                "kind": spec.kind,
                "technology": spec.technology,
                "operator": spec.operator,
                "source": sources[spec.slug],
                "service_distance_m": spec.service_distance_m
                if sources[spec.slug] in {"lines", "points"}
                else None,
                "min_rsrp_dbm": spec.min_rsrp_dbm
                if sources[spec.slug] in {"raster", "sites"}
                else None,
                **_model_fields(spec, sources[spec.slug]),
                "households": count(covered, integral),
                "pct": pct(covered, hh),
                **_indoor_fields(spec, sums, integral),
            }
        )
    return out


def _indoor_fields(
    spec: LayerSpec, sums: IndicatorSums, integral: bool
) -> dict[str, Any]:
    """A layer's indoor households (its ``indoor_loss_db``), else nothing."""
    column = indoor_layer_column(spec.slug)
    if column not in sums.views:
        return {}
    indoor = count(float(sums.views[column][1:].sum()), integral)
    return {"indoor_loss_db": spec.indoor_loss_db, "indoor_households": indoor}


def _operator_summaries(manifest: Manifest) -> list[dict[str, Any]]:
    """Each operator's name, column slug and layer ids by kind."""
    out = []
    for slug, kinds in operator_layers(manifest.layers).items():
        name = next(
            s.operator
            for s in manifest.layers
            if s.operator and slugify(s.operator) == slug
        )
        ids = {
            k: [s.id for s in manifest.layers if s.slug in v] for k, v in kinds.items()
        }
        out.append({"operator": name, "slug": slug, "layers": ids})
    return out


def _model_fields(spec: LayerSpec, source: str) -> dict[str, Any]:
    """The prediction model of a layer predicted from sites (DESIGN.md), else nothing."""
    if source != "sites":
        return {}
    return {
        "model": spec.model,
        "environment": spec.environment,
        "indoor_loss_db": spec.indoor_loss_db,
    }


def definitions(manifest: Manifest) -> dict[str, Any]:
    """The rules behind every figure, written next to the results."""
    t = manifest.targets
    return {
        "household_commune": "commune polygon covers the point (boundary included), in the "
        "communes file's CRS; several -> smallest commune_code, counted in overlap_households",
        "fibre_covered": "inside any fibre polygon, or within service_distance_m of any fibre "
        "line or point (GEOS dwithin, metres in the layer's projected CRS or the region's UTM zone)",
        "mobile_covered_household": "covered by at least one 4G or 5G layer; raster: the pixel "
        "containing the household is valid and >= min_rsrp_dbm",
        "mobile_5g_covered_household": "covered by at least one 5G layer",
        "commune_mobile_covered": f"mobile_pct >= {t.mobile_commune_household_pct}",
        "fibre_gap_households": f"ceil(max(0, {t.fibre_household_pct}% x households - "
        "fibre_households)), exact; 0 exactly when fibre_target_met",
        "mobile_gap_households": f"ceil(max(0, {t.mobile_commune_household_pct}% x "
        "households - mobile_households)), exact; 0 exactly when mobile_covered",
        "mobile_commune_pct": "communes_mobile_covered / communes_with_households x 100",
        "households": "households assigned to a commune; unassigned_households are outside every commune",
        "pct_decimals": 4,
        "h3_resolution": manifest.h3_resolution,
        **VIEW_DEFINITIONS,
        **(_measured_definitions(manifest) if manifest.measured else {}),
    }


def _measured_definitions(manifest: Manifest) -> dict[str, Any]:
    """The measured rule and each measured layer's speed and tests."""
    return {
        **MEASURED_DEFINITIONS,
        "measured_layers": [
            {
                "id": spec.id,
                "slug": spec.slug,
                "path": input_path(spec.path, manifest.root),
                "min_download_mbps": spec.min_download_mbps,
                "min_tests": spec.min_tests,
            }
            for spec in manifest.measured
        ],
    }

"""The four outputs of ``geodx run``: communes, districts, summary and the cell table.

``summary.json``'s contents are made in :mod:`geodx.outputs_summary`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import shapely

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
from geodx.contract_views import ViewColumn
from geodx.coverage import (
    IndicatorSums,
    Overlay,
    commune_table,
    coverage_properties,
)
from geodx.grid import h3_column
from geodx.io import write_bytes, write_table
from geodx.manifest_specs import Manifest
from geodx.outputs_summary import commune_counts, regroup, summarise
from geodx.partition import RunSums, commune_sums, run_sums
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
    dsums = regroup(sums, rows + 1, group, len(keys))
    records = []
    for d, code in enumerate(keys):
        members = table.iloc[rows[group == d]]
        props: dict[str, Any] = {
            "district_code": code,
            "district_name": members["district_name"].dropna().iloc[0]
            if members["district_name"].notna().any()
            else None,
            **commune_counts(members, manifest),
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

    # commune -1 (unassigned) picks the trailing None.
    named = pa.array(np.r_[codes, [None]], type=pa.string())
    columns: dict[str, pa.Array] = {
        H3_COL: h3_column(rows.cells),
        "commune_code": named.take(pa.array(rows.commune % len(named))),
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

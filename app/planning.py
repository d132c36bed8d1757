"""The run's plan table: every household point without fibre and the extension it needs.

Part of the composition root: it opens the fibre layers again (``layers``) to measure
distances, and hands them to the core rule (:func:`geodx.plan.extension_m`). Only the
households without fibre are measured, in one vectorised nearest-feature query per layer.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from geodx.contract_names import EXTENSION_COL
from geodx.coverage import Overlay
from geodx.grid import h3_column
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import Manifest
from geodx.points import WGS84, HouseholdPoints
from layers.base import CoverageLayer
from layers.registry import open_layer
from layers.vector import NetworkReach, ServedArea, nearest_extension_m


def fibre_layers(
    manifest: Manifest, *, utm: Any, limits: Limits = DEFAULT_LIMITS
) -> list[CoverageLayer]:
    """The manifest's fibre layers, opened (each file read once more)."""
    return [
        open_layer(spec, metric_crs=utm, limits=limits)
        for spec in manifest.layers
        if spec.kind == "fibre"
    ]


def household_extensions(
    layers: list[CoverageLayer], households: HouseholdPoints, *, utm: Any
) -> NDArray[np.float64]:
    """``extension_m`` of each household (the DESIGN.md rule); inf with no network.

    Fibre layers that measure no distance (none today: fibre is polygons, lines or
    points) are left out.
    """
    measured = [
        layer for layer in layers if isinstance(layer, ServedArea | NetworkReach)
    ]
    return nearest_extension_m(measured, households, metric_crs=utm)


def plan_table(
    manifest: Manifest,
    communes: gpd.GeoDataFrame,
    result: Overlay,
    *,
    utm: Any,
    limits: Limits = DEFAULT_LIMITS,
    layers: list[CoverageLayer] | None = None,
) -> pa.Table:
    """The plan table: one row per household point without fibre.

    Columns ``commune_code, h3, households, extension_m``; ``commune_code`` is null for
    households outside every commune, ``extension_m`` null when no fibre layer has a
    feature.
    """
    hh = result.households
    without = np.flatnonzero(~result.indicators["fibre"])
    points = _metric_points(hh, without, utm)
    if layers is None:  # ``layers``: the fibre layers already open
        layers = fibre_layers(manifest, utm=utm, limits=limits)
    ext = household_extensions(layers, points, utm=utm)
    codes = pa.array(communes["commune_code"].to_numpy(dtype=object), type=pa.string())
    commune = result.assignment.commune[without]
    weight = points.weight
    households = (
        pa.array(np.round(weight).astype(np.int64), type=pa.int64())
        if hh.integral
        else pa.array(weight, type=pa.float64())
    )
    return pa.table(
        {
            # -1 (no commune) takes the null past the codes
            "commune_code": pa.concat_arrays([codes, pa.nulls(1, pa.string())]).take(
                pa.array(np.where(commune < 0, len(codes), commune), type=pa.int64())
            ),
            "h3": h3_column(result.cells[without]),
            "households": households,
            EXTENSION_COL: pa.array(
                np.where(np.isfinite(ext), ext, np.nan),
                type=pa.float64(),
                from_pandas=True,
            ),
        }
    )


def _metric_points(
    hh: HouseholdPoints, without: NDArray[np.int64], utm: Any
) -> HouseholdPoints:
    """The households ``without`` fibre, in ``utm`` (their coordinates measured in).

    Their WGS84 coordinates are transformed to ``utm``, point by point; when the
    households are in WGS84 and already have ``utm`` coordinates (a layer measured in
    it), those came through the same PROJ pipeline: the very numbers, taken.
    """
    lng, lat = hh.lng_lat
    weight = hh.weight[without]
    wgs84 = HouseholdPoints(lng[without], lat[without], weight)
    if hh.crs == WGS84 and hh.has_xy(utm):
        x, y = hh.xy(utm)
        return HouseholdPoints(x[without], y[without], weight, crs=utm)
    return wgs84

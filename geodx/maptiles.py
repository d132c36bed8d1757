"""The data of a tiled coverage map: communes and hexagons drawn from vector tiles.

A national coverage map cannot inline every commune and hexagon (tens of megabytes).
Its blob (:func:`tiled_coverage_map_data`) holds the legend (counted over every
commune), the simplified district boundaries and two overlays whose features the
constant ``maps.js`` fetches per tile (``/tiles/{layer}/{z}/{x}/{y}.geojson``, built by
``api.tiles``): each tile is an overlay blob of the features it meets, drawn by a
Leaflet ``GridLayer`` with the same fill colours, tooltips and commune links as an
inlined map. The hexagons come from the H3 pyramid level of the zoom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geodx.maps import (
    CODE_COLUMN,
    INDICATOR_LABELS,
    _page,
    _tiles,
    _values,
    geometries,
    legend,
    overlay,
    text_column,
    tip,
)
from geodx.mapscale import DivergingScale

__all__ = ["tiled_coverage_map_data"]

OUTLINE_STEPS = 2000  # district boundaries simplified to 1/2000 of the region's span


def _outlines(districts: gpd.GeoDataFrame | None, tolerance: float) -> dict[str, Any]:
    """District boundaries, simplified by ``tolerance`` degrees, and their overlay."""
    if districts is None or not len(districts):
        return {}
    names = tip(
        [text_column("Huyện / district")], [_values(districts, "district_name")]
    )
    outline = {"color": "#111", "weight": 2.2, "fill": False, "opacity": 0.9}
    shapes = shapely.simplify(np.asarray(districts.geometry, dtype=object), tolerance)
    return {
        "shapes": geometries(shapes),
        "overlay": overlay("Ranh giới huyện / district boundaries", "districts",
                           show=True, tips=names, style=outline),
    }  # fmt: skip


def tiled_coverage_map_data(
    communes: gpd.GeoDataFrame,
    *,
    indicator: str,
    target_pct: float,
    tiles: str,
    districts: gpd.GeoDataFrame | None = None,
    link: tuple[str, str] | None = None,
    title: str = "",
    synthetic: bool = False,
    tiles_url: str | None = None,
    attribution: str = "",
    operator_groups: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A coverage map whose communes and hexagons come from tiles.

    ``tiles`` is where the page fetches them, relative to the page (``tiles +
    "<layer>/{z}/{x}/{y}.geojson?indicator=..."``); the other parameters are those of
    :func:`geodx.maps.coverage_map_data` (the per-layer commune overlays are left out).
    """
    scale = DivergingScale(target_pct)
    label = INDICATOR_LABELS.get(indicator, indicator)
    query = f"{{z}}/{{x}}/{{y}}.geojson?indicator={indicator}"
    first = overlay(f"Xã — {label} (%)", "", show=True, tips=None)
    first["tiles"] = f"{tiles}communes/{query}"
    if link is not None:
        first["link"] = {"prefix": link[0], "suffix": link[1], "codes": CODE_COLUMN}
    hexagons = overlay("Ô lục giác H3 / H3 hexagons (theo mức phóng / by zoom)", "",
                       show=False, tips=None)  # fmt: skip
    hexagons["tiles"] = f"{tiles}cells/{query}"
    west, south, east, north = shapely.total_bounds(communes.geometry)
    span = max(east - west, north - south) if len(communes) else 0.0
    outlines = _outlines(
        districts, span / OUTLINE_STEPS if math.isfinite(span) else 0.0
    )
    return {
        **_page(communes.total_bounds, title, "", synthetic=synthetic),
        "subtitle": f"{label}: tỷ lệ hộ được phủ / share of households covered",
        "tiles": _tiles(tiles_url, attribution),
        "legend": legend(
            scale, indicator, _values(communes, f"{indicator}_pct"), "số xã / communes"
        ),  # fmt: skip
        "shapes": {"districts": outlines["shapes"]} if outlines else {},
        "overlays": [first, hexagons, *([outlines["overlay"]] if outlines else [])],
        "operator_layers": list(operator_groups),
    }

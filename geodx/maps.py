"""Coverage maps: the data of each map, as the JSON blob its page reads at run time.

Nothing from data or settings is ever template source (issue 6, C6): branca compiles
the text its elements render as Jinja templates (``MacroElement.render`` wraps each
macro's output in ``Element(...)``, which compiles it), so a commune named ``{{ ... }}``
placed in any folium element would run as code. Folium builds only the one constant page
of :mod:`geodx.pages`. Every value a map shows (names, figures, tooltips, legend, layer
names, title, attribution, tile URL) is built here into one JSON blob
(:func:`coverage_map_data`, :func:`commune_map_data`, :func:`cells_layer_data`); the
constant script ``maps.js`` beside this module reads it and builds the layers, tooltips,
legend, title and layer control, with data only ever as DOM text (or HTML-escaped where
Leaflet takes HTML). Tooltip figures travel as numbers and are formatted by the script
(``12 345``, at most 2 decimals, ``–`` for none).

Communes are coloured on a diverging scale centred on the target
(:class:`geodx.mapscale.DivergingScale`), so the communes that miss it stand out in reds,
in steps an official can read, and those that meet it in greens.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geodx.mapscale import (
    ABOVE,
    BELOW,
    BELOW_STEPS,
    NO_DATA,
    STEPS_NOTE,
    DivergingScale,
)

__all__ = [  # the colour scale lives in geodx.mapscale; found here too
    "ABOVE",
    "BELOW",
    "BELOW_STEPS",
    "NO_DATA",
    "DivergingScale",
    "cells_layer_data",
    "commune_map_data",
    "coverage_map_data",
    "legend",
]

MAP_DECIMALS = 5  # about 1 m: enough for a screen, keeps pages small
FORMAT = "geodx-map/1"
INDICATOR_LABELS = {
    "fibre": "Cáp quang / fibre",
    "mobile": "4G/5G",
    "mobile_5g": "5G",
}
SYNTHETIC_BADGE = "DỮ LIỆU GIẢ LẬP — SYNTHETIC DATA, not real coverage"
FILL = {"color": "#444", "weight": 0.6, "fillOpacity": 0.78}


def text_column(label: str) -> dict[str, Any]:
    """A tooltip column shown as text (null: empty)."""
    return {"label": label, "kind": "text"}


def number_column(label: str, *, pct: bool = False) -> dict[str, Any]:
    """A tooltip column of numbers: ``12 345``, at most 2 decimals, null as ``–``."""
    return {"label": label, "kind": "pct" if pct else "number"}


def flag_column(label: str, yes: str, no: str) -> dict[str, Any]:
    """A tooltip column of booleans shown as ``yes`` / ``no`` (null as ``–``)."""
    return {"label": label, "kind": "flag", "yes": yes, "no": no}


MET = ("đạt / met", "chưa đạt / not met")
CODE_COLUMN = 2  # where commune tooltips hold the code


def _values(frame: pd.DataFrame, column: str) -> list[Any]:
    """A column as JSON-ready values (NaN is written as null; a missing column: nulls)."""
    if column not in frame.columns:
        return [None] * len(frame)
    values = frame[column].tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def tip(columns: list[dict[str, Any]], values: list[list[Any]]) -> dict[str, Any]:
    """A tooltip table: ``columns`` (label, kind), then each column's values."""
    assert len(columns) == len(values)
    return {"columns": columns, "values": values}


def commune_tips(
    communes: pd.DataFrame, indicator: str, prefix: str | None = None
) -> dict[str, Any]:
    """Tooltips of communes for ``indicator`` (or for one layer's ``prefix``)."""
    col = prefix or indicator
    label = INDICATOR_LABELS.get(indicator, indicator)
    columns = [
        (text_column("Xã / commune"), "commune_name"),
        (text_column("Huyện / district"), "district_name"),
        (text_column("Mã / code"), "commune_code"),  # CODE_COLUMN
        (number_column("Số hộ / households"), "households"),
        (number_column(f"Hộ có {label}"), f"{col}_households"),
        (number_column("Tỷ lệ / share", pct=True), f"{col}_pct"),
    ]
    if indicator == "fibre" and prefix is None:
        columns.append((flag_column("Mục tiêu / target", *MET), "fibre_target_met"))
        gap = number_column("Còn thiếu / gap (hộ)")
        columns.append((gap, "fibre_gap_households"))
    elif indicator == "mobile" and prefix is None:
        covered = flag_column("Xã được phủ / covered", *MET)
        columns.append((covered, "mobile_covered"))
    return tip([c for c, _ in columns], [_values(communes, n) for _, n in columns])


def cell_tips(cells: pd.DataFrame, indicator: str) -> dict[str, Any]:
    """Tooltips of H3 cells for ``indicator``."""
    label = INDICATOR_LABELS.get(indicator, indicator)
    columns = [
        (text_column("Ô H3 / H3 cell"), "h3"),
        (number_column("Số hộ / households"), "households"),
        (number_column(f"Hộ có {label}"), f"{indicator}_households"),
        (number_column("Tỷ lệ / share", pct=True), f"{indicator}_pct"),
    ]
    return tip([c for c, _ in columns], [_values(cells, n) for _, n in columns])


# --- the blobs -------------------------------------------------------------------------
def geometries(geoms: Any) -> list[orjson.Fragment | None]:
    """Each geometry as GeoJSON, rounded to ``MAP_DECIMALS`` (None: empty or not finite).

    >>> from geodx.pages import script_json
    >>> script_json(geometries([shapely.Point(108.123456789, 12.5), None]))
    b'[{"type":"Point","coordinates":[108.12346,12.5]},null]'
    """
    geoms = np.asarray(geoms, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    coords, where = shapely.get_coordinates(geoms, return_index=True)
    keep[np.unique(where[~np.isfinite(coords).all(axis=1)])] = False
    rounded = shapely.transform(geoms[keep], lambda xy: np.round(xy, MAP_DECIMALS))
    out: list[orjson.Fragment | None] = [None] * len(geoms)
    for i, text in zip(np.flatnonzero(keep), shapely.to_geojson(rounded), strict=True):
        out[i] = orjson.Fragment(text)
    return out


def class_counts(values: Iterable[Any], scale: DivergingScale) -> list[int]:
    """How many values fall in each class of ``scale`` (no-data last)."""
    colours = [c for _, c in scale.classes()]
    counts = [0] * len(colours)
    for v in values:
        counts[colours.index(scale.colour(v))] += 1
    return counts


def pivot_label(indicator: str) -> str:
    """What the centre of the colour scale is, for ``indicator``.

    Fibre: the household target. 4G/5G: the share of households that makes a commune
    count as covered. 5G has no 2025 target, so the same share is only a reference.
    """
    if indicator == "mobile_5g":
        return "Mốc so sánh / reference (4G/5G rule)"
    if indicator == "mobile":
        return "Xã được phủ khi / commune covered at"
    return "Mục tiêu / target"


def legend(
    scale: DivergingScale, indicator: str, values: Iterable[Any], counted: str
) -> dict[str, Any]:
    """The colour classes, the pivot (target) and how many features each class has."""
    label = INDICATOR_LABELS.get(indicator, indicator)
    counts = class_counts(values, scale)
    return {
        "heading": f"{label} (%)",
        "pivot": f"{pivot_label(indicator)}: {scale.target_pct:g} %",
        "classes": [
            [name, colour, n]
            for (name, colour), n in zip(scale.classes(), counts, strict=True)
        ],
        "counted": f"({counted})",
        "note": STEPS_NOTE,
    }


def overlay(
    name: str,
    shapes: str,
    *,
    show: bool,
    tips: dict[str, Any] | None,
    fill: list[str] | None = None,
    style: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One overlay: the features of ``shapes``, each with its fill colour and tooltip."""
    return {
        "name": name,
        "shapes": shapes,
        "show": show,
        "style": style or FILL,
        "fill": fill,
        "tip": tips,
    }


def _fill(scale: DivergingScale, frame: pd.DataFrame, column: str) -> list[str]:
    return [scale.colour(v) for v in _values(frame, column)]


def _page(
    bounds: Sequence[float], title: str, subtitle: str, *, synthetic: bool
) -> dict[str, Any]:
    west, south, east, north = (float(v) for v in bounds)
    finite = all(math.isfinite(v) for v in (west, south, east, north))
    return {
        "format": FORMAT,
        "title": title,
        "subtitle": subtitle,
        "synthetic": SYNTHETIC_BADGE if synthetic else None,
        "bounds": [[south, west], [north, east]] if finite else None,  # None: nothing
    }


def _tiles(url: str | None, attribution: str) -> dict[str, str] | None:
    return {"name": "Base map", "url": url, "attribution": attribution} if url else None


def cells_layer_data(
    cells: pd.DataFrame, shapes: Any, *, indicator: str, target_pct: float
) -> dict[str, Any]:
    """The hexagon overlay of a coverage map, fetched by the page when it is turned on.

    Parameters
    ----------
    cells : DataFrame
        ``h3``, ``households``, ``<indicator>_households`` and ``<indicator>_pct``.
    shapes : array of shapely geometries
        The cells' hexagons, EPSG:4326, one per row.
    indicator : str
        ``fibre``, ``mobile`` or ``mobile_5g``.
    target_pct : float
        The percentage the colour scale diverges around.

    Returns
    -------
    dict
        ``shapes`` (GeoJSON geometries), ``style``, ``fill`` and ``tip``, as an overlay.
    """
    scale = DivergingScale(target_pct)
    return {
        "format": FORMAT,
        "shapes": geometries(shapes),
        "style": FILL,
        "fill": _fill(scale, cells, f"{indicator}_pct"),
        "tip": cell_tips(cells, indicator),
    }


def coverage_map_data(
    communes: gpd.GeoDataFrame,
    *,
    indicator: str,
    target_pct: float,
    districts: gpd.GeoDataFrame | None = None,
    cells_url: str | None = None,
    cells_resolution: int | None = None,
    layers: Sequence[tuple[str, str]] = (),
    title: str = "",
    synthetic: bool = False,
    tiles_url: str | None = None,
    attribution: str = "",
    link: tuple[str, str] | None = None,
    operator_groups: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The data of a coverage map: communes coloured by ``<indicator>_pct``, overlays.

    Parameters
    ----------
    communes : GeoDataFrame
        EPSG:4326, the columns of ``communes.geojson``.
    indicator : str
        ``fibre``, ``mobile`` or ``mobile_5g``.
    target_pct : float
        The percentage the colour scale diverges around.
    districts : GeoDataFrame, optional
        District outlines.
    cells_url, cells_resolution : optional
        Where the page fetches the hexagon overlay (:func:`cells_layer_data`) when it
        is turned on, and the hexagons' H3 resolution.
    layers : sequence of (name, prefix)
        One overlay per coverage layer, coloured by ``<prefix>_pct``.
    title, synthetic, tiles_url, attribution
        Title box, synthetic label, optional base map.
    link : (prefix, suffix), optional
        A click on a commune opens ``prefix + code + suffix`` (relative to the map
        page; the page URL-encodes the code, the tooltips' column ``CODE_COLUMN``).
    operator_groups : sequence of dict
        The operators' layers (:func:`geodx.mapparts.operator_layers`).

    Returns
    -------
    dict
        The JSON blob :meth:`geodx.pages.MapPage.render` puts in the page.
    """
    scale = DivergingScale(target_pct)
    label = INDICATOR_LABELS.get(indicator, indicator)
    overlays = [overlay(f"Xã — {label} (%)", "communes", show=True,
                        tips=commune_tips(communes, indicator),
                        fill=_fill(scale, communes, f"{indicator}_pct"))]  # fmt: skip
    if link is not None:
        prefix, suffix = link
        overlays[0]["link"] = {"prefix": prefix, "suffix": suffix, "codes": CODE_COLUMN}
    for name, prefix in layers:
        overlays.append(overlay(name, "communes", show=False,
                                tips=commune_tips(communes, indicator, prefix),
                                fill=_fill(scale, communes, f"{prefix}_pct")))  # fmt: skip
    if cells_url is not None:
        name = f"Ô lục giác H3 / H3 hexagons (res {cells_resolution})"
        overlays.append({"name": name, "url": cells_url, "show": False})
    shapes = {"communes": geometries(communes.geometry)}
    if districts is not None and len(districts):
        shapes["districts"] = geometries(districts.geometry)
        names = tip([text_column("Huyện / district")],
                    [_values(districts, "district_name")])  # fmt: skip
        outline = {"color": "#111", "weight": 2.2, "fill": False, "opacity": 0.9}
        overlays.append(overlay("Ranh giới huyện / district boundaries", "districts",
                                show=True, tips=names, style=outline))  # fmt: skip
    subtitle = f"{label}: tỷ lệ hộ được phủ / share of households covered"
    return {
        **_page(communes.total_bounds, title, subtitle, synthetic=synthetic),
        "tiles": _tiles(tiles_url, attribution),
        "legend": legend(
            scale, indicator, _values(communes, f"{indicator}_pct"), "số xã / communes"
        ),  # fmt: skip
        "shapes": shapes,
        "overlays": overlays,
        "operator_layers": list(operator_groups),
    }


def commune_map_data(
    commune: pd.DataFrame,
    outline: Any,
    cells: pd.DataFrame,
    cell_shapes: Any,
    *,
    indicator: str,
    target_pct: float,
    title: str = "",
    synthetic: bool = False,
    tiles_url: str | None = None,
    attribution: str = "",
    figures: dict[str, Any] | None = None,
    plan: dict[str, Any] | None = None,
    home: str | None = None,
    operator_groups: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The data of one commune's map: its outline and H3 cells, one overlay per indicator.

    ``commune`` is one row with the columns of ``communes.geojson`` and ``outline`` its
    polygon (EPSG:4326); ``cells`` holds the commune's own households per cell
    (``cells.parquet`` rows of that commune) with ``<indicator>_households`` and
    ``<indicator>_pct`` columns, and ``cell_shapes`` their hexagons. ``figures`` and
    ``plan`` (:mod:`geodx.mapparts`) fill the figures box, ``home`` links back to the
    region's map, ``operator_groups`` are the operators' layers.
    """
    scale = DivergingScale(target_pct)
    shapes = np.asarray([outline, *cell_shapes], dtype=object)
    bounds = shapely.total_bounds(shapes)
    overlays = [
        overlay(f"H3 — {label} (%)", "cells", show=ind == indicator,
                tips=cell_tips(cells, ind), fill=_fill(scale, cells, f"{ind}_pct"))
        for ind, label in INDICATOR_LABELS.items()
    ]  # fmt: skip
    outline = {"color": "#111", "weight": 3, "fill": False}
    overlays.append(overlay("Ranh giới xã / commune boundary", "commune", show=True,
                            tips=commune_tips(commune, indicator), style=outline))  # fmt: skip
    label = INDICATOR_LABELS.get(indicator, indicator)
    subtitle = f"{label}: tỷ lệ hộ được phủ theo ô H3 / share per H3 cell"
    return {
        **_page(bounds, title, subtitle, synthetic=synthetic),
        "tiles": _tiles(tiles_url, attribution),
        "legend": legend(
            scale, indicator, _values(cells, f"{indicator}_pct"), "số ô H3 / H3 cells"
        ),  # fmt: skip
        "shapes": {"cells": geometries(shapes[1:]), "commune": geometries(shapes[:1])},
        "overlays": overlays,
        "figures": figures,
        "plan": plan,
        "home": home,
        "operator_layers": list(operator_groups),
    }

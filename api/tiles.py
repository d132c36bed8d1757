"""Vector tiles of the communes and H3 cells: Web Mercator XYZ, as MVT or per-tile JSON.

The tile math is morecantile's ``WebMercatorQuad`` (the OGC tile matrix set behind
every XYZ map); tiles are encoded with mapbox-vector-tile. Both are plain PyPI
libraries; tiles are built on request from the loaded results and the run's H3 pyramid
(:mod:`geodx.pyramid`), and kept per results version (:class:`TileSource` belongs to
one ``RegionResults``), so no worker pre-serialises the country.

What a tile holds:

- ``communes``: every commune whose polygon meets the tile, simplified to about half a
  pixel at the tile's zoom (at most :data:`MAX_FEATURES`, the most populous first).
- ``cells``: every cell of the pyramid level :func:`cells_level` picks for the zoom
  whose hexagon meets the tile; past :data:`MAX_FEATURES` the next coarser level.

The ``.geojson`` form is what the map pages draw (:mod:`geodx.maps` overlay blobs:
shapes, fill colours, tooltips, and each feature's ``keys`` so that a feature met by
several tiles is drawn once); ``.mvt`` is the same features for any MVT client.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import h3
import mapbox_vector_tile
import morecantile
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely

from api.cells import cell_polygons, roll_up
from api.errors import BadRequest, NotFound
from api.results import RegionResults
from geodx.contract_cells import pyramid_file
from geodx.contract_figures import pct_array
from geodx.contract_names import (
    H3_COL,
    INDICATORS,
    TARGET_KEYS,
)
from geodx.maps import FORMAT, cells_layer_data, commune_tips, geometries
from geodx.mapscale import DivergingScale
from geodx.pyramid import pyramid_levels

TMS = morecantile.tms.get("WebMercatorQuad")
MAX_ZOOM = 18
MAX_FEATURES = 5000  # per tile; cells past it come from a coarser level
EXTENT = 4096  # MVT units per tile side
BUFFER = 64  # MVT units kept beyond the tile's edge
CACHED_TILES = 2048  # per results version
LAYERS = ("communes", "cells")
COMMUNE_FIELDS = ("commune_code", "commune_name", "district_code", "district_name")
_R = 6378137.0  # the WebMercatorQuad sphere


class Tile(NamedTuple):
    """One tile of the matrix set, with its lon/lat bounds."""

    z: int
    x: int
    y: int
    bounds: tuple[float, float, float, float]


def tile(z: int, x: int, y: int) -> Tile:
    """The tile ``z/x/y``, checked against the tile matrix.

    >>> tile(0, 0, 0).bounds[0], tile(3, 7, 7).z
    (-180.0, 3)

    Raises
    ------
    BadRequest
        ``z`` outside 0 to ``MAX_ZOOM``.
    NotFound
        ``x``/``y`` outside 0 to ``2**z - 1``: no such tile in the matrix.
    """
    if not 0 <= z <= MAX_ZOOM:
        raise BadRequest(f"tile zoom was {z}; expected 0-{MAX_ZOOM}")
    side = TMS.matrix(z).matrixWidth
    if not (0 <= x < side and 0 <= y < side):
        raise NotFound(f"tile {z}/{x}/{y} is outside the matrix (0-{side - 1})")
    b = TMS.bounds(morecantile.Tile(x, y, z))
    return Tile(z, x, y, (b.left, b.bottom, b.right, b.top))


def cells_level(z: int, base: int) -> int:
    """The pyramid level drawn at zoom ``z`` (hexagons of about 10 pixels and more).

    >>> [cells_level(z, 9) for z in (4, 8, 9, 11, 12, 16)]
    [5, 5, 6, 8, 9, 9]
    """
    return max(_floor(base), min(z - 3, base))


def _floor(base: int) -> int:
    """The coarsest pyramid level for cells at ``base``."""
    return pyramid_levels(base)[-1]


def tile_columns() -> list[str]:
    """The columns of a pyramid level a tile draws or encodes (ids, counts, shares)."""
    counts = ["households", *(f"{ind}_households" for ind in INDICATORS)]
    return [H3_COL, "resolution", *counts, *(f"{ind}_pct" for ind in INDICATORS)]


def _level_columns(folder: Path, res: int) -> pd.DataFrame | None:
    """A written pyramid level's :func:`tile_columns` (None: the level is not written).

    :func:`geodx.pyramid.read_level` narrowed: the national level 9 has 70 columns,
    0.6 GB a worker in full.
    """
    path = folder / pyramid_file(res)
    if not path.is_file():
        return None
    names = pq.ParquetFile(path).schema_arrow.names
    wanted = [c for c in tile_columns() if c in names]
    frame: pd.DataFrame = pq.read_table(path, columns=wanted).to_pandas()
    return frame


def _mercator(lng: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lat = np.clip(lat, -85.05112878, 85.05112878)
    x = np.radians(lng) * _R
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * _R
    return np.column_stack([x, y])


class _Level(NamedTuple):
    frame: pd.DataFrame
    lat: np.ndarray
    lng: np.ndarray
    margin: float  # degrees of latitude a hexagon reaches beyond its centre


class TileSource:
    """Tiles of one ``RegionResults``: pyramid levels and tiles read or built on use."""

    def __init__(self, results: RegionResults) -> None:
        self.results = results
        self._levels: dict[int, _Level] = {}
        self._tiles: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._tree: shapely.STRtree | None = None

    # --- levels and selection ---------------------------------------------------------
    def level(self, res: int) -> _Level:
        """The cell totals at ``res``: the run's pyramid file, else rolled up here."""
        with self._lock:
            found = self._levels.get(res)
        if found is not None:
            return found
        base = self.results.h3_resolution
        frame = _level_columns(self.results.folder, res)
        if frame is None:  # results of a run before the pyramid
            frame = roll_up(self.results.cells, res, base)
        centres = np.asarray([h3.cell_to_latlng(c) for c in frame["h3"]], dtype=float)
        centres = centres.reshape(-1, 2)
        edge_km = h3.average_hexagon_edge_length(res, unit="km")
        found = _Level(frame, centres[:, 0], centres[:, 1], 2.0 * edge_km / 111.0)
        with self._lock:
            self._levels[res] = found
        return found

    def cells(self, t: Tile) -> tuple[pd.DataFrame, np.ndarray, int]:
        """The cells meeting tile ``t`` (rows, hexagons, their level)."""
        base = self.results.h3_resolution
        res = cells_level(t.z, base)
        while True:
            rows, shapes = self._cells_at(self.level(res), t)
            if len(rows) <= MAX_FEATURES or res <= _floor(base):
                return rows.head(MAX_FEATURES), shapes[:MAX_FEATURES], res
            res -= 1

    def _cells_at(self, lv: _Level, t: Tile) -> tuple[pd.DataFrame, np.ndarray]:
        west, south, east, north = t.bounds
        pad_lat = lv.margin
        pad_lng = lv.margin / max(
            math.cos(math.radians(max(abs(south), abs(north)))), 0.01
        )
        near = np.flatnonzero(
            (lv.lat >= south - pad_lat) & (lv.lat <= north + pad_lat)
            & (lv.lng >= west - pad_lng) & (lv.lng <= east + pad_lng)
        )  # fmt: skip
        rows = lv.frame.iloc[near]
        shapes = cell_polygons(rows["h3"])
        meets = shapely.intersects(shapes, shapely.box(*t.bounds))
        return rows.iloc[np.flatnonzero(meets)], shapes[meets]

    def communes(self, t: Tile) -> tuple[pd.DataFrame, np.ndarray]:
        """The communes meeting tile ``t``, simplified for its zoom (rows, shapes)."""
        with self._lock:
            if self._tree is None:
                self._tree = shapely.STRtree(self.results.commune_geoms)
            tree = self._tree
        hits = np.sort(tree.query(shapely.box(*t.bounds), predicate="intersects"))
        rows = self.results.communes.iloc[hits]
        if len(rows) > MAX_FEATURES:
            order = np.argsort(-rows["households"].to_numpy(dtype=float), kind="stable")
            hits = np.sort(hits[order[:MAX_FEATURES]])
            rows = self.results.communes.iloc[hits]
        span = (t.bounds[2] - t.bounds[0]) / 512.0  # half a pixel of a 256 px tile
        shapes = shapely.simplify(self.results.commune_geoms[hits], span)
        return rows, shapes

    # --- bodies -----------------------------------------------------------------------
    def cached(self, key: tuple[Any, ...], build: Callable[[], bytes]) -> bytes:
        """A tile body built once per key (the results version is this source's)."""
        with self._lock:
            body = self._tiles.get(key)
            if body is not None:
                self._tiles.move_to_end(key)
                return body
        body = build()
        with self._lock:
            self._tiles[key] = body
            while len(self._tiles) > CACHED_TILES:
                self._tiles.popitem(last=False)
        return body

    def overlay(self, layer: str, t: Tile, indicator: str) -> dict[str, Any]:
        """The tile as a map overlay blob (shapes, fill, tooltips, keys)."""
        target = self.results.targets[TARGET_KEYS[indicator]]
        if layer == "cells":
            rows, shapes, res = self.cells(t)
            data = cells_layer_data(
                rows, shapes, indicator=indicator, target_pct=target
            )
            return {**data, "keys": rows["h3"].tolist(), "level": res}
        rows, shapes = self.communes(t)
        scale = DivergingScale(target)
        shares = rows[f"{indicator}_pct"].tolist() if len(rows) else []
        return {
            "format": FORMAT,
            "shapes": geometries(shapes),
            "fill": [scale.colour(_number(v)) for v in shares],
            "tip": commune_tips(rows, indicator),
            "keys": rows["commune_code"].astype(str).tolist(),
        }

    def mvt(self, layer: str, t: Tile) -> bytes:
        """The tile as a Mapbox Vector Tile (one layer named ``layer``)."""
        if layer == "cells":
            rows, shapes, _ = self.cells(t)
            rows = _with_pct(rows)
        else:
            rows, shapes = self.communes(t)
        return encode_mvt(layer, t, rows, shapes, _fields(layer, rows))


def _number(value: Any) -> float | None:
    return (
        None
        if value is None or (isinstance(value, float) and math.isnan(value))
        else value
    )


def _with_pct(rows: pd.DataFrame) -> pd.DataFrame:
    whole = rows["households"].to_numpy(dtype=float)
    return rows.assign(
        **{
            f"{ind}_pct": pct_array(rows[f"{ind}_households"].to_numpy(float), whole)
            for ind in INDICATORS
        }
    )


def _fields(layer: str, rows: pd.DataFrame) -> list[str]:
    ids = ["h3", "resolution"] if layer == "cells" else list(COMMUNE_FIELDS)
    counts = ["households", *(f"{ind}_households" for ind in INDICATORS)]
    pcts = [f"{ind}_pct" for ind in INDICATORS]
    return [c for c in (*ids, *counts, *pcts) if c in rows.columns]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def encode_mvt(
    layer: str, t: Tile, rows: pd.DataFrame, shapes: np.ndarray, fields: list[str]
) -> bytes:
    """Features clipped to the tile (plus a buffer) in MVT units; null properties left out."""
    box = TMS.xy_bounds(morecantile.Tile(t.x, t.y, t.z))
    size = np.array([box.right - box.left, box.top - box.bottom])
    origin = np.array([box.left, box.bottom])

    def to_tile(xy: np.ndarray) -> np.ndarray:  # lon/lat -> MVT units, y up
        units: np.ndarray = np.round(
            (_mercator(xy[:, 0], xy[:, 1]) - origin) / size * EXTENT
        )
        return units

    units = shapely.transform(np.asarray(shapes, dtype=object), to_tile)
    clipped = shapely.clip_by_rect(
        units, -BUFFER, -BUFFER, EXTENT + BUFFER, EXTENT + BUFFER
    )
    records = rows[fields].to_dict("records")
    features = [
        {"geometry": geom, "properties": {k: v for k, v in ((k, _plain(v)) for k, v in rec.items()) if v is not None}}
        for geom, rec in zip(clipped, records, strict=True)
        if not shapely.is_empty(geom)
    ]  # fmt: skip
    options = {
        "extents": EXTENT,
        "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
    }
    body = mapbox_vector_tile.encode(
        [{"name": layer, "features": features}], default_options=options
    )
    assert isinstance(body, bytes)
    return body


def tilejson(layer: str, url: str, results: RegionResults) -> dict[str, Any]:
    """TileJSON 3.0.0 of ``layer``, its tiles at ``url`` (a ``{z}/{x}/{y}`` template)."""
    if len(results.commune_geoms):
        west, south, east, north = (
            float(v) for v in shapely.total_bounds(results.commune_geoms)
        )
    else:
        west, south, east, north = -180.0, -85.0511, 180.0, 85.0511
    columns = (
        results.communes
        if layer == "communes"
        else _with_pct(
            roll_up(results.cells.head(1), results.h3_resolution, results.h3_resolution)
        )
    )
    fields = {
        f: "String" if f in ("h3", *COMMUNE_FIELDS) else "Number"
        for f in _fields(layer, columns)
    }
    return {
        "tilejson": "3.0.0",
        "name": f"{results.name} — {layer}",
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": 0, "maxzoom": MAX_ZOOM}],
        "synthetic": results.synthetic,
        "households_estimated": results.households_estimated,
    }  # fmt: skip

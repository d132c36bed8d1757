"""What a run draws for the maps: every layer as it was filed, per operator.

``geodx run`` calls :func:`write_map_layers` inside its output folder, so each results
version holds its own drawings: ``DIR/layers/index.json`` (one entry per coverage and
measured layer, schema in docs/definitions.md) and one file per layer beside it, named
from the layer's slug (``[a-z0-9_]``), never from other data:

- vector layers (served areas, routes, splitters, 5G polygons): ``<slug>.geojson``, RFC
  7946 WGS84, lines and polygons simplified topology-preservingly in the region's UTM
  zone (``simplified_m``; points kept); feature properties are ``layer``, ``operator``,
  ``kind`` and ``technology`` only;
- RSRP rasters: ``<slug>.png`` (RGBA, EPSG:3857, :mod:`layers.mapimage`);
- site layers: ``<slug>.png`` and ``<slug>.tif`` (the prediction) and
  ``<slug>.sites.geojson`` (the sectors, with ``height_m``, ``frequency_mhz``,
  ``azimuth_deg``);
- measured layers: ``<slug>.geojson``, one square per zoom-16 tile with
  ``download_mbps``, ``tests`` and ``class``.

Only features meeting the region's bounds grown by ``GROW_DEG`` are drawn. Budgets
(:class:`DrawBudget`): a vector file over ``max_bytes`` is simplified again at twice the
tolerance until it fits or the tolerance reaches ``max_tolerance_m``; a file still over
(or with more than ``max_features``) keeps its first features that fit and says
``truncated`` in the index, with ``features_total``.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from geodx.contract import (
    ESTIMATED_MEMBER,
    MAP_INDEX_FILE,
    MAP_INDEX_FORMAT,
    MAP_LAYERS_DIR,
    SYNTHETIC_NOTE,
    collection_bytes,
    rfc7946,
    serialise,
)
from geodx.crs import reproject
from geodx.errors import GeodxWarning
from geodx.io import write_bytes
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest import CountsSpec, LayerSpec, Manifest
from geodx.tiles import tile_bounds
from layers import mapimage
from layers.measured import Tiles
from layers.registry import is_raster
from layers.signal import SignalRaster
from layers.sites import SiteLayer
from layers.vector import read_layer_geometries

WGS84 = CRS.from_epsg(4326)
GROW_DEG = 0.05  # about 5 km around the region's bounds
_FILE_NAME = re.compile(r"[a-z0-9_]+(\.sites)?\.(geojson|png|tif)")
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class DrawBudget:
    """Sizes of what a run draws (documented in docs/definitions.md)."""

    max_bytes: int = 8 * 1024**2  # one vector layer file
    max_features: int = 100_000  # features of one vector layer file
    tolerance_m: float = 5.0  # first simplification tolerance
    max_tolerance_m: float = 2_000.0
    image_max_pixels: int = 2_000_000  # one PNG
    prediction_pixel_m: float = 100.0  # a site layer's prediction raster
    prediction_max_pixels: int = 1_000_000


DEFAULT_BUDGET = DrawBudget()


@dataclass(frozen=True)
class _Context:
    folder: Path
    clip: BBox
    metric_crs: CRS
    limits: Limits
    budget: DrawBudget
    members: dict[str, Any]
    # Site layer slug -> the open layer and its prediction (None: nothing in reach).
    predictions: dict[str, tuple[SiteLayer, Future[mapimage.Grid] | None]]
    # Drawn beside the run: vector layers drawn from copies of the geometries read,
    # never from the objects the run's threads test (and prepare) meanwhile.
    beside: bool = False


def layer_file(folder: Path, name: str) -> Path:
    """``folder / name`` for a slug-made name, refused unless it stays in ``folder``.

    Examples
    --------
    >>> layer_file(Path("/out/layers"), "vnpt_fibre.geojson").name
    'vnpt_fibre.geojson'
    >>> layer_file(Path("/out/layers"), "../summary.json")
    Traceback (most recent call last):
    ...
    ValueError: map layer file name '../summary.json' is not a slug file name
    """
    if not _FILE_NAME.fullmatch(name):
        raise ValueError(f"map layer file name {name!r} is not a slug file name")
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise ValueError(f"map layer file {name!r} leaves {folder}")
    return path


def grown_bounds(bounds: BBox, grow_deg: float = GROW_DEG) -> BBox:
    """``bounds`` grown by ``grow_deg`` on each side, kept on the globe."""
    west, south, east, north = bounds
    return (
        max(west - grow_deg, -180.0),
        max(south - grow_deg, -85.05),
        min(east + grow_deg, 180.0),
        min(north + grow_deg, 85.05),
    )


def write_map_layers(
    out_dir: Path,
    manifest: Manifest,
    *,
    region_bounds: BBox,
    metric_crs: CRS,
    limits: Limits = DEFAULT_LIMITS,
    budget: DrawBudget = DEFAULT_BUDGET,
    sites: Mapping[str, SiteLayer] | None = None,
) -> dict[str, Any]:
    """Draw every layer of ``manifest`` into ``out_dir/layers`` and write its index.

    Parameters
    ----------
    out_dir : Path
        The run's (temporary) output folder.
    manifest : Manifest
    region_bounds : tuple
        The communes' WGS84 ``west, south, east, north``.
    metric_crs : pyproj.CRS
        The region's UTM zone (simplification, prediction raster).
    sites : mapping, optional
        The run's site layers already open, by slug: none is read again, and nothing
        read again can warn (vector layers read inside ``layers.vector.reads_kept``
        are not read again either), so the warning filters are left alone and the
        drawing may run in a thread beside the run's work.

    Returns
    -------
    dict
        The index, as written to ``layers/index.json``.

    Site predictions (numpy only) run in a second thread while this one draws the
    other layers; every GDAL, PROJ and file call stays in this thread (libraries
    change warning filters with ``catch_warnings``, which threads would race on).
    Warnings the layers' readers gave during the run are not repeated here (without
    ``sites``: ignored while drawing).
    """
    folder = out_dir / MAP_LAYERS_DIR
    folder.mkdir()
    estimated = isinstance(manifest.households, CountsSpec)
    members: dict[str, Any] = {"synthetic": manifest.synthetic}
    if estimated:
        members[ESTIMATED_MEMBER] = True
    clip = grown_bounds(region_bounds)
    ctx = _Context(
        folder, clip, metric_crs, limits, budget, members, {}, beside=sites is not None
    )
    specs = manifest.layers + manifest.measured
    # Site layers last: their predictions run meanwhile.
    order = sorted(range(len(specs)), key=lambda i: specs[i].model is not None)
    quiet = warnings.catch_warnings() if sites is None else contextlib.nullcontext()
    with quiet, ThreadPoolExecutor(max_workers=1) as pool:
        if sites is None:
            warnings.simplefilter("ignore", GeodxWarning)
        for spec in specs:
            if spec.model is not None:
                opened = None if sites is None else sites[spec.slug]
                ctx.predictions[spec.slug] = _start_prediction(spec, ctx, pool, opened)
        drawn = {i: draw_layer(specs[i], ctx) for i in order}
    entries = [drawn[i] for i in range(len(specs))]
    index = {
        "format": MAP_INDEX_FORMAT,
        "synthetic": manifest.synthetic,
        ESTIMATED_MEMBER: estimated,
        "note": SYNTHETIC_NOTE if manifest.synthetic else None,
        "crs": "EPSG:4326",
        "region_bounds": list(region_bounds),
        "drawn_within": list(clip),
        "budget": asdict(budget),
        "layers": entries,
    }
    write_bytes(
        folder / MAP_INDEX_FILE, orjson.dumps(index, option=orjson.OPT_INDENT_2)
    )
    return index


def draw_layer(spec: LayerSpec, ctx: _Context) -> dict[str, Any]:
    """Draw one layer and return its index entry."""
    entry: dict[str, Any] = {
        "id": spec.id,
        "kind": spec.kind,
        "operator": spec.operator,
        "technology": spec.technology,
        "model": spec.model,
    }
    draw: Callable[[LayerSpec, _Context], dict[str, Any]]
    if spec.kind == "measured":
        draw = _draw_tiles
    elif spec.model is not None:
        draw = _draw_sites
    elif is_raster(spec):
        draw = _draw_raster
    else:
        draw = _draw_vector
    return entry | draw(spec, ctx)


# --- vectors ------------------------------------------------------------------------
def _properties(spec: LayerSpec, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": [spec.id] * n,
            "operator": [spec.operator] * n,
            "kind": [spec.kind] * n,
            "technology": [spec.technology] * n,
        }
    )


def _inside(geoms: np.ndarray, clip: BBox) -> NDArray[np.bool_]:
    return np.asarray(shapely.intersects(geoms, shapely.box(*clip)), dtype=bool)


def _fit(features: list[bytes], budget: DrawBudget) -> int:
    """How many of the first features fit the byte and feature budgets."""
    sizes = np.cumsum([len(f) + 1 for f in features])
    fits = int(np.searchsorted(sizes, budget.max_bytes, side="right"))
    return min(fits, budget.max_features, len(features))


def _serialise(
    geoms: np.ndarray, props: pd.DataFrame | bytes, first: int = 0
) -> tuple[np.ndarray, list[bytes]]:
    """:func:`geodx.contract.serialise`, faster for constant properties.

    When ``props`` is already JSON it is every feature's properties object (the same
    bytes, without a dict per feature). Ids count from ``first``.
    """
    if not isinstance(props, bytes):
        return serialise(geoms, props, ids=range(first, first + len(props)))
    fixed = rfc7946(geoms)
    texts = shapely.to_geojson(fixed)
    return fixed, [
        b'{"type":"Feature","id":"%d","geometry":%s,"properties":%s}'
        % (i, str(text).encode(), props)
        for i, text in enumerate(texts, first)
    ]


#: Features drawn and serialised at a time while a layer's budget is filled.
CHUNK = 4096


def _budgeted(
    draw: Callable[[slice], np.ndarray],
    n: int,
    props: pd.DataFrame | bytes,
    budget: DrawBudget,
) -> tuple[np.ndarray, list[bytes]]:
    """The first of ``n`` features (``draw(part)``: their geometries), serialised.

    A chunk at a time, stopping once the budget is overrun: :func:`_fit` of what is
    returned is :func:`_fit` of all ``n`` features serialised (a country's routes are
    not simplified and serialised whole only for most of them to be left out).
    """
    fixed: list[np.ndarray] = []
    features: list[bytes] = []
    size = 0
    for start in range(0, n, CHUNK):
        part = slice(start, min(start + CHUNK, n))
        chunk = props if isinstance(props, bytes) else props.iloc[part]
        drawn, texts = _serialise(draw(part), chunk, first=start)
        fixed.append(np.asarray(drawn, dtype=object))
        features.extend(texts)
        size += sum(len(f) + 1 for f in texts)
        if size > budget.max_bytes or len(features) > budget.max_features:
            break
    return (np.concatenate(fixed) if fixed else np.empty(0, dtype=object)), features


def _write_features(
    name: str,
    geoms: np.ndarray,
    props: pd.DataFrame | bytes,
    ctx: _Context,
    *,
    simplify: Callable[[float, slice], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Serialise within budget; the entry's ``file``, ``bounds``, ``features``, ...."""
    n, budget = len(geoms), ctx.budget
    tolerance = budget.tolerance_m if simplify else 0.0

    def draw(part: slice) -> np.ndarray:
        return simplify(tolerance, part) if simplify else geoms[part]

    fixed, features = _budgeted(draw, n, props, budget)
    while simplify and _fit(features, budget) < n:
        if tolerance >= budget.max_tolerance_m:
            break
        tolerance = min(2 * tolerance, budget.max_tolerance_m)
        fixed, features = _budgeted(draw, n, props, budget)
    kept = _fit(features, budget)
    members = ctx.members | {"simplified_m": tolerance}
    data = collection_bytes(features[:kept], members=members)
    write_bytes(layer_file(ctx.folder, name), data)
    bounds = shapely.total_bounds(fixed[:kept]) if kept else None
    return {
        "file": name,
        "bounds": None if bounds is None else [round(float(v), 7) for v in bounds],
        "features": kept,
        "simplified_m": tolerance,
        "bytes": len(data),
        "simplified_more": tolerance > ctx.budget.tolerance_m,
        "truncated": kept < n,
        "features_total": n,
    }


def _draw_vector(spec: LayerSpec, ctx: _Context) -> dict[str, Any]:
    geoms, crs, family = read_layer_geometries(spec, limits=ctx.limits)
    if ctx.beside:
        geoms = _copies(geoms)
    lonlat = reproject(geoms, crs, WGS84)
    keep = _inside(lonlat, ctx.clip)
    geoms, lonlat = geoms[keep], lonlat[keep]
    simplify = None
    if family != "points":
        metric = reproject(geoms, crs, ctx.metric_crs)

        def simplify(tolerance: float, part: slice) -> np.ndarray:
            thin = shapely.simplify(metric[part], tolerance, preserve_topology=True)
            return reproject(np.asarray(thin, dtype=object), ctx.metric_crs, WGS84)

    name = f"{spec.slug}.geojson"
    props = orjson.dumps(_properties(spec, 1).iloc[0].to_dict())
    written = _write_features(name, lonlat, props, ctx, simplify=simplify)
    return {"type": "vector", "source": family, **written}


def _copies(geoms: np.ndarray) -> np.ndarray:
    """New geometry objects with the very same coordinates (a WKB round trip).

    GEOS builds a prepared geometry's indexes on first use, unguarded: two threads must
    not test one geometry object at once.

    >>> g = np.array([shapely.LineString([(0.1, 0.2), (1 / 3, 2 / 3)])], dtype=object)
    >>> c = _copies(g)
    >>> c[0] is not g[0], bool(shapely.equals_exact(c[0], g[0], 0.0))
    (True, True)
    """
    wkb = shapely.to_wkb(geoms, output_dimension=3)
    return np.asarray(shapely.from_wkb(wkb), dtype=object)


def _start_prediction(
    spec: LayerSpec,
    ctx: _Context,
    pool: ThreadPoolExecutor,
    layer: SiteLayer | None = None,
) -> tuple[SiteLayer, Future[mapimage.Grid] | None]:
    """Open a site layer (unless given open) and start its prediction in ``pool``."""
    if layer is None:
        layer = SiteLayer.open(spec, metric_crs=ctx.metric_crs, limits=ctx.limits)
    plan = mapimage.prediction_plan(
        layer,
        clip_wgs84=ctx.clip,
        pixel_m=ctx.budget.prediction_pixel_m,
        max_pixels=ctx.budget.prediction_max_pixels,
    )
    return layer, None if plan is None else pool.submit(mapimage.predict, layer, plan)


def _draw_sites(spec: LayerSpec, ctx: _Context) -> dict[str, Any]:
    """The prediction as a GeoTIFF and a PNG; the sectors as points."""
    layer, job = ctx.predictions[spec.slug]
    s = layer.sectors
    to_lonlat = Transformer.from_crs(ctx.metric_crs, WGS84, always_xy=True)
    lng, lat = to_lonlat.transform(s.x, s.y)
    points = shapely.points(np.asarray(lng), np.asarray(lat))
    keep = _inside(points, ctx.clip)
    props = _properties(spec, int(keep.sum()))
    props["height_m"] = s.height_m[keep]
    props["frequency_mhz"] = s.frequency_mhz[keep]
    props["azimuth_deg"] = s.azimuth_deg[keep]
    sites = _write_features(f"{spec.slug}.sites.geojson", points[keep], props, ctx)
    entry: dict[str, Any] = {
        "type": "image",
        "source": "sites",
        "features": len(s),
        "simplified_m": None,
        "sites": {k: sites[k] for k in ("file", "bounds", "features", "truncated")},
        "legend": mapimage.rsrp_legend(spec.min_rsrp_dbm),
    }
    grid = None if job is None else job.result()
    if grid is None:
        return entry | {"file": None, "bounds": None, "raster": None}
    tif = f"{spec.slug}.tif"
    mapimage.write_geotiff(
        layer_file(ctx.folder, tif), grid, description="predicted RSRP (dBm)"
    )
    rows, cols = grid.values.shape
    entry["raster"] = {
        "file": tif,
        "crs": grid.crs.to_string(),
        "pixel_m": grid.transform.a,
        "width": cols,
        "height": rows,
        "floor_dbm": spec.min_rsrp_dbm + mapimage.RSRP_STEPS_DB[0],
    }
    return entry | _write_image(spec, grid, ctx)


def _draw_raster(spec: LayerSpec, ctx: _Context) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": "image",
        "source": "raster",
        "features": None,
        "simplified_m": None,
        "legend": mapimage.rsrp_legend(spec.min_rsrp_dbm),
    }
    with SignalRaster.open(spec, limits=ctx.limits) as raster:
        grid = mapimage.read_signal(
            raster, clip_wgs84=ctx.clip, max_pixels=ctx.budget.image_max_pixels
        )
    if grid is None:
        return entry | {"file": None, "bounds": None}
    return entry | _write_image(spec, grid, ctx)


def _write_image(spec: LayerSpec, grid: mapimage.Grid, ctx: _Context) -> dict[str, Any]:
    warped = mapimage.to_mercator(
        grid, clip_wgs84=ctx.clip, max_pixels=ctx.budget.image_max_pixels
    )
    if warped is None:
        return {"file": None, "bounds": None}
    image, bounds = warped
    rgba = mapimage.rsrp_rgba(image.values, spec.min_rsrp_dbm)
    name = f"{spec.slug}.png"
    write_bytes(layer_file(ctx.folder, name), mapimage.png_bytes(rgba))
    rows, cols = image.values.shape
    return {
        "file": name,
        "bounds": [round(v, 7) for v in bounds],
        "crs": "EPSG:3857",
        "width": cols,
        "height": rows,
    }


# --- measured tiles -----------------------------------------------------------------
MBPS_COLOURS = ("#d7301f", "#fc8d59", "#78c679", "#238443")
TOO_FEW_COLOUR = "#969696"


def mbps_legend(min_download_mbps: float, min_tests: int) -> dict[str, Any]:
    """Download-speed classes around the layer's speed, and the too-few-tests class.

    Examples
    --------
    >>> [c["min_mbps"] for c in mbps_legend(10.0, 3)["classes"]]
    [0.0, 5.0, 10.0, 20.0]
    """
    lows = [0.0, min_download_mbps / 2, min_download_mbps, 2 * min_download_mbps]
    highs: list[float | None] = [*lows[1:], None]
    classes = [
        {
            "min_mbps": lo,
            "max_mbps": hi,
            "colour": c,
            "class": "below" if i < 2 else "above",
        }
        for i, (lo, hi, c) in enumerate(zip(lows, highs, MBPS_COLOURS, strict=True))
    ]
    return {
        "unit": "Mbps",
        "min_download_mbps": min_download_mbps,
        "min_tests": min_tests,
        "classes": classes,
        "too_few_tests": {"colour": TOO_FEW_COLOUR, "class": "too_few_tests"},
    }


def _draw_tiles(spec: LayerSpec, ctx: _Context) -> dict[str, Any]:
    """One square per zoom-16 tile meeting the region, with its speed and class."""
    tiles = Tiles.open(spec, limits=ctx.limits)
    box = tile_bounds(tiles.keys)
    w, s, e, n = ctx.clip
    keep = (box[:, 0] <= e) & (box[:, 2] >= w) & (box[:, 1] <= n) & (box[:, 3] >= s)
    box = box[keep]
    mbps, tests = tiles.mbps[keep], tiles.tests[keep]
    speed = float(spec.min_download_mbps or 0.0)
    min_tests = int(spec.min_tests or 1)
    enough = tests >= min_tests
    props = _properties(spec, len(box))
    props["download_mbps"] = [round(float(v), 2) for v in mbps]  # correctly rounded
    props["tests"] = tests.astype(np.int64)
    props["class"] = np.where(
        enough, np.where(mbps >= speed, "above", "below"), "too_few_tests"
    )
    squares = shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3])
    name = f"{spec.slug}.geojson"
    written = _write_features(name, np.asarray(squares, dtype=object), props, ctx)
    return {
        "type": "vector",
        "source": "tiles",
        **written,
        "legend": mbps_legend(speed, min_tests),
    }

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
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely
from pyproj import CRS, Transformer

from geodx.contract_names import (
    ESTIMATED_MEMBER,
    MAP_INDEX_FILE,
    MAP_INDEX_FORMAT,
    MAP_LAYERS_DIR,
    SYNTHETIC_NOTE,
)
from geodx.crs import reproject
from geodx.errors import GeodxWarning
from geodx.io import write_bytes
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import (
    CountsSpec,
    LayerSpec,
    Manifest,
)
from geodx.tiles import tile_bounds
from layers import mapimage
from layers.mapfeatures import (
    DEFAULT_BUDGET,
    BBox,
    DrawBudget,
    DrawContext,
    feature_properties,
    inside_clip,
    layer_file,
    write_features,
)
from layers.measured import Tiles
from layers.registry import is_raster
from layers.signal import SignalRaster
from layers.sites import SiteLayer
from layers.vector import read_layer_geometries

WGS84 = CRS.from_epsg(4326)
GROW_DEG = 0.05  # about 5 km around the region's bounds


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
        drawing may run in a thread beside the run's work. A site layer not in it is
        opened here (a Dask run's client, whose workers read the region): what it
        warns is its first warning in this process.

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
    ctx = DrawContext(
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
                opened = None if sites is None else sites.get(spec.slug)
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


def draw_layer(spec: LayerSpec, ctx: DrawContext) -> dict[str, Any]:
    """Draw one layer and return its index entry."""
    entry: dict[str, Any] = {
        "id": spec.id,
        "kind": spec.kind,
        "operator": spec.operator,
        "technology": spec.technology,
        "model": spec.model,
    }
    draw: Callable[[LayerSpec, DrawContext], dict[str, Any]]
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
def _draw_vector(spec: LayerSpec, ctx: DrawContext) -> dict[str, Any]:
    geoms, crs, family = read_layer_geometries(spec, limits=ctx.limits)
    if ctx.beside:
        geoms = _copies(geoms)
    lonlat = reproject(geoms, crs, WGS84)
    keep = inside_clip(lonlat, ctx.clip)
    geoms, lonlat = geoms[keep], lonlat[keep]
    simplify = None
    if family != "points":
        metric = reproject(geoms, crs, ctx.metric_crs)

        def simplify(tolerance: float, part: slice) -> np.ndarray:
            thin = shapely.simplify(metric[part], tolerance, preserve_topology=True)
            return reproject(np.asarray(thin, dtype=object), ctx.metric_crs, WGS84)

    name = f"{spec.slug}.geojson"
    props = orjson.dumps(feature_properties(spec, 1).iloc[0].to_dict())
    written = write_features(name, lonlat, props, ctx, simplify=simplify)
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
    ctx: DrawContext,
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


def _draw_sites(spec: LayerSpec, ctx: DrawContext) -> dict[str, Any]:
    """The prediction as a GeoTIFF and a PNG; the sectors as points."""
    layer, job = ctx.predictions[spec.slug]
    s = layer.sectors
    to_lonlat = Transformer.from_crs(ctx.metric_crs, WGS84, always_xy=True)
    lng, lat = to_lonlat.transform(s.x, s.y)
    points = shapely.points(np.asarray(lng), np.asarray(lat))
    keep = inside_clip(points, ctx.clip)
    props = feature_properties(spec, int(keep.sum()))
    props["height_m"] = s.height_m[keep]
    props["frequency_mhz"] = s.frequency_mhz[keep]
    props["azimuth_deg"] = s.azimuth_deg[keep]
    sites = write_features(f"{spec.slug}.sites.geojson", points[keep], props, ctx)
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


def _draw_raster(spec: LayerSpec, ctx: DrawContext) -> dict[str, Any]:
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


def _write_image(
    spec: LayerSpec, grid: mapimage.Grid, ctx: DrawContext
) -> dict[str, Any]:
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


def _draw_tiles(spec: LayerSpec, ctx: DrawContext) -> dict[str, Any]:
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
    props = feature_properties(spec, len(box))
    props["download_mbps"] = [round(float(v), 2) for v in mbps]  # correctly rounded
    props["tests"] = tests.astype(np.int64)
    props["class"] = np.where(
        enough, np.where(mbps >= speed, "above", "below"), "too_few_tests"
    )
    squares = shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3])
    name = f"{spec.slug}.geojson"
    written = write_features(name, np.asarray(squares, dtype=object), props, ctx)
    return {
        "type": "vector",
        "source": "tiles",
        **written,
        "legend": mbps_legend(speed, min_tests),
    }

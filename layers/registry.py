"""Layer spec -> adapter: rasters by file type, vectors by geometry family."""

from __future__ import annotations

import warnings

from pyproj import CRS

from geodx.errors import GeodxWarning, UnsupportedFormat
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import (
    DEFAULT_MIN_RSRP_DBM,
    DEFAULT_SERVICE_DISTANCE_M,
    LayerSpec,
)
from layers.base import CoverageLayer
from layers.signal import RASTER_SUFFIXES, REFUSED_RASTER_SUFFIXES, SignalRaster
from layers.sites import SiteLayer
from layers.vector import open_vector_layer


def is_raster(spec: LayerSpec) -> bool:
    """Whether the layer file is a raster (by its extension: ``.tif`` or ``.tiff``)."""
    return spec.path.suffix.lower() in RASTER_SUFFIXES


def open_layer(
    spec: LayerSpec, *, metric_crs: CRS, limits: Limits = DEFAULT_LIMITS
) -> CoverageLayer:
    """Open the adapter for a layer spec.

    Parameters
    ----------
    spec : LayerSpec
        One ``[[layers]]`` entry of the manifest.
    metric_crs : pyproj.CRS
        The region's UTM zone: distances to networks whose own CRS is not true to scale
        near the region (geographic, Web Mercator, ...) are measured in it.
    limits : Limits
        Budgets: file bytes, features and vertices of vector files; declared pixels
        and bytes decoded per block of rasters.

    Returns
    -------
    CoverageLayer

    Raises
    ------
    UnsupportedFormat
        For raster formats other than GeoTIFF (``.vrt``, ``.img``, ``.nc``, ...).

    A layer with ``model`` set is a sector list (:class:`layers.sites.SiteLayer`).
    """
    if spec.kind == "measured":
        raise UnsupportedFormat(
            f"{spec.path}: layer '{spec.id}' is measured speeds: it covers nobody; "
            "read it with layers.measured.Tiles"
        )
    suffix = spec.path.suffix.lower()
    if suffix in REFUSED_RASTER_SUFFIXES:
        raise UnsupportedFormat(
            f"{spec.path}: layer '{spec.id}': {suffix!r} rasters are not read; "
            "rasters must be GeoTIFF (.tif, .tiff)"
        )
    if spec.model is not None:
        if is_raster(spec):
            raise UnsupportedFormat(
                f"{spec.path}: layer '{spec.id}' has a 'model': its file must be a "
                "sector table or point file, not a raster"
            )
        layer: CoverageLayer = SiteLayer.open(
            spec, metric_crs=metric_crs, limits=limits
        )
    elif is_raster(spec):
        layer = SignalRaster.open(spec, limits=limits)
    else:
        layer = open_vector_layer(spec, metric_crs=metric_crs, limits=limits)
    _warn_unused(spec, layer.source)
    return layer


def _warn_unused(spec: LayerSpec, source: str) -> None:
    if source not in {"raster", "sites"} and spec.min_rsrp_dbm != DEFAULT_MIN_RSRP_DBM:
        warnings.warn(
            f"{spec.path}: min_rsrp_dbm of layer '{spec.id}' is ignored: it is {source}, not a raster",
            GeodxWarning,
            stacklevel=3,
        )
    if (
        source in {"polygons", "raster", "sites"}
        and spec.service_distance_m != DEFAULT_SERVICE_DISTANCE_M
    ):
        warnings.warn(
            f"{spec.path}: service_distance_m of layer '{spec.id}' is ignored: it is {source}",
            GeodxWarning,
            stacklevel=3,
        )

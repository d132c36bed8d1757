"""Layer spec -> adapter: rasters by file type, vectors by geometry family."""

from __future__ import annotations

import warnings

from pyproj import CRS

from geodx.errors import GeodxWarning
from geodx.manifest import DEFAULT_MIN_RSRP_DBM, DEFAULT_SERVICE_DISTANCE_M, LayerSpec
from layers.base import CoverageLayer
from layers.signal import RASTER_SUFFIXES, SignalRaster
from layers.vector import open_vector_layer


def is_raster(spec: LayerSpec) -> bool:
    """Whether the layer file is a raster (by its extension)."""
    return spec.path.suffix.lower() in RASTER_SUFFIXES


def open_layer(spec: LayerSpec, *, metric_crs: CRS) -> CoverageLayer:
    """Open the adapter for a layer spec.

    Parameters
    ----------
    spec : LayerSpec
        One ``[[layers]]`` entry of the manifest.
    metric_crs : pyproj.CRS
        The region's metric CRS, for distances of layers in geographic coordinates.

    Returns
    -------
    CoverageLayer
    """
    if is_raster(spec):
        layer: CoverageLayer = SignalRaster(spec)
    else:
        layer = open_vector_layer(spec, metric_crs=metric_crs)
    _warn_unused(spec, layer.source)
    return layer


def _warn_unused(spec: LayerSpec, source: str) -> None:
    if source != "raster" and spec.min_rsrp_dbm != DEFAULT_MIN_RSRP_DBM:
        warnings.warn(
            f"{spec.path}: min_rsrp_dbm of layer '{spec.id}' is ignored: it is {source}, not a raster",
            GeodxWarning,
            stacklevel=3,
        )
    if (
        source in {"polygons", "raster"}
        and spec.service_distance_m != DEFAULT_SERVICE_DISTANCE_M
    ):
        warnings.warn(
            f"{spec.path}: service_distance_m of layer '{spec.id}' is ignored: it is {source}",
            GeodxWarning,
            stacklevel=3,
        )

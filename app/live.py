"""The prepared region: "is this house covered?" answered in a few milliseconds.

``geodx serve REGION`` builds one :class:`LiveRegion` per worker (the ``live`` service,
``app.services.SERVICES``): the manifest, the communes and every coverage layer are read
once, and each layer keeps its spatial index between lookups. A lookup is one household
point put through the same code as a run (``geodx.coverage.assign_communes``,
``layers.base.answer``, ``geodx.grid.points_to_cells``), so it gives the run's answer.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import orjson
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from app.inputs import SeenDigests, seen_file
from app.live_layers import NearLayer, PackedWKB, boxes_near, held_small
from app.pipeline import input_checksums, metric_crs
from geodx.contract import public_inputs
from geodx.contract_geojson import clean
from geodx.contract_names import SUMMARY_FILE
from geodx.coverage import assign_communes
from geodx.crs import reproject
from geodx.errors import GeodxError, ServiceUnavailable
from geodx.heap import trim_heap
from geodx.io import read_communes
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest import load_manifest
from geodx.manifest_specs import (
    LayerSpec,
    Manifest,
)
from geodx.overlay import GridIndex, build_grid
from geodx.points import WGS84, HouseholdPoints
from layers.base import CoverageLayer, answer
from layers.registry import open_layer
from layers.vector import NetworkReach, ServedArea

if TYPE_CHECKING:
    import geopandas as gpd

    from api.settings import Settings

log = logging.getLogger("geodx.api")
READY_WAIT_S = 10.0  # a lookup waits this long for the region being prepared


class BadPoint(GeodxError, ValueError):
    """A longitude or latitude that is not a finite number in range."""


def check_point(lon: float, lat: float) -> None:
    """Refuse a point that is not finite or outside -180..180, -90..90.

    Raises
    ------
    BadPoint
    """
    for name, value, bound in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise BadPoint(f"{name} was {value!r}; expected a finite number")
        if not -bound <= value <= bound:
            raise BadPoint(f"{name} was {value!r}; expected -{bound:g} to {bound:g}")


@dataclass
class LookupPoint(HouseholdPoints):
    """One household point whose transformers are kept by the live region.

    The same transform as :meth:`HouseholdPoints.xy` (``Transformer.from_crs``,
    ``always_xy``), without building a transformer and a cache key per CRS per lookup
    (a millisecond each). Used under the region's lock: transformers are not shared
    between threads.
    """

    transformers: dict[int, tuple[CRS, Transformer]] = field(
        default_factory=dict, repr=False
    )

    def xy(self, crs: CRS) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the coordinates in ``crs``."""
        if crs is self.crs:
            return self.x, self.y
        known = self.transformers.get(id(crs))
        if known is None or known[0] is not crs:
            known = (crs, Transformer.from_crs(self.crs, crs, always_xy=True))
            self.transformers[id(crs)] = known
        tx, ty = known[1].transform(self.x, self.y)
        return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)

    def grid(self, crs: CRS, *, cell_size: float) -> GridIndex:
        """The one-point grid in ``crs`` (not cached: it costs less than a key)."""
        x, y = self.xy(crs)
        return build_grid(x, y, cell_size=cell_size)


@dataclass
class OpenLayer:
    """A layer of the manifest with its adapter, ready for lookups."""

    spec: LayerSpec
    adapter: CoverageLayer | NearLayer


class LiveRegion:
    """A region read once, answering point lookups with the run's rules.

    Lookups are serialised by a lock: raster datasets are not shared between threads.
    """

    def __init__(self, manifest: Manifest, *, limits: Limits = DEFAULT_LIMITS) -> None:
        self.manifest = manifest
        communes: gpd.GeoDataFrame = read_communes(manifest.communes, limits=limits)
        geoms = np.asarray(communes.geometry.values, dtype=object)
        wgs84 = reproject(geoms, communes.crs, WGS84)
        self.bounds = tuple(float(v) for v in shapely.total_bounds(wgs84))
        self.utm = metric_crs(wgs84)
        # The communes as WKB and boxes, their properties apart (the national polygons
        # as GEOS objects held 50 MB a worker): see :meth:`_commune_of`.
        self.commune_crs: CRS = communes.crs
        self.commune_rows = communes.drop(columns=communes.geometry.name)
        self._commune_wkb = PackedWKB(geoms)
        self._commune_boxes = np.asarray(shapely.bounds(geoms), dtype=np.float64)
        del communes, geoms, wgs84
        # Vector layers are held as WKB and bounds, each lookup answered by the run's
        # adapter of the features near it (app.live_layers): the same answers.
        self.layers = [
            OpenLayer(spec, self._held(spec, limits)) for spec in manifest.layers
        ]
        self._lock = threading.Lock()
        self._transformers: dict[int, tuple[CRS, Transformer]] = {}
        self.synthetic = manifest.synthetic

    def _held(self, spec: LayerSpec, limits: Limits) -> CoverageLayer | NearLayer:
        adapter = open_layer(spec, metric_crs=self.utm, limits=limits)
        return held_small(adapter, metric_crs=self.utm) or adapter

    @classmethod
    def open(cls, region: str | Path, *, limits: Limits = DEFAULT_LIMITS) -> LiveRegion:
        """Read a region's manifest, communes and layers; build the indexes now."""
        live = cls(load_manifest(region), limits=limits)
        west, south, east, north = live.bounds
        live.lookup((west + east) / 2, (south + north) / 2)  # builds every index
        return live

    def lookup(self, lon: float, lat: float) -> dict[str, Any]:
        """Commune, H3 cell, fibre/4G/5G, each layer, the fibre networks' distances.

        Raises
        ------
        BadPoint
            ``lon``/``lat`` not finite or out of range.
        """
        check_point(lon, lat)
        with self._lock:
            point = LookupPoint(
                np.array([float(lon)]),
                np.array([float(lat)]),
                np.ones(1),
                transformers=self._transformers,
            )
            commune = self._commune_of(point)
            covered = {
                layer.spec.id: bool(answer(layer.adapter, point, ()).covered[0])
                for layer in self.layers
            }
            networks = self._networks(point)
        # h3's own call: what points_to_cells computes for a run, without its frame.
        cell = h3.latlng_to_cell(float(lat), float(lon), self.manifest.h3_resolution)
        row = self.commune_rows.iloc[commune] if commune >= 0 else None
        west, south, east, north = self.bounds
        return {
            "lon": float(lon),
            "lat": float(lat),
            "commune_code": None if row is None else str(row["commune_code"]),
            "commune_name": None if row is None else _text(row["commune_name"]),
            "district_code": None if row is None else _text(row["district_code"]),
            "district_name": None if row is None else _text(row["district_name"]),
            "in_region_bounds": bool(west <= lon <= east and south <= lat <= north),
            "h3": cell,
            "h3_resolution": self.manifest.h3_resolution,
            **self._indicators(covered),
            "layers": covered,
            "nearest_fibre": networks[0] if networks else None,
            "fibre_networks": networks,
            "synthetic": self.synthetic,
        }

    def _commune_of(self, point: LookupPoint) -> int:
        """The row :func:`assign_communes` gives the point among all the communes.

        It is asked of the communes whose box holds the point, in their order: a
        commune covering the point (boundary included) has its box around it, and the
        smallest row among those covering it is the smallest among all (-1: none).
        """
        import geopandas as gpd

        x, y = point.xy(self.commune_crs)
        rows = boxes_near(self._commune_boxes, float(x[0]), float(y[0]), 0.0)
        if not len(rows):
            return -1
        near = gpd.GeoDataFrame(
            geometry=self._commune_wkb.geoms(rows), crs=self.commune_crs
        )
        found = int(assign_communes(point, near).commune[0])
        return int(rows[found]) if found >= 0 else -1

    def _indicators(self, covered: dict[str, bool]) -> dict[str, bool]:
        out = {"fibre": False, "mobile": False, "mobile_5g": False}
        for layer in self.layers:
            spec, hit = layer.spec, covered[layer.spec.id]
            if spec.kind == "fibre":
                out["fibre"] |= hit
            else:
                out["mobile"] |= hit
                out["mobile_5g"] |= hit and spec.technology == "5G"
        return out

    def _networks(self, point: HouseholdPoints) -> list[dict[str, Any]]:
        """Per fibre layer: ground metres (UTM) to its nearest feature, nearest first."""
        out = []
        for layer in self.layers:
            adapter = layer.adapter
            if layer.spec.kind != "fibre" or not isinstance(
                adapter, ServedArea | NetworkReach | NearLayer
            ):
                continue
            d = float(adapter.distances_m(point, metric_crs=self.utm)[0])
            reach = adapter.reach_m
            out.append(
                {
                    "layer": layer.spec.id,
                    "operator": layer.spec.operator,
                    "source": adapter.source,
                    "distance_m": d if math.isfinite(d) else None,
                    "service_distance_m": reach,
                    "extension_m": max(d - reach, 0.0) if math.isfinite(d) else None,
                }
            )
        return sorted(out, key=lambda n: (n["distance_m"] is None, n["distance_m"]))


def _text(value: Any) -> str | None:
    value = clean(value)  # None, NaN and pandas NA: null
    return None if value is None else str(value)


class StaleRegion:
    """The live service when it cannot answer: every lookup is a 503 with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def lookup(self, lon: float, lat: float) -> dict[str, Any]:
        """Refuse, after checking the point (a bad point is still the client's 4xx).

        Raises
        ------
        BadPoint, ServiceUnavailable
        """
        check_point(lon, lat)
        raise ServiceUnavailable(self.reason)


def results_inputs(results_dir: Path) -> Any:
    """The ``inputs`` checksums of a results folder's ``summary.json`` (None if none)."""
    try:
        summary = orjson.loads((results_dir / SUMMARY_FILE).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return summary.get("inputs") if isinstance(summary, dict) else None


class PreparingRegion:
    """The live service prepared in a background thread (``Settings.live_in_background``).

    ``geodx serve`` workers answer at once; reading the national region's communes and
    layers (and checksumming its inputs) takes seconds. A lookup meanwhile waits up to
    ``wait_s`` for it, then answers 503 saying so.
    """

    def __init__(self, settings: Settings, *, wait_s: float = READY_WAIT_S) -> None:
        self.wait_s = wait_s
        self._ready = threading.Event()
        self._live: LiveRegion | StaleRegion | None = None
        threading.Thread(
            target=self._prepare, args=(settings,), name="live", daemon=True
        ).start()

    def _prepare(self, settings: Settings) -> None:
        try:
            self._live = _open(settings)
        except Exception as exc:  # noqa: BLE001 - said on every lookup, logged once
            log.exception("live: could not prepare the region")
            self._live = StaleRegion(f"the region cannot be read: {exc}"[:300])
        finally:
            trim_heap()  # what reading the layers freed goes back to the system
            self._ready.set()

    def ready(self, wait_s: float = 0.0) -> bool:
        """Whether the region is prepared (waiting up to ``wait_s``)."""
        return self._ready.wait(wait_s)

    def lookup(self, lon: float, lat: float) -> dict[str, Any]:
        """The prepared region's answer, once it is ready.

        Raises
        ------
        BadPoint, ServiceUnavailable
        """
        check_point(lon, lat)
        if not self._ready.wait(self.wait_s) or self._live is None:
            raise ServiceUnavailable(
                "the region is still being prepared for lookups; retry in a few seconds"
            )
        return self._live.lookup(lon, lat)


def open_live_region(
    settings: Settings,
) -> LiveRegion | StaleRegion | PreparingRegion | None:
    """The ``live`` service: the region of ``GEODX_REGION``, if its results are current.

    None without a region; a :class:`StaleRegion` when the region's inputs differ from
    the checksums in the served ``summary.json`` or cannot be read; with
    ``settings.live_in_background``, a :class:`PreparingRegion` that becomes one of
    those in a background thread.
    """
    if settings.region is None:
        return None
    if settings.live_in_background:
        return PreparingRegion(settings)
    return _open(settings)


def _open(settings: Settings) -> LiveRegion | StaleRegion:
    assert settings.region is not None, "checked by open_live_region"
    try:
        manifest = load_manifest(settings.region)
        served = results_inputs(settings.results_dir)
        # the digests geodx serve has just seen: unchanged files are not hashed again
        seen = SeenDigests(seen_file(settings.results_dir))
        if public_inputs(served) != input_checksums(manifest, digest=seen.sha256):
            return StaleRegion(
                "results are out of date: the region's inputs differ from the "
                "checksums in the served summary.json; run geodx run again"
            )
        return LiveRegion.open(settings.region)
    except GeodxError as exc:
        return StaleRegion(f"the region cannot be read: {exc}")

"""The layers the run drew for the maps (``DIR/layers/``), checked before they are served.

``geodx run`` writes, per coverage layer, what the operator filed — routes, splitters,
served areas, site points as ``<slug>.geojson``; an RSRP raster or a site layer's
prediction as ``<slug>.png`` (RGBA, EPSG:3857, for a Leaflet ``imageOverlay``) — and
lists them in ``layers/index.json``. The index is data like any other: an entry is kept
only when its fields have the expected types, its ``file`` is a plain file name of the
expected kind inside ``layers/`` and its ``bounds`` are finite WGS84 degrees. A request
names a layer by its ``id``, looked up in the index; no part of a request ever becomes a
path.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from api.errors import NotFound

log = logging.getLogger("geodx.api")

FOLDER = "layers"
INDEX_FILE = "index.json"
MAX_INDEX_BYTES = 2_000_000
MAX_LAYER_BYTES = (
    64_000_000  # a layer file above this is not served (B's budget is far less)
)
MEDIA_TYPES = {"vector": "application/geo+json", "image": "image/png"}
_FILE = {
    "vector": re.compile(r"[A-Za-z0-9_.-]{1,200}\.geojson"),
    "image": re.compile(r"[A-Za-z0-9_.-]{1,200}\.png"),
}
_COLOUR = re.compile(r"#[0-9A-Fa-f]{3,8}")
MAX_TEXT = 200


@dataclass(frozen=True)
class MapLayer:
    """One entry of ``layers/index.json``, checked."""

    id: str
    kind: str
    operator: str | None
    technology: str | None
    model: str | None
    type: str  # "vector" | "image"
    file: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (WGS84)
    features: int | None
    simplified_m: float | None
    legend: dict[str, Any] | None
    part: str = ""  # "" the layer's own file; "sites": a site layer's sector points

    @property
    def key(self) -> tuple[str, str]:
        """How :class:`MapLayers` finds it: ``(id, part)``."""
        return (self.id, self.part)

    @property
    def media_type(self) -> str:
        """The HTTP media type of the layer's file."""
        return MEDIA_TYPES[self.type]

    def url(self, prefix: str, version: str) -> str:
        """The layer's URL relative to a map page: ``prefix`` then the quoted id.

        >>> layer = MapLayer("a/b {{x}}", "fibre", None, None, None, "vector",
        ...                  "a.geojson", (0, 0, 1, 1), 1, None, None)
        >>> layer.url("layers/", "v1")
        'layers/a%2Fb%20%7B%7Bx%7D%7D?v=v1'
        """
        part = f"part={self.part}&" if self.part else ""
        return (
            f"{prefix}{quote(self.id, safe='')}?{part}v={quote(version[:40], safe='')}"
        )


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _bounds(value: Any) -> tuple[float, float, float, float] | None:
    if not isinstance(value, list | tuple) or len(value) != 4:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    w, s, e, n = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        return None
    ok = -180 <= w <= e <= 180 and -90 <= s <= n <= 90
    return (w, s, e, n) if ok else None


UNITS = {"dbm": "dBm", "mbps": "Mbps"}


def _class_label(item: dict[str, Any]) -> Any:
    """``-105–-95 dBm (at the threshold)`` from ``min_dbm``/``max_dbm`` and ``label``.

    >>> _class_label({"min_dbm": -85.0, "max_dbm": None, "label": "T + 20 dB"})
    '≥ -85 dBm (T + 20 dB)'
    >>> _class_label({"min_dbm": -115, "max_dbm": -105.0, "label": None})
    '-115 – -105 dBm'
    """
    label = item.get("label", item.get("name"))
    for key, unit in UNITS.items():
        low, high = _finite(item.get(f"min_{key}")), _finite(item.get(f"max_{key}"))
        if low is None and high is None:
            continue
        if high is None:
            span = f"≥ {low:g} {unit}"
        elif low is None:
            span = f"< {high:g} {unit}"
        else:
            span = f"{low:g} – {high:g} {unit}"
        return f"{span} ({label})" if _text(label) else span
    return label


def _classes(value: Any) -> list[list[str]]:
    """Legend classes as ``[label, colour]``: pairs, or objects with label and colour."""
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict):
            label = _class_label(item)
            colour = item.get("colour", item.get("color"))
        elif isinstance(item, list | tuple) and len(item) >= 2:
            label, colour = item[0], item[1]
        else:
            continue
        if isinstance(label, int | float) and not isinstance(label, bool):
            label = f"{label:g}"
        if _text(label) and isinstance(colour, str) and _COLOUR.fullmatch(colour):
            out.append([str(label)[:MAX_TEXT], colour])
    return out[:32]


def _legend(value: Any) -> dict[str, Any] | None:
    """A legend as ``{"title", "classes"}`` (classes as ``[label, colour]``), or None."""
    if isinstance(value, list):
        value = {"classes": value}
    if not isinstance(value, dict):
        return None
    title = _text(value.get("title"))
    unit = _text(value.get("unit")) or ""
    threshold = _finite(value.get("threshold", value.get("threshold_dbm")))
    if threshold is not None:
        title = f"{title + ' · ' if title else ''}ngưỡng / threshold {threshold:g} "
        title = (title + unit).strip()
    classes = _classes(value.get("classes"))
    note = _text(value.get("transparent"))
    note = f"trong suốt / transparent: {note}" if note else None
    if not classes and not title:
        return None
    out = {"title": title, "classes": classes, "note": note}
    return {**out, **_speed_ramp(value, classes)}


def _speed_ramp(value: dict[str, Any], classes: list[list[str]]) -> dict[str, Any]:
    """Measured tiles: colour by ``download_mbps`` (and grey for too few tests).

    Adds ``ramp`` (``[[min_mbps, colour], ...]`` ascending) and ``fallback`` (the
    too-few-tests colour), and that class to ``classes``; nothing for other legends.
    """
    items = value.get("classes")
    steps: list[list[Any]] = []
    for x in items if isinstance(items, list) else []:
        low = _finite(x.get("min_mbps")) if isinstance(x, dict) else None
        colour = x.get("colour") if isinstance(x, dict) else None
        if low is not None and isinstance(colour, str) and _COLOUR.fullmatch(colour):
            steps.append([low, colour])
    if not steps:
        return {}
    few = value.get("too_few_tests")
    colour = few.get("colour") if isinstance(few, dict) else None
    fallback = colour if isinstance(colour, str) and _COLOUR.fullmatch(colour) else None
    if fallback:
        classes.append(["ít phép đo / too few tests", fallback])
    return {"ramp": sorted(steps, key=lambda x: x[0]), "fallback": fallback}


def check_entry(entry: Any) -> MapLayer | None:
    """One index entry as a :class:`MapLayer`, or None when it is not usable.

    >>> check_entry({"id": "x", "kind": "fibre", "type": "vector",
    ...              "file": "../x.geojson", "bounds": [0, 0, 1, 1]}) is None
    True
    """
    if not isinstance(entry, dict):
        return None
    kind, file = entry.get("type"), entry.get("file")
    layer_id = _text(entry.get("id"))
    bounds = _bounds(entry.get("bounds"))
    if kind not in _FILE or not isinstance(file, str) or not layer_id or not bounds:
        return None
    if not _FILE[kind].fullmatch(file) or file.startswith("."):
        return None
    features = entry.get("features")
    return MapLayer(
        id=layer_id,
        kind=_text(entry.get("kind")) or "",
        operator=_text(entry.get("operator")),
        technology=_text(entry.get("technology")),
        model=_text(entry.get("model")),
        type=str(kind),
        file=file,
        bounds=bounds,
        features=features if type(features) is int and features >= 0 else None,
        simplified_m=_finite(entry.get("simplified_m")),
        legend=_legend(entry.get("legend")),
    )


def _sites(entry: dict[str, Any], layer: MapLayer) -> MapLayer | None:
    """A site layer's sector points (``sites`` of its entry), as a part of the layer."""
    sites = entry.get("sites")
    if not isinstance(sites, dict):
        return None
    file, bounds = sites.get("file"), _bounds(sites.get("bounds"))
    if not isinstance(file, str) or not _FILE["vector"].fullmatch(file) or not bounds:
        return None
    if file.startswith("."):
        return None
    features = sites.get("features")
    return dataclasses.replace(
        layer,
        type="vector",
        file=file,
        bounds=bounds,
        features=features if type(features) is int and features >= 0 else None,
        simplified_m=0.0,
        legend=None,
        part="sites",
    )


def _inside(folder: Path, name: str) -> bool:
    """True when ``folder/name`` is a regular file in ``folder`` (no link out of it)."""
    path = folder / name
    try:
        return path.resolve().parent == folder.resolve() and path.is_file()
    except OSError:
        return False


def _entries(doc: Any) -> Iterable[Any]:
    if isinstance(doc, dict):
        doc = doc.get("layers")
    return doc if isinstance(doc, list) else []


@dataclass(frozen=True)
class MapLayers:
    """The checked index of one results folder: its layers by id, in index order."""

    folder: Path
    layers: dict[tuple[str, str], MapLayer]  # by (id, part)

    @classmethod
    def read(cls, results_folder: Path) -> MapLayers:
        """Read ``layers/index.json`` of a results folder (none: no layers)."""
        folder = results_folder / FOLDER
        path = folder / INDEX_FILE
        try:
            if path.stat().st_size > MAX_INDEX_BYTES:
                log.warning("%s: over %d bytes; no map layers", path, MAX_INDEX_BYTES)
                return cls(folder, {})
            doc = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return cls(folder, {})
        except (OSError, orjson.JSONDecodeError) as exc:
            log.warning("%s: cannot read (%s); no map layers", path, exc)
            return cls(folder, {})
        layers: dict[tuple[str, str], MapLayer] = {}
        for i, entry in enumerate(_entries(doc)):
            layer = check_entry(entry)
            if layer is not None and not _inside(folder, layer.file):
                layer = None
            if layer is None or layer.key in layers:
                if not (isinstance(entry, dict) and entry.get("file") is None):
                    log.warning("%s: entry %d is not a usable map layer", path, i)
                continue
            layers[layer.key] = layer
            sites = _sites(entry, layer)
            if sites is not None and _inside(folder, sites.file):
                layers[sites.key] = sites
        return cls(folder, layers)

    def get(self, layer_id: str, part: str = "") -> MapLayer:
        """The layer of that id (and part; raises NotFound)."""
        layer = self.layers.get((layer_id, part))
        if layer is None:
            raise NotFound(f"no map layer '{layer_id[:40]}'; see /maps/layers")
        return layer

    def body(self, layer_id: str, part: str = "") -> bytes:
        """The bytes of a layer's file, read from ``layers/`` only (raises NotFound)."""
        layer = self.get(layer_id, part)
        path = self.folder / layer.file
        try:
            if not _inside(self.folder, layer.file):
                raise NotFound(f"map layer '{layer_id[:40]}' has no file")
            if path.stat().st_size > MAX_LAYER_BYTES:
                raise NotFound(f"map layer '{layer_id[:40]}' is too large to serve")
            return path.read_bytes()
        except OSError:
            raise NotFound(f"map layer '{layer_id[:40]}' has no file") from None

"""A results folder with map layers, written by hand to the schema of docs/definitions.md.

The five communes of ``tests/api/conftest.py`` (0.02° squares from 108.00 E, 12.60 N),
with the issue 7 views added to their properties and, in ``layers/``, what operators
filed: network lines, served areas under a hostile id and operator, an RSRP image, a site
layer (prediction image and sector points), measured tiles; and entries that must be
left out (paths, bad bounds, a symlink out of the folder).
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

from tests.api.conftest import write_results

HOSTILE = "{{ 7*7 }} <script>alert(1)</script> =1+1 ’"
HOSTILE_ID = f"id-{HOSTILE}"
HOSTILE_OPERATOR = f"Nhà mạng {HOSTILE}"
HOSTILE_COMMUNE = f"Xã {HOSTILE}"  # the name of commune 24133
IMAGE_BOUNDS = [108.0, 12.60, 108.06, 12.64]
LINES = [  # (lon, lat) vertices of three fibre routes, inside the communes
    [(108.005, 12.605), (108.015, 12.615)],
    [(108.025, 12.605), (108.035, 12.605), (108.035, 12.615)],
    [(108.045, 12.625), (108.055, 12.635)],
]
SECTORS = [(108.01, 12.63), (108.03, 12.61), (108.05, 12.61)]
VIEWS = ("operator_vnpt_fibre", "operator_viettel_mobile")


def png(width: int, height: int, rgba: tuple[int, int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGBA), written without an imaging library."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgba) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(row * height)),
            chunk(b"IEND", b""),
        ]
    )


def _collection(features: list[dict[str, Any]]) -> str:
    doc = {"type": "FeatureCollection", "synthetic": True, "features": features}
    return json.dumps(doc, ensure_ascii=False)


def _feature(i: int, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "id": str(i), "geometry": geometry, "properties": props}


def _entry(
    layer_id: str, operator: str | None, kind: str, **more: Any
) -> dict[str, Any]:
    base = {"id": layer_id, "kind": kind, "operator": operator, "technology": None,
            "model": None, "features": None, "simplified_m": None}  # fmt: skip
    return {**base, **more}


LEGEND = {
    "unit": "dBm",
    "threshold_dbm": -105.0,
    "classes": [
        {"min_dbm": -115.0, "max_dbm": -105.0, "colour": "#d7301f", "label": "below"},
        {"min_dbm": -105.0, "max_dbm": None, "colour": "#238443", "label": "above"},
    ],
    "transparent": "nodata, or below -115 dBm",
}


def _vectors(folder: Path) -> list[dict[str, Any]]:
    lines = [_feature(i, {"type": "LineString", "coordinates": line},
                      layer="vnpt-fibre", operator="VNPT", kind="fibre")
             for i, line in enumerate(LINES)]  # fmt: skip
    (folder / "vnpt_fibre.geojson").write_text(_collection(lines), encoding="utf-8")
    square = [[108.041, 12.601], [108.049, 12.601], [108.049, 12.609],
              [108.041, 12.609], [108.041, 12.601]]  # fmt: skip
    areas = [_feature(0, {"type": "Polygon", "coordinates": [square]},
                      layer=HOSTILE_ID, operator=HOSTILE_OPERATOR, kind="=cmd|' /C calc")]  # fmt: skip
    (folder / "id___7_7.geojson").write_text(_collection(areas), encoding="utf-8")
    sectors = [_feature(i, {"type": "Point", "coordinates": p}, layer="vina-sites",
                        height_m=30, frequency_mhz=1800, azimuth_deg=None)
               for i, p in enumerate(SECTORS)]  # fmt: skip
    (folder / "vina_sites.sites.geojson").write_text(
        _collection(sectors), encoding="utf-8"
    )
    tiles = [_feature(0, {"type": "Polygon", "coordinates": [square]},
                      download_mbps=4.0, tests=10, **{"class": "below"})]  # fmt: skip
    (folder / "speeds.geojson").write_text(_collection(tiles), encoding="utf-8")
    line_bounds = [108.005, 12.605, 108.055, 12.635]
    return [
        _entry("vnpt-fibre", "VNPT", "fibre", type="vector", source="lines",
               file="vnpt_fibre.geojson", bounds=line_bounds, features=3,
               simplified_m=5.0),
        _entry(HOSTILE_ID, HOSTILE_OPERATOR, "fibre", type="vector",
               source="polygons", file="id___7_7.geojson",
               bounds=[108.041, 12.601, 108.049, 12.609], features=1, simplified_m=5.0),
        _entry("speeds", None, "measured", type="vector", source="tiles",
               file="speeds.geojson", bounds=[108.041, 12.601, 108.049, 12.609],
               features=1, simplified_m=0.0,
               legend={"unit": "Mbps", "classes": [
                   {"min_mbps": 0.0, "max_mbps": 10.0, "colour": "#d7301f"},
                   {"min_mbps": 10.0, "max_mbps": None, "colour": "#238443"}],
                   "too_few_tests": {"colour": "#969696"}}),
    ]  # fmt: skip


def _images(folder: Path) -> list[dict[str, Any]]:
    (folder / "viettel_4g.png").write_bytes(png(30, 20, (215, 48, 31, 180)))
    (folder / "vina_sites.png").write_bytes(png(10, 10, (35, 132, 67, 180)))
    sites = {"file": "vina_sites.sites.geojson", "features": 3, "truncated": False,
             "bounds": [108.01, 12.61, 108.05, 12.63]}  # fmt: skip
    return [
        _entry("viettel-4g", "Viettel", "mobile", technology="4G", type="image",
               source="raster", file="viettel_4g.png", bounds=IMAGE_BOUNDS,
               legend=LEGEND, crs="EPSG:3857", width=30, height=20),
        _entry("vina-sites", "Vinaphone", "mobile", technology="4G",
               model="cost231-hata", type="image", source="sites",
               file="vina_sites.png", bounds=[108.0, 12.60, 108.06, 12.64],
               features=3, sites=sites, legend=LEGEND),
    ]  # fmt: skip


REFUSED = [  # entries the service must leave out, whatever they hold
    {"id": "up", "kind": "fibre", "type": "vector", "file": "../summary.json",
     "bounds": [108, 12.6, 108.1, 12.7]},
    {"id": "abs", "kind": "fibre", "type": "vector", "file": "/etc/passwd.geojson",
     "bounds": [108, 12.6, 108.1, 12.7]},
    {"id": "sub", "kind": "fibre", "type": "vector", "file": "sub/x.geojson",
     "bounds": [108, 12.6, 108.1, 12.7]},
    {"id": "script", "kind": "fibre", "type": "script", "file": "x.js",
     "bounds": [108, 12.6, 108.1, 12.7]},
    {"id": "badbounds", "kind": "fibre", "type": "vector", "file": "vnpt_fibre.geojson",
     "bounds": [200, 12.6, 108.1, 12.7]},
    {"id": "png-as-vector", "kind": "fibre", "type": "vector", "file": "viettel_4g.png",
     "bounds": [108, 12.6, 108.1, 12.7]},
    {"id": "nothing-drawn", "kind": "fibre", "type": "vector", "file": None,
     "bounds": None},
    {"id": "vnpt-fibre", "kind": "fibre", "type": "vector", "file": "speeds.geojson",
     "bounds": [108, 12.6, 108.1, 12.7]},  # the same id twice: the first is kept
]  # fmt: skip
LINKED = {
    "id": "linked",
    "kind": "fibre",
    "type": "vector",
    "file": "linked.geojson",
    "bounds": [108, 12.6, 108.1, 12.7],
}  # fmt: skip  (a symlink out of layers/)


def _views(props: dict[str, Any]) -> None:
    """Issue 7's views on one commune, from its own figures (plausible, not derived)."""
    h, m = props["households"], props["mobile_households"]
    props["operator_vnpt_fibre_households"] = props["layer_vnpt_fibre_households"]
    props["operator_vnpt_fibre_pct"] = props["layer_vnpt_fibre_pct"]
    props["operator_viettel_mobile_households"] = m
    props["operator_viettel_mobile_pct"] = props["mobile_pct"]
    props["mobile_operators_0_households"] = h - m
    props["mobile_operators_1_households"] = m
    props["mobile_operators_2_households"] = 0
    props["mobile_operators_3plus_households"] = 0
    props["mobile_households_minus3db"] = max(0, m - 3)
    props["mobile_households_plus3db"] = min(h, m + 2)
    props["mobile_covered_sensitive"] = None if h == 0 else m > 0
    props["mobile_gap_households"] = 0 if props["mobile_covered"] is not False else 1


def write_map_results(out: Path) -> Path:
    """``write_results`` plus the views, a hostile commune name and ``layers/``."""
    write_results(out)
    path = out / "communes.geojson"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for feature in doc["features"]:
        props = feature["properties"]
        _views(props)
        if props["commune_code"] == "24133":
            props["commune_name"] = HOSTILE_COMMUNE
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary["operators"] = [
        {"operator": "VNPT", "slug": "vnpt"},
        {"operator": "Viettel", "slug": "viettel"},
    ]
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    folder = out / "layers"
    folder.mkdir()
    (folder / "linked.geojson").symlink_to(out / "summary.json")
    layers = _vectors(folder) + _images(folder) + REFUSED + [LINKED]
    index = {"format": 1, "synthetic": True, "layers": layers}
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return out

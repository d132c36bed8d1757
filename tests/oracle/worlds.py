"""Small generated regions full of edge cases, with hand-derived facts about them.

Each builder writes a region folder (files + ``region.toml``) and returns a ``World``.
The facts are worked out by hand from the geometry below; ``test_exact`` checks the
brute-force oracle against them before trusting it to judge the engine.

Mixed world (WGS84 communes, axis-aligned so boundary points are exact)::

    12.70 +---------------+---------------+--------+
          |     24004     |     24005     | 24006  |   24005 starts at 12.649:
    12.65 +------(a)------+...............+--------+   a sliver over 24003
          |  24001 +--+   |     24003     |  gap   |
          |        |02|   |               +--------+
          |        +--+   |               | 24004  |   (second part)
    12.60 +---------------+---------------+--------+
        108.00          108.04          108.08  108.10
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine

from .files import box, to_crs, write_manifest, write_raster, write_table, write_vector

SPECIAL_NAME = 'Xã "Ea Tu" <A&B>'


@dataclass(frozen=True)
class Fact:
    """A hand-derived fact: ``column`` of household row (or commune code) ``key``."""

    key: int | str
    column: str
    value: Any
    why: str


@dataclass
class World:
    """A region written to disk, and what we know about it by construction."""

    name: str
    manifest: Path
    household_facts: list[Fact] = field(default_factory=list)
    commune_facts: list[Fact] = field(default_factory=list)


@dataclass
class Points:
    """Household positions accumulated in order, with facts about some of them."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    w: list[int] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)

    def add(self, x: float, y: float, w: int = 1, why: str = "", **expect: Any) -> None:
        """Append one household; ``expect`` maps oracle columns to expected values."""
        row = len(self.x)
        self.x.append(float(x))
        self.y.append(float(y))
        self.w.append(int(w))
        self.facts.extend(Fact(row, col, val, why) for col, val in expect.items())


def _mixed_communes(folder: Path) -> Path:
    c1 = box(108.00, 12.60, 108.04, 12.65).difference(box(108.01, 12.62, 108.02, 12.63))
    c4 = shapely.MultiPolygon(
        [box(108.00, 12.65, 108.04, 12.70), box(108.08, 12.60, 108.10, 12.62)]
    )
    return write_vector(
        folder / "communes.gpkg",
        [
            c1,
            box(108.01, 12.62, 108.02, 12.63),
            box(108.04, 12.60, 108.08, 12.65),
            c4,
            box(108.04, 12.649, 108.08, 12.70),
            box(108.08, 12.65, 108.10, 12.70),
        ],
        4326,
        commune_code=["24001", "24002", "24003", "24004", "24005", "24006"],
        commune_name=[
            "Phường Tân Lập",
            "Xã Hòa Thắng",
            SPECIAL_NAME,
            "Xã Ea Kao",
            "Xã Hòa Phú",
            "Xã Đắk Liêng",
        ],
        district_code=["400", "400", "400", "401", "401", "401"],
        district_name=["Thành phố Buôn Ma Thuột"] * 3 + ["Huyện Krông Pắc"] * 3,
        dan_so=[1, 2, 3, 4, 5, 6],
    )


def _mixed_commune_points(pts: Points) -> None:
    pts.add(
        108.04, 12.62, 1, "shared edge 24001|24003", commune_code="24001", n_communes=2
    )
    pts.add(
        108.04, 12.65, 2, "vertex of four communes", commune_code="24001", n_communes=4
    )
    pts.add(108.015, 12.62, 1, "edge of the hole", commune_code="24001", n_communes=2)
    pts.add(
        108.015, 12.625, 3, "inside the enclave", commune_code="24002", n_communes=1
    )
    pts.add(108.06, 12.6495, 2, "overlap sliver", commune_code="24003", n_communes=2)
    pts.add(
        108.09, 12.61, 1, "second part of 24004", commune_code="24004", n_communes=1
    )
    pts.add(108.09, 12.63, 4, "gap between communes", commune_code=None, n_communes=0)
    pts.add(108.105, 12.75, 1, "north-east of everything", commune_code=None)
    pts.add(108.08, 12.67, 1, "edge 24005|24006", commune_code="24005", n_communes=2)
    pts.add(108.08, 12.65, 1, "corner of three", commune_code="24003", n_communes=3)
    pts.add(
        108.00, 12.60, 1, "outer corner of 24001", commune_code="24001", n_communes=1
    )


RASTER_4G = Affine(1 / 128, 0, 107.9921875, 0, -1 / 128, 12.71875)


def _mixed_raster_4g(folder: Path, pts: Points, rng: np.random.Generator) -> Path:
    values = rng.uniform(-125, -85, size=(16, 10)).astype(np.float32)
    values[rng.random(values.shape) < 0.08] = np.nan
    values[rng.random(values.shape) < 0.08] = -40.0  # nodata, would pass the threshold
    settings = {
        (8, 4): -100, (7, 3): -110, (7, 4): -110, (8, 3): -110,
        (12, 9): -90, (13, 0): -95, (10, 6): -105, (11, 6): np.nan,
        (12, 6): -40, (0, 1): -100, (15, 1): -90,
    }  # fmt: skip
    for (row, col), value in settings.items():
        values[row, col] = value
    col = "layer_viettel_4g"
    pts.add(108.0234375, 12.65625, 1, "pixel corner -> (8, 4)", **{col: True})
    pts.add(108.0703125, 12.62, 1, "right edge of the raster", **{col: False})
    pts.add(107.9921875, 12.61, 1, "left edge of the raster", **{col: True})
    pts.add(
        107.9921875 + 6.5 / 128, 12.71875 - 10.5 / 128, 2, "= -105 dBm", **{col: True}
    )
    pts.add(
        107.9921875 + 6.5 / 128, 12.71875 - 11.5 / 128, 1, "NaN pixel", **{col: False}
    )
    pts.add(107.9921875 + 6.5 / 128, 12.71875 - 12.5 / 128, 1, "nodata", **{col: False})
    pts.add(108.0, 12.71875, 1, "top edge of the raster", **{col: True})
    pts.add(108.0, 12.59375, 1, "bottom edge of the raster", **{col: False})
    return write_raster(folder / "viettel_4g.tif", values, RASTER_4G, 4326, -40.0)


def _mixed_fibre(folder: Path, pts: Points) -> None:
    write_vector(
        folder / "vnpt_fibre.geojson",
        [box(108.00, 12.60, 108.03, 12.70), box(108.05, 12.66, 108.06, 12.68)],
        4326,
        ten=["Vùng phủ A", "Vùng phủ B"],
    )
    col = "layer_vnpt_fibre"
    pts.add(108.03, 12.64, 1, "on the fibre polygon edge", **{col: True})
    pts.add(108.05, 12.67, 1, "on the second polygon edge", **{col: True})
    pts.add(108.055, 12.68, 1, "on the top edge", **{col: True})
    pts.add(108.0300001, 12.64, 1, "just east of the polygon", **{col: False})
    line_y = 1396400.0
    write_vector(
        folder / "viettel_fibre.gpkg",
        [shapely.LineString([(178900.0, line_y), (181900.0, line_y)])],
        32649,
        tuyen=["Trục 1"],
    )
    lon, lat = to_crs(
        [180400.0, 180400.0], [line_y + 299.999, line_y - 300.001], 32649, 4326
    )
    pts.add(lon[0], lat[0], 3, "299.999 m from the line", layer_viettel_fibre=True)
    pts.add(lon[1], lat[1], 1, "300.001 m from the line", layer_viettel_fibre=False)
    p1, p2 = (833272.0, 1404930.0), (835558.0, 1395543.0)
    write_vector(
        folder / "fpt_fibre.fgb",
        [shapely.Point(p1), shapely.Point(p2)],
        3405,
        ma_tu=["T-01", "T-02"],
    )
    lon, lat = to_crs([p1[0] + 249.999, p1[0]], [p1[1], p1[1] - 250.001], 3405, 4326)
    pts.add(lon[0], lat[0], 1, "249.999 m from a cabinet", layer_fpt_fibre=True)
    pts.add(lon[1], lat[1], 1, "250.001 m from a cabinet", layer_fpt_fibre=False)


def _mixed_mobile(folder: Path, pts: Points, rng: np.random.Generator) -> None:
    _mixed_raster_4g(folder, pts, rng)
    values = rng.integers(-125, -80, size=(101, 46)).astype(np.int16)
    values[rng.random(values.shape) < 0.1] = -60  # nodata, above the threshold
    write_raster(
        folder / "mobifone_4g.tif",
        values,
        Affine(128, 0, 179584, 0, -128, 1406976),
        32649,
        -60,
    )
    write_vector(
        folder / "vnpt_5g.parquet",
        [
            shapely.Point(180500, 1400000).buffer(1500),
            shapely.Point(184000, 1404000).buffer(900),
        ],
        32649,
        tram=["5G-A", "5G-B"],
    )


def _mixed_random(pts: Points, rng: np.random.Generator, n: int) -> None:
    while n:
        x, y = rng.uniform(107.99, 108.11), rng.uniform(12.595, 12.71)
        if x > 108.0799 and y > 12.6499:
            continue  # keep 24006 empty
        pts.add(x, y, int(rng.integers(1, 6)))
        n -= 1


MIXED_LAYERS = [
    {"id": "vnpt-fibre", "kind": "fibre", "operator": "VNPT",
     "path": "vnpt_fibre.geojson"},
    {"id": "Viettel.Fibre", "kind": "fibre", "operator": "Viettel",
     "path": "viettel_fibre.gpkg", "service_distance_m": 300},
    {"id": "FPT Fibre", "kind": "fibre", "operator": "FPT", "path": "fpt_fibre.fgb",
     "service_distance_m": 250.0},
    {"id": "viettel-4g", "kind": "mobile", "technology": "4G", "operator": "Viettel",
     "path": "viettel_4g.tif", "min_rsrp_dbm": -105},
    {"id": "mobifone-4g", "kind": "mobile", "technology": "4G",
     "operator": "MobiFone", "path": "mobifone_4g.tif"},
    {"id": "vnpt-5g", "kind": "mobile", "technology": "5G", "operator": "VNPT",
     "path": "vnpt_5g.parquet"},
]  # fmt: skip


def build_mixed(folder: Path) -> World:
    """Six communes in two districts, households as CSV, six layers in five formats."""
    rng = np.random.default_rng(2024)
    pts = Points()
    _mixed_commune_points(pts)
    _mixed_fibre(folder, pts)
    _mixed_mobile(folder, pts, rng)
    _mixed_random(pts, rng, 300)
    _mixed_communes(folder)
    write_table(
        folder / "ho_gia_dinh.csv",
        {
            "ghi_chu": ["hộ"] * len(pts.x),
            "kinh_do": pts.x,
            "vi_do": pts.y,
            "so_ho": pts.w,
        },
    )
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Tỉnh Đắk Lắk (dữ liệu tổng hợp)", "h3_resolution": 9},
            "communes": {"path": "communes.gpkg"},
            "households": {"path": "ho_gia_dinh.csv", "lon": "kinh_do", "lat": "vi_do",
                           "weight": "so_ho"},
            "layers": MIXED_LAYERS,
        },
    )  # fmt: skip
    commune_facts = [
        Fact("24006", "households", 0, "no household is assigned to 24006"),
        Fact("24006", "fibre_pct", None, "no households -> null percentage"),
        Fact("24006", "mobile_covered", None, "no households -> null flag"),
        Fact("24003", "commune_name", SPECIAL_NAME, "name kept as written"),
    ]
    return World("mixed", manifest, pts.facts, commune_facts)

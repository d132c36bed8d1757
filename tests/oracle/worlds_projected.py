"""Worlds whose communes, households and layers live in projected CRSs (VN-2000, UTM).

``build_vn2000``: communes as a Shapefile in EPSG:3405 with Vietnamese column names,
households as a plain Parquet table, custom targets (56% makes a float ``ceil`` wrong).
``build_utm``: communes as GeoParquet in EPSG:32649 without districts, households as a
point GeoPackage in the same CRS, so points sit exactly on edges, on pixel corners and
at exactly the service distance; targets of 57% make float comparisons wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from affine import Affine

from .files import box, to_crs, write_manifest, write_raster, write_table, write_vector
from .worlds import Fact, Points, World

X0, Y0 = 830000.0, 1395000.0  # EPSG:3405, near 108.04 E 12.60 N


def _vn2000_communes(folder: Path) -> None:
    hole = box(X0 + 1000, Y0 + 1000, X0 + 2000, Y0 + 2000)
    write_vector(
        folder / "xa.shp",
        [
            box(X0, Y0, X0 + 3000, Y0 + 3000).difference(hole),
            hole,
            box(X0 + 3000, Y0, X0 + 6000, Y0 + 3000),
            shapely.MultiPolygon(
                [
                    box(X0, Y0 + 3000, X0 + 3000, Y0 + 6000),
                    box(X0 + 6000, Y0 + 3000, X0 + 7000, Y0 + 4000),
                ]
            ),
            box(X0 + 3000, Y0 + 3000, X0 + 6000, Y0 + 6000),
        ],
        3405,
        ma_xa=["24101", "24102", "24103", "24104", "24105"],
        ten_xa=[
            "Xã Cư Êbur",
            "Xã Ea Drơng",
            "Thị trấn Quảng Phú",
            "Xã Ea Sol",
            "Xã Ea Hiao",
        ],
        ma_huyen=["410", "410", "410", "411", "411"],
        ten_huyen=["Huyện Cư M'gar"] * 3 + ["Huyện Ea H'leo"] * 2,
    )


def _vn2000_points(folder: Path, pts: Points, rng: np.random.Generator) -> None:
    """25 households in 24105, 10 of them inside the fibre area; the rest at random."""
    xs = [X0 + 3200 + k * 150 for k in range(5)] + [
        X0 + 4500 + k * 500 for k in range(3)
    ]
    ys = [Y0 + 4000 + k * 300 for k in range(5)] + [Y0 + 5000] * 3
    lon, lat = to_crs(xs, ys, 3405, 4326)
    for i in range(8):
        pts.add(lon[i], lat[i], 2 if i < 5 else 5, "24105", commune_code="24105")
    # a fibre line in WGS84, measured in UTM 49N (the communes' zone)
    a_lon, a_lat = to_crs([X0 + 500, X0 + 5500], [Y0 + 2500, Y0 + 2600], 3405, 4326)
    write_vector(
        folder / "vnpt_cap_quang.geojson",
        [shapely.LineString(list(zip(a_lon, a_lat, strict=True)))],
        4326,
    )
    ax, ay = to_crs(a_lon, a_lat, 4326, 32649)
    mid = np.array([(ax[0] + ax[1]) / 2, (ay[0] + ay[1]) / 2])
    along = np.array([ax[1] - ax[0], ay[1] - ay[0]])
    normal = np.array([-along[1], along[0]]) / np.hypot(*along)
    near, far = mid + normal * 249.999, mid - normal * 250.001
    lon, lat = to_crs([near[0], far[0]], [near[1], far[1]], 32649, 4326)
    pts.add(lon[0], lat[0], 1, "249.999 m in UTM", layer_vnpt_cap_quang=True)
    pts.add(lon[1], lat[1], 1, "250.001 m in UTM", layer_vnpt_cap_quang=False)
    xs, ys = [], []
    while len(xs) < 200:
        x, y = rng.uniform(X0 - 500, X0 + 7500), rng.uniform(Y0 - 500, Y0 + 6500)
        if not (X0 + 2990 < x < X0 + 6010 and y > Y0 + 2990):
            xs.append(x)
            ys.append(y)
    lon, lat = to_crs(xs, ys, 3405, 4326)
    for x, y in zip(lon, lat, strict=True):
        pts.add(x, y, int(rng.integers(1, 4)))


def _vn2000_datum_points(pts: Points) -> None:
    """Households 50-140 m (served) and 160-300 m (not) from the VN-2000 line."""
    lon, lat = to_crs([X0 + 200, X0 + 2800], [Y0 + 200, Y0 + 800], 3405, 4756)
    ux, uy = to_crs(lon, lat, 4756, 32649)
    along = np.array([ux[1] - ux[0], uy[1] - uy[0]])
    normal = np.array([-along[1], along[0]]) / np.hypot(*along)
    col = "layer_fpt_tuyen_vn2000"
    for k, offset in enumerate([50, -80, 140, -149.9, 160, -200, 300, -150.1]):
        t = 0.1 + 0.1 * k
        x, y = (
            ux[0] + t * along[0] + offset * normal[0],
            uy[0] + t * along[1] + offset * normal[1],
        )
        wlon, wlat = to_crs([x], [y], 32649, 4326)
        pts.add(
            wlon[0],
            wlat[0],
            1,
            f"{offset} m from the VN-2000 line",
            **{col: abs(offset) <= 150},
        )


def _vn2000_layers(folder: Path, rng: np.random.Generator) -> None:
    write_vector(
        folder / "viettel_vung_phu.gpkg",
        [box(X0 + 3000, Y0 + 3000, X0 + 4000, Y0 + 6000)],
        3405,
    )
    # VN-2000 geographic (EPSG:4756): a datum shift from WGS84, distances in UTM 49N
    lon, lat = to_crs([X0 + 200, X0 + 2800], [Y0 + 200, Y0 + 800], 3405, 4756)
    write_vector(
        folder / "fpt_tuyen_vn2000.gpkg",
        [shapely.LineString(list(zip(lon, lat, strict=True)))],
        4756,
    )
    lon, lat = to_crs([X0 - 500, X0 + 4500], [Y0 + 3500, Y0 + 6500], 3405, 4326)
    write_vector(
        folder / "viettel_4g.shp",
        [box(lon.min(), lat.min(), lon.max(), lat.max())],
        4326,
        ten=["Vùng 4G Bắc"],
    )
    ux, uy = to_crs([X0 - 600, X0 + 7600], [Y0 - 600, Y0 + 6600], 3405, 32649)
    x0, y0 = np.floor(ux.min() / 128) * 128, np.ceil(uy.max() / 128) * 128
    width = int(np.ceil((ux.max() - x0) / 128))
    height = int(np.ceil((y0 - uy.min()) / 128)) // 2  # the northern half only
    values = rng.uniform(-120, -80, size=(height, width)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    write_raster(
        folder / "mobifone_5g.tif", values, Affine(128, 0, x0, 0, -128, y0), 32649, None
    )


VN2000_LAYERS = [
    {"id": "vnpt-cap-quang", "kind": "fibre", "operator": "VNPT",
     "path": "vnpt_cap_quang.geojson"},
    {"id": "viettel-vung-phu", "kind": "fibre", "operator": "Viettel",
     "path": "viettel_vung_phu.gpkg"},
    {"id": "viettel-4g", "kind": "mobile", "technology": "4G",
     "operator": "Viettel", "path": "viettel_4g.shp"},
    {"id": "mobifone-5g", "kind": "mobile", "technology": "5G",
     "operator": "MobiFone", "path": "mobifone_5g.tif",
     "min_rsrp_dbm": -100},
    {"id": "fpt-tuyen-vn2000", "kind": "fibre", "operator": "FPT",
     "path": "fpt_tuyen_vn2000.gpkg", "service_distance_m": 150},
]  # fmt: skip


def build_vn2000(folder: Path) -> World:
    """VN-2000 Shapefile communes, Parquet households, a 56% fibre target."""
    rng = np.random.default_rng(56)
    pts = Points()
    _vn2000_communes(folder)
    _vn2000_points(folder, pts, rng)
    _vn2000_datum_points(pts)
    _vn2000_layers(folder, rng)
    write_table(
        folder / "ho.parquet",
        {"lng_wgs84": pts.x, "lat_wgs84": pts.y, "weight_hh": pts.w},
    )
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Vùng thử VN-2000 (tổng hợp)", "h3_resolution": 8},
            "communes": {"path": "xa.shp", "code": "ma_xa", "name": "ten_xa",
                         "district_code": "ma_huyen", "district_name": "ten_huyen"},
            "households": {"path": "ho.parquet", "lon": "lng_wgs84", "lat": "lat_wgs84",
                           "weight": "weight_hh"},
            "layers": VN2000_LAYERS,
            "targets": {"fibre_household_pct": 56, "mobile_commune_pct": 75,
                        "mobile_commune_household_pct": 87.5},
        },
    )  # fmt: skip
    facts = [
        Fact("24105", "households", 25, "5 x 2 + 3 x 5"),
        Fact("24105", "fibre_households", 10, "the 5 x 2 inside the fibre area"),
        Fact("24105", "fibre_gap_households", 4, "ceil(0.56 x 25) = 14 (not 15) - 10"),
        Fact("24104", "district_name", "Huyện Ea H'leo", "apostrophe kept"),
    ]
    return World("vn2000", manifest, pts.facts, facts)


U0, V0 = 180000.0, 1400000.0  # EPSG:32649, near 108.05 E 12.66 N


def _utm_edges(pts: Points) -> None:
    up, down = np.inf, -np.inf
    pts.add(U0 + 2000, V0 + 1000, 1, "edge 99|100", commune_code="100", n_communes=2)
    pts.add(
        U0 + 2000, V0 + 2000, 2, "corner of three", commune_code="00007", n_communes=3
    )
    pts.add(
        U0 + 4000, V0 + 3000, 1, "corner 00007|2500", commune_code="00007", n_communes=2
    )
    pts.add(U0 + 7000.5, V0 + 500, 3, "east of 3000", commune_code=None, n_communes=0)
    fx, fy = U0 + 1000, V0 + 500
    fib = "layer_fpt_fibre_points"
    pts.add(fx + 250, fy, 1, "exactly 250 m east", **{fib: True})
    pts.add(fx - 250, fy, 1, "exactly 250 m west", **{fib: True})
    pts.add(fx, fy - 250, 1, "exactly 250 m south", **{fib: True})
    pts.add(np.nextafter(fx + 250, up), fy, 1, "one ulp beyond 250 m", **{fib: False})
    pts.add(
        fx, np.nextafter(fy - 250, down), 1, "one ulp beyond, south", **{fib: False}
    )
    g4 = "layer_viettel_4g"
    pts.add(U0 + 1500, V0 + 1500, 1, "on the 4G polygon edge", **{g4: True})
    pts.add(U0 + 500, V0 + 1200, 1, "4G polygon corner", **{g4: True})
    pts.add(np.nextafter(U0 + 1500, up), V0 + 1500, 1, "one ulp outside", **{g4: False})
    g5 = "layer_vinaphone_5g"
    pts.add(U0 + 384, V0 + 1280, 1, "pixel corner -> (15, 5)", **{g5: True})
    pts.add(U0 + 3584, V0 + 640, 1, "right edge of the raster", **{g5: False})
    pts.add(U0 - 256, V0 + 3200, 1, "top-left corner of the raster", **{g5: True})


def _utm_krong_na(pts: Points) -> None:
    """Commune 2500: 57 covered households of 100 (fibre and 4G), the rest far away."""
    fx, fy = U0 + 5000, V0 + 1500
    for k in range(17):
        dx, dy = (k % 5 - 2) * 40.0, (k // 5 - 2) * 40.0
        pts.add(fx + dx, fy + dy, 5 if k < 10 else 1, "covered part of 2500")
    for k in range(11):
        pts.add(U0 + 4200 + k * 150, V0 + 2700, 5 if k < 8 else 1, "uncovered part")


def _utm_layers(folder: Path, rng: np.random.Generator) -> None:
    write_vector(
        folder / "fpt_fibre_points.fgb",
        [shapely.Point(U0 + 1000, V0 + 500), shapely.Point(U0 + 5000, V0 + 1500)],
        32649,
    )
    write_vector(
        folder / "viettel_4g.fgb",
        [
            box(U0 + 500, V0 + 1200, U0 + 1500, V0 + 1800),
            box(U0 + 4700, V0 + 1200, U0 + 5300, V0 + 1800),
        ],
        32649,
    )
    values = rng.uniform(-125, -85, size=(27, 30)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = -40.0
    values[rng.random(values.shape) < 0.05] = np.nan
    for (row, col), value in {(15, 5): -90, (14, 4): -120, (14, 5): -120, (15, 4): -120,
                              (20, 29): -80, (0, 0): -70}.items():  # fmt: skip
        values[row, col] = value
    transform = Affine(128, 0, U0 - 256, 0, -128, V0 + 3200)
    write_raster(folder / "vinaphone_5g.tif", values, transform, 32649, -40.0)


SUBFOLDER = "dữ liệu hộ"  # a relative path with diacritics and a space


def _subfolder(folder: Path) -> Path:
    (folder / SUBFOLDER).mkdir()
    return folder / SUBFOLDER


def _utm_communes(folder: Path) -> None:
    write_vector(
        folder / "xa.parquet",
        [box(U0, V0, U0 + 2000, V0 + 2000), box(U0 + 2000, V0, U0 + 4000, V0 + 2000),
         box(U0, V0 + 2000, U0 + 4000, V0 + 3000),
         box(U0 + 4000, V0, U0 + 6000, V0 + 3000),
         box(U0 + 6000, V0, U0 + 7000, V0 + 1000)],
        32649,
        commune_code=["99", "100", "00007", "2500", "3000"],
        commune_name=["Phường Thống Nhất", "Xã Ea Nuôl", "Xã Buôn Đôn", "Xã Krông Na",
                      "Xã Ia Lốp"],
    )  # fmt: skip


UTM_LAYERS = [
    {"id": "fpt-fibre-points", "kind": "fibre", "operator": "FPT",
     "path": "fpt_fibre_points.fgb"},
    {"id": "viettel-4g", "kind": "mobile", "technology": "4G",
     "operator": "Viettel", "path": "viettel_4g.fgb"},
    {"id": "vinaphone-5g", "kind": "mobile", "technology": "5G",
     "operator": "VinaPhone", "path": "vinaphone_5g.tif"},
]  # fmt: skip


def build_utm(folder: Path) -> World:
    """UTM 49N everywhere, no districts, codes whose string order is not numeric."""
    rng = np.random.default_rng(57)
    pts = Points()
    _utm_edges(pts)
    _utm_krong_na(pts)
    while len(pts.x) < 200:
        x, y = rng.uniform(U0 - 300, U0 + 3999), rng.uniform(V0 - 300, V0 + 3300)
        pts.add(round(x, 1), round(y, 1), int(rng.integers(1, 5)))
    _utm_communes(folder)
    write_vector(
        _subfolder(folder) / "hộ gia đình.gpkg",
        [shapely.Point(x, y) for x, y in zip(pts.x, pts.y, strict=True)],
        32649,
        n_ho=pts.w,
    )
    _utm_layers(folder, rng)
    manifest = write_manifest(
        folder,
        {
            "region": {"name": "Vùng thử UTM (tổng hợp)", "h3_resolution": 10},
            "communes": {"path": "xa.parquet"},
            "households": {"path": f"{SUBFOLDER}/hộ gia đình.gpkg", "weight": "n_ho"},
            "layers": UTM_LAYERS,
            "targets": {"fibre_household_pct": 57, "mobile_commune_household_pct": 57,
                        "mobile_commune_pct": 50},
        },
    )  # fmt: skip
    facts = [
        Fact("2500", "households", 100, "10 x 5 + 7 + 8 x 5 + 3"),
        Fact("2500", "fibre_households", 57, "17 points within 250 m of F2"),
        Fact("2500", "fibre_target_met", True, "57 x 100 >= 57 x 100 (float says no)"),
        Fact("2500", "mobile_covered", True, "57 x 100 >= 57 x 100 (float says no)"),
        Fact("2500", "fibre_gap_households", 0, "ceil(57) - 57"),
        Fact("3000", "households", 0, "no household there"),
        Fact("99", "district_code", None, "no district columns"),
    ]
    return World("utm", manifest, pts.facts, facts)

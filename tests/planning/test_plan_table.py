"""The plan table built from Arrow buffers equals the table built value by value.

``app.planning.plan_table`` writes the H3 strings into one buffer
(``geodx.grid.h3_column``), takes the commune codes with Arrow and the households' metric
coordinates already at hand. Written here plainly: Python strings, an object gather,
whole weights by ``w % 1 == 0`` and a fresh transform of each household's WGS84 position,
compared with ``pa.Table.equals``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pytest
import shapely
from pyproj import CRS

from app.planning import plan_table
from geodx.contract_names import EXTENSION_COL
from geodx.coverage import Assignment, Overlay
from geodx.grid import cells_to_str, h3_column, points_to_cells
from geodx.points import WGS84, HouseholdPoints
from layers.vector import nearest_extension_m
from tests.planning.test_extension_search import _layers

UTM = CRS.from_epsg(32649)


def test_cell_strings_are_the_library_strings() -> None:
    rng = np.random.default_rng(2)
    lat, lng = rng.uniform(-89, 89, 3000), rng.uniform(-180, 180, 3000)
    cells = np.concatenate(
        [
            points_to_cells(lat, lng, resolution=9),
            points_to_cells(lat[:50], lng[:50], resolution=0),
            points_to_cells(lat[:50], lng[:50], resolution=15),
            np.array([0x8009FFFFFFFFFFF, 0x7FFFFFFFFFFFFFF], dtype=np.uint64),
        ]
    )
    got = h3_column(cells)
    assert got.type == pa.string()
    assert got.to_pylist() == cells_to_str(cells)
    assert h3_column(cells[:0]).to_pylist() == []


def test_cell_strings_past_the_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    """More cells than 32-bit offsets address: the same strings, made one by one."""
    cells = points_to_cells(
        np.linspace(8, 23, 25), np.linspace(100, 110, 25), resolution=9
    )
    monkeypatch.setattr("geodx.grid._STRING_BYTES", 15 * 7)
    got = h3_column(cells)
    assert got.type == pa.string()
    assert got.to_pylist() == cells_to_str(cells)


@pytest.mark.parametrize(
    "weight",
    [[1.0, 2.0, 0.0], [1.0, 2.5], [np.inf, 1.0], [np.nan], [-0.0, -3.0], [2.0**60], []],
)
def test_whole_weights_follow_the_households_rule(weight: list[float]) -> None:
    w = np.array(weight, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf % 1
        want = bool(np.all(np.mod(w, 1) == 0))
    assert HouseholdPoints(w, w, w).integral == want


def _plain_table(layers: list, result: Overlay, codes: np.ndarray) -> pa.Table:  # type: ignore[type-arg]
    """The table value by value, every position transformed from WGS84 again."""
    hh = result.households
    without = np.flatnonzero(~result.indicators["fibre"])
    lng, lat = hh.lng_lat
    points = HouseholdPoints(lng[without], lat[without], hh.weight[without])
    ext = nearest_extension_m(layers, points, metric_crs=UTM)
    weight = points.weight
    commune = result.assignment.commune[without]
    return pa.table(
        {
            "commune_code": pa.array(np.r_[codes, [None]][commune], type=pa.string()),
            "h3": pa.array(cells_to_str(result.cells[without]), type=pa.string()),
            "households": pa.array(np.round(weight).astype(np.int64))
            if hh.integral
            else pa.array(weight, type=pa.float64()),
            EXTENSION_COL: pa.array(
                np.where(np.isfinite(ext), ext, np.nan), from_pandas=True
            ),
        }
    )


@pytest.mark.parametrize("crs", ["wgs84", "utm48", "utm49"])
@pytest.mark.parametrize("whole", [True, False])
def test_plan_table_equals_the_plain_table(crs: str, whole: bool) -> None:
    """Households in WGS84 (their UTM coordinates at hand, or not) and in UTM."""
    rng = np.random.default_rng(8)
    layers = _layers(rng)
    n = 900
    x = rng.uniform(795_000, 825_000, n)
    y = rng.uniform(1_395_000, 1_425_000, n)
    at = shapely.get_coordinates(
        gpd.GeoSeries(shapely.points(x, y), crs=UTM).to_crs(WGS84).values
    )
    weight = rng.integers(1, 4, n).astype(np.float64)
    if not whole:
        weight[::5] += 0.5
    if crs == "wgs84":
        hh = HouseholdPoints(at[:, 0], at[:, 1], weight)
        hh.xy(UTM)  # measured in UTM already (a layer did)
    else:
        own = CRS.from_epsg(32648 if crs == "utm48" else 32649)
        ox, oy = HouseholdPoints(at[:, 0], at[:, 1], weight).xy(own)
        hh = HouseholdPoints(ox, oy, weight, own)
    commune = rng.integers(-1, 4, n)
    codes = np.array(["c0", "c1", "c2", "c3"], dtype=object)
    communes = gpd.GeoDataFrame({"commune_code": codes}, geometry=[None] * 4)
    fibre = rng.random(n) < 0.3
    result = Overlay(
        households=hh,
        assignment=Assignment(commune=commune, overlap=np.zeros(n, dtype=bool)),
        cells=points_to_cells(at[:, 1], at[:, 0], resolution=9),
        indicators={"fibre": fibre},
        layers={},
        sources={},
    )
    got = plan_table(None, communes, result, utm=UTM, layers=layers)  # type: ignore[arg-type]
    want = _plain_table(layers, result, codes)
    assert got.equals(want)
    assert got.column("commune_code").null_count == (commune[~fibre] < 0).sum() > 0

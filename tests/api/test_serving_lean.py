"""Serving the country within 1 GB a worker and a 5 s start: what each change keeps.

- the cell table read as before (every value, every narrowed column by the plain rule:
  int32 where the column is never negative and totals below 2**31), and the memory the
  read freed handed back by Arrow's pool as well as glibc's (``trim_heap``);
- ``geodx serve``'s workers are spawned as ``app.services``, not as the geodx script
  (the whole CLI again), and the main module's spec is given back afterwards;
- a worker starts without openpyxl, Folium/branca, Jinja or SQLAlchemy (a fresh
  interpreter), and each is imported by the first route that needs it, which answers:
  an .xlsx export, a map page, a brief, the history of a configured store;
- after a request that took long the heap is trimmed, after a fast one it is not, and
  the answers are the same bytes either way;
- ``/lookup``'s held layers pack their WKB in one buffer: every geometry read back
  is the one a WKB round trip of the feature gives (points, lines, polygons with
  holes, multi-parts, missing ones), rows in any order and repeated;
- ``/lookup`` holds the communes as WKB and boxes: each point's commune is the one the
  plain rule gives (the smallest code among the communes covering it, boundary
  included), on shared edges and vertices, in an overlap, beside and far outside;
- the plan table held small gives each commune's rows and the assigned rows as the
  frame's selections did (file order, values, NaN extensions as infinite), with H3 ids
  held as bytes or, when any is not plain, as read;
- start-up's background builds the communes and districts collections, not the gaps
  ones: those are built by their first page, the same features;
- the lazy cells collection's keys read in Arrow are :func:`keys_of`'s (plain ids,
  upper case, other lengths, non-ASCII, missing, not strings, chunked, empty);
- the name search is built by the first search, with the same answers;
- the gzip cache keeps at most 32 MB of bodies (the busiest national worker's
  bound), the least recently used going first;
- a held layer keeps no moved copy: its features moved to the UTM zone a few at a
  time are the very coordinates of the whole layer moved at once.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing.spawn
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from pyproj import CRS

import api.cellcheck
from api.lazycells import column_keys, keys_of
from api.main import create_app
from api.middleware import Gzip
from api.plan_table import PlanTable
from api.results import load_results, read_cells
from api.settings import Settings
from app.live import LiveRegion
from app.live_layers import NearLayer, PackedWKB
from app.serve import WORKER_MAIN, serve_snapshot, spawned_main
from geodx.contract_names import CELLS_FILE
from geodx.crs import reproject
from geodx.heap import trim_heap
from geodx.manifest import load_manifest
from geodx.outdir_snapshot import snapshot
from geodx.plan import take_until
from geodx.search import NameSearch
from layers.vector import NetworkReach
from tests.api.conftest import write_results
from tests.planning.region import Region, build


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(tmp_path_factory.mktemp("lean") / "out")


def _naive_cells(path: Path) -> pd.DataFrame:
    """The cell table by the plain rule: read, then int32 where no sum can overflow."""
    table = pd.read_parquet(path)
    for col in table.columns:
        values = table[col]
        wide = values.dtype == np.int64 and len(values) > 0
        if wide and values.min() >= 0 and int(values.sum()) < 2**31 - 1:
            table[col] = values.astype(np.int32)
    return table


def test_cell_table_is_read_as_before(results: Path) -> None:
    path = results / CELLS_FILE
    got, want = read_cells(path), _naive_cells(path)
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        assert got[col].dtype == want[col].dtype, col
        assert got[col].tolist() == want[col].tolist(), col


class _Pool:
    def __init__(self) -> None:
        self.released = 0

    def release_unused(self) -> None:
        self.released += 1


def test_arrow_pool_is_trimmed_after_narrowing(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wide columns narrowing replaced go back once the table is narrow."""
    pool = _Pool()
    order: list[str] = []
    narrow = api.cellcheck.narrow_counts

    def spy_narrow(cells: pd.DataFrame) -> pd.DataFrame:
        order.append(f"narrow after {pool.released} releases")
        return narrow(cells)

    monkeypatch.setattr(pa, "default_memory_pool", lambda: pool)
    monkeypatch.setattr("api.results.narrow_counts", spy_narrow)
    read_cells(results / CELLS_FILE)
    assert order == ["narrow after 0 releases"]
    assert pool.released == 1  # once, after narrowing
    trim_heap()
    assert pool.released == 2


def test_trim_heap_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Elsewhere than glibc, Arrow's pool is still trimmed and nothing fails."""
    pool = _Pool()

    def no_libc(name: str) -> Any:
        raise OSError(name)

    monkeypatch.setattr(pa, "default_memory_pool", lambda: pool)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    trim_heap()
    assert pool.released == 1


def _prepared() -> dict[str, Any]:
    """What ``multiprocessing`` hands a spawned child to run before its target."""
    data: dict[str, Any] = multiprocessing.spawn.get_preparation_data("worker")
    return data


def test_spawned_main_names_the_module_then_gives_the_spec_back() -> None:
    main = sys.modules["__main__"]
    before = getattr(main, "__spec__", None)
    with spawned_main("app.services"):
        got = _prepared()
        assert got["init_main_from_name"] == "app.services"
        assert "init_main_from_path" not in got  # the script is not run again
    assert getattr(main, "__spec__", None) is before


def test_serve_spawns_workers_as_the_services_module(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    for name in ("GEODX_RESULTS_DIR", "GEODX_RESULTS_VERSION", "GEODX_REGION"):
        monkeypatch.setenv(name, "recorded, so that the test's value is undone")
    seen: dict[str, Any] = {}

    def run(app: str, **options: Any) -> None:
        seen.update(app=app, workers=options["workers"], main=_prepared())

    monkeypatch.setattr(uvicorn, "run", run)
    serve_snapshot(snapshot(results), host="127.0.0.1", port=8123, workers=2)
    assert seen["app"] == f"{WORKER_MAIN}:served_app" and seen["workers"] == 2
    assert seen["main"]["init_main_from_name"] == WORKER_MAIN


#: Run in a fresh interpreter: what a served worker imports at start, then per route.
LAZY_SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from api.lazycells import column_keys, keys_of
from api.main import create_app
from api.middleware import Gzip
from api.settings import Settings
from app.services import services
LAZY = ("openpyxl", "folium", "branca", "jinja2", "sqlalchemy")
settings = Settings(results_dir=sys.argv[1], warm_maps=False, history=sys.argv[2] or None)
seen = {}
with TestClient(create_app(settings, services=services())) as client:
    seen["start"] = [m for m in LAZY if m in sys.modules]
    if settings.history:
        answer = client.get("/history")
        seen["history"] = [answer.status_code, answer.text[:200], []]
    first = client.get("/collections/communes/items?limit=1").json()["features"][0]
    code = first["properties"]["commune_code"]
    routes = [
        ("summary", "/summary"),
        ("xlsx", "/gaps?indicator=fibre&format=xlsx"),
        ("map", "/maps/coverage?indicator=fibre"),
        ("brief", f"/communes/{code}/brief"),
    ]
    for label, url in [] if settings.history else routes + [("history", "/history")]:
        answer = client.get(url)
        seen[label] = [answer.status_code, answer.text[:200] if label == "history" else "",
                       [m for m in LAZY if m in sys.modules]]
print(json.dumps(seen))
"""


def _served_imports(results: Path, history: str = "") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", LAZY_SCRIPT, str(results), history],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def test_a_worker_imports_what_a_route_needs_when_first_called(results: Path) -> None:
    seen = _served_imports(results)
    assert seen["start"] == []
    assert seen["summary"][0] == 200 and seen["summary"][2] == []
    assert seen["xlsx"][0] == 200 and seen["xlsx"][2] == ["openpyxl"]
    assert seen["map"][0] == 200
    assert {"folium", "branca", "jinja2"} <= set(seen["map"][2])
    assert seen["brief"][0] == 200 and "sqlalchemy" not in seen["brief"][2]
    status, text, modules = seen["history"]
    assert status == 503 and "no history store configured" in text
    assert "sqlalchemy" not in modules  # no store: never imported


def test_a_configured_history_store_is_opened_at_its_first_use(
    results: Path, tmp_path: Path
) -> None:
    seen = _served_imports(results, str(tmp_path / "history.sqlite"))
    assert "sqlalchemy" in seen["start"]  # the service opens the store at start
    status, text, _ = seen["history"]
    assert "no history store configured" not in text, (status, text)


PAGES = (
    "/summary",
    "/gaps?indicator=fibre&format=csv",
    "/maps/coverage?indicator=fibre",
)


def _answers(results: Path, after_s: float, monkeypatch: pytest.MonkeyPatch) -> Any:
    trims: list[str] = []
    monkeypatch.setattr("api.middleware.TRIM_AFTER_S", after_s)
    app = create_app(Settings(results_dir=results, warm_maps=False))
    with TestClient(app) as client:
        for thread in threading.enumerate():
            if thread.name == "results":  # start-up's own trim, in the background
                thread.join()
        monkeypatch.setattr("geodx.heap.trim_heap", lambda: trims.append("trim"))
        bodies = []
        for url in PAGES:
            bodies.append(client.get(url).content)
            for thread in threading.enumerate():
                if thread.name == "trim-heap":  # the trim runs once the answer is sent
                    thread.join()
    return bodies, len(trims)


def test_the_heap_is_trimmed_after_slow_requests_only(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every, trimmed = _answers(results, 0.0, monkeypatch)  # every request is "slow"
    assert trimmed == len(PAGES)
    never, none = _answers(results, 1e9, monkeypatch)
    assert none == 0
    assert every == never


def _features(rng: np.random.Generator, n: int) -> np.ndarray:
    out: list[Any] = []
    for i in range(n):
        x, y = rng.uniform(-1e6, 1e6, 2)
        ring = [(x, y), (x + 5, y), (x + 5, y + 5), (x, y + 5)]
        hole = [(x + 1, y + 1), (x + 2, y + 1), (x + 2, y + 2)]
        kinds = (
            shapely.Point(x, y),
            shapely.LineString(rng.uniform(-1e3, 1e3, (int(rng.integers(2, 9)), 2))),
            shapely.Polygon(ring, [hole]),
            shapely.MultiPolygon(
                [shapely.Polygon(ring), shapely.box(x + 9, y, x + 10, y + 1)]
            ),
            None,
        )
        out.append(kinds[i % len(kinds)])
    return np.asarray(out, dtype=object)


def test_packed_wkb_reads_back_each_features_round_trip() -> None:
    rng = np.random.default_rng(9)
    geoms = _features(rng, 200)
    packed = PackedWKB(geoms)
    assert len(packed) == len(geoms) and isinstance(packed.buffer, bytes)
    rows = rng.integers(0, len(geoms), 500)  # any order, repeated
    got = packed.geoms(rows)
    for row, geom in zip(rows.tolist(), got.tolist(), strict=True):
        want = geoms[row]
        if want is None:
            assert geom is None
        else:
            assert shapely.to_wkb(geom) == shapely.to_wkb(
                shapely.from_wkb(shapely.to_wkb(want))
            )
    assert len(packed.geoms(np.arange(0))) == 0


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    return build(tmp_path_factory.mktemp("lean-region"), n=200, seed=3)


def _commune_probes(region: Region) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for geom in region.communes.values():
        ring = np.asarray(geom.exterior.coords)
        points += [(float(x), float(y)) for x, y in ring]  # vertices
        points += [
            ((a + c) / 2, (b + d) / 2)
            for (a, b), (c, d) in zip(ring[:-1], ring[1:], strict=True)
        ]
        inside = geom.representative_point()
        points.append((inside.x, inside.y))
    west, south, east, north = shapely.total_bounds(list(region.communes.values()))
    points += [(west - 1e-9, south), (east + 0.001, north), (west, north + 1e-7)]
    points += [(0.0, 0.0), (179.9, -89.9), (108.3, 12.9)]  # far from every commune
    return points


def test_lookup_communes_are_the_plain_rules(region: Region) -> None:
    live = LiveRegion.open(region.folder)
    codes = sorted(region.communes)
    hits = 0
    for lon, lat in _commune_probes(region):
        point = shapely.Point(lon, lat)
        covering = [c for c in codes if region.communes[c].covers(point)]
        want = covering[0] if covering else None
        got = live.lookup(lon, lat)
        assert got["commune_code"] == want, (lon, lat, covering)
        hits += len(covering) > 1
    assert hits > 4  # shared edges, vertices and the overlap were asked


def _plan_frame(rng: np.random.Generator, n: int, odd_h3: bool) -> pd.DataFrame:
    codes = rng.choice(np.asarray(["A01", "B02", "C3", None], dtype=object), n)
    h3 = [f"89{rng.integers(0, 16**13):013x}" for _ in range(n)]
    if odd_h3:
        h3[3] = h3[3].upper()
    ext = rng.uniform(0, 500, n)
    ext[rng.random(n) < 0.2] = np.nan
    frame = pd.DataFrame(
        {"commune_code": codes, "h3": h3, "households": rng.integers(1, 9, n)}
    )
    return frame.assign(extension_m=ext).astype({"commune_code": "str", "h3": "str"})


@pytest.mark.parametrize("odd_h3", [False, True])
def test_plan_table_rows_are_the_frames_selections(
    odd_h3: bool, tmp_path: Path
) -> None:
    path = tmp_path / "plan.parquet"
    _plan_frame(np.random.default_rng(4), 300, odd_h3).to_parquet(path)
    frame = pd.read_parquet(
        path, columns=["commune_code", "h3", "households", "extension_m"]
    )
    frame["extension_m"] = frame["extension_m"].astype(float).fillna(np.inf)
    table = PlanTable.read(path)
    assert (table.h3.dtype.kind == "S") is not odd_h3
    wanted = {
        code: frame[frame["commune_code"] == code] for code in ("A01", "B02", "C3", "X")
    }
    wanted["assigned"] = frame[frame["commune_code"].notna()]
    for key, want in wanted.items():
        got = table.assigned() if key == "assigned" else table.of(key)
        assert got.h3.tolist() == want["h3"].tolist(), key
        assert got.households.tolist() == want["households"].tolist(), key
        assert got.extension.tolist() == want["extension_m"].tolist(), key
        as_float = got.households.to_numpy(float).tolist()
        assert as_float == want["households"].to_numpy(float).tolist()
        assert float(got.households.sum()) == float(want["households"].sum())
    assert len(wanted["X"]) == 0 and len(wanted["assigned"]) < len(frame)


def test_features_moved_a_few_at_a_time_are_the_whole_layer_moved(
    region: Region,
) -> None:
    rng = np.random.default_rng(12)
    to_degrees = [1e-5, 0.0, 0.0, 1e-5, 108.0, 12.6]  # around the region
    geoms = np.asarray(
        [
            None if g is None else shapely.affinity.affine_transform(g, to_degrees)
            for g in _features(rng, 300)
        ],
        dtype=object,
    )
    wgs84, utm = CRS.from_epsg(4326), CRS.from_epsg(32649)
    spec = next(s for s in load_manifest(region.folder).layers if s.id == "routes")
    layer = NearLayer(
        NetworkReach(spec, geoms, wgs84, source="lines", metric_crs=utm), metric_crs=utm
    )
    whole = reproject(geoms, wgs84, utm)
    for rows in (rng.integers(0, len(geoms), 40), np.arange(3), np.arange(0)):
        few = layer._geoms(rows, metric=True)
        want = [None if g is None else shapely.to_wkb(g) for g in whole[rows]]
        assert [None if g is None else shapely.to_wkb(g) for g in few] == want
        own = layer._geoms(rows, metric=False)
        assert [None if g is None else shapely.to_wkb(g) for g in own] == [
            None if g is None else shapely.to_wkb(g) for g in geoms[rows]
        ]


def test_gaps_collections_wait_for_their_first_page(results: Path) -> None:
    prepared = load_results(results)
    prepared.prepare()
    assert set(prepared._indexes) == {"communes", "districts"}
    fresh = load_results(results)
    for indicator in ("fibre", "mobile"):
        got = prepared.collection("gaps", indicator=indicator)
        want = fresh.collection("gaps", indicator=indicator)
        assert list(got.features) == list(want.features) and len(got.features) > 0
    assert set(prepared._indexes) == {
        "communes",
        "districts",
        "gaps:fibre",
        "gaps:mobile",
    }


@pytest.mark.parametrize(
    "values",
    [
        ["8928308280fffff", "89283082807ffff", "8928308280bffff"],
        ["8928308280fffff", "8928308280FFFFF"],
        ["8928308280fffff", "8928308280ffff"],
        ["8928308280fffff", "8928308280ffffff"],
        ["8928308280fffff", "8928308280fffé"],
        ["8928308280fffff", None],
        [1, 2],
        [],
    ],
)
def test_arrow_keys_are_keys_of(values: list[Any]) -> None:
    want = keys_of(values)
    whole = pa.array(values, type=None if values else pa.string())
    kind = "str" if all(isinstance(v, str) for v in values) else object
    for column in (
        whole,
        pa.chunked_array([whole.slice(0, 1), whole.slice(1)]),
        pd.Series(values, dtype=kind),
    ):
        got = column_keys(column)
        if want is None:
            assert got is None
        else:
            assert (
                got is not None
                and got.dtype == want.dtype
                and got.tolist() == want.tolist()
            )


def test_the_name_search_is_built_by_the_first_search(results: Path) -> None:
    loaded = load_results(results)
    assert loaded._search is None
    plain = NameSearch.build(loaded.communes)
    for query in ("a", "xa", "Ea", "01", "zzz", ""):
        want = loaded.communes.iloc[plain.find(query)]
        assert loaded.search(query).equals(want), query
    assert loaded._search is not None


def test_the_gzip_cache_is_bounded_by_bytes() -> None:
    cache = Gzip(lambda *_: None).cache  # type: ignore[arg-type,return-value]
    assert cache.max_bytes == 32 * 2**20
    bodies = [bytes([i]) * (4 * 2**20) for i in range(12)]  # 48 MB in all
    for body in bodies:
        cache.put(body, b"z")
    kept = [b for b in bodies if cache.get(b) is not None]
    assert kept == bodies[-8:]  # 32 MB, the newest


def test_a_plan_taken_from_numpy_strings_is_the_plan_from_python_strings() -> None:
    rng = np.random.default_rng(8)
    n = 2000
    cells = np.asarray([f"89{v:013x}" for v in rng.integers(0, 40, n)], dtype=object)
    ext = np.round(rng.uniform(0, 300, n), 0)  # ties: the cell, then the position
    ext[rng.random(n) < 0.1] = np.inf
    weight = rng.integers(1, 4, n).astype(float)
    for gap in (0, 1, 500, 3000, 10**6):
        want = take_until(ext, weight, cells, gap=gap)
        got = take_until(ext, weight, cells.astype("U15"), gap=gap)  # type: ignore[arg-type]
        assert got.steps.equals(want.steps) and got.curve == want.curve, gap
        assert got.steps["h3"].map(type).eq(str).all()
        assert (got.households_planned, got.max_extension_m, got.points_planned) == (
            want.households_planned,
            want.max_extension_m,
            want.points_planned,
        )

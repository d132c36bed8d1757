"""Serving within the country's targets, on a small generated region.

- a worker reads the cell table and builds the collections after start-up (in the
  background, or on first use): the same table and pages as when read at once;
  communes' polygons built at once are ``shape``'s;
- ``/plan`` is computed once per results version: the cached bytes are the computed
  ones, a second request does not compute again, and a new version gets its own plan;
- the inputs' checksums (results current? lookups stale?) hash only files whose stat
  changed since ``geodx serve`` last hashed them, and still tell a changed input, of
  the same size and modification time too, from the one the results were run on;
- ``/lookup``'s region holds its vector layers as WKB and bounds and answers each
  point with the features near it: the same answers as the layers held whole, for
  points inside, in holes, on edges and vertices, near and very far from features;
- ``geodx serve`` started again on unchanged inputs keeps its verdict (no manifest read,
  no check), and any change (an input's bytes, a file added beside one, a new
  version) runs the full check again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely
import typer
from fastapi.testclient import TestClient
from pyproj import CRS, Transformer
from shapely.geometry import shape
from typer.testing import CliRunner

import api.routes.planning as planning
import app.inputs
import app.live
from api.main import create_app
from api.plan import province_plan
from api.results import load_results
from api.results_files import polygon_shapes
from api.settings import Settings
from app.inputs import SeenDigests, input_stats, seen_file
from app.live import LiveRegion, StaleRegion, _open
from app.live_layers import NearLayer
from app.pipeline import RunResult, input_files, results_are_current, run_region
from app.serve import serve_command
from geodx.errors import InputFileError
from geodx.manifest import load_manifest
from geodx.manifest_specs import LayerSpec
from geodx.outdir_snapshot import snapshot
from geodx.points import WGS84, HouseholdPoints
from layers.vector import NetworkReach, ServedArea
from tests.planning.region import Region, build


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    return build(tmp_path_factory.mktemp("bounded-region"), n=600, seed=5)


@pytest.fixture(scope="module")
def run(region: Region, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_region(region.folder, tmp_path_factory.mktemp("bounded-out") / "out")


def _client(out: Path, **extra: Any) -> TestClient:
    return TestClient(create_app(Settings(results_dir=out, warm_maps=False, **extra)))


@pytest.fixture(scope="module")
def client(run: RunResult) -> Iterator[TestClient]:
    with _client(run.out_dir) as c:
        yield c


def test_the_cell_table_is_read_on_first_use(run: RunResult, tmp_path: Path) -> None:
    results = load_results(run.out_dir)
    assert not isinstance(results.cells_from, pd.DataFrame)  # not read yet
    assert not results._indexes
    naive = pd.read_parquet(results.folder / "cells.parquet")
    got = results.cells
    assert got is results.cells  # read once
    assert got.columns.tolist() == naive.columns.tolist()
    for col in naive.columns:
        assert got[col].tolist() == naive[col].tolist(), col
    results.prepare()
    assert set(results._indexes) == {"communes", "districts"}  # gaps: on first use
    # A cell table of ids that are not H3 cells: said when it is first needed.
    bad = tmp_path / "bad"
    shutil.copytree(results.folder, bad)
    table = pq.read_table(bad / "cells.parquet").to_pandas()
    table["h3"] = "not-a-cell"
    table.to_parquet(bad / "cells.parquet")
    broken = load_results(bad)
    with pytest.raises(InputFileError, match="not H3 cells"):
        broken.cells  # noqa: B018
    broken.prepare()  # logged, not raised


def _doc(client: TestClient, url: str) -> Any:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.text)
    doc = orjson.loads(answer.content)
    doc.pop("timeStamp", None)  # the OGC collections' time of the answer
    return doc


def test_pages_are_the_same_whether_prepared_or_not(run: RunResult) -> None:
    urls = [
        "/collections/communes/items?limit=3",
        "/collections/districts/items",
        "/collections/gaps/items?indicator=mobile",
        "/collections/cells/items?limit=5",
        "/communes/A01",
        "/summary",
    ]
    with _client(run.out_dir) as c:
        c.app.state.results.prepare()  # type: ignore[attr-defined]
        prepared = [_doc(c, u) for u in urls]
    for order in (urls, urls[::-1]):
        fresh = load_results(run.out_dir)
        app = create_app(Settings(results_dir=run.out_dir, warm_maps=False))
        with TestClient(app) as c:
            c.app.state.results = fresh  # type: ignore[attr-defined]
            got = {u: _doc(c, u) for u in order}
        assert [got[u] for u in urls] == prepared


def test_polygons_built_at_once_are_shapes() -> None:
    rng = np.random.default_rng(3)

    def ring(x: float, y: float, r: float) -> list[list[float]]:
        angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
        pts = [[x + r * np.cos(a), y + r * np.sin(a)] for a in angles]
        return [*pts, pts[0]]

    polygon = {"type": "Polygon", "coordinates": [ring(0, 0, 1), ring(0, 0, 0.3)]}
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[ring(5, 5, 1)], [ring(9, 9, 2), ring(9, 9, 0.5)]],
    }
    geoms: list[Any] = [polygon, multi, None, multi, polygon]
    got = polygon_shapes(geoms)
    for g, want in zip(got, geoms, strict=True):
        assert (g is None) == (want is None)
        if want is not None:
            s = shape(want)
            assert g.geom_type == s.geom_type and shapely.to_wkb(g) == shapely.to_wkb(s)
    unclosed = {"type": "Polygon", "coordinates": [ring(0, 0, 1)[:-1]]}
    three_d = {"type": "Polygon", "coordinates": [[[*p, 1.0] for p in ring(0, 0, 1)]]}
    point = {"type": "Point", "coordinates": [1.0, 2.0]}
    for odd in (unclosed, three_d, point):
        mixed = polygon_shapes([polygon, odd])
        assert [shapely.to_wkb(g) for g in mixed] == [
            shapely.to_wkb(shape(polygon)),
            shapely.to_wkb(shape(odd)),
        ]


def test_the_province_plan_is_computed_once_per_version(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = client.app.state.results  # type: ignore[attr-defined]
    calls: list[str] = []

    def counted(res: Any, indicator: str = "fibre") -> dict[str, Any]:
        calls.append(indicator)
        return province_plan(res, indicator)

    monkeypatch.setattr(planning, "province_plan", counted)
    for indicator in ("fibre", "mobile"):
        first = client.get(f"/plan?indicator={indicator}")
        again = client.get(f"/plan?indicator={indicator}")
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert first.headers["content-type"] == "application/json"
        assert orjson.loads(first.content) == province_plan(results, indicator)
    assert calls == ["fibre", "mobile"]  # each built once, then served from the cache


def test_a_new_version_gets_its_own_plan(region: Region, tmp_path: Path) -> None:
    folder, out = tmp_path / "region", tmp_path / "out"
    shutil.copytree(region.folder, folder)
    run_region(folder, out)
    with _client(out) as before:
        old = before.get("/plan").content
        old_version = before.app.state.results.version  # type: ignore[attr-defined]
    # Without its served areas, the region's fibre (and so its plan) changes.
    manifest = folder / "region.toml"
    parts = manifest.read_text().split("[[layers]]")
    manifest.write_text("[[layers]]".join(p for p in parts if "fibre_areas" not in p))
    run_region(folder, out)
    with _client(out) as after:
        results = after.app.state.results  # type: ignore[attr-defined]
        assert results.version != old_version
        new = after.get("/plan").content
        assert orjson.loads(new) == province_plan(results, "fibre")
        assert new != old


def _same_size_other_bytes(path: Path) -> None:
    """Change one byte of ``path``, keeping its size and its modification time."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    at = max(data.rfind(d) for d in (b"1", b"2", b"3"))  # a digit of the last row
    data[at] += 1
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_seen_digests_hash_a_file_again_only_when_it_changed(tmp_path: Path) -> None:
    path, seen_at = tmp_path / "households.csv", tmp_path / "seen.json"
    path.write_bytes(b"lon,lat\n108.1,12.6\n" * 1000)
    first = SeenDigests(seen_at)
    assert first.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert first.hashed == [path]
    first.save()
    again = SeenDigests(seen_at)
    assert again.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert again.hashed == []  # known by its stat
    _same_size_other_bytes(path)
    later = SeenDigests(seen_at)
    assert later.sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert later.hashed == [path]
    seen_at.write_text("{not json")  # a damaged file: everything is hashed
    assert SeenDigests(seen_at).sha256(path) == later.sha256(path)


def test_staleness_is_still_told_without_hashing_again(
    region: Region, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, out = tmp_path / "region", tmp_path / "out"
    shutil.copytree(region.folder, folder)
    run_region(folder, out)
    where = seen_file(out)
    assert where is not None and where.parent.name == ".out.geodx"
    seen = SeenDigests(where)
    assert results_are_current(folder, out, digest=seen.sha256)
    assert {p.name for p in seen.hashed} >= {"region.toml", "households.csv"}
    seen.save()
    settings = Settings(results_dir=load_pinned(out), region=folder)
    # Every input's stat is known: neither the check nor a worker reads a file.
    monkeypatch.setattr(app.inputs.hashlib, "file_digest", _no_hashing)
    assert results_are_current(folder, out, digest=SeenDigests(where).sha256)
    assert isinstance(_open(settings), LiveRegion)
    monkeypatch.undo()
    _same_size_other_bytes(folder / "households.csv")
    assert not results_are_current(folder, out, digest=SeenDigests(where).sha256)
    stale = _open(settings)
    assert isinstance(stale, StaleRegion) and "out of date" in stale.reason


def _no_hashing(*_args: Any) -> Any:
    raise AssertionError("a file was hashed although its stat was known")


def load_pinned(out: Path) -> Path:
    return Path(os.path.realpath(out))


def _serve(folder: Path, out: Path) -> str:
    cli = typer.Typer()
    cli.command("serve")(serve_command)
    cli.command("other")(lambda: None)
    got = CliRunner().invoke(cli, ["serve", str(folder), "--out", str(out)])
    assert got.exit_code == 0, got.output
    return got.output


def test_serve_keeps_its_verdict_while_nothing_changed(
    region: Region, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    import app.pipeline as pipeline

    folder, out = tmp_path / "region", tmp_path / "out"
    shutil.copytree(region.folder, folder)
    run_region(folder, out)
    for name in ("GEODX_RESULTS_DIR", "GEODX_RESULTS_VERSION", "GEODX_REGION"):
        monkeypatch.setenv(name, "undone after the test")
    monkeypatch.setattr(uvicorn, "run", lambda *_, **__: None)
    checks: list[bool] = []
    full_check = pipeline.results_are_current

    def counted(*args: Any, **kwargs: Any) -> bool:
        checks.append(full_check(*args, **kwargs))
        return checks[-1]

    monkeypatch.setattr(pipeline, "results_are_current", counted)
    assert "are current" in _serve(folder, out) and checks == [True]
    assert "are current" in _serve(folder, out) and checks == [True]  # kept
    seen = SeenDigests(seen_file(out))
    version = snapshot(out).version
    assert seen.still_current(folder, version)
    assert not seen.still_current(folder, "another-version")
    assert not seen.still_current(tmp_path / "elsewhere", version)
    _same_size_other_bytes(folder / "households.csv")
    assert not SeenDigests(seen_file(out)).still_current(folder, version)
    assert "computing" in _serve(folder, out) and checks == [True, False]
    assert "are current" in _serve(folder, out) and checks == [True, False]
    (folder / "fibre_routes.prj").write_text("a sidecar-like file beside an input")
    assert not SeenDigests(seen_file(out)).still_current(folder, snapshot(out).version)
    stats = input_stats(input_files(load_manifest(folder)))
    assert str((folder / "households.csv").resolve()) in stats
    assert str(folder.resolve()) in stats  # the folder holding the inputs


def _eager(folder: Path, monkeypatch: pytest.MonkeyPatch) -> LiveRegion:
    """The region with every layer held whole, as the run opens it."""
    with monkeypatch.context() as m:
        m.setattr(app.live, "held_small", lambda _adapter, **_: None)
        return LiveRegion.open(folder)


def _probe_points(region: Region) -> list[tuple[float, float]]:
    points = list(zip(region.lon[:30].tolist(), region.lat[:30].tolist(), strict=True))
    for geom in [*region.polygons, *region.lines, *region.g5]:
        coords = shapely.get_coordinates(geom)
        points += [tuple(c) for c in coords[:3].tolist()]  # vertices: on edges
        a, b = coords[0], coords[1]
        points.append(((a[0] + b[0]) / 2, (a[1] + b[1]) / 2))  # an edge's middle
    points += [(float(p.x), float(p.y)) for p in region.points[:5]]
    # far from every feature: the search grows until it holds the whole layer
    points += [(108.3, 12.9), (109.5, 14.0), (104.0, 9.0), (120.0, 20.0)]
    return points


def test_lookups_from_nearby_features_are_the_whole_layers(
    region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = LiveRegion.open(region.folder)
    assert sum(isinstance(layer.adapter, NearLayer) for layer in held.layers) == 4
    eager = _eager(region.folder, monkeypatch)
    assert not any(isinstance(layer.adapter, NearLayer) for layer in eager.layers)
    points = _probe_points(region)
    for lon, lat in points:
        assert held.lookup(lon, lat) == eager.lookup(lon, lat), (lon, lat)
    answers = [held.lookup(lon, lat) for lon, lat in points]
    assert any(a["fibre"] for a in answers) and not all(a["fibre"] for a in answers)
    far = answers[-1]["nearest_fibre"]
    assert far is not None and far["distance_m"] > 1e6


def _layer(region: Region, layer_id: str) -> LayerSpec:
    return next(s for s in load_manifest(region.folder).layers if s.id == layer_id)


def test_held_layers_answer_in_holes_on_edges_and_far(region: Region) -> None:
    utm = CRS.from_epsg(32649)
    ring = [(108.0, 12.6), (108.02, 12.6), (108.02, 12.62), (108.0, 12.62)]
    hole = [(108.005, 12.605), (108.015, 12.605), (108.015, 12.615), (108.005, 12.615)]
    beside = shapely.box(108.02, 12.6, 108.03, 12.61)  # shares an edge
    far_part = shapely.box(108.5, 12.9, 108.51, 12.91)
    polygons = np.asarray(
        [shapely.Polygon(ring, [hole]), shapely.MultiPolygon([beside, far_part])],
        dtype=object,
    )
    to_utm = Transformer.from_crs(4326, utm, always_xy=True)
    line = shapely.LineString(
        [to_utm.transform(108.0, 12.65), to_utm.transform(108.1, 12.7)]
    )
    eager_area = ServedArea(_layer(region, "areas"), polygons, WGS84)
    eager_line = NetworkReach(
        _layer(region, "routes"), np.asarray([line], dtype=object), utm,
        source="lines", metric_crs=utm,
    )  # fmt: skip
    probes = [
        (108.01, 12.61),  # in the hole
        (108.005, 12.61),  # on the hole's edge
        (108.005, 12.605),  # the hole's corner
        (108.002, 12.61),  # inside, near the hole
        (108.02, 12.605),  # on the shared edge
        (108.0, 12.6),  # the outer corner
        (108.025, 12.615),  # outside, near
        (108.505, 12.905),  # in the far part
        (108.05, 12.675),  # on the line, about
        (106.0, 10.0),  # far from both
    ]
    probes += [(lon, 12.6 + 0.0025 * k) for k in range(40) for lon in (108.03, 108.06)]
    x = np.asarray([p[0] for p in probes])
    y = np.asarray([p[1] for p in probes])
    points = HouseholdPoints(x, y, np.ones(len(x)))
    for eager in (eager_area, eager_line):
        held = NearLayer(eager, metric_crs=utm)
        assert np.array_equal(held.covers(points), eager.covers(points))
        got = held.distances_m(points, metric_crs=utm)
        assert np.array_equal(got, eager.distances_m(points, metric_crs=utm))
        one = HouseholdPoints(x[:1], y[:1], np.ones(1))
        assert held.covers(one).tolist() == eager.covers(one).tolist()
    assert eager_area.covers(points)[:4].tolist() == [False, True, True, True]

"""The partitioned engines (local, Dask) write what the single pass writes, to the byte.

Partitions are forced fine here (H3 res 5 and 8 on regions a few km to a province
wide), so communes, routes and the households near a route are split across them;
each test checks, with the h3 library, that the split it claims really happens.
"""

from __future__ import annotations

import gc
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import pyarrow.parquet as pq
import pytest
import shapely

from app.pipeline import run_region
from tests.counts.world import UTM, X0, Y0, write_communes, write_counts, write_density
from tests.counts.world import write_manifest as write_counts_manifest
from tests.oracle.worlds import build_mixed
from tests.oracle.worlds_projected import build_vn2000

FILES = ("communes.geojson", "districts.geojson", "summary.json")
TABLES = ("cells.parquet", "plan.parquet")


def contents(folder: Path) -> dict[str, Any]:
    """Every output's content: JSON files as bytes, Parquet tables as Arrow tables."""
    got: dict[str, Any] = {name: (folder / name).read_bytes() for name in FILES}
    got.update({name: pq.read_table(folder / name) for name in TABLES})
    return got


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    for name in FILES:
        assert a[name] == b[name], name
    for name in TABLES:
        assert a[name].equals(b[name]), name
        assert a[name].schema.metadata == b[name].schema.metadata, name


def layer_files(folder: Path) -> dict[str, bytes]:
    """The map layers a run drew (``layers/``), by path, as bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted((folder / "layers").rglob("*"))
        if p.is_file()
    }


def run(manifest: Path, out: Path, engine: str, **kw: Any) -> dict[str, Any]:
    """``run_region`` with the test process's own objects left out of the collections.

    A partitioned run collects garbage after every partition (``release_memory``);
    a full collection scans every object of the process, and pytest's process holds
    the whole suite's (0.1-0.3 s a partition). Frozen, the objects made before the run
    are not scanned; the run's own garbage is collected as in ``geodx run``.
    """
    gc.collect()
    gc.freeze()
    try:
        run_region(manifest, out, engine=engine, **kw)
    finally:
        gc.unfreeze()
    return contents(out)


def parents(cells: list[str], res: int) -> list[str]:
    return [h3.cell_to_parent(c, res) for c in cells]


def split_communes(cells: Any, res: int) -> set[str]:
    """Communes whose households lie in more than one partition (from the cell table)."""
    seen: dict[str, set[str]] = {}
    codes = cells.column("commune_code").to_pylist()
    for code, parent in zip(
        codes, parents(cells.column("h3").to_pylist(), res), strict=True
    ):
        if code is not None:
            seen.setdefault(code, set()).add(parent)
    return {code for code, ps in seen.items() if len(ps) > 1}


def on_edge(cell: str, res: int) -> bool:
    """Whether a cell touches another partition (a neighbour with another parent)."""
    mine = h3.cell_to_parent(cell, res)
    return any(h3.cell_to_parent(n, res) != mine for n in h3.grid_disk(cell, 1))


@pytest.mark.parametrize("build", [build_mixed, build_vn2000], ids=["mixed", "vn2000"])
def test_oracle_worlds_partitioned_as_single(build: Any, tmp_path: Path) -> None:
    """Edge-case worlds (boundaries, overlaps, holes, a projected CRS), split at res 8."""
    (tmp_path / "world").mkdir()
    world = build(tmp_path / "world")
    single = run(world.manifest, tmp_path / "single", "single")
    local = run(
        world.manifest, tmp_path / "local", "local", partition={"resolution": 8}
    )
    assert_same(single, local)
    assert split_communes(local["cells.parquet"], 8)


def counts_region(folder: Path) -> Path:
    """The counts test region (fractional estimates) with a fibre route across it."""
    folder.mkdir()
    write_communes(folder / "communes.gpkg")
    write_counts(folder / "census.csv")
    write_density(folder / "pop.tif")
    route = shapely.LineString([(X0 - 300, Y0 + 150), (X0 + 8_300, Y0 + 3_700)])
    gpd.GeoDataFrame(geometry=[route], crs=UTM).to_file(folder / "route.geojson")
    layers = (
        '\n[[layers]]\nid = "route"\nkind = "fibre"\noperator = "VNPT"\n'
        'path = "route.geojson"\nservice_distance_m = 300\n'
    )
    households = (
        'counts = "census.csv"\ncode = "ma"\nhouseholds = "so_ho"\nspread = "pop.tif"'
    )
    return write_counts_manifest(folder, households, layers)


def covered_cells(cells: Any, column: str) -> list[str]:
    """The H3 cells of the cell table ``cells`` where ``column`` counts a household."""
    h3s, counts = cells.column("h3").to_pylist(), cells.column(column).to_pylist()
    return [c for c, n in zip(h3s, counts, strict=True) if n > 0]


def test_fractional_estimates_partitioned_as_single(tmp_path: Path) -> None:
    """Counts spread over pixels: fractional weights summed the same, to the last bit."""
    manifest = counts_region(tmp_path / "region")
    single = run(manifest, tmp_path / "single", "single")
    local = run(manifest, tmp_path / "local", "local", partition={"resolution": 8})
    assert_same(single, local)
    summary = json.loads(local["summary.json"])
    assert summary["counts_exact"] is False
    cells = local["cells.parquet"]
    assert split_communes(cells, 8)
    covered = covered_cells(cells, "layer_route_households")
    assert len(set(parents(covered, 8))) > 1  # the route crosses partitions
    assert any(on_edge(c, 8) for c in covered)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo generator's province, 3,000 weighted households, every layer kind."""
    from data import build_synthetic_region

    folder = tmp_path_factory.mktemp("demo")
    return Path(build_synthetic_region(folder / "region", seed=5, households=3000))


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A two-worker LocalCluster (processes) for the module's Dask runs."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local:  # type: ignore[no-untyped-call]
        with Client(local) as client:  # type: ignore[no-untyped-call]
            # what the workers import, then frozen (see run): kept out of the collections
            client.run(importlib.import_module, "app.engine")
            client.run(gc.freeze)
        yield str(local.scheduler_address)


def test_demo_local_and_dask_as_single(
    demo: Path, cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fibre areas, routes, splitters, rasters, a site list and measured tiles, at res 5.

    The households' Parquet table is read 700 rows at a time (five batches).
    """
    single = run(demo, tmp_path / "single", "single")
    monkeypatch.setattr("app.spill.BATCH", 700)
    local = run(demo, tmp_path / "local", "local", partition={"resolution": 5})
    dask = run(
        demo, tmp_path / "dask", "dask", scheduler=cluster, partition={"resolution": 5}
    )
    assert_same(single, local)
    assert_same(local, dask)
    # Drawn after the single pass, beside the local and the Dask partitions.
    drawn = layer_files(tmp_path / "single")
    assert any(name.endswith(".sites.geojson") for name in drawn)
    assert layer_files(tmp_path / "local") == drawn
    assert layer_files(tmp_path / "dask") == drawn
    cells = local["cells.parquet"]
    assert split_communes(cells, 5)
    routes = covered_cells(cells, "layer_viettel_fibre_routes_households")
    assert len(set(parents(routes, 5))) > 1
    assert any(on_edge(c, 5) for c in routes)
    assert json.loads(local["summary.json"])["counts_exact"] is True


def test_a_bad_batch_is_refused_as_the_single_pass_refuses_it(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-finite longitude in the third batch: the same one-line error, same row."""
    import shutil

    import pyarrow as pa

    from geodx.errors import GeodxError

    region = tmp_path / "region"
    shutil.copytree(demo.parent, region)
    table = pq.read_table(region / "households.parquet")
    lon = table.column("lon").to_pylist()
    lon[1500] = float("nan")
    index = table.schema.get_field_index("lon")
    table = table.set_column(index, "lon", pa.array(lon, type=pa.float64()))
    pq.write_table(table, region / "households.parquet")
    monkeypatch.setattr("app.spill.BATCH", 700)
    errors = []
    for engine in ("single", "local"):
        with pytest.raises(GeodxError) as got:
            run_region(region / "region.toml", tmp_path / engine, engine=engine)
        errors.append(str(got.value))
    assert errors[0] == errors[1]
    assert "row 1501" in errors[0]


def test_small_parent_cells_are_packed_and_the_outputs_stay_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolution chosen for the densest cell leaves small cells elsewhere: consecutive
    ones are joined up to the limit, and the outputs do not change."""
    from app import spill

    (tmp_path / "world").mkdir()
    world = build_mixed(tmp_path / "world")
    seen: dict[str, Any] = {}
    real = spill.pack_partitions

    def spy(parts: list[Any], max_points: int) -> list[Any]:
        out = real(parts, max_points)
        seen.update(before=len(parts), after=out, limit=max_points)
        seen["parents"] = [p.points for p in parts]
        return out

    monkeypatch.setattr(spill, "pack_partitions", spy)
    single = run(world.manifest, tmp_path / "single", "single")
    points = json.loads(single["summary.json"])["household_points"]
    local = run(
        world.manifest,
        tmp_path / "local",
        "local",
        partition={"max_points": max(2, points // 4)},
    )
    assert_same(single, local)
    after = seen["after"]
    assert 1 < len(after) < seen["before"]
    largest_parent = max(seen["parents"])
    assert all(p.points <= max(seen["limit"], largest_parent) for p in after)
    assert sum(p.points for p in after) == points

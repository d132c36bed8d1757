"""Serving a large region in bounded memory, on a small generated one with the bounds low.

- the cells collection served a page at a time (``api.lazycells``, forced on with
  ``LAZY_ABOVE = 0``) answers the same bytes as the full index, and its counts are the
  brute-force sums of ``cells.parquet`` under each cell;
- loading results, the tiled coverage map (``map_tiles_above=0``), tiles and the cells
  collection never sum the whole cell table when the run wrote its pyramid;
- the fast check of H3 ids is H3's own;
- ``/lookup`` prepared in a background thread answers as the region prepared at once;
- scenarios past ``scenarios_max_households`` are not prepared, and say so.
"""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h3
import orjson
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import app.live as live_module
from api.cells import cell_totals, cells_are_valid, resolution_for_at_most
from api.main import create_app
from api.results import load_results, valid_cells
from api.settings import Settings
from app.live import LiveRegion, PreparingRegion, open_live_region
from app.pipeline import RunResult, run_region
from app.scenario_store import open_scenarios
from geodx.errors import ServiceUnavailable
from tests.planning.region import Region, build

COUNTS = ("households", "fibre_households", "mobile_households", "mobile_5g_households")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    return build(tmp_path_factory.mktemp("scale-region"), n=900, seed=11)


@pytest.fixture(scope="module")
def run(region: Region, tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_region(region.folder, tmp_path_factory.mktemp("scale-out") / "out")


def _settings(run: RunResult, **extra: Any) -> Settings:
    return Settings(
        results_dir=run.out_dir, warm_maps=False, map_tiles_above=0, **extra
    )


def _client(run: RunResult, lazy_above: int) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(run))) as c:
        c.app.state.results.lazy_cells_above = lazy_above  # type: ignore[attr-defined]
        yield c


@pytest.fixture(scope="module")
def full(run: RunResult) -> Iterator[TestClient]:
    yield from _client(run, 10**9)


@pytest.fixture(scope="module")
def lazy(run: RunResult) -> Iterator[TestClient]:
    yield from _client(run, 0)


def _doc(client: TestClient, url: str) -> Any:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.text)
    doc = orjson.loads(answer.content)
    doc.pop("timeStamp", None)
    return doc


def _cells(run: RunResult) -> pd.DataFrame:
    return pd.read_parquet(load_results(run.out_dir).folder / "cells.parquet")


def test_lazy_cells_pages_are_the_full_indexs(
    run: RunResult, full: TestClient, lazy: TestClient
) -> None:
    cells = _cells(run)
    some = str(cells["h3"].iloc[len(cells) // 2])
    lat, lng = h3.cell_to_latlng(some)
    box = f"{lng - 0.01:.4f},{lat - 0.01:.4f},{lng + 0.01:.4f},{lat + 0.01:.4f}"
    urls = [
        "/collections/cells/items",
        "/collections/cells/items?limit=7&offset=3",
        f"/collections/cells/items?bbox={box}",
        f"/collections/cells/items?bbox={box}&resolution=8&limit=5",
        "/collections/cells/items?communes=2",
        "/collections/cells/items?fibre_pct=null&limit=1000",
        "/collections/cells/items?resolution=7",
        f"/collections/cells/items/{some}",
        f"/collections/cells/items/{h3.cell_to_parent(some, 8)}?resolution=8",
        "/collections",
        "/collections/cells",
    ]
    for url in urls:
        assert _doc(lazy, url) == _doc(full, url), url
    assert {7, 8, 9} <= set(lazy.app.state.results._lazy)  # type: ignore[attr-defined]
    assert not full.app.state.results._lazy  # type: ignore[attr-defined]
    for url in (
        "/collections/cells/items/8928308280fffff",
        "/collections/cells/items/x",
    ):
        assert lazy.get(url).status_code == full.get(url).status_code == 404
    bad = "/collections/cells/items?no_such_property=1"
    assert lazy.get(bad).status_code == full.get(bad).status_code == 400


def test_lazy_cells_hold_the_brute_force_sums(run: RunResult, lazy: TestClient) -> None:
    cells = _cells(run)
    for res in (9, 8):
        naive: dict[str, dict[str, int]] = {}
        for row in cells.to_dict("records"):
            acc = naive.setdefault(
                h3.cell_to_parent(row["h3"], res), dict.fromkeys(COUNTS, 0)
            )
            for col in COUNTS:
                acc[col] += int(row[col])
        doc = _doc(lazy, f"/collections/cells/items?resolution={res}&limit=1000")
        got = {
            f["id"]: {c: f["properties"][c] for c in COUNTS} for f in doc["features"]
        }
        assert doc["numberMatched"] == len(naive)
        assert got == naive


def test_serving_maps_tiles_and_cells_never_sums_the_whole_table(
    lazy: TestClient,
) -> None:
    results = lazy.app.state.results  # type: ignore[attr-defined]
    page = lazy.get("/maps/coverage?indicator=fibre")
    assert page.status_code == 200 and b"../tiles/" in page.content  # tiled
    for url in (
        "/tiles/cells/8/206/120.geojson",
        "/tiles/communes/8/206/120.mvt",
        "/collections/cells/items?limit=3",
        "/collections",
    ):
        assert lazy.get(url).status_code == 200, url
    assert results._cell_totals is None
    for most in (1, 4, 30, 300, 10**6):
        want = resolution_for_at_most(cell_totals(results.cells), most)
        assert results.resolution_for_at_most(most) == want, most


def test_resolution_for_at_most_without_a_pyramid(
    run: RunResult, tmp_path: Path
) -> None:
    folder = tmp_path / "old"
    shutil.copytree(load_results(run.out_dir).folder, folder)
    shutil.rmtree(folder / "pyramid")
    results = load_results(folder)
    for most in (1, 4, 30, 10**6):
        want = resolution_for_at_most(cell_totals(results.cells), most)
        assert results.resolution_for_at_most(most) == want


def test_the_fast_cell_check_is_h3s() -> None:
    rng = random.Random(7)
    cells = [
        h3.latlng_to_cell(
            rng.uniform(-89, 89), rng.uniform(-180, 180), rng.randint(0, 15)
        )
        for _ in range(3000)
    ]
    cells += [c for res in (0, 3, 9) for c in h3.get_pentagons(res)]
    flipped = [f"{int(c, 16) ^ (1 << rng.randrange(64)):015x}" for c in cells[:600]]
    odd = [cells[0].upper(), "0" + cells[1], "", "8" * 15, "89283082 0fffff"]
    assert valid_cells(pd.Series(cells, dtype=object))
    assert valid_cells(pd.Series(cells, dtype="str"))
    for extra in flipped + odd:
        values = pd.Series([*cells[:50], extra], dtype=object)
        assert valid_cells(values) == cells_are_valid(values), extra


def test_lookup_prepared_in_the_background(
    region: Region, run: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        results_dir=run.out_dir, region=region.folder, live_in_background=True
    )
    later = open_live_region(settings)
    assert isinstance(later, PreparingRegion)
    assert later.ready(60)
    now = LiveRegion.open(region.folder)
    for lon, lat in zip(region.lon[:25], region.lat[:25], strict=True):
        assert later.lookup(float(lon), float(lat)) == now.lookup(
            float(lon), float(lat)
        )
    # The preparation waits until the request is in the route (so it is routed before
    # the region is prepared, whatever the machine's speed, and FastAPI's lazy route
    # building never overlaps another thread's warning filters); the lookup waits for
    # it and answers as the region prepared at once.
    gate, opened = threading.Event(), live_module._open
    monkeypatch.setattr(live_module, "_open", lambda s: gate.wait(60) and opened(s))
    prepared: list[PreparingRegion] = []

    def service(s: Settings) -> PreparingRegion:
        prepared.append(PreparingRegion(s, wait_s=60))
        return prepared[0]

    app = create_app(
        settings.model_copy(update={"warm_maps": False}), services={"live": service}
    )
    with TestClient(app) as client:
        preparing = prepared[0]
        lookup = preparing.lookup
        seen: list[bool] = []

        def routed(lon: float, lat: float) -> dict[str, Any]:
            seen.append(preparing.ready())
            gate.set()
            return lookup(lon, lat)

        monkeypatch.setattr(preparing, "lookup", routed)
        answer = client.get(f"/lookup?lon={region.lon[0]}&lat={region.lat[0]}")
        assert seen == [False], "the request came after the region was prepared"
        assert answer.status_code == 200, answer.text
        assert answer.json() == now.lookup(float(region.lon[0]), float(region.lat[0]))


def test_lookup_while_preparing_past_its_wait_is_a_503(
    region: Region, run: RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, opened = threading.Event(), live_module._open
    monkeypatch.setattr(live_module, "_open", lambda s: gate.wait(60) and opened(s))
    settings = Settings(results_dir=run.out_dir, region=region.folder)
    preparing = PreparingRegion(settings, wait_s=0.01)
    try:
        with pytest.raises(ServiceUnavailable, match="still being prepared"):
            preparing.lookup(float(region.lon[0]), float(region.lat[0]))
    finally:
        gate.set()
    assert preparing.ready(60)
    lon, lat = float(region.lon[0]), float(region.lat[0])
    assert preparing.lookup(lon, lat) == LiveRegion.open(region.folder).lookup(lon, lat)


def test_scenarios_past_the_household_bound_are_not_prepared(
    region: Region, run: RunResult, tmp_path: Path
) -> None:
    settings = Settings(
        results_dir=run.out_dir,
        region=region.folder,
        state_dir=tmp_path,
        scenarios_max_households=1,
    )
    store = open_scenarios(settings)
    assert store is not None
    with pytest.raises(ServiceUnavailable, match="not supported yet for a region of"):
        store.baseline(0)

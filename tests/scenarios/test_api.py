"""``POST /scenarios``: keys, limits, rate, equality with a full run, any worker, its map."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from app.scenario_store import open_scenarios

from .conftest import Region
from .region import body

# The full runs draw map layers (layers/mapdraw.py), whose warp of a site prediction in
# a thread now and then warns NotGeoreferencedWarning (rasterio's in-memory dataset);
# not a figure of the outputs compared here.
# FastAPI 0.165 builds each route's parameters lazily, on a first request; a Query
# shared by two routes (api/routes/items.py OffsetQ) now and then warns pydantic's
# UnsupportedFieldAttributeWarning there, whichever request comes first.
pytestmark = [
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
    pytest.mark.filterwarnings(
        "ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"
    ),
]

KEY = "k-8e1f=+/"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def world(region: Region) -> dict[str, Path]:
    """The shared region: its manifest, baseline results and the line layer's full run."""
    return {
        "root": region.root,
        "manifest": region.manifest,
        "out": region.out,
        "full": region.full_run(["new-route"]),
    }


def _settings(world: dict[str, Path], **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "results_dir": world["out"],
        "region": world["manifest"],
        "api_keys": [KEY, "another"],
        "state_dir": world["root"] / "state",
        "warm_maps": False,
        **extra,
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def client(world: dict[str, Path]) -> Iterator[TestClient]:
    app = create_app(_settings(world), services={"scenarios": open_scenarios})
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def created(client: TestClient) -> dict[str, Any]:
    done = client.post(
        "/scenarios", json=body("VNPT route", ["new-route"]), headers=AUTH
    )
    assert done.status_code == 201, done.text
    answer: dict[str, Any] = done.json()
    assert done.headers["location"].endswith(f"/scenarios/{answer['id']}")
    return answer


def test_created_scenario_equals_a_full_run(
    created: dict[str, Any], world: dict[str, Path]
) -> None:
    full = world["full"]
    communes = json.loads((full / "communes.geojson").read_text(encoding="utf-8"))
    assert created["communes"] == [f["properties"] for f in communes["features"]]
    summary = json.loads((full / "summary.json").read_text(encoding="utf-8"))
    assert set(created["summary"]) == set(summary)
    for key, value in summary.items():
        if key != "inputs":
            assert created["summary"][key] == value, key
    roles = [e["role"] for e in created["summary"]["inputs"]]
    assert roles == [e["role"] for e in summary["inputs"]]
    assert created["synthetic"] is summary["synthetic"]
    assert created["layers"] == ["new-route"]
    assert created["diff"] and all(d["changed"] for d in created["diff"])


def test_get_from_another_worker(
    created: dict[str, Any], world: dict[str, Path]
) -> None:
    app = create_app(_settings(world), services={"scenarios": open_scenarios})
    with TestClient(app) as other:
        got = other.get(f"/scenarios/{created['id']}")
        assert got.status_code == 200
        assert got.json() == created
        page = other.get(f"/scenarios/{created['id']}/map?indicator=fibre")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        cells = other.get(f"/scenarios/{created['id']}/coverage/cells?indicator=fibre")
        assert cells.status_code == 200
        assert cells.json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}],
)
def test_writes_need_a_valid_key(client: TestClient, headers: dict[str, str]) -> None:
    got = client.post("/scenarios", json=body("x", ["new-route"]), headers=headers)
    assert got.status_code == 401
    assert got.headers["www-authenticate"].startswith("Bearer")
    assert KEY not in got.text


def _bad(name: str) -> dict[str, Any]:
    doc = body(name, ["new-area <x>"])
    return doc


def _set_geometry(doc: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    doc["layers"][0]["features"]["features"][0]["geometry"] = geometry
    return doc


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
CASES_422 = {
    "self-intersecting": lambda: _set_geometry(_bad("x"), BOWTIE),
    "latitude 95": lambda: _set_geometry(
        _bad("x"), {"type": "Point", "coordinates": [108.0, 95.0]}
    ),
    "open ring": lambda: _set_geometry(
        _bad("x"), {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0]]]}
    ),
    "geometry collection": lambda: _set_geometry(
        _bad("x"), {"type": "GeometryCollection", "geometries": []}
    ),
    "duplicate ids": lambda: {
        "name": "x",
        "layers": body("x", ["new-route"])["layers"] * 2,
    },
    "id of a region layer": lambda: {
        "name": "x",
        "layers": [{**body("x", ["new-route"])["layers"][0], "id": "vnpt-fibre"}],
    },
    "mobile lines": lambda: {
        "name": "x",
        "layers": [
            {
                **body("x", ["new-route"])["layers"][0],
                "kind": "mobile",
                "technology": "4G",
                "service_distance_m": None,
            }
        ],
    },
    "a path": lambda: {
        "name": "x",
        "layers": [{**body("x", ["new-route"])["layers"][0], "path": "/etc/passwd"}],
    },
    "4G with a typo": lambda: {
        "name": "x",
        "layers": [{**body("x", ["new-5g"])["layers"][0], "technology": "6G"}],
    },
    "measured": lambda: {
        "name": "x",
        "layers": [{**body("x", ["new-5g"])["layers"][0], "kind": "measured"}],
    },
}


@pytest.fixture(scope="module")
def lenient(world: dict[str, Path]) -> Iterator[TestClient]:
    """A worker with small size limits and no rate to speak of."""
    settings = _settings(
        world,
        scenario_max_body_bytes=20_000,
        scenario_max_features=6,
        scenario_max_vertices=40,
        scenario_max_layers=2,
        scenario_rate_per_minute=1e6,
        scenario_burst=1000,
        state_dir=world["root"] / "state-lenient",
    )
    app = create_app(settings, services={"scenarios": open_scenarios})
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize("case", CASES_422)
def test_bad_layers_are_422(
    lenient: TestClient, world: dict[str, Path], case: str
) -> None:
    got = lenient.post("/scenarios", json=CASES_422[case](), headers=AUTH)
    assert got.status_code == 422, (case, got.text)
    assert "\n" not in got.json()["detail"]
    assert str(world["root"]) not in got.text  # no server paths in messages


def test_sizes_past_the_limits_are_413(lenient: TestClient) -> None:
    c = lenient
    many = body("x", ["new-route", "new-area <x>", "new-5g"])
    got = c.post("/scenarios", json=many, headers=AUTH)
    assert got.status_code == 413 and "layers" in got.json()["detail"]
    features = body("x", ["new-route"])
    features["layers"][0]["features"]["features"] *= 3
    got = c.post("/scenarios", json=features, headers=AUTH)
    assert got.status_code == 413 and "features" in got.json()["detail"]
    vertices = body("x", ["new-5g", "new-area <x>"])
    got = c.post("/scenarios", json=vertices, headers=AUTH)
    assert got.status_code == 413 and "vertices" in got.json()["detail"]
    huge = orjson.dumps({"name": "x" * 30_000, "layers": []})
    got = c.post("/scenarios", content=huge, headers=AUTH)
    assert got.status_code == 413 and "20,000" in got.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: read as a stream
        for _ in range(100):
            yield b" " * 1000

    got = c.post("/scenarios", content=chunks(), headers=AUTH)
    assert got.status_code == 413


def test_past_the_rate_is_429_with_retry_after(world: dict[str, Path]) -> None:
    settings = _settings(
        world,
        scenario_burst=2,
        scenario_rate_per_minute=1,
        state_dir=world["root"] / "state-rate",
    )
    # two workers whose scenario service is never reached: bad bodies stop before it
    stub = {"scenarios": lambda _: object()}
    apps = [create_app(settings, services=stub) for _ in "ab"]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        # bad bodies still take a token: two from one worker, the third from another
        for c in (first, first):
            assert c.post("/scenarios", json={}, headers=AUTH).status_code == 422
        got = second.post("/scenarios", json={}, headers=AUTH)
        assert got.status_code == 429
        assert 1 <= int(got.headers["retry-after"]) <= 60
        other = {"Authorization": "Bearer another"}  # another key, its own bucket
        assert second.post("/scenarios", json={}, headers=other).status_code == 422


@pytest.mark.parametrize(
    "scenario_id", ["..%2Fx", "..%2F..%2Fout", "ABCDEF0123456789", "x"]
)
def test_ids_are_checked_before_the_disk(
    client: TestClient, scenario_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def touched(*_: Any, **__: Any) -> None:
        raise AssertionError("the disk was touched")

    for name in ("read_bytes", "is_file", "exists", "stat", "open"):
        monkeypatch.setattr(pathlib.Path, name, touched)
    got = client.get(f"/scenarios/{scenario_id}")
    monkeypatch.undo()
    assert got.status_code == 404
    assert client.get(f"/scenarios/{scenario_id}/map").status_code == 404


def test_unknown_scenario_is_404(client: TestClient) -> None:
    assert client.get("/scenarios/0123456789abcdef").status_code == 404


def test_503_without_a_region(world: dict[str, Path]) -> None:
    app = create_app(
        _settings(world, region=None), services={"scenarios": open_scenarios}
    )
    with TestClient(app) as c:
        got = c.post("/scenarios", json=body("x", ["new-route"]), headers=AUTH)
        assert got.status_code == 503
        assert c.get("/scenarios/0123456789abcdef").status_code == 404


ORIGIN = "http://geodx.test"  # answered by the app itself: no request leaves it
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


def test_chromium_draws_the_scenario_map(
    browser: Any, client: TestClient, created: dict[str, Any]
) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    seen: dict[str, list[str]] = {"requests": [], "errors": []}

    def serve(route: Any) -> None:
        url = route.request.url
        seen["requests"].append(url)
        if not url.startswith(ORIGIN + "/"):
            route.abort()
            return
        answer = client.get(url.removeprefix(ORIGIN))
        route.fulfill(
            status=answer.status_code, headers=dict(answer.headers), body=answer.content
        )

    page.route("**/*", serve)
    page.add_init_script(WATCH_CSP)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text)
            if m.type == "error" else None)  # fmt: skip
    try:
        page.goto(f"{ORIGIN}/scenarios/{created['id']}/map", wait_until="load")
        page.wait_for_selector(".leaflet-interactive", timeout=10_000)
        assert page.locator(".leaflet-interactive").count() >= 4  # the communes
        assert all(url.startswith(ORIGIN + "/") for url in seen["requests"])
        assert seen["errors"] == [] and page.evaluate("window.__csp") == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "scenario-map.png"))
        # a click on a commune opens its page in the scenario, figures and back link
        page.locator(".leaflet-interactive").first.click()
        page.wait_for_url("**/communes/**", timeout=10_000)
        page.wait_for_selector(".leaflet-interactive", timeout=10_000)
        assert seen["errors"] == [] and page.evaluate("window.__csp") == []
        assert all(url.startswith(ORIGIN + "/") for url in seen["requests"])
        page.screenshot(path=str(SHOTS / "scenario-commune.png"))
    finally:
        page.close()


def test_scenarios_are_listed_newest_first_and_the_oldest_dropped(
    world: dict[str, Path],
) -> None:
    settings = _settings(
        world,
        scenarios_kept=2,
        scenario_burst=100,
        state_dir=world["root"] / "state-kept",
    )
    app = create_app(settings, services={"scenarios": open_scenarios})
    with TestClient(app) as c:
        ids = []
        for name in ("first", "second", "third"):
            done = c.post("/scenarios", json=body(name, ["new-area <x>"]), headers=AUTH)
            assert done.status_code == 201, done.text
            ids.append(done.json()["id"])
        listed = c.get("/scenarios").json()["scenarios"]
        assert [s["id"] for s in listed] == ids[:0:-1]
        assert [s["name"] for s in listed] == ["third", "second"]
        assert c.get(f"/scenarios/{ids[0]}").status_code == 404
        assert c.get(f"/scenarios/{ids[2]}").json()["name"] == "third"


def test_503_when_the_served_results_are_of_other_inputs(
    world: dict[str, Path],
) -> None:
    """Results of another manifest (the line layer's run): the diff would lie."""
    settings = _settings(
        world, results_dir=world["full"], state_dir=world["root"] / "state-stale"
    )
    app = create_app(settings, services={"scenarios": open_scenarios})
    with TestClient(app) as c:
        got = c.post("/scenarios", json=body("x", ["new-route"]), headers=AUTH)
    assert got.status_code == 503
    assert "out of date" in got.json()["detail"]


def test_a_region_that_cannot_be_read_is_503_and_the_worker_starts(
    world: dict[str, Path],
) -> None:
    settings = _settings(
        world,
        region=world["root"] / "no-such-region",
        state_dir=world["root"] / "state-missing",
    )
    app = create_app(settings, services={"scenarios": open_scenarios})
    with TestClient(app) as c:
        got = c.post("/scenarios", json=body("x", ["new-route"]), headers=AUTH)
        assert got.status_code == 503
        assert "region cannot be read" in got.json()["detail"]
        assert c.get("/scenarios").json() == {"scenarios": []}
        assert c.get("/healthz").status_code == 200

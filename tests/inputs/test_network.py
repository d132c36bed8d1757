"""B4: no request leaves the process while inputs are read (GDAL network off)."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pyogrio
import pytest
import rasterio

import geodx.io  # noqa: F401 - importing it turns GDAL's network off
from geodx.errors import GeodxError, ManifestError
from geodx.gdal import lock_down
from geodx.io import read_vector
from geodx.manifest import load_manifest


class _Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "FeatureCollection", "features": []}')

    do_HEAD = do_GET

    def log_message(self, *_: object) -> None:
        """Quiet."""


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request; ``no_proxy`` lets curl at it."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    hits: list[str] = []
    handler = type("Canary", (_Canary,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_canary_answers_when_asked(canary: tuple[str, list[str]]) -> None:
    import urllib.request

    url, hits = canary
    with urllib.request.urlopen(f"{url}/ping", timeout=5) as reply:  # noqa: S310
        assert reply.status == 200
    assert hits == ["/ping"]


def test_a_geojson_crs_link_is_never_fetched(
    tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    url, hits = canary
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": f"{url}/crs", "type": "proj4"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"a": 1},
                "geometry": {"type": "Point", "coordinates": [108.0, 12.6]},
            }
        ],
    }
    path = tmp_path / "fibre.geojson"
    path.write_text(json.dumps(doc))
    with contextlib.suppress(GeodxError):  # refusing is fine too; fetching is not
        read_vector(path, role="layer 'fibre'")
    assert hits == []


@pytest.mark.parametrize("scheme", ["/vsicurl/", "/vsicurl_streaming/", ""])
def test_gdal_urls_are_never_fetched(
    canary: tuple[str, list[str]], scheme: str
) -> None:
    url, hits = canary
    for opener in (pyogrio.read_info, rasterio.open):
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure will do
            opener(f"{scheme}{url}/x.geojson")
    assert hits == []


def test_lock_down_covers_every_gdal_in_the_process() -> None:
    libraries = lock_down()
    assert any("pyogrio" in lib for lib in libraries), libraries
    assert any("rasterio" in lib for lib in libraries), libraries


@pytest.mark.parametrize(
    "raw",
    [
        "/vsicurl/http://127.0.0.1:9/communes.geojson",
        "/vsizip//tmp/x.zip/communes.shp",
        "data/../vsimem/communes.gpkg",
        "http://127.0.0.1:9/communes.geojson",
        "ftp://example.org/communes.geojson",
        "GPKG:communes.gpkg:xa",
    ],
)
def test_the_manifest_refuses_urls_and_vsi_paths(
    tmp_path: Path, raw: str, canary: tuple[str, list[str]]
) -> None:
    _, hits = canary
    (tmp_path / "households.csv").write_text("lon,lat\n108.01,12.61\n")
    (tmp_path / "region.toml").write_text(
        f'[region]\nh3_resolution = 9\n[communes]\npath = "{raw}"\n'
        '[households]\npath = "households.csv"\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert "[communes]" in message and "'path'" in message
    assert hits == []


def test_geodx_run_never_reaches_the_canary(
    tmp_path: Path, canary: tuple[str, list[str]]
) -> None:
    """End to end: a fibre layer whose GeoJSON names a CRS by a URL on the canary."""
    import os
    import subprocess
    import sys

    url, hits = canary
    region = tmp_path / "region"
    region.mkdir()
    square = [[108.0, 12.6], [108.02, 12.6], [108.02, 12.62], [108.0, 12.62]]
    feature = {
        "type": "Feature",
        "properties": {"commune_code": "24001", "commune_name": "Xã A"},
        "geometry": {"type": "Polygon", "coordinates": [[*square, square[0]]]},
    }
    (region / "communes.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]})
    )
    fibre = {
        "type": "FeatureCollection",
        "crs": {"type": "link", "properties": {"href": f"{url}/crs", "type": "proj4"}},
        "features": [{**feature, "properties": {}}],
    }
    (region / "fibre.geojson").write_text(json.dumps(fibre))
    (region / "households.csv").write_text("lon,lat\n108.01,12.61\n")
    (region / "region.toml").write_text(
        '[region]\nh3_resolution = 9\n[communes]\npath = "communes.geojson"\n'
        '[households]\npath = "households.csv"\n'
        '[[layers]]\nid = "fibre"\nkind = "fibre"\npath = "fibre.geojson"\n',
        encoding="utf-8",
    )
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "no_proxy": "127.0.0.1"}
    subprocess.run(
        [sys.executable, "-m", "app", "run", str(region), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=repo, env=env, check=False,
    )  # fmt: skip
    assert hits == []


def test_importing_geodx_io_turns_the_network_off() -> None:
    import subprocess
    import sys

    code = (
        "import os, geodx.io; "
        "assert os.environ['CPL_VSIL_CURL_ALLOWED_FILENAME'].startswith('/geodx'); "
        "assert os.environ['PROJ_NETWORK'] == 'OFF'; "
        "from geodx.gdal import _CALLBACKS; assert len(_CALLBACKS) >= 2, _CALLBACKS"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)

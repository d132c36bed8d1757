"""Real clients against a live server on 127.0.0.1: GDAL's OGC API driver, Chromium."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(results_dir: Path) -> Iterator[str]:
    """The app under uvicorn in a child process (GDAL holds the GIL while it fetches).

    Small pages (2, at most 3 features) so clients must follow ``next`` links.
    """
    port = free_port()
    env = {**os.environ, "GEODX_RESULTS_DIR": str(results_dir), "GEODX_DEFAULT_LIMIT": "2",
           "GEODX_MAX_LIMIT": "3"}  # fmt: skip
    cmd = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# GDAL runs in a child process: geodx turns GDAL's network access off for its own
# process (geodx.gdal.lock_down, on importing geodx.io), which a test may have done.
GDAL_READ = """import sys, pyogrio
print("\\n".join(name for name, _ in pyogrio.list_layers(sys.argv[1])))
pyogrio.read_dataframe(sys.argv[1], layer=sys.argv[2]).drop(columns="geometry")\\
    .to_parquet(sys.argv[3])"""


def gdal_read(server: str, layer: str, tmp: Path) -> tuple[set[str], pd.DataFrame]:
    """GDAL's OGC API - Features driver reading ``layer``: the layers, the table."""
    from geodx.gdal import NETWORK_OFF

    env = {k: v for k, v in os.environ.items() if k not in NETWORK_OFF}
    out = tmp / f"{layer}.parquet"
    cmd = [sys.executable, "-c", GDAL_READ, f"OAPIF:{server}/", layer, str(out)]
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split()), pd.read_parquet(out)


def test_gdal_reads_every_commune_with_the_same_figures(
    server: str, results_dir: Path, tmp_path: Path
) -> None:
    layers, got = gdal_read(server, "communes", tmp_path)
    assert {"communes", "districts", "cells", "gaps"} <= layers
    doc = json.loads((results_dir / "communes.geojson").read_text(encoding="utf-8"))
    want = pd.DataFrame([f["properties"] for f in doc["features"]])
    assert list(got["commune_code"]) == list(want["commune_code"])
    assert list(got["commune_name"]) == list(want["commune_name"])  # exact Vietnamese
    for col in (
        "households",
        "fibre_households",
        "fibre_gap_households",
        "mobile_households",
    ):
        assert list(got[col]) == list(want[col])
    for col in ("fibre_pct", "mobile_pct", "layer_viettel_4g_pct"):
        np.testing.assert_array_equal(
            got[col].to_numpy(float), want[col].to_numpy(float)
        )


def test_gdal_reads_every_cell(server: str, results_dir: Path, tmp_path: Path) -> None:
    _, got = gdal_read(server, "cells", tmp_path)
    cells = pd.read_parquet(results_dir / "cells.parquet")
    totals = cells.groupby("h3")[["households", "fibre_households"]].sum()
    assert sorted(got["h3"]) == sorted(totals.index)
    got = got.set_index("h3").loc[totals.index]
    assert (got["households"].to_numpy() == totals["households"].to_numpy()).all()
    assert (
        got["fibre_households"].to_numpy() == totals["fibre_households"].to_numpy()
    ).all()


# Decodes the screenshot in the page itself (no imaging library needed here) and
# returns how many distinct colours a sample of its pixels has, and how many are red.
COUNT_COLOURS = """async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.width; canvas.height = img.height;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height).data;
    const seen = new Set(); let red = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (i % 28 === 0) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        if (d[i] > 150 && d[i + 1] < 110) red++;
    }
    return [seen.size, red];
}"""


@pytest.mark.parametrize(
    "path",
    [
        "/maps/coverage?indicator=fibre",
        "/maps/coverage?indicator=mobile",
        "/maps/coverage?indicator=mobile_5g",
        "/maps/communes/24133",
        "/?f=html",
        "/docs",
    ],
)
def test_chromium_renders_maps_offline(server: str, browser: Any, path: str) -> None:
    outside: list[str] = []
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        page.on(
            "request",
            lambda r: None if r.url.startswith(server) else outside.append(r.url),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" else None
        )
        page.goto(server + path, wait_until="load", timeout=30_000)
        shot = page.screenshot()
        polygons = page.locator("path.leaflet-interactive").count()
        colours, red = page.evaluate(COUNT_COLOURS, base64.b64encode(shot).decode())
    finally:
        page.close()
    assert outside == [] and errors == []
    assert colours > 20, "the screenshot is (nearly) blank"
    if path.startswith("/maps"):
        assert polygons > 0, "no polygon was drawn"
        assert red > 500, "no commune or cell is drawn in the 'below target' reds"

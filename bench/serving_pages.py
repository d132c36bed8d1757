"""Serving a region as a user does: ``geodx serve``, then every kind of page, timed.

    python -m bench.serving --serve REGION RESULTS [--serve REGION2 RESULTS2] [--workers 2]

For each region, ``geodx serve REGION --out RESULTS --workers N`` is started as a child
process (results current: nothing is recomputed) and measured from the outside:

- start-up: launch to the first 200 on ``/summary``, and to every worker's
  "Application startup complete";
- RSS of each worker (psutil over the process tree) once all have started, and after
  every page was fetched; the CPU seconds of ``geodx serve`` and each worker at the
  first 200 and once all have started;
- every page, cold then warm on one keep-alive connection (so the same worker):
  seconds, bytes (decoded) and bytes on the wire (``Accept-Encoding: gzip``), and the
  largest worker's RSS after it (MiB: what each kind of page leaves behind).

The pages: the coverage map, a commune's map for the commune with the most and with
the fewest households, the search list, the OGC collections' first pages (communes,
districts, cells, gaps), the gap tables (JSON, CSV, XLSX), tiles of both layers at
z 5, 8 and 11 over the biggest commune, a lookup at its busiest cell, its brief and
plan, and the province plan. Printed as one table, the regions side by side.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import h3
import httpx
import mercantile
import pandas as pd
import psutil

from bench.runner import REPO

GEODX = Path(sys.executable).with_name("geodx")
READY = "Application startup complete"
START_TIMEOUT_S = 900.0
TILE_ZOOMS = (5, 8, 11)


@dataclass
class Page:
    """One page fetched cold, then warm on the same connection."""

    label: str
    url: str
    status: int = 0
    cold_s: float = 0.0
    warm_s: float = 0.0
    bytes: int = 0
    wire: int = 0
    rss_mib: float = 0.0  # the largest worker's RSS once it was fetched twice


@dataclass
class Served:
    """One region served: start-up, workers' RSS, pages."""

    name: str
    first_200_s: float = 0.0
    all_workers_s: float = 0.0
    rss_started_mib: list[float] = field(default_factory=list)
    cpu_started_s: list[float] = field(default_factory=list)  # serve, then each worker
    cpu_first_s: list[float] = field(default_factory=list)  # the same at the first 200
    rss_after_mib: list[float] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pick(results: Path) -> dict[str, Any]:
    """The communes and places the pages ask for, from the results' cell table."""
    from geodx.outdir_snapshot import snapshot

    root = snapshot(results).path
    cells = pd.read_parquet(
        root / "cells.parquet", columns=["h3", "commune_code", "households"]
    )
    cells = cells[cells["commune_code"].notna()]
    per = cells.groupby("commune_code")["households"].sum()
    per = per[per > 0]
    big, small = str(per.idxmax()), str(per.idxmin())
    own = cells[cells["commune_code"] == big]
    busiest = own["h3"].to_numpy()[int(own["households"].to_numpy().argmax())]
    lat, lon = h3.cell_to_latlng(str(busiest))
    return {"big": big, "small": small, "lon": lon, "lat": lat, "root": root}


def page_list(p: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, URL) of every page measured."""
    big, small = p["big"], p["small"]
    pages = [
        ("summary", "/summary"),
        ("map: coverage", "/maps/coverage?indicator=fibre"),
        ("map: coverage hexagons", "/maps/coverage/cells?indicator=fibre"),
        ("map: commune, most households", f"/maps/communes/{big}"),
        ("map: commune, fewest households", f"/maps/communes/{small}"),
        ("communes search", "/communes?q=xa"),
        ("commune report", f"/communes/{big}"),
        ("items: communes (100)", "/collections/communes/items"),
        ("items: communes (1000)", "/collections/communes/items?limit=1000"),
        ("items: districts", "/collections/districts/items"),
        ("items: cells (100)", "/collections/cells/items"),
        ("items: gaps fibre (100)", "/collections/gaps/items?indicator=fibre"),
        ("gaps JSON", "/gaps?indicator=fibre"),
        ("gaps CSV", "/gaps?indicator=fibre&format=csv"),
        ("gaps XLSX", "/gaps?indicator=fibre&format=xlsx"),
    ]
    for z in TILE_ZOOMS:
        t = mercantile.tile(p["lon"], p["lat"], z)
        for layer in ("communes", "cells"):
            pages.append((f"tile {layer} z{z} (map JSON)",
                          f"/tiles/{layer}/{z}/{t.x}/{t.y}.geojson"))  # fmt: skip
        pages.append((f"tile cells z{z} (MVT)", f"/tiles/cells/{z}/{t.x}/{t.y}.mvt"))
    pages += [
        ("lookup", f"/lookup?lon={p['lon']:.6f}&lat={p['lat']:.6f}"),
        ("brief", f"/communes/{big}/brief"),
        ("plan: commune", f"/communes/{big}/plan?indicator=fibre"),
        ("plan: province", "/plan?indicator=fibre"),
    ]
    return pages


def _workers(proc: psutil.Process) -> list[psutil.Process]:
    found = []
    for child in proc.children(recursive=True):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _rss_mib(proc: psutil.Process) -> list[float]:
    out = []
    for p in _workers(proc) or [proc]:
        try:
            out.append(p.memory_info().rss / 2**20)
        except psutil.Error:
            continue
    return sorted(out, reverse=True)


def _cpu_s(proc: psutil.Process) -> list[float]:
    out = []
    for p in [proc, *_workers(proc)]:
        try:
            t = p.cpu_times()
            out.append(t.user + t.system)
        except psutil.Error:
            continue
    return out


def _fetch(client: httpx.Client, url: str) -> tuple[int, float, int, int]:
    start = time.perf_counter()
    answer = client.get(url, headers={"Accept-Encoding": "gzip"})
    took = time.perf_counter() - start
    return answer.status_code, took, len(answer.content), answer.num_bytes_downloaded


def _wait_ready(
    proc: subprocess.Popen[bytes],
    err: IO[bytes],
    base: str,
    workers: int,
    started: float,
    got: Served,
) -> tuple[float, float]:
    first = 0.0
    tree = psutil.Process(proc.pid)
    while time.perf_counter() - started < START_TIMEOUT_S:
        if proc.poll() is not None:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"geodx serve exited {proc.returncode}: {' | '.join(tail)}"
            )
        if not first:
            try:
                if httpx.get(f"{base}/summary", timeout=5).status_code == 200:
                    first = time.perf_counter() - started
                    got.cpu_first_s = _cpu_s(tree)
            except httpx.HTTPError:
                pass
        err.seek(0)
        if first and err.read().decode(errors="replace").count(READY) >= workers:
            return first, time.perf_counter() - started
        time.sleep(0.05)
    raise RuntimeError(f"geodx serve not ready after {START_TIMEOUT_S:.0f} s")


def serve(name: str, region: Path, results: Path, workers: int) -> Served:
    """Start ``geodx serve``, measure it, stop it."""
    places = pick(results)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [str(GEODX), "serve", str(region), "--out", str(results)]
    cmd += ["--port", str(port), "--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    got = Served(name)
    # appended to (O_APPEND): the child's writes never land where this process
    # seeks to read them back (a shared offset lost lines, so a start was never seen)
    with tempfile.TemporaryFile(mode="a+b") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            got.first_200_s, got.all_workers_s = _wait_ready(
                proc, err, base, workers, started, got
            )
            tree = psutil.Process(proc.pid)
            got.rss_started_mib = _rss_mib(tree)
            got.cpu_started_s = _cpu_s(tree)
            with httpx.Client(base_url=base, timeout=600) as client:
                for label, url in page_list(places):
                    status, cold, size, wire = _fetch(client, url)
                    _, warm, _, _ = _fetch(client, url)
                    rss = max(_rss_mib(tree), default=0.0)
                    page = Page(label, url, status, cold, warm, size, wire, rss)
                    got.pages.append(page)
            got.rss_after_mib = _rss_mib(tree)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return got


def _mib(values: list[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values) or "-"


def _cell(page: Page | None) -> str:
    if page is None:
        return f"{'':>38}"
    if page.status != 200:
        return f"{'HTTP ' + str(page.status):>38}"
    return (f"{page.cold_s:7.2f} {page.warm_s:6.3f} {page.bytes / 1e6:8.3f} "
            f"{page.wire / 1e6:7.3f} {page.rss_mib:6.0f}")  # fmt: skip


def report(runs: list[Served]) -> str:
    """The regions side by side: start-up, RSS per worker, then page by page."""
    head = "".join(f" | {r.name[:38]:^38}" for r in runs)
    sub = "".join(
        f" | {'cold s':>7} {'warm s':>6} {'MB':>8} {'wire MB':>7} {'RSS':>6}"
        for _ in runs
    )
    lines = [f"{'':34}{head}", f"{'':34}{sub}"]
    for label, key in (("first 200 on /summary, s", "first_200_s"),
                       ("all workers started, s", "all_workers_s")):  # fmt: skip
        lines.append(
            f"{label:34}" + "".join(f" | {getattr(r, key):>38.2f}" for r in runs)
        )
    for label, key in (("CPU s at first 200: serve/workers", "cpu_first_s"),
                       ("CPU s at start: serve/workers", "cpu_started_s")):  # fmt: skip
        lines.append(f"{label:34}" + "".join(
            f" | {'/'.join(f'{v:.1f}' for v in getattr(r, key)) or '-':>38}"
            for r in runs
        ))  # fmt: skip
    for label, key in (("RSS per worker started, MiB", "rss_started_mib"),
                       ("RSS per worker after pages, MiB", "rss_after_mib")):  # fmt: skip
        lines.append(
            f"{label:34}" + "".join(f" | {_mib(getattr(r, key)):>38}" for r in runs)
        )
    labels = list(dict.fromkeys(p.label for r in runs for p in r.pages))
    for label in labels:
        cells = [next((p for p in r.pages if p.label == label), None) for r in runs]
        lines.append(f"{label[:34]:34}" + "".join(f" | {_cell(c)}" for c in cells))
    return "\n".join(lines)

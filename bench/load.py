"""Load test of the service on loopback: requests per second and p50/p99 latency.

    .venv/bin/python -m bench.load                      # 200k-household demo, 10 s each
    .venv/bin/python -m bench.load --duration 5 --connections 50 --workers 1
    .venv/bin/python -m bench.load --results some/results/folder
    .venv/bin/python -m bench.load --only-compare       # before/after figures only

Then the figures of issue 6 beside those of the commit before it (``bench.load_compare``).

For each endpoint the same bytes are also fetched once, written to a folder and served
as a static file by the same uvicorn process (a Starlette ``StaticFiles`` mount), so the
table shows what the endpoint costs above sending bytes. The load comes from ``wrk``
(Debian package) when installed, else from an asyncio httpx client; either way it goes
to 127.0.0.1 only and stops after ``--duration`` seconds (the httpx client also after
``--max-requests``). On a 2-core machine the load generator shares the CPU with the
server: figures are a floor, not a capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "results" / "load"
STATIC_PREFIX = "/bench-static"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    static_name: str


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def prepare_results(households: int, seed: int) -> Path:
    """Build the demo region and compute it, unless current results are there."""
    from app.pipeline import results_are_current, run_region
    from data import build_synthetic_region

    region_dir = WORK / f"region-{households}-{seed}"
    out_dir = WORK / f"out-{households}-{seed}"
    manifest = region_dir / "region.toml"
    if not manifest.is_file():
        print(f"building the demo region ({households} households) …", flush=True)
        build_synthetic_region(region_dir, seed=seed, households=households)
    if not results_are_current(manifest, out_dir):
        print("computing coverage …", flush=True)
        run_region(manifest, out_dir)
    return out_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_child(results: str, static: str, port: int, workers: int) -> None:
    """Child process: the app plus a static mount of the same bytes (see ``app_factory``)."""
    import uvicorn

    os.environ["GEODX_RESULTS_DIR"] = results
    # no background rendering while measuring: save_bytes renders every map first
    os.environ["GEODX_WARM_MAPS"] = "false"
    os.environ["GEODX_BENCH_STATIC"] = static
    uvicorn.run(
        "bench.load:app_factory",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


def app_factory() -> object:
    """The geodx app with ``/bench-static`` serving the saved response bytes."""
    from fastapi.staticfiles import StaticFiles

    from api.main import create_app

    app = create_app()
    app.mount(STATIC_PREFIX, StaticFiles(directory=os.environ["GEODX_BENCH_STATIC"]))
    return app


def start_server(
    results: Path, static: Path, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = (
        "import sys; from bench.load import serve_child; "
        "serve_child(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))"
    )
    cmd = [
        sys.executable,
        "-c",
        code,
        str(results),
        str(static),
        str(port),
        str(workers),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during startup")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start within 120 s")


def save_bytes(base: str, endpoints: list[Endpoint], static: Path) -> dict[str, int]:
    """Fetch each endpoint once (this also warms its caches) and save the body."""
    sizes = {}
    with httpx.Client(base_url=base, timeout=300) as client:
        for indicator in ("fibre", "mobile", "mobile_5g"):  # render every map now
            client.get(f"/maps/coverage?indicator={indicator}").raise_for_status()
        for ep in endpoints:
            r = client.get(ep.path)
            r.raise_for_status()
            (static / ep.static_name).write_bytes(r.content)
            sizes[ep.name] = len(r.content)
    return sizes


WRK_LINE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$")
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, connections: int, duration: float) -> Figures:
    """``wrk --latency`` for ``duration`` seconds; parse requests and percentiles."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           "--timeout", "10s", url]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=duration + 60
    )
    pct = {}
    for line in out.stdout.splitlines():
        m = WRK_LINE.match(line)
        if m:
            pct[m.group(1)] = float(m.group(2)) * UNITS[m.group(3)]
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out.stdout)  # fmt: skip
    if done is None or "50" not in pct or "99" not in pct:
        raise SystemExit(f"could not read wrk's output:\n{out.stdout}")
    secs = float(done.group(2)) / (1000.0 if done.group(3) == "ms" else 1.0)
    n_err = int(errors.group(1)) if errors else 0
    n_err += sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    return Figures(int(done.group(1)), secs, pct["50"], pct["99"], n_err)


async def _httpx_load(url: str, connections: int, duration: float, cap: int) -> Figures:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections
    )
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop and len(latencies) + errors < cap:
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                    await r.aread()
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Figures(len(latencies), seconds, q[49], q[98], errors)


def run_httpx(url: str, connections: int, duration: float, cap: int) -> Figures:
    """The asyncio httpx client (when wrk is not installed)."""
    return asyncio.run(_httpx_load(url, connections, duration, cap))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--results", type=Path, help="serve this results folder instead"
    )
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="httpx client cap"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="uvicorn worker processes (default: as geodx serve, one per core)",
    )
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--before", default=None, help="commit of the before column")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per before/after figure"
    )
    parser.add_argument("--compare-duration", type=float, default=8.0,
                        help="seconds per before/after run")  # fmt: skip
    parser.add_argument("--map-connections", type=int, default=8)
    parser.add_argument(
        "--no-compare", action="store_true", help="no before/after table"
    )
    parser.add_argument("--only-compare", action="store_true", help="only that table")
    args = parser.parse_args(argv)

    results = args.results or prepare_results(args.households, args.seed)
    if not args.only_compare:
        endpoint_table(args, results)
    if not args.no_compare:
        from bench.load_compare import BEFORE_REF, CompareArgs, compare

        options = CompareArgs(args.workers, args.connections, args.map_connections,
                              args.compare_duration, args.repeat)  # fmt: skip
        compare(results, args.before or BEFORE_REF, options)
    return 0


def endpoint_table(args: argparse.Namespace, results: Path) -> None:
    """Each endpoint against the same bytes served as a static file."""
    static = WORK / "static"
    static.mkdir(parents=True, exist_ok=True)
    from api.results import load_results

    west, south, east, north = load_results(results).cells_index().extent or [
        0,
        0,
        1,
        1,
    ]
    # a window of about a twentieth of the region's width, in its middle
    cx, cy, dx, dy = (
        (west + east) / 2,
        (south + north) / 2,
        (east - west) / 40,
        (north - south) / 40,
    )
    bbox = f"{cx - dx:.5f},{cy - dy:.5f},{cx + dx:.5f},{cy + dy:.5f}"
    endpoints = [
        Endpoint("communes items (100)", "/collections/communes/items?limit=100", "communes.json"),
        Endpoint("cells items bbox (100)", f"/collections/cells/items?bbox={bbox}&limit=100",
                 "cells.json"),
        Endpoint("maps/coverage", "/maps/coverage?indicator=fibre", "map.html"),
    ]  # fmt: skip
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))

    def load(url: str) -> Figures:
        if use_wrk:
            return run_wrk(url, args.connections, args.duration)
        return run_httpx(url, args.connections, args.duration, args.max_requests)

    proc, base = start_server(results, static, args.workers)
    try:
        sizes = save_bytes(base, endpoints, static)
        rows = []
        for ep in endpoints:
            for kind, path in (
                ("app", ep.path),
                ("static", f"{STATIC_PREFIX}/{ep.static_name}"),
            ):
                print(f"  {ep.name} [{kind}] …", flush=True)
                rows.append((ep.name, kind, sizes[ep.name], load(base + path)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    client = "wrk -t2" if use_wrk else "httpx asyncio"
    print(f"\n{args.connections} connections, {args.duration:g} s per run, {client}, "
          f"uvicorn workers={args.workers}, results={results}")  # fmt: skip
    head = f"{'endpoint':<24} {'served as':<9} {'bytes':>9} {'req/s':>8} {'p50 ms':>8} "
    print(head + f"{'p99 ms':>8} {'errors':>6}")
    for name, kind, size, fig in rows:
        print(f"{name:<24} {kind:<9} {size:>9,} {fig.rps:>8.0f} {fig.p50_ms:>8.1f} "
              f"{fig.p99_ms:>8.1f} {fig.errors:>6}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

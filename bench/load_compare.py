"""Before / after figures of the service (issue 6): ``python -m bench.load`` prints them.

The same results are served by this tree's ``geodx serve`` (``app.serve``) and by the
server of the commit before the issue's work (``BEFORE_REF``, unpacked with ``git
archive`` into ``bench/results/load/`` and run from there), one after the other, with
the same workers. For each: the coverage map's bytes on the wire (``Accept-Encoding:
gzip``), ``/gaps?format=xlsx`` requests per second, and ``/healthz`` latency probed from
another process while every commune's map (more pages than any cache holds) is under
load. Medians of ``--repeat`` runs; written to ``bench/results/load/service.json``.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.load import ROOT, WORK, Figures, free_port, run_httpx

# The commit before issue 6's work: the "before" column.
BEFORE_REF = "09fd46c"

AFTER_SERVER = (
    "import sys; from pathlib import Path; from app.serve import pin, serve_snapshot; "
    "serve_snapshot(pin(Path(sys.argv[1])), host='127.0.0.1', port=int(sys.argv[2]), "
    "workers=int(sys.argv[3]))"
)
# One /healthz at a time on a new connection (as a load balancer probes), every 20 ms.
PROBE = """import json, sys, time, httpx
url, stop, out = sys.argv[1], time.monotonic() + float(sys.argv[2]), []
while time.monotonic() < stop:
    t0 = time.perf_counter()
    try:
        ok = httpx.get(url, timeout=60).status_code == 200
    except httpx.HTTPError:
        ok = False
    out.append((time.perf_counter() - t0) * 1000 if ok else -1.0)
    time.sleep(0.02)
print(json.dumps(out))"""


def before_tree(ref: str) -> Path | None:
    """The source tree at ``ref`` (``git archive``, once); None without git history."""
    tree = WORK / f"before-{ref}"
    if not (tree / "api" / "main.py").is_file():
        try:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref],
                                     check=True, capture_output=True).stdout  # fmt: skip
        except (OSError, subprocess.CalledProcessError):
            print(f"  no git history holding {ref}: no before column", flush=True)
            return None
        tree.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def start_service(
    results: Path, workers: int, tree: Path | None
) -> tuple[subprocess.Popen[bytes], str]:
    """``geodx serve``'s server on ``results``: this tree's, or the one at ``tree``."""
    port = free_port()
    env = {**os.environ, "GEODX_WARM_MAPS": "false"}
    if tree is None:
        cmd = [
            sys.executable,
            "-c",
            AFTER_SERVER,
            str(results),
            str(port),
            str(workers),
        ]
        cwd = ROOT
    else:  # the old tree's own code, as its geodx serve started it
        env.update(PYTHONPATH=str(tree), GEODX_RESULTS_DIR=str(results.resolve()))
        cmd = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
        cwd = tree
    quiet = subprocess.DEVNULL  # access log and warnings
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=quiet, stderr=quiet)
    return proc, wait_for(proc, f"http://127.0.0.1:{port}")


def wait_for(proc: subprocess.Popen[bytes], base: str) -> str:
    """``base`` once its /healthz answers (the child must stay alive meanwhile)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during startup")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start within 120 s")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wire_bytes(base: str, path: str) -> tuple[int, int]:
    """Bytes a browser receives for ``path`` (``Accept-Encoding: gzip``), and decoded."""
    headers = {"accept-encoding": "gzip"}
    with httpx.stream("GET", base + path, headers=headers, timeout=300) as r:
        r.raise_for_status()
        raw = b"".join(r.iter_raw())
        decoded = r.headers.get("content-encoding") == "gzip"
    return len(raw), len(gzip.decompress(raw)) if decoded else len(raw)


async def _cycle_load(urls: list[str], connections: int, duration: float) -> Figures:
    """``connections`` clients taking the next of ``urls`` in turn (gzip, not decoded)."""
    latencies: list[float] = []
    errors = 0
    turn = itertools.cycle(urls)
    stop = time.perf_counter() + duration
    headers = {"accept-encoding": "gzip"}
    async with httpx.AsyncClient(timeout=120, headers=headers) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    async with client.stream("GET", next(turn)) as r:
                        async for _ in r.aiter_raw():
                            pass
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
    return _figures(latencies, seconds, errors)


def _figures(latencies: list[float], seconds: float, errors: int) -> Figures:
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    if len(latencies) == 1:
        q = latencies * 99
    return Figures(len(latencies), seconds, q[49], q[98], errors)


def probe_health(base: str, duration: float) -> Figures:
    """/healthz probed alone (no other load): the floor of the figure below."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, base + "/healthz", str(duration)],
        capture_output=True, check=True, timeout=duration + 120,
    )  # fmt: skip
    samples = json.loads(done.stdout)
    ok = [x for x in samples if x >= 0]
    return _figures(ok, duration, len(samples) - len(ok))


def maps_with_health(
    base: str, urls: list[str], connections: int, duration: float
) -> tuple[Figures, Figures]:
    """Map pages under load and, meanwhile, /healthz probed from another process."""
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, base + "/healthz", str(duration)],
        stdout=subprocess.PIPE,
    )
    maps = asyncio.run(_cycle_load(urls, connections, duration))
    out, _ = probe.communicate(timeout=duration + 120)
    samples = json.loads(out)
    ok = [x for x in samples if x >= 0]
    return maps, _figures(ok, duration, len(samples) - len(ok))


def map_urls(results: Path) -> list[str]:
    """Every commune's map for every indicator: more pages than any cache holds."""
    doc = json.loads((results / "communes.geojson").read_text(encoding="utf-8"))
    codes = [str(f["properties"]["commune_code"]) for f in doc["features"]]
    return [f"/maps/communes/{c}?indicator={i}"
            for i in ("fibre", "mobile", "mobile_5g") for c in codes]  # fmt: skip


@dataclass(frozen=True)
class CompareArgs:
    workers: int
    connections: int
    map_connections: int
    duration: float
    repeat: int


def service_figures(base: str, results: Path, a: CompareArgs) -> dict[str, float]:
    """The issue-6 figures of one server: medians of ``a.repeat`` runs."""
    wire, size = wire_bytes(base, "/maps/coverage?indicator=fibre")
    xlsx_url = base + "/gaps?indicator=fibre&format=xlsx"
    urls = [base + u for u in map_urls(results)]
    xlsx, maps, health, idle = [], [], [], []
    for _ in range(a.repeat):
        idle.append(probe_health(base, min(a.duration, 3.0)))
        xlsx.append(run_httpx(xlsx_url, a.connections, a.duration, 10**9))
        m, h = maps_with_health(base, urls, a.map_connections, a.duration)
        maps.append(m)
        health.append(h)
    med = statistics.median
    return {
        "map_page_bytes": size,
        "map_page_wire_bytes": wire,
        "xlsx_rps": med(f.rps for f in xlsx),
        "xlsx_p99_ms": med(f.p99_ms for f in xlsx),
        "maps_under_load_rps": med(f.rps for f in maps),
        "healthz_p99_ms_idle": med(f.p99_ms for f in idle),
        "healthz_p50_ms_maps_under_load": med(f.p50_ms for f in health),
        "healthz_p99_ms_maps_under_load": med(f.p99_ms for f in health),
        "healthz_errors": med(f.errors for f in health),
    }


COMPARE_ROWS = [
    ("map page /maps/coverage, bytes decoded", "map_page_bytes", "{:,.0f}"),
    ("map page bytes on the wire (gzip)", "map_page_wire_bytes", "{:,.0f}"),
    ("/gaps?format=xlsx req/s", "xlsx_rps", "{:,.0f}"),
    ("/gaps?format=xlsx p99 ms", "xlsx_p99_ms", "{:,.1f}"),
    ("commune map pages/s under load", "maps_under_load_rps", "{:,.1f}"),
    ("/healthz p99 ms, nothing else", "healthz_p99_ms_idle", "{:,.1f}"),
    ("/healthz p50 ms, maps under load", "healthz_p50_ms_maps_under_load", "{:,.1f}"),
    ("/healthz p99 ms, maps under load", "healthz_p99_ms_maps_under_load", "{:,.1f}"),
    ("/healthz failed probes", "healthz_errors", "{:,.0f}"),
]


def compare(results: Path, ref: str, a: CompareArgs) -> dict[str, dict[str, float]]:
    """The same figures from the server at ``ref`` and from this tree's, one run each."""
    out: dict[str, dict[str, float]] = {}
    before = before_tree(ref)
    runs = [(f"before ({ref})", before)] if before is not None else []
    for label, tree in [*runs, ("after", None)]:
        print(f"  service figures, {label} …", flush=True)
        proc, base = start_service(results, a.workers, tree)
        try:
            out[label] = service_figures(base, results, a)
        finally:
            stop_service(proc)
    (WORK / "service.json").write_text(json.dumps(out, indent=1) + "\n")
    labels = list(out)
    print(f"\nissue 6 figures: medians of {a.repeat} runs of {a.duration:g} s; xlsx with "
          f"{a.connections} connections; {len(map_urls(results))} commune map pages "
          f"cycled by {a.map_connections} connections while one /healthz at a time "
          f"probes (new connection each, every 20 ms); uvicorn workers={a.workers}")  # fmt: skip
    print(f"{'figure':<40} " + " ".join(f"{x:>16}" for x in labels))
    for title, key, fmt in COMPARE_ROWS:
        cells = " ".join(f"{fmt.format(out[x][key]):>16}" for x in labels)
        print(f"{title:<40} {cells}")
    return out

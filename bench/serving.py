"""What one worker costs to serve a results folder: inlined maps against tiled maps.

    python -m bench.serving RESULTS_DIR [--repeat 3] [--zoom 9]
    python -m bench.serving --serve REGION RESULTS [--serve REGION RESULTS] [--workers 2]

The second form (:mod:`bench.serving_pages`) serves each region with ``geodx serve`` as a
user does and prints start-up, RSS per worker and every page cold and warm, the regions
side by side (say, the national region beside the 1M one). The first form:

Each mode runs in a fresh interpreter (``--child``), ``--repeat`` times; medians:

- ``inline`` (the baseline, the service before tiles): the coverage map inlines every
  commune, its hexagon layer is one JSON of every cell, and the finest cells collection
  is pre-serialised at start-up (what ``RegionResults`` did);
- ``tiled``: the map draws communes and hexagons from ``/tiles`` (``map_tiles_above=0``),
  nothing per cell is pre-serialised.

Printed per mode: start-up (interpreter start to the results loaded), RSS after
start-up and the peak, the cold coverage page (seconds, bytes, gzip bytes on the wire),
then its hexagons: the whole layer (inline) or every tile at ``--zoom`` over the
region (tiled), seconds and gzip bytes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

MODES = ("inline", "tiled")


def _rss_mb() -> tuple[float, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return (
        int(fields["VmRSS"].split()[0]) / 1024,
        int(fields["VmHWM"].split()[0]) / 1024,
    )


def _get(client: Any, url: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    answer = client.get(url, headers={"Accept-Encoding": "gzip"})
    took = time.perf_counter() - start
    assert answer.status_code == 200, (url, answer.status_code)
    wire = int(answer.headers.get("content-length", len(answer.content)))
    return took, len(answer.content), wire


def child(mode: str, folder: Path, zoom: int, started: float) -> dict[str, Any]:
    """One worker's figures (run in a fresh interpreter)."""
    import mercantile
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    above = 0 if mode == "tiled" else 10**9
    settings = Settings(results_dir=folder, warm_maps=False, map_tiles_above=above)
    with TestClient(create_app(settings)) as client:
        results = client.app.state.results  # type: ignore[attr-defined]
        if mode == "inline":
            results.full_cells_index()  # what every worker pre-serialised before tiles
        out: dict[str, Any] = {"startup_s": time.time() - started}
        out["rss_mb"], _ = _rss_mb()
        out["page_s"], out["page_bytes"], out["page_wire"] = _get(
            client, "/maps/coverage?indicator=fibre"
        )
        if mode == "inline":
            took, _, wire = _get(client, "/maps/coverage/cells?indicator=fibre")
        else:
            west, south, east, north = json.loads(
                client.get("/tiles/cells.json").content
            )["bounds"]
            took, wire = 0.0, 0
            for t in mercantile.tiles(west, south, east, north, [zoom]):
                s, _, w = _get(client, f"/tiles/cells/{zoom}/{t.x}/{t.y}.geojson")
                took, wire = took + s, wire + w
        out["hexagons_s"], out["hexagons_wire"] = took, wire
        _, out["peak_mb"] = _rss_mb()
    return out


def _run(mode: str, folder: Path, zoom: int) -> dict[str, Any]:
    started = time.time()
    args = [sys.executable, "-m", "bench.serving", str(folder), "--child", mode]
    args += ["--zoom", str(zoom), "--started", repr(started)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse the arguments; print both modes' medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--serve", nargs=2, action="append", type=Path, default=[],
                        metavar=("REGION", "RESULTS"))  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--zoom", type=int, default=9)
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--started", type=float, default=0.0)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.zoom, args.started)))
        return
    if args.serve:
        _serve_pages(args.serve, args.workers)
        return
    if args.folder is None:
        parser.error("give a RESULTS_DIR, or --serve REGION RESULTS")
    print(f"{'mode':8} {'start s':>8} {'RSS MB':>8} {'peak MB':>8} {'page s':>7} "
          f"{'page MB':>8} {'wire MB':>8} {'hex s':>7} {'hex wire MB':>11}")  # fmt: skip
    for mode in MODES:
        runs = [_run(mode, args.folder, args.zoom) for _ in range(args.repeat)]
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{mode:8} {m['startup_s']:8.2f} {m['rss_mb']:8.0f} {m['peak_mb']:8.0f} "
              f"{m['page_s']:7.2f} {m['page_bytes'] / 1e6:8.2f} "
              f"{m['page_wire'] / 1e6:8.3f} {m['hexagons_s']:7.2f} "
              f"{m['hexagons_wire'] / 1e6:11.3f}")  # fmt: skip


def _serve_pages(pairs: list[list[Path]], workers: int) -> None:
    from bench.serving_pages import report, serve

    runs = []
    for region, results in pairs:
        folder = region.parent if region.suffix == ".toml" else region
        runs.append(serve(folder.resolve().name, region, results, workers))
        print(f"{runs[-1].name}: served and measured", file=sys.stderr, flush=True)
    print(report(runs))
    out = Path("bench/results/serving.json")
    if out.parent.is_dir():
        out.write_text(json.dumps([asdict(r) for r in runs], indent=2) + "\n")


if __name__ == "__main__":
    main()

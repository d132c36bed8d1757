"""The commune brief's render time, beside the commune's JSON report and map page.

    python -m bench.brief [--results DIR] [--communes 50] [--repeat 3]

Serves a results folder (default ``build/demo-out``, the output of ``make run``; when it
is missing, a small synthetic region is generated and run into ``build/bench-brief``)
in-process and asks, for each of ``--communes`` communes, ``--repeat`` times:

- **brief**: ``GET /communes/{code}/brief`` (HTML with the SVG map, plan and method);
- **report** (baseline): ``GET /communes/{code}``, the same figures as JSON;
- **map** (baseline): ``GET /maps/communes/{code}``, the commune's Leaflet map page.

Prints the median and 95th percentile per request of each, in milliseconds, and the
brief's size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

DEFAULT_RESULTS = Path("build/demo-out")
FALLBACK = Path("build/bench-brief")
PATHS = {
    "brief": "/communes/{code}/brief",
    "report": "/communes/{code}",
    "map": "/maps/communes/{code}",
}


def results_folder(given: Path | None) -> Path:
    """The results to serve: ``given``, the demo's, or a small region run now."""
    if given is not None:
        return given
    if (DEFAULT_RESULTS / "communes.geojson").exists():
        return DEFAULT_RESULTS
    from app.pipeline import run_region
    from data import build_synthetic_region

    manifest = build_synthetic_region(FALLBACK / "region", seed=7, households=20_000)
    run_region(manifest, FALLBACK / "out")
    return FALLBACK / "out"


def measure(
    client: TestClient, codes: list[str], repeat: int
) -> dict[str, list[float]]:
    """Seconds per request of each path, every commune ``repeat`` times."""
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    for code in codes:  # warm: first renders, plan table, template
        for path in PATHS.values():
            assert client.get(path.format(code=code)).status_code == 200
    for _ in range(repeat):
        for code in codes:
            for name, path in PATHS.items():
                start = time.perf_counter()
                response = client.get(path.format(code=code))
                times[name].append(time.perf_counter() - start)
                assert response.status_code == 200, (path, response.status_code)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    """Print the brief's render time beside its baselines."""
    p = argparse.ArgumentParser(prog="python -m bench.brief")
    p.add_argument("--results", type=Path)
    p.add_argument("--communes", type=int, default=50)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    folder = results_folder(args.results)
    doc = json.loads((folder / "communes.geojson").read_text(encoding="utf-8"))
    codes = [f["properties"]["commune_code"] for f in doc["features"]][: args.communes]
    settings = Settings(results_dir=folder, warm_maps=False)
    with TestClient(create_app(settings)) as client:
        times = measure(client, codes, args.repeat)
        size = len(client.get(PATHS["brief"].format(code=codes[0])).content)
    print(f"commune brief, {len(codes)} communes x {args.repeat} ({folder})")
    print(f"{'request':<8} {'median ms':>10} {'p95 ms':>8}")
    for name, values in times.items():
        ms_median, ms_p95 = statistics.median(values) * 1e3, p95(values) * 1e3
        print(f"{name:<8} {ms_median:>10.1f} {ms_p95:>8.1f}")
    print(f"brief size: {size / 1024:.0f} KiB (uncompressed)")


if __name__ == "__main__":
    main()

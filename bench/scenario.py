"""A what-if scenario against a full re-run with the new layer in the manifest.

    python -m bench.scenario [--region DIR] [--repeat 3]

- **geodx**: the baseline prepared once (what each ``geodx serve`` worker holds,
  :func:`app.scenarios.prepare_baseline`), then a scenario adding one fibre route
  layer: the new layer answered on the kept households, the run's fold and writer
  (:func:`app.scenarios.write_scenario`);
- **full re-run**: ``geodx run`` of the region's manifest with the same layer added
  (:func:`app.pipeline.run_region`), what answering the question costs without it.

Both write the four outputs; their ``communes.geojson`` are checked to be equal before
anything is printed. Medians of ``--repeat`` runs, seconds, in the same process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping

from app.pipeline import run_region
from app.scenarios import added_layers, prepare_baseline, write_scenario
from geodx.io import read_communes
from geodx.manifest import load_layers_file, load_manifest

DEMO_REGION = Path("build/demo")
FULL_MANIFEST = ".bench-scenario.toml"  # beside the region's own, removed afterwards


def route_layer(region: Path, folder: Path, *, seed: int = 8) -> tuple[str, Path]:
    """A new fibre route (5 lines of 30 vertices over the region): its TOML and path."""
    manifest = load_manifest(region)
    communes = read_communes(manifest.communes).to_crs(4326)
    west, south, east, north = communes.total_bounds
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(5):
        x = np.cumsum(rng.normal(0, (east - west) / 60, 30)) + rng.uniform(west, east)
        y = np.cumsum(rng.normal(0, (north - south) / 60, 30)) + rng.uniform(
            south, north
        )
        lines.append(shapely.LineString(np.c_[x, y]))
    features = [
        {"type": "Feature", "geometry": mapping(g), "properties": {}} for g in lines
    ]
    path = folder / "bench_route.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    text = (
        f'\n[[layers]]\nid = "bench-route"\nkind = "fibre"\noperator = "VNPT"\n'
        f'path = "{path}"\nservice_distance_m = 250\n'
    )
    toml = folder / "bench_route.toml"
    toml.write_text(text, encoding="utf-8")
    return text, toml


def median_s(call: Any, repeat: int) -> float:
    """The median of ``repeat`` timed calls, in seconds."""
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Print the scenario's time beside a full re-run's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", type=Path, default=DEMO_REGION)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    manifest_path = load_manifest(args.region).path
    full = manifest_path.parent / FULL_MANIFEST
    with tempfile.TemporaryDirectory(prefix="geodx-bench-scenario-") as tmp:
        scratch = Path(tmp)
        text, toml = route_layer(args.region, scratch)
        full.write_text(manifest_path.read_text(encoding="utf-8") + text, "utf-8")
        try:
            start = time.perf_counter()
            baseline = prepare_baseline(load_manifest(args.region))
            prepared = time.perf_counter() - start
            combined = load_layers_file(baseline.manifest, toml)
            added = added_layers(baseline, combined)

            def scenario(i: int) -> None:
                (scratch / f"s{i}").mkdir()
                write_scenario(baseline, combined, added, scratch / f"s{i}")

            def rerun(i: int) -> None:
                run_region(full, scratch / f"full{i}")

            geodx = median_s(scenario, args.repeat)
            naive = median_s(rerun, args.repeat)
        finally:
            full.unlink(missing_ok=True)
        got, want = (
            json.loads((scratch / name / "communes.geojson").read_bytes())
            for name in ("s0", "full0")
        )
        assert got == want, "the scenario differs from the full re-run"
    households = len(baseline.overlay.households)
    print(f"scenario on {args.region} ({households:,} household points), one fibre "
          f"route of 5 x 30 vertices added; medians of {args.repeat}:")  # fmt: skip
    print(f"  geodx scenario (baseline kept)   {geodx:8.2f} s")
    print(f"  full re-run with the layer       {naive:8.2f} s   ({naive / geodx:.1f}x)")
    print(f"  baseline preparation (once per worker, at start-up) {prepared:.2f} s")


if __name__ == "__main__":
    main()

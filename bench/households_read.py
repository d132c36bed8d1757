"""`python -m bench.households_read`: splitting a households CSV, in batches or whole.

The bench's generated region (`bench.region.ensure_region`, 10M households by default)
has its households as lon/lat Parquet; they are written once as a CSV beside it. Each
run splits that CSV into partition files (`app.spill.spill_households`, as `geodx run`
does first) in a child process:

- `batches`: today's reader (`app.batches`, pyarrow's streaming CSV reader);
- `whole`: what the split did before, the whole file read by
  `geodx.io.read_households`, then split from memory.

Printed, medians over `--repeat` runs: wall and CPU seconds, and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.measure import Measured, measure, median
from bench.region import ensure_region

MODES = ("whole", "batches")


def ensure_csv(region: Path) -> Path:
    """The region's households as a CSV (lon, lat, households), written once."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = region / "households.csv"
    source = region / "households.parquet"
    if not path.exists() or path.stat().st_mtime < source.stat().st_mtime:
        table = pq.read_table(source, columns=["lon", "lat", "households"])
        part = path.with_suffix(".csv.part")
        pacsv.write_csv(table, part)
        part.replace(path)
    return path


def child(mode: str, path: Path) -> None:
    """Split ``path`` into partition files in a temporary folder."""
    import numpy as np
    import shapely

    from app.spill import spill_households
    from geodx.io import read_communes, read_households
    from geodx.limits import DEFAULT_LIMITS
    from geodx.manifest import load_manifest
    from geodx.manifest_specs import HouseholdsSpec

    manifest = load_manifest(path.parent / "region.toml")
    communes = read_communes(manifest.communes)
    box = shapely.total_bounds(np.asarray(communes.to_crs(4326).geometry.values))
    bounds = (float(box[0]), float(box[1]), float(box[2]), float(box[3]))
    spec = HouseholdsSpec(path=path, weight="households")
    source = spec if mode == "batches" else read_households(spec)
    with tempfile.TemporaryDirectory(dir=path.parent.parent) as folder:
        spilled = spill_households(
            source, Path(folder), h3_resolution=manifest.h3_resolution,
            region_bounds=bounds if mode == "batches" else None,
            limits=DEFAULT_LIMITS,
        )  # fmt: skip
    print(f"{mode}: {spilled.points:,} points, {len(spilled.partitions)} partitions")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.households_read")
    parser.add_argument("--households", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CSV"))
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    region = ensure_region(args.households)
    path = ensure_csv(region.parent if region.is_file() else region)
    size = path.stat().st_size / 2**20
    print(f"{path} ({size:,.0f} MiB), split into partition files")
    print(f"{'reader':>8} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}")
    got: dict[str, Measured] = {}
    for mode in MODES:
        cmd = [sys.executable, "-m", "bench.households_read", "--child", mode]
        runs = [measure([*cmd, str(path)]) for _ in range(args.repeat)]
        m = got[mode] = median(runs)
        print(f"{mode:>8} {m.wall_s:>7.2f} {m.cpu_s:>7.2f} {m.peak_mib:>9.0f}")
    ratio = got["batches"].peak_mib / got["whole"].peak_mib
    print(f"peak RSS batches / whole = {ratio:.2f}x")


if __name__ == "__main__":
    main()

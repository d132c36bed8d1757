"""Households from counts: geodx's spread against a naive per-pixel loop.

    python -m bench.spread [--households 1000000] [--repeat 3] [--naive-sample 2000]

The bench region's counts variant (`geodx demo --households counts`: households per
commune, spread over the households' own density raster) at ``--households``. Two ways,
medians of ``--repeat`` runs:

- **geodx**: :func:`geodx.counts.estimate_households` (reads the counts table and the
  raster's valid pixels, assigns the pixel centres to communes with the STRtree of
  :func:`geodx.coverage.assign_communes`, weighs them);
- **naive**: every pixel > 0 tested against every commune in code order with shapely's
  ``covers`` (the first that covers it takes it), timed on a sample of pixels and scaled
  to all of them.

The sample's communes are checked to agree before anything is printed; the spread's
communes are checked to hold their counts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from pyproj import CRS

from bench.region import ensure_region
from geodx.counts import estimate_households
from geodx.io import read_communes
from geodx.limits import DEFAULT_LIMITS
from geodx.manifest import load_manifest
from geodx.manifest_specs import CountsSpec
from geodx.spread import Spread

UTM_49N = CRS.from_epsg(32649)
DEFAULT_SAMPLE = 2_000


@dataclass(frozen=True)
class SpreadFigures:
    """What ``python -m bench.spread`` measured."""

    households: float
    communes: int
    pixels: int  # valid pixels > 0 of the raster
    points: int  # household points of the spread
    repeat: int
    geodx_s: float
    naive_sample: int
    naive_s: float  # on the sample

    @property
    def naive_full_s(self) -> float:
        return self.naive_s * self.pixels / self.naive_sample


def positive_pixels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the pixels with a value > 0, read plainly (no window, no budget)."""
    with rasterio.open(path) as src:
        values = src.read(1, masked=True)
        rows, cols = np.nonzero(~np.ma.getmaskarray(values) & (values.data > 0))
        x, y = src.transform * (cols + 0.5, rows + 0.5)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def naive(
    x: np.ndarray, y: np.ndarray, codes: list[str], geoms: list[object]
) -> list[str]:
    """Each pixel centre's commune: the first (smallest code) that covers it, or ''."""
    out = []
    for px, py in zip(x.tolist(), y.tolist(), strict=True):
        point = shapely.Point(px, py)
        out.append(
            next((c for c, g in zip(codes, geoms, strict=True) if g.covers(point)), "")
        )
    return out


def check(spread: Spread, communes: object, counts: dict[str, float]) -> None:
    """Every commune with a count holds it, to float rounding."""
    codes = np.asarray(communes["commune_code"])  # type: ignore[index]
    held = np.bincount(
        spread.commune, weights=spread.points.weight, minlength=len(codes)
    )
    for code, total in zip(codes.tolist(), held.tolist(), strict=True):
        if abs(total - counts.get(code, 0.0)) > 1e-6 * max(1.0, total):
            raise SystemExit(
                f"commune {code}: spread {total} != count {counts.get(code)}"
            )


def check_sample(
    spread: Spread,
    x: np.ndarray,
    y: np.ndarray,
    naive_codes: list[str],
    codes: np.ndarray,
) -> None:
    """geodx's commune of each sampled pixel centre equals the naive one."""
    px, py = spread.points.x, spread.points.y
    where = {
        (round(a, 9), round(b, 9)): codes[i]
        for a, b, i in zip(
            px.tolist(), py.tolist(), spread.commune.tolist(), strict=True
        )
    }
    for a, b, want in zip(x.tolist(), y.tolist(), naive_codes, strict=True):
        got = where.get((round(a, 9), round(b, 9)), "")
        if got != want:
            raise SystemExit(f"pixel at {a}, {b}: geodx says {got!r}, naive {want!r}")


def measure(
    households: int, repeat: int, naive_sample: int, *, region: Path | None = None
) -> SpreadFigures:
    """Build (or reuse) the counts region, time both ways, check them.

    ``region``: a counts region's ``region.toml`` to use instead of the bench's own.
    """
    manifest = load_manifest(region or ensure_region(households, counts=True))
    spec = manifest.households
    assert isinstance(spec, CountsSpec) and spec.spread is not None
    communes = read_communes(manifest.communes, limits=DEFAULT_LIMITS)
    seconds, spread, matched = [], None, None
    for _ in range(repeat):
        start = time.perf_counter()
        spread, matched = estimate_households(
            spec, communes, utm=UTM_49N, limits=DEFAULT_LIMITS
        )
        seconds.append(time.perf_counter() - start)
    assert spread is not None and matched is not None
    codes = np.asarray(communes["commune_code"])
    check(
        spread,
        communes,
        dict(zip(codes.tolist(), np.nan_to_num(matched.count).tolist(), strict=True)),
    )
    x, y = positive_pixels(spec.spread)
    pick = np.random.default_rng(3).choice(
        len(x), min(naive_sample, len(x)), replace=False
    )
    geoms = list(communes.geometry.values)
    naive_times, naive_codes = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        naive_codes = naive(x[pick], y[pick], codes.tolist(), geoms)
        naive_times.append(time.perf_counter() - start)
    check_sample(spread, x[pick], y[pick], naive_codes, codes)
    return SpreadFigures(
        households=float(np.nansum(matched.count)),
        communes=len(communes),
        pixels=len(x),
        points=len(spread.points.x),
        repeat=repeat,
        geodx_s=statistics.median(seconds),
        naive_sample=len(pick),
        naive_s=statistics.median(naive_times),
    )


def lines(f: SpreadFigures) -> list[str]:
    """The figures as a small markdown table."""
    return [
        f"Spread of {f.households:,.0f} households counted per commune over "
        f"{f.pixels:,} density pixels > 0 ({f.communes} communes; {f.points:,} "
        f"household points); medians of {f.repeat} runs:",
        "",
        "| way | timed on | seconds | at full size (s) |",
        "|---|---|---|---|",
        f"| geodx (`estimate_households`) | {f.pixels:,} pixels | {f.geodx_s:.3f} | {f.geodx_s:.2f} |",
        f"| naive (`covers` per pixel per commune) | {f.naive_sample:,} pixels | {f.naive_s:.3f} | {f.naive_full_s:.2f} † |",
        "",
        f"† scaled from the sample; geodx faster by {f.naive_full_s / f.geodx_s:,.0f}×.",
    ]


def main(argv: list[str] | None = None) -> SpreadFigures:
    """Time the two ways and print them side by side."""
    parser = argparse.ArgumentParser(prog="python -m bench.spread")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=DEFAULT_SAMPLE)
    args = parser.parse_args(argv)
    figures = measure(args.households, args.repeat, args.naive_sample)
    print("\n".join(lines(figures)))
    return figures


if __name__ == "__main__":
    main()

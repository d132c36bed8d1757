"""RSRP predicted from sites: geodx's blocked evaluation against the naive way.

    python -m bench.sites [--households 1000000] [--sectors 2000] [--repeat 3]
                          [--naive-sample 200] [--dense-sample 20000]
                          [--environment urban|suburban|rural]

A generated province of about 110 x 110 km in UTM zone 49N: households clustered in
towns, three-sector sites near them (azimuths 0/120/240, a tenth omnidirectional; RS
EIRP 25-33 dBm, heights 25-50 m, 1800 MHz), suburban by default, threshold -105 dBm.
Three ways, medians of ``--repeat`` runs:

- **geodx**: :func:`geodx.propagation.predict_rsrp` (blocks of households, only the
  sectors within each sector's exact reach of the block), on every household;
- **dense numpy**: the same formula on every household x sector pair, no cut-off
  (timed on a sample, scaled to the full count);
- **naive**: a plain Python loop per household over every sector (``math`` module),
  timed on a sample and scaled.

The sample's coverage is checked to agree between the three before anything is printed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geodx.pathloss import (
    ENVIRONMENTS,
    Sectors,
    loss_terms,
    rsrp_block,
    sectors_at,
)
from geodx.propagation import (
    predict_rsrp,
)

DEFAULT_ENVIRONMENT = "suburban"
THRESHOLD_DBM = -105.0
SIDE_M = 110_000.0


def province(
    households: int, sectors: int, *, seed: int = 7
) -> tuple[np.ndarray, np.ndarray, Sectors]:
    """Households in towns and three-sector sites near them (metres, UTM)."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform(5_000, SIDE_M - 5_000, (80, 2))
    spread = rng.uniform(800, 6_000, 80)
    which = rng.integers(0, 80, households)
    x = towns[which, 0] + rng.normal(0, 1, households) * spread[which]
    y = towns[which, 1] + rng.normal(0, 1, households) * spread[which]
    sites = -(-sectors // 3)
    near = rng.integers(0, households, sites)
    sx = np.repeat(x[near] + rng.normal(0, 500, sites), 3)[:sectors]
    sy = np.repeat(y[near] + rng.normal(0, 500, sites), 3)[:sectors]
    azimuth = np.tile([0.0, 120.0, 240.0], sites)[:sectors]
    omni = np.repeat(rng.random(sites) < 0.1, 3)[:sectors]
    built = sectors_at(
        sx,
        sy,
        height_m=np.repeat(rng.uniform(25, 50, sites), 3)[:sectors],
        frequency_mhz=np.full(sectors, 1800.0),
        rs_eirp_dbm=np.repeat(rng.uniform(25, 33, sites), 3)[:sectors],
        azimuth_deg=np.where(omni, np.nan, azimuth),
        beamwidth_deg=np.full(sectors, 65.0),
    )
    return x, y, built


def dense(
    x: np.ndarray, y: np.ndarray, sectors: Sectors, environment: str
) -> np.ndarray:
    """Every pair, in chunks of about 2M pairs, no cut-off."""
    a, _ = loss_terms(sectors.frequency_mhz, sectors.height_m, environment=environment)
    k = sectors.rs_eirp_dbm - a
    step = max(1, 2_000_000 // len(sectors))
    out = np.empty(len(x))
    for start in range(0, len(x), step):
        part = slice(start, start + step)
        out[part] = rsrp_block(x[part], y[part], sectors, k)
    return out


def naive(
    x: np.ndarray, y: np.ndarray, sectors: Sectors, environment: str
) -> np.ndarray:
    """One household at a time, one sector at a time, in plain Python."""
    rows = list(
        zip(
            sectors.x.tolist(),
            sectors.y.tolist(),
            sectors.height_m.tolist(),
            sectors.frequency_mhz.tolist(),
            sectors.rs_eirp_dbm.tolist(),
            sectors.azimuth_deg.tolist(),
            sectors.beamwidth_deg.tolist(),
            strict=True,
        )
    )
    out = []
    for hx, hy in zip(x.tolist(), y.tolist(), strict=True):
        best = -math.inf
        for sx, sy, hb, f, eirp, az, bw in rows:
            dx, dy = hx - sx, hy - sy
            d = max(math.hypot(dx, dy) / 1000.0, 0.02)
            lf, lh = math.log10(f), math.log10(hb)
            a = (1.1 * lf - 0.7) * 1.5 - (1.56 * lf - 0.8)
            pl = 46.3 + 33.9 * lf - 13.82 * lh - a + (44.9 - 6.55 * lh) * math.log10(d)
            if environment == "urban":
                pl += 3.0
            elif environment == "rural":
                pl += -4.78 * lf**2 + 18.33 * lf - 40.94
            g = 0.0
            if not math.isnan(az):
                phi = (math.degrees(math.atan2(dx, dy)) - az + 180.0) % 360.0 - 180.0
                g = -min(12.0 * (phi / bw) ** 2, 25.0)
            best = max(best, eirp + g - pl)
        out.append(best)
    return np.array(out)


def timed(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    """Median seconds of ``repeat`` runs, and the last result."""
    seconds, result = [], np.empty(0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def check_agree(blocked: np.ndarray, *others: np.ndarray) -> None:
    """Same coverage away from the threshold; same value where covered."""
    for other in others:
        away = np.abs(other - THRESHOLD_DBM) > 1e-6
        same = (blocked >= THRESHOLD_DBM) == (other >= THRESHOLD_DBM)
        if not same[away].all():
            raise SystemExit("coverage differs between geodx and a baseline")
        hit = other >= THRESHOLD_DBM
        if not np.allclose(blocked[hit], other[hit], rtol=0, atol=1e-9):
            raise SystemExit("RSRP differs between geodx and a baseline")


@dataclass(frozen=True)
class SiteFigures:
    """What ``python -m bench.sites`` measured: seconds of each way on its rows."""

    households: int
    sectors: int
    environment: str
    covered_pct: float
    repeat: int
    ways: tuple[tuple[str, int, float], ...]  # (way, rows timed on, median seconds)


def measure(
    households: int,
    sectors_n: int,
    *,
    repeat: int = 3,
    naive_sample: int = 200,
    dense_sample: int = 20_000,
    environment: str = DEFAULT_ENVIRONMENT,
) -> SiteFigures:
    """Time the three ways on the generated province; check that they agree."""
    x, y, sectors = province(households, sectors_n)
    n = len(x)

    def run() -> np.ndarray:
        return predict_rsrp(
            x, y, sectors, environment=environment, floor_dbm=THRESHOLD_DBM
        )

    geodx_s, blocked = timed(run, repeat)
    pick = np.random.default_rng(1).choice(n, min(dense_sample, n), replace=False)
    dense_s, dense_r = timed(
        lambda: dense(x[pick], y[pick], sectors, environment), repeat
    )
    few = pick[:naive_sample]
    naive_s, naive_r = timed(
        lambda: naive(x[few], y[few], sectors, environment), repeat
    )
    check_agree(blocked[pick], dense_r)
    check_agree(blocked[few], naive_r)
    return SiteFigures(
        households=n,
        sectors=len(sectors),
        environment=environment,
        covered_pct=float((blocked >= THRESHOLD_DBM).mean() * 100),
        repeat=repeat,
        ways=(
            ("geodx", n, geodx_s),
            ("dense numpy", len(pick), dense_s),
            ("naive loop", len(few), naive_s),
        ),
    )


def markdown(f: SiteFigures) -> list[str]:
    """The figures as a small markdown table (for bench/README.md)."""
    out = [
        f"Prediction (COST-231 Hata, {f.environment}) at {f.households:,} households x "
        f"{f.sectors:,} sectors, >= {THRESHOLD_DBM:g} dBm ({f.covered_pct:.2f} % "
        f"covered); medians of {f.repeat} runs:",
        "",
        "| way | timed on | seconds | at full size (s) | pairs / s |",
        "|---|---|---|---|---|",
    ]
    for name, rows, seconds in f.ways:
        full = seconds * f.households / rows
        mark = " †" if rows < f.households else ""
        out.append(
            f"| {name} | {rows:,} households | {seconds:.3f} | {full:.2f}{mark} | "
            f"{f.households * f.sectors / full:.3g} |"
        )
    (_, _, geodx_s), *_, (_, few, naive_s) = f.ways
    naive_full = naive_s * f.households / few
    out += [
        "",
        f"† scaled from the sample; geodx faster by {naive_full / geodx_s:,.0f}×.",
    ]
    return out


def main(argv: list[str] | None = None) -> SiteFigures:
    """Run the three ways and print their medians side by side."""
    parser = argparse.ArgumentParser(prog="python -m bench.sites")
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--sectors", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--dense-sample", type=int, default=20_000)
    parser.add_argument(
        "--environment", choices=ENVIRONMENTS, default=DEFAULT_ENVIRONMENT
    )
    args = parser.parse_args(argv)
    f = measure(
        args.households,
        args.sectors,
        repeat=args.repeat,
        naive_sample=args.naive_sample,
        dense_sample=args.dense_sample,
        environment=args.environment,
    )
    n, k = f.households, f.sectors
    print(f"{n:,} households x {k:,} sectors ({f.environment}, >= {THRESHOLD_DBM} dBm;")
    print(f"{f.covered_pct:.2f} % covered); medians of {f.repeat} runs")
    print(
        f"{'way':<14}{'timed on':>12}{'seconds':>10}{'at full size':>14}{'pairs/s':>12}"
    )
    for name, rows, seconds in f.ways:
        full = seconds * n / rows
        print(
            f"{name:<14}{rows:>12,}{seconds:>10.3f}{full:>13.2f}s{n * k / full:>12.3g}"
        )
    return f


if __name__ == "__main__":
    main()

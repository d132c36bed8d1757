"""DESIGN.md's "Mobile coverage predicted from sites", transcribed literally.

One household, one sector at a time, with the math module and pyproj; nothing here
comes from geodx. The tests compare geodx's blocked, vectorised prediction with it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

# The tests' regions lie around 108 E, 12.7 N: UTM zone 49 north.
UTM_EPSG = 32649
CENTRE = (108.04, 12.64)


@dataclass(frozen=True)
class Sector:
    lon: float
    lat: float
    height_m: float
    frequency_mhz: float
    rs_eirp_dbm: float
    azimuth_deg: float | None = None
    beamwidth_deg: float | None = None


@functools.cache
def _transformer() -> Transformer:
    """WGS84 to UTM 49N, made once (making one costs far more than a transform)."""
    return Transformer.from_crs(4326, UTM_EPSG, always_xy=True)


def to_utm(lon: float, lat: float) -> tuple[float, float]:
    x, y = _transformer().transform(lon, lat)
    return float(x), float(y)


def path_loss(f: float, hb: float, d_km: float, environment: str) -> float:
    hm = 1.5
    d = max(d_km, 0.02)
    a = (1.1 * math.log10(f) - 0.7) * hm - (1.56 * math.log10(f) - 0.8)
    pl = (
        46.3
        + 33.9 * math.log10(f)
        - 13.82 * math.log10(hb)
        - a
        + (44.9 - 6.55 * math.log10(hb)) * math.log10(d)
    )
    if environment == "urban":
        return pl + 3.0
    if environment == "suburban":
        return pl
    assert environment == "rural"
    return pl - 4.78 * math.log10(f) ** 2 + 18.33 * math.log10(f) - 40.94


def gain(
    bearing_deg: float, azimuth_deg: float | None, beamwidth: float | None
) -> float:
    if azimuth_deg is None:
        return 0.0
    phi = bearing_deg - azimuth_deg
    while phi > 180.0:
        phi -= 360.0
    while phi < -180.0:
        phi += 360.0
    return -min(12.0 * (phi / (65.0 if beamwidth is None else beamwidth)) ** 2, 25.0)


def rsrp_at(
    x: float,
    y: float,
    sectors: list[Sector],
    sites_xy: list[tuple[float, float]],
    environment: str,
) -> float:
    best = -math.inf
    for s, (sx, sy) in zip(sectors, sites_xy, strict=True):
        dx, dy = x - sx, y - sy
        d_km = math.sqrt(dx * dx + dy * dy) / 1000.0
        bearing = math.degrees(math.atan2(dx, dy)) % 360.0  # clockwise from north
        g = gain(bearing, s.azimuth_deg, s.beamwidth_deg)
        best = max(
            best,
            s.rs_eirp_dbm
            + g
            - path_loss(s.frequency_mhz, s.height_m, d_km, environment),
        )
    return best


def naive_rsrp(
    lon: np.ndarray, lat: np.ndarray, sectors: list[Sector], environment: str
) -> np.ndarray:
    sites = [to_utm(s.lon, s.lat) for s in sectors]
    return np.array(
        [
            rsrp_at(*to_utm(float(a), float(b)), sectors, sites, environment)
            for a, b in zip(lon, lat, strict=True)
        ]
    )


def random_sectors(
    rng: np.random.Generator, n: int, *, span_deg: float = 0.04
) -> list[Sector]:
    """Sectors inside COST-231 Hata's own range (no warnings), a quarter omni."""
    out = []
    for _ in range(n):
        omni = rng.random() < 0.25
        out.append(
            Sector(
                lon=CENTRE[0] + rng.uniform(-span_deg, span_deg),
                lat=CENTRE[1] + rng.uniform(-span_deg, span_deg),
                height_m=float(rng.uniform(30, 80)),
                frequency_mhz=float(rng.choice([1500.0, 1800.0, 1850.0, 2000.0])),
                rs_eirp_dbm=float(rng.uniform(0, 22)),
                azimuth_deg=None if omni else float(rng.uniform(0, 360)),
                beamwidth_deg=None
                if omni or rng.random() < 0.3
                else float(rng.uniform(20, 120)),
            )
        )
    return out


def random_households(
    rng: np.random.Generator, n: int, *, span_deg: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    lon = CENTRE[0] + rng.uniform(-span_deg, span_deg, n)
    lat = CENTRE[1] + rng.uniform(-span_deg, span_deg, n)
    return lon, lat


def write_sectors(path: Path, sectors: list[Sector]) -> Path:
    """A sector CSV with empty cells for omni azimuths and default beamwidths."""
    frame = pd.DataFrame(
        {
            "site": [f"S{i}" for i in range(len(sectors))],
            "lon": [s.lon for s in sectors],
            "lat": [s.lat for s in sectors],
            "height_m": [s.height_m for s in sectors],
            "frequency_mhz": [s.frequency_mhz for s in sectors],
            "rs_eirp_dbm": [s.rs_eirp_dbm for s in sectors],
            "azimuth_deg": [s.azimuth_deg for s in sectors],
            "beamwidth_deg": [s.beamwidth_deg for s in sectors],
        }
    )
    frame.to_csv(path, index=False, float_format="%.17g")
    return path

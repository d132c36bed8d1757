"""The path-loss model of sites: COST-231 Hata and a horizontal antenna pattern.

The rule is the DESIGN.md contract "Mobile coverage predicted from sites", written once
here and evaluated households x sectors in blocks. With f in MHz, hb the antenna height
in metres, hm = 1.5 m and d the ground distance in km (floored at 0.02 km):

- ``a = (1.1 log10 f - 0.7) hm - (1.56 log10 f - 0.8)``
- ``PL = 46.3 + 33.9 log10 f - 13.82 log10 hb - a + (44.9 - 6.55 log10 hb) log10 d + C``,
  C = 3 dB urban, 0 dB suburban; rural is the suburban PL
  ``- 4.78 (log10 f)^2 + 18.33 log10 f - 40.94``
- ``G = -min(12 (phi / beamwidth)^2, 25)`` dB, phi the angle from the sector's azimuth
  to the bearing of the household, wrapped to [-180, 180]; 0 when omnidirectional
- ``RSRP = max over sectors of rs_eirp_dbm + G - PL``.


PL = A + B log10 d with B = 44.9 - 6.55 log10 hb > 0 for every height up to 300 m, so
a sector's received power falls monotonically with distance and its reach, the
distance beyond which it stays below a threshold even at G = 0, is solved exactly:
``d = 10 ** ((rs_eirp_dbm - threshold - A) / B)``. geodx.propagation evaluates the
model households x sectors in blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ENVIRONMENTS = ("urban", "suburban", "rural")
MOBILE_HEIGHT_M = 1.5
MIN_DISTANCE_KM = 0.02
DEFAULT_BEAMWIDTH_DEG = 65.0
MAX_ATTENUATION_DB = 25.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Sectors:
    """Sectors in a metric CRS (the region's UTM zone), one entry per sector.

    Attributes
    ----------
    x, y : ndarray
        Site position in metres.
    height_m, frequency_mhz, rs_eirp_dbm : ndarray
        Antenna height above ground, carrier frequency, reference-signal EIRP.
    azimuth_deg : ndarray
        Clockwise from (grid) north; NaN for an omnidirectional sector.
    beamwidth_deg : ndarray
        Horizontal beamwidth (used only where ``azimuth_deg`` is set).
    """

    x: FloatArray
    y: FloatArray
    height_m: FloatArray
    frequency_mhz: FloatArray
    rs_eirp_dbm: FloatArray
    azimuth_deg: FloatArray
    beamwidth_deg: FloatArray

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: NDArray[np.intp]) -> Sectors:
        """The sectors at ``index``."""
        return Sectors(*(np.asarray(getattr(self, k))[index] for k in _FIELDS))


_FIELDS = (
    "x",
    "y",
    "height_m",
    "frequency_mhz",
    "rs_eirp_dbm",
    "azimuth_deg",
    "beamwidth_deg",
)


def check_environment(environment: str) -> None:
    """Raise ``ValueError`` unless ``environment`` is urban, suburban or rural."""
    if environment not in ENVIRONMENTS:
        raise ValueError(
            f"environment was {environment!r}; expected one of {ENVIRONMENTS}"
        )


def loss_terms(
    frequency_mhz: FloatArray | float,
    height_m: FloatArray | float,
    *,
    environment: str,
) -> tuple[FloatArray, FloatArray]:
    """``A`` and ``B`` of ``PL = A + B log10 d`` (d in km) for each sector.

    Examples
    --------
    >>> a, b = loss_terms(1800.0, 30.0, environment="suburban")
    >>> round(float(a), 4), round(float(b), 4)
    (136.1969, 35.2249)
    """
    check_environment(environment)
    log_f = np.log10(np.asarray(frequency_mhz, dtype=np.float64))
    log_hb = np.log10(np.asarray(height_m, dtype=np.float64))
    hm = MOBILE_HEIGHT_M
    a_hm = (1.1 * log_f - 0.7) * hm - (1.56 * log_f - 0.8)
    a = 46.3 + 33.9 * log_f - 13.82 * log_hb - a_hm
    if environment == "urban":
        a = a + 3.0
    elif environment == "rural":
        a = a - 4.78 * log_f**2 + 18.33 * log_f - 40.94
    b = 44.9 - 6.55 * log_hb
    return np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)


def path_loss_db(
    frequency_mhz: FloatArray | float,
    height_m: FloatArray | float,
    distance_km: FloatArray | float,
    *,
    environment: str,
) -> FloatArray:
    """COST-231 Hata path loss in dB, d floored at 0.02 km (see the module).

    Examples
    --------
    >>> round(float(path_loss_db(1800.0, 30.0, 1.0, environment="urban")), 4)
    139.1969
    """
    a, b = loss_terms(frequency_mhz, height_m, environment=environment)
    d = np.maximum(np.asarray(distance_km, dtype=np.float64), MIN_DISTANCE_KM)
    return np.asarray(a + b * np.log10(d), dtype=np.float64)


def pattern_gain_db(
    phi_deg: FloatArray | float, beamwidth_deg: FloatArray | float
) -> FloatArray:
    """Horizontal pattern ``-min(12 (phi / beamwidth)^2, 25)``, phi wrapped first.

    Examples
    --------
    >>> float(pattern_gain_db(0.0, 65.0)), float(pattern_gain_db(180.0, 65.0))
    (0.0, -25.0)
    >>> bool(pattern_gain_db(350.0, 65.0) == pattern_gain_db(-10.0, 65.0))
    True
    """
    phi = wrap_deg(np.asarray(phi_deg, dtype=np.float64))
    ratio = phi / np.asarray(beamwidth_deg, dtype=np.float64)
    return np.asarray(0.0 - np.minimum(12.0 * ratio**2, MAX_ATTENUATION_DB))


def wrap_deg(angle: FloatArray) -> FloatArray:
    """Wrap degrees to [-180, 180) (the pattern is symmetric, so 180 = -180)."""
    return np.asarray(np.mod(angle + 180.0, 360.0) - 180.0)


def reach_km(sectors: Sectors, *, environment: str, threshold_dbm: float) -> FloatArray:
    """Each sector's reach: beyond it, RSRP < ``threshold_dbm`` even at G = 0.

    ``PL = A + B log10 d`` solved for ``rs_eirp_dbm - PL = threshold``. A sector
    that is below the threshold already at 0.02 km reaches nobody: -1.

    Examples
    --------
    >>> one = sectors_at([0.0], [0.0], height_m=[30.0], frequency_mhz=[1800.0],
    ...                  rs_eirp_dbm=[30.0])
    >>> d = float(reach_km(one, environment="suburban", threshold_dbm=-105.0)[0])
    >>> round(d, 4)
    0.9247
    >>> r = 30.0 - path_loss_db(1800.0, 30.0, d, environment="suburban")
    >>> round(float(r), 9)
    -105.0
    """
    a, b = loss_terms(sectors.frequency_mhz, sectors.height_m, environment=environment)
    d = 10.0 ** ((sectors.rs_eirp_dbm - threshold_dbm - a) / b)
    return np.asarray(np.where(d >= MIN_DISTANCE_KM, d, -1.0), dtype=np.float64)


def cutoff_radius_km(
    sectors: Sectors, *, environment: str, threshold_dbm: float
) -> float:
    """The layer's cut-off: the reach of the best sector (max EIRP, max height, G = 0).

    PL grows with frequency over the model's range, so "best" also takes the lowest
    frequency; every sector's own reach (:func:`reach_km`) is at most this radius.
    """
    if len(sectors) == 0:
        return -1.0
    best = sectors_at(
        [0.0],
        [0.0],
        height_m=[float(sectors.height_m.max())],
        frequency_mhz=[float(sectors.frequency_mhz.min())],
        rs_eirp_dbm=[float(sectors.rs_eirp_dbm.max())],
    )
    return float(
        reach_km(best, environment=environment, threshold_dbm=threshold_dbm)[0]
    )


def sectors_at(
    x: list[float] | FloatArray,
    y: list[float] | FloatArray,
    *,
    height_m: list[float] | FloatArray,
    frequency_mhz: list[float] | FloatArray,
    rs_eirp_dbm: list[float] | FloatArray,
    azimuth_deg: list[float] | FloatArray | None = None,
    beamwidth_deg: list[float] | FloatArray | None = None,
) -> Sectors:
    """Build :class:`Sectors`; azimuth NaN (default) = omni, beamwidth default 65."""
    n = len(x)
    az = np.full(n, np.nan) if azimuth_deg is None else azimuth_deg
    bw = np.full(n, DEFAULT_BEAMWIDTH_DEG) if beamwidth_deg is None else beamwidth_deg
    values = (x, y, height_m, frequency_mhz, rs_eirp_dbm, az, bw)
    return Sectors(*(np.asarray(v, dtype=np.float64) for v in values))


def rsrp_block(
    x: FloatArray, y: FloatArray, sectors: Sectors, k: FloatArray
) -> FloatArray:
    """Best RSRP at points ``x, y`` over ``sectors``; ``k = rs_eirp_dbm - A`` per sector."""
    b = 44.9 - 6.55 * np.log10(sectors.height_m)
    dx = x[:, None] - sectors.x[None, :]
    dy = y[:, None] - sectors.y[None, :]
    d_km = np.maximum(np.hypot(dx, dy) / 1000.0, MIN_DISTANCE_KM)
    rx = k[None, :] - b[None, :] * np.log10(d_km)
    directional = ~np.isnan(sectors.azimuth_deg)
    if directional.any():
        cols = np.flatnonzero(directional)
        bearing = np.degrees(np.arctan2(dx[:, cols], dy[:, cols]))
        phi = bearing - sectors.azimuth_deg[cols][None, :]
        rx[:, cols] += pattern_gain_db(phi, sectors.beamwidth_deg[cols][None, :])
    return np.asarray(rx.max(axis=1), dtype=np.float64)


def rsrp_pairs(
    x: FloatArray,
    y: FloatArray,
    sectors: Sectors,
    k: FloatArray,
    b: FloatArray,
    sector: NDArray[np.intp],
) -> FloatArray:
    """RSRP of each (household, sector) pair: household at ``x, y``, ``sectors[sector]``.

    ``k = rs_eirp_dbm - A`` and ``b = B`` per sector. The float operations of
    :func:`rsrp_block` on the same numbers, so the same bits pair by pair; the wrap of
    phi to [-180, 180] only feeds its square, so ``phi + 360`` for the angles below
    -180 gives the same gain as ``np.mod``. The steps are done in place, and the
    pattern only for the directional pairs (an omnidirectional pair's ``+ 0.0`` left
    out: ``rx`` is never ``-0.0``, a difference of two numbers that are not).
    """
    dx = x - sectors.x[sector]
    dy = y - sectors.y[sector]
    loss = np.hypot(dx, dy)  # each step in place: a chunk's arrays stay in the cache
    loss /= 1000.0
    np.maximum(loss, MIN_DISTANCE_KM, out=loss)
    np.log10(loss, out=loss)
    loss *= b[sector]
    rx = k[sector]  # a new array (fancy indexing copies)
    rx -= loss
    azimuth = sectors.azimuth_deg[sector]
    directional = ~np.isnan(azimuth)
    every = bool(directional.all())
    if every or directional.any():
        if not every:  # the omnidirectional pairs keep rx as it is
            dx, dy, azimuth = dx[directional], dy[directional], azimuth[directional]
            sector = sector[directional]
        phi = np.degrees(np.arctan2(dx, dy))
        phi -= azimuth
        phi += 180.0  # in [-360, 360]: bearing and azimuth bounded
        phi += (phi < 0.0) * 360.0  # + 0.0 elsewhere: the same value
        phi -= 180.0
        phi /= sectors.beamwidth_deg[sector]
        np.square(phi, out=phi)
        phi *= 12.0
        np.minimum(phi, MAX_ATTENUATION_DB, out=phi)
        gain = np.subtract(0.0, phi, out=phi)
        if every:
            rx += gain
        else:
            rx[directional] += gain
    return np.asarray(rx, dtype=np.float64)

"""RSRP predicted from operators' sectors: COST-231 Hata and a horizontal pattern.

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
``d = 10 ** ((rs_eirp_dbm - threshold - A) / B)``. A block of households only looks at
the sectors whose reach touches the block's bounding box; every other sector is below
the threshold at every household of the block, so dropping it changes no answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.sector_bounds import prune_sectors

ENVIRONMENTS = ("urban", "suburban", "rural")
MOBILE_HEIGHT_M = 1.5
MIN_DISTANCE_KM = 0.02
DEFAULT_BEAMWIDTH_DEG = 65.0
MAX_ATTENUATION_DB = 25.0
# Households per block edge (metres), and household x sector pairs per evaluation: a
# few arrays of this many float64 (2 MB each) stay in the processor's cache, where
# they run about twice as fast as arrays of 16 MB.
BLOCK_SIZE_M = 1_000.0
MAX_CELLS = 262_144
# A block with more household x sector pairs is split into blocks of half its edge
# (down to MIN_BLOCK_M): in a dense city most of a block's sectors reach only part of
# it, and the bounds of geodx.sector_bounds are sharper on a smaller box (national
# partitions: 1.8 s with 2 km blocks split from 250,000 pairs, 1.4 s with these).
SPLIT_CELLS = 30_000
MIN_BLOCK_M = 250.0
# A sector is kept for a block when within its reach plus this slack (metres): the
# reach is exact, the slack absorbs rounding of the distance to the block's box.
REACH_SLACK_M = 1.0

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
    -180 gives the same gain as ``np.mod``.
    """
    dx = x - sectors.x[sector]
    dy = y - sectors.y[sector]
    d_km = np.maximum(np.hypot(dx, dy) / 1000.0, MIN_DISTANCE_KM)
    rx = k[sector] - b[sector] * np.log10(d_km)
    azimuth = sectors.azimuth_deg[sector]
    directional = ~np.isnan(azimuth)
    if directional.any():
        bearing = np.degrees(np.arctan2(dx, dy))
        phi = bearing - azimuth + 180.0  # in [-360, 360]: bearing and azimuth bounded
        phi = np.where(phi < 0.0, phi + 360.0, phi) - 180.0
        ratio = phi / sectors.beamwidth_deg[sector]
        gain = 0.0 - np.minimum(12.0 * ratio**2, MAX_ATTENUATION_DB)
        rx += np.where(directional, gain, 0.0)
    return np.asarray(rx, dtype=np.float64)


def predict_rsrp(
    x: FloatArray,
    y: FloatArray,
    sectors: Sectors,
    *,
    environment: str,
    floor_dbm: float,
    block_size_m: float = BLOCK_SIZE_M,
    max_cells: int = MAX_CELLS,
    index: SectorIndex | None = None,
) -> FloatArray:
    """Best RSRP (dBm) at each household, exact wherever it is ``>= floor_dbm``.

    Households are grouped in square blocks of ``block_size_m`` (a block with more
    than :data:`SPLIT_CELLS` household x sector pairs split into blocks of half the
    edge, down to :data:`MIN_BLOCK_M`); each block is
    evaluated against the sectors whose reach (for ``floor_dbm``) touches the block,
    less those its bounds show cannot give an answer at or above the floor
    (:func:`geodx.sector_bounds.prune_sectors`), in chunks of at most ``max_cells`` household x sector pairs (at least one
    household a chunk). A household no kept sector reaches gets ``-inf``; below the
    floor values may be lower than the true RSRP (sectors that cannot reach the floor
    are not evaluated), never higher.

    Parameters
    ----------
    x, y : ndarray
        Household positions in the sectors' metric CRS (metres).
    sectors : Sectors
    environment : str
        urban, suburban or rural.
    floor_dbm : float
        The lowest threshold any answer is compared with (``min_rsrp_dbm``).
    index : SectorIndex, optional
        :func:`index_sectors` of the same sectors, environment and floor, if made.

    Examples
    --------
    >>> s = sectors_at([0.0], [0.0], height_m=[30.0], frequency_mhz=[1800.0],
    ...                rs_eirp_dbm=[30.0])
    >>> r = predict_rsrp(np.array([0.0, 500.0, 5000.0]), np.zeros(3), s,
    ...                  environment="suburban", floor_dbm=-105.0)
    >>> [round(float(v), 3) for v in r]
    [-46.351, -95.593, -inf]
    """
    check_environment(environment)
    out = np.full(len(x), -np.inf)
    if index is None:
        index = index_sectors(sectors, environment=environment, floor_dbm=floor_dbm)
    elif index.floor_dbm != floor_dbm or index.environment != environment:
        raise ValueError("index was made for another floor or environment")
    if len(x) == 0 or len(index.sectors) == 0:
        return out
    sectors, k = index.sectors, index.k
    blocks, near_each = _split_blocks(
        x, y, block_size_m, sectors, index.reach_m, tree=index.tree
    )
    near_each = prune_sectors(
        x, y, blocks, near_each, index.bounds, floor_dbm=floor_dbm
    )
    for house, sector, starts in _pairs(blocks, near_each, max_cells):
        rx = rsrp_pairs(x[house], y[house], sectors, k, index.bounds[-1], sector)
        out[house[starts]] = np.maximum.reduceat(rx, starts)
    return out


def _pairs(
    blocks: list[NDArray[np.intp]], near: list[NDArray[np.intp]], max_cells: int
) -> Iterator[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]]:
    """Every block's (household, sector) pairs, in chunks of about ``max_cells``.

    Yields ``(house, sector, starts)``: the pairs grouped by household (each
    household's pairs consecutive, one chunk holding all of them), and where each
    household's pairs start. Households without a sector are left out.
    """
    sizes = np.array([len(n) for n in near], dtype=np.int64)
    rows = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.intp)
    per_row = np.repeat(sizes, [len(b) for b in blocks])
    offset = np.repeat(np.cumsum(sizes) - sizes, [len(b) for b in blocks])
    rows, per_row, offset = rows[per_row > 0], per_row[per_row > 0], offset[per_row > 0]
    flat = np.concatenate(near) if near else np.zeros(0, dtype=np.intp)
    ends = np.cumsum(per_row)
    cut = np.searchsorted(
        ends, np.arange(max_cells, int(ends[-1]) if len(ends) else 0, max_cells)
    )
    bounds = np.unique(np.r_[0, cut, len(rows)])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        count = per_row[lo:hi]
        starts = np.cumsum(count) - count
        step = np.arange(int(count.sum())) - np.repeat(starts, count)
        yield (
            np.repeat(rows[lo:hi], count),
            flat[np.repeat(offset[lo:hi], count) + step],
            starts,
        )


@dataclass(frozen=True)
class SectorIndex:
    """The sectors that reach ``floor_dbm`` somewhere, with what blocks ask of them.

    Made once by :func:`index_sectors` and handed to :func:`predict_rsrp` each time
    (a partitioned run predicts the same layer once a partition).
    """

    environment: str
    floor_dbm: float
    sectors: Sectors  # the live ones
    k: FloatArray  # rs_eirp_dbm - A
    reach_m: FloatArray  # with REACH_SLACK_M
    tree: shapely.STRtree  # of the reach squares (see _near_sectors)
    bounds: tuple[FloatArray, ...]  # x, y, azimuth, beamwidth, k, B

    def __len__(self) -> int:
        return len(self.sectors)


def index_sectors(
    sectors: Sectors, *, environment: str, floor_dbm: float
) -> SectorIndex:
    """The :class:`SectorIndex` of ``sectors`` for ``floor_dbm``."""
    check_environment(environment)
    reach_m = reach_km(sectors, environment=environment, threshold_dbm=floor_dbm) * 1e3
    live = np.flatnonzero(reach_m >= 0)
    sectors, reach_m = sectors.take(live), reach_m[live] + REACH_SLACK_M
    a, b = loss_terms(sectors.frequency_mhz, sectors.height_m, environment=environment)
    k = sectors.rs_eirp_dbm - a
    bounds = (sectors.x, sectors.y, sectors.azimuth_deg, sectors.beamwidth_deg, k, b)
    return SectorIndex(
        environment, floor_dbm, sectors, k, reach_m, _reach_tree(sectors, reach_m),
        bounds,
    )  # fmt: skip


def _blocks(x: FloatArray, y: FloatArray, size: float) -> list[NDArray[np.intp]]:
    """Household indices grouped by square blocks of ``size`` metres."""
    ix = np.floor((x - x.min()) / size).astype(np.int64)
    iy = np.floor((y - y.min()) / size).astype(np.int64)
    key = ix * (int(iy.max()) + 1) + iy
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return list(np.split(order, cuts))


def _split_blocks(
    x: FloatArray,
    y: FloatArray,
    size: float,
    sectors: Sectors,
    reach_m: FloatArray,
    *,
    tree: shapely.STRtree | None = None,
) -> tuple[list[NDArray[np.intp]], list[NDArray[np.intp]]]:
    """Blocks of ``size`` and their sectors, the crowded ones split (see SPLIT_CELLS).

    Every block keeps the sectors whose reach touches its own bounding box, so the
    answers are those of any other grouping.
    """
    blocks = _blocks(x, y, size)
    near = _near_sectors(x, y, blocks, sectors, reach_m, tree=tree)
    kept_blocks: list[NDArray[np.intp]] = []
    kept_near: list[NDArray[np.intp]] = []
    while True:
        crowded = [
            len(b) * len(n) > SPLIT_CELLS for b, n in zip(blocks, near, strict=True)
        ]
        if size / 2 < MIN_BLOCK_M or not any(crowded):
            return kept_blocks + blocks, kept_near + near
        size /= 2
        split: list[NDArray[np.intp]] = []
        for b, n, c in zip(blocks, near, crowded, strict=True):
            if c:
                split.extend(b[part] for part in _blocks(x[b], y[b], size))
            else:
                kept_blocks.append(b)
                kept_near.append(n)
        blocks = split
        near = _near_sectors(x, y, blocks, sectors, reach_m, tree=tree)


def _within_reach(
    bx: FloatArray, by: FloatArray, sectors: Sectors, reach_m: FloatArray
) -> NDArray[np.intp]:
    """Sectors whose reach touches the bounding box of the block's households.

    The rule, one block against every sector; :func:`_near_sectors` gives the same
    sectors for every block at once through a spatial index.
    """
    gap_x = np.maximum(np.maximum(bx.min() - sectors.x, sectors.x - bx.max()), 0.0)
    gap_y = np.maximum(np.maximum(by.min() - sectors.y, sectors.y - by.max()), 0.0)
    return np.flatnonzero(np.hypot(gap_x, gap_y) <= reach_m)


def _near_sectors(
    x: FloatArray,
    y: FloatArray,
    blocks: list[NDArray[np.intp]],
    sectors: Sectors,
    reach_m: FloatArray,
    *,
    tree: shapely.STRtree | None = None,
) -> list[NDArray[np.intp]]:
    """:func:`_within_reach` of every block, in ascending sector order.

    Candidates come from an STRtree of the sectors' reach squares, grown by a margin
    far above any rounding, so they hold every sector the rule keeps; the rule itself,
    the same float operations on the same numbers, then decides each candidate.
    ``tree``: :func:`_reach_tree` of the same sectors and reach, if made.
    """
    starts = np.r_[0, np.cumsum([len(b) for b in blocks])]
    order = np.concatenate(blocks)
    bounds = [
        np.minimum.reduceat(x[order], starts[:-1]),
        np.minimum.reduceat(y[order], starts[:-1]),
        np.maximum.reduceat(x[order], starts[:-1]),
        np.maximum.reduceat(y[order], starts[:-1]),
    ]
    tree = _reach_tree(sectors, reach_m) if tree is None else tree
    block, sector = tree.query(shapely.box(*bounds))
    xmin, ymin, xmax, ymax = (b[block] for b in bounds)
    sx, sy = sectors.x[sector], sectors.y[sector]
    gap_x = np.maximum(np.maximum(xmin - sx, sx - xmax), 0.0)
    gap_y = np.maximum(np.maximum(ymin - sy, sy - ymax), 0.0)
    keep = np.hypot(gap_x, gap_y) <= reach_m[sector]
    block, sector = block[keep], sector[keep]
    pick = np.lexsort((sector, block))
    cuts = np.searchsorted(block[pick], np.arange(1, len(blocks)))
    return list(np.split(sector[pick].astype(np.intp), cuts))


def _reach_tree(sectors: Sectors, reach_m: FloatArray) -> shapely.STRtree:
    """An STRtree of the sectors' reach squares, grown far above any rounding."""
    grow = reach_m * (1 + 1e-6) + 1.0
    squares = shapely.box(
        sectors.x - grow, sectors.y - grow, sectors.x + grow, sectors.y + grow
    )
    return shapely.STRtree(squares)

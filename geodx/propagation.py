"""RSRP predicted from operators' sectors, evaluated households x sectors in blocks.

The rule is the DESIGN.md contract "Mobile coverage predicted from sites", whose
path-loss model and pattern are written once in geodx.pathloss. A sector's received
power falls monotonically with distance, so its reach (the distance beyond which it
stays below a threshold even at G = 0) is exact. A block of households only looks at
the sectors whose reach touches the block's bounding box; every other sector is below
the threshold at every household of the block, so dropping it changes no answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.pathloss import (
    Sectors,
    check_environment,
    loss_terms,
    reach_km,
    rsrp_pairs,
)
from geodx.propagation_blocks import split_blocks
from geodx.sector_bounds import prune_pairs

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
# With a cap (see predict_rsrp), a block of at least this many sectors evaluates its
# likeliest best sector first.
LEAD_SECTORS = 3
# A sector is kept for a block when within its reach plus this slack (metres): the
# reach is exact, the slack absorbs rounding of the distance to the block's box.
REACH_SLACK_M = 1.0

FloatArray = NDArray[np.float64]


def predict_rsrp(
    x: FloatArray,
    y: FloatArray,
    sectors: Sectors,
    *,
    environment: str,
    floor_dbm: float,
    cap_dbm: float = np.inf,
    block_size_m: float = BLOCK_SIZE_M,
    max_cells: int = MAX_CELLS,
    index: SectorIndex | None = None,
) -> FloatArray:
    """Best RSRP (dBm) at each household, exact wherever it is ``>= floor_dbm``.

    Households are grouped in square blocks of ``block_size_m`` (a block with more
    than :data:`SPLIT_CELLS` household x sector pairs split into its quarters, down
    to :data:`MIN_BLOCK_M`; :mod:`geodx.propagation_blocks`); each block is
    evaluated against the sectors whose reach (for ``floor_dbm``) touches the block,
    less those its bounds show cannot give an answer at or above the floor
    (:func:`geodx.sector_bounds.prune_pairs`), in chunks of at most ``max_cells``
    household x sector pairs (at least one household a chunk). A household no kept
    sector reaches gets ``-inf``; below the floor values may be lower than the true
    RSRP (sectors that cannot reach the floor are not evaluated), never higher.

    With ``cap_dbm``, where the best RSRP is at least the cap the value may be any
    one sector's RSRP that is at least the cap (never more than the best): a block
    with :data:`LEAD_SECTORS` or more sectors first evaluates its likeliest best
    sector (the greatest sum of its bounds), and the households it gives the cap
    skip the other sectors. Below the cap the values are those without it.

    Parameters
    ----------
    x, y : ndarray
        Household positions in the sectors' metric CRS (metres).
    sectors : Sectors
    environment : str
        urban, suburban or rural.
    floor_dbm : float
        The lowest threshold any answer is compared with (``min_rsrp_dbm``).
    cap_dbm : float, optional
        A value above which no answer needs the exact best (default: none).
    index : SectorIndex, optional
        :func:`index_sectors` of the same sectors, environment and floor, if made.

    Examples
    --------
    >>> from geodx.pathloss import sectors_at
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
    blocks = split_blocks(
        x, y, size=block_size_m, min_size=MIN_BLOCK_M, split_cells=SPLIT_CELLS,
        sx=index.sectors.x, sy=index.sectors.y, reach_m=index.reach_m,
        tree=index.tree,
    )  # fmt: skip
    keep, upper, lower = prune_pairs(
        blocks.box, blocks.block, blocks.sector, index.bounds, blocks=len(blocks),
        floor_dbm=floor_dbm,
    )  # fmt: skip
    block, sector = blocks.block[keep], blocks.sector[keep]
    lens = blocks.stop - blocks.start
    where = np.repeat(blocks.start - (np.cumsum(lens) - lens), lens)
    rows = blocks.order[where + np.arange(len(blocks.order))]
    row_block = np.repeat(np.arange(len(blocks), dtype=np.intp), lens)
    count = np.bincount(block, minlength=len(blocks))
    todo = np.ones(len(rows), dtype=bool)
    if np.isfinite(cap_dbm):
        lead = count >= LEAD_SECTORS
        top = _likeliest(block, upper[keep] + lower[keep], lead)
        led = lead[row_block]
        house, first = rows[led], sector[top[row_block[led]]]
        for lo in range(0, len(house), max_cells):
            h = house[lo : lo + max_cells]
            out[h] = _evaluate(x[h], y[h], index, first[lo : lo + max_cells])
        todo[led] = out[house] < cap_dbm
        rest = np.ones(len(block), dtype=bool)
        rest[top[lead]] = False
        block, sector = block[rest], sector[rest]
        count = np.bincount(block, minlength=len(blocks))
    todo &= count[row_block] > 0
    offset = (np.cumsum(count) - count)[row_block[todo]]
    pairs = _pairs(rows[todo], count[row_block[todo]], offset, sector, max_cells)
    for house, near, starts in pairs:
        rx = _evaluate(x[house], y[house], index, near)
        got = house[starts]
        out[got] = np.maximum(out[got], np.maximum.reduceat(rx, starts))
    return out


def _evaluate(
    x: FloatArray, y: FloatArray, index: SectorIndex, sector: NDArray[np.intp]
) -> FloatArray:
    return rsrp_pairs(x, y, index.sectors, index.k, index.bounds[-1], sector)


def _likeliest(
    block: NDArray[np.intp], score: FloatArray, lead: NDArray[np.bool_]
) -> NDArray[np.intp]:
    """Per block, the first of its pairs (``block`` sorted) with the greatest score.

    Only the blocks where ``lead`` holds (each with at least one pair) are filled.
    """
    top = np.zeros(len(lead), dtype=np.intp)
    if not lead.any():
        return top
    count = np.bincount(block, minlength=len(lead))
    first = np.cumsum(count) - count
    has = count > 0
    best = np.full(len(lead), -np.inf)
    best[has] = np.maximum.reduceat(score, first[has])
    hit = np.flatnonzero((score == best[block]) & lead[block])
    once = np.r_[True, block[hit[1:]] != block[hit[:-1]]]
    top[block[hit[once]]] = hit[once]
    return top


def _pairs(
    rows: NDArray[np.intp],
    per_row: NDArray[np.int64],
    offset: NDArray[np.int64],
    flat: NDArray[np.intp],
    max_cells: int,
) -> Iterator[tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]]:
    """The (household, sector) pairs of ``rows``, in chunks of about ``max_cells``.

    Row ``i`` pairs household ``rows[i]`` with ``flat[offset[i]:offset[i] +
    per_row[i]]`` (``per_row`` > 0). Yields ``(house, sector, starts)``: the pairs
    grouped by household (one chunk holds all of a household's pairs), and where
    each household's pairs start.
    """
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
    tree: shapely.STRtree  # of the reach squares (see _reach_tree)
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


def _reach_tree(sectors: Sectors, reach_m: FloatArray) -> shapely.STRtree:
    """An STRtree of the sectors' reach squares, grown far above any rounding."""
    grow = reach_m * (1 + 1e-6) + 1.0
    squares = shapely.box(
        sectors.x - grow, sectors.y - grow, sectors.x + grow, sectors.y + grow
    )
    return shapely.STRtree(squares)

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
from geodx.sector_bounds import prune_sectors

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

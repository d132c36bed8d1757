"""Households in square blocks, crowded blocks split, and each block's near sectors.

The households are sorted once along a quadtree (Z-order) key of a grid of
``size / 2**levels``-metre cells, so every block of ``size`` and every quarter, quarter
of a quarter and so on down to the finest cell is one run of that order: splitting a
crowded block is finding where its runs of the next level begin, with no new sort.

A block keeps the sectors whose reach touches the bounding box of its own households
(:func:`touches`, the rule). The blocks of the first level take their candidates
from an STRtree of the sectors' reach squares; a quarter's candidates are its
parent's kept sectors (a quarter's box lies inside its parent's, so no sector the
rule keeps for the quarter is missing there). Either way the rule decides each
candidate, so the sectors of a block are those of the rule, in ascending order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geodx.kernels_sort import stable_argsort

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Box = tuple[FloatArray, ...]  # xmin, ymin, xmax, ymax

# At most this many halvings of the block edge (a key of 2 bits a level).
MAX_LEVELS = 6


@dataclass(frozen=True)
class Blocks:
    """Blocks of households and the sectors near each, flat.

    Attributes
    ----------
    order : ndarray
        Household indices; block ``i`` holds ``order[start[i]:stop[i]]``.
    start, stop : ndarray
        Each block's run in ``order`` (the runs cover ``order`` once).
    box : tuple of ndarray
        ``(xmin, ymin, xmax, ymax)`` of each block's households.
    block, sector : ndarray
        The (block, sector) pairs of the rule, by block then ascending sector.
    """

    order: IntArray
    start: IntArray
    stop: IntArray
    box: Box
    block: IntArray
    sector: IntArray

    def __len__(self) -> int:
        return len(self.start)


def touches(
    box: Box, sx: FloatArray, sy: FloatArray, reach_m: FloatArray
) -> NDArray[np.bool_]:
    """Whether each sector's reach touches its box, pair by pair (the rule)."""
    xmin, ymin, xmax, ymax = box
    gap_x = np.maximum(np.maximum(xmin - sx, sx - xmax), 0.0)
    gap_y = np.maximum(np.maximum(ymin - sy, sy - ymax), 0.0)
    return np.asarray(np.hypot(gap_x, gap_y) <= reach_m)


def levels_below(size: float, min_size: float) -> int:
    """How many halvings of ``size`` stay at least ``min_size`` (at most MAX_LEVELS).

    >>> levels_below(1000.0, 250.0), levels_below(400.0, 250.0)
    (2, 0)
    """
    levels = 0
    while levels < MAX_LEVELS and size / 2 ** (levels + 1) >= min_size:
        levels += 1
    return levels


def quadtree_order(
    x: FloatArray, y: FloatArray, size: float, levels: int
) -> tuple[IntArray, NDArray[np.int64]]:
    """Households sorted along a Z-order of ``size / 2**levels`` cells, and their keys.

    The key's low ``2 * levels`` bits interleave the cell's position inside its
    block of ``size``; ``key >> 2 * j`` names the household's cell ``j`` levels up.
    """
    fine = size / 2**levels
    # x - min >= 0, so truncation is the floor
    fx = ((x - x.min()) / fine).astype(np.int64)
    fy = ((y - y.min()) / fine).astype(np.int64)
    mask = (1 << levels) - 1
    spread = np.zeros(1 << levels, dtype=np.int64)  # bits b -> bits 2b
    for bit in range(levels):
        spread |= ((np.arange(1 << levels) >> bit) & 1) << (2 * bit)
    rows = int((fy >> levels).max()) + 1
    key = ((fx >> levels) * rows + (fy >> levels)) << (2 * levels)
    key |= (spread[fx & mask] << 1) | spread[fy & mask]
    order = stable_argsort(key).astype(np.intp)
    return order, key[order]


def _runs(keys: NDArray[np.int64]) -> IntArray:
    """Where each run of equal ``keys`` begins."""
    starts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    return np.concatenate([np.zeros(1, dtype=np.intp), starts.astype(np.intp)])


def _boxes(xs: FloatArray, ys: FloatArray, start: IntArray) -> Box:
    return (
        np.minimum.reduceat(xs, start),
        np.minimum.reduceat(ys, start),
        np.maximum.reduceat(xs, start),
        np.maximum.reduceat(ys, start),
    )


def _from_tree(
    box: Box,
    sx: FloatArray,
    sy: FloatArray,
    reach_m: FloatArray,
    tree: shapely.STRtree,
) -> tuple[IntArray, IntArray]:
    """The rule's (block, sector) pairs, candidates from the tree of reach squares."""
    block, sector = tree.query(shapely.box(*box))
    keep = touches(
        tuple(b[block] for b in box),
        sx[sector],
        sy[sector],
        reach_m[sector],
    )
    block, sector = block[keep], sector[keep]
    pick = np.lexsort((sector, block))
    return block[pick].astype(np.intp), sector[pick].astype(np.intp)


def _from_parent(
    box: Box,
    parent: IntArray,
    pairs: tuple[IntArray, IntArray],
    parents: int,
    sx: FloatArray,
    sy: FloatArray,
    reach_m: FloatArray,
) -> tuple[IntArray, IntArray]:
    """The rule's pairs of child blocks, candidates the kept sectors of ``parent``."""
    p_block, p_sector = pairs
    count = np.bincount(p_block, minlength=parents)
    first = np.cumsum(count) - count
    per = count[parent]
    child = np.repeat(np.arange(len(parent), dtype=np.intp), per)
    step = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    sector = p_sector[np.repeat(first[parent], per) + step]
    keep = touches(
        tuple(b[child] for b in box),
        sx[sector],
        sy[sector],
        reach_m[sector],
    )
    return child[keep], sector[keep]


def split_blocks(
    x: FloatArray,
    y: FloatArray,
    *,
    size: float,
    min_size: float,
    split_cells: int,
    sx: FloatArray,
    sy: FloatArray,
    reach_m: FloatArray,
    tree: shapely.STRtree,
) -> Blocks:
    """Blocks of ``size`` with their near sectors, the crowded ones split.

    A block with more than ``split_cells`` household x sector pairs is replaced by
    its quarters (down to ``min_size``); ``tree`` is an STRtree of the sectors'
    reach squares, grown beyond any rounding (its candidates hold every sector
    :func:`touches` keeps).
    """
    levels = levels_below(size, min_size)
    order, keys = quadtree_order(x, y, size, levels)
    xs, ys, n = x[order], y[order], len(order)
    start = _runs(keys >> 2 * levels)
    stop = np.r_[start[1:], n].astype(np.intp)
    box = _boxes(xs, ys, start)
    pairs = _from_tree(box, sx, sy, reach_m, tree)
    done: list[tuple[IntArray, IntArray, Box, IntArray, IntArray]] = []
    for level in range(levels + 1):
        count = np.bincount(pairs[0], minlength=len(start))
        crowded = (stop - start) * count > split_cells
        if level == levels or not crowded.any():
            done.append((start, stop, box, *pairs))
            break
        calm = ~crowded
        renumber = np.cumsum(calm) - 1
        kept = calm[pairs[0]]
        done.append(
            (
                start[calm],
                stop[calm],
                tuple(b[calm] for b in box),
                renumber[pairs[0][kept]].astype(np.intp),
                pairs[1][kept],
            )
        )
        runs = _runs(keys >> 2 * (levels - level - 1))
        parent = (np.searchsorted(start, runs, side="right") - 1).astype(np.intp)
        # the runs of the next level inside a crowded block (the blocks of this
        # level may not cover the order: only crowded blocks were split)
        inside = (parent >= 0) & (runs < stop[parent]) & crowded[parent]
        ends = np.r_[runs[1:], n].astype(np.intp)
        child_start, child_stop, parent = runs[inside], ends[inside], parent[inside]
        # reduceat runs to the next start: over all runs, then the crowded ones'
        child_box: Box = tuple(b[inside] for b in _boxes(xs, ys, runs))
        pairs = _from_parent(child_box, parent, pairs, len(start), sx, sy, reach_m)
        start, stop, box = child_start, child_stop, child_box
    offsets = np.cumsum([0] + [len(d[0]) for d in done])
    return Blocks(
        order,
        np.concatenate([d[0] for d in done]),
        np.concatenate([d[1] for d in done]),
        tuple(np.concatenate([d[2][i] for d in done]) for i in range(4)),
        np.concatenate([d[3] + o for d, o in zip(done, offsets, strict=False)]),
        np.concatenate([d[4] for d in done]),
    )

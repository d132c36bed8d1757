"""Several layers' pieces as one: joined, with their reaches and one index, kept.

A partitioned run measures every partition against the same fibre layers; the joint
pieces (a country's: 345,000) are joined and indexed once a process, or once before
the process forks its workers (:func:`joint_pieces` from the parent).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray


@dataclass(frozen=True)
class JointPieces:
    """Every layer's pieces in one array, each piece's reach, and their index."""

    geoms: NDArray[np.object_]
    reach: NDArray[np.float64]
    tree: shapely.STRtree


#: The last joint pieces, with what they were made of: their owners held weakly (the
#: entry goes with the first of them to go: a long-lived process keeps no country's
#: index once its layers are dropped) and the reaches.
_KEPT: list[tuple[tuple[weakref.ref[Any], ...], tuple[float, ...], JointPieces]] = []


def joint_pieces(
    owners: Sequence[object],
    pieces: Sequence[NDArray[np.object_]],
    reach: Sequence[float],
) -> JointPieces:
    """``pieces`` (one array a layer) joined, each with its layer's ``reach``, indexed.

    Kept for the next call with the same ``owners`` (the same objects, compared by
    identity: the layers' indexes; held by weak references) and reaches, until one of
    the owners is collected.

    Examples
    --------
    >>> import gc, shapely
    >>> class Index: pass
    >>> owners = [Index(), Index()]
    >>> a = np.array([shapely.Point(0, 0)], dtype=object)
    >>> b = np.array([shapely.Point(1, 1), shapely.Point(2, 2)], dtype=object)
    >>> got = joint_pieces(owners, [a, b], [0.0, 250.0])
    >>> got.reach.tolist(), len(got.tree)
    ([0.0, 250.0, 250.0], 3)
    >>> joint_pieces(owners, [a, b], [0.0, 250.0]) is got
    True
    >>> del owners[1]; _ = gc.collect()
    >>> len(_KEPT)
    0
    """
    key, reaches = tuple(owners), tuple(float(r) for r in reach)
    kept = list(_KEPT)  # one read: another thread may replace the entry meanwhile
    if kept:
        held, held_reach, joint = kept[0]
        if (
            len(held) == len(key)
            and all(a() is b for a, b in zip(held, key, strict=True))
            and held_reach == reaches
        ):
            return joint
    geoms = np.concatenate([*pieces, np.empty(0, dtype=object)])
    per_piece = np.concatenate(
        [np.full(len(p), r) for p, r in zip(pieces, reaches, strict=True)]
        + [np.empty(0)]
    )
    joint = JointPieces(geoms, per_piece, shapely.STRtree(geoms))
    _KEPT[:] = [(tuple(weakref.ref(o, _forget) for o in key), reaches, joint)]
    return joint


def _forget(gone: weakref.ref[Any]) -> None:
    """An owner was collected: drop the entry it belongs to (if it is still the last)."""
    kept = list(_KEPT)
    if kept and any(ref is gone for ref in kept[0][0]):
        # Another thread may have just put a newer entry in: it is dropped too, and
        # made again when asked for (a lost entry costs time, never an answer).
        _KEPT.clear()

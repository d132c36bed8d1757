"""The cheapest way to the fibre target: extensions per household and the greedy take.

The rule (DESIGN.md "Planning endpoints"), written so another system can reproduce it:

- every household point without fibre gets ``extension_m`` = min over fibre layers of
  (ground distance in the region's UTM zone to the layer's nearest feature - the
  layer's ``service_distance_m``; 0 for polygons), floored at 0;
- the points are sorted by ``extension_m`` ascending (ties: H3 cell, then the order of
  the household file) and taken until the households taken reach the gap;
- a weighted point (estimated households, or several households at one address) is
  taken whole: ``households_planned`` may exceed the gap by less than the last
  point's weight;
- ``max_extension_m`` is the extension of the last point taken (0 when the gap is 0).

Pure computation on arrays; the distances come from the layer adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: Points of the marginal-cost curve at most (the first, the last and the gap's kept).
CURVE_POINTS = 64


def extension_m(
    distances_m: Sequence[NDArray[np.float64]], reach_m: Sequence[float]
) -> NDArray[np.float64]:
    """Metres of network extension each household needs: ``max(0, min(d - reach))``.

    Parameters
    ----------
    distances_m : sequence of ndarray
        Per fibre layer, the ground distance of each household to its nearest feature
        (inf when the layer has none).
    reach_m : sequence of float
        Per layer, its ``service_distance_m`` (0 for polygons).

    Returns
    -------
    ndarray of float64
        inf for a household when no layer has a feature.

    Examples
    --------
    >>> import numpy as np
    >>> extension_m([np.array([100.0, 900.0]), np.array([50.0, 2000.0])], [250, 0])
    array([  0., 650.])
    """
    if len(distances_m) != len(reach_m):
        raise ValueError(
            f"distances_m has {len(distances_m)} layers; reach_m {len(reach_m)}"
        )
    if not distances_m:
        return np.zeros(0, dtype=np.float64)
    stacked = np.vstack([np.asarray(d, dtype=np.float64) for d in distances_m])
    need = stacked - np.asarray(reach_m, dtype=np.float64)[:, None]
    out: NDArray[np.float64] = np.maximum(need.min(axis=0), 0.0)
    return out


@dataclass(frozen=True)
class Plan:
    """The households taken, cheapest first, until a gap is closed.

    Attributes
    ----------
    gap_households : int
        Households to connect.
    households_planned : float
        Households of the points taken (``>= gap_households`` when reachable).
    points_planned : int
        Household points taken.
    max_extension_m : float
        Extension of the last point taken; 0 when nothing is taken.
    reachable : bool
        Whether the households without fibre can close the gap at all (with finite
        extensions).
    steps : DataFrame
        Per H3 cell of the points taken: ``h3, households, points, extension_m`` (the
        largest extension taken there), in the order the cells are completed.
    curve : list of [households, extension_m]
        The marginal-cost curve over every household without fibre: households
        connected (cumulative) against the extension needed to reach them.
    """

    gap_households: int
    households_planned: float
    points_planned: int
    max_extension_m: float
    reachable: bool
    steps: pd.DataFrame
    curve: list[list[float]]


def cheapest_order(
    extension: NDArray[np.float64], cells: NDArray[np.object_]
) -> NDArray[np.int64]:
    """Point order of the take: extension ascending, then H3 cell, then position."""
    position = np.arange(len(extension))
    keys = (position, np.asarray(cells, dtype=str), extension)
    return np.lexsort(keys).astype(np.int64)


def take_until(
    extension: NDArray[np.float64],
    weight: NDArray[np.float64],
    cells: NDArray[np.object_],
    *,
    gap: int,
) -> Plan:
    """Take households cheapest first until ``gap`` households are taken.

    Parameters
    ----------
    extension : ndarray of float64
        ``extension_m`` per household point (see :func:`extension_m`).
    weight : ndarray of float64
        Households at each point.
    cells : ndarray of str
        H3 cell of each point.
    gap : int
        Households to connect (``>= 0``).

    Returns
    -------
    Plan

    Examples
    --------
    >>> import numpy as np
    >>> p = take_until(np.array([30.0, 0.0, 10.0]), np.array([1.0, 2.0, 2.0]),
    ...                np.array(["b", "a", "a"], dtype=object), gap=3)
    >>> p.households_planned, p.max_extension_m, p.steps["h3"].tolist()
    (4.0, 10.0, ['a'])
    """
    if gap < 0:
        raise ValueError(f"gap was {gap}; expected 0 or more")
    order = cheapest_order(extension, cells)
    ext = extension[order]
    finite = np.isfinite(ext)
    cumulative = np.cumsum(np.where(finite, weight[order], 0.0))
    available = float(cumulative[-1]) if len(cumulative) else 0.0
    reachable = available >= gap
    if gap == 0:
        n = 0
    elif reachable:
        # The first point where the running total reaches the gap (float-safe: totals
        # of whole numbers are exact; estimates compare as the gap rule does).
        n = int(np.searchsorted(cumulative, gap - 1e-9, side="left")) + 1
    else:
        n = int(finite.sum())
    taken = order[:n]
    return Plan(
        gap_households=int(gap),
        households_planned=float(weight[taken].sum()),
        points_planned=n,
        max_extension_m=float(ext[n - 1]) if n else 0.0,
        reachable=bool(reachable),
        steps=cell_steps(extension[taken], weight[taken], cells[taken]),
        curve=cost_curve(ext[finite], cumulative[finite], gap_index=n - 1),
    )


def cell_steps(
    extension: NDArray[np.float64],
    weight: NDArray[np.float64],
    cells: NDArray[np.object_],
) -> pd.DataFrame:
    """Per H3 cell: households taken, points, and the largest extension taken there.

    Sorted by that extension (the order cells are completed), then by cell.
    """
    frame = pd.DataFrame(
        {"h3": np.asarray(cells, dtype=object), "households": weight, "ext": extension}
    )
    steps = (
        frame.groupby("h3", sort=True)
        .agg(
            households=("households", "sum"),
            points=("ext", "size"),
            extension_m=("ext", "max"),
        )
        .reset_index()
    )
    steps = steps.sort_values(["extension_m", "h3"], kind="stable")
    return steps.reset_index(drop=True)


def cost_curve(
    extension_sorted: NDArray[np.float64],
    cumulative: NDArray[np.float64],
    *,
    gap_index: int,
    points: int = CURVE_POINTS,
) -> list[list[float]]:
    """``[households connected, extension_m]`` at most ``points`` times, in take order.

    Each entry is a point of the take: the households connected once every point up
    to it is taken, and the extension that takes. The first and last points and the
    one closing the gap (``gap_index``, when ``>= 0``) are always kept.

    Examples
    --------
    >>> import numpy as np
    >>> cost_curve(np.array([0.0, 5.0, 9.0]), np.array([1.0, 3.0, 4.0]), gap_index=1)
    [[1.0, 0.0], [3.0, 5.0], [4.0, 9.0]]
    """
    n = len(extension_sorted)
    if n == 0:
        return []
    keep = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(np.int64))
    if 0 <= gap_index < n:
        keep = np.union1d(keep, [gap_index])
    return [[float(cumulative[i]), float(extension_sorted[i])] for i in keep.tolist()]

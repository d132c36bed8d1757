"""Household and commune coverage math: assignment, roll-ups, percentages, targets."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geodx.contract import GAP_COLUMNS, ID_COLUMNS, count, gap, pct, target_met
from geodx.manifest import Targets
from geodx.overlay import polygon_pairs
from geodx.points import HouseholdPoints


@dataclass
class Assignment:
    """Which commune each household falls in (``-1``: none)."""

    commune: NDArray[np.int64]
    overlap: NDArray[np.bool_]


def assign_communes(
    households: HouseholdPoints, communes: gpd.GeoDataFrame
) -> Assignment:
    """Assign every household to the commune covering it, boundary included.

    A household covered by several communes goes to the one with the smallest
    ``commune_code`` (``communes`` must be sorted by code, as :func:`read_communes`
    returns them) and is flagged in ``overlap``.

    Parameters
    ----------
    households : HouseholdPoints
    communes : GeoDataFrame
        Sorted by ``commune_code``; its CRS is where the test is made.

    Returns
    -------
    Assignment
    """
    x, y = households.xy(communes.crs)
    grid = households.grid(communes.crs, cell_size=households.grid_cell(communes.crs))
    geoms = np.asarray(communes.geometry.values, dtype=object).copy()
    point, geom = polygon_pairs(x, y, geoms, grid=grid)
    commune = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(commune, point, geom)
    hits = np.bincount(point, minlength=len(x))
    commune[hits == 0] = -1
    return Assignment(commune=commune, overlap=hits > 1)


@dataclass
class Overlay:
    """Per-household answers: commune, H3 cell, and each indicator and layer."""

    households: HouseholdPoints
    assignment: Assignment
    cells: np.ndarray  # uint64 H3 indexes
    indicators: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    sources: dict[str, str]


@dataclass
class IndicatorSums:
    """Household weights summed per group, for the total and each indicator and layer."""

    households: NDArray[np.float64]
    indicators: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    layers: dict[str, NDArray[np.float64]] = field(default_factory=dict)


def sum_by(
    group: NDArray[np.int64],
    n_groups: int,
    weight: NDArray[np.float64],
    indicators: dict[str, NDArray[np.bool_]],
    layers: dict[str, NDArray[np.bool_]],
) -> IndicatorSums:
    """Sum weights per group with ``bincount``; ``group`` in ``0..n_groups-1``."""

    def total(mask: NDArray[np.bool_] | None) -> NDArray[np.float64]:
        w = weight if mask is None else weight * mask
        return np.bincount(group, weights=w, minlength=n_groups).astype(np.float64)

    return IndicatorSums(
        households=total(None),
        indicators={k: total(v) for k, v in indicators.items()},
        layers={k: total(v) for k, v in layers.items()},
    )


def coverage_properties(
    sums: IndicatorSums,
    i: int,
    targets: Targets,
    *,
    integral: bool,
    layer_slugs: list[str],
) -> dict[str, object]:
    """The contract's figures for group ``i``: counts, percentages, flags and gap."""
    hh = float(sums.households[i])
    fibre = float(sums.indicators["fibre"][i])
    mobile = float(sums.indicators["mobile"][i])
    m5g = float(sums.indicators["mobile_5g"][i])
    props: dict[str, object] = {
        "households": count(hh, integral),
        "fibre_households": count(fibre, integral),
        "fibre_pct": pct(fibre, hh),
        "fibre_target_met": target_met(fibre, hh, targets.fibre_household_pct),
        GAP_COLUMNS["fibre"]: gap(fibre, hh, targets.fibre_household_pct),
        "mobile_households": count(mobile, integral),
        "mobile_pct": pct(mobile, hh),
        "mobile_5g_households": count(m5g, integral),
        "mobile_5g_pct": pct(m5g, hh),
    }
    for slug in layer_slugs:
        value = float(sums.layers[slug][i])
        props[f"layer_{slug}_households"] = count(value, integral)
        props[f"layer_{slug}_pct"] = pct(value, hh)
    return props


def commune_table(
    communes: gpd.GeoDataFrame,
    sums: IndicatorSums,
    targets: Targets,
    *,
    integral: bool,
    layer_slugs: list[str],
) -> pd.DataFrame:
    """One row of figures per commune (``sums`` index ``i + 1`` is commune ``i``)."""
    rows = []
    t = targets.mobile_commune_household_pct
    for i in range(len(communes)):
        props = coverage_properties(
            sums, i + 1, targets, integral=integral, layer_slugs=layer_slugs
        )
        hh = float(sums.households[i + 1])
        mobile = float(sums.indicators["mobile"][i + 1])
        props["mobile_covered"] = target_met(mobile, hh, t)
        props[GAP_COLUMNS["mobile"]] = gap(mobile, hh, t)
        rows.append(props)
    figures = pd.DataFrame(rows, index=communes.index)
    ids = communes[list(ID_COLUMNS)]
    return pd.DataFrame(pd.concat([ids, figures], axis=1))

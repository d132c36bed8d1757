"""Household and commune coverage math: assignment, roll-ups, percentages, targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geodx.contract_figures import (
    count,
    gap,
    pct,
    target_met,
)
from geodx.contract_names import (
    GAP_COLUMNS,
    ID_COLUMNS,
)
from geodx.contract_views import (
    ALL_OPERATORS_COLUMN,
    INDOOR_COLUMN,
    MARGIN_COLUMNS,
    OPERATOR_COUNT_COLUMNS,
    OPERATOR_KINDS,
    SENSITIVE_COLUMN,
    ViewColumn,
    indoor_layer_column,
    operator_column,
    sensitive,
    view_columns,
)
from geodx.kernels_sums import masked_sums
from geodx.manifest_specs import (
    LayerSpec,
    Targets,
    slugify,
)
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
    # Per operator, indoor and margin views (count column -> per-household mask).
    views: dict[str, np.ndarray] = field(default_factory=dict)
    columns: list[ViewColumn] = field(default_factory=list)


@dataclass
class IndicatorSums:
    """Household weights summed per group, for the total and each indicator and layer."""

    households: NDArray[np.float64]
    indicators: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    layers: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    views: dict[str, NDArray[np.float64]] = field(default_factory=dict)


def sum_by(
    group: NDArray[np.int64],
    n_groups: int,
    weight: NDArray[np.float64],
    indicators: dict[str, NDArray[np.bool_]],
    layers: dict[str, NDArray[np.bool_]],
    views: Mapping[str, NDArray[np.bool_]] | None = None,
) -> IndicatorSums:
    """Sum weights per group; ``group`` in ``0..n_groups-1``.

    The values of ``np.bincount(group, weights=weight * mask)`` for every mask.
    """
    return sum_with_extra(group, n_groups, weight, indicators, layers, views)[0]


def sum_with_extra(
    group: NDArray[np.int64],
    n_groups: int,
    weight: NDArray[np.float64],
    indicators: dict[str, NDArray[np.bool_]],
    layers: dict[str, NDArray[np.bool_]],
    views: Mapping[str, NDArray[np.bool_]] | None = None,
    extra: Sequence[NDArray[np.bool_]] = (),
) -> tuple[IndicatorSums, list[NDArray[np.float64]]]:
    """:func:`sum_by`, and the sums of the ``extra`` masks, all in the same passes.

    Every mask is summed by :func:`geodx.kernels_sums.masked_sums`: the values of
    one ``bincount`` a mask, several masks a pass when the weights are whole numbers.
    """
    named = [indicators, layers, dict(views or {})]
    masks = [m for d in named for m in d.values()] + list(extra)
    total, sums = masked_sums(group, n_groups, weight, masks)
    got = iter(sums)
    indicator_sums, layer_sums, view_sums = ({k: next(got) for k in d} for d in named)
    out = IndicatorSums(
        households=total,
        indicators=indicator_sums,
        layers=layer_sums,
        views=view_sums,
    )
    return out, list(got)


def coverage_properties(
    sums: IndicatorSums,
    i: int,
    targets: Targets,
    *,
    integral: bool,
    layer_slugs: list[str],
    columns: Sequence[ViewColumn] = (),
) -> dict[str, object]:
    """The contract's figures for group ``i``: counts, percentages, flags and gap.

    ``columns``: the view columns, null where ``sums.views`` lacks them.
    """
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
    for column in columns:
        sums_of = sums.views.get(column.name)
        got = None if sums_of is None else float(sums_of[i])
        props[column.name] = None if got is None else count(got, integral)
        if column.pct is not None:
            props[column.pct] = None if got is None else pct(got, hh)
    return props


def commune_table(
    communes: gpd.GeoDataFrame,
    sums: IndicatorSums,
    targets: Targets,
    *,
    integral: bool,
    layer_slugs: list[str],
    columns: Sequence[ViewColumn] = (),
) -> pd.DataFrame:
    """One row of figures per commune (``sums`` index ``i + 1`` is commune ``i``)."""
    rows = []
    t = targets.mobile_commune_household_pct
    margins = [sums.views.get(name) for name in MARGIN_COLUMNS]
    for i in range(len(communes)):
        props = coverage_properties(
            sums, i + 1, targets, integral=integral, layer_slugs=layer_slugs,
            columns=columns,
        )  # fmt: skip
        hh = float(sums.households[i + 1])
        mobile = float(sums.indicators["mobile"][i + 1])
        met = target_met(mobile, hh, t)
        props["mobile_covered"] = met
        props[GAP_COLUMNS["mobile"]] = gap(mobile, hh, t)
        if columns:
            minus, plus = (
                float(m[i + 1]) if m is not None else mobile for m in margins
            )
            props[SENSITIVE_COLUMN] = sensitive(met, minus, plus, hh, t)
        rows.append(props)
    figures = pd.DataFrame(rows, index=communes.index)
    ids = communes[list(ID_COLUMNS)]
    return pd.DataFrame(pd.concat([ids, figures], axis=1))


def _any(masks: Sequence[NDArray[np.bool_]], n: int) -> NDArray[np.bool_]:
    out = np.zeros(n, dtype=bool)
    for mask in masks:
        out |= mask
    return out


def operator_layers(layers: Sequence[LayerSpec]) -> dict[str, dict[str, list[str]]]:
    """Operator slug -> kind -> the slugs of its layers, in manifest order."""
    out: dict[str, dict[str, list[str]]] = {}
    for spec in layers:
        if spec.operator is None:
            continue
        kinds = out.setdefault(slugify(spec.operator), {k: [] for k in OPERATOR_KINDS})
        kinds[spec.kind].append(spec.slug)
    return out


def household_views(
    layers: Sequence[LayerSpec],
    covered: Mapping[str, NDArray[np.bool_]],
    shifted: Mapping[str, Mapping[float, NDArray[np.bool_]]],
    indoor: Mapping[str, NDArray[np.bool_]],
    n: int,
) -> tuple[dict[str, NDArray[np.bool_]], list[ViewColumn]]:
    """Per-household masks of the per-operator, indoor and margin views, and columns.

    ``covered``, ``shifted`` (delta -> mask) and ``indoor`` are keyed by layer slug;
    a view without a mask (an operator without a layer of a kind, no indoor layer,
    no operator with 4G/5G) is left out of the masks and written as null.
    """
    views: dict[str, NDArray[np.bool_]] = {}
    operators = operator_layers(layers)
    mobile_ops = []
    for op, kinds in operators.items():
        for kind, slugs in kinds.items():
            if slugs:
                mask = _any([covered[s] for s in slugs], n)
                views[operator_column(op, kind).name] = mask
                if kind == "mobile":
                    mobile_ops.append(mask)
    served = np.zeros(n, dtype=np.int64)
    for mask in mobile_ops:
        served += mask
    for k, name in enumerate(OPERATOR_COUNT_COLUMNS):
        last = k == len(OPERATOR_COUNT_COLUMNS) - 1
        views[name] = served >= k if last else served == k
    if mobile_ops:
        views[ALL_OPERATORS_COLUMN] = served == len(mobile_ops)
    mobile = [spec.slug for spec in layers if spec.kind == "mobile"]
    inside = [s for s in mobile if s in indoor]
    if inside:
        views[INDOOR_COLUMN] = _any([indoor[s] for s in inside], n)
    for s in inside:
        views[indoor_layer_column(s)] = indoor[s]
    for name, delta in MARGIN_COLUMNS.items():
        views[name] = _any([shifted[s][delta] for s in mobile], n)
    return views, view_columns(list(operators), inside)

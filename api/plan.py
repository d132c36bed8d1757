"""The cheapest way to the target, per commune and for the province (DESIGN.md).

Fibre: the households without fibre of ``plan.parquet`` (written by ``geodx run``),
cheapest extension first, taken until the gap is closed (:func:`geodx.plan.take_until`).
4G/5G: the communes below the commune rule, ranked by households missing, each with its
H3 cells holding households without 4G/5G, largest first (where a new site would serve
most households), from ``cells.parquet``.

:func:`commune_plan` and :func:`province_plan` are what the routes, the map pages and the
commune brief call; their answers are plain JSON-ready dicts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from api.errors import BadRequest
from api.plan_table import PlanRows, PlanTable
from api.results import RegionResults
from geodx.contract_figures import count
from geodx.contract_geojson import clean
from geodx.contract_names import (
    CELLS_FILE,
    ESTIMATED_MEMBER,
    GAP_COLUMNS,
    PLAN_FILE,
    TARGET_KEYS,
)
from geodx.errors import ServiceUnavailable
from geodx.heap import trim_heap
from geodx.plan import Plan, take_until

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PLAN_INDICATORS = ("fibre", "mobile")
#: Uncovered cells listed per commune in the province's 4G/5G plan (all in a commune's).
PROVINCE_CELLS = 10

FIBRE_RULE = (
    "every household without fibre gets extension_m = min over fibre layers of (ground "
    "distance in the region's UTM zone to the layer's nearest feature - its "
    "service_distance_m, 0 for polygons), floored at 0; sorted ascending (ties: H3 "
    "cell, then file order) and taken until the gap is reached; a point holding "
    "several (or estimated) households is taken whole"
)
MOBILE_RULE = (
    "communes below the 4G/5G commune rule (mobile_pct < mobile_commune_household_pct), "
    "largest number of households missing first; per commune its H3 cells holding "
    "households without 4G/5G, most such households first"
)

_tables: dict[tuple[str, str], PlanTable] = {}
_lock = threading.Lock()


def plan_rows(results: RegionResults) -> PlanTable:
    """``plan.parquet`` of the results, read once per results version (held small).

    Raises
    ------
    ServiceUnavailable
        The results were written before plan.parquet existed, or it cannot be read.
    """
    key = (str(results.folder), results.version)
    with _lock:
        if key not in _tables:
            _tables[key] = _read_plan(results.folder / PLAN_FILE)
        return _tables[key]


def _read_plan(path: Path) -> PlanTable:
    try:
        table = PlanTable.read(path)
    except (OSError, ValueError, KeyError):
        raise ServiceUnavailable(
            f"{PLAN_FILE} is missing from these results or unreadable; run geodx run "
            "again to plan"
        ) from None
    trim_heap()  # the frame it was read as goes back to the system
    return table


def _check(indicator: str) -> None:
    if indicator not in PLAN_INDICATORS:
        raise BadRequest(
            f"indicator was {indicator[:20]!r}; expected one of "
            f"{', '.join(PLAN_INDICATORS)}"
        )


def _integral(results: RegionResults) -> bool:
    return results.summary.get("counts_exact") is not False


def _marks(results: RegionResults) -> dict[str, Any]:
    marks: dict[str, Any] = {"synthetic": results.synthetic}
    if results.households_estimated:
        marks[ESTIMATED_MEMBER] = True
    return marks


def _fibre_answer(results: RegionResults, rows: PlanRows, gap: int) -> dict[str, Any]:
    integral = _integral(results)
    plan: Plan = take_until(
        rows.extension,
        rows.households.to_numpy(dtype=float),
        # NumPy strings: take_until compares and groups them as str
        cast("NDArray[np.object_]", rows.h3),
        gap=gap,
    )
    frame = plan.steps
    steps = [
        {
            "h3": str(h),
            "households": count(float(w), integral),
            "points": int(n),
            "extension_m": float(m),
        }
        for h, w, n, m in zip(
            frame["h3"].tolist(),
            frame["households"].tolist(),
            frame["points"].tolist(),
            frame["extension_m"].tolist(),
            strict=True,
        )
    ]
    return {
        "indicator": "fibre",
        "gap_households": plan.gap_households,
        "households_planned": count(plan.households_planned, integral),
        "points_planned": plan.points_planned,
        "max_extension_m": plan.max_extension_m,
        "reachable": plan.reachable,
        "households_without_fibre": count(float(rows.households.sum()), integral),
        "steps": steps,
        "curve": [[count(h, integral), m] for h, m in plan.curve],
        "curve_columns": ["households_connected", "extension_m"],
        "rule": FIBRE_RULE,
    }


def _uncovered_cells(
    results: RegionResults, code: str, limit: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    cells = results.cells
    mine = cells[cells["commune_code"] == code]
    missing = mine["households"].astype(float) - mine["mobile_households"].astype(float)
    frame = pd.DataFrame({"h3": mine["h3"].astype(str), "missing": missing})
    frame = frame[frame["missing"] > 0].sort_values(
        ["missing", "h3"], ascending=[False, True], kind="stable"
    )
    integral = _integral(results)
    shown = frame if limit is None else frame.head(limit)
    listed = [
        {"h3": h, "households_without_mobile": count(float(m), integral)}
        for h, m in zip(shown["h3"], shown["missing"], strict=True)
    ]
    return listed, len(frame)


def _mobile_commune(
    results: RegionResults, row: dict[str, Any], limit: int | None
) -> dict[str, Any]:
    code = str(row["commune_code"])
    cells, total = _uncovered_cells(results, code, limit)
    return {
        "commune_code": code,
        "commune_name": row.get("commune_name"),
        "households": clean(row.get("households")),
        "mobile_households": clean(row.get("mobile_households")),
        "mobile_pct": clean(row.get("mobile_pct")),
        "mobile_covered": clean(row.get("mobile_covered")),
        "gap_households": clean(row.get(GAP_COLUMNS["mobile"])),
        "uncovered_cells": cells,
        "uncovered_cells_total": total,
    }


def commune_plan(
    results: RegionResults, code: str, indicator: str = "fibre"
) -> dict[str, Any]:
    """The plan of one commune for ``fibre`` or ``mobile`` (JSON-ready).

    Fibre: ``gap_households``, ``households_planned`` (>= the gap), ``max_extension_m``
    (the extension of the last household taken), ``steps`` per H3 cell and ``curve``
    (households connected vs extension metres). Mobile: the commune's households missing
    to the commune rule and its uncovered H3 cells, most households first.

    Raises
    ------
    UnknownCommune
        No commune with that code (404).
    BadRequest
        Another indicator (400).
    ServiceUnavailable
        Results without plan.parquet (503; fibre only).
    """
    _check(indicator)
    row = results.commune(code)
    target = results.targets[TARGET_KEYS[indicator]]
    head: dict[str, Any] = {
        "commune_code": code,
        "commune_name": row.get("commune_name"),
        "target_pct": target,
        **_marks(results),
    }
    if indicator == "mobile":
        body = _mobile_commune(results, row, None)
        body.pop("commune_code")
        body.pop("commune_name")
        return {**head, "indicator": "mobile", **body, "rule": MOBILE_RULE}
    mine = plan_rows(results).of(code)
    gap = int(clean(row.get(GAP_COLUMNS["fibre"])) or 0)
    return {
        **head,
        "households": clean(row.get("households")),
        "fibre_households": clean(row.get("fibre_households")),
        **_fibre_answer(results, mine, gap),
    }


def province_plan(results: RegionResults, indicator: str = "fibre") -> dict[str, Any]:
    """The province's plan for ``fibre`` or ``mobile`` (JSON-ready).

    Fibre on the province's totals (its gap, every commune's households without
    fibre); mobile: the communes below the commune rule, most households missing first.
    Households outside every commune are not in the province's figures, nor its plan.
    """
    _check(indicator)
    summary = results.summary
    head: dict[str, Any] = {"region": results.name, **_marks(results)}
    if indicator == "mobile":
        table = results.gaps("mobile")
        communes = [
            _mobile_commune(results, results.commune(str(c)), PROVINCE_CELLS)
            for c in table["commune_code"]
        ]
        return {
            **head,
            "indicator": "mobile",
            "target_pct": results.targets[TARGET_KEYS["mobile"]],
            "communes_below": len(communes),
            "communes": communes,
            "cells_listed_per_commune": PROVINCE_CELLS,
            "rule": MOBILE_RULE,
            "source": CELLS_FILE,
        }
    assigned = plan_rows(results).assigned()
    gap = int(clean(summary.get(GAP_COLUMNS["fibre"])) or 0)
    return {
        **head,
        "target_pct": results.targets[TARGET_KEYS["fibre"]],
        "households": clean(summary.get("households")),
        "fibre_households": clean(summary.get("fibre_households")),
        **_fibre_answer(results, assigned, gap),
    }

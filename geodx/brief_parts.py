"""The brief's drawn parts: the commune's map, the plan and the trend with its status.

Each takes plain mappings (the plan of ``api/plan.py``, the history with its
trajectory) and returns what :mod:`geodx.brief` puts on the page, in its language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
import shapely

from geodx import svg
from geodx.brief_labels import label, number
from geodx.brief_rows import (
    DEADLINE_YEARS,
    STATUS_KEYS,
    Part,
    Row,
    Value,
    text_value,
)
from geodx.contract_names import TARGET_KEYS
from geodx.svg import FIBRE_CLASSES, CommuneMap


def map_part(
    geom: shapely.Geometry | None, cells: pd.DataFrame, lang: str, resolution: int
) -> tuple[CommuneMap | None, tuple[tuple[str, str], ...], str]:
    """The commune's map (cells coloured by fibre %), its legend and a note."""
    if geom is None or geom.is_empty:
        return None, (), ""
    hh = cells["households"].to_numpy(dtype=float)
    fibre = cells["fibre_households"].to_numpy(dtype=float)
    pcts = [None if h <= 0 else 100.0 * f / h for h, f in zip(hh, fibre, strict=True)]
    drawn = svg.commune_map(geom, zip(cells["h3"].astype(str), pcts, strict=True))
    bounds = [low for low, _ in FIBRE_CLASSES[1:]] + [None]
    legend = []
    for (low, colour), high in zip(FIBRE_CLASSES, bounds, strict=True):
        span = f"≥ {number(low, lang)} %" if high is None else (
            f"{number(low, lang)}–{number(high, lang)} %")  # fmt: skip
        legend.append((colour, span))
    legend.append((svg.NO_DATA_COLOUR, label("no_data", lang)))
    note = label("cells_count", lang, n=number(len(cells), lang), r=resolution)
    return drawn, tuple(legend), note


def plan_part(plan: Mapping[str, Any] | None, lang: str, top: int = 6) -> Part | None:
    """The plan (``commune_plan`` of ``api/plan.py``): totals and its first steps."""
    if not plan:
        return None
    rows = tuple(
        Row(label(key, lang), (Value.of(plan, name, lang, "plan."),))
        for key, name in (("plan_gap", "gap_households"),
                          ("plan_planned", "households_planned"),
                          ("plan_max", "max_extension_m"),
                          ("plan_total", "total_extension_m"))
        if name in plan
    )  # fmt: skip
    steps = [s for s in plan.get("steps") or [] if isinstance(s, Mapping)]
    shown = tuple(
        Row(str(s.get("h3", "")),
            (Value.of(s, "households", lang, "plan.step."),
             Value.of(s, "extension_m", lang, "plan.step.")))
        for s in steps[:top]
    )  # fmt: skip
    note = (
        label("plan_more", lang, n=number(len(steps) - top, lang))
        if len(steps) > top
        else ""
    )
    if not steps and plan.get("gap_households") == 0:
        note = label("plan_none", lang)
    if plan.get("reachable") is False:  # too few households without fibre to close it
        note = " ".join(x for x in (label("plan_unreachable", lang), note) if x)
    curve = [
        c for c in plan.get("curve") or [] if isinstance(c, Sequence) and len(c) == 2
    ]
    chart = svg.curve_chart(curve) if len(curve) > 1 else None
    return Part(rows=rows, steps=shown, note=note, curve=chart)


def iso_date(value: Any) -> date | None:
    """The date a value starts with (``YYYY-MM-DD``), None when it has none."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _deadline(key: Any) -> date | None:
    """``"2025"`` → the end of 2025 (the Resolution's deadlines); ISO dates as they are."""
    text = str(key)
    return (
        date(int(text), 12, 31) if text.isdigit() and len(text) == 4 else iso_date(text)
    )


def _projected(
    projection: Any, figure: str, last: tuple[date, float | None]
) -> list[tuple[date, float | None]]:
    """The dashed line of a projection: from the latest vintage to each deadline."""
    if not isinstance(projection, Mapping):
        return []
    ahead = sorted(
        (d, _num(at.get(figure)))
        for key, at in projection.items()
        if isinstance(at, Mapping) and (d := _deadline(key)) and d > last[0]
    )
    return [last, *ahead] if ahead else []


def trend_part(
    history: Mapping[str, Any] | None, lang: str, targets: Mapping[str, float]
) -> Part:
    """The trend: a chart of the vintages and their projection (dashed), the status.

    ``history`` is :func:`geodx.trajectory.trajectory`'s answer with ``vintages``
    (oldest first: ``as_of`` and the commune's figures): ``projection`` (deadline year
    → figure → value, or None) and ``status`` (indicator → deadline year → one of
    ``met``, ``on track``, ``at risk``, ``off track`` or None). None or no vintages:
    the part only says there is no history.
    """
    history = history or {}
    vintages = [v for v in history.get("vintages") or [] if isinstance(v, Mapping)]
    if not vintages:
        return Part(note=label("no_history", lang))
    lines: list[tuple[str, list[tuple[date, float | None]], bool]] = []
    names: list[tuple[str, str]] = []
    for key, figure in (("trend_fibre", "fibre_pct"), ("trend_mobile", "mobile_pct")):
        pts = [
            (d, _num(v.get(figure)))
            for v in vintages
            if (d := iso_date(v.get("as_of")))
        ]
        lines.append((key, pts, False))
        names.append((label(key, lang), "solid"))
        ahead = _projected(history.get("projection"), figure, pts[-1]) if pts else []
        if ahead:
            lines.append((key, ahead, True))
            suffix = label("projection_suffix", lang)
            names.append((f"{label(key, lang)} {suffix}", "dashed"))
    goals = (("trend_fibre", targets[TARGET_KEYS["fibre"]]),
             ("trend_mobile", targets[TARGET_KEYS["mobile"]]))  # fmt: skip
    chart = svg.trend_chart(lines, targets=goals)
    legend = [(s.colour, n, d) for s, (n, d) in zip(chart.series, names, strict=True)]
    for (_, colour), key, (_, pct) in zip(
        chart.targets, ("trend_target", "trend_rule"), goals, strict=True
    ):
        legend.append((colour, label(key, lang, pct=number(pct, lang, 2)), "dotted"))
    return Part(rows=_status_rows(history.get("status"), lang), chart=chart,
                legend=tuple(legend), note=_projection_note(history, lang))  # fmt: skip


def _status_rows(status: Any, lang: str) -> tuple[Row, ...]:
    """One row per indicator: its status at each deadline (2025, 2030)."""
    if not isinstance(status, Mapping):
        return ()
    rows = []
    for ind in ("fibre", "mobile"):
        at = status.get(ind)
        if not isinstance(at, Mapping):
            continue
        values = []
        for year in DEADLINE_YEARS:
            s = str(at.get(year) or "").replace(" ", "_")
            text = label(f"status_{s}", lang) if s in STATUS_KEYS else "–"
            values.append(text_value(f"{ind}_status_{year}", text))
        latest = str(at.get(DEADLINE_YEARS[0]) or "").replace(" ", "_")
        rows.append(Row(label(ind, lang), tuple(values), latest))
    return tuple(rows)


def _projection_note(history: Mapping[str, Any], lang: str) -> str:
    if history.get("projection") is None:
        return label("no_projection", lang)
    return ""


def _num(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None

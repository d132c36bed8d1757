"""The commune brief for officials: the data of one printable page, and the page.

:func:`build_brief` gathers, from a run's results (one commune's row of
``communes.geojson``, ``summary.json``, its rows of ``cells.parquet`` and its polygon),
everything the page shows, formatted for the page's language; optional parts — the plan
(``api/plan.py``) and the history with its trajectory — come in as plain mappings. Then
:func:`render_brief` fills the one constant template ``geodx/brief.html`` (Jinja2,
autoescape on): data only ever reaches it as variables, so a name like ``{{ 7*7 }}`` or
``<script>`` is shown as written. The page has no script; its one inline style is the
constant :data:`STYLE` (``brief.css``), allowed by its hash (:func:`style_hash`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

import jinja2
import markupsafe
import pandas as pd
import shapely

from geodx import svg
from geodx.brief_labels import LABELS, LANGS, label, number
from geodx.brief_rows import (
    DEADLINE_YEARS,
    STATUS_KEYS,
    Part,
    Row,
    Value,
    figures,
    operators,
    serving,
    targets,
    text_value,
)
from geodx.contract_figures import targets_from
from geodx.contract_names import TARGET_KEYS
from geodx.svg import FIBRE_CLASSES, CommuneMap

__all__ = ["LANGS", "Brief", "build_brief", "render_brief", "style_hash"]


@dataclass(frozen=True)
class Brief:
    """Everything one brief shows, in its language."""

    lang: str
    labels: dict[str, str]
    commune_code: str
    commune_name: str
    district_name: str
    region: str
    synthetic: bool
    estimated: bool
    vintage: str
    households_vintage: str
    figures: tuple[Row, ...]
    operators: tuple[Row, ...]
    serving: tuple[Row, ...]
    targets: tuple[Row, ...]
    map: CommuneMap | None
    map_legend: tuple[tuple[str, str], ...]
    map_note: str
    plan: Part | None
    trend: Part | None
    definitions: tuple[tuple[str, str], ...]
    layers: tuple[tuple[str, str, str, str, str, str], ...]
    inputs: tuple[tuple[str, str, str], ...]
    engine_version: str
    results_version: str


def _labels(lang: str) -> dict[str, str]:
    return {k: label(k, lang) for k, v in LABELS.items() if "{" not in v[0]}


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


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _deadline(key: Any) -> date | None:
    """``"2025"`` → the end of 2025 (the Resolution's deadlines); ISO dates as they are."""
    text = str(key)
    return date(int(text), 12, 31) if text.isdigit() and len(text) == 4 else _date(text)


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
            (d, _num(v.get(figure))) for v in vintages if (d := _date(v.get("as_of")))
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


def _short(digest: Any) -> str:
    text = str(digest or "").removeprefix("sha256:")
    return text[:12]


#: The definitions of the figures the page shows (``summary.json`` has them all, and
#: more for figures the brief leaves out); in this order.
PAGE_DEFINITIONS = (
    "households",
    "household_commune",
    "fibre_covered",
    "fibre_gap_households",
    "mobile_covered_household",
    "mobile_5g_covered_household",
    "mobile_indoor_households",
    "commune_mobile_covered",
    "mobile_gap_households",
    "mobile_commune_pct",
    "operator_households",
    "mobile_operators_households",
    "mobile_all_operators_households",
    "h3_resolution",
)


def _threshold(item: Mapping[str, Any]) -> str:
    if item.get("min_rsrp_dbm") is not None:
        return f"RSRP ≥ {item['min_rsrp_dbm']} dBm"
    if item.get("service_distance_m") is not None:
        return f"≤ {item['service_distance_m']} m"
    return str(item.get("source") or "")


def method(summary: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """Definitions, the layers (threshold, file, short checksum) and the other inputs."""
    defs = summary.get("definitions") or {}
    defs = defs if isinstance(defs, Mapping) else {}
    definitions = tuple(
        (key, str(defs[key]))
        for key in PAGE_DEFINITIONS
        if isinstance(defs.get(key), str | int | float)
    )
    raw = summary.get("inputs") or []
    if isinstance(raw, Mapping):  # older results: name -> checksum
        raw = [{"role": k, "path": k, "sha256": v} for k, v in raw.items()]
    files_of = {
        str(i.get("role", "")): (str(i.get("path", "")), _short(i.get("sha256")))
        for i in raw
        if isinstance(i, Mapping)
    }
    layers = []
    for item in summary.get("layers") or []:
        if not isinstance(item, Mapping):
            continue
        kind = " ".join(str(x) for x in (item.get("kind"), item.get("technology")) if x)
        path, digest = files_of.pop(f"layer:{item.get('id', '')}", ("", ""))
        layers.append((str(item.get("id", "")), str(item.get("operator") or ""),
                       kind, _threshold(item), path, digest))  # fmt: skip
    inputs = tuple((role, path, digest) for role, (path, digest) in files_of.items())
    return definitions, tuple(layers), inputs


def vintage(summary: Mapping[str, Any], version: str, history: Any) -> str:
    """The data's date: the run's ``as_of``, the latest vintage, else the results'."""
    for value in (summary.get("as_of"),
                  ((history or {}).get("vintages") or [{}])[-1].get("as_of")):  # fmt: skip
        if _date(value):
            return str(value)[:10]
    stamp = version[:8]
    if stamp.isdigit():
        return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}"
    return "–"


def build_brief(
    row: Mapping[str, Any],
    summary: Mapping[str, Any],
    *,
    geometry: shapely.Geometry | None,
    cells: pd.DataFrame,
    lang: str = "vi",
    version: str = "",
    plan: Mapping[str, Any] | None = None,
    history: Mapping[str, Any] | None = None,
) -> Brief:
    """The brief of one commune, in ``lang`` (``vi`` or ``en``).

    Parameters
    ----------
    row : mapping
        The commune's properties of ``communes.geojson``, with its gap columns.
    summary : mapping
        ``summary.json``.
    geometry : shapely geometry or None
        The commune's polygon (WGS84).
    cells : DataFrame
        The commune's rows of ``cells.parquet``.
    lang : str
        ``vi`` (default) or ``en``.
    version : str
        The results version.
    plan, history : mapping, optional
        The plan (``commune_plan``) and the history (see :func:`trend_part`).

    Raises
    ------
    ValueError
        ``lang`` is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise ValueError(f"lang was {lang[:10]!r}; expected one of {', '.join(LANGS)}")
    t = targets_from(summary.get("targets"))
    res = summary.get("h3_resolution")
    drawn, legend, note = map_part(
        geometry, cells, lang, res if isinstance(res, int) else 9
    )
    definitions, layers, inputs = method(summary)
    return Brief(
        lang=lang,
        labels=_labels(lang),
        commune_code=str(row.get("commune_code", "")),
        commune_name=str(row.get("commune_name") or ""),
        district_name=str(row.get("district_name") or ""),
        region=str(summary.get("region") or ""),
        synthetic=bool(summary.get("synthetic", False)),
        estimated=summary.get("households_estimated") is True,
        vintage=vintage(summary, version, history),
        households_vintage=str(summary.get("households_vintage") or ""),
        figures=figures(row, lang),
        operators=operators(row, summary, lang),
        serving=serving(row, lang),
        targets=targets(row, summary, lang),
        map=drawn,
        map_legend=legend,
        map_note=note,
        plan=plan_part(plan, lang),
        trend=trend_part(history, lang, t),
        definitions=definitions,
        layers=layers,
        inputs=inputs,
        engine_version=str(summary.get("engine_version") or ""),
        results_version=version,
    )


STYLE = (files("geodx") / "brief.css").read_text(encoding="utf-8")


def style_hash() -> str:
    """The CSP source allowing the page's one inline style."""
    digest = hashlib.sha256(STYLE.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.from_string((files("geodx") / "brief.html").read_text(encoding="utf-8"))


def render_brief(brief: Brief) -> str:
    """The brief's HTML page: the constant template with the brief as its variables."""
    # the stylesheet is the package's constant file, never data: not escaped
    return _template().render(b=brief, style=markupsafe.Markup(STYLE))

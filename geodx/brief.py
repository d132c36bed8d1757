"""The commune brief for officials: the data of one printable page, and the page.

:func:`build_brief` gathers, from a run's results (one commune's row of
``communes.geojson``, ``summary.json``, its rows of ``cells.parquet`` and its polygon),
everything the page shows, formatted for the page's language; optional parts — the plan
(``api/plan.py``) and the history with its trajectory — come in as plain mappings
(drawn by :mod:`geodx.brief_parts`). Then :func:`render_brief` fills the one constant
template ``geodx/brief.html`` (Jinja2, autoescape on): data only ever reaches it as
variables, so a name like ``{{ 7*7 }}`` or ``<script>`` is shown as written. The page
has no script; its one inline style is the constant :data:`STYLE` (``brief.css``),
allowed by its hash (:func:`style_hash`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jinja2
import markupsafe
import pandas as pd
import shapely

from geodx.brief_labels import LABELS, LANGS, label
from geodx.brief_parts import iso_date, map_part, plan_part, trend_part
from geodx.brief_rows import (
    Part,
    Row,
    figures,
    operators,
    serving,
    targets,
)
from geodx.contract_figures import targets_from
from geodx.svg import CommuneMap


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
        if iso_date(value):
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

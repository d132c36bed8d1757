"""The ``/gaps`` tables: rank, targets, the per-operator and 4G/5G views, a district filter.

Every column of an export is a commune property of ``communes.geojson`` (the same name
in English) or one of ``rank``, ``indicator``, ``covered_households``, ``pct``,
``target_pct``, ``communes_target_pct`` and ``note``. The title block and the About
sheet carry what CSV cannot: region, date, source, synthetic, estimates, definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from api.errors import BadRequest, NotFound
from api.exports import INDICATOR_VI, localised_headers, to_csv, to_xlsx
from api.i18n import definitions_vi
from geodx.contract_names import (
    ESTIMATED_NOTE,
    SYNTHETIC_NOTE,
)
from geodx.contract_views import (
    ALL_OPERATORS_COLUMN,
    INDOOR_COLUMN,
    MARGIN_COLUMNS,
    MEASURED_BELOW_COLUMN,
    OPERATOR_COUNT_COLUMNS,
    SENSITIVE_COLUMN,
    indoor_layer_column,
    measured_columns,
    operator_column,
)
from geodx.outdir_check import read_marker

if TYPE_CHECKING:
    from api.results import RegionResults

NO_DISTRICTS = (
    "district_code: this region's communes have no district (since July 2025 communes "
    "sit directly under the province); leave the filter out"
)
SHEETS = {
    ("fibre", "en"): "gaps fibre",
    ("mobile", "en"): "gaps mobile",
    ("fibre", "vi"): "Xã chưa đạt cáp quang",
    ("mobile", "vi"): "Xã chưa đạt 4G-5G",
}
ABOUT_SHEET = {"en": "About", "vi": "Giới thiệu"}


def _operators(results: RegionResults, kind: str) -> list[str]:
    """Slugs of the operators with a layer of ``kind`` (their columns are not null)."""
    out = []
    for o in results.summary.get("operators") or []:
        if not isinstance(o, dict) or not isinstance(o.get("slug"), str):
            continue
        layers = o.get("layers")
        if not isinstance(layers, dict) or layers.get(kind) != []:
            out.append(o["slug"])
    return out


def _slugs(results: RegionResults, kind: str) -> tuple[list[str], list[str], list[str]]:
    """Operator slugs, indoor layer slugs and measured layer slugs of the results."""
    operators = _operators(results, kind)
    indoor = [
        str(x["slug"])
        for x in results.summary.get("layers") or []
        if isinstance(x, dict) and x.get("indoor_loss_db") is not None
    ]
    return operators, indoor, [str(x["slug"]) for x in _measured(results)]


def _measured(results: RegionResults) -> list[dict[str, Any]]:
    defs = results.summary.get("definitions") or {}
    found = defs.get("measured_layers") if isinstance(defs, dict) else None
    return [
        x for x in found or [] if isinstance(x, dict) and isinstance(x.get("slug"), str)
    ]


def view_columns(results: RegionResults, indicator: str) -> list[str]:
    """The view properties of ``indicator``'s export, in output order, as written."""
    operators, indoor, measured = _slugs(results, indicator)
    names: list[str] = []
    for slug in operators:
        column = operator_column(slug, indicator)
        names += [column.name, column.pct or ""]
    if indicator == "mobile":
        names += [*OPERATOR_COUNT_COLUMNS, ALL_OPERATORS_COLUMN]
        names += [INDOOR_COLUMN, "mobile_indoor_pct"]
        names += [indoor_layer_column(s) for s in indoor]
        names += [*MARGIN_COLUMNS, SENSITIVE_COLUMN]
        names += [c.name for c in measured_columns(measured)]
        names += [MEASURED_BELOW_COLUMN]
    present = set(results.communes.columns)
    return list(dict.fromkeys(n for n in names if n in present))


def check_district(results: RegionResults, district_code: str) -> None:
    """Raise unless ``district_code`` is a district of the results.

    Raises
    ------
    BadRequest
        The region has no districts (2025 boundaries).
    NotFound
        No commune lies in that district.
    """
    codes = {str(c) for c in results.communes["district_code"] if c is not None}
    if not codes:
        raise BadRequest(NO_DISTRICTS)
    if district_code not in codes:
        raise NotFound(
            f"no district with code '{district_code[:40]}'; see /collections/districts"
        )


def gap_rows(
    results: RegionResults, indicator: str, district_code: str | None = None
) -> pd.DataFrame:
    """The gap table with ``rank`` first, filtered to one district when given.

    ``rank`` is 1 for the largest gap of the region (communes with equal gaps share a
    rank: 1 + the number of communes with a larger gap), before any filter.
    """
    table = results.gaps_tables[indicator]
    rank = table["gap_households"].astype(float).rank(method="min", ascending=False)
    table = table.assign(rank=rank.astype("int64"))
    table = table[["rank", *[c for c in table.columns if c != "rank"]]]
    if district_code is not None:
        check_district(results, district_code)
        keep = [
            c is not None and str(c) == district_code for c in table["district_code"]
        ]
        table = table.loc[np.asarray(keep, dtype=bool)]
    return table.reset_index(drop=True)


def notes(results: RegionResults) -> str:
    """The synthetic and estimated marks, joined; empty for real household points."""
    marks = [SYNTHETIC_NOTE] * results.synthetic
    marks += [ESTIMATED_NOTE] * results.households_estimated
    return " · ".join(marks)


def export_table(
    results: RegionResults, indicator: str, district_code: str | None = None
) -> pd.DataFrame:
    """The export's rows with English column names (= the commune property names)."""
    rows = gap_rows(results, indicator, district_code)
    views = view_columns(results, indicator)
    pos = rows.pop("_pos").to_numpy(dtype=int)
    extra = results.communes.iloc[pos][views].reset_index(drop=True)
    out = pd.concat([rows, extra], axis=1)
    if indicator == "mobile":
        at = list(out.columns).index("target_pct") + 1
        out.insert(at, "communes_target_pct", results.targets["mobile_commune_pct"])
    out["note"] = notes(results)
    return out


def results_date(results: RegionResults) -> str:
    """When the results were computed (the output folder's marker), else ``—``."""
    marker = read_marker(results.folder) or {}
    created = marker.get("created")
    return str(created) if isinstance(created, str) else "—"


def _yes(flag: bool, lang: str) -> str:
    return ("có" if flag else "không") if lang == "vi" else ("yes" if flag else "no")


def _target_rows(results: RegionResults, indicator: str, lang: str) -> list[list[Any]]:
    t = results.targets
    vi = lang == "vi"
    if indicator == "fibre":
        pct = f"{t['fibre_household_pct']:g}"
        text = (
            f"cáp quang đến ≥ {pct}% số hộ của mỗi xã"
            if vi
            else f"fibre available to ≥ {pct}% of the households of each commune"
        )
        return [["Chỉ tiêu" if vi else "Target", text]]
    rule = f"{t['mobile_commune_household_pct']:g}"
    goal = f"{t['mobile_commune_pct']:g}"
    s = results.summary
    now = f"{s.get('mobile_commune_pct')}% ({s.get('communes_mobile_covered')}/"
    now += f"{s.get('communes_with_households')})"
    if vi:
        return [
            ["Quy tắc xã", f"xã được tính là có 4G/5G khi ≥ {rule}% số hộ có sóng"],
            ["Chỉ tiêu tỉnh", f"{goal}% số xã có 4G/5G; hiện đạt {now} xã"],
        ]
    return [
        [
            "Commune rule",
            f"a commune counts as 4G/5G-covered at ≥ {rule}% of households",
        ],
        ["Province target", f"{goal}% of communes 4G/5G-covered; now {now} communes"],
    ]


def title_block(
    results: RegionResults, indicator: str, lang: str, district_code: str | None
) -> list[list[Any]]:
    """Label/value rows above the table: what, where, when, from what, by which rule."""
    vi = lang == "vi"
    s = results.summary
    what = {
        ("fibre", False): "Communes below the fibre target",
        ("mobile", False): "Communes below the 4G/5G commune rule",
        ("fibre", True): "Các xã chưa đạt chỉ tiêu cáp quang",
        ("mobile", True): "Các xã chưa đạt quy tắc 4G/5G",
    }[indicator, vi]
    households = (
        ("ước tính từ số liệu thống kê" if vi else "estimated from counts")
        if results.households_estimated
        else ("điểm hộ" if vi else "household points")
    )
    method = s.get("households_method")
    rows: list[list[Any]] = [[SYNTHETIC_NOTE]] if results.synthetic else []
    rows += [[ESTIMATED_NOTE]] if results.households_estimated else []
    rows += [
        [what],
        ["Địa bàn" if vi else "Region", results.name],
        ["Ngày tính kết quả" if vi else "Results computed", results_date(results)],
        ["Nguồn" if vi else "Source", str(s.get("source") or "—")],
        ["Phần mềm" if vi else "Engine", f"geodx {s.get('engine_version') or '—'}"],
        ["Dữ liệu giả lập" if vi else "Synthetic data", _yes(results.synthetic, lang)],
        ["Số hộ" if vi else "Households", households],
    ]
    if isinstance(method, str) and method:
        rows.append(["Cách ước tính" if vi else "Estimation method", method])
    if isinstance(s.get("households_vintage"), str):
        rows.append(["Số liệu ngày" if vi else "Counts as of", s["households_vintage"]])
    rows += _target_rows(results, indicator, lang)
    gap = _definitions(results, lang).get(f"{indicator}_gap_households")
    if isinstance(gap, str):
        rows.append(["Số hộ còn thiếu" if vi else "Gap", gap])
    if district_code is not None:
        rows.append(["Huyện" if vi else "District", district_code])
    more = (
        "trang Giới thiệu; GET /summary?lang=vi" if vi else "sheet About; GET /summary"
    )
    rows.append(["Định nghĩa" if vi else "Definitions", more])
    return rows


def _definitions(results: RegionResults, lang: str) -> dict[str, Any]:
    defs = results.summary.get("definitions")
    defs = defs if isinstance(defs, dict) else {}
    return definitions_vi(defs, results.targets) if lang == "vi" else dict(defs)


def about_rows(
    results: RegionResults, indicator: str, lang: str, columns: Sequence[str]
) -> list[list[Any]]:
    """The About sheet: the title block, every definition, the columns, the inputs."""
    vi = lang == "vi"
    rows = title_block(results, indicator, lang, None)[:-1]
    rows.append([])
    rows.append(["Định nghĩa" if vi else "Definitions"])
    for key, value in _definitions(results, lang).items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            rows.append([key, value])
    rows.append([])
    rows.append(["Cột" if vi else "Columns", "API"])
    names = localised_headers(columns, lang, display_names(results))
    rows += [[shown, name] for shown, name in zip(names, columns, strict=True)]
    rows.append([])
    rows.append(["Tệp đầu vào" if vi else "Inputs", "sha256"])
    inputs = results.summary.get("inputs")
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict):
            rows.append([f"{item.get('role')}: {item.get('path')}", item.get("sha256")])
    return rows


def display_names(results: RegionResults) -> dict[str, str]:
    """Slug -> the name people know: operators, indoor and measured layers."""
    names: dict[str, str] = {}
    for o in results.summary.get("operators") or []:
        if isinstance(o, dict) and isinstance(o.get("slug"), str):
            names[o["slug"]] = str(o.get("operator"))
    for layer in results.layers:
        names.setdefault(layer.slug, layer.id)
    for m in _measured(results):
        names.setdefault(m["slug"], str(m.get("id")))
    return names


def gap_export(
    results: RegionResults,
    indicator: str,
    fmt: str,
    lang: str,
    district_code: str | None = None,
) -> bytes:
    """The gap table as ``csv`` or ``xlsx`` bytes (see the module's docstring)."""
    table = export_table(results, indicator, district_code)
    headers = localised_headers(list(table.columns), lang, display_names(results))
    if lang == "vi":
        table = table.assign(indicator=table["indicator"].map(INDICATOR_VI))
    shown = table.set_axis(headers, axis=1)
    if fmt == "csv":
        return to_csv(shown)
    return to_xlsx(
        shown,
        title=SHEETS[indicator, lang],
        block=title_block(results, indicator, lang, district_code),
        about=about_rows(results, indicator, lang, list(table.columns)),
        about_title=ABOUT_SHEET[lang],
    )

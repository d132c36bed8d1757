"""Gap tables as CSV (UTF-8 with BOM, for Excel) and .xlsx, with English or Vietnamese headers."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

HEADERS = {
    "commune_code": ("commune_code", "Mã xã"),
    "commune_name": ("commune_name", "Tên xã"),
    "district_code": ("district_code", "Mã huyện"),
    "district_name": ("district_name", "Tên huyện"),
    "indicator": ("indicator", "Chỉ tiêu"),
    "households": ("households", "Số hộ"),
    "covered_households": ("covered_households", "Số hộ được phủ sóng/cáp"),
    "pct": ("pct", "Tỷ lệ (%)"),
    "target_pct": ("target_pct", "Mục tiêu (%)"),
    "gap_households": ("gap_households", "Số hộ còn thiếu"),
}
HEADERS.update(
    {
        "rank": ("rank", "Hạng"),
        "communes_target_pct": ("communes_target_pct", "Chỉ tiêu tỉnh (% số xã)"),
        "note": ("note", "Ghi chú"),
        "mobile_operators_0_households": (
            "mobile_operators_0_households",
            "Số hộ không có 4G/5G của nhà mạng nào",
        ),
        "mobile_operators_1_households": (
            "mobile_operators_1_households",
            "Số hộ có 4G/5G của 1 nhà mạng",
        ),
        "mobile_operators_2_households": (
            "mobile_operators_2_households",
            "Số hộ có 4G/5G của 2 nhà mạng",
        ),
        "mobile_operators_3plus_households": (
            "mobile_operators_3plus_households",
            "Số hộ có 4G/5G của 3+ nhà mạng",
        ),
        "mobile_all_operators_households": (
            "mobile_all_operators_households",
            "Số hộ có 4G/5G của mọi nhà mạng",
        ),
        "mobile_indoor_households": (
            "mobile_indoor_households",
            "Số hộ có 4G/5G trong nhà",
        ),
        "mobile_indoor_pct": ("mobile_indoor_pct", "Tỷ lệ hộ có 4G/5G trong nhà (%)"),
        "mobile_households_minus3db": (
            "mobile_households_minus3db",
            "Số hộ có 4G/5G ở −3 dB",
        ),
        "mobile_households_plus3db": (
            "mobile_households_plus3db",
            "Số hộ có 4G/5G ở +3 dB",
        ),
        "mobile_covered_sensitive": (
            "mobile_covered_sensitive",
            "Trạng thái 4G/5G đổi ở ±3 dB",
        ),
        "mobile_covered_measured_below_households": (
            "mobile_covered_measured_below_households",
            "Số hộ có 4G/5G nhưng đo được chậm hơn",
        ),
    }
)
INDICATOR_VI = {"fibre": "Cáp quang", "mobile": "4G/5G"}
# Vietnamese headers of the mobile table's target column (the commune rule).
MOBILE_TARGET_VI = "Ngưỡng xã đạt 4G/5G (% số hộ)"
_OPERATOR = re.compile(
    r"operator_(?P<slug>[a-z0-9_]+)_(?P<kind>fibre|mobile)_(?P<part>households|pct)"
)
_INDOOR = re.compile(r"layer_(?P<slug>[a-z0-9_]+)_indoor_households")
MEASURED_VI = {  # suffix -> header; longest first, so a suffix is not read as a slug
    "_too_few_tests_households": "Số hộ không đủ lượt đo",
    "_untested_households": "Số hộ chưa có lượt đo",
    "_below_households": "Số hộ đo được chậm hơn",
    "_households": "Số hộ đo được đạt tốc độ",
}


def _view_header_vi(name: str, names: Mapping[str, str]) -> str | None:
    """The Vietnamese header of a per-operator, per-layer or measured column."""
    if m := _OPERATOR.fullmatch(name):
        kind = "cáp quang" if m["kind"] == "fibre" else "4G/5G"
        who = names.get(m["slug"], m["slug"])
        if m["part"] == "pct":
            return f"Tỷ lệ hộ có {kind} — {who} (%)"
        return f"Số hộ có {kind} — {who}"
    if m := _INDOOR.fullmatch(name):
        return f"Số hộ có sóng trong nhà — {names.get(m['slug'], m['slug'])}"
    if name.startswith("measured_"):
        rest = name[len("measured_") :]
        found = [
            (rest[: -len(suffix)], text)
            for suffix, text in MEASURED_VI.items()
            if rest.endswith(suffix) and len(rest) > len(suffix)
        ]
        known = [f for f in found if f[0] in names] or found
        if known:
            slug, text = known[0]
            return f"{text} — {names.get(slug, slug)}"
    return None


def localised_headers(
    columns: Sequence[str], lang: str, names: Mapping[str, str] | None = None
) -> list[str]:
    """Column headers for ``lang``: the property names in English, Vietnamese with vi.

    ``names`` maps operator and layer slugs to the names people know (``VNPT``).

    Examples
    --------
    >>> localised_headers(["rank", "operator_vnpt_fibre_households"], "vi", {"vnpt": "VNPT"})
    ['Hạng', 'Số hộ có cáp quang — VNPT']
    >>> localised_headers(["rank", "operator_vnpt_fibre_households"], "en")
    ['rank', 'operator_vnpt_fibre_households']
    """  # noqa: E501 - a doctest line
    if lang != "vi":
        return [str(c) for c in columns]
    mobile = "communes_target_pct" in columns
    out = []
    for c in columns:
        if c == "target_pct" and mobile:
            out.append(MOBILE_TARGET_VI)
        elif c in HEADERS:
            out.append(HEADERS[c][1])
        else:
            out.append(_view_header_vi(str(c), names or {}) or str(c))
    return out


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# OWASP "CSV injection": a text cell starting with one of these is read as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def neutralise(value: Any) -> Any:
    """A cell safe for spreadsheets: text that would start a formula gets a leading ``'``.

    Numbers (negative ones too, and text that is a plain number) stay as they are.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("-1+2"), neutralise("-12.5"), neutralise(-3)
    ("'=HYPERLINK(1)", "'-1+2", '-12.5', -3)
    """
    formula = isinstance(value, str) and value.startswith(FORMULA_START)
    return "'" + value if formula and not _NUMBER.fullmatch(value) else value


def _rows(table: pd.DataFrame) -> list[list[Any]]:
    return [
        [neutralise(_cell(v)) for v in row] for row in table.itertuples(index=False)
    ]


def to_csv(table: pd.DataFrame, *, note: str | None = None) -> bytes:
    """CSV bytes, UTF-8 with a byte-order mark so Excel reads the diacritics.

    The header is the first line unless ``note`` is given (a first line of its own);
    booleans are written ``true``/``false``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if note:
        writer.writerow([neutralise(note)])
    writer.writerow([neutralise(str(c)) for c in table.columns])
    for row in _rows(table):
        writer.writerow([_csv_value(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _append(ws: Any, rows: Sequence[Sequence[Any]]) -> None:
    for row in rows:
        ws.append([neutralise(_cell(v)) for v in row])


def to_xlsx(
    table: pd.DataFrame,
    *,
    title: str,
    note: str | None = None,
    block: Sequence[Sequence[Any]] = (),
    about: Sequence[Sequence[Any]] = (),
    about_title: str = "About",
) -> bytes:
    """An .xlsx workbook; text is always a string cell, never a formula.

    ``note`` (e.g. the synthetic-data mark) is a first row of its own; ``block`` rows
    (the title block) come above the table, then an empty row; ``about`` rows, when
    given, fill a second sheet named ``about_title``.
    """
    from openpyxl import Workbook  # on the first .xlsx only (0.1-0.4 s of a start)

    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_name(title) or "gaps"
    lead: list[Sequence[Any]] = [[note]] if note else []
    lead += [*block, []] if block else []
    _append(ws, lead)
    header = len(lead) + 1
    ws.append([neutralise(str(c)) for c in table.columns])
    for row in _rows(table):
        ws.append(row)
    # the title block's labels (column A beside a value) must show whole; its values
    # and one-cell rows run on over the empty cells to their right
    labels = [len(str(r[0])) for r in block if len(r) > 1]
    for i, name in enumerate(table.columns, start=1):
        width = max([len(str(name)), *(len(str(v)) for v in table.iloc[:, i - 1])])
        width = max(width, *labels) if i == 1 and labels else width
        ws.column_dimensions[ws.cell(header, i).column_letter].width = min(
            60, width + 2
        )
    ws.freeze_panes = f"A{header + 1}"
    sheets = [ws]
    if about:
        info = wb.create_sheet(_sheet_name(about_title) or "About")
        _append(info, about)
        info.column_dimensions["A"].width = 40
        info.column_dimensions["B"].width = 100
        sheets.append(info)
    for sheet in sheets:
        for cells in sheet.iter_rows(min_row=1):
            for cell in cells:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a string, never a formula
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_SHEET_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def _sheet_name(title: str) -> str:
    """A valid sheet name: at most 31 characters, none of the forbidden ones."""
    return _SHEET_FORBIDDEN.sub("-", title)[:31].strip("'")


class ExportCache:
    """Export bytes built once per key (result version, indicator, format, lang), LRU.

    Bounded: at most ``size`` exports are kept; concurrent requests for one key wait
    for a single build.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The cached bytes of ``key``, built with ``build()`` when missing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            body = build()
            self.builds += 1
            self._items[key] = body
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return body

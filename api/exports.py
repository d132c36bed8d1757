"""Gap tables as CSV (UTF-8 with BOM, for Excel) and .xlsx, with English or Vietnamese headers."""

from __future__ import annotations

import csv
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
from openpyxl import Workbook

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
INDICATOR_VI = {"fibre": "Cáp quang", "mobile": "4G/5G"}
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def localise(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Rename the columns (and indicator values) for ``lang`` (``en`` or ``vi``)."""
    col = 1 if lang == "vi" else 0
    out = table.rename(columns={k: v[col] for k, v in HEADERS.items()})
    if lang == "vi":
        out[HEADERS["indicator"][1]] = out[HEADERS["indicator"][1]].map(
            lambda v: INDICATOR_VI.get(v, v)
        )
    return out


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

    ``note`` (e.g. the synthetic-data mark) is a first line of its own.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    if note:
        writer.writerow([note])
    writer.writerow([neutralise(str(c)) for c in table.columns])
    for row in _rows(table):
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: pd.DataFrame, *, title: str, note: str | None = None) -> bytes:
    """An .xlsx workbook with one sheet; text is always a string cell, never a formula.

    ``note`` (e.g. the synthetic-data mark) is a first row of its own.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31] or "gaps"
    if note:
        ws.append([note])
    ws.append([neutralise(str(c)) for c in table.columns])
    for row in _rows(table):
        ws.append(row)
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a string, never a formula
    header = 2 if note else 1
    for i, name in enumerate(table.columns, start=1):
        width = max([len(str(name)), *(len(str(v)) for v in table.iloc[:, i - 1])])
        ws.column_dimensions[ws.cell(header, i).column_letter].width = min(
            60, width + 2
        )
    ws.freeze_panes = f"A{header + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


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

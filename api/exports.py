"""Gap tables as CSV (UTF-8 with BOM, for Excel) and .xlsx, with English or Vietnamese headers."""

from __future__ import annotations

import csv
import io
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


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def to_csv(table: pd.DataFrame) -> bytes:
    """CSV bytes, UTF-8 with a byte-order mark so Excel reads the diacritics."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.itertuples(index=False):
        writer.writerow(["" if _cell(v) is None else _cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: pd.DataFrame, *, title: str) -> bytes:
    """An .xlsx workbook with one sheet; text stays text (never read as a formula)."""
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31] or "gaps"
    ws.append(list(table.columns))
    for row in table.itertuples(index=False):
        ws.append([_cell(v) for v in row])
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a string, never a formula
    for i, name in enumerate(table.columns, start=1):
        width = max([len(str(name)), *(len(str(v)) for v in table.iloc[:, i - 1])])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, width + 2)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()

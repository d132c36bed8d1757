"""Demo results with every view (operators, indoor, +-3 dB, measured), and readers.

The synthetic demo region (four operators, a Vietnamobile site list with indoor loss)
with its Ookla-shaped tile file as a measured layer, run once per module; and the same
province as a counts (estimated) region (its manifest lists the tiles too). The readers parse an export back
into a header and rows of plain values.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl

from app.pipeline import run_region
from data.synthetic import build_synthetic_region

HOUSEHOLDS = 1500


def views_results(tmp: Path, *, counts: bool = False) -> Path:
    """Build and run the demo region (its manifest lists the measured layer)."""
    region = build_synthetic_region(
        tmp / "region", seed=4, households=HOUSEHOLDS, counts=counts
    ).parent
    run_region(region, tmp / "out")
    return tmp / "out"


_BUILT: dict[bool, Path] = {}


def shared_results(factory: Any, *, counts: bool = False) -> Path:
    """:func:`views_results` built once per test session (``factory``: tmp_path_factory).

    The folder is shared: tests read it and never write into it.
    """
    if counts not in _BUILT:
        _BUILT[counts] = views_results(
            factory.mktemp("counts" if counts else "views"), counts=counts
        )
    return _BUILT[counts]


def communes_of(out: Path) -> dict[str, dict[str, Any]]:
    """Commune code -> its properties, as communes.geojson holds them."""
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["commune_code"]: f["properties"] for f in doc["features"]}


def summary_of(out: Path) -> dict[str, Any]:
    """summary.json of a results folder."""
    data: dict[str, Any] = json.loads((out / "summary.json").read_text("utf-8"))
    return data


def _csv_value(text: str) -> Any:
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_csv(body: bytes) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of a CSV export (numbers parsed, empty = None)."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    text = [h.endswith("_code") or h.startswith("Mã") for h in rows[0]]
    parsed = [
        [v if t else _csv_value(v) for v, t in zip(row, text, strict=True)]
        for row in rows[1:]
    ]
    return rows[0], parsed


def read_xlsx(body: bytes) -> tuple[list[list[Any]], list[str], list[list[Any]]]:
    """Title block, header and rows of the first sheet of an XLSX export."""
    ws = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    blank = next(i for i, r in enumerate(rows) if all(v is None for v in r))
    block = [[v for v in r if v is not None] for r in rows[:blank]]
    header = [str(v) for v in rows[blank + 1]]
    return block, header, rows[blank + 2 :]


def same(a: Any, b: Any) -> bool:
    """Equal values, numbers compared as numbers (CSV writes 90.0 as 90.0, XLSX 90)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return bool(a == b)

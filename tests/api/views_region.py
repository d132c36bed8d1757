"""Demo results with every view (operators, indoor, +-3 dB, measured), and readers.

The synthetic demo province (four operators, a Vietnamobile site list with indoor loss)
as a counts region (households estimated: spread from per-commune counts) with its
Ookla-shaped tile file as a measured layer, built and run once per test session. The
readers parse an export back into a header and rows of plain values.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import openpyxl

from app.pipeline import run_region
from data.speeds import TILES_LAYER
from data.synthetic import build_synthetic_region
from data.writer import toml_value

HOUSEHOLDS = 1500


def views_results(tmp: Path, *, counts: bool = False) -> Path:
    """Build and run the demo region, with its tile file as the measured layer."""
    region = build_synthetic_region(
        tmp / "region", seed=4, households=HOUSEHOLDS, counts=counts
    ).parent
    text = (region / "region.toml").read_text(encoding="utf-8")
    if f'"{TILES_LAYER["id"]}"' not in text:  # demos that leave it out of the manifest
        entry = "\n".join(f"{k} = {toml_value(v)}" for k, v in TILES_LAYER.items())
        head, tail = text.split("[targets]")
        (region / "region.toml").write_text(
            f"{head}[[layers]]\n{entry}\n\n[targets]{tail}", encoding="utf-8"
        )
    run_region(region, tmp / "out")
    return tmp / "out"


_BUILT: dict[str, Path] = {}


def shared_results(factory: Any) -> Path:
    """The counts region of :func:`views_results`, built once per test session.

    ``factory`` is pytest's tmp_path_factory. The folder is shared: tests read it and
    never write into it (they copy it to change it).
    """
    if "out" not in _BUILT:
        _BUILT["out"] = views_results(factory.mktemp("views"), counts=True)
    return _BUILT["out"]


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

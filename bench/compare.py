"""Do two contenders' outputs give the same numbers? Per commune, per cell, in total."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COUNTS = ["households", "fibre_households", "mobile_households", "mobile_5g_households"]
TOTALS = [*COUNTS, "unassigned_households", "overlap_households"]


@dataclass
class Agreement:
    """Differences between a reference run and another, as readable lines."""

    reference: str
    other: str
    problems: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.problems


def commune_counts(out: Path) -> pd.DataFrame:
    """The four per-commune counts of `out/communes.geojson`, indexed by code."""
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    rows = [f["properties"] for f in doc["features"]]
    frame = pd.DataFrame(rows).set_index("commune_code")[COUNTS]
    frame.index = frame.index.astype(str)
    return frame.astype("int64")


def cell_counts(out: Path) -> pd.DataFrame:
    """The four counts per (h3, commune_code) of `out/cells.parquet`."""
    cells = pd.read_parquet(
        out / "cells.parquet", columns=["h3", "commune_code", *COUNTS]
    )
    cells["commune_code"] = (
        cells["commune_code"]
        .astype(object)
        .where(cells["commune_code"].notna(), "<none>")
    )
    cells["h3"] = cells["h3"].astype(str)
    cells = cells[cells["households"] > 0]
    return cells.groupby(["h3", "commune_code"])[COUNTS].sum().astype("int64")


def _diff(ref: pd.DataFrame, other: pd.DataFrame, what: str, limit: int) -> list[str]:
    both = ref.join(other, how="outer", lsuffix="_ref", rsuffix="_other").fillna(-1)
    lines = []
    for key, row in both.iterrows():
        for col in COUNTS:
            a, b = int(row[f"{col}_ref"]), int(row[f"{col}_other"])
            if a != b:
                lines.append(f"{what} {key}: {col} {a} vs {b}")
    if len(lines) > limit:
        lines = [
            *lines[:limit],
            f"... and {len(lines) - limit} more {what} differences",
        ]
    return lines


def compare(
    ref: Path, other: Path, names: tuple[str, str], limit: int = 10
) -> Agreement:
    """Per-commune counts, cell counts and region totals of two output folders.

    A missing row counts as -1 in the messages ("-1" = not in that output).
    """
    found = Agreement(*names)
    found.problems += _diff(
        commune_counts(ref), commune_counts(other), "commune", limit
    )
    found.problems += _diff(cell_counts(ref), cell_counts(other), "cell", limit)
    sums = [
        json.loads((p / "summary.json").read_text(encoding="utf-8"))
        for p in (ref, other)
    ]
    for key in TOTALS:
        if sums[0].get(key) != sums[1].get(key):
            found.problems.append(
                f"summary {key}: {sums[0].get(key)} vs {sums[1].get(key)}"
            )
    return found

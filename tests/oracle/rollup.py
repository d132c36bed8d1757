"""Expected commune, district, province and cell tables from the brute-force households.

All arithmetic is exact: integer sums and ``Fraction`` percentages, flags and gaps, as
docs/definitions.md defines them. Percentages stay ``Fraction``; the comparison decides
how close the engine's rounded float must be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from .bruteforce import Communes, Manifest, household_table, layer_source, read_manifest

COUNTS = ("households", "fibre_households", "mobile_households", "mobile_5g_households")


def pct(covered: int, households: int) -> Fraction | None:
    """Exact percentage, None without households."""
    return None if households == 0 else Fraction(100 * covered, households)


def indicators(sums: dict[str, int], targets: dict[str, Fraction]) -> dict[str, Any]:
    """Percentages, the fibre flag and gap of one unit from its summed counts."""
    n = sums["households"]
    fibre = sums["fibre_households"]
    target = targets["fibre_household_pct"]
    out: dict[str, Any] = dict(sums)
    out["fibre_pct"] = pct(fibre, n)
    out["mobile_pct"] = pct(sums["mobile_households"], n)
    out["mobile_5g_pct"] = pct(sums["mobile_5g_households"], n)
    out["fibre_target_met"] = None if n == 0 else fibre * 100 >= target * n
    out["fibre_gap_households"] = (
        max(0, math.ceil(target / 100 * n) - fibre) if n else 0
    )
    for key, value in sums.items():
        if key.startswith("layer_"):
            out[key.removesuffix("_households") + "_pct"] = pct(value, n)
    return out


def _sums(rows: list[dict[str, Any]], slugs: list[str]) -> dict[str, int]:
    """Weighted counts over household records (plain loops: slow but obvious)."""
    flags = ["fibre", "mobile", "mobile_5g", *(f"layer_{s}" for s in slugs)]
    names = COUNTS[1:] + tuple(f"layer_{s}_households" for s in slugs)
    sums = {"households": sum(int(r["weight"]) for r in rows)}
    for flag, name in zip(flags, names, strict=True):
        sums[name] = sum(int(r["weight"]) for r in rows if r[flag])
    return sums


def mobile_commune_stats(
    communes: list[dict[str, Any]], targets: dict[str, Fraction]
) -> dict[str, Any]:
    """Communes with households, communes 4G/5G-covered, their share and the flag."""
    with_hh = [c for c in communes if c["households"] > 0]
    covered = sum(1 for c in with_hh if c["mobile_covered"])
    share = pct(covered, len(with_hh))
    met = covered * 100 >= targets["mobile_commune_pct"] * len(with_hh)
    return {
        "communes": len(communes),
        "communes_with_households": len(with_hh),
        "communes_mobile_covered": covered,
        "mobile_commune_pct": share,
        "mobile_target_met": met,
    }


@dataclass
class Expected:
    """Everything the engine's outputs must say about one region."""

    manifest: Manifest
    households: pd.DataFrame
    communes: list[dict[str, Any]]
    districts: dict[str, dict[str, Any]]
    province_assigned: dict[str, Any]
    province_all: dict[str, Any]
    cells: set[tuple[Any, ...]]
    cell_columns: tuple[str, ...]
    layer_sources: dict[str, str]


def commune_rows(
    table: pd.DataFrame, communes: Communes, manifest: Manifest
) -> list[dict[str, Any]]:
    """One expected row per commune, in file order."""
    slugs = [layer.slug for layer in manifest.layers]
    target = manifest.targets["mobile_commune_household_pct"]
    rows = []
    records = table.to_dict("records")
    for i, code in enumerate(communes.codes):
        mine = [r for r in records if r["commune_code"] == code]
        row = indicators(_sums(mine, slugs), manifest.targets)
        n = row["households"]
        row["mobile_covered"] = (
            None if n == 0 else row["mobile_households"] * 100 >= target * n
        )
        row.update(
            commune_code=code,
            commune_name=communes.names[i],
            district_code=communes.district_codes[i],
            district_name=communes.district_names[i],
        )
        rows.append(row)
    return rows


def district_rows(
    communes: list[dict[str, Any]], manifest: Manifest
) -> dict[str, dict[str, Any]]:
    """Roll communes up per district code (none when there are no district columns)."""
    out: dict[str, dict[str, Any]] = {}
    codes = sorted(
        {c["district_code"] for c in communes if c["district_code"] is not None}
    )
    for code in codes:
        members = [c for c in communes if c["district_code"] == code]
        sums = {k: sum(c[k] for c in members) for k in members[0] if _is_count(k)}
        row = indicators(sums, manifest.targets)
        row.update(mobile_commune_stats(members, manifest.targets))
        row.update(district_code=code, district_name=members[0]["district_name"])
        out[code] = row
    return out


def _is_count(key: str) -> bool:
    return key in COUNTS or (key.startswith("layer_") and key.endswith("_households"))


def province(
    table: pd.DataFrame,
    communes: list[dict[str, Any]],
    manifest: Manifest,
    *,
    include_unassigned: bool,
) -> dict[str, Any]:
    """Province totals, over assigned households only or over every household."""
    slugs = [layer.slug for layer in manifest.layers]
    records = table.to_dict("records")
    if not include_unassigned:
        records = [r for r in records if r["commune_code"] is not None]
    out = indicators(_sums(records, slugs), manifest.targets)
    out.update(mobile_commune_stats(communes, manifest.targets))
    unassigned = table[table["commune_code"].isna()]
    out["unassigned_households"] = int(unassigned["weight"].sum())
    out["overlap_households"] = int(table.loc[table["n_communes"] > 1, "weight"].sum())
    return out


def cell_rows(table: pd.DataFrame, manifest: Manifest) -> tuple[tuple[str, ...], set]:
    """One row per (h3, commune_code) holding households: the cells.parquet content."""
    slugs = [layer.slug for layer in manifest.layers]
    columns = ("h3", "commune_code", *COUNTS, *(f"layer_{s}_households" for s in slugs))
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for record in table.to_dict("records"):
        if record["weight"] > 0:
            groups.setdefault((record["h3"], record["commune_code"]), []).append(record)
    rows = set()
    for (cell, code), members in groups.items():
        sums = _sums(members, slugs)
        rows.add((cell, code, *(sums[c] for c in columns[2:])))
    return columns, rows


def expected(region: Path) -> Expected:
    """Compute every expected output of ``geodx run`` for a region, by brute force."""
    manifest = read_manifest(region)
    table, communes = household_table(manifest)
    rows = commune_rows(table, communes, manifest)
    columns, cells = cell_rows(table, manifest)
    return Expected(
        manifest=manifest,
        households=table,
        communes=rows,
        districts=district_rows(rows, manifest),
        province_assigned=province(table, rows, manifest, include_unassigned=False),
        province_all=province(table, rows, manifest, include_unassigned=True),
        cells=cells,
        cell_columns=columns,
        layer_sources={layer.slug: layer_source(layer) for layer in manifest.layers},
    )

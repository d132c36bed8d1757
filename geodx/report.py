"""The short report ``geodx run`` prints: the region against each target, largest gaps."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _fmt(value: Any) -> str:
    """A household count as people read it: estimates to one decimal, float noise dropped.

    Examples
    --------
    >>> _fmt(499799.99999999994), _fmt(499800.3), _fmt(3), _fmt(None)
    ('499,800', '499,800.3', '3', '—')
    """
    if value is None:
        return "—"
    if isinstance(value, float) and abs(value - round(value)) > 1e-6:
        return f"{value:,.1f}"
    return f"{round(value):,}"


def _count(households: Any) -> str:
    return f"{_fmt(households)} household{'' if households == 1 else 's'}"


def report_lines(
    summary: dict[str, Any], communes: pd.DataFrame, *, top: int = 10
) -> list[str]:
    """Lines of plain text: figures against targets, fibre gaps, 4G/5G misses.

    Parameters
    ----------
    summary : dict
        ``summary.json`` of a run.
    communes : DataFrame
        The commune table of the run.
    top : int
        How many communes to list.
    """
    t = summary["targets"]
    synthetic = (
        summary.get("synthetic") and "synthetic" not in summary["region"].lower()
    )
    label = " (SYNTHETIC DATA — dữ liệu mô phỏng)" if synthetic else ""
    if summary.get("households_estimated") is True:
        label += " (households estimated from counts — số hộ ước tính)"
    met = {True: "MET", False: "NOT MET", None: "n/a"}
    lines = [
        f"{summary['region']}{label}",
        f"  households {_fmt(summary['households'])} in {summary['communes']} communes"
        f" (+{_fmt(summary['unassigned_households'])} outside every commune,"
        f" {_fmt(summary['overlap_households'])} in overlapping communes)",
        f"  fibre   {summary['fibre_pct'] or 0:6.2f}% of households   target >= "
        f"{t['fibre_household_pct']:g}%  {met[summary['fibre_target_met']]}"
        f"  — missing {_fmt(summary['fibre_gap_households'])} households",
        f"  4G/5G   {summary['mobile_commune_pct'] or 0:6.2f}% of communes covered"
        f" ({summary['communes_mobile_covered']}/{summary['communes_with_households']})"
        f"   target >= {t['mobile_commune_pct']:g}%  {met[summary['mobile_target_met']]}"
        f"  (a commune counts at >= {t['mobile_commune_household_pct']:g}% of households)",
        f"  4G/5G   {summary['mobile_pct'] or 0:6.2f}% of households;"
        f" 5G {summary['mobile_5g_pct'] or 0:.2f}%",
    ]
    return lines + _fibre_gaps(communes, top) + _mobile_misses(communes, t, top)


def _place(row: pd.Series) -> str:
    district = f", {row['district_name']}" if pd.notna(row["district_name"]) else ""
    return f"    {row['commune_code']}  {row['commune_name']}{district}:"


def _fibre_gaps(communes: pd.DataFrame, top: int) -> list[str]:
    gaps = communes[communes["fibre_gap_households"] > 0].sort_values(
        ["fibre_gap_households", "commune_code"], ascending=[False, True]
    )
    lines = [f"  communes below the fibre target: {len(gaps)}; largest gaps:"]
    for _, row in gaps.head(top).iterrows():
        lines.append(
            f"{_place(row)} {row['fibre_pct']:.1f}% —"
            f" {_count(row['fibre_gap_households'])} missing"
        )
    return lines


def _mobile_misses(
    communes: pd.DataFrame, targets: dict[str, Any], top: int
) -> list[str]:
    """Communes with households not counted 4G/5G-covered, least covered first."""
    missed = communes[communes["mobile_covered"].eq(False)].sort_values(
        ["mobile_pct", "commune_code"]
    )
    lines = [
        f"  communes not 4G/5G-covered (< {targets['mobile_commune_household_pct']:g}%"
        f" of households): {len(missed)}; least covered:"
    ]
    gap = "mobile_gap_households" if "mobile_gap_households" in communes else None
    for _, row in missed.head(top).iterrows():
        missing = f" — {_count(row[gap])} missing" if gap else ""
        lines.append(f"{_place(row)} {row['mobile_pct']:.1f}% of households{missing}")
    return lines

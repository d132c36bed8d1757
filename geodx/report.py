"""The short report ``geodx run`` prints: targets, views and the largest gaps.

The views (per operator, operators serving, indoor, ±3 dB, measured) come where the
results hold them; figures spread from counts are said to be estimates.
"""

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
    views = view_lines(summary)
    return lines + views + _fibre_gaps(communes, top) + _mobile_misses(communes, t, top)


def _share(households: Any, pct: Any) -> str:
    return "—" if households is None else f"{_fmt(households)} ({pct or 0:.2f}%)"


def _operator_lines(summary: dict[str, Any], est: str) -> list[str]:
    """One line per operator: households with its fibre and with its 4G/5G."""
    ops = [
        o
        for o in summary.get("operators") or []
        if isinstance(o, dict) and isinstance(o.get("slug"), str)
    ]
    if not ops:
        return []
    width = max(len(str(o.get("operator"))) for o in ops)
    lines = [f"  per operator{est}: households with its fibre · with its 4G/5G"]
    for o in ops:
        stem = f"operator_{o['slug']}"
        fibre = _share(
            summary.get(f"{stem}_fibre_households"), summary.get(f"{stem}_fibre_pct")
        )
        mobile = _share(
            summary.get(f"{stem}_mobile_households"), summary.get(f"{stem}_mobile_pct")
        )
        lines.append(
            f"    {str(o.get('operator')):<{width}}  fibre {fibre:>18}  4G/5G {mobile:>18}"
        )
    return lines


def _margin_line(summary: dict[str, Any], est: str) -> list[str]:
    minus = summary.get("mobile_households_minus3db")
    plus = summary.get("mobile_households_plus3db")
    if minus is None or plus is None:
        return []
    flips = summary.get("communes_mobile_covered_sensitive")
    line = f"  ±3 dB{est}: 4G/5G households {_fmt(minus)} at −3 dB to {_fmt(plus)} at +3 dB"
    if flips is not None:
        verb = "commune changes" if flips == 1 else "communes change"
        line += f"; {flips} {verb} 4G/5G status"
    return [line]


def _measured_lines(summary: dict[str, Any], est: str) -> list[str]:
    """Per measured layer: at or above the speed, below, too few tests."""
    defs = summary.get("definitions") or {}
    layers = defs.get("measured_layers") if isinstance(defs, dict) else None
    lines = []
    for layer in layers or []:
        if not isinstance(layer, dict) or not isinstance(layer.get("slug"), str):
            continue
        stem = f"measured_{layer['slug']}"
        lines.append(
            f"  measured {layer.get('id')} (>= {layer.get('min_download_mbps'):g} Mbit/s,"
            f" >= {layer.get('min_tests')} tests){est}:"
            f" {_fmt(summary.get(f'{stem}_households'))} at or above,"
            f" {_fmt(summary.get(f'{stem}_below_households'))} below,"
            f" {_fmt(summary.get(f'{stem}_too_few_tests_households'))} too few tests"
        )
    below = summary.get("mobile_covered_measured_below_households")
    if lines and below is not None:
        lines.append(f"    covered by 4G/5G but measured below: {_count(below)}")
    return lines


def view_lines(summary: dict[str, Any]) -> list[str]:
    """Operators, operators serving, indoor, ±3 dB and measured lines (where present).

    Results without these figures (older runs) give no lines.
    """
    est = " (estimated)" if summary.get("households_estimated") is True else ""
    lines = _operator_lines(summary, est)
    counts = [
        summary.get(f"mobile_operators_{k}_households")
        for k in ("0", "1", "2", "3plus")
    ]
    if all(c is not None for c in counts):
        served = " · ".join(
            f"{k}: {_fmt(c)}"
            for k, c in zip(("0", "1", "2", "3+"), counts, strict=True)
        )
        every = summary.get("mobile_all_operators_households")
        served += "" if every is None else f" · all: {_fmt(every)}"
        lines.append(f"  4G/5G households by operators serving{est}: {served}")
    indoor = summary.get("mobile_indoor_households")
    if indoor is not None:
        lines.append(
            f"  4G/5G indoors{est}: {_share(indoor, summary.get('mobile_indoor_pct'))} of households"
        )
    return lines + _margin_line(summary, est) + _measured_lines(summary, est)


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

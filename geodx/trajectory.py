"""Trajectories: a least-squares line through the vintages, projected to the deadlines.

Pure functions on the figures :mod:`geodx.history` reads. The rules, exactly (also in
``docs/definitions.md``, Trajectory):

- **Projection** of a figure to a deadline: the ordinary least-squares line of the
  figure against the vintage's date (days, ``date.toordinal()``) over the vintages
  where the figure is a number, evaluated at the deadline, in exact rational arithmetic;
  percentages are then clipped to [0, 100], counts to >= 0 and covered counts to the
  projected ``households`` (each figure has its own line). Fewer than two such
  vintages: no projection (None), and the answer says so.
- **Deadlines** (Resolution 04-NQ/TU): the end of 2025 and the end of 2030.
- **Status** at a deadline, for fibre (``fibre_pct`` against ``fibre_household_pct``)
  and 4G/5G (a commune: ``mobile_pct`` against the commune rule's
  ``mobile_commune_household_pct``; the province: ``mobile_commune_pct`` against
  ``mobile_commune_pct``): ``met`` when the latest vintage meets the target (its own
  flag: ``fibre_target_met``, ``mobile_covered``, ``mobile_target_met``); else ``on
  track`` when the projection at the deadline is >= the target; ``at risk`` when it is
  at most :data:`AT_RISK_POINTS` percentage points below; ``off track`` otherwise;
  None when there is no projection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from geodx.contract_figures import targets_from
from geodx.contract_names import PCT_DECIMALS

#: The Resolution's deadlines: end of 2025 and end of 2030.
DEADLINES: dict[str, dt.date] = {
    "2025": dt.date(2025, 12, 31),
    "2030": dt.date(2030, 12, 31),
}
#: A projection at most this many percentage points below the target is "at risk".
AT_RISK_POINTS = 5
MET, ON_TRACK, AT_RISK, OFF_TRACK = "met", "on track", "at risk", "off track"
STATUSES = (MET, ON_TRACK, AT_RISK, OFF_TRACK)
NO_PROJECTION = "fewer than two vintages with this figure: no projection"

#: Figures projected for a commune and for the region.
COMMUNE_FIGURES = (
    "households",
    "fibre_households",
    "fibre_pct",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
)
REGION_FIGURES = (*COMMUNE_FIGURES, "communes_mobile_covered", "mobile_commune_pct")
COVERED_COUNTS = ("fibre_households", "mobile_households", "mobile_5g_households")

Point = tuple[dt.date, float]


def _number(value: Any) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Fraction(value)
    except (ValueError, OverflowError):  # NaN, infinity
        return None


def least_squares(points: Sequence[Point]) -> tuple[Fraction, Fraction] | None:
    """Slope (per day) and value at day 0 of the least-squares line, exactly.

    x is ``date.toordinal()``; None with fewer than two distinct dates.

    Examples
    --------
    >>> import datetime as dt
    >>> slope, _ = least_squares([(dt.date(2024, 1, 1), 10.0), (dt.date(2024, 1, 11), 20.0)])
    >>> slope
    Fraction(1, 1)
    """
    xs = [Fraction(day.toordinal()) for day, _ in points]
    ys = [Fraction(value) for _, value in points]
    n = len(points)
    if n < 2 or len(set(xs)) < 2:
        return None
    mean_x, mean_y = sum(xs, Fraction(0)) / n, sum(ys, Fraction(0)) / n
    sxx = sum(((x - mean_x) ** 2 for x in xs), Fraction(0))
    sxy = sum(
        ((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)), Fraction(0)
    )
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def project_exact(
    points: Sequence[Point], at: dt.date, *, pct: bool
) -> Fraction | None:
    """The least-squares line at ``at``, clipped ([0, 100] for ``pct``, else >= 0)."""
    return _at(least_squares(points), at, pct=pct)


def _at(
    line: tuple[Fraction, Fraction] | None, at: dt.date, *, pct: bool
) -> Fraction | None:
    if line is None:
        return None
    slope, intercept = line
    value = max(Fraction(0), slope * at.toordinal() + intercept)
    return min(value, Fraction(100)) if pct else value


def project(points: Sequence[Point], at: dt.date, *, pct: bool = False) -> float | None:
    """:func:`project_exact` as a float rounded to 4 decimals (None: no projection).

    Examples
    --------
    >>> import datetime as dt
    >>> pts = [(dt.date(2024, 12, 31), 80.0), (dt.date(2025, 6, 30), 85.0)]
    >>> project(pts, dt.date(2025, 12, 31), pct=True)
    90.0829
    >>> project(pts[:1], dt.date(2025, 12, 31)) is None
    True
    """
    exact = project_exact(points, at, pct=pct)
    return None if exact is None else round(float(exact), PCT_DECIMALS)


def series(rows: Sequence[Mapping[str, Any]], figure: str) -> list[Point]:
    """``(as_of, value)`` of every row whose ``figure`` is a finite number."""
    out = []
    for row in rows:
        value = _number(row.get(figure))
        if value is not None:
            out.append((dt.date.fromisoformat(str(row["as_of"])), float(value)))
    return out


def projections(
    rows: Sequence[Mapping[str, Any]], figures: Sequence[str] = COMMUNE_FIGURES
) -> dict[str, dict[str, float | None]]:
    """Each figure projected to each deadline: ``{"2025": {figure: value}, "2030": …}``."""
    lines = {figure: least_squares(series(rows, figure)) for figure in figures}
    out: dict[str, dict[str, float | None]] = {}
    for name, deadline in DEADLINES.items():
        got: dict[str, float | None] = {}
        for figure, line in lines.items():
            exact = _at(line, deadline, pct=figure.endswith("_pct"))
            got[figure] = None if exact is None else round(float(exact), PCT_DECIMALS)
        whole = got.get("households")
        for figure in COVERED_COUNTS:  # never more covered than households
            value = got.get(figure)
            if whole is not None and value is not None:
                got[figure] = min(value, whole)
        out[name] = got
    return out


def status(
    met: bool | None,
    projected_pct: Fraction | float | None,
    target_pct: float,
    *,
    at_risk_points: float = AT_RISK_POINTS,
) -> str | None:
    """Met, on track, at risk or off track (see the module notes); None: no projection.

    Examples
    --------
    >>> status(True, None, 90), status(False, 90, 90), status(False, 85, 90)
    ('met', 'on track', 'at risk')
    >>> status(False, 84.99, 90), status(False, None, 90)
    ('off track', None)
    """
    if met is True:
        return MET
    if projected_pct is None:
        return None
    value = Fraction(projected_pct)
    target = Fraction(str(target_pct))
    if value >= target:
        return ON_TRACK
    if value >= target - Fraction(str(at_risk_points)):
        return AT_RISK
    return OFF_TRACK


#: indicator -> (percentage projected, its target key, the latest vintage's met flag)
COMMUNE_RULES = {
    "fibre": ("fibre_pct", "fibre_household_pct", "fibre_target_met"),
    "mobile": ("mobile_pct", "mobile_commune_household_pct", "mobile_covered"),
}
REGION_RULES = {
    "fibre": ("fibre_pct", "fibre_household_pct", "fibre_target_met"),
    "mobile": ("mobile_commune_pct", "mobile_commune_pct", "mobile_target_met"),
}


def statuses(
    rows: Sequence[Mapping[str, Any]],
    targets: Mapping[str, Any] | None,
    rules: Mapping[str, tuple[str, str, str]] = COMMUNE_RULES,
) -> dict[str, dict[str, str | None]]:
    """Status per indicator and deadline: ``{"fibre": {"2025": "on track", …}, …}``.

    ``rows`` are a commune's (or the region's) vintages oldest first; ``targets`` the
    targets in force (``summary["targets"]``; defaults for missing keys).
    """
    goal = targets_from(dict(targets) if targets is not None else None)
    latest = rows[-1] if rows else {}
    out: dict[str, dict[str, str | None]] = {}
    for indicator, (figure, target_key, met_key) in rules.items():
        line = least_squares(series(rows, figure))
        met = latest.get(met_key)
        out[indicator] = {
            name: status(
                met if isinstance(met, bool) else None,
                _at(line, deadline, pct=True),
                goal[target_key],
            )
            for name, deadline in DEADLINES.items()
        }
    return out


def trajectory(
    rows: Sequence[Mapping[str, Any]],
    targets: Mapping[str, Any] | None,
    *,
    region: bool = False,
) -> dict[str, Any]:
    """Projection, status and a note for one commune's (or the region's) vintages."""
    figures = REGION_FIGURES if region else COMMUNE_FIGURES
    rules = REGION_RULES if region else COMMUNE_RULES
    enough = len({str(row["as_of"]) for row in rows}) >= 2
    return {
        "projection": projections(rows, figures) if enough else None,
        "projection_note": None if enough else NO_PROJECTION,
        "status": statuses(rows, targets, rules),
    }


__all__ = [
    "AT_RISK_POINTS",
    "DEADLINES",
    "STATUSES",
    "least_squares",
    "project",
    "project_exact",
    "projections",
    "status",
    "statuses",
    "trajectory",
]

"""Projections equal a hand-computed least-squares line; each status rule at its edges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from geodx.trajectory import (
    AT_RISK_POINTS,
    DEADLINES,
    least_squares,
    project,
    status,
    statuses,
    trajectory,
)

END_2025 = dt.date(2025, 12, 31)


def naive_line(points: list[tuple[dt.date, float]]) -> tuple[float, float]:
    """Least squares written again, in floats: slope per day and intercept."""
    xs = [d.toordinal() for d, _ in points]
    ys = [v for _, v in points]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return slope, my - slope * mx


def test_projection_equals_a_hand_computed_least_squares_line() -> None:
    points = [
        (dt.date(2023, 12, 31), 61.5),
        (dt.date(2024, 6, 30), 70.25),
        (dt.date(2024, 12, 31), 74.0),
        (dt.date(2025, 3, 31), 80.125),
    ]
    slope, intercept = naive_line(points)
    for deadline in DEADLINES.values():
        expected = min(100.0, max(0.0, slope * deadline.toordinal() + intercept))
        assert project(points, deadline, pct=True) == pytest.approx(expected, abs=1e-4)
    # by hand for two points: 10 points in 181 days, then 184 days more
    two = [(dt.date(2024, 12, 31), 80.0), (dt.date(2025, 6, 30), 90.0)]
    assert project(two, END_2025) == round(90 + 10 * 184 / 181, 4)
    exact = least_squares(two)
    assert exact is not None and exact[0] == pytest.approx(10 / 181)


def test_projection_is_clipped_and_needs_two_dates() -> None:
    rising = [(dt.date(2024, 1, 1), 90.0), (dt.date(2024, 7, 1), 99.0)]
    assert project(rising, DEADLINES["2030"], pct=True) == 100.0
    falling = [(dt.date(2024, 1, 1), 10.0), (dt.date(2024, 7, 1), 2.0)]
    assert project(falling, DEADLINES["2030"], pct=True) == 0.0
    assert project(falling, DEADLINES["2030"]) == 0.0  # counts never below 0
    assert project(rising[:1], END_2025) is None
    assert project([rising[0], rising[0]], END_2025) is None


def rows_reaching(
    value_at_deadline: float, *, met: bool = False
) -> list[dict[str, Any]]:
    """Two vintages 15 days apart, 15 days before the end of 2025, rising 10 points:
    the line reaches exactly ``value_at_deadline`` there (values exact in binary)."""
    first, second = dt.date(2025, 12, 1), dt.date(2025, 12, 16)  # 15 and 15 days
    start = value_at_deadline - 20.0
    mid = value_at_deadline - 10.0
    return [
        {"as_of": first.isoformat(), "fibre_pct": start, "fibre_target_met": False},
        {"as_of": second.isoformat(), "fibre_pct": mid, "fibre_target_met": met},
    ]


@pytest.mark.parametrize(
    ("at_deadline", "expected"),
    [
        (90.0, "on track"),  # exactly the target
        (90.5, "on track"),
        (89.9375, "at risk"),  # just below
        (90.0 - AT_RISK_POINTS, "at risk"),  # exactly N points below
        (90.0 - AT_RISK_POINTS - 0.0625, "off track"),  # just past N
        (40.0, "off track"),
    ],
)
def test_status_rules_at_their_thresholds(at_deadline: float, expected: str) -> None:
    rows = rows_reaching(at_deadline)
    got = statuses(rows, {"fibre_household_pct": 90})
    assert got["fibre"]["2025"] == expected
    assert project([(dt.date(2025, 12, 1), at_deadline - 20)], END_2025) is None


def test_met_at_the_latest_vintage_wins_and_one_vintage_has_no_projection() -> None:
    rows = rows_reaching(40.0, met=True)
    assert statuses(rows, None)["fibre"] == {"2025": "met", "2030": "met"}
    one = rows[:1]
    answer = trajectory(one, None)
    assert answer["projection"] is None
    assert "no projection" in answer["projection_note"]
    assert answer["status"]["fibre"] == {"2025": None, "2030": None}
    assert status(True, None, 90) == "met"


def test_mobile_commune_rule_is_projected_on_the_commune_mobile_pct() -> None:
    rows = [
        {"as_of": "2025-12-01", "mobile_pct": 75.0, "mobile_covered": False},
        {"as_of": "2025-12-16", "mobile_pct": 85.0, "mobile_covered": False},
    ]  # reaches 95 at the end of 2025: the commune rule's default 95 %
    assert statuses(rows, None)["mobile"]["2025"] == "on track"
    assert statuses(rows, {"mobile_commune_household_pct": 96})["mobile"]["2025"] == (
        "at risk"
    )
    region = [
        {"as_of": "2025-12-01", "mobile_commune_pct": 80.0, "mobile_target_met": False},
        {"as_of": "2025-12-16", "mobile_commune_pct": 90.0, "mobile_target_met": False},
    ]  # 100 % of communes at the end of 2025
    got = trajectory(region, None, region=True)
    assert got["status"]["mobile"]["2025"] == "on track"
    assert got["projection"]["2025"]["mobile_commune_pct"] == 100.0

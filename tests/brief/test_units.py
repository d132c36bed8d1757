"""The brief's parts on hand-made inputs: no plan, an unreachable gap, one vintage."""

from __future__ import annotations

from geodx.brief_labels import LABELS
from geodx.brief_parts import (
    plan_part,
    trend_part,
)
from geodx.contract_figures import targets_from


def test_plan_part_without_plan_and_with_an_unreachable_gap() -> None:
    assert plan_part(None, "vi") is None and plan_part({}, "en") is None
    plan = {"gap_households": 5, "households_planned": 3, "max_extension_m": 12.5,
            "reachable": False, "steps": [{"h3": "89", "households": 3, "extension_m": 12.5}],
            "curve": [[3, 12.5]]}  # fmt: skip
    part = plan_part(plan, "en")
    assert part is not None and part.curve is None  # one point: no curve to draw
    assert part.note == LABELS["plan_unreachable"][1]
    assert [v.raw for r in part.rows for v in r.values] == ["5", "3", "12.5"]


def test_one_vintage_draws_no_projection() -> None:
    history = {"vintages": [{"as_of": "2025-06-30", "fibre_pct": 80.0, "mobile_pct": 99.0}],
               "projection": None, "status": {"fibre": {"2025": None, "2030": None}}}  # fmt: skip
    part = trend_part(history, "vi", targets_from(None))
    assert part.chart is not None and not any(s.dashed for s in part.chart.series)
    assert part.note == LABELS["no_projection"][0]
    assert [v.text for r in part.rows for v in r.values] == ["–", "–"]
    assert trend_part(None, "en", targets_from(None)).note == LABELS["no_history"][1]

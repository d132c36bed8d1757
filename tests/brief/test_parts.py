"""The brief's plan and trend: the same numbers as ``commune_plan`` and the trajectory."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from geodx.brief_labels import LABELS
from geodx.history import Vintage, record_vintage
from tests.brief.conftest import Page, communes


def widest_gap(demo_out: Path) -> dict[str, Any]:
    feats = [f["properties"] for f in communes(demo_out)]
    return max(feats, key=lambda p: p["fibre_gap_households"])


def test_plan_section_shows_the_commune_plan(demo: TestClient, demo_out: Path) -> None:
    props = widest_gap(demo_out)
    assert props["fibre_gap_households"] > 0
    code = props["commune_code"]
    plan = demo.get(f"/communes/{code}/plan?indicator=fibre").json()
    page = Page(demo.get(f"/communes/{code}/brief").text)
    for key in ("gap_households", "households_planned", "max_extension_m"):
        [(value, _)] = page.field(f"plan.{key}")
        assert value == plan[key], key
    assert plan["households_planned"] >= plan["gap_households"]
    shown = page.field("plan.step.households")
    steps = plan["steps"][: len(shown)]
    assert [v for v, _ in shown] == [s["households"] for s in steps]
    assert [v for v, _ in page.field("plan.step.extension_m")] == [
        s["extension_m"] for s in steps
    ]
    curve = next(a for t, a in page.elements if a.get("id") == "plan-curve")
    assert curve["points"].count(",") == min(len(plan["curve"]), 200) + 1


def test_without_history_the_brief_says_so(demo: TestClient, demo_out: Path) -> None:
    code = communes(demo_out)[0]["properties"]["commune_code"]
    for lang, index in (("vi", 0), ("en", 1)):
        page = Page(demo.get(f"/communes/{code}/brief?lang={lang}").text)
        assert page.by_id["trend-note"] == LABELS["no_history"][index]
        assert not any(a.get("id") == "trend-chart" for _, a in page.elements)


def naive_projection(
    p0: tuple[dt.date, float], p1: tuple[dt.date, float], at: dt.date
) -> float:
    """The line through two vintages (least squares of two points), clipped to 0-100."""
    (d0, v0), (d1, v1) = p0, p1
    value = v0 + (v1 - v0) * (at.toordinal() - d0.toordinal()) / (
        d1.toordinal() - d0.toordinal()
    )
    return min(100.0, max(0.0, value))


def test_trend_chart_and_status_follow_the_trajectory(
    with_history: tuple[TestClient, list[dict[str, Any]]],
) -> None:
    client, now = with_history
    props = next(
        p for p in now if p["fibre_pct"] is not None and 50 < p["fibre_pct"] < 89
    )
    page = Page(client.get(f"/communes/{props['commune_code']}/brief?lang=en").text)
    assert any(a.get("id") == "trend-chart" for _, a in page.elements)
    assert page.by_id["vintage"] == "2025-06-30"
    lines = [a for t, a in page.elements if t == "polyline"]
    fibre = [a for a in lines if a["data-series"] == "trend_fibre"]
    assert len(fibre) == 2  # the vintages, then the projection (dashed)
    assert fibre[0]["points"].count(",") == 2 and "stroke-dasharray" in fibre[1]
    end = naive_projection((dt.date(2024, 12, 31), props["fibre_pct"] - 10),
                           (dt.date(2025, 6, 30), props["fibre_pct"]), dt.date(2025, 12, 31))  # fmt: skip
    target = 90.0
    expected = (
        "On track" if end >= target else "At risk" if end >= target - 5 else "Off track"
    )
    [(_, text)] = page.field("fibre_status_2025")
    assert text == expected
    [(_, text)] = page.field("mobile_status_2025")
    flat = props["mobile_pct"]  # the same in both vintages: a flat projection
    rule = 95.0
    assert text == ("Met" if props["mobile_covered"] else "On track" if flat >= rule
                    else "At risk" if flat >= rule - 5 else "Off track")  # fmt: skip
    # the chart's projected end point sits at the projected value on the 0-100 axis
    chart = next(a for t, a in page.elements if a.get("id") == "trend-chart")
    _, _, _, height = (float(v) for v in chart["viewbox"].split())
    ys = [float(pt.split(",")[1]) for pt in fibre[1]["points"].split()]
    top, bottom = 16.0, height - 28.0
    at_2025 = top + (100 - end) / 100 * (bottom - top)
    assert min(abs(y - at_2025) for y in ys) < 0.11


def test_a_new_vintage_changes_the_page_and_its_etag(
    with_history: tuple[TestClient, list[dict[str, Any]]], demo_out: Path
) -> None:
    client, now = with_history
    path = f"/communes/{now[0]['commune_code']}/brief"
    first = client.get(path)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    summary = json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))
    record_vintage(client.store, Vintage(dt.date(2025, 9, 30), summary, now))  # type: ignore[attr-defined]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag
    assert "2025-09-30" in Page(again.text).by_id["vintage"]

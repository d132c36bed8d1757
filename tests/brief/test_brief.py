"""``GET /communes/{code}/brief``: the figures, targets and map of a real run, read back."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import h3
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from api.main import create_app
from api.settings import Settings
from geodx.brief_labels import LABELS
from tests.brief.conftest import NAMES, Page, communes, copy_results


def brief(client: TestClient, code: str, lang: str | None = None) -> Page:
    query = f"?lang={lang}" if lang else ""
    response = client.get(f"/communes/{code}/brief{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def vi_number(text: str) -> float:
    """``7.164`` → 7164, ``97,31 %`` → 97.31 (the page's Vietnamese format)."""
    return float(text.removesuffix(" %").replace(".", "").replace(",", "."))


def en_number(text: str) -> float:
    return float(text.removesuffix(" %").replace(",", ""))


def test_figures_equal_the_communes_properties(
    demo: TestClient, demo_out: Path
) -> None:
    feats = communes(demo_out)
    for feat in feats[:: max(1, len(feats) // 4)]:
        props = feat["properties"]
        page = brief(demo, props["commune_code"])
        assert page.by_id["commune-name"] == props["commune_name"]
        assert page.by_id["commune-code"] == props["commune_code"]
        assert page.by_id["district-name"] == props["district_name"]
        shown = {f for f, _, _ in page.values}
        wanted = {"households", "fibre_households", "fibre_pct", "mobile_pct",
                  "mobile_5g_pct", "fibre_gap_households", "mobile_gap_households",
                  "mobile_operators_0_households", "mobile_operators_3plus_households",
                  "operator_vnpt_fibre_pct", "operator_viettel_mobile_pct"}  # fmt: skip
        assert wanted <= shown, wanted - shown
        for field, value, text in page.values:
            if field not in props:
                continue
            assert value == props[field], field  # the exact property
            if isinstance(value, int | float) and not isinstance(value, bool):
                decimals = 2 if field.endswith("_pct") else 0
                assert vi_number(text) == round(value, decimals), (field, text)
            elif value is None:
                assert text == "–", field


def naive_status(households: float, covered: float, target: float) -> tuple[Any, int]:
    """The contract's rule written again: met and gap in exact rationals."""
    if households == 0:
        return None, 0
    need = Fraction(str(target)) / 100 * Fraction(households)
    met = Fraction(covered) >= need
    return met, max(0, math.ceil(need - Fraction(covered)))


def test_status_and_gap_follow_the_contract(demo: TestClient, demo_out: Path) -> None:
    summary = json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))
    t = summary["targets"]
    said = {True: LABELS["met"][0], False: LABELS["not_met"][0]}
    feats = [f["properties"] for f in communes(demo_out)]
    met = [p for p in feats if p["fibre_target_met"] and p["mobile_covered"]]
    unmet = [p for p in feats if not p["fibre_target_met"] or not p["mobile_covered"]]
    assert met and unmet
    for p in met[:4] + unmet[:8] + feats[::40]:
        page = brief(demo, p["commune_code"])
        for ind, target, flag in (("fibre", t["fibre_household_pct"], "fibre_target_met"),
                                  ("mobile", t["mobile_commune_household_pct"],
                                   "mobile_covered")):  # fmt: skip
            met, gap = naive_status(p["households"], p[f"{ind}_households"], target)
            assert page.field(flag) == [(met, said[met])]
            [(value, text)] = page.field(f"{ind}_gap_households")
            assert value == gap and vi_number(text) == gap
    covered, n = summary["communes_mobile_covered"], summary["communes_with_households"]
    met, missing = naive_status(n, covered, t["mobile_commune_pct"])
    assert met == summary["mobile_target_met"]
    [(value, text)] = page.field("communes_gap")
    assert value == missing and text == f"{missing} xã"
    [(_, text)] = page.field("mobile_commune_pct")
    assert text.startswith(f"{covered} / {n} xã")


def test_english_switches_every_label(demo: TestClient, demo_out: Path) -> None:
    props = communes(demo_out)[0]["properties"]
    code = props["commune_code"]
    vi, en = brief(demo, code), brief(demo, code, "en")
    assert ("html", {"lang": "vi"}) in vi.elements and (
        "html",
        {"lang": "en"},
    ) in en.elements
    vi_text, en_text = vi.labels(), en.labels()
    used = [k for k, (v, _) in LABELS.items()
            if "{" not in v and re.search(rf"(?<!\w){re.escape(v)}(?!\w)", vi_text)]  # fmt: skip
    assert len(used) > 40
    for key in used:
        v, e = LABELS[key]
        assert re.search(rf"(?<!\w){re.escape(e)}(?!\w)", en_text), key
        assert not re.search(rf"(?<!\w){re.escape(v)}(?!\w)", en_text), key
    assert not re.search(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđĐ]", en_text)
    for field, value, _ in en.values:  # the same figures, in English format
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool | str)
            and field != "communes_gap"
        ):
            [(_, text)] = [(v, t) for f, v, t in en.values if f == field][:1]
            decimals = 2 if field.endswith("_pct") else 0
            assert en_number(text) == round(value, decimals), field


def test_unknown_commune_and_language(demo: TestClient, demo_out: Path) -> None:
    response = demo.get("/communes/no-such-code/brief")
    assert response.status_code == 404 and "no commune" in response.json()["detail"]
    code = communes(demo_out)[0]["properties"]["commune_code"]
    assert demo.get(f"/communes/{code}/brief?lang=fr").status_code == 422


def test_page_has_no_script_and_a_strict_csp(demo: TestClient, demo_out: Path) -> None:
    from geodx.brief import STYLE, style_hash

    code = communes(demo_out)[1]["properties"]["commune_code"]
    response = demo.get(f"/communes/{code}/brief")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and f"style-src {style_hash()};" in csp
    assert "img-src data:" in csp and "script" not in csp and "unsafe" not in csp
    html = response.text
    assert "<script" not in html.lower() and " on" not in re.sub(r">[^<]*<", "><", html)
    assert html.count("<style>") == 1 and f"<style>{STYLE}</style>" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_names_are_shown_literally(hostile: TestClient, demo_out: Path) -> None:
    code = communes(demo_out)[0]["properties"]["commune_code"]
    with hostile as client:
        response = client.get(f"/communes/{code}/brief?lang=en")
    page = Page(response.text)
    assert page.by_id["commune-name"] == NAMES["commune_name"]
    assert page.by_id["district-name"] == NAMES["district_name"]
    assert page.by_id["region"] == NAMES["region"]
    assert NAMES["operator"] in page.all_text()
    assert "<img src=x onerror=alert(1)>" in page.all_text()
    html = response.text
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "49" not in page.by_id["commune-name"]
    assert ("script", {}) not in page.elements


def test_map_polygon_matches_the_communes_bounds(
    demo: TestClient, demo_out: Path
) -> None:
    import pandas as pd

    cells = pd.read_parquet(demo_out / "cells.parquet")
    for feat in communes(demo_out)[:3]:
        code = feat["properties"]["commune_code"]
        page = brief(demo, code)
        svg = next(a for t, a in page.elements if t == "svg" and a.get("id") == "map")
        x0, y0, w, h = (float(v) for v in svg["viewbox"].split())
        outline = next(a for t, a in page.elements if a.get("id") == "commune-outline")
        xs, ys = path_points(outline["d"])
        west, south, east, north = shape(feat["geometry"]).bounds
        # the projection written again: metres on the 6,378,137 m sphere, north up
        m = 6_378_137.0 * math.pi / 180
        kx = m * math.cos(math.radians((south + north) / 2))
        assert min(xs) == pytest.approx(0, abs=0.1) and min(ys) == pytest.approx(
            0, abs=0.1
        )
        assert max(xs) == pytest.approx((east - west) * kx, abs=0.1)
        assert max(ys) == pytest.approx((north - south) * m, abs=0.1)
        pad = -x0
        assert x0 == y0 and w == pytest.approx((east - west) * kx + 2 * pad, abs=0.2)
        assert h > (north - south) * m + 2 * pad  # room for the scale bar
        mine = cells[cells["commune_code"] == code]
        drawn = {a["data-h3"]: a["fill"] for t, a in page.elements if "data-h3" in a}
        assert set(drawn) == set(mine["h3"])
        for cell, hh, fibre in zip(mine["h3"], mine["households"],
                                   mine["fibre_households"], strict=True):  # fmt: skip
            assert drawn[cell] == naive_colour(100 * fibre / hh), cell
            assert h3.is_valid_cell(cell)
        assert page.by_id["scale-bar"].endswith(("m", "km"))
        assert page.by_id["north-arrow"] == "B"


def path_points(d: str) -> tuple[list[float], list[float]]:
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return nums[0::2], nums[1::2]


def naive_colour(pct: float) -> str:
    classes = [(95, "#1a9850"), (90, "#91cf60"), (80, "#d9ef8b"), (70, "#fee08b"),
               (50, "#fc8d59"), (0, "#d73027")]  # fmt: skip
    return next(c for low, c in classes if pct >= low)


def test_estimates_and_empty_communes_are_said(demo_out: Path, tmp_path: Path) -> None:
    out = copy_results(demo_out, tmp_path / "out")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary |= {"households_estimated": True, "households_vintage": "2019-04-01"}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), "utf-8")
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    props = doc["features"][0]["properties"]
    for key in props:
        if key.endswith(("_households", "_pct")) or key in ("households",):
            props[key] = (
                0 if key.endswith("_households") or key == "households" else None
            )
    props |= {"fibre_target_met": None, "mobile_covered": None}
    (out / "communes.geojson").write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    with TestClient(create_app(Settings(results_dir=out, warm_maps=False))) as client:
        page = brief(client, props["commune_code"])
    assert page.by_id["estimated"] == LABELS["estimated"][0]
    assert page.by_id["households-vintage"] == "2019-04-01"
    assert f"({LABELS['estimated_short'][0]})" in page.all_text()
    assert page.field("fibre_target_met") == [(None, LABELS["no_households"][0])]
    assert page.field("fibre_pct")[0] == (None, "–")
    assert page.field("fibre_gap_households")[0] == (0, "0")


def test_a_brief_compiles_no_template(
    demo: TestClient, demo_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the package's constant template is ever compiled, once per process."""
    import jinja2

    from geodx import brief as module

    code = communes(demo_out)[2]["properties"]["commune_code"]
    brief(demo, code)  # compiled by now
    compiled: list[str] = []
    real = jinja2.Environment.compile

    def compile_(self: jinja2.Environment, source: Any, *args: Any, **kw: Any) -> Any:
        compiled.append(str(source))
        return real(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "compile", compile_)
    for lang in ("vi", "en"):
        brief(demo, code, lang)
    assert compiled == []
    source = (Path(module.__file__).parent / "brief.html").read_text(encoding="utf-8")
    assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source


def test_the_commune_report_links_to_its_brief(
    demo: TestClient, demo_out: Path
) -> None:
    code = communes(demo_out)[0]["properties"]["commune_code"]
    links = demo.get(f"/communes/{code}").json()["links"]
    briefs = [x for x in links if x["type"] == "text/html" and x["rel"] == "alternate"]
    assert [x["href"].split("/communes/")[1] for x in briefs] == [
        f"{code}/brief",
        f"{code}/brief?lang=en",
    ]
    for link in briefs:
        page = demo.get(link["href"])
        assert page.status_code == 200 and page.headers["content-type"].startswith(
            "text/html"
        )

"""The typed API holds every property the outputs hold, and documents the pattern ones.

Demo results with all views (a measured layer, households estimated from counts):
each commune's report and the summary validate against the models, no property is
left outside them, and the OpenAPI document describes the per-slug properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas import (
    CommuneProperties,
    CommuneReport,
)
from api.schemas_fields import PATTERN_FIELDS
from api.schemas_summary import RegionSummary
from api.settings import Settings

from .views_region import communes_of, shared_results, summary_of

VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, TestClient]]:
    out = shared_results(tmp_path_factory)
    with TestClient(create_app(Settings(results_dir=out))) as client:
        yield out, client


def test_every_commune_report_holds_every_property(
    served: tuple[Path, TestClient],
) -> None:
    out, client = served
    props = communes_of(out)
    summary = summary_of(out)
    estimated = summary.get("households_estimated") is True
    assert estimated
    for p in props.values():
        CommuneProperties.model_validate(p)
        assert CommuneProperties.unmodelled(p) == []
    for code in sorted(props)[::4]:  # every fourth commune through the API
        p = props[code]
        body = client.get(f"/communes/{code}").json()
        report = CommuneReport.model_validate(body)
        assert report.properties is not None
        assert report.properties.model_dump() == {
            **dict.fromkeys(CommuneProperties.model_fields),
            **p,
        }
        assert report.households_estimated is estimated
        views = report.mobile_views
        assert views is not None
        assert (
            views.operators_3plus_households == p["mobile_operators_3plus_households"]
        )
        assert views.indoor_households == p["mobile_indoor_households"]
        assert views.covered_sensitive is p["mobile_covered_sensitive"]
        operators = {o.slug: o for o in report.operators}
        for slug, o in operators.items():
            assert o.mobile_households == p[f"operator_{slug}_mobile_households"]
            assert o.fibre_pct == p[f"operator_{slug}_fibre_pct"]
        for m in report.measured:
            assert m.households == p[f"measured_{m.slug}_households"]
            assert m.below_households == p[f"measured_{m.slug}_below_households"]
            assert m.untested_households == p[f"measured_{m.slug}_untested_households"]
        assert views.measured_below_households == p.get(
            "mobile_covered_measured_below_households"
        )
    assert len(operators) == 4
    assert len(report.measured) == 1  # the demo lists its tiles, estimated or not


def test_the_summary_is_modelled_whole(served: tuple[Path, TestClient]) -> None:
    out, client = served
    summary = summary_of(out)
    body = client.get("/summary").json()
    assert body == summary
    model = RegionSummary.model_validate(body)
    assert RegionSummary.unmodelled(body) == []
    assert model.targets is not None and model.targets.fibre_household_pct == 90
    assert {o.slug for o in model.operators} == {
        "vnpt",
        "viettel",
        "mobifone",
        "vietnamobile",
    }
    assert any(layer.indoor_loss_db == 10 for layer in model.layers)
    if summary.get("households_estimated"):
        assert model.households_estimated is True and model.households_method


def test_a_pattern_field_must_be_a_number() -> None:
    base: dict[str, Any] = {"commune_code": "1", "commune_name": "Xã A"}
    CommuneProperties.model_validate({**base, "operator_vnpt_fibre_pct": 12.5})
    with pytest.raises(ValueError, match="operator_vnpt_fibre_pct"):
        CommuneProperties.model_validate({**base, "operator_vnpt_fibre_pct": "12"})
    assert CommuneProperties.unmodelled(["layer_x_pct", "surprise"]) == ["surprise"]


def test_openapi_describes_the_pattern_properties(
    served: tuple[Path, TestClient],
) -> None:
    _, client = served
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("CommuneProperties", "RegionSummary"):
        patterns = schemas[name]["x-patternProperties"]
        assert set(patterns) == set(PATTERN_FIELDS)
        assert all(p["description"] for p in patterns.values())
    assert "mobile_covered_sensitive" in schemas["CommuneProperties"]["properties"]
    report = schemas["CommuneReport"]["properties"]
    assert {"properties", "measured", "households_estimated"} <= set(report)
    names = [p["name"] for p in doc["paths"]["/gaps"]["get"]["parameters"]]
    assert "district_code" in names


def test_summary_definitions_in_vietnamese(served: tuple[Path, TestClient]) -> None:
    out, client = served
    summary = summary_of(out)
    en = client.get("/summary").json()
    vi = client.get("/summary?lang=vi").json()
    assert {k: v for k, v in vi.items() if k != "definitions"} == {
        k: v for k, v in en.items() if k != "definitions"
    }
    assert set(vi["definitions"]) == set(en["definitions"])
    for key, text in en["definitions"].items():
        if isinstance(text, str):
            assert vi["definitions"][key] != text and VIETNAMESE.search(
                vi["definitions"][key]
            ), key
        else:
            assert vi["definitions"][key] == text, key  # numbers and lists unchanged
    t = summary["targets"]
    assert f"{t['fibre_household_pct']}%" in vi["definitions"]["fibre_gap_households"]
    code = next(iter(communes_of(out)))
    report = client.get(f"/communes/{code}?lang=vi").json()
    assert report["definitions"]["fibre_covered"] == vi["definitions"]["fibre_covered"]

"""/gaps exports with every view: each column is the commune property it comes from.

On demo results with four operators, a site layer with indoor loss and a measured
layer, households estimated from counts: the columns are found again in communes.geojson, the rows are the communes the
target rule leaves below it, the rank is the gap's place, the district filter is a
plain filter, and text that would start a formula is neutralised everywhere.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geodx.contract_names import (
    ESTIMATED_NOTE,
    SYNTHETIC_NOTE,
)

from .views_region import (
    communes_of,
    read_csv,
    read_xlsx,
    same,
    shared_results,
    summary_of,
)

FORMULA = ("=", "+", "-", "@", "\t", "\r")
# Export columns that are not a commune property of the same name.
DERIVED = {"rank", "indicator", "covered_households", "pct", "target_pct"}
DERIVED |= {"communes_target_pct", "gap_households", "note"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_results(tmp_path_factory)


@pytest.fixture(scope="module")
def client(out: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(results_dir=out))) as c:
        yield c


def expected_views(props: dict[str, dict[str, Any]], indicator: str) -> set[str]:
    """The view properties an export of ``indicator`` must carry, by their names."""
    names = set(next(iter(props.values())))
    if indicator == "fibre":
        pattern = r"operator_.+_fibre_(households|pct)"
    else:
        pattern = (
            r"operator_.+_mobile_(households|pct)|mobile_operators_.+_households"
            r"|mobile_all_operators_households|mobile_indoor_(households|pct)"
            r"|layer_.+_indoor_households|mobile_households_(minus|plus)3db"
            r"|mobile_covered_sensitive|measured_.+_households"
            r"|mobile_covered_measured_below_households"
        )
    found = {n for n in names if re.fullmatch(pattern, n)}
    # an operator without a layer of that kind has only nulls: not a column
    return {n for n in found if any(p[n] is not None for p in props.values())}


def below(props: dict[str, dict[str, Any]], indicator: str, target: float) -> set[str]:
    """Communes with households whose covered share is below the target (exact)."""
    return {
        code
        for code, p in props.items()
        if p["households"]
        and Fraction(p[f"{indicator}_households"]) * 100
        < Fraction(str(target)) * Fraction(p["households"])
    }


def check_table(
    header: list[str], rows: list[list[Any]], out: Path, indicator: str
) -> None:
    props = communes_of(out)
    targets = summary_of(out)["targets"]
    key = (
        "fibre_household_pct"
        if indicator == "fibre"
        else "mobile_commune_household_pct"
    )
    assert {h for h in header if h not in DERIVED} - set(
        next(iter(props.values()))
    ) == set()
    views = expected_views(props, indicator)
    assert views <= set(header) and len(views) > (2 if indicator == "fibre" else 15)
    assert {r[header.index("commune_code")] for r in rows} == below(
        props, indicator, targets[key]
    )
    for row in rows:
        cell = dict(zip(header, row, strict=True))
        p = props[cell["commune_code"]]
        for name, value in cell.items():
            if name not in DERIVED:
                assert same(value, p[name]), (cell["commune_code"], name, value)
        assert same(cell["covered_households"], p[f"{indicator}_households"])
        assert same(cell["pct"], p[f"{indicator}_pct"])
        assert same(cell["gap_households"], p[f"{indicator}_gap_households"])
        assert same(cell["target_pct"], targets[key])
        assert cell["note"] == f"{SYNTHETIC_NOTE} · {ESTIMATED_NOTE}"
        if indicator == "mobile":
            assert same(cell["communes_target_pct"], targets["mobile_commune_pct"])


@pytest.mark.parametrize("indicator", ["fibre", "mobile"])
def test_every_export_column_is_its_commune_property(
    client: TestClient, out: Path, indicator: str
) -> None:
    header, rows = read_csv(
        client.get(f"/gaps?indicator={indicator}&format=csv").content
    )
    check_table(header, rows, out, indicator)
    block, xheader, xrows = read_xlsx(
        client.get(f"/gaps?indicator={indicator}&format=xlsx").content
    )
    assert xheader == header
    check_table(xheader, xrows, out, indicator)
    assert block[:2] == [[SYNTHETIC_NOTE], [ESTIMATED_NOTE]]


@pytest.mark.parametrize("indicator", ["fibre", "mobile"])
def test_rank_is_the_place_of_the_gap(client: TestClient, indicator: str) -> None:
    header, rows = read_csv(
        client.get(f"/gaps?indicator={indicator}&format=csv").content
    )
    gaps = [r[header.index("gap_households")] for r in rows]
    codes = [r[header.index("commune_code")] for r in rows]
    # sorted by gap, largest first, then by code; rank = 1 + communes with a larger gap
    assert list(zip(gaps, codes, strict=True)) == sorted(
        zip(gaps, codes, strict=True), key=lambda x: (-x[0], x[1])
    )
    assert [r[0] for r in rows] == [1 + sum(g > mine for g in gaps) for mine in gaps]
    assert rows[0][0] == 1
    body = client.get(f"/gaps?indicator={indicator}").json()
    assert [g["rank"] for g in body["gaps"]] == [r[0] for r in rows]


def test_vietnamese_headers_name_the_operators_and_layers(client: TestClient) -> None:
    en, _ = read_csv(client.get("/gaps?indicator=mobile&format=csv").content)
    vi, _ = read_csv(client.get("/gaps?indicator=mobile&format=csv&lang=vi").content)
    shown = dict(zip(en, vi, strict=True))
    assert (
        shown["operator_vietnamobile_mobile_households"]
        == "Số hộ có 4G/5G — Vietnamobile"
    )
    assert (
        shown["mobile_operators_3plus_households"] == "Số hộ có 4G/5G của 3+ nhà mạng"
    )
    assert shown["target_pct"] == "Ngưỡng xã đạt 4G/5G (% số hộ)"
    assert shown["communes_target_pct"] == "Chỉ tiêu tỉnh (% số xã)"
    assert shown["layer_vietnamobile_4g_sites_indoor_households"].endswith(
        "vietnamobile-4g-sites"
    )
    measured = [v for k, v in shown.items() if k.startswith("measured_")]
    assert len(measured) == 4 and all("ookla-mobile-synthetic" in v for v in measured)
    assert len(set(vi)) == len(vi)  # every header says something of its own


def test_mobile_title_says_the_commune_rule_and_the_communes_target(
    client: TestClient, out: Path
) -> None:
    s = summary_of(out)
    for lang, rule, goal in (
        ("en", "Commune rule", "Province target"),
        ("vi", "Quy tắc xã", "Chỉ tiêu tỉnh"),
    ):
        body = client.get(f"/gaps?indicator=mobile&format=xlsx&lang={lang}").content
        block = dict(r for r in read_xlsx(body)[0] if len(r) == 2)
        assert "≥ 95%" in block[rule] and "100%" not in block[rule]
        assert block[goal].startswith("100% ")
        assert (
            f"{s['mobile_commune_pct']}% ({s['communes_mobile_covered']}/"
            in block[goal]
        )
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/gaps?indicator=mobile&format=xlsx&lang=vi").content)
    )
    assert book.sheetnames == ["Xã chưa đạt 4G-5G", "Giới thiệu"]


def test_title_block_says_region_date_source_and_definitions(
    client: TestClient, out: Path
) -> None:
    s = summary_of(out)
    marker = json.loads((out / ".geodx-output.json").read_text(encoding="utf-8"))
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/gaps?indicator=fibre&format=xlsx").content)
    )
    block = dict(
        r
        for r in read_xlsx(client.get("/gaps?indicator=fibre&format=xlsx").content)[0]
        if len(r) == 2
    )
    assert block["Region"] == s["region"] and block["Source"] == s["source"]
    assert block["Results computed"] == marker["created"]
    assert block["Synthetic data"] == "yes"
    assert block["Households"] == "estimated from counts"
    assert block["Estimation method"] == s["households_method"]
    assert block["Gap"] == s["definitions"]["fibre_gap_households"]
    width = book.worksheets[0].column_dimensions["A"].width
    assert width >= max(len(label) for label in block)  # labels show whole
    about = {r[0]: r[1] for r in book["About"].iter_rows(values_only=True) if r[0]}
    assert about["fibre_covered"] == s["definitions"]["fibre_covered"]
    assert about["gap_households"] == "gap_households"  # the column dictionary
    sha = {i["sha256"] for i in s["inputs"]}
    assert sha <= set(about.values())


def test_district_filter_is_a_plain_filter(client: TestClient, out: Path) -> None:
    props = communes_of(out)
    full = client.get("/gaps?indicator=fibre").json()["gaps"]
    districts = sorted({p["district_code"] for p in props.values()})
    assert len(districts) > 3
    for code in districts:
        want = [g for g in full if g["district_code"] == code]
        got = client.get(f"/gaps?indicator=fibre&district_code={code}").json()
        assert got["gaps"] == want and got["count"] == len(want)
        header, rows = read_csv(
            client.get(f"/gaps?indicator=fibre&format=csv&district_code={code}").content
        )
        assert [r[1] for r in rows] == [g["commune_code"] for g in want]
        r = client.get(f"/gaps?indicator=fibre&format=xlsx&district_code={code}")
        assert r.status_code == 200 and code in r.headers["content-disposition"]
    r = client.get("/gaps?district_code=999999&format=csv")
    assert r.status_code == 404 and "999999" in r.json()["detail"]
    mobile = {
        g["district_code"] for g in client.get("/gaps?indicator=mobile").json()["gaps"]
    }
    none_below = sorted(set(districts) - mobile)[0]  # a district with no commune below
    got = client.get(f"/gaps?indicator=mobile&district_code={none_below}").json()
    assert got["gaps"] == [] and got["count"] == 0
    url = f"/gaps?indicator=mobile&format=csv&district_code={none_below}"
    header, rows = read_csv(client.get(url).content)
    assert header[:2] == ["rank", "commune_code"] and rows == []


def test_region_without_districts_refuses_the_filter(out: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in out.iterdir():
        if f.is_file():
            shutil.copy(f, flat / f.name)
    doc = json.loads((flat / "communes.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        feature["properties"]["district_code"] = None
        feature["properties"]["district_name"] = None
    (flat / "communes.geojson").write_text(json.dumps(doc), encoding="utf-8")
    (flat / "districts.geojson").write_text(
        '{"type": "FeatureCollection", "features": []}', encoding="utf-8"
    )
    with TestClient(create_app(Settings(results_dir=flat))) as client:
        for fmt in ("json", "csv", "xlsx"):
            r = client.get(f"/gaps?format={fmt}&district_code=643")
            assert r.status_code == 400 and "no district" in r.json()["detail"]
        vi = client.get("/gaps?district_code=643&lang=vi").json()["detail"]
        assert "huyện" in vi and "no district" not in vi
        assert client.get("/gaps?format=csv").status_code == 200


ATTACK_REGION = '=HYPERLINK("http://evil.example") {{ 7*7 }} <b>’'


@pytest.fixture(scope="module")
def attacked(
    out: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("attacked-views")
    for f in out.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    doc = json.loads((folder / "communes.geojson").read_text(encoding="utf-8"))
    names = ["=1+1", "{{ 7*7 }}", "<script>x</script>", "’Xã", "@SUM(A1)", "\tTab"]
    for feature, name in zip(doc["features"], names * 40, strict=False):
        feature["properties"]["commune_name"] = name
        feature["properties"]["district_name"] = "-" + name
    (folder / "communes.geojson").write_text(json.dumps(doc), encoding="utf-8")
    summary = summary_of(folder)
    summary["region"] = ATTACK_REGION
    summary["source"] = "+cmd"
    for op in summary["operators"]:
        op["operator"] = "=" + op["operator"]
    summary["definitions"]["fibre_gap_households"] = "@gap"
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with TestClient(create_app(Settings(results_dir=folder))) as client:
        yield client


def _assert_safe(value: Any) -> None:
    if isinstance(value, str):
        assert not value.startswith(FORMULA), value


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_formulas_are_neutralised_in_views_and_title(
    attacked: TestClient, lang: str
) -> None:
    for indicator in ("fibre", "mobile"):
        body = attacked.get(f"/gaps?indicator={indicator}&format=xlsx&lang={lang}")
        book = openpyxl.load_workbook(io.BytesIO(body.content))
        texts = []
        for sheet in book:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", cell.value
                    _assert_safe(cell.value)
                    texts.append(cell.value)
        assert "'" + ATTACK_REGION in texts and "'+cmd" in texts
        assert lang == "vi" or "'@gap" in texts  # vi: the rule's own Vietnamese text
        assert {"'=1+1", "{{ 7*7 }}", "<script>x</script>", "’Xã", "'@SUM(A1)"} & set(
            texts
        )
        header, rows = read_csv(
            attacked.get(f"/gaps?indicator={indicator}&format=csv&lang={lang}").content
        )
        for row in [header, *rows]:
            for value in row:
                _assert_safe(value)
        assert all(isinstance(r[6], int | float) for r in rows)  # numbers stay numbers


def test_counts_region_exports_say_estimated(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    out = shared_results(tmp_path_factory)
    with TestClient(create_app(Settings(results_dir=out))) as client:
        r = client.get("/gaps?indicator=fibre&format=csv")
        header, rows = read_csv(r.content)
        assert "synthetic-estimated" in r.headers["content-disposition"]
        assert rows and all("Số hộ ước tính" in row[-1] for row in rows)
        gaps = [r[header.index("gap_households")] for r in rows]
        assert all(isinstance(g, int) and g >= 1 for g in gaps)
        households = [r[header.index("households")] for r in rows]
        assert any(not float(h).is_integer() for h in households)  # estimates
        props = communes_of(out)
        for row in rows:  # the gap rule, again, on fractional households
            p = props[row[1]]
            assert row[header.index("gap_households")] == math.ceil(
                max(
                    0,
                    Fraction(90, 100) * Fraction(p["households"])
                    - Fraction(p["fibre_households"]),
                )
            )

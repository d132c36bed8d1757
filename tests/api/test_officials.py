"""Endpoints for officials: summary, commune report, search, gap tables and exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.exports import to_xlsx
from api.results import fold

SPECIAL = 'Xã Ea <Tu> "Mới" & Co'


def test_summary_is_summary_json(client: TestClient, results_dir: Path) -> None:
    expected = json.loads((results_dir / "summary.json").read_text(encoding="utf-8"))
    assert client.get("/summary").json() == expected


def test_commune_report_figures_targets_gap_and_breakdowns(client: TestClient) -> None:
    body = client.get("/communes/24133").json()
    assert body["commune_name"] == SPECIAL
    assert body["district_name"] == "Thành phố Buôn Ma Thuột"
    assert body["synthetic"] is True
    fibre = next(t for t in body["targets"] if t["indicator"] == "fibre")
    assert fibre == {
        "indicator": "fibre",
        "target_pct": 90.0,
        "met": False,
        "gap_households": 53,
    }
    by_tech = {x["indicator"]: x for x in body["by_technology"]}
    assert by_tech["fibre"]["households"] == 12 and by_tech["mobile"]["pct"] == 100.0
    assert set(body["by_operator"]) == {"VNPT", "Viettel"}
    viettel = {x["id"]: x for x in body["by_operator"]["Viettel"]}
    assert viettel["viettel-4g"]["technology"] == "4G"
    assert viettel["Viettel 5G"]["households"] == 0
    assert body["definitions"]["targets"]["fibre_household_pct"] == 90.0
    assert "fibre" in body["definitions"]


def test_commune_without_households_has_null_flags(client: TestClient) -> None:
    body = client.get("/communes/24343").json()
    assert body["households"] == 0
    assert [t["met"] for t in body["targets"]] == [None, None]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("hoa phu", ["24121"]),
        ("HÒA PHÚ", ["24121"]),
        ("dak lieng", ["24340"]),
        ("ĐẮK", ["24340"]),
        ("tân", ["24115"]),
        ("ea <tu>", ["24133"]),
        ("2434", ["24340", "24343"]),
        ("xyz", []),
    ],
)
def test_search_ignores_case_and_diacritics(
    client: TestClient, query: str, codes: list[str]
) -> None:
    body = client.get("/communes", params={"q": query}).json()
    assert sorted(c["commune_code"] for c in body["communes"]) == codes
    assert body["count"] == len(codes)


def test_fold() -> None:
    assert fold("  Xã  Đắk Liêng ") == "xa dak lieng"
    assert fold("Hòa Phú") == fold("hoa phu") == fold("HOÀ PHÚ")


def test_gaps_json_largest_first_with_exact_names(client: TestClient) -> None:
    body = client.get("/gaps?indicator=fibre").json()
    assert [g["commune_code"] for g in body["gaps"]] == ["24133", "24115", "24340"]
    assert body["gaps"][0]["commune_name"] == SPECIAL
    assert body["target_pct"] == 90.0 and body["count"] == 3


def test_gaps_csv_has_bom_and_vietnamese_headers(client: TestClient) -> None:
    r = client.get("/gaps?indicator=fibre&format=csv&lang=vi")
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Mã xã", "Tên xã"] and "Số hộ còn thiếu" in rows[0]
    assert rows[1][1] == SPECIAL and rows[1][4] == "Cáp quang"
    english = client.get("/gaps?indicator=mobile&format=csv").content.decode(
        "utf-8-sig"
    )
    assert english.splitlines()[0].startswith("commune_code,commune_name")


def test_gaps_xlsx_reads_back(client: TestClient) -> None:
    r = client.get("/gaps?indicator=fibre&format=xlsx&lang=vi")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Mã xã" and rows[1][1] == SPECIAL
    assert [row[-1] for row in rows[1:]] == [53, 29, 5]


def test_xlsx_never_turns_text_into_formulas() -> None:
    data = to_xlsx(
        pd.DataFrame({"name": ["=HYPERLINK(1)", "Xã A"], "n": [1, 2]}), title="t"
    )
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == "=HYPERLINK(1)"

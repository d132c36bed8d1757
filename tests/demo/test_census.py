"""Carrying census households onto boundary communes: the matching rules."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.census import (
    CensusRow,
    Crosswalk,
    carry_households,
    normalise_code,
    normalise_name,
    read_census,
    read_crosswalk,
)
from geodx.errors import InputFileError, MissingColumn

BOUNDARIES = {"10001": "Xã Hòa Phú", "10002": "Phường Tân An", "10003": "Xã Ea Kao"}


def test_rules_apply_in_order() -> None:
    crosswalk = Crosswalk(
        target={"20001": "10001", "20002": "10001", "20003": "99999"},
        new_names={"99999": "Xã  Ea Kao"},
    )
    rows = [
        CensusRow("20001", "Xã A", 100),  # crosswalk
        CensusRow("20002", "Xã B", 50),  # crosswalk, same target
        CensusRow("20003", "Xã C", 30),  # target code unknown: its new name matches
        CensusRow("10002", "Phường Tân An", 20),  # already a boundary code
        CensusRow(None, "Thị trấn Hòa Phú", 7),  # no code: name without prefix
        CensusRow(None, "Xã Nowhere", 5),  # nothing matches
        CensusRow("30000", None, 3),  # unknown code, no name
    ]
    report = carry_households(rows, BOUNDARIES, crosswalk)
    assert report.per_commune == {"10001": 157, "10002": 20, "10003": 30}
    assert report.rows_by_rule == {
        "code": 1, "crosswalk": 2, "crosswalk-name": 1, "name": 1, "unmatched": 2
    }  # fmt: skip
    assert report.unmatched == [("Xã Nowhere", 5), ("30000", 3)]
    assert report.census_households == 215
    assert report.carried_households + report.unmatched_households == 215
    assert "207 of 215 census households" in report.summary()


def test_ambiguous_names_are_not_matched() -> None:
    boundaries = {"1": "Xã Tân An", "2": "Phường Tân An"}
    report = carry_households([CensusRow(None, "Xã Tân An", 9)], boundaries)
    assert report.per_commune == {}
    assert report.unmatched == [("Xã Tân An", 9)]


def test_codes_and_names_are_normalised() -> None:
    assert normalise_code(" 4 ") == "00004"
    assert normalise_code("24247.0") == "24247"
    assert normalise_code(None) is None
    assert normalise_name("Phường  Buôn  Ma Thuột") == "buôn ma thuột"
    assert normalise_name("THỊ TRẤN Ea Pốk") == "ea pốk"


def test_split_commune_goes_to_its_default_target(tmp_path: Path) -> None:
    path = tmp_path / "crosswalk.csv"
    pl.DataFrame(
        {
            "old_ward_code": ["24550", "24550", "24553"],
            "new_ward_code": ["24561", "24544", "24544"],
            "new_ward_name": ["Xã Dray Bhăng", "Xã Ea Ktur", "Xã Ea Ktur"],
            "split": [True, True, False],
            "is_default": [False, True, True],
        }
    ).write_csv(path)
    crosswalk = read_crosswalk(path)
    assert crosswalk.target == {"24550": "24544", "24553": "24544"}
    assert crosswalk.new_names["24561"] == "Xã Dray Bhăng"


def test_census_table_columns_are_found_or_named(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_text(
        "commune_name,hh_total,ward_code_2024\nXã Ea Bar,4057,24250\nXã X,10,\n",
        encoding="utf-8",
    )
    rows = read_census(path)
    assert rows == [CensusRow("24250", "Xã Ea Bar", 4057), CensusRow(None, "Xã X", 10)]
    with pytest.raises(MissingColumn, match=r"census\.csv: column 'so_ho' not found"):
        read_census(path, count_column="so_ho")


def test_bad_counts_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_text("ward_code,households\n00001,many\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"census\.csv: households 'many'"):
        read_census(path)

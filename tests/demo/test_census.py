"""Carrying census households onto boundary communes: the matching rules."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data.census import (
    CensusRow,
    Communes,
    Crosswalk,
    carry_households,
    normalise_code,
    normalise_name,
    read_census,
    read_crosswalk,
)
from geodx.errors import CountsError, InputFileError, MissingColumn

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
        "code": 1, "crosswalk": 2, "crosswalk-name": 1, "name": 1, "not-placed": 2
    }  # fmt: skip
    assert [(r.name, r.code, r.households) for r in report.not_placed] == [
        ("Xã Nowhere", "", 5),
        ("", "30000", 3),
    ]
    assert report.census_households == 215
    assert report.carried_households + report.not_placed_households == 215
    assert "207 of 215 census households" in report.summary()


def test_ambiguous_names_are_not_matched() -> None:
    boundaries = {"1": "Xã Tân An", "2": "Phường Tân An"}
    report = carry_households([CensusRow(None, "Xã Tân An", 9)], boundaries)
    assert report.per_commune == {}
    [entry] = report.not_placed
    assert (entry.name, entry.households) == ("Xã Tân An", 9)
    assert entry.reason == (
        "no code; name shared by 2 communes of its province; old district unknown"
    )


def test_codes_and_names_are_normalised() -> None:
    assert normalise_code(" 4 ") == "00004"
    assert normalise_code("24247.0") == "24247"
    assert normalise_code(None) is None
    assert normalise_name("Phường  Buôn  Ma Thuột") == "buôn ma thuột"
    assert normalise_name("THỊ TRẤN Ea Pốk") == "ea pốk"
    assert normalise_code("6", 2) == "06"


def test_split_commune_goes_to_its_default_target(tmp_path: Path) -> None:
    path = tmp_path / "crosswalk.csv"
    pl.DataFrame(
        {
            "old_ward_code": ["24550", "24550", "24553"],
            "new_ward_code": ["24561", "24544", "24544"],
            "new_ward_name": ["Xã Dray Bhăng", "Xã Ea Ktur", "Xã Ea Ktur"],
            "split": [True, True, False],
            "is_default": [False, True, True],
            "new_province_code": ["66", "66", "66"],
        }
    ).write_csv(path)
    crosswalk = read_crosswalk(path)
    assert crosswalk.target == {"24550": "24544", "24553": "24544"}
    assert crosswalk.new_names["24561"] == "Xã Dray Bhăng"
    assert crosswalk.new_provinces == {"24561": "66", "24544": "66"}


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
    with pytest.raises(
        InputFileError, match=r"census\.csv: column households, row 1: 'many' is not"
    ):
        read_census(path)


# -- a census row never lands outside its own province (issue 6, D12) -----------

# The new province 66 (old 66 and old 54 merged); both it and province 92 have a
# "Xã Hòa Phú".
MERGED = Communes(
    names={"10001": "Xã Hòa Phú", "10002": "Phường Tân An", "10003": "Xã An Mỹ"},
    provinces={"10001": "66", "10002": "66", "10003": "66"},
    province_names={"66": "Đắk Lắk"},
)
TO_2025 = Crosswalk(
    target={"20001": "10002", "20002": "10003", "30001": "31001", "30002": "31002"},
    new_names={"31001": "Xã Hòa Phú", "31002": "Xã Tân An"},
    new_provinces={"10002": "66", "10003": "66", "31001": "92", "31002": "92"},
)


def row(code: str | None, name: str, households: int, province: str) -> CensusRow:
    names = {"66": "Tỉnh Đắk Lắk", "54": "Tỉnh Phú Yên", "92": "Thành phố Cần Thơ"}
    return CensusRow(code, name, households, province, None, names[province])


def test_a_row_lands_only_in_its_own_province() -> None:
    rows = [
        row("20001", "Phường Tân An", 100, "66"),  # crosswalk
        row(None, "Xã Hòa Phú", 40, "66"),  # name, in its province
        row("20002", "Xã An Mỹ", 30, "54"),  # old Phú Yên, into the new 66
        CensusRow(None, "Xã An Mỹ", 6, None, None, "Tỉnh Phú Yên"),  # code by name
        row(None, "Xã Hòa Phú", 5000, "92"),  # Cần Thơ's own Hòa Phú: not here
        row("30001", "Xã Hòa Phú", 700, "92"),  # its new name is a name of 66
        row("30002", "Xã Tân An", 80, "92"),  # ... as is this one, prefix aside
        row("10001", "Xã X", 9, "92"),  # a code of 66, on a row of another province
    ]
    report = carry_households(rows, MERGED, TO_2025)
    assert report.per_commune == {"10001": 40, "10002": 100, "10003": 36}
    assert report.outside == {"Thành phố Cần Thơ": 5789}
    assert report.rows_by_rule["other-province"] == 4
    assert report.not_placed == []
    assert (report.region_households, report.carried_households) == (176, 176)
    assert "5,789 households of 1 other province(s) left out" in report.summary()


def test_on_boundaries_of_two_provinces_each_row_stays_in_its_own() -> None:
    communes = Communes(
        names={"10001": "Xã Hòa Phú", "31001": "Xã Hòa Phú", "31002": "Xã Tân An"},
        provinces={"10001": "66", "31001": "92", "31002": "92"},
    )
    crosswalk = Crosswalk(
        target={"20009": "19999", "30009": "39999", "20010": "10001", "20011": "10001"},
        new_names={"19999": "Xã Hòa Phú", "39999": "Xã Tân An"},
        new_provinces={"19999": "66", "39999": "92", "10001": "66"},
    )
    rows = [
        row("20010", "Xã V", 1, "66"),  # most rows of old 66 go to the new 66
        row("20011", "Xã W", 2, "66"),
        row(None, "Xã Hòa Phú", 40, "66"),
        row(None, "Xã Hòa Phú", 50, "92"),
        row("20009", "Xã Z", 6, "54"),  # the crosswalk's new name, in new 66
        row("30009", "Xã Z", 8, "66"),  # its new name is of 92: not placed
        row("10001", "Xã Y", 9, "92"),  # a code of 66 on a row of 92: not placed
    ]
    report = carry_households(rows, communes, crosswalk)
    assert report.per_commune == {"10001": 49, "31001": 50}
    assert [(r.code, r.households) for r in report.not_placed] == [
        ("30009", 8),
        ("10001", 9),
    ]


def test_the_crosswalk_decides_the_new_province_of_an_old_one() -> None:
    # Without a crosswalk old Phú Yên (54) is not the new province 66.
    rows = [row(None, "Xã An Mỹ", 30, "54"), row(None, "Xã Hòa Phú", 40, "66")]
    report = carry_households(rows, MERGED)
    assert report.per_commune == {"10001": 40}
    assert report.outside == {"Tỉnh Phú Yên": 30}
    # A province no row codes is matched on its name against the boundaries'.
    named = [CensusRow(None, "Xã An Mỹ", 3, None, None, "Tỉnh Đắk Lắk")]
    assert carry_households(named, MERGED).per_commune == {"10003": 3}
    # A crosswalk without new provinces: its targets' boundary communes tell them.
    bare = Crosswalk(target={"20002": "10003"})
    rows = [row("20002", "Xã An Mỹ", 30, "54"), row(None, "Xã Hòa Phú", 5, "54")]
    report = carry_households(rows, MERGED, bare)
    assert report.per_commune == {"10001": 5, "10003": 30}


def test_names_are_matched_within_the_district_where_both_know_it() -> None:
    communes = Communes(
        names={"1": "Xã Hòa Phú", "2": "Xã Hòa Phú"},
        provinces={"1": "66", "2": "66"},
        districts={"1": "643", "2": "650"},
    )
    rows = [
        CensusRow(None, "Xã Hòa Phú", 10, "66", "650"),
        CensusRow(None, "Xã Hòa Phú", 20, "66", "643"),
        CensusRow(None, "Xã Hòa Phú", 4, "66", None),  # district unknown: ambiguous
        CensusRow("2", "Xã Y", 7, "66", "643"),  # its code is of another district
    ]
    report = carry_households(rows, communes)
    # The last row is spread over its own district 643, where "1" is all it reached.
    assert report.per_commune == {"1": 27, "2": 10}
    assert report.rows_by_rule["district-spread"] == 1
    assert [(r.households, r.reason) for r in report.not_placed] == [
        (4, "no code; name shared by 2 communes of its province; old district unknown"),
    ]


def test_a_table_without_provinces_is_taken_as_the_boundaries_province() -> None:
    report = carry_households([CensusRow(None, "Xã Hòa Phú", 10)], MERGED)
    assert report.per_commune == {"10001": 10}


def test_a_row_without_a_province_among_rows_with_one_is_not_placed() -> None:
    rows = [row(None, "Xã Hòa Phú", 40, "66"), CensusRow(None, "Xã An Mỹ", 3)]
    report = carry_households(rows, MERGED)
    assert report.per_commune == {"10001": 40}
    assert [(r.households, r.reason) for r in report.not_placed] == [
        (3, "no province given")
    ]


def test_several_provinces_need_the_boundaries_province() -> None:
    rows = [row(None, "Xã Hòa Phú", 40, "66"), row(None, "Xã Hòa Phú", 50, "92")]
    with pytest.raises(CountsError, match="lists 2 provinces.*province_code"):
        carry_households(rows, BOUNDARIES)


def test_province_and_district_columns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_text(
        "province_name,district_name,commune_name,hh_total,ward_code_2024,"
        "district_code_2024,province_code_2024\n"
        "Tỉnh Phú Yên,Huyện Tuy An,Xã An Mỹ,3337,22100,557,54\n"
        "Tỉnh Phú Yên,Huyện Tuy An,Xã An Hòa,10,,,\n",
        encoding="utf-8",
    )
    assert read_census(path) == [
        CensusRow(
            "22100", "Xã An Mỹ", 3337, "54", "557", "Tỉnh Phú Yên", "Huyện Tuy An"
        ),
        CensusRow(None, "Xã An Hòa", 10, None, None, "Tỉnh Phú Yên", "Huyện Tuy An"),
    ]

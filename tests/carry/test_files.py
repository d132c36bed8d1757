"""``geodx counts`` files: one-line errors for bad tables; the table and report written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import geopandas as gpd
import polars as pl
import pytest
import shapely
from typer.testing import CliRunner

from app.cli import app
from geodx.carry_io import read_census, read_crosswalk, report_path
from geodx.errors import InputFileError, MissingColumn, UnsupportedFormat

CENSUS_HEADER = (
    "province_name,district_name,commune_name,hh_total,ward_code_2024,"
    "district_code_2024,province_code_2024\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_census_without_a_count_column_names_file_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "census.csv", "commune_name,ward_code_2024\nXã A,24250\n")
    with pytest.raises(MissingColumn) as info:
        read_census(path)
    assert str(info.value) == (
        f"{path}: none of the columns hh_total, households, so_ho found"
    )


def test_a_census_without_a_code_column_names_file_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "census.csv", "commune_name,hh_total\nXã A,3\n")
    with pytest.raises(
        MissingColumn, match=r"census\.csv: none of the columns ward_code_2024"
    ):
        read_census(path)


def test_a_bad_count_names_file_column_and_row(tmp_path: Path) -> None:
    path = write(tmp_path / "census.csv", "ward_code,hh_total\n00001,3\n00002,-4\n")
    with pytest.raises(InputFileError) as info:
        read_census(path)
    assert str(info.value) == f"{path}: column hh_total, row 2: '-4' is negative"
    assert "\n" not in str(info.value)


def test_a_crosswalk_without_new_codes_names_file_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "crosswalk.csv", "old_ward_code,new_code\n1,2\n")
    with pytest.raises(MissingColumn) as info:
        read_crosswalk(path)
    assert str(info.value) == f"{path}: column 'new_ward_code' not found"


def test_a_bad_share_names_file_column_and_row(tmp_path: Path) -> None:
    path = write(
        tmp_path / "crosswalk.csv",
        "old_ward_code,new_ward_code,share\n1,2,0.5\n1,3,lots\n",
    )
    with pytest.raises(InputFileError) as info:
        read_crosswalk(path)
    assert str(info.value) == (
        f"{path}: column share, row 2: 'lots' is not a share from 0 to 1"
    )


def test_shares_are_read_with_every_target(tmp_path: Path) -> None:
    path = write(
        tmp_path / "crosswalk.csv",
        "old_ward_code,new_ward_code,is_default,share\n"
        "24550,24561,false,0.3\n24550,24544,true,0.7\n24553,24544,true,\n",
    )
    crosswalk = read_crosswalk(path)
    assert crosswalk.target == {"24550": "24544", "24553": "24544"}
    assert crosswalk.targets == {
        "24550": (("24544", 0.7), ("24561", 0.3)),
        "24553": (("24544", None),),
    }


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("census.xlsx", b"PK\x03\x04", UnsupportedFormat),
        ("census.parquet", b"not parquet at all", InputFileError),
        ("census.csv", b'a,b\n"unclosed,1\n', InputFileError),
    ],
)
def test_unreadable_tables_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, error: type[Exception]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error) as info:
        read_census(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Path]:
    """New Đắk Lắk's three communes; old 66 and 54 and a row of Hà Nội."""
    gpd.GeoDataFrame(
        {
            "ward_code": ["10001", "10002", "10003"],
            "official_name": ["Xã Hòa Phú", "Phường Tân An", "Xã Ea Kao"],
            "province_code": ["66", "66", "66"],
        },
        geometry=[
            shapely.box(108 + i / 10, 12.5, 108.1 + i / 10, 12.6) for i in range(3)
        ],
        crs=4326,
    ).to_file(tmp_path / "bounds.gpkg")
    write(
        tmp_path / "crosswalk.csv",
        "old_ward_code,new_ward_code,new_province_code,is_default\n"
        "20001,10001,66,true\n20002,10002,66,true\n20002,10003,66,false\n"
        "20003,10003,66,true\n00001,00004,01,true\n",
    )
    write(
        tmp_path / "census.csv",
        CENSUS_HEADER + "Tỉnh Đắk Lắk,Huyện A,Xã Hòa Phú,100,20001,640,66\n"
        "Tỉnh Đắk Lắk,Huyện A,Xã Split,51,20002,640,66\n"
        "Tỉnh Phú Yên,Huyện B,Xã Ea Kao,30,20003,555,54\n"
        "Tỉnh Đắk Lắk,Huyện A,Xã Gone,9,,640,\n"
        "Thành phố Hà Nội,Quận Ba Đình,Phường Phúc Xá,5000,00001,001,01\n",
    )
    return {
        "census": tmp_path / "census.csv",
        "crosswalk": tmp_path / "crosswalk.csv",
        "boundaries": tmp_path / "bounds.gpkg",
    }


def run_counts(files: dict[str, Path], out: Path) -> tuple[int, str]:
    args = ["counts"]
    for key, path in files.items():
        args += [f"--{key}", str(path)]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    return result.exit_code, result.output


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_counts_writes_the_table_and_the_report(
    small: dict[str, Path], tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / "out" / f"households{suffix}"
    code, output = run_counts(small, out)
    assert code == 0, output
    assert "190 of 190 census households placed on 3 communes (9 spread" in output
    table = (
        pl.read_parquet(out)
        if suffix == ".parquet"
        else pl.read_csv(out, schema_overrides={"commune_code": pl.String})
    )
    # Row 2 is split equally (the tie to the smaller code); row 4 is spread over
    # district 640 as rows 1 and 2 went: 9 x 100:26:25 -> 6, 2, 1.
    assert table.rows() == [
        # code, name, households, by code, by name, spread, census rows
        ("10001", "Xã Hòa Phú", 106, 100, 0, 6, 2),
        ("10002", "Phường Tân An", 28, 26, 0, 2, 2),
        ("10003", "Xã Ea Kao", 56, 55, 0, 1, 3),
    ]
    report = pl.read_csv(report_path(out), infer_schema=False)
    assert report.columns == [
        "row", "province", "district", "old_district_code", "old_code", "name",
        "households", "rule", "new_codes", "reason",
    ]  # fmt: skip
    assert report["rule"].to_list() == [
        "crosswalk", "split", "crosswalk", "district-spread", "other-province"
    ]  # fmt: skip
    assert report["new_codes"].to_list()[:4] == [
        "10001:100", "10002:26;10003:25", "10003:30", "10001:6;10002:2;10003:1"
    ]  # fmt: skip
    assert report["new_codes"].to_list()[3] == "10001:6;10002:2;10003:1"
    # Written by rename: no temporary file left beside them.
    assert {p.name for p in out.parent.iterdir()} == {out.name, report_path(out).name}


def test_counts_refuses_a_bad_file_in_one_line(
    small: dict[str, Path], tmp_path: Path
) -> None:
    write(small["crosswalk"], "old,new\n1,2\n")
    out = tmp_path / "households.parquet"
    code, output = run_counts(small, out)
    assert code == 2
    assert (
        output.strip()
        == f"error: {small['crosswalk']}: column 'old_ward_code' not found"
    )
    assert not out.exists()
    code, output = run_counts(small, tmp_path / "households.xlsx")
    assert code == 2
    assert "--out must end in .parquet or .csv" in output


def test_the_report_is_formula_safe(small: dict[str, Path], tmp_path: Path) -> None:
    text = (
        small["census"].read_text(encoding="utf-8").replace("Xã Gone", "=HYPERLINK(1)")
    )
    write(small["census"], text)
    out = tmp_path / "households.csv"
    assert run_counts(small, out)[0] == 0
    report = pl.read_csv(report_path(out), infer_schema=False)
    assert report["name"][3] == "'=HYPERLINK(1)"
    assert report["households"][3] == "9"


def test_counts_never_writes_over_an_input(small: dict[str, Path]) -> None:
    census = small["census"]
    before = census.read_bytes()
    code, output = run_counts(small, census)
    assert code == 2
    assert "is one of the inputs" in output
    assert census.read_bytes() == before


def test_the_table_follows_the_umask(small: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "households.parquet"
    old = os.umask(0o027)
    try:
        assert run_counts(small, out)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert stat.S_IMODE(report_path(out).stat().st_mode) == 0o640


def test_a_census_over_the_file_budget_is_refused(
    small: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEODX_MAX_FILE_BYTES", "100")
    code, output = run_counts(small, tmp_path / "households.parquet")
    assert code == 2
    assert output.startswith(f"error: {small['census']}: table: file is ")
    assert "GEODX_MAX_FILE_BYTES" in output

"""``geodx demo``: builds atomically, skips when up to date, refuses foreign folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from data.cli import PARAMS_NAME, build_into, demo_command
from data.errors import DemoInputError

app = typer.Typer()
app.command("demo")(demo_command)
app.command("noop")(lambda: None)  # two commands, so "demo" is invoked by name
runner = CliRunner()


def demo(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["demo", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "demo"
    code, output = demo("--out", str(out), "--households", "500", "--seed", "3")
    assert code == 0, output
    assert output.startswith("Built the synthetic demo province (synthetic data")
    assert str(out / "region.toml") in output
    return out


def test_builds_and_records_its_parameters(built: Path) -> None:
    assert (built / "region.toml").is_file()
    params = json.loads((built / PARAMS_NAME).read_text(encoding="utf-8"))
    assert params["mode"] == "synthetic"
    assert (params["seed"], params["households"]) == (3, 500)
    assert [p.name for p in built.parent.iterdir()] == ["demo"]  # no temp folder left


def test_same_parameters_skip_the_build(built: Path) -> None:
    before = (built / "region.toml").stat().st_mtime_ns
    code, output = demo("--out", str(built), "--households", "500", "--seed", "3")
    assert code == 0 and "up to date" in output
    assert (built / "region.toml").stat().st_mtime_ns == before


def test_force_or_new_parameters_rebuild(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake(folder: Path, *, seed: int, households: int) -> Path:
        calls.append(households)
        (folder / "region.toml").write_text(
            f"# {seed} {households}\n", encoding="utf-8"
        )
        return folder / "region.toml"

    monkeypatch.setattr("data.cli._synthetic", lambda: fake)
    code, output = demo("--out", str(built), "--households", "600", "--seed", "3")
    assert code == 0 and output.startswith("Built")
    params = json.loads((built / PARAMS_NAME).read_text(encoding="utf-8"))
    assert params["households"] == 600
    code, output = demo("--out", str(built), "--households", "600", "--seed", "3")
    assert "up to date" in output
    code, output = demo(
        "--out", str(built), "--households", "600", "--seed", "3", "--force"
    )
    assert code == 0 and output.startswith("Built")
    assert calls == [600, 600]
    assert (built / "region.toml").read_text(encoding="utf-8") == "# 3 600\n"


def test_counts_form_builds_a_counts_region_and_rebuilds_from_points(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo"
    code, output = demo("--out", str(out), "--households", "counts:500", "--seed", "3")
    assert code == 0, output
    assert "500 households as counts per commune" in output
    assert (out / "households_counts.csv").is_file()
    assert not (out / "households.parquet").exists()
    params = json.loads((out / PARAMS_NAME).read_text(encoding="utf-8"))
    assert (params["households"], params["households_form"]) == (500, "counts")
    code, output = demo("--out", str(out), "--households", "500", "--seed", "3")
    assert code == 0 and "up to date" not in output  # points: another region
    assert (out / "households.parquet").is_file()
    assert not (out / "households_counts.csv").exists()


@pytest.mark.parametrize("value", ["counts:50", "many", "areas:900", "99"])
def test_bad_households_values_are_refused(tmp_path: Path, value: str) -> None:
    code, output = demo("--out", str(tmp_path / "d"), "--households", value)
    assert code == 2 and "--households" in output
    assert not (tmp_path / "d").exists()


def test_households_do_not_go_with_boundaries(tmp_path: Path) -> None:
    code, output = demo(
        "--out", str(tmp_path / "d"), "--boundaries", "b.gpkg",
        "--households-table", "c.csv", "--households", "counts",
    )  # fmt: skip
    assert code == 2 and "--households-table" in output
    assert not (tmp_path / "d").exists()


def test_a_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    code, output = demo("--out", str(tmp_path), "--households", "500")
    assert code == 2
    assert "not a demo region folder" in output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_boundaries_need_a_households_table(tmp_path: Path) -> None:
    code, output = demo("--out", str(tmp_path / "d"), "--boundaries", "x.gpkg")
    assert code == 2 and "--households-table" in output


def test_missing_inputs_give_one_line(tmp_path: Path) -> None:
    code, output = demo(
        "--out",
        str(tmp_path / "d"),
        "--boundaries",
        str(tmp_path / "none.gpkg"),
        "--households-table",
        str(tmp_path / "none.csv"),
    )
    assert code == 2
    assert output.strip() == f"error: {tmp_path / 'none.gpkg'}: input file not found"


def test_a_failed_build_leaves_the_old_region(built: Path) -> None:
    before = sorted(p.name for p in built.iterdir())

    def broken(folder: Path) -> Path:
        (folder / "partial.txt").write_text("half", encoding="utf-8")
        raise DemoInputError("boom")

    with pytest.raises(DemoInputError, match="boom"):
        build_into(built, {"mode": "synthetic"}, broken)
    assert sorted(p.name for p in built.iterdir()) == before
    assert [p.name for p in built.parent.iterdir()] == ["demo"]


def test_real_build_says_what_was_not_placed_and_where_the_list_is(
    tmp_path: Path,
) -> None:
    import geopandas as gpd
    import shapely

    gpd.GeoDataFrame(
        {
            "ward_code": ["24100"],
            "official_name": ["Xã Hòa Phú"],
            "province_code": ["66"],
        },
        geometry=[shapely.box(108.0, 12.5, 108.1, 12.6)],
        crs=4326,
    ).to_file(tmp_path / "bounds.gpkg")
    (tmp_path / "census.csv").write_text(
        "province_name,commune_name,hh_total,ward_code_2024,province_code_2024\n"
        "Tỉnh Đắk Lắk,Xã Hòa Phú,1200,,66\n"
        "Tỉnh Đắk Lắk,Xã Gone,34,,66\n"
        "Thành phố Hà Nội,Xã Hòa Phú,9000,,01\n",
        encoding="utf-8",
    )
    out = tmp_path / "region"
    code, output = demo(
        "--out", str(out),
        "--boundaries", str(tmp_path / "bounds.gpkg"),
        "--households-table", str(tmp_path / "census.csv"),
    )  # fmt: skip
    assert code == 0, output
    lines = output.splitlines()
    assert lines[1] == (
        "  1,200 of 1,234 census households of the boundaries' provinces placed; "
        f"34 in 1 rows not placed, listed in {out / 'households_not_placed.csv'}"
    )
    assert lines[2].startswith("  9,000 households of 1 other provinces left out")
    assert len(lines) == 3  # every boundary commune got households
    assert (out / "households_not_placed.csv").is_file()

"""The command line: the report, GeoJSON on stdout, one-line errors.

GeoJSON on stdout and ``--quiet`` run the real command in a subprocess (nothing else
may reach the process's stdout, C libraries included); the report, the manifest error,
``--help`` and ``--version`` read the same command run in this process
(``tests.cli_inprocess``), without a second of imports each.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data import build_synthetic_region
from tests.cli_inprocess import geodx_in_process


def geodx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_region(
        tmp_path_factory.mktemp("demo"), seed=5, households=3_000
    )


@pytest.fixture(scope="module")
def ran(
    region: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``geodx run REGION --out OUT``, once for the tests that read its report."""
    out = tmp_path_factory.mktemp("ran") / "out"
    return geodx_in_process("run", str(region), "--out", str(out)), out


def test_run_prints_the_report_and_writes_the_outputs(
    ran: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, out = ran
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "synthetic" in done.stdout.splitlines()[0].lower()
    assert f"{summary['fibre_pct']:6.2f}% of households" in done.stdout
    assert f"missing {summary['fibre_gap_households']:,} households" in done.stdout
    worst = max(
        json.loads((out / "communes.geojson").read_text(encoding="utf-8"))["features"],
        key=lambda f: (
            f["properties"]["fibre_gap_households"],
            f["properties"]["commune_code"],
        ),
    )["properties"]
    if worst["fibre_gap_households"]:
        assert worst["commune_name"] in done.stdout


def test_out_dash_writes_communes_geojson_to_stdout(region: Path) -> None:
    done = geodx("run", str(region), "--out", "-")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["type"] == "FeatureCollection"
    assert {f["properties"]["commune_code"] for f in doc["features"]}
    assert "households" in done.stderr


def test_manifest_error_is_one_line(region: Path, tmp_path: Path) -> None:
    copy = shutil.copytree(region.parent, tmp_path / "region")
    bad = copy / "region.toml"
    text = bad.read_text(encoding="utf-8")
    bad.write_text(
        text.replace("h3_resolution = 9", "h3_resolution = 17"), encoding="utf-8"
    )
    done = geodx_in_process("run", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "h3_resolution' was 17; expected 0-15" in done.stderr
    assert not (tmp_path / "out").exists()


def test_results_are_current_until_an_input_changes(
    region: Path, tmp_path: Path
) -> None:
    from app.pipeline import results_are_current, run_region

    copy = shutil.copytree(region.parent, tmp_path / "region")
    out = tmp_path / "out"
    assert not results_are_current(copy, out)
    run_region(copy, out)
    assert results_are_current(copy, out)
    households = next(p for p in copy.iterdir() if p.name.startswith("households"))
    households.write_bytes(
        households.read_bytes() + b"\n"
        if households.suffix == ".csv"
        else households.read_bytes()[:-1]
    )
    assert not results_are_current(copy, out)


def test_report_lists_the_communes_missing_the_mobile_target(
    ran: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, out = ran
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "communes.geojson").read_text("utf-8"))
    missed = [
        f["properties"]
        for f in doc["features"]
        if f["properties"]["mobile_covered"] is False
    ]
    assert missed, "the demo misses the 4G/5G target"
    assert f"communes not 4G/5G-covered (< 95% of households): {len(missed)}" in (
        done.stdout
    )
    worst = min(missed, key=lambda p: (p["mobile_pct"], p["commune_code"]))
    assert f"{worst['commune_name']}" in done.stdout
    assert f"{worst['mobile_pct']:.1f}% of households" in done.stdout


def test_quiet_is_a_plain_flag_and_version_prints() -> None:
    help_text = geodx_in_process("run", "--help").stdout
    assert "-q, --quiet " in help_text and "<bool>" not in help_text
    from geodx import __version__

    done = geodx_in_process("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"geodx {__version__}"


def test_quiet_run_prints_nothing(region: Path, tmp_path: Path) -> None:
    done = geodx("run", str(region), "--out", str(tmp_path / "out"), "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and (tmp_path / "out" / "summary.json").is_file()

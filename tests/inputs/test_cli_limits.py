"""``geodx run`` takes its limits from ``GEODX_MAX_*`` and refuses beyond them in one line.

The first case runs the real command in a subprocess (the variable in a fresh process's
environment); the others run the same command in this process (``tests.cli_inprocess``,
the variables set for the call), without a second of imports each.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_inprocess import geodx_in_process

from .helpers import communes_file

REPO = Path(__file__).resolve().parents[2]


def run_here(region: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    args = ("run", str(region), "--out", str(out), "--quiet")
    return geodx_in_process(*args, env=env)


def run(region: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "app", "run", str(region), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=environ, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("region")
    communes_file(folder / "communes.gpkg")
    (folder / "households.csv").write_text("lon,lat\n108.01,12.61\n108.03,12.61\n")
    (folder / "region.toml").write_text(
        '[region]\nh3_resolution = 9\n[communes]\npath = "communes.gpkg"\n'
        'code = "ma_xa"\nname = "ten_xa"\n[households]\npath = "households.csv"\n',
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize(
    ("env", "words", "runner"),
    [
        (
            {"GEODX_MAX_FEATURES": "1"},
            ("communes.gpkg", "limit is 1", "GEODX_MAX_FEATURES"),
            run,
        ),
        ({"GEODX_MAX_VERTICES": "abc"}, ("GEODX_MAX_VERTICES was 'abc'",), run_here),
    ],
)
def test_limits_from_the_environment(
    region: Path,
    tmp_path: Path,
    env: dict[str, str],
    words: tuple[str, ...],
    runner: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    proc = runner(region, tmp_path / "out", **env)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0, proc.stdout
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "out").exists()


def test_the_default_limits_let_the_region_run(region: Path, tmp_path: Path) -> None:
    proc = run_here(region, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "summary.json").is_file()

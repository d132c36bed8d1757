"""``make run`` installs only what running needs; ``make test`` also the dev extras."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dry_run(target: str, tmp_path: Path) -> str:
    """The commands ``make TARGET`` would run on a fresh clone (no ``.venv`` yet)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    done = subprocess.run(
        ["make", "-n", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", target],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_setup_and_run_install_no_dev_extras(tmp_path: Path) -> None:
    for target in ("setup", "run"):
        commands = dry_run(target, tmp_path)
        assert "pip install --quiet -e ." in commands
        assert "[dev]" not in commands


def test_test_lint_typecheck_set_everything_up(tmp_path: Path) -> None:
    for target in ("test", "lint", "typecheck"):
        commands = dry_run(target, tmp_path)
        assert "-m venv" in commands and "-e '.[dev]'" in commands


def test_run_says_how_to_reach_geodx(tmp_path: Path) -> None:
    assert "make shell" in dry_run("run", tmp_path)
    assert "PATH=" in dry_run("shell", tmp_path)

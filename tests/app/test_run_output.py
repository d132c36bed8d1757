"""``geodx run --out DIR`` end to end: refusals keep inputs, kills and races lose nothing.

The run killed mid-write and the run that holds the folder are real processes (the
slow run below); the ``geodx run`` commands beside them run in this process
(``tests.cli_inprocess``), without a second of imports each.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from data import build_synthetic_region
from geodx.outdir_check import store_of
from geodx.outdir_snapshot import snapshot
from tests.cli_inprocess import geodx_in_process

# Runs the pipeline with a writer that, once the outputs are written, announces it and
# waits: the test then kills the run mid-write or races a second run against it.
SLOW_RUN = """
import pathlib, sys, time
import app.pipeline as pipeline
real = pipeline.write_outputs
def slow(tmp, *args, **kwargs):
    result = real(tmp, *args, **kwargs)
    (tmp / "partial.bin").write_bytes(b"x" * 1000)
    pathlib.Path(sys.argv[3]).write_text("writing")
    while not pathlib.Path(sys.argv[4]).exists():
        time.sleep(0.05)
    return result
pipeline.write_outputs = slow
pipeline.run_region(sys.argv[1], sys.argv[2])
"""


def geodx(*args: str) -> subprocess.CompletedProcess[str]:
    """``geodx ARGS --quiet`` in this process (the slow run is the other process)."""
    return geodx_in_process(*args, "--quiet")


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def slow_run(
    region: Path, out: Path, tmp: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    writing, release = tmp / "writing", tmp / "release"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SLOW_RUN,
            str(region),
            str(out),
            str(writing),
            str(release),
        ]
    )
    deadline = time.monotonic() + 120
    while not writing.exists():
        assert proc.poll() is None, "the slow run ended early"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return proc, release


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_region(
        tmp_path_factory.mktemp("demo"), seed=7, households=1_000
    )


def test_out_as_the_region_folder_is_refused_with_inputs_intact(
    region: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(region.parent, tmp_path / "region")
    before = digests(copy)
    done = geodx("run", str(copy), "--out", str(copy))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is or contains the input" in done.stderr
    assert digests(copy) == before
    done = geodx("run", str(copy), "--out", str(copy / "out"))
    assert done.returncode == 2 and "inside the region folder" in done.stderr
    assert digests(copy) == before


def test_out_holding_user_files_is_refused_before_any_work(
    region: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "budget.xlsx").write_bytes(b"figures")
    start = time.perf_counter()
    done = geodx("run", str(region), "--out", str(mine))
    assert done.returncode == 2, done.stderr
    assert "holds 'budget.xlsx'" in done.stderr and done.stderr.count("\n") == 1
    assert (mine / "budget.xlsx").read_bytes() == b"figures"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    assert time.perf_counter() - start < 30


def test_a_run_killed_mid_write_leaves_the_old_version_and_the_next_cleans(
    region: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert geodx("run", str(region), "--out", str(out)).returncode == 0
    old = snapshot(out)
    before = digests(out)
    proc, _ = slow_run(region, out, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(out) == old and digests(out) == before
    assert [p.name for p in store_of(out).iterdir() if p.name.startswith("tmp-")]
    done = geodx("run", str(region), "--out", str(out))
    assert done.returncode == 0, done.stderr
    left = sorted(p.name for p in store_of(out).iterdir())
    assert left == sorted(["lock", old.version, snapshot(out).version])


def test_two_runs_into_one_folder_one_wins_the_other_says_why(
    region: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    proc, release = slow_run(region, out, tmp_path)
    try:
        done = geodx("run", str(region), "--out", str(out))
    finally:
        release.write_text("go")
    assert proc.wait(timeout=120) == 0
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "another geodx run is writing it now" in done.stderr
    assert "internal error" not in done.stderr
    version = snapshot(out).version
    assert sorted(p.name for p in store_of(out).iterdir()) == sorted(["lock", version])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".out.geodx", "out", "release", "writing"]
    )
    marker = json.loads((out / ".geodx-output.json").read_text(encoding="utf-8"))
    assert "partial.bin" in marker["files"] and os.path.islink(out)

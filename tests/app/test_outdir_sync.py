"""A version is on disk, every file and folder of it, before its name is visible."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import geodx.outdir
from geodx.outdir import atomic_output_dir
from geodx.outdir_check import MARKER, store_of


def write(out: Path, text: str) -> None:
    with atomic_output_dir(out, engine="test") as tmp:
        (tmp / "summary.json").write_text(json.dumps({"run": text}), encoding="utf-8")
        (tmp / "pyramid").mkdir()
        for res in range(5, 10):
            (tmp / "pyramid" / f"cells_r{res}.parquet").write_bytes(b"x" * res)


def test_every_file_and_folder_is_synced_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    lock = threading.Lock()
    real_fsync, real_rename = geodx.outdir._fsync, os.rename
    renamed: dict[str, list[str]] = {}

    def fsync(path: Path) -> None:
        real_fsync(path)
        with lock:
            synced.append(str(path))

    def rename(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> None:
        with lock:
            renamed[str(a)] = list(synced)  # what was on disk at the rename
        real_rename(a, b)

    monkeypatch.setattr(geodx.outdir, "_fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    out = tmp_path / "out"
    write(out, "one")
    version = out.resolve()
    tmp = next(a for a in renamed if Path(a).name.endswith(version.name))
    # The plain rule: every path under the folder written, the folder itself too.
    expected = {str(p).replace(str(version), tmp) for p in version.rglob("*")}
    expected |= {tmp}
    assert MARKER in {Path(p).name for p in expected}
    assert expected <= set(renamed[tmp])
    assert str(store_of(out)) in synced  # the store's entry of the renamed version


def test_a_failed_sync_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write(out, "one")
    real_fsync = geodx.outdir._fsync

    def fsync(path: Path) -> None:
        if path.name == "cells_r7.parquet":
            raise OSError(5, "Input/output error", str(path))
        real_fsync(path)

    monkeypatch.setattr(geodx.outdir, "_fsync", fsync)
    with pytest.raises(OSError, match="Input/output"):
        write(out, "two")
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == {
        "run": "one"
    }
    left = [p.name for p in store_of(out).iterdir() if p.name.startswith("tmp-")]
    assert left == []

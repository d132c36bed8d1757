"""``load_results`` reads one pinned snapshot of the results folder, with its version."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import api.results
from api.results import load_results
from geodx.outdir_snapshot import (
    Snapshot,
    snapshot,
)


def _version(src: Path, dest: Path, region: str) -> Path:
    dest.mkdir()
    for f in src.iterdir():
        if f.is_file():
            shutil.copy(f, dest / f.name)
    summary = json.loads((dest / "summary.json").read_text(encoding="utf-8"))
    summary["region"] = region
    (dest / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return dest


def test_every_file_comes_from_the_snapshot_resolved_once(
    results_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = _version(results_dir, tmp_path / "v1", "first run")
    v2 = _version(results_dir, tmp_path / "v2", "second run")
    (v2 / "communes.geojson").write_text("not json", encoding="utf-8")
    link = tmp_path / "out"
    link.symlink_to(v1, target_is_directory=True)
    calls: list[Path] = []

    def pin_then_swap(out: Path) -> Snapshot:
        snap = snapshot(out)
        calls.append(out)
        # A new run lands right after the snapshot is taken: DIR now names v2.
        tmp = tmp_path / "out.new"
        tmp.symlink_to(v2, target_is_directory=True)
        os.replace(tmp, link)
        return snap

    monkeypatch.setattr(api.results, "snapshot", pin_then_swap)
    results = load_results(link)
    assert calls == [link]
    assert results.name == "first run"  # summary, communes, districts, cells: all v1
    assert results.folder == v1.resolve()
    assert results.version == snapshot(v1).version
    assert len(results.communes) == 5


def test_version_is_the_snapshot_id(results_dir: Path) -> None:
    results = load_results(results_dir)
    assert results.version == snapshot(results_dir).version != ""

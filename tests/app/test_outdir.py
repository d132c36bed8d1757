"""The output folder: never a user's file lost, always present and whole, one run at a time."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from geodx.errors import OutputDirError
from geodx.outdir import (
    atomic_output_dir,
    locked_output_dir,
)
from geodx.outdir_check import (
    MARKER,
    check_output_dir,
    store_of,
)
from geodx.outdir_snapshot import snapshot


def write(out: Path, text: str = "run", **kwargs: object) -> None:
    with atomic_output_dir(out, engine="test", **kwargs) as tmp:  # type: ignore[arg-type]
        (tmp / "summary.json").write_text(json.dumps({"run": text}), encoding="utf-8")
        (tmp / "communes.geojson").write_text("{}", encoding="utf-8")


def versions(out: Path) -> list[str]:
    return sorted(p.name for p in store_of(out).iterdir() if p.name != "lock")


def summary(out: Path) -> str:
    return str(json.loads((out / "summary.json").read_text(encoding="utf-8"))["run"])


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_folder_is_a_link_to_a_marked_version(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out)
    assert out.is_symlink() and out.is_dir()
    assert os.readlink(out) == f".out.geodx/{versions(out)[0]}"
    marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    assert marker["format"] == 1 and marker["engine_version"] == "test"
    assert marker["files"] == ["communes.geojson", "summary.json"]
    assert snapshot(out).version == marker["version"] == versions(out)[0]
    assert snapshot(out).path == (store_of(out) / marker["version"]).resolve()


def test_folders_follow_the_umask(tmp_path: Path, umask_027: None) -> None:  # noqa: ARG001
    out = tmp_path / "out"
    write(out)
    assert stat.S_IMODE(out.resolve().stat().st_mode) == 0o750
    assert stat.S_IMODE((out / "summary.json").stat().st_mode) == 0o640


def test_a_folder_of_user_files_is_refused_and_left_intact(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(
        OutputDirError, match=r"holds 'thesis.docx'.*new or empty folder"
    ):
        write(out)
    assert (out / "thesis.docx").read_bytes() == b"years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_user_file_added_to_the_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputDirError, match="'notes.txt'"):
        write(out, "second")
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_an_empty_folder_is_fine(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write(out)
    assert out.is_symlink() and summary(out) == "run"
    assert versions(out) == [snapshot(out).version]  # the empty folder is gone


def test_a_file_and_a_foreign_link_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputDirError, match="is a file"):
        check_output_dir(tmp_path / "file")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OutputDirError, match="symbolic link geodx did not make"):
        check_output_dir(tmp_path / "link")


def test_a_folder_that_is_or_contains_an_input_is_refused(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    manifest = region / "region.toml"
    manifest.write_text("x", encoding="utf-8")
    for out in (region, tmp_path):
        with pytest.raises(OutputDirError, match="is or contains the input"):
            check_output_dir(out, inputs=[manifest])


def test_inside_the_region_folder_only_a_marked_output_folder(tmp_path: Path) -> None:
    region = tmp_path / "region"
    region.mkdir()
    with pytest.raises(OutputDirError, match="inside the region folder"):
        check_output_dir(region / "out", region_root=region)
    write(region / "out")  # made without the region rule, e.g. by an earlier geodx
    check_output_dir(region / "out", region_root=region)


def test_a_failed_write_keeps_the_previous_whole_version(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, "first")
    before = snapshot(out)
    with (
        pytest.raises(RuntimeError, match="disk full"),
        atomic_output_dir(out, engine="test") as tmp,
    ):
        (tmp / "summary.json").write_text("{half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert snapshot(out) == before and summary(out) == "first"
    assert versions(out) == [before.version]


def test_the_previous_version_is_kept_and_older_ones_deleted(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pinned = []
    for run in ("first", "second", "third"):
        write(out, run)
        pinned.append(snapshot(out))
    assert versions(out) == sorted([pinned[1].version, pinned[2].version])
    assert json.loads((pinned[1].path / "summary.json").read_text())["run"] == "second"
    assert not pinned[0].path.exists()


def test_stale_temporaries_of_killed_runs_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, "first")
    store = store_of(out)
    (store / "tmp-20260101T000000Z-dead").mkdir()
    (store / "tmp-20260101T000000Z-dead" / "cells.parquet").write_bytes(b"half")
    (store / "link-20260101T000000Z-dead").symlink_to("nowhere")
    old_tmp = tmp_path / ".out.tmp-abc123"  # what geodx 0.1 left
    old_tmp.mkdir()
    (old_tmp / "summary.json").write_text("{", encoding="utf-8")
    write(out, "second")
    assert all(not n.startswith(("tmp-", "link-")) for n in versions(out))
    assert not old_tmp.exists() and summary(out) == "second"


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with locked_output_dir(out):
        with pytest.raises(OutputDirError, match="another geodx run is writing it"):
            write(out, "second")
        assert not out.exists()
    write(out, "third")
    assert summary(out) == "third"


def _legacy(out: Path) -> None:
    out.mkdir()
    for name in ("communes.geojson", "districts.geojson", "cells.parquet"):
        (out / name).write_text("{}", encoding="utf-8")
    doc = {"run": "legacy", "engine_version": "0.1.0", "inputs": []}
    (out / "summary.json").write_text(json.dumps(doc), encoding="utf-8")


def test_an_unmarked_folder_of_geodx_0_1_is_migrated_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _legacy(out)
    assert snapshot(out).path == out
    write(out, "new")
    assert out.is_symlink() and summary(out) == "new"
    migrated = [n for n in versions(out) if n.startswith("migrated-")]
    assert len(migrated) == 1
    assert (store_of(out) / migrated[0] / "summary.json").is_file()
    write(out, "newer")
    assert not [n for n in versions(out) if n.startswith("migrated-")]


def test_a_real_marked_folder_is_migrated(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"run": "old"}', encoding="utf-8")
    marker = {"format": 1, "version": "x", "files": ["summary.json"]}
    (out / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    assert snapshot(out).version == "x"
    write(out, "new")
    assert out.is_symlink() and summary(out) == "new"


def test_a_version_holding_user_files_is_kept_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, "first")
    first = snapshot(out).path
    write(out, "second")
    (first / "notes.txt").write_text("mine", encoding="utf-8")  # through a pinned path
    with pytest.warns(UserWarning, match="'notes.txt'"):
        write(out, "third")
    assert (first / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_a_folder_inside_the_version_store_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out)
    with pytest.raises(OutputDirError, match="inside geodx's version store"):
        write(snapshot(out).path)
    assert summary(out) == "run"


def test_a_folder_geodx_cannot_write_beside_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputDirError, match="cannot create .* beside it"):
        write(tmp_path / "file" / "out")


def test_a_failed_first_run_leaves_nothing_beside_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with (
        pytest.raises(RuntimeError, match="bad input"),
        atomic_output_dir(out, engine="test"),
    ):
        raise RuntimeError("bad input")
    assert list(tmp_path.iterdir()) == []


def test_a_refused_run_leaves_the_running_one_its_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with locked_output_dir(out) as first:
        with pytest.raises(OutputDirError, match="another geodx run"):
            write(out, "second")
        assert (store_of(out) / "lock").is_file()
        with first.write(engine="test") as tmp:
            (tmp / "summary.json").write_text('{"run": "first"}', encoding="utf-8")
    assert summary(out) == "first"


def test_a_failed_clean_up_only_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write(out, "first")
    write(out, "second")

    def refuse(path: object, *_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("geodx.outdir.shutil.rmtree", refuse)
    with pytest.warns(UserWarning, match="could not delete an old version"):
        write(out, "third")
    assert summary(out) == "third"


def test_a_version_a_server_holds_outlives_later_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, "served")
    served = snapshot(out)
    # A server process holds its version; the probe below is another process's view.
    code = (
        "import sys, time; from pathlib import Path; "
        "from geodx.outdir_snapshot import hold, snapshot; "
        f"hold(snapshot(Path({str(out)!r}))); print('held', flush=True); time.sleep(60)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline() == "held\n"
        for run in ("second", "third", "fourth"):
            write(out, run)
        assert served.path.is_dir()
        assert json.loads((served.path / "summary.json").read_text())["run"] == "served"
    finally:
        server.kill()
        server.communicate()
    write(out, "fifth")  # the server is gone: its version is pruned like any other
    assert not served.path.exists()
    assert len(versions(out)) == 2

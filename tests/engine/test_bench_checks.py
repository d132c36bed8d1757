"""The bench's two checks of a change: whole output folders, and each part's answers."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.pipeline import run_region
from bench import components, same_outputs


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo generator's province (its manifest), 3,000 weighted households."""
    from data import build_synthetic_region

    folder = tmp_path_factory.mktemp("region")
    return Path(build_synthetic_region(folder / "region", seed=7, households=3000))


@pytest.fixture(scope="module")
def runs(region: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the region into two output folders."""
    base = tmp_path_factory.mktemp("runs")
    run_region(region, base / "a")
    run_region(region, base / "b")
    return base / "a", base / "b"


def copy_of(folder: Path, to: Path) -> Path:
    shutil.copytree(folder.resolve(), to)
    return to


def test_two_runs_of_the_same_region_hold_the_same_content(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    count, problems = same_outputs.compare(*runs)
    assert problems == []
    assert count >= 6  # communes, districts, summary, cells, plan, the stamp, layers
    assert same_outputs.main([str(p) for p in runs]) == 0
    assert "the same content" in capsys.readouterr().out


def test_one_changed_count_one_missing_file_and_one_byte_are_each_named(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = copy_of(runs[1], tmp_path / "other")
    cells = pq.read_table(other / "cells.parquet")
    households = cells.column("households").to_pylist()
    households[0] += 1
    index = cells.schema.get_field_index("households")
    changed = cells.set_column(
        index,
        cells.schema.field(index),
        pa.array(households, cells.schema.field(index).type),
    )
    pq.write_table(changed, other / "cells.parquet")
    (other / "districts.geojson").unlink()
    summary = json.loads((other / "summary.json").read_text(encoding="utf-8"))
    (other / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False), encoding="utf-8"
    )  # the same document, written otherwise: not a difference
    image = next((other / "layers").glob("*.png"))
    data = bytearray(image.read_bytes())
    data[-1] ^= 1
    image.write_bytes(bytes(data))
    _, problems = same_outputs.compare(runs[0], other)
    assert "cells.parquet: column 'households' differs" in problems
    assert any(re.match(r"districts\.geojson: only in ", p) for p in problems)
    assert f"layers/{image.name}: bytes differ" in problems
    assert len(problems) == 3
    assert same_outputs.main([str(runs[0]), str(other)]) == 1
    assert "3 difference(s)" in capsys.readouterr().out


def test_the_stamps_of_a_run_are_not_its_content(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    other = copy_of(runs[1], tmp_path / "other")
    stamp = other / same_outputs.STAMP_FILE
    doc = json.loads(stamp.read_text(encoding="utf-8"))
    doc["created"] = "1999-01-01T00:00:00Z"
    stamp.write_text(json.dumps(doc), encoding="utf-8")
    assert same_outputs.compare(runs[0], other)[1] == []


def test_each_part_is_hashed_and_a_changed_answer_is_found(
    region: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = tmp_path / "ref.json"
    assert components.main([str(region), "--save", str(ref)]) == 0
    saved = json.loads(ref.read_text(encoding="utf-8"))
    parts = saved["parts"]
    assert {"transform", "communes", "fold", "plan", "row sums"} <= set(parts)
    assert any(name.startswith("layer ") for name in parts)
    assert all(p["cpu_s"] >= 0 for p in parts.values())
    capsys.readouterr()
    assert components.main([str(region), "--check", str(ref)]) == 0
    assert "DIFFER" not in capsys.readouterr().out

    # The routes' service distance halved: their answers and what sums them change,
    # the communes' do not.
    manifest = copy_of(region.parent, tmp_path / "moved") / region.name
    text = manifest.read_text(encoding="utf-8")
    assert "service_distance_m = 250" in text
    manifest.write_text(
        text.replace("service_distance_m = 250", "service_distance_m = 125", 1),
        encoding="utf-8",
    )
    assert components.main([str(manifest), "--check", str(ref)]) == 1
    verdicts = {
        line[:40].strip(): line.split()[-1]
        for line in capsys.readouterr().out.splitlines()
        if line.split()[-1:] in (["same"], ["DIFFER"])
    }
    assert verdicts["communes"] == "same"
    assert verdicts["transform"] == "same"
    assert verdicts["row sums"] == "DIFFER"
    routes = [k for k in verdicts if k.startswith("layer") and "route" in k]
    assert routes and all(verdicts[k] == "DIFFER" for k in routes)

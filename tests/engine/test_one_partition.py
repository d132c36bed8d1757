"""A region of one partition runs from memory; the map layers are drawn beside the run.

Both only do the same work sooner: every output, the map layers included, is the
single pass's (``test_engines`` compares the single pass with partition files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import app.engine
import app.pipeline
from geodx.errors import GeodxError
from tests.engine.test_engines import assert_same, counts_region, demo, run

__all__ = ["demo"]  # the module's fixture, shared


def drawn(folder: Path) -> dict[str, bytes]:
    """The map layers' files, by name."""
    return {p.name: p.read_bytes() for p in sorted((folder / "layers").iterdir())}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the split into files and the drawing after the run are called."""
    seen = {"split": 0, "drawn after": 0}

    def counted(name: str, real: Any) -> Any:
        def call(*args: Any, **kw: Any) -> Any:
            seen[name] += 1
            return real(*args, **kw)

        return call

    split = counted("split", app.engine.spill_households)
    after = counted("drawn after", app.pipeline.write_map_layers)
    monkeypatch.setattr(app.engine, "spill_households", split)
    monkeypatch.setattr(app.pipeline, "write_map_layers", after)
    return seen


def test_one_partition_from_memory_as_single(
    demo: Path, tmp_path: Path, calls: dict[str, int]
) -> None:
    """Every layer kind (a site list and measured tiles too), 3,000 households."""
    single = run(demo, tmp_path / "single", "single")
    assert calls == {"split": 0, "drawn after": 1}
    memory = run(demo, tmp_path / "memory", "local")
    assert calls == {"split": 0, "drawn after": 1}  # read whole; drawn beside
    assert_same(single, memory)
    layers = drawn(tmp_path / "single")
    assert "index.json" in layers
    assert any(name.endswith(".sites.geojson") for name in layers)
    assert drawn(tmp_path / "memory") == layers
    assert not scratch_left(tmp_path / ".memory.geodx")


def test_counts_from_memory_as_single(tmp_path: Path, calls: dict[str, int]) -> None:
    """Counts spread over pixels (fractional weights): the same bits from memory."""
    manifest = counts_region(tmp_path / "region")
    single = run(manifest, tmp_path / "single", "single")
    memory = run(manifest, tmp_path / "memory", "local")
    assert calls == {"split": 0, "drawn after": 1}
    assert_same(single, memory)
    assert drawn(tmp_path / "memory") == drawn(tmp_path / "single")


def test_a_drawing_that_fails_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawing's error is the run's; no version is written, no scratch is left."""

    def broken(*_args: Any, **_kw: Any) -> Any:
        raise GeodxError("layer 'x': cannot be drawn")

    monkeypatch.setattr("app.drawing.write_map_layers", broken)
    manifest = counts_region(tmp_path / "region")
    out = tmp_path / "out"
    with pytest.raises(GeodxError, match="cannot be drawn"):
        run(manifest, out, "local")
    assert not out.exists()
    assert not scratch_left(tmp_path / ".out.geodx")


def scratch_left(store: Path) -> list[str]:
    """The scratch folders (``tmp-*``) a run left beside its versions."""
    if not store.exists():
        return []
    return [p.name for p in store.iterdir() if p.name.startswith("tmp-")]

"""One generated region for every scenario test, its baseline, and full runs to compare.

The full runs (``geodx run`` of the manifest with a case's layers added) are made once
per case and shared by the core, CLI and API tests; so is the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.pipeline import run_region
from app.scenarios import Baseline, prepare_baseline
from geodx.manifest import load_manifest

from .region import build_region, write_layers

__all__ = ["Region", "region"]


@dataclass
class Region:
    """The region's manifest, the baseline's results folder and baseline, full runs."""

    manifest: Path
    out: Path
    baseline: Baseline
    runs: dict[tuple[str, ...], Path] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The folder above the region's (scratch space of the session)."""
        return self.manifest.parent.parent

    def full_run(self, ids: list[str]) -> Path:
        """The output folder of a full run with the layers ``ids`` in the manifest."""
        key = tuple(ids)
        if key not in self.runs:
            name = f"case{len(self.runs)}"
            text, _ = write_layers(self.manifest.parent, ids, name)
            full = self.manifest.parent / f"{name}.toml"
            full.write_text(
                self.manifest.read_text(encoding="utf-8") + text, encoding="utf-8"
            )
            self.runs[key] = run_region(full, self.root / f"{name}-out").out_dir
        return self.runs[key]

    def layers_file(self, ids: list[str], name: str) -> Path:
        """A ``[[layers]]`` TOML of the layers ``ids`` (and their files)."""
        return write_layers(self.manifest.parent, ids, name)[1]


@pytest.fixture(scope="session")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    root = tmp_path_factory.mktemp("scenarios")
    folder = root / "region"
    folder.mkdir()
    manifest = build_region(folder)
    out = run_region(manifest, root / "out").out_dir
    return Region(manifest, out, prepare_baseline(load_manifest(manifest)))

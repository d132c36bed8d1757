"""Generated regions and their ``geodx run``, built once per test session.

Folders whose tests only read a run's outputs take them from here instead of
building the same region again. The folders are shared: tests read them and never
write into them (they copy a folder to change it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

_RUNS: dict[tuple[int, int], Path] = {}


def demo_run(factory: pytest.TempPathFactory, *, seed: int, households: int) -> Path:
    """The output folder of ``run_region`` on the demo generator's region."""
    from app.pipeline import run_region
    from data import build_synthetic_region

    key = (seed, households)
    if key not in _RUNS:
        root = factory.mktemp(f"demo-{seed}-{households}")
        manifest = build_synthetic_region(
            root / "region", seed=seed, households=households
        )
        run_region(manifest, root / "out")
        _RUNS[key] = root / "out"
    return _RUNS[key]

"""Fixtures: build each generated world once, run the oracle and the engine on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .compare import load_json
from .rollup import Expected, expected
from .worlds import World, build_mixed
from .worlds_gdal import build_gdal
from .worlds_projected import build_utm, build_vn2000
from .worlds_random import build_random
from .worlds_real import build_daklak, build_dense

WORLDS: dict[str, Callable[[Path], World]] = {
    "mixed": build_mixed,
    "vn2000": build_vn2000,
    "utm": build_utm,
    "random-11": partial(build_random, seed=11),
    "random-12": partial(build_random, seed=12),
    "random-13": partial(build_random, seed=13),
    "dense": build_dense,
    "daklak-2025": build_daklak,
    "gdal": build_gdal,
}
# the engine is given the folder for some worlds and the manifest file for others
PASS_MANIFEST_FILE = {"vn2000", "random-12"}


@dataclass
class Outputs:
    """What ``run_region`` wrote, parsed without any geodx code."""

    folder: Path
    communes: dict[str, Any]
    districts: dict[str, Any]
    summary: dict[str, Any]
    cells: pa.Table


@pytest.fixture(scope="module", params=list(WORLDS))
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> World:
    folder = tmp_path_factory.mktemp(f"world-{request.param}")
    return WORLDS[request.param](folder)


@pytest.fixture(scope="module")
def oracle(world: World) -> Expected:
    return expected(world.manifest)


@pytest.fixture(scope="module")
def outputs(world: World, tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    from app.pipeline import run_region

    out = tmp_path_factory.mktemp(f"out-{world.name}") / "result"
    region = (
        world.manifest if world.name in PASS_MANIFEST_FILE else world.manifest.parent
    )
    run_region(region, out)
    return Outputs(
        folder=out,
        communes=load_json(out / "communes.geojson"),
        districts=load_json(out / "districts.geojson"),
        summary=load_json(out / "summary.json"),
        cells=pq.read_table(out / "cells.parquet"),
    )

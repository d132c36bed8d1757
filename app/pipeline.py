"""``geodx run``: from a region manifest to the four outputs of the contract.

This module is part of the composition root (``app/``): it reads the inputs (``geodx.io``), opens the
coverage layers (``layers``), runs the core math and writes the outputs atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import shapely

from app.planning import plan_table
from app.single_pass import Progress, StageClock, compute
from geodx import __version__
from geodx.contract import input_path
from geodx.contract_names import (
    MAP_INDEX_FILE,
    MAP_LAYERS_DIR,
    PLAN_FILE,
)
from geodx.coverage import Overlay
from geodx.errors import GeodxError
from geodx.io import (
    file_sha256,
    sidecar_files,
    write_table,
)
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest import load_manifest
from geodx.manifest_specs import (
    Manifest,
)
from geodx.outdir import locked_output_dir
from geodx.outdir_check import store_of
from geodx.outdir_snapshot import snapshot
from geodx.outputs import write_outputs
from geodx.partition import RunSums
from geodx.spread import Estimate
from geodx.utm_zone import estimate_utm_crs
from layers.mapdraw import write_map_layers
from layers.vector import reads_kept

if TYPE_CHECKING:
    from app.drawing import MapDrawing

#: ``geodx run --engine``: partitioned here or on Dask, or every household at once.
ENGINES = ("local", "dask", "single")


@dataclass
class RunResult:
    """What a run produced: the output folder, the summary and timings per stage."""

    out_dir: Path
    summary: dict[str, Any]
    communes: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def metric_crs(communes_wgs84: np.ndarray) -> Any:
    """The region's metric CRS: the UTM zone ``estimate_utm_crs`` gives for the communes.

    The same CRS as geopandas' estimate, read without its database scan
    (:func:`geodx.utm_zone.estimate_utm_crs`).
    """
    return estimate_utm_crs(communes_wgs84)


def run_region(
    region: str | Path,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    limits: Limits = DEFAULT_LIMITS,
    engine: str = "local",
    scheduler: str | None = None,
    partition: dict[str, int] | None = None,
) -> RunResult:
    """Compute a region's coverage and write the four outputs into ``out_dir``.

    Parameters
    ----------
    region : str or Path
        A folder holding ``region.toml``, or the manifest itself.
    out_dir : str or Path
        Output folder: a link to a new version folder on success, the previous whole
        version on failure (see ``geodx.outdir``). Checked and locked before any work.
    progress : callable, optional
        Called with the name of each stage as it starts.
    engine : {"local", "dask", "single"}
        ``local``: partitions by H3 parent cell, one after the other (``app.engine``);
        ``dask``: the partitions as Dask tasks (``app.dask_engine``, on ``scheduler``
        or a LocalCluster); ``single``: every household at once. The same outputs.
    partition : dict, optional
        ``max_points`` and/or ``resolution`` of the partitions (docs/scale.md).

    Returns
    -------
    RunResult

    Raises
    ------
    GeodxError
        Any problem with the inputs, with a one-line message naming file and field;
        ``OutputDirError`` when ``out_dir`` must not be replaced or another run writes it.
    """
    clock = StageClock(progress)
    with clock.stage("read manifest"):
        manifest = load_manifest(region)
    with (
        reads_kept(),  # the layers read to answer are drawn as they were read
        locked_output_dir(
            Path(out_dir), inputs=input_files(manifest), region_root=manifest.root
        ) as target,
        _drawing(manifest, limits, Path(out_dir), engine) as drawing,
        ThreadPoolExecutor(1, thread_name_prefix="geodx-checksums") as hashing,
    ):
        # The inputs' SHA-256 read in a thread from the start (hashlib frees the GIL).
        checksums = hashing.submit(input_checksums, manifest)
        communes, communes_wgs84, result, plan, estimate, utm = _computed(
            manifest, clock, limits, engine, scheduler, Path(out_dir), partition,
            drawing,
        )  # fmt: skip
        with clock.stage("checksum inputs"):
            inputs = checksums.result()
        with target.write(engine=__version__) as tmp:
            with clock.stage("write outputs"), ThreadPoolExecutor(1) as writer:
                planned = writer.submit(write_table, tmp / PLAN_FILE, plan)
                summary, table = write_outputs(
                    tmp,
                    manifest,
                    communes,
                    communes_wgs84,
                    result,
                    inputs=inputs,
                    engine=__version__,
                    estimate=estimate,
                    pyramid=True,  # the H3 pyramid, beside the commune files
                )
                planned.result()  # the plan table, written meanwhile
            with clock.stage("draw map layers"):
                if drawing is not None and drawing.started:
                    drawing.move_into(tmp)  # drawn while the partitions ran
                else:
                    bounds = tuple(shapely.total_bounds(communes_wgs84).tolist())
                    write_map_layers(
                        tmp, manifest, region_bounds=bounds, metric_crs=utm,
                        limits=limits,
                    )  # fmt: skip
    return RunResult(Path(out_dir), summary, table, clock.timings)


@contextmanager
def _drawing(
    manifest: Manifest, limits: Limits, out_dir: Path, engine: str
) -> Iterator[MapDrawing | None]:
    """The map layers drawn beside a partitioned run (``app.drawing``), or None.

    Local and Dask runs draw them in this process while the partitions run (Dask's
    workers, on a LocalCluster or elsewhere, are forked or started before).
    """
    if engine not in ("local", "dask"):
        yield None
        return
    from app.drawing import MapDrawing

    drawing = MapDrawing(manifest, limits, _scratch(out_dir))
    try:
        yield drawing
    finally:
        drawing.close()


def _scratch(out_dir: Path) -> Path:
    """The folder beside the versions for a run's scratch files (``tmp-*``)."""
    scratch = store_of(out_dir.absolute())
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def _computed(
    manifest: Manifest,
    clock: StageClock,
    limits: Limits,
    engine: str,
    scheduler: str | None,
    out_dir: Path,
    partition: dict[str, int] | None,
    drawing: MapDrawing | None = None,
) -> tuple[
    gpd.GeoDataFrame, np.ndarray, Overlay | RunSums, pa.Table, Estimate | None, Any
]:
    """The run's communes, sums (or overlay), plan rows, estimate and metric CRS."""
    if engine not in ENGINES:
        raise GeodxError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if engine != "single":
        from app.engine import compute_partitioned  # it builds on this module

        # The partition files go beside the versions, where a later run deletes
        # what a killed one left (``tmp-*``): the output's shared storage.
        got = compute_partitioned(
            manifest, clock, limits, scratch=_scratch(out_dir), engine=engine,
            scheduler=scheduler, drawing=drawing, **(partition or {}),
        )  # fmt: skip
        if got is not None:
            done = got.communes, got.communes_wgs84, got.run, got.plan, got.estimate
            return (*done, got.utm)
    communes, communes_wgs84, result, estimate = compute(manifest, clock, limits)
    with clock.stage("plan extensions"):
        utm = metric_crs(communes_wgs84)
        plan = plan_table(manifest, communes, result, utm=utm, limits=limits)
    return communes, communes_wgs84, result, plan, estimate, utm


def _roles(manifest: Manifest) -> list[tuple[str, Path]]:
    files = [
        ("manifest", manifest.path),
        ("communes", manifest.communes.path),
        ("households", manifest.households.path),
    ]
    spread = getattr(manifest.households, "spread", None)
    if spread is not None:
        files.append(("households:spread", spread))
    layers = manifest.layers + manifest.measured
    return files + [(f"layer:{spec.id}", spec.path) for spec in layers]


def input_files(manifest: Manifest) -> list[Path]:
    """Every file a run reads: the manifest, its inputs and their shapefile sidecars."""
    paths = [path for _, path in _roles(manifest)]
    return paths + [side for path in paths for side in sidecar_files(path)]


def input_checksums(
    manifest: Manifest, *, digest: Callable[[Path], str] = file_sha256
) -> list[dict[str, Any]]:
    """SHA-256 of the manifest and of every input file (each by ``digest``)."""
    root = manifest.root
    return [input_entry(r, p, root, digest=digest) for r, p in _roles(manifest)]


def input_entry(
    role: str, path: Path, root: Path, *, digest: Callable[[Path], str] = file_sha256
) -> dict[str, Any]:
    """One input's entry of ``summary.json`` ``inputs``: role, path, SHA-256, bytes."""
    entry: dict[str, Any] = {
        "role": role,
        "path": _relative(path, root),
        "sha256": digest(path),
        "bytes": path.stat().st_size,
    }
    sidecars = sidecar_files(path)
    if sidecars:
        entry["sidecars"] = [
            {"path": _relative(p, root), "sha256": digest(p)} for p in sidecars
        ]
    return entry


def _relative(path: Path, root: Path) -> str:
    # The contract's rule: relative to the manifest folder, else the file name only.
    return input_path(path, root)


def results_are_current(
    region: str | Path,
    out_dir: str | Path,
    *,
    digest: Callable[[Path], str] = file_sha256,
) -> bool:
    """Whether ``out_dir`` holds results of this engine version for the same inputs.

    The files are read from one pinned version (``snapshot``), through the link;
    ``digest`` gives each input's SHA-256.
    """
    folder = snapshot(Path(out_dir)).path
    try:
        summary = orjson.loads((folder / "summary.json").read_bytes())
        manifest = load_manifest(region)
        return bool(
            summary.get("engine_version") == __version__
            and summary.get("inputs") == input_checksums(manifest, digest=digest)
            and all((folder / name).is_file() for name in OUTPUT_FILES)
        )
    except (OSError, orjson.JSONDecodeError, GeodxError):
        return False


OUTPUT_FILES = (
    "communes.geojson",
    "districts.geojson",
    "summary.json",
    "cells.parquet",
    PLAN_FILE,
    f"{MAP_LAYERS_DIR}/{MAP_INDEX_FILE}",
)

__all__ = ["RunResult", "input_files", "results_are_current", "run_region"]

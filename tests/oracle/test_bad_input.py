"""``geodx run`` on bad input: non-zero exit, one clear line on stderr, nothing else.

Each case copies a small valid region, breaks one thing, and runs the CLI. The error
must name the file and/or field, carry no traceback, leave no output folder behind, and
leave the output of an earlier good run untouched.

The two good regions and a representative set of bad ones (``IN_SUBPROCESS``: the
manifest, a missing file, a raster cut mid-run over an earlier output, a VRT in
disguise, a row of the households, a geometry) run the real ``geodx`` script in a
subprocess, two at a time; the others run the same command in this process (typer's
``CliRunner``, stderr captured, the exit code from ``SystemExit``), which spares a
second of imports each. The subprocess cases run in process too and must give the same
exit code and stderr, so the in-process runs show what the script shows.
``GEODX_BAD_INPUT_SUBPROCESSES=all`` runs every case in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from tests.cli_inprocess import geodx_in_process

from .files import box, dump_toml, write_raster, write_table, write_vector
from .worlds_random import build_basic

REPO = Path(__file__).resolve().parents[2]


def geodx_command() -> list[str]:
    """The installed console script, else ``python -m app`` from the repository."""
    script = Path(sys.executable).with_name("geodx")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def run_cli(region: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``geodx run REGION --out OUT``, captured."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [*geodx_command(), "run", str(region), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=env, check=False,
    )  # fmt: skip


def run_in_process(region: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """``geodx run REGION --out OUT`` through the same command, in this process."""
    return geodx_in_process("run", str(region), "--out", str(out))


def edit_manifest(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    """A mutation that loads ``region.toml``, applies ``change`` and writes it back."""

    def mutate(folder: Path) -> None:
        path = folder / "region.toml"
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(dump_toml(doc), encoding="utf-8")

    return mutate


def set_key(section: str, key: str, value: Any) -> Callable[[Path], None]:
    return edit_manifest(
        lambda doc: doc.setdefault(section, {}).__setitem__(key, value)
    )


def set_layer(index: int, key: str, value: Any) -> Callable[[Path], None]:
    return edit_manifest(lambda doc: doc["layers"][index].__setitem__(key, value))


def chain(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        for step in steps:
            step(folder)

    return mutate


def write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def truncate_big_raster(folder: Path) -> None:
    """A 256 x 256 raster cut in half: it opens, its southern rows cannot be read."""
    values = np.random.default_rng(3).uniform(-120, -80, (256, 256)).astype(np.float32)
    path = folder / "4g.tif"
    transform = Affine(0.04 / 256, 0, 108.0, 0, -0.02 / 256, 12.62)
    write_raster(path, values, transform, 4326, None)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def raster_without_crs(folder: Path) -> None:
    values = np.full((8, 8), -90.0, dtype=np.float32)
    write_raster(
        folder / "4g.tif", values, Affine(0.005, 0, 108.0, 0, -0.005, 12.62), None, None
    )


def lines_as_communes(folder: Path) -> None:
    lines = [shapely.LineString([(108.0, 12.6), (108.02, 12.62)])] * 2
    write_vector(folder / "communes.geojson", lines, 4326,
                 commune_code=["24001", "24002"], commune_name=["A", "B"])  # fmt: skip


def bowtie_communes(folder: Path) -> None:
    """Two self-intersecting communes (bowties) and a valid one: repair, warn, go on."""

    def bowtie(x: float) -> shapely.Polygon:
        return shapely.Polygon(
            [(x, 12.60), (x + 0.01, 12.62), (x + 0.01, 12.60), (x, 12.62)]
        )

    write_vector(
        folder / "communes.geojson",
        [bowtie(108.00), bowtie(108.01), box(108.02, 12.60, 108.04, 12.62)],
        4326,
        commune_code=["24001", "24002", "24003"],
        commune_name=["Xã Nơ Trang Lơng", "Xã Ea Tiêu", "Xã Cư Bao"],
    )


def households_at(
    lon: np.ndarray | float, lat: np.ndarray | float
) -> Callable[[Path], None]:
    return lambda folder: write_table(
        folder / "households.csv",
        {"lon": lon, "lat": lat, "ho": np.ones(20, dtype=int)},
    )


def households_weighted(weights: np.ndarray) -> Callable[[Path], None]:
    lon = np.random.default_rng(9).uniform(108.0, 108.04, 20)
    lat = np.random.default_rng(10).uniform(12.6, 12.62, 20)
    return lambda folder: write_table(
        folder / "households.csv", {"lon": lon, "lat": lat, "ho": weights}
    )


def vector_without_crs(folder: Path) -> None:
    write_vector(
        folder / "fibre_khong_crs.gpkg", [box(108.0, 12.6, 108.015, 12.62)], None
    )
    set_layer(0, "path", "fibre_khong_crs.gpkg")(folder)


SECRET = "Nguyen Van Bi Mat"


def vrt_as_communes(folder: Path) -> None:
    """communes.geojson is an OGR VRT turning the lines of another file into communes."""
    target = folder.parent / "passwd.csv"
    target.write_text(f"commune_code,commune_name,x,y\n1,{SECRET},108.01,12.61\n")
    (folder / "communes.geojson").write_text(
        f"""<OGRVRTDataSource><OGRVRTLayer name="communes">
<SrcDataSource>{target}</SrcDataSource><SrcLayer>passwd</SrcLayer>
<GeometryField encoding="PointFromColumns" x="x" y="y"/><LayerSRS>EPSG:4326</LayerSRS>
</OGRVRTLayer></OGRVRTDataSource>"""
    )


def two_layer_communes(folder: Path) -> None:
    squares = [box(108.00, 12.60, 108.02, 12.62), box(108.02, 12.60, 108.04, 12.62)]
    for layer in ("xa_2019", "xa_2025"):
        frame = gpd.GeoDataFrame(
            {"commune_code": ["24001", "24002"], "commune_name": ["A", "B"]},
            geometry=squares,
            crs=4326,
        )
        frame.to_file(folder / "xa.gpkg", layer=layer)
    set_key("communes", "path", "xa.gpkg")(folder)


def empty_point_households(folder: Path) -> None:
    points = [shapely.Point(x, y) for x, y in zip(_lon, _lat, strict=True)]
    points[5] = shapely.from_wkt("POINT EMPTY")
    frame = gpd.GeoDataFrame({"ho": np.ones(20, dtype=int)}, geometry=points, crs=4326)
    frame.to_file(folder / "ho.gpkg")
    set_key("households", "path", "ho.gpkg")(folder)


def nan_vertex_fibre(folder: Path) -> None:
    with warnings.catch_warnings():  # shapely and GDAL warn on the NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        ring = [(108.0, 12.6), (108.015, math.nan), (108.015, 12.62), (108.0, 12.62)]
        geoms = [box(108.02, 12.6, 108.03, 12.61), shapely.Polygon(ring)]
        gpd.GeoDataFrame(geometry=geoms, crs=4326).to_file(folder / "fibre.gpkg")
    set_layer(0, "path", "fibre.gpkg")(folder)


@dataclass(frozen=True)
class Case:
    """One broken region and the words its error line must contain."""

    mutate: Callable[[Path], None]
    mentions: tuple[str, ...]
    keep_previous: bool = False  # the output folder holds an earlier good run
    region: str = ""  # run on this path inside the folder instead of the folder
    absent: tuple[str, ...] = ()  # words that must not appear in any output


_lon = np.random.default_rng(9).uniform(108.0, 108.04, 20)
_lat = np.random.default_rng(10).uniform(12.6, 12.62, 20)
CASES: dict[str, Case] = {
    "unknown-manifest-key": Case(set_key("region", "colour", "đỏ"), ("colour",)),
    "unknown-layer-key": Case(
        set_layer(0, "service_radius_m", 100), ("service_radius_m",), True
    ),
    "missing-region": Case(lambda _: None, ("nowhere",), region="nowhere"),
    "toml-syntax": Case(
        write_bytes("region.toml", b"[region\nname = "), ("region.toml",)
    ),
    "missing-communes-section": Case(
        edit_manifest(lambda d: d.pop("communes")), ("communes",)
    ),
    "missing-file": Case(
        set_key("communes", "path", "xa_khong_co.gpkg"), ("xa_khong_co.gpkg",)
    ),
    "missing-lon-column": Case(
        set_key("households", "lon", "kinh_do"), ("kinh_do", "households.csv")
    ),
    "missing-code-column": Case(
        set_key("communes", "code", "ma_xa"), ("ma_xa", "communes.geojson")
    ),
    "unknown-layer-kind": Case(set_layer(0, "kind", "satellite"), ("satellite",)),
    "unknown-technology": Case(set_layer(1, "technology", "3G"), ("3G",)),
    "rsrp-out-of-range": Case(set_layer(1, "min_rsrp_dbm", 20), ("min_rsrp_dbm",)),
    "negative-distance": Case(
        set_layer(0, "service_distance_m", -5), ("service_distance_m",)
    ),
    "resolution-17": Case(set_key("region", "h3_resolution", 17), ("h3_resolution",)),
    "resolution-not-int": Case(
        set_key("region", "h3_resolution", "nine"), ("h3_resolution",)
    ),
    "target-over-100": Case(
        set_key("targets", "fibre_household_pct", 120), ("fibre_household_pct",)
    ),
    "corrupt-geojson": Case(
        write_bytes("communes.geojson", b'{"type": "Feat'), ("communes.geojson",)
    ),
    "corrupt-gpkg": Case(
        chain(
            write_bytes("xa.gpkg", np.random.default_rng(4).bytes(4096)),
            set_key("communes", "path", "xa.gpkg"),
        ),
        ("xa.gpkg",),
    ),
    "garbage-tiff": Case(write_bytes("4g.tif", b"II*\x00garbage"), ("4g.tif",)),
    "truncated-tiff": Case(truncate_big_raster, ("4g.tif",), True),
    "lines-as-communes": Case(lines_as_communes, ("communes.geojson",)),
    "vector-without-crs": Case(vector_without_crs, ("fibre_khong_crs.gpkg",)),
    "raster-without-crs": Case(raster_without_crs, ("4g.tif",)),
    "lon-lat-swapped": Case(households_at(_lat, _lon), ("households.csv",), True),
    "missing-coordinate": Case(
        households_at(np.where(np.arange(20) == 7, np.nan, _lon), _lat),
        ("households.csv",),
    ),
    "negative-weight": Case(households_weighted(-np.arange(20)), ("households.csv",)),
    "duplicate-layer-id": Case(set_layer(1, "id", "fibre"), ("fibre",)),
    "households-far-away": Case(
        households_at(_lon - 105.65, _lat + 36.25), ("households.csv",), True
    ),
    # issue 6, B4: a VRT in disguise is refused and nothing of its target leaks
    "vrt-as-geojson": Case(
        vrt_as_communes, ("communes.geojson", "VRT"), absent=(SECRET, "Bi Mat")
    ),
    "vsicurl-path": Case(
        set_key("communes", "path", "/vsicurl/http://127.0.0.1:9/xa.geojson"),
        ("[communes]", "'path'", "/vsi"),
    ),
    # issue 6, D10: each of these exited 0 or ended in an internal error
    "nan-service-distance": Case(
        set_layer(0, "service_distance_m", math.nan), ("service_distance_m", "finite")
    ),
    "nan-target": Case(
        set_key("targets", "fibre_household_pct", math.nan), ("fibre_household_pct",)
    ),
    "huge-weight": Case(
        households_weighted(np.where(np.arange(20) == 3, 1e308, 1.0)),
        ("households.csv", "'ho'", "row 4"),
    ),
    "lon-1e300": Case(
        households_at(np.where(np.arange(20) == 4, 1e300, _lon), _lat),
        ("households.csv", "'lon'", "row 5"),
    ),
    "empty-point": Case(empty_point_households, ("ho.gpkg", "row 6", "empty point")),
    "nan-vertex": Case(nan_vertex_fibre, ("fibre.gpkg", "row 2")),
    "two-layer-geopackage": Case(
        two_layer_communes, ("xa.gpkg", "xa_2019", "xa_2025", "[communes] layer")
    ),
}
GOOD, BOWTIES = "clean-region", "bowtie-communes"  # two runs that must succeed
#: Run by the real script in a subprocess (and in process as well, to compare).
IN_SUBPROCESS = {
    GOOD, BOWTIES, "toml-syntax", "missing-file", "truncated-tiff", "vrt-as-geojson",
    "huge-weight", "nan-vertex",
}  # fmt: skip
ALL_IN_SUBPROCESS = os.environ.get("GEODX_BAD_INPUT_SUBPROCESSES") == "all"


@dataclass
class Result:
    """A finished CLI run, its output folder and the digest of what was there before."""

    proc: subprocess.CompletedProcess[str] | None
    out: Path
    previous: dict[str, str]  # file name -> sha256 of the earlier good output


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _prepare(root: Path, name: str, mutate: Callable[[Path], None]) -> Path:
    folder = root / name / "region"
    folder.mkdir(parents=True)
    build_basic(folder)
    mutate(folder)
    return folder


def in_subprocess(name: str) -> bool:
    return ALL_IN_SUBPROCESS or name in IN_SUBPROCESS


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Run every case, subprocesses two at a time; earlier-output cases go last.

    The in-process runs go one after another in this thread while the subprocesses run.
    """
    root = tmp_path_factory.mktemp("cli")
    jobs = {GOOD: _prepare(root, GOOD, lambda _: None)}
    jobs[BOWTIES] = _prepare(root, BOWTIES, bowtie_communes)
    for name, case in CASES.items():
        region = _prepare(root, name, case.mutate)
        jobs[name] = region / case.region if case.region else region
    out = {name: root / name / "out" for name in jobs}
    previous: dict[str, dict[str, str]] = {}
    later = sorted(name for name, case in CASES.items() if case.keep_previous)
    runs: dict[str, Future[subprocess.CompletedProcess[str]]] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:

        def start(names: list[str]) -> None:
            for n in names:
                future: Future[subprocess.CompletedProcess[str]] = Future()
                if in_subprocess(n):
                    future = pool.submit(run_cli, jobs[n], out[n])
                runs[n] = future
            for n in names:
                if not in_subprocess(n):
                    runs[n].set_result(run_in_process(jobs[n], out[n]))

        start([n for n in jobs if n not in later])
        if runs[GOOD].result().returncode == 0:
            for name in later:
                shutil.copytree(out[GOOD], out[name])
                previous[name] = _digest(out[name])
            start(later)
        return {
            name: Result(
                runs[name].result() if name in runs else None,
                out[name],
                previous.get(name, {}),
            )
            for name in jobs
        }


def test_clean_region_runs(results: dict[str, Result]) -> None:
    result = results[GOOD]
    assert result.proc is not None
    assert result.proc.returncode == 0, result.proc.stderr
    assert "Traceback" not in result.proc.stderr
    for name in (
        "communes.geojson",
        "districts.geojson",
        "summary.json",
        "cells.parquet",
    ):
        assert (result.out / name).is_file(), name


@pytest.mark.parametrize(
    "name",
    sorted(n for n in IN_SUBPROCESS if n in CASES and not CASES[n].keep_previous),
)
def test_in_process_runs_say_what_the_script_says(
    name: str, results: dict[str, Result], tmp_path: Path
) -> None:
    script = results[name].proc
    assert script is not None and script.args[0] != "geodx", "not run by the script"
    out = tmp_path / "out"
    here = run_in_process(Path(script.args[script.args.index("run") + 1]), out)
    assert here.returncode == script.returncode
    assert here.stderr.replace(str(out), str(results[name].out)) == script.stderr
    assert here.stdout == script.stdout
    assert not out.exists(), "output folder left behind"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_fails_cleanly(name: str, results: dict[str, Result]) -> None:
    case, result = CASES[name], results[name]
    assert result.proc is not None, "not run: the clean region failed"
    stderr = result.proc.stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert result.proc.returncode != 0, f"exit 0 on bad input; stderr: {stderr!r}"
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    for word in case.mentions:
        assert word in lines[0], f"{word!r} not named in: {lines[0]}"
    for word in case.absent:
        assert word not in stderr + result.proc.stdout, f"{word!r} leaked"
    if case.keep_previous:
        assert _digest(result.out) == result.previous, "earlier good output was changed"
    else:
        left = list(result.out.rglob("*")) if result.out.exists() else None
        assert left is None, f"output folder left behind: {left}"


def test_invalid_geometries_are_repaired_with_a_count(
    results: dict[str, Result],
) -> None:
    result = results[BOWTIES]
    assert result.proc is not None
    stderr = result.proc.stderr
    assert result.proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert re.search(r"\b2\b", stderr), f"warning must say how many: {stderr!r}"
    assert "communes.geojson" in stderr, stderr
    communes = json.loads((result.out / "communes.geojson").read_text(encoding="utf-8"))
    assert len(communes["features"]) == 3
    assert all(
        f["geometry"]["type"] in {"Polygon", "MultiPolygon"}
        for f in communes["features"]
    )

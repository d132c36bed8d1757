"""Measured speeds (``kind = "measured"``): Ookla's open performance tiles.

The file is Ookla's Parquet (plain, not GeoParquet) or Shapefile: one row per zoom-16
Web Mercator tile with the columns ``quadkey`` (16 digits 0-3, text), ``avg_d_kbps``
and ``tests`` (``avg_u_kbps`` and ``devices`` may be there and are not read). The
``tile`` WKT column of the Parquet is not read either: the quadkey names the tile.
Every value is checked first; a bad one is a one-line error naming the file, the
column and the row.

A household lies in the zoom-16 tile of its lon/lat (:func:`tile_keys`, mercantile's
rule vectorised,
:mod:`geodx.tiles`). Its tile then says, per layer, one of: at or above the speed
(``tests >= min_tests`` and ``avg_d_kbps / 1000 >= min_download_mbps``), below it
(enough tests, slower), too few tests (``tests < min_tests``) or untested (no tile).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from geodx.errors import GeodxError, InputFileError, MissingColumn
from geodx.formats import (
    PARQUET_SUFFIXES,
    check_content,
    check_feature_count,
    check_file_size,
    check_parquet_decoded,
    refuse_suffix,
)
from geodx.io import read_vector
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import (
    DEFAULT_MIN_DOWNLOAD_MBPS,
    DEFAULT_MIN_TESTS,
    LayerSpec,
)
from geodx.points import HouseholdPoints
from geodx.tiles import ZOOM, quadkey_keys, tile_keys

COLUMNS = ("quadkey", "avg_d_kbps", "tests")
# A tile key is x * 2**ZOOM + y (geodx.tiles.tile_keys).
_ROW_MASK = (1 << ZOOM) - 1
SUFFIXES = PARQUET_SUFFIXES | {".shp"}


@dataclass(frozen=True)
class Tiles:
    """One measured layer's tiles, sorted by key."""

    spec: LayerSpec
    keys: NDArray[np.int64]
    mbps: NDArray[np.float64]
    tests: NDArray[np.float64]

    @classmethod
    def open(cls, spec: LayerSpec, *, limits: Limits = DEFAULT_LIMITS) -> Tiles:
        """Read and check a tile file (Parquet or Shapefile)."""
        quadkey, kbps, tests = read_tiles(spec, limits)
        keys = quadkey_keys(quadkey, path=spec.path)
        order = np.argsort(keys, kind="stable")
        same = np.flatnonzero(keys[order][1:] == keys[order][:-1])
        if len(same):
            row = int(order[same[0] + 1])
            raise InputFileError(
                f"{spec.path}: column 'quadkey', row {row + 1}: {str(quadkey[row])!r} "
                "appears twice"
            )
        return cls(spec, keys[order], kbps[order] / 1000.0, tests[order])

    def classify(self, households: HouseholdPoints) -> dict[str, NDArray[np.bool_]]:
        """Per household: ``above``, ``below``, ``too_few_tests`` and ``untested``.

        ``too_few_tests`` includes ``untested`` (no tile); the first three add up
        to every household.
        """
        lng, lat = households.lng_lat
        found, at = self.tiles_of(tile_keys(lng, lat))
        min_tests = self.spec.min_tests or DEFAULT_MIN_TESTS
        speed = self.spec.min_download_mbps
        speed = DEFAULT_MIN_DOWNLOAD_MBPS if speed is None else speed
        tests = np.where(found, self.tests[at] if len(self.keys) else 0.0, 0.0)
        mbps = np.where(found, self.mbps[at] if len(self.keys) else 0.0, 0.0)
        enough = found & (tests >= min_tests)
        return {
            "above": enough & (mbps >= speed),
            "below": enough & (mbps < speed),
            "too_few_tests": ~enough,
            "untested": ~found,
        }

    def tiles_of(
        self, keys: NDArray[np.int64]
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """``(found, at)``: whether each key is a tile's, and which (0 where not).

        The keys' tiles lie in a box of zoom-16 columns and rows (``x * 2**16 + y``):
        a table of every tile of the box, filled from the tiles' sorted keys, answers
        each key by one look-up; a box larger than ``4 * len(keys) + 2**16`` is
        searched (``np.searchsorted``) instead. The same answers either way.
        """
        if len(self.keys) == 0 or len(keys) == 0:
            return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
        col, row = keys >> ZOOM, keys & _ROW_MASK
        x0, x1, y0, y1 = int(col.min()), int(col.max()), int(row.min()), int(row.max())
        rows = y1 - y0 + 1
        if (x1 - x0 + 1) * rows > 4 * len(keys) + 2**16:
            at = np.searchsorted(self.keys, keys)
            at = np.minimum(at, len(self.keys) - 1)
            found = self.keys[at] == keys
            at[~found] = 0
            return found, at
        # The tiles of columns x0..x1, then those of rows y0..y1 among them.
        lo, hi = np.searchsorted(self.keys, [x0 << ZOOM, (x1 + 1) << ZOOM])
        near = np.arange(lo, hi)
        tile_row = self.keys[near] & _ROW_MASK
        near = near[(tile_row >= y0) & (tile_row <= y1)]
        cell = ((self.keys[near] >> ZOOM) - x0) * rows + (self.keys[near] & _ROW_MASK)
        table = np.full((x1 - x0 + 1) * rows, -1, dtype=np.int64)
        table[cell - y0] = near
        col -= x0
        col *= rows
        col += row
        col -= y0
        at = table[col]
        found = at >= 0
        at[~found] = 0
        return found, at


def read_tiles(
    spec: LayerSpec, limits: Limits
) -> tuple[NDArray[np.str_], NDArray[np.float64], NDArray[np.float64]]:
    """The quadkey, avg_d_kbps and tests columns, checked."""
    path = spec.path
    suffix = path.suffix.lower()
    role = f"tiles of layer '{spec.id}'"
    if suffix not in SUFFIXES:
        raise refuse_suffix(path, role, SUFFIXES)
    if suffix == ".shp":
        frame = read_vector(path, columns=list(COLUMNS), role=role, limits=limits)
        _require(path, [str(c) for c in frame.columns])
        series = {name: frame[name] for name in COLUMNS}
        if series["quadkey"].dtype.kind not in "OU" and len(frame):
            raise InputFileError(f"{path}: column 'quadkey' must be text")
        values = {name: s.to_numpy() for name, s in series.items()}
    else:
        values = _read_parquet(path, limits, role)
    quadkey = np.asarray([str(q) for q in values["quadkey"]], dtype=str)
    return (
        quadkey,
        _numbers(path, "avg_d_kbps", values["avg_d_kbps"]),
        _numbers(path, "tests", values["tests"]),
    )


def _read_parquet(path: Path, limits: Limits, role: str) -> dict[str, np.ndarray]:
    check_file_size(path, limits, role=role)
    check_content(path, "Parquet", role=role)
    try:
        meta = pq.read_metadata(path)
        check_feature_count(path, meta.num_rows, limits, role=role)
        schema = meta.schema.to_arrow_schema()
        _require(path, schema.names)
        kind = schema.field("quadkey").type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise InputFileError(f"{path}: column 'quadkey' is {kind}, not text")
        for name in COLUMNS[1:]:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
                raise InputFileError(f"{path}: column '{name}' is {kind}, not numeric")
        check_parquet_decoded(path, ["quadkey"], limits, role=role)
        table = pq.read_table(path, columns=list(COLUMNS))
    except GeodxError:
        raise
    except (pa.ArrowInvalid, OSError) as exc:
        text = str(exc).strip().splitlines()
        raise InputFileError(
            f"{path}: cannot read {role}: {text[0] if text else type(exc).__name__}"
        ) from None
    out = {name: table.column(name).to_numpy(zero_copy_only=False) for name in COLUMNS}
    missing = table.column("quadkey").null_count
    if missing:
        row = int(np.flatnonzero(table.column("quadkey").is_null().to_numpy())[0])
        raise InputFileError(f"{path}: column 'quadkey', row {row + 1}: empty")
    return out


def _require(path: Path, names: list[str]) -> None:
    for column in COLUMNS:
        if column not in names:
            found = ", ".join(n for n in names if n != "geometry")
            raise MissingColumn(
                f"{path}: tile column '{column}' not found; columns are: {found}"
            )


def _numbers(path: Path, column: str, values: np.ndarray) -> NDArray[np.float64]:
    """Finite numbers >= 0, or a one-line error naming the row."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(f"{path}: column '{column}' is not numeric") from None
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputFileError(
            f"{path}: column '{column}', row {row + 1}: {float(out[row])!r} is not a finite "
            "number >= 0"
        )
    return out

"""Reading census, crosswalk and boundary files for carrying counts; writing the result.

Every file is untrusted: a table is CSV or Parquet by its extension and content, within
the budgets of :mod:`geodx.limits`; boundaries are read by :func:`geodx.io.read_vector`.
Errors are one line naming the file, the column and the row. Outputs are written to a
temporary file beside the target and renamed into place.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
import polars as pl
import pyarrow.parquet as pq

from geodx.carry import CarryReport
from geodx.carry_scope import CensusRow, Communes, Crosswalk, normalise_code
from geodx.errors import InputFileError, InputTooLarge, MissingColumn, UnsupportedFormat
from geodx.formats import check_file_size, check_parquet_decoded
from geodx.io import read_vector
from geodx.limits import DEFAULT_LIMITS, Limits

CODE_COLUMNS = ("ward_code_2024", "ward_code", "commune_code", "ma_xa", "code")
COUNT_COLUMNS = ("hh_total", "households", "so_ho")
NAME_COLUMNS = ("commune_name", "ward_name", "official_name", "ten_xa", "name")
PROVINCE_CODE_COLUMNS = ("province_code_2024", "province_code", "ma_tinh")
PROVINCE_NAME_COLUMNS = ("province_name", "ten_tinh")
DISTRICT_CODE_COLUMNS = ("district_code_2024", "district_code", "ma_huyen")
DISTRICT_NAME_COLUMNS = ("district_name", "ten_huyen")
BOUNDARY_CODE_COLUMNS = ("ward_code", "commune_code", "ma_xa", "code")
BOUNDARY_NAME_COLUMNS = ("official_name", "commune_name", "ten_xa", "ward_name", "name")
TABLE_SUFFIXES = (".csv", ".parquet")


def pick_column(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str], path: Path
) -> str:
    """Return ``wanted`` or the first candidate present; raise naming file and column."""
    if wanted is not None:
        if wanted not in columns:
            raise MissingColumn(f"{path}: column {wanted!r} not found")
        return wanted
    for name in candidates:
        if name in columns:
            return name
    raise MissingColumn(f"{path}: none of the columns {', '.join(candidates)} found")


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate column present, or None."""
    return next((c for c in candidates if c in columns), None)


def read_table(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> pl.DataFrame:
    """Read a CSV or Parquet table (by extension and content), every column as text."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UnsupportedFormat(f"{path}: a table must be .csv or .parquet")
    try:
        check_file_size(path, limits, role="table")
        if suffix == ".parquet":
            rows = pq.ParquetFile(path).metadata.num_rows
            _check_rows(path, rows, limits)
            check_parquet_decoded(path, None, limits, role="table")
            return pl.read_parquet(path).select(pl.all().cast(pl.String))
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        if isinstance(exc, InputFileError):
            raise
        first = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise InputFileError(f"{path}: cannot read table ({first})") from None
    _check_rows(path, frame.height, limits)
    return frame


def _check_rows(path: Path, rows: int, limits: Limits) -> None:
    if rows > limits.max_features:
        raise InputTooLarge(
            f"{path}: table has {rows:,} rows; the limit is {limits.max_features:,} "
            "(GEODX_MAX_FEATURES)"
        )


def _count(path: Path, column: str, row: int, value: str | None) -> int:
    """A household count: a whole number, not negative; else one line naming the row."""
    try:
        number = float(value) if value not in (None, "") else 0.0
        n = round(number)
    except (ValueError, OverflowError, TypeError):
        raise InputFileError(
            f"{path}: column {column}, row {row}: {value!r} is not a number"
        ) from None
    if n < 0:
        raise InputFileError(
            f"{path}: column {column}, row {row}: {value!r} is negative"
        )
    return n


def read_census(
    path: Path,
    *,
    code_column: str | None = None,
    count_column: str | None = None,
    name_column: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[CensusRow]:
    """Read the household table: one row per (old) commune with its household count.

    Province and district columns (``province_code_2024``/``province_name``,
    ``district_code_2024``/``district_name``...) are read when present.
    """
    frame = read_table(path, limits=limits)
    cols = frame.columns
    code = pick_column(cols, code_column, CODE_COLUMNS, path)
    count = pick_column(cols, count_column, COUNT_COLUMNS, path)
    name = name_column or _first(cols, NAME_COLUMNS)
    extra = [
        _first(cols, c)
        for c in (
            PROVINCE_CODE_COLUMNS,
            DISTRICT_CODE_COLUMNS,
            PROVINCE_NAME_COLUMNS,
            DISTRICT_NAME_COLUMNS,
        )
    ]
    rows = []
    for i, rec in enumerate(frame.iter_rows(named=True), start=1):
        pc, dc, pn, dn = (rec[c] if c else None for c in extra)
        rows.append(
            CensusRow(
                normalise_code(rec[code]),
                rec[name] if name else None,
                _count(path, count, i, rec[count]),
                province=normalise_code(pc, 2),
                district=normalise_code(dc, 3),
                province_name=pn or None,
                district_name=dn or None,
            )
        )
    return rows


def _share(path: Path, row: int, value: str | None) -> float | None:
    """A split share: a number in [0, 1] or nothing."""
    if value in (None, ""):
        return None
    try:
        share = float(str(value))
    except ValueError:
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise InputFileError(
            f"{path}: column share, row {row}: {value!r} is not a share from 0 to 1"
        )
    return share


def read_crosswalk(path: Path, *, limits: Limits = DEFAULT_LIMITS) -> Crosswalk:
    """Read the crosswalk: old -> new codes, default targets, shares, names, provinces.

    Columns ``old_ward_code``, ``new_ward_code``; optional ``is_default``, ``share``
    (the part of the old commune in the new one, 0-1), ``new_ward_name`` and
    ``new_province_code``.
    """
    frame = read_table(path, limits=limits)
    for col in ("old_ward_code", "new_ward_code"):
        pick_column(frame.columns, col, (), path)

    def column(name: str) -> list[str | None]:
        return list(frame[name]) if name in frame.columns else [None] * frame.height

    candidates: dict[str, list[tuple[int, str]]] = {}
    targets: dict[str, dict[str, float | None]] = {}
    new_names: dict[str, str] = {}
    new_provinces: dict[str, str] = {}
    records = zip(
        column("old_ward_code"), column("new_ward_code"), column("is_default"),
        column("new_ward_name"), column("new_province_code"), column("share"),
        strict=True,
    )  # fmt: skip
    for i, (old, new, is_default, new_name, province, share) in enumerate(records, 1):
        old_code, new_code = normalise_code(old), normalise_code(new)
        if new_code is not None:
            if new_name:
                new_names[new_code] = str(new_name)
            if (p := normalise_code(province, 2)) is not None:
                new_provinces[new_code] = p
        if old_code is None or new_code is None:
            continue
        rank = 0 if str(is_default).lower() == "true" else 1
        candidates.setdefault(old_code, []).append((rank, new_code))
        targets.setdefault(old_code, {})[new_code] = _share(path, i, share)
    target = {old: min(options)[1] for old, options in candidates.items()}
    return Crosswalk(
        target,
        new_names,
        new_provinces,
        {old: tuple(sorted(t.items())) for old, t in targets.items()},
    )


def read_boundaries(
    path: Path,
    code_column: str | None = None,
    name_column: str | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Read commune polygons in WGS84; drop rows without a code; refuse duplicates."""
    # The same reader as a run's inputs: the driver the extension names, budgets,
    # finite vertices, a CRS (boundaries are mailed around like any input).
    frame = read_vector(path, role="boundaries", limits=limits)
    code = pick_column(list(frame.columns), code_column, BOUNDARY_CODE_COLUMNS, path)
    name = pick_column(list(frame.columns), name_column, BOUNDARY_NAME_COLUMNS, path)
    if frame.crs is None:
        raise InputFileError(f"{path}: boundaries have no CRS")
    frame = frame.to_crs(4326)
    frame[code] = [normalise_code(v) for v in frame[code]]
    frame = frame[frame[code].notna() & ~frame.geometry.is_empty].reset_index(drop=True)
    duplicated = frame[code][frame[code].duplicated()]
    if len(duplicated):
        raise InputFileError(f"{path}: {code} {duplicated.iloc[0]!r} appears twice")
    frame[name] = frame[name].fillna("").astype(str)
    return frame, code, name


def boundary_communes(frame: gpd.GeoDataFrame, code: str, name: str) -> Communes:
    """The communes' names, and their province and district codes where given."""
    codes = list(frame[code])

    def column(col: str, width: int) -> dict[str, str]:
        if col not in frame.columns:
            return {}
        values = (normalise_code(v, width) for v in frame[col])
        return {c: v for c, v in zip(codes, values, strict=True) if v is not None}

    provinces = column("province_code", 2)
    province_names: dict[str, str] = {}
    if "province_name" in frame.columns:
        for c, n in zip(codes, frame["province_name"], strict=True):
            if c in provinces and isinstance(n, str):
                province_names.setdefault(provinces[c], n)
    return Communes(
        names=dict(zip(codes, frame[name], strict=True)),
        provinces=provinces,
        districts=column("district_code", 3),
        province_names=province_names,
    )


def counts_table(report: CarryReport, communes: Communes) -> pl.DataFrame:
    """One row per boundary commune: households and how they got there."""
    methods = report.by_method()
    rows = report.rows_per_commune()
    codes = sorted(communes.names)
    none: Counter[str] = Counter()
    by = {
        m: [methods.get(c, none)[m] for c in codes]
        for m in ("by_code", "by_name", "spread")
    }
    return pl.DataFrame(
        {
            "commune_code": codes,
            "commune_name": [communes.names[c] for c in codes],
            "households": [report.per_commune.get(c, 0) for c in codes],
            "households_by_code": by["by_code"],
            "households_by_name": by["by_name"],
            "households_spread": by["spread"],
            "census_rows": [rows.get(c, 0) for c in codes],
        },
        schema_overrides={"census_rows": pl.Int64},
    )


def placements_table(report: CarryReport) -> pl.DataFrame:
    """One row per census row: where it came from, its rule, where it went and why."""
    ps = report.placements
    return pl.DataFrame(
        {
            "row": list(range(1, len(ps) + 1)),
            "province": [p.row.province_name or p.row.province or "" for p in ps],
            "district": [p.row.district_name or p.row.district or "" for p in ps],
            "old_district_code": [p.district or "" for p in ps],
            "old_code": [p.row.code or "" for p in ps],
            "name": [p.row.name or "" for p in ps],
            "households": [p.row.households for p in ps],
            "rule": [p.rule for p in ps],
            "new_codes": [
                ";".join(f"{c}:{n}" for c, n in p.targets.items()) for p in ps
            ],
            "reason": [p.reason for p in ps],
        },
        schema_overrides={"households": pl.Int64, "row": pl.Int64},
    )


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write`` into a temporary file beside ``path``, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new name (not mkstemp's 0600 file): the file follows the umask like any output.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def formula_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells a spreadsheet would run (``= + - @``, tab, CR first) get a ``'``.

    The OWASP rule, as for every CSV geodx writes; numbers stay numbers.

    >>> formula_safe(pl.DataFrame({"name": ["=HYPERLINK(1)", "-3", "Xã A"]})).rows()
    [("'=HYPERLINK(1)",), ('-3',), ('Xã A',)]
    """
    risky = pl.col(pl.String).str.contains(r"^[=+\-@\t\r]") & ~pl.col(
        pl.String
    ).str.contains(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
    return frame.with_columns(
        pl.when(risky)
        .then(pl.col(pl.String).str.replace("^", "'"))
        .otherwise(pl.col(pl.String))
    )


def write_frame(path: Path, frame: pl.DataFrame) -> None:
    """Write ``frame`` atomically as Parquet (``.parquet``) or formula-safe CSV."""
    if path.suffix.lower() == ".parquet":
        write_atomic(path, lambda p: frame.write_parquet(p, compression="zstd"))
    else:
        safe = formula_safe(frame)
        write_atomic(path, lambda p: safe.write_csv(p))


def report_path(out: Path) -> Path:
    """The report beside the table: ``<out stem>_report.csv``.

    >>> report_path(Path("build/daklak_households.parquet")).name
    'daklak_households_report.csv'
    """
    return out.with_name(f"{out.stem}_report.csv")

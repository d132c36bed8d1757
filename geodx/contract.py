"""The results contract: names, figures and bytes of every output of ``geodx run``.

One module owns what the writer (:mod:`geodx.outputs`) writes and the service (``api/``)
reads: the file names, the columns, percentages, target flags and gaps, the indicator
-> target mapping, the default targets, RFC 7946 serialisation and the H3 roll-up of
the cell table. Neither side re-derives a rule: both call these functions.

The gap rule (issue 6 D11), for any household weights, in exact arithmetic::

    gap = ceil(max(0, target% x households - covered))

the whole households still to cover. For integral counts it equals
``max(0, ceil(target% x households) - covered)``, and ``gap == 0`` exactly when the
target is met (``covered x 100 >= target x households``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import PurePath
from typing import Any

import h3
import numpy as np
import orjson
import pandas as pd
import shapely

from geodx.errors import InvalidResolution
from geodx.manifest import Targets

# --- files and columns ------------------------------------------------------------
COMMUNES_FILE = "communes.geojson"
DISTRICTS_FILE = "districts.geojson"
SUMMARY_FILE = "summary.json"
CELLS_FILE = "cells.parquet"
OUTPUT_FILES = (COMMUNES_FILE, DISTRICTS_FILE, SUMMARY_FILE, CELLS_FILE)
# The cheapest way to the target (DESIGN.md "Planning endpoints"): one row per
# household point without fibre, with the fibre extension it needs.
PLAN_FILE = "plan.parquet"
EXTENSION_COL = "extension_m"
PLAN_COLUMNS = ("commune_code", "h3", "households", EXTENSION_COL)
# H3 pyramid (issue 9): the cell totals (``cell_totals``) rolled up to every resolution
# from PYRAMID_MIN_RESOLUTION to the region's, one file per level (``pyramid_file``).
PYRAMID_DIR = "pyramid"
PYRAMID_MIN_RESOLUTION = 5

H3_COL = "h3"
COUNT_SUFFIX = "_households"
INDICATORS = ("fibre", "mobile", "mobile_5g")
GAP_INDICATORS = ("fibre", "mobile")
ID_COLUMNS = ("commune_code", "commune_name", "district_code", "district_name")
COMMUNE_COLUMNS = (
    *ID_COLUMNS,
    "households",
    "fibre_households",
    "fibre_pct",
    "fibre_target_met",
    "fibre_gap_households",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
    "mobile_covered",
)
DISTRICT_COLUMNS = ("district_code",)  # what a reader needs; the rest as communes
SUMMARY_KEYS = (
    "households",
    "unassigned_households",
    "fibre_households",
    "fibre_pct",
    "fibre_target_met",
    "fibre_gap_households",
    "mobile_pct",
    "mobile_5g_pct",
    "communes",
    "communes_with_households",
    "communes_mobile_covered",
    "mobile_commune_pct",
    "mobile_target_met",
    "targets",
    "definitions",
    "inputs",
)
CELL_COLUMNS = (
    H3_COL,
    "commune_code",
    "households",
    "fibre_households",
    "mobile_households",
    "mobile_5g_households",
)
# Per indicator with a commune target: its target key, its flag and its gap column.
# (mobile_5g maps are drawn against the 4G/5G commune threshold too.)
TARGET_KEYS = {
    "fibre": "fibre_household_pct",
    "mobile": "mobile_commune_household_pct",
    "mobile_5g": "mobile_commune_household_pct",
}
MET_COLUMNS = {"fibre": "fibre_target_met", "mobile": "mobile_covered"}
GAP_COLUMNS = {"fibre": "fibre_gap_households", "mobile": "mobile_gap_households"}
DEFAULT_TARGETS: dict[str, float] = {k: float(v) for k, v in asdict(Targets()).items()}
SYNTHETIC_NOTE = "Dữ liệu giả lập — synthetic data, not real coverage"
# Households from counts (DESIGN.md): a top-level member of every GeoJSON a run
# writes, and summary.json keys beside it.
ESTIMATED_MEMBER = "households_estimated"
ESTIMATED_NOTE = "Số hộ ước tính từ số liệu thống kê — household figures are estimates spread from counts"
ESTIMATE_KEYS = (
    ESTIMATED_MEMBER,
    "households_method",
    "households_vintage",
    "households_not_placed",
    "households_not_placed_codes",
)
PCT_DECIMALS = 4
DECIMALS = 7  # GeoJSON coordinates: about 1 cm
# What a run draws for the maps (issue 8 item 6): DIR/layers/index.json lists one entry
# per layer (these keys, more for some types), each drawn as DIR/layers/<slug>.<ext>.
MAP_LAYERS_DIR = "layers"
MAP_INDEX_FILE = "index.json"
MAP_INDEX_FORMAT = 1
MAP_LAYER_TYPES = ("vector", "image")
MAP_ENTRY_KEYS = (
    "id",
    "kind",
    "operator",
    "technology",
    "model",
    "type",
    "file",
    "bounds",
    "features",
    "simplified_m",
)


def targets_from(given: Any) -> dict[str, float]:
    """The targets in percent from ``summary["targets"]``, defaults for missing keys.

    Examples
    --------
    >>> targets_from({"fibre_household_pct": 80})["fibre_household_pct"]
    80.0
    >>> targets_from(None) == DEFAULT_TARGETS
    True
    """
    given = given if isinstance(given, dict) else {}
    out = {}
    for key, default in DEFAULT_TARGETS.items():
        value = given.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        out[key] = float(value) if ok and math.isfinite(value) else default
    return out


# --- figures ----------------------------------------------------------------------
def pct_array(part: Any, whole: Any) -> np.ndarray:
    """``100 x part / whole`` rounded to 4 decimals, NaN where ``whole`` is 0."""
    p = np.asarray(part, dtype=float)
    w = np.asarray(whole, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, np.round(100.0 * p / w, PCT_DECIMALS), np.nan)


def pct(part: float, whole: float) -> float | None:
    """Percentage rounded to 4 decimals; None when ``whole`` is 0.

    Examples
    --------
    >>> pct(2, 3), pct(0, 0)
    (66.6667, None)
    """
    value = float(pct_array(part, whole))
    return None if math.isnan(value) else value


def _exact(value: float) -> Fraction:
    return Fraction(value) if isinstance(value, float) else Fraction(int(value))


def target_met(part: float, whole: float, target_pct: float) -> bool | None:
    """Whether ``part / whole >= target_pct / 100``, in exact arithmetic; None if no whole.

    Examples
    --------
    >>> target_met(9, 10, 90), target_met(8, 10, 90), target_met(0, 0, 90)
    (True, False, None)
    """
    if whole == 0:
        return None
    return _exact(part) * 100 >= Fraction(str(target_pct)) * _exact(whole)


def gap(part: float, whole: float, target_pct: float) -> int:
    """Whole households missing: ``ceil(max(0, target% x whole - part))``, exact.

    Zero exactly when :func:`target_met` is true, for any weights.

    Examples
    --------
    >>> gap(8, 10, 90), gap(9, 10, 90), gap(0, 7, 90), gap(8.7, 10, 90)
    (1, 0, 7, 1)
    """
    missing = Fraction(str(target_pct)) * _exact(whole) / 100 - _exact(part)
    return math.ceil(max(Fraction(0), missing))


def count(value: float, integral: bool) -> int | float:
    """A household count as an int when weights are whole numbers."""
    return int(round(value)) if integral else float(value)


def _number(value: Any) -> float:
    value = clean(value)
    return 0 if value is None else value


def with_gaps(communes: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    """``communes`` with every gap column, computed by :func:`gap` where results lack it.

    Results written before ``mobile_gap_households`` existed get it here, by the rule.
    """
    out = communes
    for indicator, column in GAP_COLUMNS.items():
        if column in out.columns:
            continue
        target = targets[TARGET_KEYS[indicator]]
        values = [
            gap(_number(c), _number(h), target)
            for c, h in zip(
                out[f"{indicator}_households"], out["households"], strict=True
            )
        ]
        out = out.assign(**{column: pd.Series(values, index=out.index, dtype=object)})
    return out


def gap_table(
    communes: pd.DataFrame, indicator: str, target_pct: float
) -> pd.DataFrame:
    """Communes with households below the ``indicator`` target, largest gap first.

    ``communes`` holds the gap columns (see :func:`with_gaps`). Columns: the ids,
    ``indicator, households, covered_households, pct, target_pct, gap_households``
    and ``_pos`` (the commune's row in ``communes``).
    """
    households = communes["households"].fillna(0)
    met = communes[MET_COLUMNS[indicator]]
    below = np.array([m is False or m is np.False_ for m in met], dtype=bool)
    table = pd.DataFrame(
        {
            **{c: communes[c] for c in ID_COLUMNS},
            "indicator": indicator,
            "households": households,
            "covered_households": communes[f"{indicator}_households"],
            "pct": communes[f"{indicator}_pct"],
            "target_pct": float(target_pct),
            "gap_households": communes[GAP_COLUMNS[indicator]],
            "_pos": np.arange(len(communes)),
        }
    )[below & (households > 0).to_numpy()]
    table = table.sort_values(
        ["gap_households", "commune_code"], ascending=[False, True], kind="stable"
    )
    return table.reset_index(drop=True)


# --- GeoJSON (RFC 7946): one pass, one order ---------------------------------------
def rfc7946(geoms: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Round coordinates to 7 decimals, then orient exterior rings counter-clockwise.

    Orienting after rounding keeps the written rings counter-clockwise.
    """
    arr = np.asarray(geoms, dtype=object)
    rounded = shapely.transform(arr, lambda xy: np.round(xy, DECIMALS))
    return np.asarray(shapely.orient_polygons(rounded, exterior_cw=False), dtype=object)


def clean(value: Any) -> Any:
    """JSON-safe value: NaN, inf and pandas NA become null, numpy scalars plain."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(props: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of JSON-safe Python values (NaN, inf and NA -> None)."""
    columns: dict[str, list[Any]] = {}
    for name in props.columns:
        col = props[name]
        kind = getattr(col.dtype, "kind", "O")
        if kind == "f":
            arr = col.to_numpy(dtype=float)
            columns[str(name)] = [v if math.isfinite(v) else None for v in arr.tolist()]
        elif kind in "biu" and isinstance(col.dtype, np.dtype):
            columns[str(name)] = col.tolist()
        else:
            columns[str(name)] = [clean(v) for v in col.tolist()]
    names = list(columns)
    return [
        dict(zip(names, r, strict=True)) for r in zip(*columns.values(), strict=True)
    ]


def feature_bytes(
    geoms: Sequence[Any] | np.ndarray,
    props: pd.DataFrame,
    ids: Iterable[Any] | None = None,
) -> list[bytes]:
    """Serialise each row of ``props`` with its WGS84 geometry as a GeoJSON Feature.

    ``id`` is the string of ``ids``' value (left out where None); empty or missing
    geometries are ``null``.
    """
    return serialise(geoms, props, ids)[1]


def serialise(
    geoms: Sequence[Any] | np.ndarray,
    props: pd.DataFrame,
    ids: Iterable[Any] | None = None,
) -> tuple[np.ndarray, list[bytes]]:
    """The :func:`rfc7946` geometries and the :func:`feature_bytes` of the features."""
    fixed = rfc7946(geoms)
    texts = shapely.to_geojson(fixed)
    blank = shapely.is_missing(fixed) | shapely.is_empty(fixed)
    id_list = list(ids) if ids is not None else [None] * len(fixed)
    out = []
    for fid, text, no, rec in zip(id_list, texts, blank, records(props), strict=True):
        head = b'{"type":"Feature",'
        if clean(fid) is not None:
            head += b'"id":' + orjson.dumps(str(clean(fid))) + b","
        geom = b"null" if no else str(text).encode()
        out.append(head + b'"geometry":' + geom + b',"properties":' + orjson.dumps(rec) + b"}")  # fmt: skip
    return fixed, out


def collection_bytes(
    features: Sequence[bytes],
    *,
    members: Mapping[str, Any] | None = None,
    trailing: Mapping[str, Any] | None = None,
) -> bytes:
    """A FeatureCollection of serialised features.

    Top-level ``members`` (e.g. ``synthetic``) come before ``features``, ``trailing``
    members after them.

    Examples
    --------
    >>> collection_bytes([], members={"synthetic": True})
    b'{"type":"FeatureCollection","synthetic":true,"features":[]}'
    """
    head = orjson.dumps({"type": "FeatureCollection", **(members or {})})[:-1]
    tail = orjson.dumps(dict(trailing or {}))
    body = head + b',"features":[' + b",".join(features) + b"]"
    return body + (b"," + tail[1:] if len(tail) > 2 else b"}")


def with_members(feature: bytes, members: Mapping[str, Any]) -> bytes:
    """Append top-level members to one serialised feature (or collection)."""
    if not members:
        return feature
    return feature[:-1] + b"," + orjson.dumps(dict(members))[1:]


# --- the cell table and its H3 roll-up ----------------------------------------------
def count_columns(cells: pd.DataFrame) -> list[str]:
    """The household-count columns of a cell table, in table order."""
    return [c for c in cells.columns if c.endswith(COUNT_SUFFIX) or c == "households"]


def add_percentages(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``X_pct`` for every ``X_households`` column except ``households`` itself."""
    frame = frame.copy()
    whole = frame["households"].to_numpy(dtype=float)
    for col in [c for c in frame.columns if c.endswith(COUNT_SUFFIX)]:
        share = pct_array(frame[col].to_numpy(dtype=float), whole)
        values = pd.Series(share, index=frame.index).astype(object)
        frame[col[: -len(COUNT_SUFFIX)] + "_pct"] = values.where(whole > 0, None)
    return frame


def cell_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """Sum the per-commune rows of each cell (every household in it) and add ``*_pct``.

    Returns one row per cell: ``h3``, ``resolution``, ``communes`` (how many communes
    hold households there), every count column, then the percentages; sorted by h3.
    """
    counts = count_columns(cells)
    integral = all(pd.api.types.is_integer_dtype(cells[c]) for c in counts)
    grouped = cells.groupby(H3_COL, sort=True)
    out = grouped[counts].sum().astype("int64" if integral else float)
    out.insert(
        0,
        "communes",
        grouped["commune_code"].nunique() if "commune_code" in cells else 0,
    )
    out = out.reset_index()
    out.insert(1, "resolution", [h3.get_resolution(c) for c in out[H3_COL]])
    return add_percentages(out)


def roll_up(cells: pd.DataFrame, resolution: int, base: int) -> pd.DataFrame:
    """Cell totals at ``resolution``, coarser than or equal to the table's ``base``.

    Rows are re-grouped under their ``h3.cell_to_parent``, so counts stay exact.

    Raises
    ------
    InvalidResolution
        ``resolution`` outside 0 to ``base``.
    """
    if not 0 <= resolution <= base:
        raise InvalidResolution(
            f"resolution was {resolution}; expected 0-{base} (the cells are at {base})"
        )
    if resolution == base or len(cells) == 0:
        return cell_totals(cells)
    parent = {c: h3.cell_to_parent(c, resolution) for c in cells[H3_COL].unique()}
    return cell_totals(cells.assign(**{H3_COL: cells[H3_COL].map(parent)}))


def pyramid_file(resolution: int) -> str:
    """The pyramid level's path inside a results folder.

    >>> pyramid_file(7)
    'pyramid/cells_r7.parquet'
    """
    return f"{PYRAMID_DIR}/cells_r{int(resolution)}.parquet"


# --- summary.json -------------------------------------------------------------------
def input_path(path: str | PurePath, root: str | PurePath | None) -> str:
    """An input's path as written in ``summary.json``, never a machine's absolute path.

    Relative to the manifest folder ``root``, or only the file name when outside it
    (or when ``root`` is unknown).

    Examples
    --------
    >>> input_path("/r/a/b.csv", "/r"), input_path("/elsewhere/x.tif", "/r")
    ('a/b.csv', 'x.tif')
    >>> input_path("a/b.csv", None), input_path("../up/c.csv", None)
    ('a/b.csv', 'c.csv')
    """
    p = PurePath(path)
    if not p.is_absolute():
        return p.name if ".." in p.parts else str(p)
    if root is not None:
        try:
            return str(p.relative_to(PurePath(root)))
        except ValueError:
            pass
    return p.name


def public_inputs(inputs: Any, root: str | PurePath | None = None) -> Any:
    """``summary["inputs"]`` with every ``path`` (sidecars too) made public."""
    if isinstance(inputs, list):
        return [public_inputs(x, root) for x in inputs]
    if not isinstance(inputs, dict):
        return inputs
    out = dict(inputs)
    if isinstance(out.get("path"), str):
        out["path"] = input_path(out["path"], root)
    if "sidecars" in out:
        out["sidecars"] = public_inputs(out["sidecars"], root)
    return out


# --- per operator, indoor and the margin (issue 7 item 4) ---------------------------
# Every figure below is a new field; the columns above keep their meaning.
MARGIN_DB = 3.0
# Count column -> the shift of every predicted or measured value (dB): minus3db is the
# 4G/5G households still covered when every raster pixel and site prediction is 3 dB
# lower (``value - 3 >= min_rsrp_dbm``), plus3db when 3 dB higher. Polygon, line and
# point layers count as they are.
MARGIN_COLUMNS = {
    "mobile_households_minus3db": -MARGIN_DB,
    "mobile_households_plus3db": MARGIN_DB,
}
SENSITIVE_COLUMN = "mobile_covered_sensitive"
SENSITIVE_COUNT = "communes_mobile_covered_sensitive"
OPERATOR_COUNT_COLUMNS = (
    "mobile_operators_0_households",
    "mobile_operators_1_households",
    "mobile_operators_2_households",
    "mobile_operators_3plus_households",
)
ALL_OPERATORS_COLUMN = "mobile_all_operators_households"
INDOOR_COLUMN = "mobile_indoor_households"
OPERATOR_KINDS = ("fibre", "mobile")


@dataclass(frozen=True)
class ViewColumn:
    """A count column of the per-operator, indoor and margin views, and its percentage.

    ``pct`` is None for columns written without one.
    """

    name: str
    pct: str | None = None


def operator_column(operator_slug: str, kind: str) -> ViewColumn:
    """``operator_<slug>_<kind>_households`` and ``_pct``.

    Examples
    --------
    >>> operator_column("vnpt", "fibre").name
    'operator_vnpt_fibre_households'
    """
    stem = f"operator_{operator_slug}_{kind}"
    return ViewColumn(stem + COUNT_SUFFIX, stem + "_pct")


def indoor_layer_column(layer_slug: str) -> str:
    """``layer_<slug>_indoor_households``: households one layer covers indoors.

    Examples
    --------
    >>> indoor_layer_column("vt_sites")
    'layer_vt_sites_indoor_households'
    """
    return f"layer_{layer_slug}_indoor{COUNT_SUFFIX}"


def view_columns(
    operators: Sequence[str], indoor_layer_slugs: Sequence[str]
) -> list[ViewColumn]:
    """Every view column in output order, for these operator and indoor-layer slugs."""
    columns = [operator_column(op, kind) for op in operators for kind in OPERATOR_KINDS]
    columns += [ViewColumn(name) for name in OPERATOR_COUNT_COLUMNS]
    columns += [ViewColumn(ALL_OPERATORS_COLUMN)]
    columns += [ViewColumn(INDOOR_COLUMN, "mobile_indoor_pct")]
    columns += [ViewColumn(indoor_layer_column(s)) for s in indoor_layer_slugs]
    return columns + [ViewColumn(name) for name in MARGIN_COLUMNS]


MEASURED_BELOW_COLUMN = "mobile_covered_measured_below_households"
MEASURED_PARTS = ("", "_below", "_too_few_tests", "_untested")


def measured_columns(layer_slugs: Sequence[str]) -> list[ViewColumn]:
    """A measured layer's count columns, then the covered-but-measured-below column.

    Examples
    --------
    >>> [c.name for c in measured_columns(["ookla"])][:2]
    ['measured_ookla_households', 'measured_ookla_below_households']
    >>> measured_columns([])
    []
    """
    columns = [
        ViewColumn(f"measured_{s}{part}{COUNT_SUFFIX}")
        for s in layer_slugs
        for part in MEASURED_PARTS
    ]
    return columns + [ViewColumn(MEASURED_BELOW_COLUMN)] if columns else []


MEASURED_DEFINITIONS = {
    "measured_households": "measured_<slug>_households: the household's zoom-16 Web "
    "Mercator tile (mercantile's rule) has tests >= min_tests and avg_d_kbps / 1000 >= "
    "min_download_mbps; _below_households: tests >= min_tests, slower; "
    "_too_few_tests_households: tests < min_tests or no tile; _untested_households: no "
    "tile (part of too few tests); at or above + below + too few tests = households. "
    "Measured layers change no fibre or 4G/5G figure",
    "mobile_covered_measured_below_households": "covered by a 4G/5G layer and measured "
    "below the speed (with enough tests) by at least one measured layer",
}


def sensitive(
    covered: bool | None, minus: float, plus: float, whole: float, target_pct: float
) -> bool | None:
    """Whether the commune rule answers differently at -3 or +3 dB; None if no whole.

    Examples
    --------
    >>> sensitive(True, 9, 10, 10, 95), sensitive(False, 8, 9, 10, 95)
    (True, False)
    >>> sensitive(None, 0, 0, 0, 95) is None
    True
    """
    if covered is None:
        return None
    return any(target_met(v, whole, target_pct) != covered for v in (minus, plus))


VIEW_DEFINITIONS = {
    "operator_households": "operator_<slug>_fibre_households / _mobile_households: covered "
    "by any fibre / 4G-5G layer whose operator slugifies to <slug>; null when the operator "
    "has no layer of that kind; layers without an operator are left out",
    "mobile_operators_households": "mobile_operators_0/_1/_2/_3plus_households: households "
    "covered by that many distinct operators' 4G/5G layers (layers without an operator left "
    "out); they sum to households",
    "mobile_all_operators_households": "covered by a 4G/5G layer of every operator that has "
    "one; null when no operator has one",
    "mobile_indoor_households": "covered indoors (predicted or raster RSRP - "
    "indoor_loss_db >= min_rsrp_dbm) by at least one layer with indoor_loss_db; null "
    "when no layer has it; per layer layer_<slug>_indoor_households",
    "mobile_households_minus3db": f"4G/5G households covered with every raster pixel and "
    f"site prediction {MARGIN_DB:g} dB lower (value - {MARGIN_DB:g} >= min_rsrp_dbm); "
    "polygon, line and point layers as they are",
    "mobile_households_plus3db": f"the same with every value {MARGIN_DB:g} dB higher",
    "mobile_covered_sensitive": "per commune: the commune_mobile_covered rule on "
    "mobile_households_minus3db or mobile_households_plus3db differs from mobile_covered; "
    "null without households",
}

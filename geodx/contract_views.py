"""The per-operator, indoor, margin and measured views' columns (issue 7 item 4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from geodx.contract_figures import target_met
from geodx.contract_names import COUNT_SUFFIX

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

"""The results contract's figures: percentages, target flags and gaps.

The gap rule (issue 6 D11), for any household weights, in exact arithmetic::

    gap = ceil(max(0, target% x households - covered))

the whole households still to cover. For integral counts it equals
``max(0, ceil(target% x households) - covered)``, and ``gap == 0`` exactly when the
target is met (``covered x 100 >= target x households``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from geodx.contract_geojson import clean
from geodx.contract_names import (
    DEFAULT_TARGETS,
    GAP_COLUMNS,
    ID_COLUMNS,
    MET_COLUMNS,
    PCT_DECIMALS,
    TARGET_KEYS,
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


def pct_array(part: Any, whole: Any) -> np.ndarray:
    """``100 x part / whole`` rounded to 4 decimals, NaN where ``whole`` is 0."""
    p = np.asarray(part, dtype=float)
    w = np.asarray(whole, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w > 0, np.round(100.0 * p / w, PCT_DECIMALS), np.nan)


_PCT_SCALE = float(10**PCT_DECIMALS)


def pct(part: float, whole: float) -> float | None:
    """Percentage rounded to 4 decimals; None when ``whole`` is 0.

    Examples
    --------
    >>> pct(2, 3), pct(0, 0)
    (66.6667, None)
    """
    p, w = float(part), float(whole)
    if not w > 0:
        return None if w == 0 or math.isnan(w) else float(pct_array(p, w))
    value = 100.0 * p / w * _PCT_SCALE
    if not math.isfinite(value):
        value = float(pct_array(p, w))
        return None if math.isnan(value) else value
    # numpy's round to 4 decimals is rint(value * 10**4) / 10**4; Python's round of a
    # float to an integer is the same rint (half to even, exact below 2**53): the same
    # bits as pct_array, without its arrays (a run calls this once a figure).
    return round(value) / _PCT_SCALE


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

"""The rows of the commune brief: figures, per operator, operators serving, targets.

Each row holds :class:`Value` s: the ``communes.geojson`` property shown, its text in the
page's language and its exact value (the page's ``data-value``, so a reader or a test
can check every figure against the results).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geodx.brief_labels import label, number, percent
from geodx.contract_figures import gap, targets_from
from geodx.contract_names import GAP_COLUMNS, INDICATORS, MET_COLUMNS, TARGET_KEYS
from geodx.svg import CurveChart, TrendChart

STATUS_KEYS = ("met", "on_track", "at_risk", "off_track")
DEADLINE_YEARS = ("2025", "2030")


@dataclass(frozen=True)
class Value:
    """One figure: the ``communes.geojson`` property it shows, as text and exactly."""

    field: str
    text: str
    raw: str  # the exact value as JSON text (the page's data-value)

    @classmethod
    def of(cls, row: Mapping[str, Any], key: str, lang: str, prefix: str = "") -> Value:
        """The property ``key`` of ``row``: a percentage when it ends in ``_pct``.

        ``prefix`` names a value that is not a commune property (``plan.``).
        """
        value = row.get(key)
        text = percent(value, lang) if key.endswith("_pct") else number(value, lang)
        return cls(field=prefix + key, text=text, raw=json.dumps(value))


@dataclass(frozen=True)
class Row:
    """A table row: its label and values (a row's label may come from the data)."""

    label: str
    values: tuple[Value, ...]
    status: str = ""  # "met", "not-met" or "" (a CSS class)


@dataclass(frozen=True)
class Part:
    """An optional section: its rows, a note, and a chart or a second table."""

    rows: tuple[Row, ...] = ()
    note: str = ""
    chart: TrendChart | None = None
    legend: tuple[
        tuple[str, str, str], ...
    ] = ()  # (colour, label, solid/dashed/dotted)
    steps: tuple[Row, ...] = ()
    curve: CurveChart | None = None


def _status(met: Any) -> str:
    return "" if met is None else ("met" if met else "not-met")


def _said(met: Any, lang: str) -> str:
    if met is None:
        return label("no_households", lang)
    return label("met" if met else "not_met", lang)


def _flag(row: Mapping[str, Any], key: str, lang: str) -> Value:
    """A target flag: "met", "not met" or "no households", with its exact value."""
    return Value(
        field=key, text=_said(row.get(key), lang), raw=json.dumps(row.get(key))
    )


def text_value(key: str, text: str) -> Value:
    """A value shown as a text (a status, a count with its unit)."""
    return Value(field=key, text=text, raw=json.dumps(text, ensure_ascii=False))


def figures(row: Mapping[str, Any], lang: str) -> tuple[Row, ...]:
    """Households, then each indicator's covered households and share."""
    out = [Row(label("households", lang), (Value.of(row, "households", lang),))]
    for ind in (*INDICATORS, "mobile_indoor"):
        if ind == "mobile_indoor" and row.get("mobile_indoor_households") is None:
            continue
        out.append(
            Row(
                label(ind, lang),
                (
                    Value.of(row, f"{ind}_households", lang),
                    Value.of(row, f"{ind}_pct", lang),
                ),
            )
        )
    return tuple(out)


def operators(
    row: Mapping[str, Any], summary: Mapping[str, Any], lang: str
) -> tuple[Row, ...]:
    """Per operator (``summary["operators"]``): fibre and 4G/5G households and shares."""
    out = []
    for entry in summary.get("operators") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("slug"), str):
            continue
        stem = f"operator_{entry['slug']}"
        values = tuple(
            Value.of(row, f"{stem}_{kind}_{part}", lang)
            for kind in ("fibre", "mobile")
            for part in ("households", "pct")
        )
        out.append(Row(str(entry.get("operator") or entry["slug"]), values))
    return tuple(out)


def serving(row: Mapping[str, Any], lang: str) -> tuple[Row, ...]:
    """Households served by 0, 1, 2 and 3+ 4G/5G operators, and by all of them."""
    if "mobile_operators_0_households" not in row:
        return ()
    out = [
        Row(label("serving_n", lang, n=n), (Value.of(row, f"mobile_operators_{n}_households", lang),))
        for n in ("0", "1", "2")
    ]  # fmt: skip
    out.append(Row(label("serving_3plus", lang),
                   (Value.of(row, "mobile_operators_3plus_households", lang),)))  # fmt: skip
    if row.get("mobile_all_operators_households") is not None:
        out.append(Row(label("serving_all", lang),
                       (Value.of(row, "mobile_all_operators_households", lang),)))  # fmt: skip
    return tuple(out)


def _target_row(row: Mapping[str, Any], indicator: str, name: str, lang: str) -> Row:
    """A commune target's row: the share, whether it is met, the gap (the row's)."""
    met = MET_COLUMNS[indicator]
    return Row(
        name,
        (Value.of(row, f"{indicator}_pct", lang),
         _flag(row, met, lang),
         Value.of(row, GAP_COLUMNS[indicator], lang)),
        _status(row.get(met)),
    )  # fmt: skip


def targets(
    row: Mapping[str, Any], summary: Mapping[str, Any], lang: str
) -> tuple[Row, ...]:
    """Fibre target, the 4G/5G commune rule, and the province's 100 %-of-communes target.

    Status and gaps are the row's (the contract's rule, ``geodx.contract``); the
    province's commune gap is :func:`geodx.contract_figures.gap` on the summary's counts.
    """
    t = targets_from(summary.get("targets"))
    fibre_t, rule_t = t[TARGET_KEYS["fibre"]], t[TARGET_KEYS["mobile"]]
    communes_t = t["mobile_commune_pct"]
    fibre_name = label("fibre_target", lang, pct=number(fibre_t, lang, 2))
    rule_name = label("mobile_rule", lang, pct=number(rule_t, lang, 2))
    fibre = _target_row(row, "fibre", fibre_name, lang)
    rule = _target_row(row, "mobile", rule_name, lang)
    covered, with_hh = (
        summary.get("communes_mobile_covered"),
        summary.get("communes_with_households"),
    )
    rows = [fibre, rule]
    if isinstance(covered, int) and isinstance(with_hh, int):
        missing = gap(covered, with_hh, communes_t)
        met = summary.get("mobile_target_met")
        rows.append(
            Row(
                label("mobile_target", lang, pct=number(communes_t, lang, 2)),
                (text_value("mobile_commune_pct", label("communes_covered", lang,
                       n=number(covered, lang), m=number(with_hh, lang))
                       + f" ({percent(summary.get('mobile_commune_pct'), lang)})"),
                 _flag(summary, "mobile_target_met", lang),
                 Value(field="communes_gap", raw=json.dumps(missing),
                       text=label("communes_unit", lang, n=number(missing, lang)))),
                _status(met),
            )
        )  # fmt: skip
    return tuple(rows)

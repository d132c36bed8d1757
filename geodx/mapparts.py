"""Parts of a map's JSON blob beyond the coloured shapes (see :mod:`geodx.maps`).

- :func:`operator_layers`: what the operators filed, grouped per operator, for the
  page's layer box; the page fetches each layer when it is switched on.
- :func:`commune_figures`: a commune's figures (issue 7's views: per operator, 0/1/2/3+
  operators, indoor, ±3 dB, measured) as rows of raw values, formatted by ``maps.js``.
- :func:`plan_part`: the cheapest way to the target and its marginal-cost curve
  (households connected against metres of extension), drawn by ``maps.js`` as an SVG.

As everywhere on the map pages, every value is data in the blob and reaches the page
only as DOM text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Colours of operators' layers, in the order the operators first appear.
OPERATOR_COLOURS = (
    "#1f78b4",
    "#e31a1c",
    "#33a02c",
    "#ff7f00",
    "#6a3d9a",
    "#b15928",
    "#a6cee3",
    "#fb9a99",
)
NO_OPERATOR = "Không rõ nhà mạng / no operator"
MEASURED = "Đo tốc độ / measured speeds"
KIND_LABELS = {"fibre": "cáp quang / fibre", "mobile": "di động / mobile"}
MAX_CURVE_POINTS = 100  # a chart 280 px wide: more would only weigh the page


def _name(entry: Mapping[str, Any]) -> str:
    what = entry.get("technology") or KIND_LABELS.get(str(entry.get("kind")), "")
    model = " · dự báo / prediction" if entry.get("model") else ""
    if entry.get("part") == "sites":
        model = " · trạm / sites"
    return f"{what or entry.get('kind') or '?'}{model} ({entry['id']})"


def operator_layers(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Map layers grouped per operator (first appearance order), with their colours.

    ``entries`` are checked index entries with ``url`` (relative to the page) and
    ``bounds`` ``[west, south, east, north]``; each becomes ``name``, ``type``,
    ``url``, ``bounds`` (Leaflet's ``[[south, west], [north, east]]``), ``colour``
    and ``legend``.

    Examples
    --------
    >>> groups = operator_layers([
    ...     {"id": "a", "kind": "fibre", "operator": "VNPT", "type": "vector",
    ...      "url": "layers/a", "bounds": [108, 12, 109, 13]},
    ...     {"id": "b", "kind": "mobile", "technology": "4G", "operator": None,
    ...      "model": "cost231-hata", "type": "image", "url": "layers/b",
    ...      "bounds": [108, 12, 109, 13]}])
    >>> [(g["operator"], [x["name"] for x in g["layers"]]) for g in groups]
    [('VNPT', ['cáp quang / fibre (a)']), ('Không rõ nhà mạng / no operator', ['4G · dự báo / prediction (b)'])]
    >>> groups[0]["layers"][0]["bounds"]
    [[12, 108], [13, 109]]
    """
    groups: dict[str, dict[str, Any]] = {}
    for entry in entries:
        operator = entry.get("operator") or (
            MEASURED if entry.get("kind") == "measured" else NO_OPERATOR
        )
        group = groups.setdefault(
            operator,
            {
                "operator": operator,
                "colour": OPERATOR_COLOURS[len(groups) % len(OPERATOR_COLOURS)],
                "layers": [],
            },
        )
        west, south, east, north = entry["bounds"]
        group["layers"].append(
            {
                "id": entry["id"],
                "name": _name(entry),
                "type": entry["type"],
                "url": entry["url"],
                "bounds": [[south, west], [north, east]],
                "colour": group["colour"],
                "legend": entry.get("legend"),
            }
        )
    return list(groups.values())


# --- a commune's figures ---------------------------------------------------------------
def row(
    label: str, value: Any, kind: str = "number", flag: tuple[str, str] | None = None
) -> dict[str, Any]:
    """One figure: ``label``, a raw ``value`` and how the page formats it."""
    if isinstance(value, float) and not math.isfinite(value):
        value = None
    out = {"label": label, "kind": kind, "value": value}
    if flag is not None:
        out.update(kind="flag", yes=flag[0], no=flag[1])
    return out


MET = ("đạt / met", "chưa đạt / not met")
YES_NO = ("có / yes", "không / no")
COVERED = ("được phủ / covered", "chưa / not covered")
SENSITIVE = (
    "có / yes — đổi trạng thái / status flips",
    "không / no — ổn định / stable",
)


def _rows(props: Mapping[str, Any], specs: Sequence[tuple[Any, ...]]) -> list[Any]:
    """The rows of ``specs`` (label, column, kind[, flag]) whose column is present."""
    return [
        {**row(label, props[col], *rest), "column": col}
        for label, col, *rest in specs
        if col in props
    ]


def _operator_rows(
    props: Mapping[str, Any], operators: Sequence[Mapping[str, Any]]
) -> list[Any]:
    out = []
    for op in operators:
        slug, name = op.get("slug"), op.get("operator")
        for kind, label in (("fibre", "cáp quang / fibre"), ("mobile", "4G/5G")):
            col = f"operator_{slug}_{kind}_pct"
            if props.get(col) is not None:
                figure = row(f"{name} — {label}", props[col], "pct")
                out.append({**figure, "column": col})
    return out


def _measured_rows(props: Mapping[str, Any], slugs: Sequence[str]) -> list[Any]:
    specs: list[tuple[Any, ...]] = [
        ("4G/5G phủ nhưng đo dưới tốc độ / covered but measured below",
         "mobile_covered_measured_below_households"),
    ]  # fmt: skip
    for slug in slugs:
        specs += [
            (f"{slug}: đạt tốc độ / at or above", f"measured_{slug}_households"),
            (f"{slug}: dưới tốc độ / below", f"measured_{slug}_below_households"),
            (f"{slug}: ít phép đo / too few tests",
             f"measured_{slug}_too_few_tests_households"),
        ]  # fmt: skip
    return _rows(props, specs)


def _section(title: str, rows: list[Any]) -> dict[str, Any] | None:
    return {"title": title, "rows": rows} if rows else None


def commune_figures(
    props: Mapping[str, Any],
    *,
    operators: Sequence[Mapping[str, Any]] = (),
    measured: Sequence[str] = (),
    estimated: bool = False,
) -> dict[str, Any]:
    """A commune's figures, gap and views, as sections of rows for the commune page.

    Parameters
    ----------
    props : mapping
        The commune's properties (``communes.geojson``; the gap columns included).
    operators : sequence of mappings
        ``summary.json`` ``operators`` (``operator``, ``slug``).
    measured : sequence of str
        Slugs of the measured layers.
    estimated : bool
        The households are estimates spread from counts.

    Returns
    -------
    dict
        ``heading``, ``note`` and ``sections`` (``title``, ``rows``); only the columns
        present in ``props`` give rows.
    """
    hh = "hộ / households"
    sections = [
        _section("Hộ gia đình / households", _rows(props, [("Số hộ / households", "households")])),
        _section("Cáp quang / fibre", _rows(props, [
            (f"Có cáp quang / with fibre ({hh})", "fibre_households"),
            ("Tỷ lệ / share", "fibre_pct", "pct"),
            ("Mục tiêu / target", "fibre_target_met", "flag", MET),
            (f"Còn thiếu / gap ({hh})", "fibre_gap_households"),
        ])),
        _section("4G/5G", _rows(props, [
            (f"Có 4G/5G / with 4G/5G ({hh})", "mobile_households"),
            ("Tỷ lệ / share", "mobile_pct", "pct"),
            ("Xã được phủ / commune covered", "mobile_covered", "flag", COVERED),
            (f"Còn thiếu / gap ({hh})", "mobile_gap_households"),
            ("5G: tỷ lệ / share", "mobile_5g_pct", "pct"),
        ])),
        _section("Theo nhà mạng / per operator", _operator_rows(props, operators)),
        _section("Số nhà mạng 4G/5G / mobile operators serving", _rows(props, [
            (f"0 ({hh})", "mobile_operators_0_households"),
            (f"1 ({hh})", "mobile_operators_1_households"),
            (f"2 ({hh})", "mobile_operators_2_households"),
            (f"3+ ({hh})", "mobile_operators_3plus_households"),
            (f"Mọi nhà mạng / all operators ({hh})", "mobile_all_operators_households"),
        ])),
        _section("Trong nhà / indoor", _rows(props, [
            (f"4G/5G trong nhà / indoor ({hh})", "mobile_indoor_households"),
            ("Tỷ lệ / share", "mobile_indoor_pct", "pct"),
        ]) if props.get("mobile_indoor_households") is not None else []),
        _section("Biên ±3 dB / ±3 dB margin", _rows(props, [
            (f"4G/5G ở −3 dB ({hh})", "mobile_households_minus3db"),
            (f"4G/5G ở +3 dB ({hh})", "mobile_households_plus3db"),
            ("Nhạy ±3 dB / sensitive", "mobile_covered_sensitive", "flag", SENSITIVE),
        ])),
        _section("Đo tốc độ / measured speeds", _measured_rows(props, measured)),
    ]  # fmt: skip
    note = "Số hộ ước tính / estimated households" if estimated else None
    return {
        "heading": "Số liệu xã / commune figures",
        "note": note,
        "sections": [s for s in sections if s is not None],
    }


# --- the plan --------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def thin_curve(
    points: Sequence[Sequence[Any]], most: int = MAX_CURVE_POINTS
) -> list[Any]:
    """At most ``most`` points of a curve, its first and last kept.

    >>> thin_curve([[i, i] for i in range(10)], 4)
    [[0.0, 0.0], [3.0, 3.0], [6.0, 6.0], [9.0, 9.0]]
    """
    clean = []
    for p in points:
        if len(p) >= 2:
            x, y = _number(p[0]), _number(p[1])
            if x is not None and y is not None:
                clean.append([round(x, 2), round(y, 1)])  # households; metres
    if len(clean) <= most:
        return clean
    step = (len(clean) - 1) / (most - 1)
    return [clean[round(i * step)] for i in range(most)]


def plan_part(plan: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The plan's figures and its marginal-cost curve, for the commune page.

    ``plan`` holds ``gap_households``, ``households_planned``, ``max_extension_m``
    (DESIGN.md "Planning endpoints") and ``curve``, ``[households connected,
    extension_m]`` in take order; None: no plan part.

    >>> part = plan_part({"gap_households": 2, "households_planned": 3,
    ...                   "max_extension_m": 40.0, "curve": [[1, 0], [3, 40]]})
    >>> part["curve"], part["gap"], [r["value"] for r in part["rows"]]
    ([[1.0, 0.0], [3.0, 40.0]], 2.0, [2, 3, 40.0])
    """
    if plan is None:
        return None
    rows = _rows(plan, [
        ("Còn thiếu / gap (hộ / households)", "gap_households"),
        ("Hộ trong kế hoạch / households planned", "households_planned"),
        ("Kéo dài xa nhất / longest extension (m)", "max_extension_m"),
        ("Hộ chưa có cáp quang / households without fibre", "households_without_fibre"),
        ("Đủ để đạt mục tiêu / gap can be closed", "reachable", "flag", YES_NO),
    ])  # fmt: skip
    curve = plan.get("curve")
    return {
        "title": "Cách rẻ nhất tới mục tiêu / cheapest way to the target (cáp quang)",
        "rows": rows,
        "curve": thin_curve(curve if isinstance(curve, list | tuple) else []),
        "gap": _number(plan.get("gap_households")),
        "x_label": "hộ được nối / households connected",
        "y_label": "mét kéo dài / extension (m)",
    }

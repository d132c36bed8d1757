"""Coverage maps: GeoDataFrames in, :class:`folium.Map` out (built, never saved or served).

Communes are coloured on a diverging scale centred on the target, so the communes that
miss it stand out in reds and those that meet it in greens. Every text placed in a map
(names, figures, titles) is HTML-escaped here; data reach the page as JSON that Jinja's
``tojson`` escapes again. Only Leaflet is needed, from URLs the caller chooses (so a
service can serve it itself and the map works with no internet).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from shapely.geometry import mapping

MAP_DECIMALS = 5  # about 1 m: enough for a screen, keeps pages small
NO_DATA = "#bdbdbd"
BELOW = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7")  # far below ... just below target
ABOVE = ("#a6dba0", "#1b7837")  # target met ... full coverage
INDICATOR_LABELS = {
    "fibre": "Cáp quang / fibre",
    "mobile": "4G/5G",
    "mobile_5g": "5G",
}


class MapAssets(NamedTuple):
    """Where the page loads Leaflet from."""

    leaflet_js: str
    leaflet_css: str


@dataclass(frozen=True)
class DivergingScale:
    """Colour classes below and above a target percentage.

    Examples
    --------
    >>> scale = DivergingScale(90.0)
    >>> scale.colour(92.0) == ABOVE[0], scale.colour(10.0) == BELOW[0]
    (True, True)
    >>> scale.colour(None) == NO_DATA
    True
    """

    target_pct: float

    def edges(self) -> list[float]:
        """Class edges: four classes below the target, up to two above it."""
        t = self.target_pct
        below = [0.0, t * 0.25, t * 0.5, t * 0.75, t]
        return below + ([(t + 100.0) / 2, 100.0] if t < 100 else [100.0])

    def colour(self, pct: float | None) -> str:
        """Fill colour of a percentage (grey when there is none)."""
        if pct is None or (isinstance(pct, float) and math.isnan(pct)):
            return NO_DATA
        if pct >= self.target_pct:
            mid = (self.target_pct + 100.0) / 2
            return ABOVE[0] if pct < mid and self.target_pct < 100 else ABOVE[-1]
        step = max(self.target_pct / 4, 1e-9)
        return BELOW[min(3, int(pct // step))]

    def classes(self) -> list[tuple[str, str]]:
        """``(label, colour)`` of every class, lowest first, then "no households"."""
        e = self.edges()
        out = [(f"{e[i]:g}–{e[i + 1]:g} %", BELOW[i]) for i in range(4)]
        if self.target_pct < 100:
            out += [(f"{e[4]:g}–{e[5]:g} %", ABOVE[0]), (f"{e[5]:g}–100 %", ABOVE[1])]
        else:
            out.append(("100 %", ABOVE[1]))
        return out + [("không có hộ / no households", NO_DATA)]


_CONTROL = Template(
    """
    {% macro script(this, kwargs) %}
    var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
    {{ this.get_name() }}.onAdd = function () {
        var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
        div.innerHTML = {{ this.content|tojson }};
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
    {% endmacro %}
    """
)
_CSS = """<style>
.geodx-box{background:rgba(255,255,255,.92);padding:6px 9px;border-radius:4px;
 box-shadow:0 1px 4px rgba(0,0,0,.35);font:12px/1.35 sans-serif;color:#222}
.geodx-box i{display:inline-block;width:14px;height:12px;margin-right:6px;
 vertical-align:-2px;border:1px solid #777}
.geodx-title{font-size:14px;font-weight:bold;max-width:60vw}
.geodx-synthetic{color:#fff;background:#c51b7d;padding:2px 6px;border-radius:3px;
 display:inline-block;margin-top:3px;font-weight:bold}
.geodx-tip td{padding:0 4px}.geodx-tip th{text-align:left;padding:0 4px}
</style>"""


class HtmlControl(MacroElement):
    """A Leaflet control holding already-escaped HTML (legend, title)."""

    _template = _CONTROL

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "HtmlControl"
        self.content = content
        self.position = position
        self.css_class = css_class


def esc(value: Any) -> str:
    """HTML-escape any value (``None`` -> an empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


def fmt_number(value: Any) -> str:
    """``12345`` -> ``12 345``; floats to at most 2 decimals; None -> ``–``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".replace(",", " ")
    return f"{int(value):,}".replace(",", " ")


def tooltip_html(rows: Iterable[tuple[str, Any]]) -> str:
    """An escaped two-column table: label, value."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="geodx-tip">{body}</table>'


def _geometry(geom: Any) -> dict[str, Any] | None:
    if geom is None or geom.is_empty:
        return None
    rounded = shapely.transform(geom, lambda xy: np.round(xy, MAP_DECIMALS))
    return dict(mapping(rounded))


def feature_collection(
    frame: gpd.GeoDataFrame, tips: Sequence[str], styles: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """GeoJSON with only what a map needs: the tooltip HTML and the style per feature."""
    feats = [
        {
            "type": "Feature",
            "geometry": _geometry(g),
            "properties": {"tip": t, "style": s},
        }
        for g, t, s in zip(frame.geometry, tips, styles, strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "features": [f for f in feats if f["geometry"]],
    }


def fill_style(
    colour: str, *, weight: float = 0.6, opacity: float = 0.78
) -> dict[str, Any]:
    """Leaflet path style of a filled polygon."""
    return {
        "fillColor": colour,
        "color": "#444",
        "weight": weight,
        "fillOpacity": opacity,
    }


def add_geojson(
    target: folium.Map | folium.FeatureGroup,
    data: dict[str, Any],
    *,
    name: str,
    show: bool,
) -> None:
    """Add a styled GeoJSON layer with escaped tooltips (skipped when empty)."""
    if not data["features"]:
        return
    tip = folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True)
    folium.GeoJson(data, name=esc(name), show=show, tooltip=tip).add_to(target)


def base_map(
    bounds: Sequence[float],
    *,
    assets: MapAssets,
    tiles_url: str | None,
    attribution: str,
) -> folium.Map:
    """An empty map fitted to ``[west, south, east, north]`` that loads only Leaflet."""
    west, south, east, north = (float(v) for v in bounds)
    m = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles=None,
        zoom_start=9,
        control_scale=True,
    )
    m.default_js = [("leaflet", assets.leaflet_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css)]
    if tiles_url:
        folium.TileLayer(
            tiles=tiles_url, attr=esc(attribution), name="Base map"
        ).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    root = m.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(Element(_CSS))
    return m


def add_title(m: folium.Map, title: str, subtitle: str, *, synthetic: bool) -> None:
    """A title box; synthetic data are labelled as such, in Vietnamese and English."""
    content = f'<div class="geodx-title">{esc(title)}</div><div>{esc(subtitle)}</div>'
    if synthetic:
        content += (
            '<div class="geodx-synthetic">DỮ LIỆU GIẢ LẬP — SYNTHETIC DATA, '
            "not real coverage</div>"
        )
    HtmlControl(content, position="topleft", css_class="geodx-box").add_to(m)


def add_legend(
    m: folium.Map,
    scale: DivergingScale,
    heading: str,
    counts: Sequence[int],
    *,
    pivot_label: str = "Mục tiêu / target",
    counted: str = "số xã / communes",
) -> None:
    """Add the colour classes, the pivot (target) and how many features each class has."""
    rows = "".join(
        f'<div><i style="background:{colour}"></i>{esc(label)} ({n})</div>'
        for (label, colour), n in zip(scale.classes(), counts, strict=True)
    )
    pivot = f"{pivot_label}: {scale.target_pct:g} %"
    content = f"<b>{esc(heading)}</b><div>{esc(pivot)}</div>{rows}"
    content += f'<div style="color:#555">({esc(counted)})</div>'
    HtmlControl(content, position="bottomright", css_class="geodx-box").add_to(m)


def check_offline(m: folium.Map, assets: MapAssets) -> None:
    """Raise if any element of the map would load a script or stylesheet elsewhere."""
    allowed = set(assets)
    for element in _walk(m.get_root()):
        for _, url in [
            *getattr(element, "default_js", []),
            *getattr(element, "default_css", []),
        ]:
            if url not in allowed:
                raise ValueError(f"map element {type(element).__name__} loads {url}")


def _walk(element: Any) -> Iterable[Any]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def pivot_label(indicator: str) -> str:
    """What the centre of the colour scale is, for ``indicator``.

    Fibre: the household target. 4G/5G: the share of households that makes a commune
    count as covered. 5G has no 2025 target, so the same share is only a reference.
    """
    if indicator == "mobile_5g":
        return "Mốc so sánh / reference (4G/5G rule)"
    if indicator == "mobile":
        return "Xã được phủ khi / commune covered at"
    return "Mục tiêu / target"


def _met_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "đạt / met" if bool(value) else "chưa đạt / not met"


def commune_tip(row: Any, indicator: str, prefix: str | None = None) -> str:
    """Tooltip of one commune for ``indicator`` (or for one layer's ``prefix``)."""
    col = prefix or indicator
    rows = [
        ("Xã / commune", row.get("commune_name")),
        ("Huyện / district", row.get("district_name")),
        ("Mã / code", row.get("commune_code")),
        ("Số hộ / households", fmt_number(row.get("households"))),
        (
            f"Hộ có {INDICATOR_LABELS.get(indicator, indicator)}",
            fmt_number(row.get(f"{col}_households")),
        ),
        ("Tỷ lệ / share", f"{fmt_number(row.get(f'{col}_pct'))} %"),
    ]
    if indicator == "fibre" and prefix is None:
        rows.append(("Mục tiêu / target", _met_text(row.get("fibre_target_met"))))
        rows.append(
            ("Còn thiếu / gap (hộ)", fmt_number(row.get("fibre_gap_households")))
        )
    elif indicator == "mobile" and prefix is None:
        rows.append(("Xã được phủ / covered", _met_text(row.get("mobile_covered"))))
    return tooltip_html(rows)


def cell_tip(row: Any, indicator: str) -> str:
    """Tooltip of one H3 cell."""
    label = INDICATOR_LABELS.get(indicator, indicator)
    return tooltip_html(
        [
            ("Ô H3 / H3 cell", row.get("h3")),
            ("Số hộ / households", fmt_number(row.get("households"))),
            (f"Hộ có {label}", fmt_number(row.get(f"{indicator}_households"))),
            ("Tỷ lệ / share", f"{fmt_number(row.get(f'{indicator}_pct'))} %"),
        ]
    )


def choropleth(
    frame: gpd.GeoDataFrame, scale: DivergingScale, column: str, tips: Sequence[str]
) -> dict[str, Any]:
    """Features coloured by ``column`` (a percentage) on ``scale``."""
    styles = [fill_style(scale.colour(v)) for v in frame[column]]
    return feature_collection(frame, tips, styles)


def class_counts(values: Iterable[Any], scale: DivergingScale) -> list[int]:
    """How many values fall in each class of ``scale`` (no-data last)."""
    colours = [c for _, c in scale.classes()]
    counts = [0] * len(colours)
    for v in values:
        counts[colours.index(scale.colour(v))] += 1
    return counts


def coverage_map(
    communes: gpd.GeoDataFrame,
    *,
    indicator: str,
    target_pct: float,
    assets: MapAssets,
    districts: gpd.GeoDataFrame | None = None,
    cells: gpd.GeoDataFrame | None = None,
    layers: Sequence[tuple[str, str]] = (),
    title: str = "",
    synthetic: bool = False,
    tiles_url: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """Communes coloured by ``<indicator>_pct`` around the target, with overlays.

    Parameters
    ----------
    communes : GeoDataFrame
        EPSG:4326, the columns of ``communes.geojson``.
    indicator : str
        ``fibre``, ``mobile`` or ``mobile_5g``.
    target_pct : float
        The percentage the colour scale diverges around.
    assets : MapAssets
        Where the page loads Leaflet from.
    districts, cells : GeoDataFrame, optional
        District outlines; H3 cells with ``h3``, ``households``, ``<indicator>_*``.
    layers : sequence of (name, prefix)
        One overlay per coverage layer, coloured by ``<prefix>_pct``.
    title, synthetic, tiles_url, attribution
        Title box, synthetic label, optional base map.

    Returns
    -------
    folium.Map
    """
    scale = DivergingScale(target_pct)
    label = INDICATOR_LABELS.get(indicator, indicator)
    m = base_map(
        communes.total_bounds,
        assets=assets,
        tiles_url=tiles_url,
        attribution=attribution,
    )
    rows = communes.to_dict("records")
    tips = [commune_tip(r, indicator) for r in rows]
    add_geojson(
        m,
        choropleth(communes, scale, f"{indicator}_pct", tips),
        name=f"Xã — {label} (%)",
        show=True,
    )
    for name, prefix in layers:
        layer_tips = [commune_tip(r, indicator, prefix) for r in rows]
        add_geojson(
            m,
            choropleth(communes, scale, f"{prefix}_pct", layer_tips),
            name=name,
            show=False,
        )
    if cells is not None and len(cells):
        cell_tips = [cell_tip(r, indicator) for r in cells.to_dict("records")]
        res = int(cells["resolution"].iloc[0]) if "resolution" in cells else ""
        add_geojson(
            m,
            choropleth(cells, scale, f"{indicator}_pct", cell_tips),
            name=f"Ô lục giác H3 / H3 hexagons (res {res})",
            show=False,
        )
    if districts is not None and len(districts):
        outline = {"color": "#111", "weight": 2.2, "fill": False, "opacity": 0.9}
        tips = [
            tooltip_html([("Huyện / district", d.get("district_name"))])
            for d in districts.to_dict("records")
        ]
        add_geojson(
            m,
            feature_collection(districts, tips, [outline] * len(districts)),
            name="Ranh giới huyện / district boundaries",
            show=True,
        )
    add_title(
        m,
        title,
        f"{label}: tỷ lệ hộ được phủ / share of households covered",
        synthetic=synthetic,
    )
    add_legend(
        m,
        scale,
        f"{label} (%)",
        class_counts(communes[f"{indicator}_pct"], scale),
        pivot_label=pivot_label(indicator),
    )
    folium.LayerControl(collapsed=False).add_to(m)
    check_offline(m, assets)
    return m


def commune_map(
    commune: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    indicator: str,
    target_pct: float,
    assets: MapAssets,
    title: str = "",
    synthetic: bool = False,
    tiles_url: str | None = None,
    attribution: str = "",
) -> folium.Map:
    """One commune's outline and its H3 cells, one overlay per indicator.

    ``cells`` holds the commune's own households per cell (``cells.parquet`` rows of
    that commune) with ``<indicator>_households`` and ``<indicator>_pct`` columns.
    """
    scale = DivergingScale(target_pct)
    bounds = (
        commune.total_bounds
        if len(cells) == 0
        else np.r_[
            np.minimum(commune.total_bounds[:2], cells.total_bounds[:2]),
            np.maximum(commune.total_bounds[2:], cells.total_bounds[2:]),
        ]
    )
    m = base_map(bounds, assets=assets, tiles_url=tiles_url, attribution=attribution)
    records = cells.to_dict("records")
    for ind, label in INDICATOR_LABELS.items():
        tips = [cell_tip(r, ind) for r in records]
        add_geojson(
            m,
            choropleth(cells, scale, f"{ind}_pct", tips),
            name=f"H3 — {label} (%)",
            show=ind == indicator,
        )
    row = commune.iloc[0].to_dict()
    outline = {"color": "#111", "weight": 3, "fill": False}
    add_geojson(
        m,
        feature_collection(commune, [commune_tip(row, indicator)], [outline]),
        name="Ranh giới xã / commune boundary",
        show=True,
    )
    label = INDICATOR_LABELS.get(indicator, indicator)
    add_title(
        m,
        title,
        f"{label}: tỷ lệ hộ được phủ theo ô H3 / share per H3 cell",
        synthetic=synthetic,
    )
    add_legend(
        m,
        scale,
        f"{label} (%)",
        class_counts(cells[f"{indicator}_pct"], scale),
        pivot_label=pivot_label(indicator),
        counted="số ô H3 / H3 cells",
    )
    folium.LayerControl(collapsed=False).add_to(m)
    check_offline(m, assets)
    return m

"""Inline SVG for printed pages: a commune's map and a trend chart, as numbers only.

Nothing here writes markup. Each function returns a frozen value whose strings are
built from numbers and constants alone (path data, colours, tick positions); the page's
constant template (``geodx/brief.html``) draws them, autoescaped. So a commune's name
can never become part of an SVG element, and the page needs no script and no tiles.

The map's projection is a local equirectangular one in metres, true to scale at the
commune's mid-latitude (under 0.1 % across a commune of a few tens of kilometres)::

    x = (lon − west) · M · cos(mid_lat),   y = (north − lat) · M,   M = 111 319.49 m/°

so ``viewBox`` is ``−pad −pad width+2·pad height+2·pad`` with ``width`` and ``height``
the commune's bounds in metres, north up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import h3
import numpy as np
import shapely

#: metres per degree of latitude (and of longitude at the equator) on the WGS84 sphere
#: of radius 6 378 137 m, as Web Mercator and H3 use it.
M_PER_DEG = 6_378_137.0 * math.pi / 180.0
#: fibre % classes of the map: lower bound of each class and its colour (ColorBrewer
#: RdYlGn, colour-blind safe in print), with 90 % — the target — a class boundary.
FIBRE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#d73027"),
    (50.0, "#fc8d59"),
    (70.0, "#fee08b"),
    (80.0, "#d9ef8b"),
    (90.0, "#91cf60"),
    (95.0, "#1a9850"),
)
NO_DATA_COLOUR = "#bdbdbd"
_NICE = (1.0, 2.0, 5.0)


def fibre_colour(pct: float | None) -> str:
    """The map colour of a cell's fibre %.

    >>> fibre_colour(89.99), fibre_colour(90.0), fibre_colour(None)
    ('#d9ef8b', '#91cf60', '#bdbdbd')
    """
    if pct is None or not math.isfinite(pct):
        return NO_DATA_COLOUR
    colour = FIBRE_CLASSES[0][1]
    for low, value in FIBRE_CLASSES:
        if pct >= low:
            colour = value
    return colour


def nice_length(limit: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``limit`` (a scale bar's length).

    >>> nice_length(3700.0), nice_length(999.0), nice_length(0.0)
    (2000.0, 500.0, 1.0)
    """
    if not limit > 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(limit))
    return max(n * power for n in _NICE if n * power <= limit)


def metres_label(length_m: float) -> str:
    """``500 m``, ``2 km``.

    >>> metres_label(500.0), metres_label(2000.0), metres_label(2500.0)
    ('500 m', '2 km', '2.5 km')
    """
    if length_m >= 1000:
        return f"{length_m / 1000:g} km"
    return f"{length_m:g} m"


@dataclass(frozen=True)
class LocalFrame:
    """The local projection of one map: degrees to metres, north up (module docstring)."""

    west: float
    north: float
    kx: float  # metres per degree of longitude
    ky: float = M_PER_DEG

    @classmethod
    def of(cls, bounds: Sequence[float]) -> LocalFrame:
        """The frame of ``(west, south, east, north)`` bounds in degrees."""
        west, south, _, north = (float(b) for b in bounds)
        mid = math.radians((south + north) / 2)
        return cls(west=west, north=north, kx=M_PER_DEG * math.cos(mid))

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates in metres of lon/lat arrays."""
        return (lon - self.west) * self.kx, (self.north - lat) * self.ky


def _ring(frame: LocalFrame, coords: np.ndarray) -> str:
    x, y = frame.xy(coords[:, 0], coords[:, 1])
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    return f"M{pts}Z"


def path_data(frame: LocalFrame, geom: shapely.Geometry) -> str:
    """SVG path data of a (multi)polygon in ``frame``: one ``M…Z`` per ring.

    Draw it with ``fill-rule="evenodd"``, so holes stay holes.
    """
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if not isinstance(poly, shapely.Polygon) or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            parts.append(_ring(frame, np.asarray(ring.coords)[:, :2]))
    return "".join(parts)


@dataclass(frozen=True)
class Cell:
    """One H3 cell of the map: its hexagon's path data and fill colour."""

    h3: str
    d: str
    fill: str


@dataclass(frozen=True)
class ScaleBar:
    """A scale bar in map units (metres): where it starts, how long, its label."""

    x: float
    y: float
    length: float
    height: float
    label: str


@dataclass(frozen=True)
class CommuneMap:
    """A commune's map: outline, cells, scale bar and north arrow, in metres."""

    view_box: str
    width: float
    height: float
    pad: float
    outline: str
    cells: tuple[Cell, ...]
    scale: ScaleBar
    arrow: str  # path data of the north arrow
    arrow_x: float
    arrow_y: float
    font: float
    stroke: float


def commune_map(
    geom: shapely.Geometry,
    cells: Iterable[tuple[str, float | None]],
) -> CommuneMap:
    """The map of one commune, its H3 cells coloured by fibre %.

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon
        The commune in WGS84 (lon, lat).
    cells : iterable of (h3, fibre_pct)
        The commune's cells and their fibre % (None: no households).

    Returns
    -------
    CommuneMap

    Examples
    --------
    >>> m = commune_map(shapely.box(108.0, 12.6, 108.02, 12.62), [])
    >>> m.view_box, m.scale.label
    ('-111.3 -111.3 2395.3 2515.8', '500 m')
    """
    west, south, east, north = geom.bounds
    frame = LocalFrame.of(geom.bounds)
    width, height = (east - west) * frame.kx, (north - south) * frame.ky
    size = max(width, height, 1.0)
    pad = round(size * 0.05, 1)
    drawn = tuple(
        Cell(h3=str(c), d=_ring(frame, _hexagon(str(c))), fill=fibre_colour(p))
        for c, p in cells
    )
    font = round(size * 0.03, 1)
    length = nice_length(width / 4 if width > 0 else size / 4)
    bar_h = round(size * 0.012, 1)
    scale = ScaleBar(x=0.0, y=round(height + pad * 0.5, 1), length=length,
                     height=bar_h, label=metres_label(length))  # fmt: skip
    ax, ay, s = round(width - font, 1), round(font * 2.2, 1), font
    arrow = f"M{ax:.1f},{ay - 2 * s:.1f}L{ax + 0.6 * s:.1f},{ay:.1f}" \
            f"L{ax:.1f},{ay - 0.5 * s:.1f}L{ax - 0.6 * s:.1f},{ay:.1f}Z"  # fmt: skip
    box = f"{-pad:.1f} {-pad:.1f} {width + 2 * pad:.1f} {height + 2 * pad + font:.1f}"
    return CommuneMap(
        view_box=box,
        width=round(width, 1),
        height=round(height, 1),
        pad=pad,
        outline=path_data(frame, geom),
        cells=drawn,
        scale=scale,
        arrow=arrow,
        arrow_x=ax,
        arrow_y=round(ay + font * 1.1, 1),
        font=font,
        stroke=round(size * 0.003, 2),
    )


def _hexagon(cell: str) -> np.ndarray:
    """The cell's boundary as an (n, 2) lon/lat array (H3 gives lat, lng)."""
    return np.asarray([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])


@dataclass(frozen=True)
class Series:
    """One line of a chart: its name key, colour, points and whether it is projected."""

    key: str
    colour: str
    points: str  # "x,y x,y …" in chart units
    dashed: bool
    dots: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Tick:
    """An axis tick: position in chart units and its label (a number or a year)."""

    at: float
    label: str


@dataclass(frozen=True)
class TrendChart:
    """A trend chart of percentages over dates, with the targets as dotted lines."""

    width: float
    height: float
    left: float
    top: float
    plot_w: float
    plot_h: float
    series: tuple[Series, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    targets: tuple[tuple[float, str], ...]  # (y, colour) of each target line


CHART_W, CHART_H = 640.0, 180.0
_MARGIN = (48.0, 12.0, 16.0, 28.0)  # left, right, top, bottom
SERIES_COLOURS = ("#1f78b4", "#6a3d9a", "#33a02c", "#ff7f00")


def _day(value: date) -> float:
    return float(value.toordinal())


def trend_chart(
    lines: Sequence[tuple[str, Sequence[tuple[date, float | None]], bool]],
    *,
    targets: Sequence[tuple[str, float]] = (),
) -> TrendChart:
    """A chart of percentage series over dates (0–100 % on the y axis).

    Parameters
    ----------
    lines : sequence of (key, [(date, pct)], dashed)
        Each series: its key (the page labels it; series of one key share a colour),
        its points oldest first (None values are skipped) and whether it is drawn
        dashed (a projection).
    targets : sequence of (key, pct)
        Horizontal dotted lines, in the colour of the series of that key.

    Returns
    -------
    TrendChart

    Examples
    --------
    >>> c = trend_chart([("f", [(date(2024, 1, 1), 50.0), (date(2025, 1, 1), 60.0)], False)],
    ...                 targets=[("f", 90.0)])
    >>> c.series[0].points, c.targets
    ('48.0,84.0 628.0,70.4', ((29.6, '#1f78b4'),))
    """
    days = [_day(d) for _, pts, _ in lines for d, _ in pts]
    lo = min(days, default=0.0)
    hi = max(days, default=1.0)
    hi = hi if hi > lo else lo + 365.0
    left, right, top, bottom = _MARGIN
    pw, ph = CHART_W - left - right, CHART_H - top - bottom

    def x(day: float) -> float:
        return round(left + (day - lo) / (hi - lo) * pw, 1)

    def y(pct: float) -> float:
        return round(top + (100.0 - min(max(pct, 0.0), 100.0)) / 100.0 * ph, 1)

    keys = list(dict.fromkeys(key for key, _, _ in lines))
    colour = {k: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, k in enumerate(keys)}
    series = []
    for key, pts, dashed in lines:
        dots = tuple((x(_day(d)), y(p)) for d, p in pts if p is not None)
        series.append(Series(key=key, colour=colour[key],
                             points=" ".join(f"{a},{b}" for a, b in dots),
                             dashed=dashed, dots=() if dashed else dots))  # fmt: skip
    first, last = date.fromordinal(int(lo)).year, date.fromordinal(int(hi)).year
    years = [yr for yr in range(first, last + 2) if lo <= _day(date(yr, 1, 1)) <= hi]
    return TrendChart(
        width=CHART_W,
        height=CHART_H,
        left=left,
        top=top,
        plot_w=pw,
        plot_h=ph,
        series=tuple(series),
        x_ticks=tuple(Tick(x(_day(date(yr, 1, 1))), str(yr)) for yr in years),
        y_ticks=tuple(Tick(y(p), f"{p:g}") for p in (0.0, 25.0, 50.0, 75.0, 100.0)),
        targets=tuple((y(pct), colour.get(k, "#b42318")) for k, pct in targets),
    )


@dataclass(frozen=True)
class CurveChart:
    """A marginal-cost curve: households connected (x) against extension metres (y)."""

    width: float
    height: float
    left: float
    top: float
    plot_w: float
    plot_h: float
    points: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]


CURVE_W, CURVE_H = 640.0, 150.0
CURVE_POINTS = 200


def _ticks(high: float, size: float, flip: bool, offset: float) -> tuple[Tick, ...]:
    step = nice_length(high / 3) if high > 0 else 1.0
    out, value = [], 0.0
    while value <= high * 1.0001:
        at = value / high * size if high > 0 else 0.0
        out.append(Tick(round(offset + (size - at if flip else at), 1), f"{value:g}"))
        value += step
    return tuple(out)


def curve_chart(curve: Sequence[Sequence[float]]) -> CurveChart:
    """The plan's curve, from (0, 0), at most :data:`CURVE_POINTS` points after it.

    ``curve`` is ``[[households_connected, extension_m], …]`` in taking order (both
    non-decreasing); a longer curve keeps every n-th point and its last one.

    >>> c = curve_chart([[1, 0.0], [3, 40.0], [4, 120.0]])
    >>> c.points
    '48.0,122.0 193.0,122.0 483.0,86.7 628.0,16.0'
    """
    pts = [(float(h), float(m)) for h, m in curve]
    if len(pts) > CURVE_POINTS:
        step = len(pts) / CURVE_POINTS
        pts = [pts[int(i * step)] for i in range(CURVE_POINTS - 1)] + [pts[-1]]
    left, right, top, bottom = _MARGIN
    pw, ph = CURVE_W - left - right, CURVE_H - top - bottom
    hx = max((h for h, _ in pts), default=1.0) or 1.0
    hy = max((m for _, m in pts), default=1.0) or 1.0
    xy = [(0.0, 0.0), *pts]
    text = " ".join(
        f"{left + h / hx * pw:.1f},{top + ph - m / hy * ph:.1f}" for h, m in xy
    )
    return CurveChart(
        width=CURVE_W,
        height=CURVE_H,
        left=left,
        top=top,
        plot_w=pw,
        plot_h=ph,
        points=text,
        x_ticks=_ticks(hx, pw, False, left),
        y_ticks=_ticks(hy, ph, True, top),
    )

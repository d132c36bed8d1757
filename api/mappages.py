"""What the map routes serve: each page's data rendered into the constant page.

The coverage map, its hexagon layer and a commune's map (with its figures, plan and the
operators' layers) are built here from the loaded results, as bytes; the routes of
:mod:`api.routes.maps` cache them and run these builds in worker threads. Assets are
linked relative to each page, so the pages work under any path prefix.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from importlib.resources import files
from typing import NamedTuple
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import FastAPI

from api import mappanel
from api.cells import cell_polygons
from api.maplayers import FOLDER, MapLayers
from api.results import RegionResults
from api.settings import Settings
from geodx.contract_figures import pct_array
from geodx.contract_names import (
    INDICATORS,
    TARGET_KEYS,
)
from geodx.mapparts import operator_layers
from geodx.maps import cells_layer_data, commune_map_data, coverage_map_data
from geodx.maptiles import tiled_coverage_map_data
from geodx.pages import MapAssets, map_page, script_json

LEAFLET_PREFIX = "/static/leaflet"
SCRIPT = (files("geodx") / "maps.js").read_bytes()
STYLESHEET = (files("geodx") / "maps.css").read_bytes()
_cells_lock = threading.Lock()
_HOST = re.compile(
    r"(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)


def _assets(up: str) -> MapAssets:
    """Assets relative to a page ``up`` below ``/maps/``: they work under any prefix.

    Behind a proxy that serves the app under a path (``GEODX_BASE_URL`` with a path),
    root-relative URLs would leave it; ``../`` ones stay inside.
    """

    def versioned(name: str, body: bytes) -> str:
        return f"{up}assets/{name}?v={hashlib.sha256(body).hexdigest()[:12]}"

    return MapAssets(
        f"{up}..{LEAFLET_PREFIX}/leaflet.js",
        f"{up}..{LEAFLET_PREFIX}/leaflet.css",
        versioned("geodx-map.js", SCRIPT),
        versioned("geodx-map.css", STYLESHEET),
    )


ASSETS = _assets("")  # pages at /maps/<page>
COMMUNE_ASSETS = _assets("../")  # pages at /maps/communes/<code>


def _target(results: RegionResults, indicator: str) -> float:
    return results.targets[TARGET_KEYS[indicator]]  # the results contract's mapping


def tiles_source(url: str | None) -> str | None:
    """The CSP source a base-map tile URL needs (its origin; ``{s}.`` as ``*.``).

    >>> tiles_source("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    'https://*.tile.example.org'
    >>> tiles_source("https://user@host/{z}") , tiles_source("javascript:alert(1)")
    ('https:', None)
    """
    if not url:
        return None
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    netloc = re.sub(r"^\{s\}\.", "*.", parts.netloc)
    return f"{scheme}://{netloc}" if _HOST.fullmatch(netloc) else f"{scheme}:"


@functools.lru_cache(maxsize=8)
def content_security_policy(tiles_url: str | None = None) -> str:
    """The CSP of every map page: this service's scripts, styles and data only."""
    pages = (map_page(ASSETS), map_page(COMMUNE_ASSETS))
    scripts = dict.fromkeys(h for page in pages for h in page.script_hashes)
    styles = dict.fromkeys(h for page in pages for h in page.style_hashes)
    images = ["'self'", "data:", *filter(None, [tiles_source(tiles_url)])]
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self'", *scripts]),
            " ".join(["style-src 'self'", *styles]),
            " ".join(["img-src", *images]),
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'self'",
        ]
    )


def _layer_overlays(results: RegionResults, indicator: str) -> list[tuple[str, str]]:
    out = []
    for layer in results.layers:
        wanted = {
            "fibre": layer.kind == "fibre",
            "mobile": layer.kind == "mobile",
            "mobile_5g": layer.technology == "5G",
        }[indicator]
        if wanted and f"layer_{layer.slug}_pct" in results.communes.columns:
            tech = layer.technology or layer.kind
            out.append(
                (
                    f"{layer.operator or '?'} — {tech} ({layer.id})",
                    f"layer_{layer.slug}",
                )
            )
    return out


def _cells_resolution(results: RegionResults, settings: Settings) -> int:
    return results.resolution_for_at_most(settings.map_max_cells)


def map_layers(app: FastAPI, results: RegionResults) -> MapLayers:
    """The app's checked index of the layers the run drew, read on first use."""
    with _cells_lock:
        found: MapLayers | None = getattr(app.state, "map_layers", None)
        if found is None or found.folder != results.folder / FOLDER:
            found = app.state.map_layers = MapLayers.read(results.folder)
        return found


def _layer_groups(
    results: RegionResults, layers: MapLayers | None, prefix: str
) -> list[dict[str, object]]:
    """The operators' layers for a page, their URLs ``prefix`` + id (relative)."""
    found = MapLayers.read(results.folder) if layers is None else layers
    return operator_layers(
        {**vars(x), "bounds": list(x.bounds), "url": x.url(prefix, results.version)}
        for x in found.layers.values()
    )


def render_coverage(
    results: RegionResults,
    settings: Settings,
    indicator: str,
    layers: MapLayers | None = None,
    assets: MapAssets = ASSETS,
) -> bytes:
    """The region's coverage map as an HTML page (its hexagons fetched on demand).

    ``assets``: for a page elsewhere than ``/maps/<page>`` (a scenario's map). A
    region of more than ``settings.map_tiles_above`` communes, at ``/maps/coverage``,
    draws its communes and hexagons from ``/tiles`` (:mod:`geodx.maptiles`).
    """
    communes = gpd.GeoDataFrame(
        results.communes, geometry=results.commune_geoms, crs=4326
    )
    districts = gpd.GeoDataFrame(
        results.districts, geometry=results.district_geoms, crs=4326
    )
    if assets is ASSETS and len(communes) > settings.map_tiles_above:
        data = tiled_coverage_map_data(
            communes,
            indicator=indicator,
            target_pct=_target(results, indicator),
            tiles="../tiles/",  # relative to the page: any path prefix
            districts=districts,
            link=("communes/", f"?indicator={indicator}"),
            title=results.name,
            synthetic=results.synthetic,
            tiles_url=settings.tiles_url,
            attribution=settings.tiles_attribution,
            operator_groups=_layer_groups(results, layers, "layers/"),
        )
        return map_page(assets).render(data)
    data = coverage_map_data(
        communes,
        indicator=indicator,
        target_pct=_target(results, indicator),
        districts=districts,
        cells_url=f"coverage/cells?indicator={indicator}",  # relative to the page
        cells_resolution=_cells_resolution(results, settings),
        layers=_layer_overlays(results, indicator),
        title=results.name,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
        link=("communes/", f"?indicator={indicator}"),  # relative to the page
        operator_groups=_layer_groups(results, layers, "layers/"),
    )
    return map_page(assets).render(data)


def render_cells(results: RegionResults, settings: Settings, indicator: str) -> bytes:
    """The hexagon layer of the coverage map, as JSON."""
    index = results.full_cells_index(_cells_resolution(results, settings))
    target = _target(results, indicator)
    data = cells_layer_data(
        index.props, index.geoms, indicator=indicator, target_pct=target
    )
    return script_json(data)


class CommuneCells(NamedTuple):
    """``cells.parquet`` indexed for commune maps: the rows of each commune."""

    results: RegionResults
    rows: dict[str, np.ndarray]

    @classmethod
    def build(cls, results: RegionResults) -> CommuneCells:
        """Index the cell table once, so that a commune's map is a slice and a dump."""
        groups = results.cells.groupby("commune_code", sort=False).indices
        return cls(results, {str(c): np.asarray(p) for c, p in groups.items()})

    def of(self, code: str) -> pd.DataFrame:
        """One commune's cell rows, with ``<indicator>_pct`` (the results contract's)."""
        own = self.results.cells.iloc[self.rows.get(code, np.asarray([], dtype=int))]
        whole = own["households"].to_numpy(dtype=float)
        return own.assign(
            **{
                f"{ind}_pct": pct_array(own[f"{ind}_households"].to_numpy(float), whole)
                for ind in INDICATORS
            }
        )


def commune_cells(app: FastAPI, results: RegionResults) -> CommuneCells:
    """The app's :class:`CommuneCells` of ``results``, built on first use."""
    with _cells_lock:
        found: CommuneCells | None = getattr(app.state, "map_commune_cells", None)
        if found is None or found.results is not results:
            found = app.state.map_commune_cells = CommuneCells.build(results)
        return found


def render_commune(
    results: RegionResults,
    settings: Settings,
    code: str,
    indicator: str,
    cells: CommuneCells | None = None,
    layers: MapLayers | None = None,
    assets: MapAssets = COMMUNE_ASSETS,
) -> bytes:
    """One commune's map with its H3 cells, figures and plan, as an HTML page."""
    row = results.commune(code)  # raises UnknownCommune -> 404
    commune = results.communes[results.communes["commune_code"].astype(str) == code]
    own = (CommuneCells.build(results) if cells is None else cells).of(code)
    title = f"{row.get('commune_name')} — {row.get('district_name') or results.name}"
    data = commune_map_data(
        commune,
        results.commune_geometry(code),
        own,
        cell_polygons(own["h3"]),
        indicator=indicator,
        target_pct=_target(results, indicator),
        title=title,
        synthetic=results.synthetic,
        tiles_url=settings.tiles_url,
        attribution=settings.tiles_attribution,
        figures=mappanel.figures(results, code),
        plan=mappanel.plan(results, code),
        home=f"../coverage?indicator={indicator}",
        operator_groups=_layer_groups(results, layers, "../layers/"),
    )
    return map_page(assets).render(data)

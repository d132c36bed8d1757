"""Map-layer files within their budgets: what a drawing knows, and its GeoJSON features.

:func:`write_features` serialises a layer's features (RFC 7946, :mod:`geodx.contract`)
a chunk at a time until the layer's :class:`DrawBudget` is filled, simplified at the
first of the doubled tolerances at which a file fits (:func:`first_fitting`); :func:`layer_file` makes every file
name from the layer's slug, never from other data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from geodx.contract_geojson import (
    collection_bytes,
    rfc7946,
    serialise,
)
from geodx.io import write_bytes
from geodx.limits import Limits
from geodx.manifest_specs import LayerSpec

if TYPE_CHECKING:
    from layers import mapimage
    from layers.sites import SiteLayer

_FILE_NAME = re.compile(r"[a-z0-9_]+(\.sites)?\.(geojson|png|tif)")
BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class DrawBudget:
    """Sizes of what a run draws (documented in docs/definitions.md)."""

    max_bytes: int = 8 * 1024**2  # one vector layer file
    max_features: int = 100_000  # features of one vector layer file
    tolerance_m: float = 5.0  # first simplification tolerance
    max_tolerance_m: float = 2_000.0
    image_max_pixels: int = 2_000_000  # one PNG
    prediction_pixel_m: float = 100.0  # a site layer's prediction raster
    prediction_max_pixels: int = 1_000_000


DEFAULT_BUDGET = DrawBudget()


@dataclass(frozen=True)
class DrawContext:
    """What drawing one layer needs: where, within what, and the budgets."""

    folder: Path
    clip: BBox
    metric_crs: CRS
    limits: Limits
    budget: DrawBudget
    members: dict[str, Any]
    # Site layer slug -> the open layer and its prediction (None: nothing in reach).
    predictions: dict[str, tuple[SiteLayer, Future[mapimage.Grid] | None]]
    # Drawn beside the run: vector layers drawn from copies of the geometries read,
    # never from the objects the run's threads test (and prepare) meanwhile.
    beside: bool = False


def layer_file(folder: Path, name: str) -> Path:
    """``folder / name`` for a slug-made name, refused unless it stays in ``folder``.

    Examples
    --------
    >>> layer_file(Path("/out/layers"), "vnpt_fibre.geojson").name
    'vnpt_fibre.geojson'
    >>> layer_file(Path("/out/layers"), "../summary.json")
    Traceback (most recent call last):
    ...
    ValueError: map layer file name '../summary.json' is not a slug file name
    """
    if not _FILE_NAME.fullmatch(name):
        raise ValueError(f"map layer file name {name!r} is not a slug file name")
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise ValueError(f"map layer file {name!r} leaves {folder}")
    return path


def feature_properties(spec: LayerSpec, n: int) -> pd.DataFrame:
    """The properties every drawn feature of ``spec`` carries, for ``n`` features."""
    return pd.DataFrame(
        {
            "layer": [spec.id] * n,
            "operator": [spec.operator] * n,
            "kind": [spec.kind] * n,
            "technology": [spec.technology] * n,
        }
    )


def inside_clip(geoms: np.ndarray, clip: BBox) -> NDArray[np.bool_]:
    """Which of ``geoms`` (WGS84) meet the box ``clip``."""
    return np.asarray(shapely.intersects(geoms, shapely.box(*clip)), dtype=bool)


def _fit(features: list[bytes], budget: DrawBudget) -> int:
    """How many of the first features fit the byte and feature budgets."""
    sizes = np.cumsum([len(f) + 1 for f in features])
    fits = int(np.searchsorted(sizes, budget.max_bytes, side="right"))
    return min(fits, budget.max_features, len(features))


def _serialise(
    geoms: np.ndarray, props: pd.DataFrame | bytes, first: int = 0
) -> tuple[np.ndarray, list[bytes]]:
    """:func:`geodx.contract_geojson.serialise`, faster for constant properties.

    When ``props`` is already JSON it is every feature's properties object (the same
    bytes, without a dict per feature). Ids count from ``first``.
    """
    if not isinstance(props, bytes):
        return serialise(geoms, props, ids=range(first, first + len(props)))
    fixed = rfc7946(geoms)
    texts = shapely.to_geojson(fixed)
    return fixed, [
        b'{"type":"Feature","id":"%d","geometry":%s,"properties":%s}'
        % (i, str(text).encode(), props)
        for i, text in enumerate(texts, first)
    ]


#: Features drawn and serialised at a time while a layer's budget is filled.
CHUNK = 4096


def _budgeted(
    draw: Callable[[slice], np.ndarray],
    n: int,
    props: pd.DataFrame | bytes,
    budget: DrawBudget,
) -> tuple[np.ndarray, list[bytes]]:
    """The first of ``n`` features (``draw(part)``: their geometries), serialised.

    A chunk at a time, stopping once the budget is overrun: :func:`_fit` of what is
    returned is :func:`_fit` of all ``n`` features serialised (a country's routes are
    not simplified and serialised whole only for most of them to be left out).
    """
    fixed: list[np.ndarray] = []
    features: list[bytes] = []
    size = 0
    for start in range(0, n, CHUNK):
        part = slice(start, min(start + CHUNK, n))
        chunk = props if isinstance(props, bytes) else props.iloc[part]
        drawn, texts = _serialise(draw(part), chunk, first=start)
        fixed.append(np.asarray(drawn, dtype=object))
        features.extend(texts)
        size += sum(len(f) + 1 for f in texts)
        if size > budget.max_bytes or len(features) > budget.max_features:
            break
    return (np.concatenate(fixed) if fixed else np.empty(0, dtype=object)), features


def tolerances(budget: DrawBudget) -> list[float]:
    """The tolerances a file is simplified at: the first, doubled up to the largest.

    >>> tolerances(DrawBudget(tolerance_m=5.0, max_tolerance_m=30.0))
    [5.0, 10.0, 20.0, 30.0]
    """
    steps = [budget.tolerance_m]
    while steps[-1] < budget.max_tolerance_m:
        steps.append(min(2 * steps[-1], budget.max_tolerance_m))
    return steps


Drawn = tuple[np.ndarray, list[bytes]]


def first_fitting(
    steps: list[float], attempt: Callable[[float], Drawn], fits: Callable[[Drawn], bool]
) -> tuple[float, Drawn]:
    """The first of ``steps`` whose ``attempt`` ``fits`` (else the last), by bisection.

    A larger tolerance draws no more, as a rule (plain Douglas-Peucker keeps a subset
    of the vertices it keeps at a smaller tolerance; the topology-preserving variant
    may keep a few more where a ring would cross itself). So once the first step is over
    the budget the last one is tried, then the steps between are halved: a country's
    polygons that fit at the 8th of 10 steps are drawn 5 times, not 8, and its routes,
    over the budget at every step, twice, not 10 times. Where the rule fails, the
    tolerance found is still one the file fits at, with the step before it over.

    >>> seen = []
    >>> def attempt(t):
    ...     seen.append(t)
    ...     return np.empty(0), [b"x"] * int(100 / t)
    >>> first_fitting([5.0, 10.0, 20.0, 40.0, 80.0], attempt, lambda d: len(d[1]) <= 6)[0]
    20.0
    >>> seen
    [5.0, 80.0, 20.0, 10.0]
    """
    got = attempt(steps[0])
    if fits(got) or len(steps) == 1:
        return steps[0], got
    last = attempt(steps[-1])
    if not fits(last):
        return steps[-1], last
    over, under = 0, len(steps) - 1  # over the budget at ``over``, within at ``under``
    while under - over > 1:
        middle = (over + under) // 2
        drawn = attempt(steps[middle])
        if fits(drawn):
            under, last = middle, drawn
        else:
            over = middle
    return steps[under], last


def write_features(
    name: str,
    geoms: np.ndarray,
    props: pd.DataFrame | bytes,
    ctx: DrawContext,
    *,
    simplify: Callable[[float, slice], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Serialise within budget; the entry's ``file``, ``bounds``, ``features``, ...."""
    n, budget = len(geoms), ctx.budget

    def attempt(tolerance: float) -> Drawn:
        def draw(part: slice) -> np.ndarray:
            return simplify(tolerance, part) if simplify else geoms[part]

        return _budgeted(draw, n, props, budget)

    steps = tolerances(budget) if simplify else [0.0]
    tolerance, (fixed, features) = first_fitting(
        steps, attempt, lambda drawn: _fit(drawn[1], budget) >= n
    )
    kept = _fit(features, budget)
    members = ctx.members | {"simplified_m": tolerance}
    data = collection_bytes(features[:kept], members=members)
    write_bytes(layer_file(ctx.folder, name), data)
    bounds = shapely.total_bounds(fixed[:kept]) if kept else None
    return {
        "file": name,
        "bounds": None if bounds is None else [round(float(v), 7) for v in bounds],
        "features": kept,
        "simplified_m": tolerance,
        "bytes": len(data),
        "simplified_more": tolerance > ctx.budget.tolerance_m,
        "truncated": kept < n,
        "features_total": n,
    }

"""The plan's one-search extension equals the rule measured feature by feature.

DESIGN.md: ``extension_m`` = max(0, min over fibre layers of (ground distance to the
layer's nearest feature - its ``service_distance_m``, 0 for polygons)). The search in
``layers.vector.nearest_extension_m`` looks again only where a farther feature with a
longer reach could need less; here the rule is written again with one ``distance`` call
per household and feature.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS

from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from layers.vector import NetworkReach, ServedArea, nearest_extension_m, warm_nearest

UTM = CRS.from_epsg(32649)


def _spec(name: str, reach: float) -> LayerSpec:
    return LayerSpec(
        id=name, kind="fibre", path=Path(f"{name}.gpkg"), service_distance_m=reach
    )


def _layers(rng: np.random.Generator) -> list[ServedArea | NetworkReach]:
    """Polygons (reach 0), lines (reach 250 m) and points (reach 400 m) in UTM."""
    cx = rng.uniform(800_000, 820_000, 6)
    cy = rng.uniform(1_400_000, 1_420_000, 6)
    areas = shapely.buffer(shapely.points(cx, cy), rng.uniform(300, 1500, 6))
    starts = rng.uniform((800_000, 1_400_000), (820_000, 1_420_000), (5, 2))
    lines = np.array(
        [
            shapely.LineString(s + np.cumsum(rng.normal(0, 800, (30, 2)), axis=0))
            for s in starts
        ],
        dtype=object,
    )
    points = shapely.points(
        rng.uniform((800_000, 1_400_000), (820_000, 1_420_000), (40, 2))
    )
    return [
        ServedArea(_spec("areas", 0), np.asarray(areas, dtype=object), UTM),
        NetworkReach(_spec("routes", 250), lines, UTM, source="lines", metric_crs=UTM),
        NetworkReach(
            _spec("splitters", 400), np.asarray(points, dtype=object), UTM,
            source="points", metric_crs=UTM,
        ),
    ]  # fmt: skip


def _rule(layers: list[ServedArea | NetworkReach], x: float, y: float) -> float:
    point = shapely.Point(x, y)
    best = np.inf
    for layer in layers:
        nearest = min(float(shapely.distance(point, g)) for g in layer.geoms)
        best = min(best, nearest - layer.reach_m)
    return max(0.0, best)


@pytest.mark.parametrize("halves_from", [20_000, 50])
def test_one_search_equals_the_rule_for_every_household(
    monkeypatch: pytest.MonkeyPatch, halves_from: int
) -> None:
    """Also when the search runs in two threads, half the households each."""
    monkeypatch.setattr("layers.vector.HALVES_FROM", halves_from)
    rng = np.random.default_rng(9)
    layers = _layers(rng)
    x = rng.uniform(795_000, 825_000, 600)
    y = rng.uniform(1_395_000, 1_425_000, 600)
    lng, lat = shapely.get_coordinates(
        shapely.points(x, y)
    ).T  # a metric CRS of their own: no transform error in the comparison
    households = HouseholdPoints(lng, lat, np.ones(len(x)), UTM)
    got = nearest_extension_m(layers, households, metric_crs=UTM)
    want = np.array([_rule(layers, a, b) for a, b in zip(x, y, strict=True)])
    assert np.array_equal(got, want)
    assert (got == 0).any() and (got > 0).any()
    # Asked again with the same layers (a partitioned run), the same numbers.
    again = nearest_extension_m(layers, households, metric_crs=UTM)
    assert np.array_equal(again, want)
    # And for a subset of the households (another partition).
    part = HouseholdPoints(lng[::7], lat[::7], np.ones(len(x[::7])), UTM)
    assert np.array_equal(nearest_extension_m(layers, part, metric_crs=UTM), want[::7])


def test_warmed_ahead_the_search_builds_nothing_and_answers_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Built before use (a run's parent before it forks), then only looked up."""
    rng = np.random.default_rng(4)
    layers = _layers(rng)
    x = rng.uniform(795_000, 825_000, 300)
    y = rng.uniform(1_395_000, 1_425_000, 300)
    households = HouseholdPoints(x, y, np.ones(len(x)), UTM)
    warm_nearest(layers, metric_crs=UTM)

    def no_new_index(*_args: object) -> None:
        raise AssertionError("an index built after warming")

    monkeypatch.setattr("geodx.nearest_joint.shapely.STRtree", no_new_index)
    monkeypatch.setattr("layers.vector.NearestFeature", no_new_index)
    got = nearest_extension_m(layers, households, metric_crs=UTM)
    want = np.array([_rule(layers, a, b) for a, b in zip(x, y, strict=True)])
    assert np.array_equal(got, want)
    monkeypatch.undo()
    # Another reach for the same pieces: joined again, measured with the new reach.
    layers[1].reach_m = 900.0
    again = nearest_extension_m(layers, households, metric_crs=UTM)
    want = np.array([_rule(layers, a, b) for a, b in zip(x, y, strict=True)])
    assert np.array_equal(again, want)


def test_the_joint_index_goes_with_its_layers() -> None:
    """A long-lived process (the service) keeps no fibre index once the layers that
    made it are dropped: the joint pieces are held for their owners, not beside them."""
    import gc

    from geodx import nearest_joint

    rng = np.random.default_rng(5)
    layers = _layers(rng)
    x = rng.uniform(795_000, 825_000, 50)
    y = rng.uniform(1_395_000, 1_425_000, 50)
    households = HouseholdPoints(x, y, np.ones(len(x)), UTM)
    got = nearest_extension_m(layers, households, metric_crs=UTM)
    assert np.isfinite(got).all()
    assert len(nearest_joint._KEPT) == 1
    del layers
    gc.collect()
    assert nearest_joint._KEPT == []

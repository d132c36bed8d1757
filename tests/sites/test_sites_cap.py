"""A cap on the prediction: exact below it, a true sector's value at or above it.

Every household where the exact best RSRP (every sector at once, the plain matrix)
is below the cap keeps its bits; at or above it the capped value is at least the cap
and at most the best; and the layer's answers, which use the cap, equal the answers
compared on the exact best.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints
from geodx.propagation import predict_rsrp
from geodx.sites_cap import answer_cap
from layers.sites import SiteLayer

from .test_sector_bounds import plain_rsrp, town


@pytest.mark.parametrize(
    ("seed", "environment", "floor", "cap"),
    [(0, "urban", -100.0, -90.0), (1, "suburban", -110.0, -95.0),
     (2, "rural", -75.0, -70.0), (3, "suburban", -108.0, None)],
)  # fmt: skip
def test_capped_values_below_the_cap_are_exact(
    seed: int, environment: str, floor: float, cap: float | None
) -> None:
    x, y, sectors = town(seed)
    # Households exactly at a sector (distance floored) and on its azimuth.
    x[:3], y[:3] = sectors.x[:3], sectors.y[:3]
    want = plain_rsrp(x, y, sectors, environment)
    if cap is None:  # a cap exactly at a household's value: a tie
        cap = float(np.sort(want[want >= floor])[300])
    got = predict_rsrp(
        x, y, sectors, environment=environment, floor_dbm=floor, cap_dbm=cap
    )
    exact = (want >= floor) & (want < cap)
    high = want >= cap
    assert exact.sum() > 100 and high.sum() > 100
    assert np.array_equal(got[exact], want[exact])
    assert np.all(got[high] >= cap) and np.all(got[high] <= want[high])
    assert np.all(got[want < floor] < floor)
    uncapped = predict_rsrp(x, y, sectors, environment=environment, floor_dbm=floor)
    assert np.any(got[high] < uncapped[high])  # the cap did skip sectors


@settings(max_examples=200, deadline=None)
@given(
    threshold=st.floats(-140.0, -40.0),
    deltas=st.lists(st.floats(-20.0, 20.0), max_size=4),
    loss=st.one_of(st.none(), st.floats(0.0, 30.0)),
)
def test_every_answer_holds_at_the_cap(
    threshold: float, deltas: list[float], loss: float | None
) -> None:
    cap = answer_cap(threshold, deltas, loss)
    for value in (cap, float(np.nextafter(cap, np.inf)), cap + 1.0):
        assert value >= threshold
        assert all(value + d >= threshold for d in deltas)
        assert loss is None or value - loss >= threshold


def test_layer_answers_equal_the_exact_comparisons(tmp_path: Path) -> None:
    x, y, sectors = town(6)
    spec = LayerSpec(
        id="sites", kind="mobile", technology="4G", path=tmp_path / "s.csv",
        min_rsrp_dbm=-100.0, model="cost231-hata", environment="urban",
        indoor_loss_db=8.0,
    )  # fmt: skip
    utm = CRS.from_epsg(32648)
    layer = SiteLayer(spec, sectors, metric_crs=utm)
    houses = HouseholdPoints(x, y, np.ones(len(x)), utm)
    want = plain_rsrp(*houses.xy(utm), sectors, "urban")
    deltas = (-3.0, 3.0)
    got = layer.answer(houses, deltas)
    assert np.array_equal(got.covered, want >= -100.0)
    for d in deltas:
        assert np.array_equal(got.shifted[d], want + d >= -100.0)
    assert got.indoor is not None
    assert np.array_equal(got.indoor, want - 8.0 >= -100.0)
    assert 100 < got.indoor.sum() < len(x) - 100

"""Invariants of the per-operator, indoor and margin views, on random layers (hypothesis).

Each layer gets a random value per household (dBm) and a threshold; covered, shifted and
indoor answers follow the adapters' comparisons. The views must hold, for any inputs:
0/1/2/3+ operators sum to households, minus3db <= covered <= plus3db, every operator's
households <= households; and they equal a per-household loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geodx.contract_views import (
    MARGIN_COLUMNS,
    OPERATOR_COUNT_COLUMNS,
)
from geodx.coverage import household_views, sum_by
from geodx.manifest_specs import LayerSpec

OPERATORS = (None, "A", "B", "C", "D")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[LayerSpec], np.ndarray, dict, np.ndarray]:
    n = draw(st.integers(1, 40))
    k = draw(st.integers(0, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    specs, values = [], {}
    for j in range(k):
        kind = draw(st.sampled_from(("fibre", "mobile")))
        loss = draw(st.sampled_from((None, 5.0))) if kind == "mobile" else None
        specs.append(
            LayerSpec(
                id=f"l{j}", kind=kind, path=Path("x"),
                operator=draw(st.sampled_from(OPERATORS)),
                technology="4G" if kind == "mobile" else None,
                min_rsrp_dbm=-100.0, indoor_loss_db=loss,
            )
        )  # fmt: skip
        values[f"l{j}"] = rng.integers(-110, -90, n).astype(float)
    weight = rng.integers(0, 4, n).astype(float)
    return specs, weight, values, rng.integers(0, 3, n)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_views_hold_their_invariants(world: tuple) -> None:
    specs, weight, values, group = world
    n = len(weight)
    covered = {s: v >= -100 for s, v in values.items()}
    shifted = {
        s: {d: v + d >= -100 for d in MARGIN_COLUMNS.values()}
        for s, v in values.items()
    }
    indoor = {
        spec.slug: values[spec.slug] - 5 >= -100
        for spec in specs
        if spec.indoor_loss_db is not None
    }
    views, _ = household_views(specs, covered, shifted, indoor, n)
    sums = sum_by(group, 3, weight, {}, {}, views)
    hh = np.bincount(group, weights=weight, minlength=3)
    parts = sum(sums.views[c] for c in OPERATOR_COUNT_COLUMNS)
    np.testing.assert_array_equal(parts, hh)
    mobile_specs = [s for s in specs if s.kind == "mobile"]
    mobile = np.zeros(n, dtype=bool)
    for s in mobile_specs:
        mobile |= covered[s.slug]
    m = np.bincount(group, weights=weight * mobile, minlength=3)
    minus = sums.views["mobile_households_minus3db"]
    plus = sums.views["mobile_households_plus3db"]
    assert np.all(minus <= m) and np.all(m <= plus)
    for name, got in sums.views.items():
        assert np.all(got <= hh), name
    _equal_a_loop(specs, covered, indoor, weight, views)


def _equal_a_loop(specs, covered, indoor, weight, views) -> None:  # type: ignore[no-untyped-def]
    """Per household, the operators that serve it, counted one at a time."""
    with_mobile = sorted(
        {s.operator for s in specs if s.operator and s.kind == "mobile"}
    )
    for i in range(len(weight)):
        served = [
            op for op in with_mobile
            if any(covered[s.slug][i] for s in specs if s.operator == op and s.kind == "mobile")
        ]  # fmt: skip
        bucket = OPERATOR_COUNT_COLUMNS[min(len(served), 3)]
        assert views[bucket][i], (i, bucket)
        if with_mobile:
            all_ops = views["mobile_all_operators_households"][i]
            assert all_ops == (len(served) == len(with_mobile))
        else:
            assert "mobile_all_operators_households" not in views
        for op in with_mobile:
            assert views[f"operator_{op.lower()}_mobile_households"][i] == (
                op in served
            )
        if indoor:
            assert views["mobile_indoor_households"][i] == any(
                v[i] for v in indoor.values()
            )
        else:
            assert "mobile_indoor_households" not in views

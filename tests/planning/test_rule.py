"""geodx.plan.take_until against a plain loop, with whole and fractional weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geodx.plan import take_until


def naive(ext: list[float], w: list[float], cells: list[str], gap: int) -> tuple:
    order = sorted(range(len(ext)), key=lambda i: (ext[i], cells[i], i))
    taken, last, n = 0.0, 0.0, 0
    for i in order:
        if taken >= gap - 1e-9 or math.isinf(ext[i]):
            break
        taken += w[i]
        last = ext[i]
        n += 1
    return taken, last, n


@pytest.mark.parametrize("seed", range(20))
def test_take_until_equals_a_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    ext = np.round(rng.uniform(0, 500, n), 0 if seed % 2 else 6)  # ties on even seeds
    ext[rng.random(n) < 0.1] = np.inf  # no network at all
    weight = rng.integers(1, 4, n).astype(float)
    if seed % 3 == 0:
        weight = np.round(rng.uniform(0.1, 3.0, n), 3)  # estimated households
    cells = np.array([f"c{int(c)}" for c in rng.integers(0, 5, n)], dtype=object)
    gap = int(rng.integers(0, int(weight.sum()) + 3))
    plan = take_until(ext, weight, cells, gap=gap)
    taken, last, points = naive(ext.tolist(), weight.tolist(), cells.tolist(), gap)
    assert plan.households_planned == pytest.approx(taken)
    assert plan.max_extension_m == last
    assert plan.points_planned == points
    finite = float(weight[np.isfinite(ext)].sum())
    assert plan.reachable == (finite >= gap)
    if plan.reachable:
        assert plan.households_planned >= gap - 1e-9
    assert plan.steps["households"].sum() == pytest.approx(taken)
    if len(plan.curve):
        assert plan.curve[-1][0] == pytest.approx(finite)

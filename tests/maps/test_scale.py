"""Colour classes of the maps: steps an official can read below the target (issue 8).

The rule, written again naively: below a target T the classes start at 0 and at
T − 40, T − 20, T − 10 (those above 0); at or above T, [T, (T + 100) / 2) and the rest
(T = 100: one class, 100 %); a value on an edge belongs to the class above it.
"""

from __future__ import annotations

import pytest

from geodx.maps import ABOVE, BELOW, NO_DATA, DivergingScale, legend


def naive_class(pct: float, target: float) -> int:
    """The class index of ``pct``: 0 the lowest."""
    starts = [0.0] + [target - s for s in (40.0, 20.0, 10.0) if target - s > 0]
    if pct < target:
        return sum(1 for edge in starts if pct >= edge) - 1
    if target < 100 and pct < (target + 100) / 2:
        return len(starts)
    return len(starts) + (1 if target < 100 else 0)


def test_68_and_89_are_told_apart_for_a_90_target() -> None:
    scale = DivergingScale(90.0)
    assert scale.colour(68.0) != scale.colour(89.0)
    labels = [label for label, _ in scale.classes()]
    assert labels == ["< 50 %", "50–70 %", "70–80 %", "80–90 %", "90–95 %",
                      "95–100 %", "không có hộ / no households"]  # fmt: skip
    assert [scale.colour(v) for v in (49.99, 50, 69.99, 70, 79.99, 80, 89.99, 90)] == [
        BELOW[0], BELOW[1], BELOW[1], BELOW[2], BELOW[2], BELOW[3], BELOW[3], ABOVE[0]
    ]  # fmt: skip


@pytest.mark.parametrize("target", [90.0, 95.0, 100.0, 50.0, 35.0, 25.0, 12.5, 5.0])
def test_every_value_is_in_the_class_of_the_naive_rule(target: float) -> None:
    scale = DivergingScale(target)
    classes = scale.classes()[:-1]  # the last is "no households"
    colours = [colour for _, colour in classes]
    assert len(set(colours)) == len(colours)
    assert colours[-1] == ABOVE[-1]
    for step in range(0, 10001):
        pct = step / 100
        assert scale.colour(pct) == colours[naive_class(pct, target)], (target, pct)
    assert scale.colour(None) == scale.colour(float("nan")) == NO_DATA
    below = [c for c in colours if c in BELOW]
    assert below == list(BELOW[len(BELOW) - len(below) :])  # lightest nearest target


def test_the_legend_documents_the_steps_and_counts_each_class() -> None:
    values = [10.0, 68.0, 89.0, 89.5, 90.0, 99.0, None]
    spec = legend(DivergingScale(90.0), "fibre", values, "số xã / communes")
    assert [n for _, _, n in spec["classes"]] == [1, 1, 0, 2, 1, 1, 1]
    assert (
        "−40, −20, −10" in spec["note"] and spec["pivot"] == "Mục tiêu / target: 90 %"
    )

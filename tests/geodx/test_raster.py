"""Raster core: the read plan decodes only blocks that hold points, within the budget."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geodx.raster import pixel_windows, signal_reaches


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 300),
    block=st.sampled_from([(1, 700), (16, 700), (256, 256), (128, 64), (7, 5)]),
    width=st.integers(1, 700),
    height=st.integers(1, 900),
    max_pixels=st.sampled_from([1, 5_000, 70_000, 10**7]),
)
@settings(max_examples=150, deadline=None)
def test_every_point_is_read_once_from_a_block_that_holds_points(
    seed: int,
    n: int,
    block: tuple[int, int],
    width: int,
    height: int,
    max_pixels: int,
) -> None:
    rng = np.random.default_rng(seed)
    bh, bw = block[0], min(block[1], width)  # a strip is at most the raster's width
    row = rng.integers(0, height, n)
    col = rng.integers(0, width, n)
    plan = pixel_windows(
        row,
        col,
        block_shape=(bh, bw),
        width=width,
        height=height,
        max_pixels=max_pixels,
    )
    seen = np.concatenate([w.points for w in plan])
    assert sorted(seen.tolist()) == list(range(n))
    holding = set(zip((row // bh).tolist(), (col // bw).tolist(), strict=True))
    for w in plan:
        p = w.points
        assert (row[p] >= w.row_off).all() and (row[p] < w.row_off + w.height).all()
        assert (col[p] >= w.col_off).all() and (col[p] < w.col_off + w.width).all()
        assert w.row_off + w.height <= height and w.col_off + w.width <= width
        assert w.row_off % bh == 0 and w.col_off % bw == 0
        assert w.height * w.width <= max(max_pixels, bh * bw)
        blocks = {
            (r, c)
            for r in range(w.row_off // bh, -(-(w.row_off + w.height) // bh))
            for c in range(w.col_off // bw, -(-(w.col_off + w.width) // bw))
        }
        assert blocks <= holding  # no block without a point is decoded


def test_points_far_apart_are_read_in_separate_small_windows() -> None:
    # The old reader read min..max column x 1024 rows: 1024 x 99,744 pixels here.
    row = np.array([5, 7, 9])
    col = np.array([10, 99_000, 99_900])
    plan = pixel_windows(
        row,
        col,
        block_shape=(256, 256),
        width=100_000,
        height=100_000,
        max_pixels=10**6,
    )
    assert [(w.row_off, w.col_off, w.height, w.width) for w in plan] == [
        (0, 0, 256, 256),
        (0, 98_816, 256, 256),
        (0, 99_840, 256, 160),
    ]


def test_whole_width_strips_are_read_together() -> None:
    row = np.array([0, 1, 2, 3, 10])
    col = np.array([0, 5, 9, 3, 3])
    plan = pixel_windows(
        row, col, block_shape=(1, 10), width=10, height=20, max_pixels=30
    )
    assert [(w.row_off, w.height, w.points.tolist()) for w in plan] == [
        (0, 3, [0, 1, 2]),
        (3, 1, [3]),
        (10, 1, [4]),
    ]


def test_signal_reaches_treats_nan_as_not_covered() -> None:
    got = signal_reaches(np.array([-105.0, -105.1, np.nan, -31.0]), min_value=-105)
    assert got.tolist() == [True, False, False, True]

"""An RSRP above which every answer of a site layer is yes, whatever the exact value.

A site layer's answers compare the predicted RSRP with the threshold, shifted by each
margin and by the indoor loss; :func:`geodx.propagation.predict_rsrp` need not find
the exact best RSRP where it is at least :func:`answer_cap` (any sector's value there
gives the same answers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def answer_cap(
    threshold: float, deltas_db: Sequence[float], loss_db: float | None
) -> float:
    """An RSRP at and above which every answer of ``SiteLayer.answer`` is yes.

    Each answer is a comparison of a float sum that rounding keeps monotone in the
    RSRP (``rsrp + d`` and ``rsrp - loss`` never decrease as ``rsrp`` grows), so one
    value where all of them hold makes every value above it hold them too: any RSRP
    at least the cap gives the answers of the exact best. The candidate
    ``threshold - d`` (or ``+ loss``) is checked with the answers' own expressions and
    moved up one float at a time until they hold.

    >>> answer_cap(-105.0, [-3.0, 3.0], 10.0)
    -95.0
    >>> answer_cap(-105.0, [], None)
    -105.0
    """
    shifts = [0.0, *deltas_db]
    cap = max([threshold - d for d in shifts] + [threshold + (loss_db or 0.0)])

    def holds(value: float) -> bool:
        indoor = loss_db is None or value - loss_db >= threshold
        return indoor and all(value + d >= threshold for d in shifts)

    for _ in range(64):  # a few floats up at most for finite numbers
        if holds(cap):
            return cap
        cap = float(np.nextafter(cap, np.inf))
    raise ValueError(f"no cap for threshold {threshold}, deltas {deltas_db}")

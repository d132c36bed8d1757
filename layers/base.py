"""The protocol every coverage layer follows, and the answers a run asks of a layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from geodx.manifest_specs import LayerSpec
from geodx.points import HouseholdPoints


class CoverageLayer(Protocol):
    """A coverage source that answers, per household, "covered or not"."""

    spec: LayerSpec
    source: str  # "polygons", "lines", "points", "raster" or "sites"

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household is covered by this layer."""
        ...


@dataclass(frozen=True)
class LayerAnswer:
    """One layer's answers per household.

    ``shifted[delta]``: covered when every value is ``delta`` dB higher
    (``value + delta >= min_rsrp_dbm``); ``indoor``: ``value - indoor_loss_db >=
    min_rsrp_dbm``, ``None`` for a layer without ``indoor_loss_db``.
    """

    covered: NDArray[np.bool_]
    shifted: dict[float, NDArray[np.bool_]]
    indoor: NDArray[np.bool_] | None = None


@runtime_checkable
class ThresholdLayer(Protocol):
    """A layer with a threshold (rasters, sites): values computed once, compared often."""

    def answer(
        self, households: HouseholdPoints, deltas_db: Sequence[float]
    ) -> LayerAnswer:
        """Covered at the threshold, with every value shifted by each delta, indoors."""
        ...


def answer(
    layer: CoverageLayer, households: HouseholdPoints, deltas_db: Sequence[float]
) -> LayerAnswer:
    """A layer's answers; a layer without a threshold answers the same at every delta."""
    if isinstance(layer, ThresholdLayer):
        return layer.answer(households, deltas_db)
    covered = layer.covers(households)
    return LayerAnswer(covered, dict.fromkeys(deltas_db, covered))

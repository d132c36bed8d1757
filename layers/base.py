"""The protocol every coverage layer follows."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from geodx.manifest import LayerSpec
from geodx.points import HouseholdPoints


class CoverageLayer(Protocol):
    """A coverage source that answers, per household, "covered or not"."""

    spec: LayerSpec
    source: str  # "polygons", "lines", "points" or "raster"

    def covers(self, households: HouseholdPoints) -> NDArray[np.bool_]:
        """Return whether each household is covered by this layer."""
        ...

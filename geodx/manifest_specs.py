"""The region manifest's values: the specs a parsed ``region.toml`` is made of.

Defaults and ranges of the manifest's keys live here beside the frozen dataclasses
they fill; :mod:`geodx.manifest` parses a document into them (and re-exports them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SERVICE_DISTANCE_M = 250.0
DEFAULT_MIN_RSRP_DBM = -105.0
# 3GPP TS 36.133 reports RSRP from -156 dBm to -31 dBm.
RSRP_RANGE_DBM = (-156.0, -31.0)
MAX_SERVICE_DISTANCE_M = 50_000.0

KINDS = ("fibre", "mobile", "measured")
# Measured speeds (Ookla open tiles): a household counts at or above the speed when its
# zoom-16 tile has at least DEFAULT_MIN_TESTS tests averaging DEFAULT_MIN_DOWNLOAD_MBPS.
DEFAULT_MIN_DOWNLOAD_MBPS = 10.0
DEFAULT_MIN_TESTS = 3
MAX_MIN_TESTS = 1_000_000
MODELS = ("cost231-hata",)
ENVIRONMENTS = ("urban", "suburban", "rural")
MAX_INDOOR_LOSS_DB = 60.0
TECHNOLOGIES = ("4G", "5G")


@dataclass(frozen=True)
class CommunesSpec:
    """Where the communes are and which columns hold their codes and names."""

    path: Path
    code: str = "commune_code"
    name: str = "commune_name"
    district_code: str = "district_code"
    district_name: str = "district_name"
    # Whether the district columns were named explicitly (then they must exist).
    districts_required: bool = False
    layer: str | None = None


@dataclass(frozen=True)
class HouseholdsSpec:
    """Where the households are: a point vector file, or a table with lon/lat columns."""

    path: Path
    lon: str = "lon"
    lat: str = "lat"
    weight: str | None = None
    layer: str | None = None


@dataclass(frozen=True)
class CountsSpec:
    """Households as counts per commune, spread over a density raster or buildings."""

    counts: Path
    code: str = "commune_code"
    households: str = "households"
    spread: Path | None = None
    vintage: str | None = None
    layer: str | None = None

    @property
    def path(self) -> Path:
        """The counts table (what the run checksums as its households input)."""
        return self.counts


@dataclass(frozen=True)
class LayerSpec:
    """One coverage layer of the manifest."""

    id: str
    kind: str
    path: Path
    operator: str | None = None
    technology: str | None = None
    service_distance_m: float = DEFAULT_SERVICE_DISTANCE_M
    min_rsrp_dbm: float = DEFAULT_MIN_RSRP_DBM
    band: int = 1
    layer: str | None = None
    # Predicted from a sector list (DESIGN.md "Mobile coverage predicted from sites").
    model: str | None = None
    environment: str | None = None
    indoor_loss_db: float | None = None
    # Measured speeds (``kind = "measured"``): None on other kinds.
    min_download_mbps: float | None = None
    min_tests: int | None = None

    @property
    def slug(self) -> str:
        """The id as a column-name fragment: ``vnpt-fibre`` -> ``vnpt_fibre``."""
        return slugify(self.id)


@dataclass(frozen=True)
class Targets:
    """The targets, as percentages 0-100."""

    fibre_household_pct: float = 90.0
    mobile_commune_pct: float = 100.0
    mobile_commune_household_pct: float = 95.0


@dataclass(frozen=True)
class Manifest:
    """A parsed and validated region manifest."""

    path: Path
    name: str
    h3_resolution: int
    communes: CommunesSpec
    households: HouseholdsSpec | CountsSpec
    layers: tuple[LayerSpec, ...]
    targets: Targets = field(default_factory=Targets)
    # ``kind = "measured"`` layers: kept apart, so no coverage figure reads them.
    measured: tuple[LayerSpec, ...] = ()
    synthetic: bool = False
    source: str | None = None

    @property
    def root(self) -> Path:
        """The folder relative paths resolve against."""
        return self.path.parent


def slugify(text: str) -> str:
    """Lower-case ``text`` and replace every character outside ``[a-z0-9]`` by ``_``.

    Examples
    --------
    >>> slugify("VNPT-Fibre 1")
    'vnpt_fibre_1'
    """
    return re.sub(r"[^a-z0-9]", "_", text.lower())

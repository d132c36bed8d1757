"""Counts spread on the real 2025 Đắk Lắk boundaries (``../shared/data``; skipped without)."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import CRS
from rasterio.transform import from_origin

from geodx.counts import estimate_households
from geodx.io import read_communes
from geodx.limits import DEFAULT_LIMITS
from geodx.manifest_specs import (
    CommunesSpec,
    CountsSpec,
)

BOUNDARIES = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "daklak_communes_2025.parquet"
)
pytestmark = pytest.mark.skipif(
    not BOUNDARIES.is_file(), reason="../shared/data is not here"
)


def test_every_real_commune_gets_exactly_its_count(tmp_path: Path) -> None:
    frame = gpd.read_parquet(BOUNDARIES)
    # Counts from the 2025 merger portal's population (about 4 people a household).
    counts = pd.DataFrame(
        {
            "commune_code": frame["ward_code"],
            "households": (frame["population"] / 4).round(),
        }
    )
    counts.to_csv(tmp_path / "counts.csv", index=False)
    spec = CommunesSpec(BOUNDARIES, code="ward_code", name="ward_name")
    communes = read_communes(spec)
    utm = CRS(gpd.GeoSeries(communes.geometry).estimate_utm_crs())
    west, south, east, north = communes.to_crs(utm).total_bounds
    width, height = int((east - west) // 500) + 1, int((north - south) // 500) + 1
    rng = np.random.default_rng(0)
    values = rng.gamma(0.3, 10, size=(height, width)).astype("float32")
    with warnings.catch_warnings():  # affine 3 and rasterio's own `*`
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        transform = from_origin(west, north, 500, 500)
    tif = tmp_path / "pop.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=width, height=height, count=1,
        dtype="float32", crs=utm, transform=transform, nodata=-1,
    ) as dst:  # fmt: skip
        dst.write(values, 1)
    expected = counts.set_index("commune_code")["households"]
    expected = expected.reindex(communes["commune_code"]).to_numpy()
    for spread in (None, tif):
        got, matched = estimate_households(
            CountsSpec(tmp_path / "counts.csv", spread=spread),
            communes,
            utm=utm,
            limits=DEFAULT_LIMITS,
        )
        sums = np.bincount(got.commune, weights=got.points.weight, minlength=102)
        assert len(communes) == 102 and (sums > 0).all()
        np.testing.assert_allclose(sums, expected, rtol=1e-12)
        assert matched.not_placed == 0 and matched.not_placed_codes == ()
        assert got.fallback.all() if spread is None else not got.fallback.any()

"""``/lookup`` equals the per-household brute force (tests/planning/region.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from app.live import LiveRegion
from tests.planning.region import (
    REACH,
    SIDE,
    SOUTH,
    UTM,
    WEST,
    Region,
    answers,
    utm,
)

TO_WGS84 = Transformer.from_crs(UTM, 4326, always_xy=True)


def _points(region: Region) -> list[tuple[float, float]]:
    rng = np.random.default_rng(11)
    random = list(
        zip(
            rng.uniform(WEST - 0.02, WEST + 2 * SIDE + 0.02, 120).tolist(),
            rng.uniform(SOUTH - 0.02, SOUTH + 2 * SIDE + 0.02, 120).tolist(),
            strict=True,
        )
    )
    # Literal decimals: the files hold these coordinates exactly as written.
    edges = [
        (108.04, 12.613),  # A01 | A02 shared edge -> A01
        (108.0171, 12.64),  # A01 / B01 -> A01
        (108.04, 12.64),  # the corner of all four -> A01
        (108.065, 12.64),  # A02 / B02 edge inside C01 -> A02
        (108.0651, 12.645),  # inside C01 and B02 -> B02
        (108.08, 12.67),  # the region's east edge -> B02
        (108.005, 12.61),  # a fibre polygon's edge: covered
        (108.06, 12.67),  # the end of a fibre route: distance 0
        (109.5, 14.0),  # far outside the region's bounds
    ]
    return random + edges + _at_reach(region)


def _at_reach(region: Region) -> list[tuple[float, float]]:
    """Points about the service distance from a fibre point, each side of it."""
    out = []
    centre = utm(region.points[0])
    for offset in (-1e-6, 0.0, 1e-6, -0.5, 0.5):
        r = REACH["points"] + offset
        x, y = TO_WGS84.transform(centre.x + r, centre.y)
        out.append((float(x), float(y)))
    return out


def test_lookup_equals_the_brute_force(client: TestClient, region: Region) -> None:
    for lon, lat in _points(region):
        got = client.get("/lookup", params={"lon": repr(lon), "lat": repr(lat)})
        assert got.status_code == 200, got.text
        body = got.json()
        want = answers(region, lon, lat)
        where = f"at {lon!r}, {lat!r}"
        for key in ("commune_code", "h3", "fibre", "mobile", "mobile_5g", "layers"):
            assert body[key] == want[key], f"{key} {where}"
        assert body["synthetic"] is False
        dist = {n["layer"]: n["distance_m"] for n in body["fibre_networks"]}
        for name, metres in want["distances"].items():
            assert dist[name] == pytest.approx(metres, abs=1e-6), f"{name} {where}"
        nearest = body["nearest_fibre"]
        assert nearest["distance_m"] == pytest.approx(min(want["distances"].values()))
        assert nearest["operator"] in {"VNPT", "Viettel"}


def test_the_points_at_the_reach_are_on_both_sides(region: Region) -> None:
    got = [
        answers(region, lon, lat)["layers"]["splitters"]
        for lon, lat in _at_reach(region)
    ]
    assert got[-2] and not got[-1]  # the brute force sees both sides


def test_the_commune_name_and_bounds(client: TestClient) -> None:
    inside = client.get("/lookup", params={"lon": WEST + 0.01, "lat": SOUTH + 0.01})
    assert inside.json()["commune_name"] == "Xã A01 ’<{"
    assert inside.json()["in_region_bounds"] is True
    far = client.get("/lookup", params={"lon": -70.5, "lat": -33.4}).json()
    assert far["commune_code"] is None and far["in_region_bounds"] is False
    assert far["fibre"] is False and not any(far["layers"].values())


@pytest.mark.parametrize(
    "params",
    [
        {"lon": "200", "lat": "12.6"},
        {"lon": "108", "lat": "-91"},
        {"lon": "nan", "lat": "12.6"},
        {"lon": "inf", "lat": "12.6"},
        {"lon": "abc", "lat": "12.6"},
        {"lat": "12.6"},
    ],
)
def test_bad_points_are_422(client: TestClient, params: dict[str, str]) -> None:
    got = client.get("/lookup", params=params)
    assert got.status_code == 422, got.text
    assert "lon" in got.json()["detail"] or "lat" in got.json()["detail"]


def test_the_live_region_refuses_bad_points(region: Region) -> None:
    live = LiveRegion.open(region.folder)
    for lon, lat in ((math.nan, 12.0), (108.0, math.inf), (181.0, 0.0)):
        with pytest.raises(ValueError, match="expected"):
            live.lookup(lon, lat)
    assert live.lookup(WEST + 0.01, SOUTH + 0.01)["commune_code"] == "A01"
    assert shapely.Point(0, 0).is_valid

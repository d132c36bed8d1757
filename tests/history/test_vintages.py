"""The demo's earlier vintage: the same region with less network, and a manifest geodx reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from data.synthetic import build_synthetic_region
from data.vintages import BUILT_SHARE, EARLIER_NAME, NOT_YET, write_earlier
from geodx.io import read_vector
from geodx.manifest import load_manifest


def test_region_2024_has_fewer_and_shorter_networks(tmp_path: Path) -> None:
    manifest = build_synthetic_region(tmp_path / "demo", seed=5, households=200)
    assert write_earlier(manifest) == manifest
    later, earlier = (
        load_manifest(manifest),
        load_manifest(manifest.parent / EARLIER_NAME),
    )
    kept = [layer.id for layer in later.layers
            if layer.technology != "5G" and layer.id not in NOT_YET]  # fmt: skip
    assert [layer.id for layer in earlier.layers] == kept
    assert len(kept) < len(later.layers)
    assert earlier.communes == later.communes and earlier.households == later.households
    assert [m.id for m in earlier.measured] == [m.id for m in later.measured]
    routes = {s.id: s.path for s in later.layers}["viettel-fibre-routes"]
    short = {s.id: s.path for s in earlier.layers}["viettel-fibre-routes"]
    assert short != routes and short.parent == routes.parent
    full, cut = (read_vector(p, role="routes").geometry for p in (routes, short))
    assert len(cut) == len(full)
    # FlatGeobuf keeps its features in its spatial index's order: compare sorted lengths
    lengths = sorted(shapely.length(full.values) * BUILT_SHARE)
    assert sorted(shapely.length(cut.values)) == pytest.approx(lengths)
    starts = [sorted(map(tuple, shapely.get_coordinates(shapely.get_point(g.values, 0))))
              for g in (full, cut)]  # fmt: skip
    assert starts[0] == starts[1]  # each route cut from its own start

"""index.json: one entry per manifest layer, in order, with the contract's keys."""

from __future__ import annotations

from geodx.contract_names import (
    MAP_ENTRY_KEYS,
    MAP_INDEX_FORMAT,
    MAP_LAYER_TYPES,
)
from layers.mapdraw import grown_bounds

from .conftest import Drawn

SOURCES = {
    "vnpt-fibre": ("vector", "polygons"),
    "viettel-fibre": ("vector", "polygons"),
    "vnpt-4g": ("image", "raster"),
    "viettel-4g": ("image", "sites"),
    "mobi-5g": ("vector", "polygons"),
    "misc-4g": ("vector", "polygons"),
}


def test_one_entry_per_layer_in_manifest_order(drawn: Drawn) -> None:
    index = drawn.index
    assert index["format"] == MAP_INDEX_FORMAT
    assert index["synthetic"] is False and index["households_estimated"] is False
    specs = drawn.manifest.layers + drawn.manifest.measured
    assert [e["id"] for e in index["layers"]] == [s.id for s in specs]
    for entry, spec in zip(index["layers"], specs, strict=True):
        assert set(MAP_ENTRY_KEYS) <= set(entry)
        assert entry["type"] in MAP_LAYER_TYPES
        assert (entry["kind"], entry["operator"], entry["technology"]) == (
            spec.kind,
            spec.operator,
            spec.technology,
        )
        assert entry["model"] == spec.model
        assert (entry["type"], entry["source"]) == SOURCES[spec.id]
        assert entry["file"] is not None and drawn.path(entry["file"]).is_file()


def test_bounds_lie_within_the_grown_region(drawn: Drawn) -> None:
    west, south, east, north = grown_bounds(drawn.bounds)
    assert drawn.index["region_bounds"] == list(drawn.bounds)
    assert drawn.index["drawn_within"] == [west, south, east, north]
    for entry in drawn.index["layers"]:
        w, s, e, n = entry["bounds"]
        assert west - 1e-9 <= w < e <= east + 1e-9, entry["id"]
        assert south - 1e-9 <= s < n <= north + 1e-9, entry["id"]


def test_image_entries_carry_a_legend_around_the_threshold(drawn: Drawn) -> None:
    for layer_id, threshold in (("vnpt-4g", -105.0), ("viettel-4g", -110.0)):
        legend = drawn.entry(layer_id)["legend"]
        assert legend["threshold_dbm"] == threshold
        lows = [c["min_dbm"] for c in legend["classes"]]
        assert lows == [threshold - 10, threshold, threshold + 10, threshold + 20]
    sites = drawn.entry("viettel-4g")
    assert sites["features"] == len(drawn.sectors) == sites["sites"]["features"]
    assert drawn.path(sites["sites"]["file"]).is_file()
    assert drawn.path(sites["raster"]["file"]).is_file()

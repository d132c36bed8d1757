"""The results contract's names: output files, columns, target keys, notes and limits.

What :mod:`geodx.outputs` writes and ``api/`` reads is named here once (see
:mod:`geodx.contract`, which re-exports every name).
"""

from __future__ import annotations

from dataclasses import asdict

from geodx.manifest_specs import Targets

# --- files and columns ------------------------------------------------------------
COMMUNES_FILE = "communes.geojson"
DISTRICTS_FILE = "districts.geojson"
SUMMARY_FILE = "summary.json"
CELLS_FILE = "cells.parquet"
OUTPUT_FILES = (COMMUNES_FILE, DISTRICTS_FILE, SUMMARY_FILE, CELLS_FILE)
# The cheapest way to the target (DESIGN.md "Planning endpoints"): one row per
# household point without fibre, with the fibre extension it needs.
PLAN_FILE = "plan.parquet"
EXTENSION_COL = "extension_m"
PLAN_COLUMNS = ("commune_code", "h3", "households", EXTENSION_COL)
# H3 pyramid (issue 9): the cell totals (``cell_totals``) rolled up to every resolution
# from PYRAMID_MIN_RESOLUTION to the region's, one file per level (``pyramid_file``).
PYRAMID_DIR = "pyramid"
PYRAMID_MIN_RESOLUTION = 5

H3_COL = "h3"
COUNT_SUFFIX = "_households"
INDICATORS = ("fibre", "mobile", "mobile_5g")
GAP_INDICATORS = ("fibre", "mobile")
ID_COLUMNS = ("commune_code", "commune_name", "district_code", "district_name")
COMMUNE_COLUMNS = (
    *ID_COLUMNS,
    "households",
    "fibre_households",
    "fibre_pct",
    "fibre_target_met",
    "fibre_gap_households",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
    "mobile_covered",
)
DISTRICT_COLUMNS = ("district_code",)  # what a reader needs; the rest as communes
SUMMARY_KEYS = (
    "households",
    "unassigned_households",
    "fibre_households",
    "fibre_pct",
    "fibre_target_met",
    "fibre_gap_households",
    "mobile_pct",
    "mobile_5g_pct",
    "communes",
    "communes_with_households",
    "communes_mobile_covered",
    "mobile_commune_pct",
    "mobile_target_met",
    "targets",
    "definitions",
    "inputs",
)
CELL_COLUMNS = (
    H3_COL,
    "commune_code",
    "households",
    "fibre_households",
    "mobile_households",
    "mobile_5g_households",
)
# Per indicator with a commune target: its target key, its flag and its gap column.
# (mobile_5g maps are drawn against the 4G/5G commune threshold too.)
TARGET_KEYS = {
    "fibre": "fibre_household_pct",
    "mobile": "mobile_commune_household_pct",
    "mobile_5g": "mobile_commune_household_pct",
}
MET_COLUMNS = {"fibre": "fibre_target_met", "mobile": "mobile_covered"}
GAP_COLUMNS = {"fibre": "fibre_gap_households", "mobile": "mobile_gap_households"}
DEFAULT_TARGETS: dict[str, float] = {k: float(v) for k, v in asdict(Targets()).items()}
SYNTHETIC_NOTE = "Dữ liệu giả lập — synthetic data, not real coverage"
# Households from counts (DESIGN.md): a top-level member of every GeoJSON a run
# writes, and summary.json keys beside it.
ESTIMATED_MEMBER = "households_estimated"
ESTIMATED_NOTE = "Số hộ ước tính từ số liệu thống kê — household figures are estimates spread from counts"
ESTIMATE_KEYS = (
    ESTIMATED_MEMBER,
    "households_method",
    "households_vintage",
    "households_not_placed",
    "households_not_placed_codes",
)
PCT_DECIMALS = 4
DECIMALS = 7  # GeoJSON coordinates: about 1 cm
# What a run draws for the maps (issue 8 item 6): DIR/layers/index.json lists one entry
# per layer (these keys, more for some types), each drawn as DIR/layers/<slug>.<ext>.
MAP_LAYERS_DIR = "layers"
MAP_INDEX_FILE = "index.json"
MAP_INDEX_FORMAT = 1
MAP_LAYER_TYPES = ("vector", "image")
MAP_ENTRY_KEYS = (
    "id",
    "kind",
    "operator",
    "technology",
    "model",
    "type",
    "file",
    "bounds",
    "features",
    "simplified_m",
)

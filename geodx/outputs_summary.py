"""``summary.json`` of a run: the region's totals, targets, layers and definitions.

Also the sums regrouped over communes (a district, the province) and the commune
counts both the summary and ``districts.geojson`` carry (:mod:`geodx.outputs`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from geodx.contract import input_path, public_inputs
from geodx.contract_figures import count, pct, target_met
from geodx.contract_geojson import clean
from geodx.contract_views import (
    MEASURED_DEFINITIONS,
    SENSITIVE_COLUMN,
    SENSITIVE_COUNT,
    VIEW_DEFINITIONS,
    indoor_layer_column,
)
from geodx.coverage import IndicatorSums, coverage_properties, operator_layers
from geodx.manifest_specs import LayerSpec, Manifest, slugify
from geodx.partition import RunSums, overlap_total


def regroup(
    sums: IndicatorSums, rows: np.ndarray, group: np.ndarray, n: int
) -> IndicatorSums:
    """The sums of ``rows`` added up into ``n`` groups (``group``: each row's)."""

    def agg(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values[rows], minlength=n)

    return IndicatorSums(
        households=agg(sums.households),
        indicators={k: agg(v) for k, v in sums.indicators.items()},
        layers={k: agg(v) for k, v in sums.layers.items()},
        views={k: agg(v) for k, v in sums.views.items()},
    )


def commune_counts(members: pd.DataFrame, manifest: Manifest) -> dict[str, Any]:
    """The communes of a group (``members``' rows): with households, mobile covered."""
    with_hh = int((members["households"] > 0).sum())
    covered = int((members["mobile_covered"] == True).sum())  # noqa: E712 - nullable
    margin: dict[str, Any] = {}
    if SENSITIVE_COLUMN in members:
        flips = members[SENSITIVE_COLUMN] == True  # noqa: E712 - nullable
        margin[SENSITIVE_COUNT] = int(flips.sum())
    return {
        "communes": len(members),
        "communes_with_households": with_hh,
        "communes_mobile_covered": covered,
        "mobile_commune_pct": pct(covered, with_hh),
        "mobile_target_met": target_met(
            covered, with_hh, manifest.targets.mobile_commune_pct
        ),
        **margin,
    }


def summarise(
    manifest: Manifest,
    table: pd.DataFrame,
    sums: IndicatorSums,
    run: RunSums,
    *,
    inputs: list[dict[str, Any]],
    engine: str,
) -> dict[str, Any]:
    """The region's totals, targets, definitions and input checksums."""
    targets = manifest.targets
    integral = run.integral
    # The province is one group: the sums over its communes (index 0 is unassigned).
    province = regroup(sums, np.arange(1, len(sums.households)), np.zeros(
        len(sums.households) - 1, dtype=np.int64), 1)  # fmt: skip
    hh = float(province.households[0])
    figures = coverage_properties(
        province, 0, targets, integral=integral, layer_slugs=[], columns=run.columns
    )
    counts = commune_counts(table, manifest)
    overlap = overlap_total(run.rows)
    summary: dict[str, Any] = {
        "region": manifest.name,
        "synthetic": manifest.synthetic,
        "source": manifest.source,
        "h3_resolution": manifest.h3_resolution,
        "households": figures.pop("households"),
        "unassigned_households": count(float(sums.households[0]), integral),
        "overlap_households": count(overlap, integral),
        "household_points": run.rows.points,
        **figures,
        **counts,
        "counts_exact": integral,
        "targets": asdict(targets),
        "layers": _layer_summaries(manifest, sums, hh, integral, run.sources),
        "operators": _operator_summaries(manifest),
        "definitions": definitions(manifest),
        "inputs": public_inputs(inputs, manifest.root),
        "engine_version": engine,
    }
    return {k: clean(v) for k, v in summary.items()}


def _layer_summaries(
    manifest: Manifest,
    sums: IndicatorSums,
    hh: float,
    integral: bool,
    sources: dict[str, str],
) -> list[dict[str, Any]]:
    out = []
    for spec in manifest.layers:
        covered = float(sums.layers[spec.slug][1:].sum())
        out.append(
            {
                "id": spec.id,
                "slug": spec.slug,
                "kind": spec.kind,
                "technology": spec.technology,
                "operator": spec.operator,
                "source": sources[spec.slug],
                "service_distance_m": spec.service_distance_m
                if sources[spec.slug] in {"lines", "points"}
                else None,
                "min_rsrp_dbm": spec.min_rsrp_dbm
                if sources[spec.slug] in {"raster", "sites"}
                else None,
                **_model_fields(spec, sources[spec.slug]),
                "households": count(covered, integral),
                "pct": pct(covered, hh),
                **_indoor_fields(spec, sums, integral),
            }
        )
    return out


def _indoor_fields(
    spec: LayerSpec, sums: IndicatorSums, integral: bool
) -> dict[str, Any]:
    """A layer's indoor households (its ``indoor_loss_db``), else nothing."""
    column = indoor_layer_column(spec.slug)
    if column not in sums.views:
        return {}
    indoor = count(float(sums.views[column][1:].sum()), integral)
    return {"indoor_loss_db": spec.indoor_loss_db, "indoor_households": indoor}


def _operator_summaries(manifest: Manifest) -> list[dict[str, Any]]:
    """Each operator's name, column slug and layer ids by kind."""
    out = []
    for slug, kinds in operator_layers(manifest.layers).items():
        name = next(
            s.operator
            for s in manifest.layers
            if s.operator and slugify(s.operator) == slug
        )
        ids = {
            k: [s.id for s in manifest.layers if s.slug in v] for k, v in kinds.items()
        }
        out.append({"operator": name, "slug": slug, "layers": ids})
    return out


def _model_fields(spec: LayerSpec, source: str) -> dict[str, Any]:
    """The prediction model of a layer predicted from sites (DESIGN.md), else nothing."""
    if source != "sites":
        return {}
    return {
        "model": spec.model,
        "environment": spec.environment,
        "indoor_loss_db": spec.indoor_loss_db,
    }


def definitions(manifest: Manifest) -> dict[str, Any]:
    """The rules behind every figure, written next to the results."""
    t = manifest.targets
    return {
        "household_commune": "commune polygon covers the point (boundary included), in the "
        "communes file's CRS; several -> smallest commune_code, counted in overlap_households",
        "fibre_covered": "inside any fibre polygon, or within service_distance_m of any fibre "
        "line or point (GEOS dwithin, metres in the layer's projected CRS or the region's UTM zone)",
        "mobile_covered_household": "covered by at least one 4G or 5G layer; raster: the pixel "
        "containing the household is valid and >= min_rsrp_dbm",
        "mobile_5g_covered_household": "covered by at least one 5G layer",
        "commune_mobile_covered": f"mobile_pct >= {t.mobile_commune_household_pct}",
        "fibre_gap_households": f"ceil(max(0, {t.fibre_household_pct}% x households - "
        "fibre_households)), exact; 0 exactly when fibre_target_met",
        "mobile_gap_households": f"ceil(max(0, {t.mobile_commune_household_pct}% x "
        "households - mobile_households)), exact; 0 exactly when mobile_covered",
        "mobile_commune_pct": "communes_mobile_covered / communes_with_households x 100",
        "households": "households assigned to a commune; unassigned_households are outside every commune",
        "pct_decimals": 4,
        "h3_resolution": manifest.h3_resolution,
        **VIEW_DEFINITIONS,
        **(_measured_definitions(manifest) if manifest.measured else {}),
    }


def _measured_definitions(manifest: Manifest) -> dict[str, Any]:
    """The measured rule and each measured layer's speed and tests."""
    return {
        **MEASURED_DEFINITIONS,
        "measured_layers": [
            {
                "id": spec.id,
                "slug": spec.slug,
                "path": input_path(spec.path, manifest.root),
                "min_download_mbps": spec.min_download_mbps,
                "min_tests": spec.min_tests,
            }
            for spec in manifest.measured
        ],
    }

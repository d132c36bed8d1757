"""What-if scenarios: the region recomputed with new coverage layers added.

A scenario equals a full ``geodx run`` of the manifest with its layers added, by
construction: the baseline's per-household answers (households, commune assignment,
H3 cells, every layer's answer) are computed once and kept (:class:`Baseline`); a
scenario answers only its new layers on the same households with the same adapters
(``layers.registry.open_layer``, ``layers.base.answer``), folds every answer with the
run's own fold (``app.single_pass.fold``) and writes with the run's writer
(``geodx.outputs.write_outputs``). Only the new layers' files are read and hashed.

The web service's store of scenarios is :mod:`app.scenario_store`; the command line's
``geodx scenario`` is :mod:`app.scenario_cli`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson

from app.pipeline import input_checksums, input_entry, metric_crs
from app.single_pass import Progress, fold
from app.single_pass import prepare as prepare_run
from geodx import __version__
from geodx.contract_names import COMMUNES_FILE
from geodx.contract_views import (
    MARGIN_COLUMNS,
    MEASURED_BELOW_COLUMN,
    MEASURED_PARTS,
    measured_columns,
)
from geodx.coverage import Overlay
from geodx.errors import ManifestError
from geodx.limits import DEFAULT_LIMITS, Limits
from geodx.manifest_specs import (
    LayerSpec,
    Manifest,
)
from geodx.outputs import write_outputs
from geodx.points import HouseholdPoints
from geodx.spread import Estimate
from layers.base import LayerAnswer, answer
from layers.registry import is_raster, open_layer

#: The flags a scenario can turn from false to true ("who crosses the target").
CROSSING_FLAGS = ("fibre_target_met", "mobile_covered")


@dataclass
class Baseline:
    """The region's per-household answers, computed once and kept in memory."""

    manifest: Manifest
    communes: gpd.GeoDataFrame
    communes_wgs84: np.ndarray
    utm: Any
    overlay: Overlay  # households, assignment, cells; measured views
    answers: dict[str, LayerAnswer]  # by layer slug
    sources: dict[str, str]
    estimate: Estimate | None
    inputs: list[dict[str, Any]]
    communes_props: list[dict[str, Any]]  # communes.geojson properties, for diffs
    limits: Limits = DEFAULT_LIMITS


def answer_layers(
    specs: Sequence[LayerSpec],
    households: HouseholdPoints,
    *,
    utm: Any,
    limits: Limits,
    workers: int = 2,
) -> tuple[dict[str, LayerAnswer], dict[str, str]]:
    """Open each layer and answer at its threshold, at the margins and indoors."""
    deltas = tuple(MARGIN_COLUMNS.values())

    def task(spec: LayerSpec) -> tuple[LayerAnswer, str]:
        layer = open_layer(spec, metric_crs=utm, limits=limits)
        return answer(layer, households, deltas), layer.source

    order = sorted(specs, key=is_raster)  # vector layers (slowest) first, as a run
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs = {spec.slug: pool.submit(task, spec) for spec in order}
        done = {slug: job.result() for slug, job in jobs.items()}
    return (
        {spec.slug: done[spec.slug][0] for spec in specs},
        {spec.slug: done[spec.slug][1] for spec in specs},
    )


def prepare_baseline(
    manifest: Manifest,
    *,
    limits: Limits = DEFAULT_LIMITS,
    progress: Progress | None = None,
) -> Baseline:
    """Read the region and answer every layer, as a run does; keep the answers."""
    communes, wgs84, bare, estimate = prepare_run(
        replace(manifest, layers=()), progress=progress, limits=limits
    )
    utm = metric_crs(wgs84)
    answers, sources = answer_layers(
        manifest.layers, bare.households, utm=utm, limits=limits
    )
    baseline = Baseline(
        manifest, communes, wgs84, utm, bare, answers, sources, estimate,
        input_checksums(manifest), [], limits,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="geodx-baseline-") as tmp:
        baseline.communes_props = write_scenario(baseline, manifest, (), Path(tmp))
    return baseline


def scenario_overlay(
    baseline: Baseline, combined: Manifest, added: Sequence[LayerSpec]
) -> Overlay:
    """The baseline's answers and the new layers' folded as a run folds a manifest's."""
    base = baseline.overlay
    new, new_sources = answer_layers(
        added, base.households, utm=baseline.utm, limits=baseline.limits
    )
    answers = {**baseline.answers, **new}
    sources = {**baseline.sources, **new_sources}
    result = fold(
        combined.layers, base.households, base.assignment, base.cells, answers, sources
    )
    if combined.measured:
        _measured_views(base, result, combined)
    return result


def _measured_views(base: Overlay, result: Overlay, manifest: Manifest) -> None:
    """The measured views of the baseline, and covered-but-measured-below anew.

    The run's rule (``app.single_pass.add_measured``): below any measured layer, and
    covered by 4G/5G — the only measured figure new coverage changes.
    """
    below = np.zeros(len(base.households), dtype=bool)
    for spec in manifest.measured:
        for part in MEASURED_PARTS:
            name = f"measured_{spec.slug}{part}_households"
            result.views[name] = base.views[name]
        below |= base.views[f"measured_{spec.slug}_below_households"]
    result.views[MEASURED_BELOW_COLUMN] = below & result.indicators["mobile"]
    result.columns += measured_columns([spec.slug for spec in manifest.measured])


def scenario_inputs(
    baseline: Baseline, added: Sequence[LayerSpec]
) -> list[dict[str, Any]]:
    """The inputs a run of the combined manifest lists, in its order.

    Layers, then measured layers; only the new layers' files are hashed.
    """
    measured = {f"layer:{spec.id}" for spec in baseline.manifest.measured}
    head = [e for e in baseline.inputs if e["role"] not in measured]
    tail = [e for e in baseline.inputs if e["role"] in measured]
    root = baseline.manifest.root
    new = [input_entry(f"layer:{spec.id}", spec.path, root) for spec in added]
    return head + new + tail


def added_layers(baseline: Baseline, combined: Manifest) -> tuple[LayerSpec, ...]:
    """The layers ``combined`` adds to the baseline's manifest (measured refused).

    Raises
    ------
    ManifestError
        A measured layer: scenarios add coverage, not measurements (not supported yet).
    """
    known = {spec.slug for spec in baseline.manifest.measured}
    for spec in combined.measured:
        if spec.slug not in known:
            raise ManifestError(
                f"layer '{spec.id}': measured layers cannot be added by a scenario "
                "(not supported yet); add fibre or mobile layers"
            )
    count = len(baseline.manifest.layers)
    return combined.layers[count:]


def write_scenario(
    baseline: Baseline, combined: Manifest, added: Sequence[LayerSpec], out: Path
) -> list[dict[str, Any]]:
    """Write the outputs of ``combined`` into ``out``; the communes' properties.

    ``combined`` is the baseline's manifest with ``added`` appended to its layers
    (``geodx.manifest.with_layers``).
    """
    result = scenario_overlay(baseline, combined, added)
    write_outputs(
        out,
        combined,
        baseline.communes,
        baseline.communes_wgs84,
        result,
        inputs=scenario_inputs(baseline, added),
        engine=__version__,
        estimate=baseline.estimate,
    )
    doc = orjson.loads((out / COMMUNES_FILE).read_bytes())
    return [dict(feature["properties"]) for feature in doc["features"]]


def commune_diff(
    baseline: Sequence[dict[str, Any]], scenario: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per commune whose figures change: each changed figure, and who crosses a target.

    A figure the baseline lacks (a new layer's own columns) counts where it is neither
    0 nor null. ``crosses`` lists the flags of :data:`CROSSING_FLAGS` that go from
    false to true.

    Examples
    --------
    >>> base = [{"commune_code": "1", "fibre_pct": 80.0, "fibre_target_met": False}]
    >>> new = [{"commune_code": "1", "fibre_pct": 95.0, "fibre_target_met": True}]
    >>> commune_diff(base, new)[0]["crosses"]
    ['fibre_target_met']
    """
    before = {str(p.get("commune_code")): p for p in baseline}
    out = []
    for props in scenario:
        code = str(props.get("commune_code"))
        old = before.get(code, {})
        changed = {
            key: {"baseline": old.get(key), "scenario": value}
            for key, value in props.items()
            if (old.get(key) != value if key in old else value not in (0, None))
        }
        if not changed:
            continue
        crosses = [
            flag
            for flag in CROSSING_FLAGS
            if old.get(flag) is False and props.get(flag) is True
        ]
        out.append(
            {
                "commune_code": props.get("commune_code"),
                "commune_name": props.get("commune_name"),
                "crosses": crosses,
                "changed": changed,
            }
        )
    return out


def crossing(diff: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The communes crossing each target, by flag."""
    return {
        flag: [d["commune_code"] for d in diff if flag in d["crosses"]]
        for flag in CROSSING_FLAGS
    }

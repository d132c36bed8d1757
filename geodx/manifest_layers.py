"""The ``[[layers]]`` tables of a manifest: one :class:`LayerSpec` each, checked.

Kinds, technologies, thresholds, the prediction model and indoor loss, the measured
speeds; and the column rule: no two layers, operators or indoor layers may name the
same output column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geodx.manifest_reader import ManifestReader
from geodx.manifest_specs import (
    DEFAULT_MIN_DOWNLOAD_MBPS,
    DEFAULT_MIN_RSRP_DBM,
    DEFAULT_MIN_TESTS,
    DEFAULT_SERVICE_DISTANCE_M,
    ENVIRONMENTS,
    KINDS,
    MAX_INDOOR_LOSS_DB,
    MAX_MIN_TESTS,
    MAX_SERVICE_DISTANCE_M,
    MODELS,
    RSRP_RANGE_DBM,
    TECHNOLOGIES,
    LayerSpec,
    slugify,
)

_LAYER_KEYS = {
    "id",
    "kind",
    "operator",
    "technology",
    "path",
    "service_distance_m",
    "min_rsrp_dbm",
    "band",
    "layer",
    "model",
    "environment",
    "indoor_loss_db",
    "min_download_mbps",
    "min_tests",
}


class LayerReader(ManifestReader):
    """Checks the ``[[layers]]`` tables of one manifest (or layers) file."""

    def layer(self, index: int, table: Any) -> LayerSpec:
        """The ``index``-th ``[[layers]]`` table, checked."""
        where = f"layers #{index + 1}"
        t = self.check_keys(where, table, _LAYER_KEYS)
        layer_id = self.get(where, t, "id", str)
        if not layer_id:
            raise self.fail(where, "'id' is required")
        where = f"layers '{layer_id}'"
        kind = self.get(where, t, "kind", str)
        if kind not in KINDS:
            raise self.fail(where, f"'kind' was {kind!r}; expected one of {KINDS}")
        technology = self.get(where, t, "technology", str)
        if technology is not None:
            technology = technology.upper()
        if kind == "mobile" and technology not in TECHNOLOGIES:
            raise self.fail(
                where,
                f"'technology' was {technology!r}; expected one of {TECHNOLOGIES}",
            )
        band = self.get(where, t, "band", int)
        return LayerSpec(
            id=layer_id,
            kind=kind,
            path=self.file(where, t),
            operator=self.get(where, t, "operator", str),
            technology=technology,
            service_distance_m=self.number(
                where,
                t,
                "service_distance_m",
                DEFAULT_SERVICE_DISTANCE_M,
                0.0,
                MAX_SERVICE_DISTANCE_M,
                open_low=True,
            ),
            min_rsrp_dbm=self.number(
                where, t, "min_rsrp_dbm", DEFAULT_MIN_RSRP_DBM, *RSRP_RANGE_DBM
            ),
            band=1 if band is None else band,
            layer=self.get(where, t, "layer", str),
            **self.prediction(where, t, kind),
            **self.measured(where, t, kind),
        )

    def measured(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """``min_download_mbps`` and ``min_tests``: measured layers only."""
        if kind != "measured":
            for key in ("min_download_mbps", "min_tests"):
                if key in t:
                    raise self.fail(where, f"'{key}' is for measured layers only")
            return {}
        tests = self.get(where, t, "min_tests", int)
        if tests is not None and not 1 <= tests <= MAX_MIN_TESTS:
            raise self.fail(
                where, f"'min_tests' was {tests}; expected 1 to {MAX_MIN_TESTS:,}"
            )
        speed = self.number(
            where, t, "min_download_mbps", DEFAULT_MIN_DOWNLOAD_MBPS, 0.0, 100_000.0
        )
        return {
            "min_download_mbps": speed,
            "min_tests": DEFAULT_MIN_TESTS if tests is None else tests,
        }

    def prediction(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """``model``, ``environment``, ``indoor_loss_db``: mobile layers of sectors."""
        model = self.get(where, t, "model", str)
        if model is None:
            return self.raster_indoor(where, t, kind)
        if kind != "mobile":
            raise self.fail(where, "'model' is for mobile layers only")
        if model not in MODELS:
            raise self.fail(where, f"'model' was {model!r}; expected one of {MODELS}")
        environment = self.get(where, t, "environment", str)
        if environment not in ENVIRONMENTS:
            raise self.fail(
                where,
                f"'environment' was {environment!r}; expected one of {ENVIRONMENTS}",
            )
        loss = None
        if "indoor_loss_db" in t:
            loss = self.number(where, t, "indoor_loss_db", 0.0, 0.0, MAX_INDOOR_LOSS_DB)
        return {"model": model, "environment": environment, "indoor_loss_db": loss}

    def raster_indoor(self, where: str, t: dict[str, Any], kind: str) -> dict[str, Any]:
        """Without ``model``: ``indoor_loss_db`` on a mobile raster (``.tif``) only."""
        if "environment" in t:
            raise self.fail(where, "'environment' needs 'model' (a sector list)")
        if "indoor_loss_db" not in t:
            return {}
        raw = self.get(where, t, "path", str) or ""
        if kind != "mobile" or Path(raw).suffix.lower() not in (".tif", ".tiff"):
            raise self.fail(
                where,
                "'indoor_loss_db' needs 'model' (a sector list) or a mobile raster (.tif)",
            )
        loss = self.number(where, t, "indoor_loss_db", 0.0, 0.0, MAX_INDOOR_LOSS_DB)
        return {"indoor_loss_db": loss}

    def check_unique(self, layers: tuple[LayerSpec, ...]) -> None:
        """No two layers may share a column name (their slugs, operators, indoor)."""
        seen: dict[str, str] = {}
        for spec in layers:
            if spec.slug in seen:
                raise self.fail(
                    f"layers '{spec.id}'",
                    f"id clashes with layer '{seen[spec.slug]}' (same column name)",
                )
            seen[spec.slug] = spec.id
        self.check_view_columns(layers)

    def check_view_columns(self, layers: tuple[LayerSpec, ...]) -> None:
        """Operators and indoor layers name columns too: no two may share one."""
        operators: dict[str, str] = {}
        for spec in layers:
            name = spec.operator
            if name is not None and operators.setdefault(slugify(name), name) != name:
                raise self.fail(
                    f"layers '{spec.id}'",
                    f"operator {name!r} clashes with operator "
                    f"{operators[slugify(name)]!r} (same column operator_"
                    f"{slugify(name)}_*); spell them the same or apart",
                )
        slugs = {spec.slug: spec.id for spec in layers}
        for spec in layers:
            other = slugs.get(f"{spec.slug}_indoor")
            if spec.indoor_loss_db is not None and other is not None:
                raise self.fail(
                    f"layers '{other}'",
                    f"id clashes with the indoor column of layer '{spec.id}' "
                    f"(layer_{spec.slug}_indoor_households)",
                )

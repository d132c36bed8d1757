"""Fields whose names hold a slug: how the property and summary models check them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

Count = int | float | None
# Properties whose names hold a layer, operator or measured-layer slug (the id or the
# operator lower-cased, every character outside [a-z0-9] an underscore).
PATTERN_FIELDS: dict[str, str] = {
    r"^layer_[a-z0-9_]+_households$": "layer_<slug>_households: households one layer "
    "covers; layer_<slug>_indoor_households: covered indoors by a layer with "
    "indoor_loss_db.",
    r"^layer_[a-z0-9_]+_pct$": "layer_<slug>_pct: its share of households, 0-100.",
    r"^operator_[a-z0-9_]+_(fibre|mobile)_households$": "operator_<slug>_fibre_"
    "households / _mobile_households: covered by any fibre / 4G-5G layer of the "
    "operator; null when it has no layer of that kind.",
    r"^operator_[a-z0-9_]+_(fibre|mobile)_pct$": "operator_<slug>_fibre_pct / "
    "_mobile_pct: their share of households, 0-100.",
    r"^measured_[a-z0-9_]+_households$": "measured_<slug>_households: in tiles "
    "measured at or above min_download_mbps; _below_households: slower; "
    "_too_few_tests_households: fewer than min_tests tests or no tile; "
    "_untested_households: no tile.",
}
_PATTERNS = [re.compile(p) for p in PATTERN_FIELDS]


def _numeric(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool)
    )


class PatternFields(BaseModel):
    """A model whose named fields are fixed and whose other fields follow patterns.

    Fields matching :data:`PATTERN_FIELDS` must be numbers or null; other extra
    fields are kept (the outputs may gain fields) and listed by :meth:`unmodelled`.
    """

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": True,
            "x-patternProperties": {
                p: {"type": "number", "nullable": True, "description": d}
                for p, d in PATTERN_FIELDS.items()
            },
        },
    )

    @model_validator(mode="after")
    def _pattern_fields_are_numbers(self) -> PatternFields:
        for key, value in (self.model_extra or {}).items():
            if any(p.match(key) for p in _PATTERNS) and not _numeric(value):
                raise ValueError(f"{key}: expected a number or null")
        return self

    @classmethod
    def unmodelled(cls, keys: Iterable[str]) -> list[str]:
        """The keys that are neither named fields nor pattern fields."""
        return [
            k
            for k in keys
            if k not in cls.model_fields and not any(p.match(k) for p in _PATTERNS)
        ]

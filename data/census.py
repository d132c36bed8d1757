"""Carrying census household counts onto the communes of a boundary file.

The rules and the readers live in the core (:mod:`geodx.carry`, :mod:`geodx.carry_io`,
:mod:`geodx.carry_scope`), shared with ``geodx counts``; the demo generator uses them
from here.
"""

from __future__ import annotations

from geodx.carry import CarryReport, NotPlaced, Placement, apportion, carry_households
from geodx.carry_io import pick_column, read_census, read_crosswalk, read_table
from geodx.carry_names import legacy_names, name_key
from geodx.carry_scope import (
    CensusRow,
    Communes,
    Crosswalk,
    normalise_code,
    normalise_name,
)

__all__ = [
    "CarryReport",
    "CensusRow",
    "Communes",
    "Crosswalk",
    "NotPlaced",
    "Placement",
    "apportion",
    "carry_households",
    "legacy_names",
    "name_key",
    "normalise_code",
    "normalise_name",
    "pick_column",
    "read_census",
    "read_crosswalk",
    "read_table",
]

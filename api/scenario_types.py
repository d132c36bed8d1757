"""What the scenario routes need from the scenario service, and its errors.

``api/`` never imports ``app/``: the composition root's store
(``app.scenario_store.ScenarioStore``) follows :class:`ScenarioService`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from api.errors import NotFound
from api.results import RegionResults
from api.settings import Settings
from geodx.errors import GeodxError

#: A scenario id: 16 lower-case hex digits, made by the server (never from a body).
SCENARIO_ID = re.compile(r"[0-9a-f]{16}")


def state_dir(settings: Settings) -> Path:
    """The service's state folder: ``GEODX_STATE_DIR``, else ``<results>/../.geodx-state``."""
    if settings.state_dir is not None:
        return settings.state_dir
    return Path(os.path.abspath(settings.results_dir)).parent / ".geodx-state"


@dataclass(frozen=True)
class NewLayer:
    """One layer of a scenario: its manifest keys (no path) and its features."""

    table: dict[str, Any]
    features: dict[str, Any]  # a GeoJSON FeatureCollection in WGS84, checked


class ScenarioRejected(GeodxError, ValueError):
    """A scenario layer the manifest's rules refuse (422)."""


class ScenarioBusy(GeodxError):
    """The worker is preparing its region or computing another scenario (503)."""


class UnknownScenario(NotFound):
    """No scenario with that id (404)."""


class ScenarioService(Protocol):
    """Computes, stores and returns scenarios of one region."""

    def create(self, name: str, layers: Sequence[NewLayer]) -> dict[str, Any]:
        """Compute and store a scenario; its answer (with ``id``)."""
        ...

    def listing(self) -> list[dict[str, Any]]:
        """The stored scenarios, newest first: id, name, created, layers, crossing."""
        ...

    def get(self, scenario_id: str) -> dict[str, Any]:
        """A stored scenario's answer (raises UnknownScenario)."""
        ...

    def results(self, scenario_id: str) -> RegionResults:
        """A stored scenario's results folder, loaded (raises UnknownScenario)."""
        ...

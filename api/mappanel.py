"""What a commune's map page shows beside its cells: its figures, gap and plan.

The figures come from the loaded results (the properties of ``communes.geojson``); the
plan from ``api.plan.commune_plan`` (the planning endpoints), when the service has it and
the results hold what it needs. The page shows the figures either way.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from api.results import RegionResults
from geodx.errors import GeodxError
from geodx.mapparts import commune_figures, plan_part

log = logging.getLogger("geodx.api")


def _measured_slugs(summary: Mapping[str, Any]) -> list[str]:
    definitions = summary.get("definitions")
    layers = definitions.get("measured_layers") if isinstance(definitions, dict) else []
    return [
        str(x["slug"])
        for x in layers or []
        if isinstance(x, dict) and isinstance(x.get("slug"), str)
    ]


def _operators(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        x
        for x in summary.get("operators") or []
        if isinstance(x, dict) and isinstance(x.get("slug"), str)
    ]


def figures(results: RegionResults, code: str) -> dict[str, Any]:
    """The commune's figures and views, as the figures box shows them."""
    return commune_figures(
        results.commune(code),
        operators=_operators(results.summary),
        measured=_measured_slugs(results.summary),
        estimated=results.households_estimated,
    )


def _as_mapping(answer: Any) -> Mapping[str, Any] | None:
    """A plan answer (a mapping, a pydantic model or a dataclass) as a mapping."""
    if isinstance(answer, Mapping):
        return answer
    dump = getattr(answer, "model_dump", None)
    if callable(dump):
        found = dump()
        return found if isinstance(found, Mapping) else None
    if dataclasses.is_dataclass(answer) and not isinstance(answer, type):
        return {
            f.name: getattr(answer, f.name)
            for f in dataclasses.fields(answer)
            if not isinstance(getattr(answer, f.name), pd.DataFrame)
        }
    return None


def plan(results: RegionResults, code: str) -> dict[str, Any] | None:
    """The commune's fibre plan for the page, or None when the service has none."""
    try:
        module = importlib.import_module("api.plan")
    except ImportError:
        return None
    commune_plan = getattr(module, "commune_plan", None)
    if commune_plan is None:
        return None
    try:
        answer = commune_plan(results, code, "fibre")
    except (GeodxError, LookupError, OSError, ValueError) as exc:
        log.info("no plan on the map of commune %s: %s", code[:40], exc)
        return None
    return plan_part(_as_mapping(answer))

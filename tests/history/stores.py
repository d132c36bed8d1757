"""A history store recorded from a results folder, for the API tests (fuzz included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.history import read_vintage
from geodx.history import (
    Vintage,
    record_vintage,
)
from geodx.history_store import HistoryStore


def earlier(vintage: Vintage, as_of: dt.date, factor: float) -> Vintage:
    """The same communes with every fibre figure scaled down (an earlier vintage)."""
    communes = []
    for props in vintage.communes:
        row = dict(props)
        if isinstance(row.get("fibre_households"), int | float):
            row["fibre_households"] = int(row["fibre_households"] * factor)
        if isinstance(row.get("fibre_pct"), int | float):
            row["fibre_pct"] = round(row["fibre_pct"] * factor, 4)
        communes.append(row)
    summary: dict[str, Any] = dict(vintage.summary)
    summary["fibre_pct"] = round(float(summary.get("fibre_pct") or 0) * factor, 4)
    return Vintage(as_of, summary, communes)


def recorded_store(results_dir: Path, folder: Path) -> Path:
    """Two vintages of ``results_dir`` (2024-12-31 at 80 % of its fibre; 2025-06-30)."""
    store = folder / "history.sqlite"
    latest = read_vintage(results_dir, dt.date(2025, 6, 30))
    record_vintage(store, earlier(latest, dt.date(2024, 12, 31), 0.8))
    record_vintage(store, latest)
    return store


def history_service(store: Path) -> Any:
    """A ``services`` factory serving ``store`` as the ``history`` service."""
    return lambda settings: HistoryStore(store)  # noqa: ARG005 - a factory's signature

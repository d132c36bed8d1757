"""The history store: vintages oldest first, replaced by date, versioned, one transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from geodx.errors import UnknownCommune
from geodx.history import (
    Vintage,
    commune_history,
    parse_as_of,
    record_vintage,
    vintages,
)
from geodx.history_store import (
    SCHEMA_VERSION,
    HistoryError,
    HistoryStore,
    store_url,
)

NAME = "Xã ’{{ <b>=1"


def vintage(
    as_of: str, fibre: int, *, codes: tuple[str, ...] = ("001", "002")
) -> Vintage:
    communes = [
        {
            "commune_code": code,
            "commune_name": NAME,
            "households": 10,
            "fibre_households": fibre,
            "fibre_pct": fibre * 10.0,
            "mobile_covered": None,
        }
        for code in codes
    ]
    summary = {
        "households": 10 * len(codes),
        "fibre_households": fibre * len(codes),
        "fibre_pct": fibre * 10.0,
        "engine_version": "0.1.0",
        "inputs": [{"role": "manifest", "sha256": "ab" * 32}],
        "targets": {"fibre_household_pct": 90.0},
        "layers": [{"id": "x"}],
    }
    return Vintage(dt.date.fromisoformat(as_of), summary, communes)


def test_vintages_oldest_first_and_same_date_replaced(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    record_vintage(store, vintage("2025-06-30", 7))
    record_vintage(store, vintage("2024-12-31", 3))
    record_vintage(store, vintage("2024-12-31", 5, codes=("001",)))  # replaces
    got = vintages(store)
    assert [v["as_of"] for v in got] == ["2024-12-31", "2025-06-30"]
    assert [v["fibre_households"] for v in got] == [5, 14]
    assert got[0]["households"] == 10 and "layers" not in got[0]
    assert got[1]["targets"] == {"fibre_household_pct": 90.0}
    history = commune_history(store, "002")
    assert [h["as_of"] for h in history] == ["2025-06-30"]  # gone from 2024-12-31
    assert history[0]["commune_name"] == NAME
    assert [h["fibre_pct"] for h in commune_history(str(store), "001")] == [50.0, 70.0]
    with pytest.raises(UnknownCommune):
        commune_history(store, "999")


def test_inputs_and_engine_version_are_recorded_in_documented_columns(
    tmp_path: Path,
) -> None:
    store = tmp_path / "h.sqlite"
    record_vintage(store, vintage("2025-06-30", 7))
    with sqlite3.connect(store) as db:
        row = db.execute(
            "select engine_version, inputs, fibre_pct, households from geodx_vintages"
        ).fetchone()
        version = db.execute("select value from geodx_meta").fetchone()
        figures = db.execute(
            "select commune_code, fibre_households from geodx_commune_figures "
            "order by commune_code"
        ).fetchall()
    assert row[0] == "0.1.0" and "ab" * 32 in row[1]
    assert row[2:] == (70.0, 20.0)
    assert version == (str(SCHEMA_VERSION),)
    assert figures == [("001", 7.0), ("002", 7.0)]


def test_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    record_vintage(store, vintage("2025-06-30", 7))
    with sqlite3.connect(store) as db:
        db.execute("update geodx_meta set value = ?", (str(SCHEMA_VERSION + 1),))
    for action in (
        lambda: vintages(store),
        lambda: record_vintage(store, vintage("2025-07-31", 8)),
    ):
        with pytest.raises(HistoryError) as caught:
            action()
        message = str(caught.value)
        assert "newer" in message and "upgrade geodx" in message
        assert "\n" not in message


def test_a_failing_write_records_nothing(tmp_path: Path) -> None:
    store = tmp_path / "h.sqlite"
    record_vintage(store, vintage("2024-12-31", 3))
    bad = vintage("2024-12-31", 9)
    twice: list[dict[str, Any]] = [*bad.communes, dict(bad.communes[0])]
    with pytest.raises(HistoryError):
        record_vintage(store, Vintage(bad.as_of, bad.summary, twice))
    unserialisable = dict(bad.summary, region={1, 2})  # a set is no JSON
    with pytest.raises((HistoryError, TypeError)):
        record_vintage(store, Vintage(bad.as_of, unserialisable, bad.communes))
    assert [v["fibre_households"] for v in vintages(store)] == [6]  # the old one


def test_store_names_and_dates_are_checked() -> None:
    assert store_url("postgres://u:secret@h/db").drivername == "postgresql+psycopg"
    assert "secret" not in HistoryStore("postgresql://u:secret@h/db").name
    for bad in ("mysql://h/db", "file:///x", ""):
        with pytest.raises(HistoryError, match="SQLite file path or a postgresql"):
            store_url(bad)
    assert parse_as_of(" 2025-06-30 ") == dt.date(2025, 6, 30)
    with pytest.raises(HistoryError, match="ISO date"):
        parse_as_of("30/06/2025")


def test_reading_a_missing_or_foreign_store_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no such file"):
        vintages(tmp_path / "none.sqlite")
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("create table geodx_vintages (x int)")
    with pytest.raises(HistoryError, match="not a geodx store"):
        record_vintage(foreign, vintage("2025-06-30", 1))

"""The history store: each run's vintage (summary and commune figures) under its date.

``geodx run REGION --out DIR --as-of DATE --history STORE`` records a vintage; ``geodx
serve --history STORE`` reads them (``GET /history``, ``GET /communes/{code}/history``).
STORE is an SQLite file path (the default: embedded, one file beside the results) or a
``postgresql://`` URL where a province runs a server (``pip install geodx[postgres]``).
Both go through SQLAlchemy Core, one schema for both; the tables are documented in
``docs/definitions.md`` (History store). One store holds one region's vintages.

The schema is versioned: ``geodx_meta`` holds ``schema_version``; a store written by a
newer geodx is refused in one line, never read half-understood. The schema and the
connection are :mod:`geodx.history_store`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from geodx.errors import UnknownCommune
from geodx.history_store import (
    COMMUNE_FIGURES_COLUMNS,
    COMMUNE_FLAGS,
    COMMUNE_TEXT,
    VINTAGE_COUNTS,
    VINTAGE_FIGURES,
    VINTAGE_FLAGS,
    HistoryError,
    HistoryStore,
    communes_table,
    first_line,
    vintages_table,
)


@dataclass(frozen=True)
class Vintage:
    """One run's figures to record under ``as_of``.

    ``summary`` is ``summary.json`` (engine version and inputs' checksums included);
    ``communes`` the properties of every feature of ``communes.geojson``; ``carried``
    says how the communes were carried to new boundaries (None: as computed).
    """

    as_of: dt.date
    summary: Mapping[str, Any]
    communes: Sequence[Mapping[str, Any]]
    carried: Mapping[str, Any] | None = None


def parse_as_of(text: str) -> dt.date:
    """An ISO date (``YYYY-MM-DD``); one-line error otherwise.

    Examples
    --------
    >>> parse_as_of("2025-06-30")
    datetime.date(2025, 6, 30)
    """
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise HistoryError(
            f"--as-of was {str(text)[:40]!r}; expected an ISO date such as 2025-06-30"
        ) from None


def _open(store: HistoryStore | str | Path) -> HistoryStore:
    return store if isinstance(store, HistoryStore) else HistoryStore(store)


def _num(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    number = _num(value)
    return int(number) if number is not None else None


def _vintage_row(vintage: Vintage) -> dict[str, Any]:
    s = vintage.summary
    row: dict[str, Any] = {
        "as_of": vintage.as_of,
        "recorded_at": dt.datetime.now(dt.UTC),
        "region": str(s.get("region", "")),
        "engine_version": str(s.get("engine_version", "")),
        "synthetic": bool(s.get("synthetic", False)),
        "households_estimated": bool(s.get("households_estimated", False)),
        "targets": s.get("targets"),
        "inputs": s.get("inputs"),
        "carried": dict(vintage.carried) if vintage.carried is not None else None,
        "summary": dict(s),
    }
    row |= {k: _num(s.get(k)) for k in VINTAGE_FIGURES}
    row |= {k: _int(s.get(k)) for k in VINTAGE_COUNTS}
    row |= {k: _flag(s.get(k)) for k in VINTAGE_FLAGS}
    return row


def _commune_row(as_of: dt.date, props: Mapping[str, Any]) -> dict[str, Any]:
    code = props.get("commune_code")
    if code is None or str(code) == "":
        raise HistoryError(
            "communes: a commune without commune_code cannot be recorded"
        )
    row: dict[str, Any] = {
        "as_of": as_of,
        "commune_code": str(code),
        "properties": dict(props),
    }
    row |= {k: None if props.get(k) is None else str(props[k]) for k in COMMUNE_TEXT}
    row |= {k: _num(props.get(k)) for k in COMMUNE_FIGURES_COLUMNS}
    row |= {k: _flag(props.get(k)) for k in COMMUNE_FLAGS}
    return row


def record_vintage(store: HistoryStore | str | Path, vintage: Vintage) -> None:
    """Record a vintage; one already under the same date is replaced, in one transaction.

    Raises
    ------
    HistoryError
        The store cannot be opened or written, or is of a newer schema.
    """
    history = _open(store)
    communes = [_commune_row(vintage.as_of, props) for props in vintage.communes]
    codes = [row["commune_code"] for row in communes]
    if len(set(codes)) != len(codes):
        raise HistoryError("communes: a commune_code appears twice; nothing recorded")
    try:
        with history.engine(create=True).begin() as conn:
            for table in (communes_table, vintages_table):
                conn.execute(sa.delete(table).where(table.c.as_of == vintage.as_of))
            conn.execute(sa.insert(vintages_table), [_vintage_row(vintage)])
            if communes:
                conn.execute(sa.insert(communes_table), communes)
    except SQLAlchemyError as exc:
        raise HistoryError(
            f"history store {history.name}: {first_line(exc)}; nothing recorded"
        ) from None


def _read(history: HistoryStore, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    try:
        with history.engine(create=False).connect() as conn:
            return [tuple(row) for row in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise HistoryError(f"history store {history.name}: {first_line(exc)}") from None


def vintages(store: HistoryStore | str | Path) -> list[dict[str, Any]]:
    """Every vintage, oldest first: ``as_of`` (ISO date) and the summary's figures.

    Each holds the summary's scalar figures, ``targets``, ``engine_version``,
    ``recorded_at`` and ``carried`` (None unless carried to new boundaries).
    """
    t = vintages_table
    query = sa.select(t.c.as_of, t.c.recorded_at, t.c.carried, t.c.summary)
    rows = _read(_open(store), query.order_by(t.c.as_of))
    out = []
    for as_of, recorded_at, carried, summary in rows:
        entry: dict[str, Any] = {"as_of": as_of.isoformat()}
        entry |= {k: v for k, v in summary.items() if not isinstance(v, dict | list)}
        entry["targets"] = summary.get("targets")
        entry["recorded_at"] = _iso_utc(recorded_at)
        entry["carried"] = carried
        out.append(entry)
    return out


def _iso_utc(moment: dt.datetime) -> str:
    # SQLite hands back naive datetimes; they were written in UTC.
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds")


def commune_history(
    store: HistoryStore | str | Path, code: str
) -> list[dict[str, Any]]:
    """One commune's figures in every vintage that has it, oldest first.

    Each entry is ``as_of`` (ISO date) and the commune's properties in that vintage
    (the ``communes.geojson`` properties, or the carried figures).

    Raises
    ------
    UnknownCommune
        No vintage has the commune.
    """
    t = communes_table
    query = sa.select(t.c.as_of, t.c.properties).where(t.c.commune_code == str(code))
    rows = _read(_open(store), query.order_by(t.c.as_of))
    if not rows:
        raise UnknownCommune(f"commune {str(code)[:40]!r}: not in the history store")
    return [{"as_of": as_of.isoformat(), **props} for as_of, props in rows]


def known_communes(store: HistoryStore | str | Path) -> dict[str, str]:
    """Code -> name of the latest vintage recorded as computed (not carried).

    Empty when the store does not exist yet or holds only carried vintages.
    """
    history = _open(store)
    if history.is_sqlite and not Path(history.url.database or "").is_file():
        return {}
    v, c = vintages_table, communes_table
    latest = (
        sa.select(sa.func.max(v.c.as_of)).where(v.c.carried.is_(None)).scalar_subquery()
    )
    query = sa.select(c.c.commune_code, c.c.commune_name).where(c.c.as_of == latest)
    try:
        rows = _read(history, query)
    except HistoryError as exc:
        if "empty, no vintage" in str(exc):
            return {}
        raise
    return {code: name or "" for code, name in rows}


def communes_history(
    store: HistoryStore | str | Path,
) -> dict[str, list[dict[str, Any]]]:
    """Every commune's history (as :func:`commune_history`), by code in code order."""
    t = communes_table
    query = sa.select(t.c.commune_code, t.c.as_of, t.c.properties)
    rows = _read(_open(store), query.order_by(t.c.commune_code, t.c.as_of))
    out: dict[str, list[dict[str, Any]]] = {}
    for code, as_of, props in rows:
        out.setdefault(code, []).append({"as_of": as_of.isoformat(), **props})
    return out

"""The history store: each run's vintage (summary and commune figures) under its date.

``geodx run REGION --out DIR --as-of DATE --history STORE`` records a vintage; ``geodx
serve --history STORE`` reads them (``GET /history``, ``GET /communes/{code}/history``).
STORE is an SQLite file path (the default: embedded, one file beside the results) or a
``postgresql://`` URL where a province runs a server (``pip install geodx[postgres]``).
Both go through SQLAlchemy Core, one schema for both; the tables are documented in
``docs/definitions.md`` (History store). One store holds one region's vintages.

The schema is versioned: ``geodx_meta`` holds ``schema_version``; a store written by a
newer geodx is refused in one line, never read half-understood.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from geodx.errors import GeodxError, UnknownCommune

#: The schema this geodx writes and reads; a store with a higher one is refused.
SCHEMA_VERSION = 1
META = "geodx_meta"
VINTAGES = "geodx_vintages"
COMMUNE_FIGURES = "geodx_commune_figures"

#: Figures kept in their own columns (for SQL users); every figure is also in the JSON.
VINTAGE_FIGURES = (
    "households",
    "fibre_households",
    "fibre_pct",
    "fibre_gap_households",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
    "mobile_commune_pct",
)
VINTAGE_COUNTS = ("communes", "communes_with_households", "communes_mobile_covered")
VINTAGE_FLAGS = ("fibre_target_met", "mobile_target_met")
COMMUNE_FIGURES_COLUMNS = (
    "households",
    "fibre_households",
    "fibre_pct",
    "fibre_gap_households",
    "mobile_households",
    "mobile_pct",
    "mobile_5g_households",
    "mobile_5g_pct",
)
COMMUNE_FLAGS = ("fibre_target_met", "mobile_covered")
COMMUNE_TEXT = ("commune_name", "district_code", "district_name")

metadata = sa.MetaData()
meta_table = sa.Table(
    META,
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
vintages_table = sa.Table(
    VINTAGES,
    metadata,
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("region", sa.Text),
    sa.Column("engine_version", sa.String(64)),
    sa.Column("synthetic", sa.Boolean),
    sa.Column("households_estimated", sa.Boolean),
    *(sa.Column(name, sa.Float) for name in VINTAGE_FIGURES),
    *(sa.Column(name, sa.Integer) for name in VINTAGE_COUNTS),
    *(sa.Column(name, sa.Boolean) for name in VINTAGE_FLAGS),
    sa.Column("targets", sa.JSON(none_as_null=True)),
    sa.Column("inputs", sa.JSON(none_as_null=True)),
    sa.Column("carried", sa.JSON(none_as_null=True)),
    sa.Column("summary", sa.JSON, nullable=False),
)
communes_table = sa.Table(
    COMMUNE_FIGURES,
    metadata,
    sa.Column("as_of", sa.Date, sa.ForeignKey(f"{VINTAGES}.as_of"), primary_key=True),
    sa.Column("commune_code", sa.String(64), primary_key=True),
    *(sa.Column(name, sa.Text) for name in COMMUNE_TEXT),
    *(sa.Column(name, sa.Float) for name in COMMUNE_FIGURES_COLUMNS),
    *(sa.Column(name, sa.Boolean) for name in COMMUNE_FLAGS),
    sa.Column("properties", sa.JSON, nullable=False),
)


class HistoryError(GeodxError, RuntimeError):
    """The history store cannot be opened, is newer than this geodx, or failed."""


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


def store_url(store: str | Path) -> URL:
    """The SQLAlchemy URL of a store: an SQLite file path or a ``postgresql://`` URL.

    Examples
    --------
    >>> store_url("build/history.sqlite").render_as_string()
    'sqlite:///build/history.sqlite'
    >>> store_url("postgresql://geodx:pw@db.example/geodx").drivername
    'postgresql+psycopg'
    """
    text = str(store).strip()
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            url = make_url(text)
        except ArgumentError:
            raise HistoryError("history store: not a valid postgresql:// URL") from None
        return url.set(drivername="postgresql+psycopg")
    if "://" in text or not text:
        scheme = text.partition("://")[0][:20]
        raise HistoryError(
            f"history store {scheme!r}: expected an SQLite file path or a "
            "postgresql:// URL"
        )
    return URL.create("sqlite", database=text)


class HistoryStore:
    """A history store, opened lazily; every write is one transaction."""

    def __init__(self, store: str | Path) -> None:
        self.url = store_url(store)
        sqlite = self.url.get_backend_name() == "sqlite"
        self.name = (
            str(self.url.database) if sqlite else self.url.render_as_string(True)
        )
        self._engine: Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is an SQLite file."""
        return self.url.get_backend_name() == "sqlite"

    def engine(self, *, create: bool) -> Engine:
        """The engine, after checking the schema (created when ``create``)."""
        if self._engine is None:
            self._engine = self._connect(create=create)
        return self._engine

    def _connect(self, *, create: bool) -> Engine:
        if self.is_sqlite and not create:
            path = Path(self.url.database or "")
            if not path.is_file():
                raise HistoryError(f"history store {self.name}: no such file")
        try:
            engine = sa.create_engine(self.url)
        except ImportError:
            raise HistoryError(
                f"history store {self.name}: PostgreSQL needs psycopg; "
                "pip install 'geodx[postgres]'"
            ) from None
        try:
            with engine.begin() as conn:
                check_schema(conn, self.name, create=create)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise HistoryError(
                f"history store {self.name}: {_first_line(exc)}"
            ) from None
        except BaseException:
            engine.dispose()  # a refused store keeps no connection open
            raise
        return engine

    def check(self) -> None:
        """Refuse now a store that a later write would refuse (newer, foreign, bad URL).

        A store not created yet passes: the first write creates it.
        """
        if self.is_sqlite and not Path(self.url.database or "").is_file():
            return
        try:
            self.engine(create=True)
        finally:
            self.dispose()

    def dispose(self) -> None:
        """Close the store's connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def check_schema(conn: sa.Connection, name: str, *, create: bool) -> None:
    """Refuse a store of a newer schema; create the tables when ``create``."""
    tables = set(sa.inspect(conn).get_table_names())
    version = None
    if META in tables:
        row = conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).first()
        version = int(row[0]) if row is not None and str(row[0]).isdigit() else None
    if version is not None and version > SCHEMA_VERSION:
        raise HistoryError(
            f"history store {name}: schema version {version} is newer than this geodx "
            f"reads ({SCHEMA_VERSION}); upgrade geodx"
        )
    if version is None and (VINTAGES in tables or META in tables):
        raise HistoryError(
            f"history store {name}: no schema version; not a geodx store"
        )
    if version is None:
        if not create:
            raise HistoryError(f"history store {name}: empty, no vintage recorded")
        metadata.create_all(conn)
        conn.execute(
            sa.insert(meta_table).values(
                key="schema_version", value=str(SCHEMA_VERSION)
            )
        )


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
            f"history store {history.name}: {_first_line(exc)}; nothing recorded"
        ) from None


def _read(history: HistoryStore, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    try:
        with history.engine(create=False).connect() as conn:
            return [tuple(row) for row in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise HistoryError(
            f"history store {history.name}: {_first_line(exc)}"
        ) from None


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


__all__ = [
    "SCHEMA_VERSION",
    "HistoryError",
    "HistoryStore",
    "Vintage",
    "commune_history",
    "communes_history",
    "known_communes",
    "parse_as_of",
    "record_vintage",
    "store_url",
    "vintages",
]

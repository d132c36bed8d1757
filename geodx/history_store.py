"""The history store's schema and connection: SQLite or PostgreSQL, one schema.

Both go through SQLAlchemy Core; the tables are documented in ``docs/definitions.md``
(History store). The schema is versioned: ``geodx_meta`` holds ``schema_version``; a
store written by a newer geodx is refused in one line, never read half-understood.
:mod:`geodx.history` records and reads the vintages.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from geodx.errors import GeodxError

#: The schema this geodx writes and reads; a store with a higher one is refused.
SCHEMA_VERSION = 1
META = "geodx_meta"
VINTAGES = "geodx_vintages"
COMMUNE_FIGURES = "geodx_commune_figures"

#: Figures kept in their own columns (for SQL users); every figure is also in the JSON.
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
VINTAGE_FIGURES = (*COMMUNE_FIGURES_COLUMNS, "mobile_commune_pct")
VINTAGE_COUNTS = ("communes", "communes_with_households", "communes_mobile_covered")
VINTAGE_FLAGS = ("fibre_target_met", "mobile_target_met")
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
                f"history store {self.name}: {first_line(exc)}"
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


def first_line(exc: BaseException) -> str:
    """A database error's first line (at most 200 characters), safe in one message."""
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

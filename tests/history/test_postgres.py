"""The same store through SQLite and a real PostgreSQL gives the same answers.

A throwaway cluster (``initdb`` + ``pg_ctl`` of Debian's ``postgresql`` package, in a
temporary folder, on a free loopback port) is started for the module; without the
binaries or psycopg the tests are skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geodx.history import (
    Vintage,
    commune_history,
    communes_history,
    record_vintage,
    vintages,
)
from geodx.history_store import (
    SCHEMA_VERSION,
    HistoryError,
    HistoryStore,
)
from geodx.trajectory import trajectory
from tests.history.test_store import vintage


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def as_postgres(folder: Path) -> list[str]:
    """Run the server as ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user")
    if shutil.which("runuser") is None:
        pytest.skip("running as root and runuser is missing")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg")
    binaries = pg_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="geodx-pg-"))
    user = as_postgres(folder)
    data, port = folder / "data", free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*user, *args], capture_output=True, text=True, timeout=60
        )

    try:
        made = run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U",
                   "geodx", "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        if made.returncode != 0:
            pytest.skip(f"initdb failed: {made.stderr.strip()[:200]}")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -F"
        started = run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                      "-t", "30", "-l", str(folder / "log"), "start")  # fmt: skip
        if started.returncode != 0:
            pytest.skip(f"pg_ctl start failed: {started.stderr.strip()[:200]}")
        yield f"postgresql://geodx@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def answers(store: HistoryStore) -> dict[str, Any]:
    rows = [{k: v for k, v in r.items() if k != "recorded_at"} for r in vintages(store)]
    communes = communes_history(store)
    return {
        "vintages": rows,
        "communes": communes,
        "one": commune_history(store, "002"),
        "trajectory": trajectory(communes["001"], rows[-1]["targets"]),
    }


def record_all(store: HistoryStore) -> None:
    record_vintage(store, vintage("2025-06-30", 7))
    record_vintage(store, vintage("2024-12-31", 3))
    record_vintage(store, vintage("2024-12-31", 5, codes=("001",)))  # replaces
    carried = vintage("2025-03-31", 6)
    estimate = [
        dict(c, households=10.25, commune_name="Xã Ea H’leo") for c in carried.communes
    ]
    record_vintage(store, Vintage(carried.as_of, carried.summary, estimate,
                                  carried={"crosswalk": "cw.parquet", "sha256": "00"}))  # fmt: skip


def test_sqlite_and_postgresql_answer_the_same(
    postgres_url: str, tmp_path: Path
) -> None:
    lite = HistoryStore(tmp_path / "h.sqlite")
    server = HistoryStore(postgres_url)
    assert "postgresql+psycopg" in server.name
    for store in (lite, server):
        record_all(store)
    assert answers(server) == answers(lite)
    assert answers(lite)["vintages"][1]["carried"] == {
        "crosswalk": "cw.parquet",
        "sha256": "00",
    }

    # a failing write records nothing, on the server too
    bad = vintage("2024-12-31", 9)
    with pytest.raises((HistoryError, TypeError)):
        record_vintage(
            server, Vintage(bad.as_of, dict(bad.summary, region={1}), bad.communes)
        )
    assert answers(server) == answers(lite)

    # a newer schema is refused in one line
    import sqlalchemy as sa

    engine = server.engine(create=False)
    with engine.begin() as conn:
        conn.execute(
            sa.text("update geodx_meta set value = :v"), {"v": str(SCHEMA_VERSION + 1)}
        )
    server.dispose()
    with pytest.raises(HistoryError, match="newer than this geodx") as caught:
        vintages(HistoryStore(postgres_url))
    assert "\n" not in str(caught.value)
    lite.dispose()


def test_an_unreachable_server_is_one_line() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(HistoryError) as caught:
        vintages(HistoryStore(f"postgresql://geodx:pw@127.0.0.1:{free_port()}/none"))
    message = str(caught.value)
    assert "\n" not in message and "pw" not in message.replace("psycopg", "")
    assert message.startswith("history store postgresql+psycopg://geodx:***@127.0.0.1")

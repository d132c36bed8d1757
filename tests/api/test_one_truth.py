"""``geodx serve`` live: every worker serves one pinned version; half-sent requests close.

The server runs as ``geodx serve`` runs it (``app.serve.serve_snapshot``, uvicorn in a
child process, two workers where it matters), on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from app.serve import KEEP_ALIVE_S, pin
from geodx.errors import InputFileError
from geodx.outdir import atomic_output_dir
from geodx.outdir_snapshot import snapshot
from tests.api.conftest import write_results

ROOT = Path(__file__).resolve().parents[2]
# the pinned snapshot comes from the parent, as geodx serve pins before its workers start
SERVE = (
    "import sys; from pathlib import Path; from app.serve import serve_snapshot; "
    "from geodx.outdir_snapshot import Snapshot; "
    "serve_snapshot(Snapshot(Path(sys.argv[1]), sys.argv[2]), host='127.0.0.1', "
    "port=int(sys.argv[3]), workers=int(sys.argv[4]))"
)
HEADER_TIMEOUT_S = 1.0
# Closed by the header deadline: before the midpoint between it and keep-alive's close
# (the only other deadline), a margin for a loaded machine that no other close meets.
CLOSED_BY_S = (HEADER_TIMEOUT_S + KEEP_ALIVE_S) / 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_run(out: Path, region: str) -> None:
    """A new ``geodx run`` landing in ``out`` (a whole new version, swapped in)."""
    with atomic_output_dir(out) as tmp:
        write_results(tmp)
        summary = json.loads((tmp / "summary.json").read_text(encoding="utf-8"))
        summary["region"] = region
        (tmp / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def wait_until_up(proc: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not start"
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Log:
    """The server's stderr lines, read in a thread (a full pipe would stall it)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        stream = proc.stderr
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:  # closed at the server's exit
            for line in stream:
                self.lines.append(line.decode("utf-8", "replace"))

    def wait_for(self, text: str, count: int) -> None:
        deadline = time.monotonic() + 60
        while sum(text in line for line in self.lines) < count:
            assert time.monotonic() < deadline, "".join(self.lines[-20:])
            time.sleep(0.05)


def serve(out: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    pinned = pin(out)
    port = free_port()
    env = {**os.environ, "GEODX_WARM_MAPS": "false",
           "GEODX_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S)}  # fmt: skip
    cmd = [sys.executable, "-c", SERVE, str(pinned.path), pinned.version, str(port),
           str(workers)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def test_two_workers_serve_one_version_while_new_runs_land(tmp_path: Path) -> None:
    out = tmp_path / "out"
    new_run(out, "first run")
    pinned = snapshot(out)
    proc, base = serve(out, workers=2)
    log = Log(proc)
    try:
        new_run(out, "second run")  # lands while the workers start
        log.wait_for("Application startup complete", 2)  # both workers
        wait_until_up(proc, base)
        etags, regions = set(), set()
        for i in range(60):  # a new connection each: both workers answer
            if i % 12 == 0:
                new_run(out, f"run {i}")  # more runs land while serving
            r = httpx.get(base + "/summary", timeout=10)
            assert r.status_code == 200
            etags.add(r.headers["etag"])
            regions.add(r.json()["region"])
            page = httpx.get(base + "/collections/communes/items", timeout=10)
            etags.add(page.headers["etag"])
        assert snapshot(out).version != pinned.version  # the folder did change
        assert etags == {f'W/"{pinned.version}"'}
        assert regions == {"first run"}
    finally:
        stop(proc)


def test_a_worker_refuses_a_version_other_than_the_pinned_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    new_run(out, "first run")
    pinned = snapshot(out)
    app = create_app(
        Settings(results_dir=pinned.path, results_version="0" * 16, warm_maps=False)
    )
    with pytest.raises(InputFileError, match="restart geodx serve"), TestClient(app):
        pass
    ok = create_app(Settings(results_dir=pinned.path, results_version=pinned.version))
    with TestClient(ok) as c:
        assert c.get("/healthz").headers["etag"] == f'W/"{pinned.version}"'


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("slow") / "out"
    new_run(out, "slow clients")
    proc, base = serve(out, workers=1)
    Log(proc)
    try:
        wait_until_up(proc, base)
        yield base
    finally:
        stop(proc)


def response(sock: socket.socket) -> bytes:
    """One whole /healthz response."""
    got = b""
    while not got.endswith(b'"ok"}'):
        chunk = sock.recv(4096)
        assert chunk, "closed before the response was whole"
        got += chunk
    return got


def closed_after(sock: socket.socket, limit_s: float) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock`` (reading what it sends meanwhile)."""
    t0 = time.monotonic()
    sock.settimeout(limit_s)
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except TimeoutError:
        return float("inf"), got
    return time.monotonic() - t0, got


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /heal", b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1"],
)
def test_a_half_sent_request_is_closed_within_the_header_timeout(
    one_worker: str, sent: bytes
) -> None:
    port = int(one_worker.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if sent:
            sock.sendall(sent)
        seconds, got = closed_after(sock, 4 * HEADER_TIMEOUT_S + 2)
    assert seconds < CLOSED_BY_S, "the connection stayed open"
    assert got == b"" or got.startswith(b"HTTP/1.1 408")


def test_a_request_dripping_a_byte_at_a_time_is_closed(one_worker: str) -> None:
    port = int(one_worker.rsplit(":", 1)[1])
    drip = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: b\r\n" * 50
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        t0 = time.monotonic()
        for byte in drip:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if select.select([sock], [], [], 0.05)[0]:  # the server answered or closed
                closed = True
                break
            if time.monotonic() - t0 > 4 * HEADER_TIMEOUT_S:
                break
        seconds = time.monotonic() - t0
    assert closed and seconds < CLOSED_BY_S


def test_requests_in_time_and_keep_alive_still_work(one_worker: str) -> None:
    port = int(one_worker.rsplit(":", 1)[1])
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request[:10])
        time.sleep(HEADER_TIMEOUT_S / 2)
        sock.sendall(request[10:])
        assert response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(HEADER_TIMEOUT_S * 1.2)  # idle between requests: keep-alive's 5 s
        sock.sendall(request)
        assert response(sock).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /hea")  # then half a request on the same connection
        seconds, _ = closed_after(sock, 4 * HEADER_TIMEOUT_S + 2)
    assert seconds < CLOSED_BY_S

"""Writes: a bearer key from ``GEODX_API_KEYS``, and a rate per key shared by workers.

Keys are compared in constant time (``hmac.compare_digest``, against every configured
key) and never logged or stored: a client is known by the SHA-256 of its key. The rate
is a token bucket per client in a small SQLite file in the state folder, so every
worker of ``geodx serve`` takes from the same bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import sqlite3
import time
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from api.settings import Settings

BEARER = "bearer"
RATE_FILE = "rate.sqlite"


class Unauthorized(HTTPException):
    """401 with ``WWW-Authenticate: Bearer``."""

    def __init__(self, detail: str, *, invalid: bool = False) -> None:
        challenge = 'Bearer realm="geodx"'
        if invalid:
            challenge += ', error="invalid_token"'
        super().__init__(401, detail, headers={"WWW-Authenticate": challenge})


class TooManyRequests(HTTPException):
    """429 with ``Retry-After`` (whole seconds)."""

    def __init__(self, detail: str, *, retry_after_s: float) -> None:
        seconds = str(max(1, math.ceil(retry_after_s)))
        super().__init__(429, detail, headers={"Retry-After": seconds})


def client_of(key: str) -> str:
    """The name a key is known by in the rate table (a digest, never the key)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def check_key(authorization: str | None, keys: list[str]) -> str:
    """The client (see :func:`client_of`) of a valid ``Bearer`` key.

    Every configured key is compared, in constant time, whatever matched first.

    Raises
    ------
    Unauthorized
        No ``Authorization: Bearer`` header, no keys configured, or an unknown key.

    Examples
    --------
    >>> check_key("Bearer s3cret", ["other", "s3cret"]) == client_of("s3cret")
    True
    """
    scheme, _, given = (authorization or "").strip().partition(" ")
    given = given.strip()
    if scheme.lower() != BEARER or not given:
        raise Unauthorized("this is a write: send Authorization: Bearer <API key>")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(key.encode("utf-8"), given.encode("utf-8"))
    if not ok:
        raise Unauthorized("the API key is not valid", invalid=True)
    return client_of(given)


def require_key(request: Request) -> str:
    """Dependency of every write: the client of the request's valid key."""
    settings: Settings = request.app.state.settings
    return check_key(request.headers.get("authorization"), settings.api_keys)


class TokenBucket:
    """``rate_per_minute`` requests per client, up to ``burst`` at once.

    The state is one row per client in an SQLite file (``BEGIN IMMEDIATE``: workers
    take in turn), or in memory when ``path`` is None.
    """

    def __init__(
        self, path: Path | None, *, rate_per_minute: float, burst: int
    ) -> None:
        self.path, self.rate, self.burst = path, rate_per_minute / 60.0, burst
        self._memory: dict[str, tuple[float, float]] = {}

    def take(self, client: str, now: float | None = None) -> float:
        """Take a token: 0 when granted, else the seconds until one is free."""
        now = time.time() if now is None else now
        if self.path is None:
            tokens, wait = self._refill(self._memory.get(client), now)
            self._memory[client] = (tokens, now)
            return wait
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute(
                "CREATE TABLE IF NOT EXISTS bucket "
                "(client TEXT PRIMARY KEY, tokens REAL, at REAL)"
            )
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT tokens, at FROM bucket WHERE client = ?", (client,)
            ).fetchone()
            tokens, wait = self._refill(row, now)
            db.execute(
                "INSERT OR REPLACE INTO bucket VALUES (?, ?, ?)", (client, tokens, now)
            )
            db.execute("COMMIT")
        finally:
            db.close()
        return wait

    def _refill(
        self, row: tuple[float, float] | None, now: float
    ) -> tuple[float, float]:
        """Tokens left after this request, and the wait (0 when it is granted)."""
        tokens = float(self.burst)
        if row is not None:
            tokens = min(self.burst, row[0] + max(0.0, now - row[1]) * self.rate)
        if tokens >= 1.0:
            return tokens - 1.0, 0.0
        return tokens, (1.0 - tokens) / self.rate

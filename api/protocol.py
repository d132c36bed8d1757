"""uvicorn's HTTP protocol with a deadline for the request line and headers (slowloris).

``geodx serve`` selects it: ``uvicorn.run(..., http="api.protocol:HeaderTimeoutProtocol")``.
"""

from __future__ import annotations

import asyncio
import functools

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.settings import Settings


@functools.cache
def header_timeout_s() -> float:
    """``GEODX_HEADER_TIMEOUT_S`` (read once per process)."""
    return Settings().header_timeout_s


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for the request line and headers.

    uvicorn bounds idle keep-alive connections but not a request that is only half
    sent: a client sending a byte now and then held its connection forever. Here a
    connection whose headers are not complete within :func:`header_timeout_s` of its
    opening (or of the first byte of its next request) is answered ``408`` and closed.
    """

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock when the connection opens."""
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        """Start the clock at the first byte of a request (unless already running)."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """Headers in time: stop the clock."""
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Closed: stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(header_timeout_s(), self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm()  # a response still streams: look again later
            return
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
            b"connection: close\r\n\r\n"
        )
        self.transport.close()

"""The HTTP protocol `todo-api serve` runs: uvicorn's httptools one, with a bounded request head
that must arrive in time.

httptools has no limit of its own: it buffers a header however long it grows, and a worker's
memory with it. Here the head's bytes are counted as they arrive and
its headers as they are parsed; past either limit the client gets 431 and the connection is
closed, before anything more is read. uvicorn's h11 protocol has such a limit
(`h11_max_incomplete_event_size`) but serves a fraction of httptools' requests per second.
"""

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from todo_api.core.config import get_settings

_REFUSAL_BODY = b'{"detail":"Request headers too large"}'
_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _REFUSAL_BODY
)


_TIMEOUT_BODY = b'{"detail":"Request head not received in time"}'
_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a refused head."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing heads over MAX_HEADER_BYTES or MAX_HEADERS, and
    closing a connection whose head has not all arrived REQUEST_HEAD_TIMEOUT_SECONDS after it
    began (a client that trickles a head, or sends nothing, holds a connection at no cost to
    itself: slowloris). The clock runs from the connection's start for its first request and
    from the first byte of each later one; uvicorn's keep-alive timeout covers the wait between.

    The byte count covers each read while a head is being received (a read that also holds the
    start of the body is split at the limit, so bodies never count); a pipelined request that
    follows a body in one read is counted from its next read on, so a head can never exceed the
    limit by more than one read (at most 256 KiB in asyncio).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.max_headers = settings.max_headers
        self._in_head = True
        self._head_left = self.max_head_bytes
        self._headers_seen = 0
        self._refused = False
        self.head_timeout = settings.request_head_timeout_seconds
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream connection's transport (uvloop's is one without subclassing it).
        super().connection_made(cast(asyncio.Transport, transport))
        self._start_head_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head and self._head_timer is None:
            self._start_head_clock()
        if self._in_head and len(data) > self._head_left:
            head, data = data[: self._head_left], data[self._head_left :]
            self._head_left = 0
            super().data_received(head)
            if self._refuse_an_unfinished_head():
                return
        elif self._in_head:
            self._head_left -= len(data)
        super().data_received(data)

    def _refuse_an_unfinished_head(self) -> bool:
        """After the head's last allowed byte: refuse it if it goes on; whether it is refused."""
        if self._in_head and not self._refused:
            self._refuse()
        return self._refused

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers_seen += 1
        if self._headers_seen > self.max_headers:
            self._refuse()
            raise _HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._stop_head_clock()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_left = self.max_head_bytes
        self._headers_seen = 0

    def send_400_response(self, msg: str) -> None:
        # A callback's _HeadTooLarge reaches uvicorn as a parser error: 431 is already sent.
        if not self._refused:
            super().send_400_response(msg)

    def _start_head_clock(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._refused = True
            self.transport.write(_TIMEOUT)
            self.transport.close()

    def _refuse(self) -> None:
        self._refused = True
        if not self.transport.is_closing():
            self.transport.write(_REFUSAL)
            self.transport.close()

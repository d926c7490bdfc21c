"""The HTTP/1.1 protocol ``wasmloop serve`` gives uvicorn: its httptools protocol, with the
request limits applied while the head is parsed, and a deadline for the head.

uvicorn's httptools protocol answers 400 to a request target past 65,535 bytes (httptools
cannot parse it) and takes any number of headers of any size; it also waits for a head for
ever, so a client that trickles its header lines holds a connection without end. Here:

- a request target over ``max_url_length`` → 414, connection closed (as ``wasmtime serve``);
- more than ``max_header_count`` fields or a header section over ``max_header_bytes`` → 431,
  connection closed, without buffering the rest of the head;
- a head not complete ``header_timeout`` seconds (30, hyper's default) after its first byte
  (or after the connection opened) → 408, connection closed;
- CL+TE and malformed chunk sizes are refused by httptools itself (400, connection closed),
  and by ``App`` for any request that gets through.

The limits are read from the ``App`` uvicorn serves (``config.loaded_app``), so the same
class works in worker processes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from .limits import RequestLimits

__all__ = ["WasmloopHttpProtocol", "HEADER_TIMEOUT"]

#: seconds a client has to send a whole request head (hyper's header_read_timeout)
HEADER_TIMEOUT = 30.0


class _Refuse(Exception):
    pass


def _limits_of(app: Any) -> RequestLimits:
    seen = 0
    while app is not None and seen < 8:
        lim = getattr(app, "limits", None)
        if isinstance(lim, RequestLimits):
            return lim
        app = getattr(app, "app", None)
        seen += 1
    return RequestLimits()


class WasmloopHttpProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """See the module doc."""

    header_timeout: float | None = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = _limits_of(self.app)
        self._refusal: int | None = None
        self._head_bytes = 0
        self._head_count = 0
        self._head_timer: asyncio.TimerHandle | None = None

    # -- the head deadline ---------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self.header_timeout is None or self._head_timer is not None:
            return
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self._write_refusal(408)

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self.cycle is None or self.cycle.response_complete:
            # between requests: bytes of a new head arrive
            self._arm_head_timer()
        super().data_received(data)

    # -- limits while parsing ------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._head_count = 0
        self._arm_head_timer()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        limit = self._limits.max_url_length
        if limit is not None and len(self.url) > limit:
            self._refusal = 414
            raise _Refuse()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        self._head_bytes += len(name) + len(value) + 4
        lim = self._limits
        if (lim.max_header_count is not None and self._head_count > lim.max_header_count) or \
                (lim.max_header_bytes is not None and self._head_bytes > lim.max_header_bytes):
            self._refusal = 431
            raise _Refuse()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        status, self._refusal = self._refusal, None
        if status is None:
            super().send_400_response(msg)
            return
        self._refusal = status
        self._write_refusal(status)

    def _write_refusal(self, status: int) -> None:
        self._disarm_head_timer()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.append(b"content-length: 0\r\nconnection: close\r\n\r\n")
        self.transport.write(b"".join(content))
        self.transport.close()

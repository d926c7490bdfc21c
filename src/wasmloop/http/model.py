"""The host's view of an HTTP exchange: ``Request``, ``Response``, ``HttpErrorCode`` and the
``Handler`` protocol. Everything in ``wasmloop.http`` speaks these: the ASGI App, the instance
pool, a component's exported handler (``ServiceInstance.handle``), a Python handler linked into
a middleware's imported handler, and the outgoing client.

- Header fields are ``(name, value)`` pairs of ``bytes``, names in lower case, in order, with
  repeats kept.
- A body is an async iterator of ``bytes`` chunks, or ``None`` for none. A body that came out
  of a component is its ``stream<u8>`` readable end (``wasmloop.StreamReader``); handing such a
  Request or Response on to another component moves that end there, so bytes go from one
  guest's memory to the next without passing through Python objects.
- Trailers are an awaitable giving the trailer fields (or ``None``), or ``None`` for none;
  awaiting it raises ``HttpErrorCode`` if the body failed.
- ``HttpErrorCode(case, payload)`` is wasi:http's ``error-code`` as an exception, so that a
  Python handler can ``raise`` one and a guest's ``err(error-code)`` can be caught as one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Request",
    "Response",
    "RequestOptions",
    "HttpErrorCode",
    "Handler",
    "Headers",
    "ERROR_CASES",
]

Headers = list[tuple[bytes, bytes]]

#: The cases of wasi:http's ``error-code`` (0.3.0 and 0.2.x have the same ones).
ERROR_CASES = (
    "DNS-timeout", "DNS-error", "destination-not-found", "destination-unavailable",
    "destination-IP-prohibited", "destination-IP-unroutable", "connection-refused",
    "connection-terminated", "connection-timeout", "connection-read-timeout",
    "connection-write-timeout", "connection-limit-reached", "TLS-protocol-error",
    "TLS-certificate-error", "TLS-alert-received", "HTTP-request-denied",
    "HTTP-request-length-required", "HTTP-request-body-size", "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid", "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size", "HTTP-request-header-size",
    "HTTP-request-trailer-section-size", "HTTP-request-trailer-size",
    "HTTP-response-incomplete", "HTTP-response-header-section-size",
    "HTTP-response-header-size", "HTTP-response-body-size",
    "HTTP-response-trailer-section-size", "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding", "HTTP-response-content-coding", "HTTP-response-timeout",
    "HTTP-upgrade-failed", "HTTP-protocol-error", "loop-detected", "configuration-error",
    "internal-error",
)
_CASES = frozenset(ERROR_CASES)


class HttpErrorCode(Exception):
    """wasi:http's ``error-code``: ``case`` is the WIT case name (``"HTTP-request-denied"``),
    ``payload`` its payload as a wasmloop value (``None`` for none; ``internal-error`` takes a
    string)."""

    def __init__(self, case: str, payload: Any = None) -> None:
        if case not in _CASES:
            raise ValueError(f"unknown wasi:http error-code case {case!r}")
        self.case = case
        self.payload = payload
        super().__init__(case if payload is None else f"{case}: {payload}")

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HttpErrorCode):
            return self.case == other.case and self.payload == other.payload
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.case, repr(self.payload)))

    def __repr__(self) -> str:
        if self.payload is None:
            return f"HttpErrorCode({self.case!r})"
        return f"HttpErrorCode({self.case!r}, {self.payload!r})"


@dataclass
class RequestOptions:
    """``request-options``: timeouts in seconds (``None``: the client's default)."""

    connect_timeout: float | None = None
    first_byte_timeout: float | None = None
    between_bytes_timeout: float | None = None


@dataclass
class Request:
    """An HTTP request. ``method`` is upper-case for the standard methods (``"GET"``) and as
    given otherwise; ``scheme`` is ``"http"``, ``"https"``, another scheme, or ``None``;
    ``authority`` is ``host[:port]`` or ``None``; ``path_with_query`` the request target
    (``"/a?b=c"``) or ``None``."""

    method: str
    scheme: str | None
    authority: str | None
    path_with_query: str | None
    headers: Headers = field(default_factory=list)
    body: AsyncIterator[bytes] | None = None
    trailers: Awaitable[Headers | None] | None = None
    options: RequestOptions | None = None


@dataclass
class Response:
    """An HTTP response: the status code, header fields, body and trailers."""

    status: int
    headers: Headers = field(default_factory=list)
    body: AsyncIterator[bytes] | None = None
    trailers: Awaitable[Headers | None] | None = None


@runtime_checkable
class Handler(Protocol):
    """Anything that answers requests: ``await handler.handle(request)`` gives a Response or
    raises ``HttpErrorCode``."""

    async def handle(self, request: Request) -> Response: ...

"""Request limits and framing checks for serving wasi:http components over ASGI.

An ASGI server hands an application whatever its parser accepted; uvicorn's fast parser
(httptools) alone takes a 1 MiB header value and 10,000 headers. The limits here are checked
by ``wasmloop.asgi.App`` before a request reaches a guest. The defaults are the ones
``wasmtime serve`` (hyper) shows, measured against Wasmtime 49:

- a request target of 65,535 bytes or more is refused with 414 (hyper's URI limit);
- more than 100 header fields (Host included) → 431 (hyper's default header count);
- a header section larger than about 480 KiB → 431 (hyper's read buffer ends near there);
- a body larger than ``max_body_size`` (no limit unless configured) → 413.

Framing (RFC 9112 §6.1, §6.3): a request carrying both Content-Length and Transfer-Encoding,
several Content-Length values that differ, a Content-Length that is not a number, or a
Transfer-Encoding whose last coding is not ``chunked`` is refused with 400 and its connection
is closed, so that nothing hidden in a body can be read as a request of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RequestLimits", "Refusal", "check_request", "content_length"]

#: Wasmtime 49 (hyper) answers 414 for a request target of this many bytes or more.
_HYPER_MAX_URI = 65534


@dataclass(frozen=True)
class RequestLimits:
    """Limits on one request; ``None`` turns a limit off."""

    #: longest request target (path and query, as sent) in bytes → 414
    max_url_length: int | None = _HYPER_MAX_URI
    #: most header fields → 431
    max_header_count: int | None = 100
    #: largest header section, counted as ``name: value\\r\\n`` per field → 431
    max_header_bytes: int | None = 480 * 1024
    #: largest request body in bytes → 413 (checked against Content-Length up front and
    #: while the body streams)
    max_body_size: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_url_length", "max_header_count", "max_header_bytes", "max_body_size"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise ValueError(f"{name} must be a non-negative int or None, got {v!r}")


@dataclass(frozen=True)
class Refusal:
    """Why a request is answered by the host instead of the guest."""

    status: int
    reason: str
    #: end the connection after answering (framing errors)
    close: bool = False


class _BadLength(ValueError):
    pass


def content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, or None when it has none. Raises ``ValueError`` when
    it is malformed or given several times with different values."""
    value: int | None = None
    for name, v in headers:
        if name.lower() != b"content-length":
            continue
        for part in v.split(b","):
            part = part.strip(b" \t")
            if not part or not part.isdigit() or len(part) > 19:
                raise _BadLength(f"malformed Content-Length {v[:40]!r}")
            n = int(part)
            if value is not None and n != value:
                raise _BadLength("several different Content-Length values")
            value = n
    return value


def _url_length(scope: dict[str, Any]) -> int:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes | bytearray):
        n = len(raw)
    else:
        n = len(str(scope.get("path", "")).encode("utf-8", "surrogateescape"))
    q = scope.get("query_string") or b""
    return n + (len(q) + 1 if q else 0)


def check_request(scope: dict[str, Any], limits: RequestLimits) -> Refusal | None:
    """Check an ASGI ``http`` scope's head against ``limits`` and the framing rules."""
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or ())
    # framing first: a smuggling attempt must end its connection whatever else is wrong
    te = [v for n, v in headers if n.lower() == b"transfer-encoding"]
    try:
        cl = content_length(headers)
    except ValueError as e:
        return Refusal(400, str(e), close=True)
    if te:
        if cl is not None or any(n.lower() == b"content-length" for n, _ in headers):
            return Refusal(400, "both Content-Length and Transfer-Encoding", close=True)
        codings = [c.strip(b" \t").lower() for v in te for c in v.split(b",") if c.strip()]
        if not codings or codings[-1] != b"chunked":
            return Refusal(400, "Transfer-Encoding does not end in chunked", close=True)
    if limits.max_url_length is not None and _url_length(scope) > limits.max_url_length:
        return Refusal(414, "request target too long", close=True)
    if limits.max_header_count is not None and len(headers) > limits.max_header_count:
        return Refusal(431, "too many header fields", close=True)
    if limits.max_header_bytes is not None:
        size = sum(len(n) + len(v) + 4 for n, v in headers)
        if size > limits.max_header_bytes:
            return Refusal(431, "header section too large", close=True)
    if limits.max_body_size is not None and cl is not None and cl > limits.max_body_size:
        return Refusal(413, "request body too large", close=True)
    return None

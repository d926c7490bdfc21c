"""Outgoing requests for guests: ``HttpClient``, on httpx.

httpx is the one async HTTP client here (also the tests' client): it streams request and
response bodies both ways, takes a timeout per phase (connect, read, write, pool), speaks
HTTP/1.1 and HTTP/2, and keeps a connection pool; aiohttp would do as well but brings its
own server and a second HTTP stack. wasmloop turns off what a sandboxed guest must not get
implicitly: proxies and certificates from the environment (``trust_env=False``), redirects,
and content decoding (the guest gets the bytes the server sent, as under Wasmtime).

Destinations are an allow-list of ``host[:port]`` (``*`` allows any, ``host`` any port of
it); anything else fails with ``HTTP-request-denied`` before a connection is made. The
``request-options`` timeouts apply: connect, first byte (the response head), between bytes
(each body chunk).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

from ..values import Record
from .model import HttpErrorCode, Request, Response

__all__ = ["HttpClient", "parse_allow"]

#: Timeouts when the guest sets none (seconds): Wasmtime's defaults.
DEFAULT_CONNECT = 600.0
DEFAULT_FIRST_BYTE = 600.0
DEFAULT_BETWEEN_BYTES = 600.0


def parse_allow(entries: Iterable[str]) -> list[tuple[str, int | None]]:
    """``host[:port]`` entries (``[v6]:port`` for IPv6) as (lower-case host, port or None)."""
    out: list[tuple[str, int | None]] = []
    for e in entries:
        e = e.strip()
        if not e:
            raise ValueError("an empty --allow-http destination")
        if e == "*":
            out.append(("*", None))
            continue
        host, port = _split_authority(e)
        if port is not None and not 0 < port < 65536:
            raise ValueError(f"--allow-http {e!r}: bad port")
        out.append((host.lower(), port))
    return out


def _split_authority(a: str) -> tuple[str, int | None]:
    a = a.rpartition("@")[2]
    if a.startswith("["):
        end = a.find("]")
        if end < 0:
            raise ValueError(f"{a!r}: unclosed [")
        host, rest = a[1:end], a[end + 1:]
    elif a.count(":") == 1:
        host, _, p = a.partition(":")
        rest = ":" + p
    else:
        host, rest = a, ""
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit():
            raise ValueError(f"{a!r}: bad port")
        return host, int(rest[1:])
    return host, None


class HttpClient:
    """Sends ``Request``s for guests (the ``client`` import; 0.2's outgoing-handler). See the
    module doc. ``allow``: destinations; ``http2``: offer HTTP/2 over TLS."""

    def __init__(self, allow: Iterable[str] = (), *, http2: bool = False,
                 verify: Any = True) -> None:
        self.allow = parse_allow(allow)
        self._http2 = http2
        self._verify = verify
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def allowed(self, host: str, port: int) -> bool:
        h = host.lower().strip("[]")
        for ah, ap in self.allow:
            if ah == "*" or (ah == h and (ap is None or ap == port)):
                return True
        return False

    def _httpx(self) -> Any:
        import httpx

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                trust_env=False, follow_redirects=False, http2=self._http2,
                verify=self._verify, timeout=None,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None

    async def send(self, request: Request) -> Response:
        import httpx

        scheme = (request.scheme or "http").lower()
        if scheme not in ("http", "https"):
            raise HttpErrorCode("HTTP-protocol-error")
        if not request.authority:
            raise HttpErrorCode("HTTP-request-URI-invalid")
        try:
            host, port = _split_authority(request.authority)
        except ValueError:
            raise HttpErrorCode("HTTP-request-URI-invalid") from None
        if port is None:
            port = 443 if scheme == "https" else 80
        if not self.allowed(host, port):
            raise HttpErrorCode("HTTP-request-denied")
        opts = request.options
        connect = opts.connect_timeout if opts and opts.connect_timeout is not None \
            else DEFAULT_CONNECT
        first = opts.first_byte_timeout if opts and opts.first_byte_timeout is not None \
            else DEFAULT_FIRST_BYTE
        between = opts.between_bytes_timeout if opts and opts.between_bytes_timeout is not None \
            else DEFAULT_BETWEEN_BYTES
        shown = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{shown}:{port}{request.path_with_query or '/'}"
        body = request.body
        content = _chunks(body) if body is not None else None
        client = self._httpx()
        try:
            req = client.build_request(
                request.method, httpx.URL(url), headers=list(request.headers),
                content=content,
                timeout=httpx.Timeout(connect=connect, read=first, write=between, pool=connect))
            if request.authority:
                req.headers["host"] = request.authority
            if content is None:
                req.headers.pop("transfer-encoding", None)
            resp = await client.send(req, stream=True)
        except HttpErrorCode:
            raise
        except Exception as e:  # noqa: BLE001 - every failure is an error-code for the guest
            raise _error_of(e) from e
        return Response(resp.status_code,
                        [(bytes(n).lower(), bytes(v)) for n, v in resp.headers.raw],
                        _ResponseBody(resp, between), None)


async def _chunks(body: Any) -> AsyncIterator[bytes]:
    async for c in body:
        if c:
            yield bytes(c)


class _ResponseBody:
    """The response body from httpx, raw, with the between-bytes timeout."""

    def __init__(self, resp: Any, between: float) -> None:
        self._resp = resp
        self._it = resp.aiter_raw()
        self._between = between
        self._done = False

    def __aiter__(self) -> _ResponseBody:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        try:
            async with asyncio.timeout(self._between):
                return bytes(await anext(self._it))
        except StopAsyncIteration:
            await self.aclose()
            raise
        except TimeoutError:
            await self.aclose()
            raise HttpErrorCode("connection-read-timeout") from None
        except Exception as e:  # noqa: BLE001
            await self.aclose()
            raise _error_of(e) from e

    async def aclose(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(Exception):
                await self._resp.aclose()


def _error_of(e: BaseException) -> HttpErrorCode:
    import httpx

    if isinstance(e, httpx.ConnectTimeout | httpx.PoolTimeout):
        return HttpErrorCode("connection-timeout")
    if isinstance(e, httpx.ReadTimeout):
        return HttpErrorCode("connection-read-timeout")
    if isinstance(e, httpx.WriteTimeout):
        return HttpErrorCode("connection-write-timeout")
    if isinstance(e, httpx.ConnectError):
        text = str(e).lower()
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text \
                or "name resolution" in text:
            return HttpErrorCode("DNS-error", Record({"rcode": None, "info-code": None}))
        if "certificate" in text:
            return HttpErrorCode("TLS-certificate-error")
        if "ssl" in text or "tls" in text:
            return HttpErrorCode("TLS-protocol-error")
        return HttpErrorCode("connection-refused")
    if isinstance(e, httpx.RemoteProtocolError):
        return HttpErrorCode("HTTP-protocol-error")
    if isinstance(e, httpx.ReadError | httpx.WriteError):
        return HttpErrorCode("connection-terminated")
    if isinstance(e, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return HttpErrorCode("HTTP-request-URI-invalid")
    return HttpErrorCode("internal-error", f"{type(e).__name__}: {e}")

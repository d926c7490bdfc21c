"""``wasmloop.asgi.App``: an ASGI 3 application that serves a wasi:http service component.

```python
from wasmloop.asgi import App
app = App("handler.wasm")                     # uvicorn mod:app, hypercorn mod:app, granian …
app = App(["logging.wasm", "headers.wasm", "handler.wasm"])     # a middleware chain
app = App(["headers.wasm"], next=fastapi_app)  # a wasm middleware in front of a Python app
```

- The component is linked once, at start-up (the ASGI lifespan protocol; on the first request
  under servers or mounts that send no lifespan events), and its first instance made then.
  Instances come from an ``InstancePool`` with Wasmtime's defaults (``wasmloop.http.pool``).
- Request and response bodies stream both ways with backpressure: the guest pulls request
  chunks from the server's ``receive()`` one at a time; the next response chunk is taken from
  the guest only when the server has sent the last one.
- Response trailers are sent where the server advertises ``http.response.trailers``.
- Limits and framing (``wasmloop.http.limits``): 414, 431, 413, and 400 with the connection
  closed for a request that has both Content-Length and Transfer-Encoding.
- Errors: a guest ``error-code``, a trap or the deadline (``timeout``) before the response
  head is sent give 500, with the page ``wasmtime serve`` sends (Wasmtime answers its own
  deadline with 500 too; ``timeout_status=504`` changes that). After the head has gone, the
  connection is ended without the final chunk, so the client sees a truncated body.
- A client that disconnects cancels the guest's task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .errors import Trap, WasmloopError
from .http.limits import Refusal, RequestLimits, check_request, content_length
from .http.pool import InstancePool, PoolOptions, release_response
from .streams import BrokenResourceError

__all__ = ["App", "ERROR_PAGE", "RequestLimits", "PoolOptions"]

log = logging.getLogger("wasmloop.serve")

ASGIApp = Callable[..., Awaitable[None]]

#: The body of the host's own 500 answer: the page ``wasmtime serve`` sends, signed wasmloop.
ERROR_PAGE = b"""<!doctype html>
<html>
<head>
    <title>500 Internal Server Error</title>
</head>
<body>
    <center>
        <h1>500 Internal Server Error</h1>
        <hr>
        wasmloop
    </center>
</body>
</html>"""

#: Header fields a guest never sees in a request: the ones that describe one connection
#: (RFC 9110 §7.6.1) and the rest of Wasmtime's forbidden list (``wasmtime serve`` strips the
#: same ones; it passes ``te`` on). ``host`` becomes the request's authority.
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade",
    b"http2-settings", b"proxy-authorization", b"proxy-authenticate", b"host",
})
_RESPONSE_DROP = HOP_BY_HOP - {b"host", b"proxy-authenticate"}


class ClientDisconnected(ConnectionError):
    """The client went away before the request body was read to its end."""


class BodyTooLarge(Exception):
    """The request body passed ``max_body_size`` while it streamed."""


def _error_code(case: str, payload: Any = None) -> BaseException:
    from .http.model import HttpErrorCode

    return HttpErrorCode(case, payload)


class _RequestBody:
    """The request body as an async iterator that pulls from ``receive()`` on demand."""

    def __init__(self, receive: Callable[[], Awaitable[dict[str, Any]]],
                 limit: int | None) -> None:
        self._receive = receive
        self._limit = limit
        self.received = 0
        self.finished = asyncio.Event()     # the body is read to its end (or failed)
        self.disconnected = False
        self.too_large = False
        self._done = False

    def __aiter__(self) -> _RequestBody:
        return self

    async def __anext__(self) -> bytes:
        while not self._done:
            msg = await self._receive()
            kind = msg.get("type")
            if kind == "http.disconnect":
                self._done = True
                self.disconnected = True
                self.finished.set()
                # a body the client cut short: the case Wasmtime gives a guest for it
                raise _error_code("HTTP-protocol-error")
            if kind != "http.request":
                continue
            chunk = bytes(msg.get("body") or b"")
            if not msg.get("more_body", False):
                self._done = True
                self.finished.set()
            if chunk:
                self.received += len(chunk)
                if self._limit is not None and self.received > self._limit:
                    self._done = True
                    self.too_large = True
                    self.finished.set()
                    raise _error_code("HTTP-request-body-size", self.received)
                return chunk
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._done = True
        self.finished.set()


def _has_body(headers: list[tuple[bytes, bytes]], http_version: str) -> bool:
    if any(n == b"transfer-encoding" for n, _ in headers):
        return True
    try:
        cl = content_length(headers)
    except ValueError:
        return True
    if cl is not None:
        return cl > 0
    return not http_version.startswith("1")     # HTTP/2 and 3 frame bodies without a length


def _path_with_query(scope: Mapping[str, Any]) -> str:
    root = str(scope.get("root_path") or "")
    path = str(scope.get("path") or "/")
    raw = scope.get("raw_path")
    if isinstance(raw, bytes | bytearray) and raw:
        target = bytes(raw).decode("latin-1")
        if root and target.startswith(quote(root, safe="/%")):
            target = target[len(quote(root, safe="/%")):] or "/"
        elif root and path.startswith(root):
            target = quote(path[len(root):] or "/", safe="/%:@!$&'()*+,;=-._~")
    else:
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        target = quote(path, safe="/%:@!$&'()*+,;=-._~")
    q = scope.get("query_string") or b""
    if q:
        target += "?" + bytes(q).decode("latin-1")
    return target


def _authority(scope: Mapping[str, Any], headers: list[tuple[bytes, bytes]]) -> str | None:
    for n, v in headers:
        if n == b"host":
            return v.decode("latin-1")
    server = scope.get("server")
    if server and server[0] is not None:
        host, port = server[0], server[1]
        if ":" in str(host):
            host = f"[{host}]"
        return f"{host}:{port}" if port is not None else str(host)
    return None


class App:
    """An ASGI 3 application serving a wasi:http service component (see the module doc).

    ``component_or_path``: a path, the component's bytes, a ``wasmloop.Component``, a linked
    service (anything with ``new_instance()``), a ``Handler`` (``handle(Request)``), or a
    sequence of those: a middleware chain, outermost first, each one's imported handler
    linked to the next one's export. ``next`` is what the innermost component's imported
    handler calls: a Handler or a Python ASGI application.

    Options: ``wasi`` (a ``wasmloop.wasi.WasiConfig``), ``engine``, ``limits``
    (``RequestLimits``), ``pool`` (``PoolOptions``) or its fields one by one
    (``max_instance_reuse``, ``max_instance_concurrency``, ``fresh_instance_per_request``,
    ``idle_instance_timeout``, ``max_concurrent_requests``), ``timeout`` (seconds for the
    whole request, None for none), ``timeout_status`` (500, as Wasmtime), ``headers``
    (``[(name, value)]`` set on every request before the guest sees it, as ``wasmtime serve
    -H``), ``allow_http`` (outgoing request destinations, ``host[:port]``; empty denies all),
    ``service_options`` (more keyword arguments for ``wasmloop.http.load_service``).
    """

    def __init__(
        self,
        component_or_path: Any,
        *,
        next: Any = None,
        wasi: Any = None,
        engine: Any = None,
        limits: RequestLimits | None = None,
        pool: PoolOptions | None = None,
        max_instance_reuse: int | None = None,
        max_instance_concurrency: int | None = None,
        fresh_instance_per_request: bool = False,
        idle_instance_timeout: float | None | str = "default",
        max_concurrent_requests: int | None = None,
        timeout: float | None = None,
        timeout_status: int = 500,
        headers: Sequence[tuple[str | bytes, str | bytes]] = (),
        allow_http: Sequence[str] = (),
        service_options: Mapping[str, Any] | None = None,
    ) -> None:
        items = list(component_or_path) if isinstance(component_or_path, list | tuple) \
            else [component_or_path]
        if not items:
            raise ValueError("App needs a component")
        self._items = items
        self._next = next
        self.wasi = wasi
        self.engine = engine
        self.limits = limits or RequestLimits()
        base = pool or PoolOptions()
        changes: dict[str, Any] = {}
        if max_instance_reuse is not None:
            changes["max_reuse"] = max_instance_reuse
        if fresh_instance_per_request:
            changes["max_reuse"] = 1
        if max_instance_concurrency is not None:
            changes["max_concurrent"] = max_instance_concurrency
        if idle_instance_timeout != "default":
            changes["idle_timeout"] = idle_instance_timeout
        if max_concurrent_requests is not None:
            changes["max_requests"] = max_concurrent_requests
        self.pool_options = PoolOptions(**{**base.__dict__, **changes}) if changes else base
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self.timeout_status = timeout_status
        self.extra_headers = [(_b(n).lower(), _b(v)) for n, v in headers]
        self.allow_http = list(allow_http)
        self.service_options = dict(service_options or {})
        self.handler: Any = None
        self.pools: list[InstancePool] = []
        self._next_handler: Any = None
        self._start_lock: asyncio.Lock | None = None
        self._started = False
        self._start_error: BaseException | None = None

    # -- start-up and shut-down ------------------------------------------------------------

    async def startup(self) -> None:
        """Link the component(s) and make the first instance; idempotent."""
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            if self._start_error is not None:
                raise self._start_error
            try:
                await self._load()
            except BaseException as e:
                self._start_error = e
                raise
            self._started = True

    async def shutdown(self) -> None:
        for p in reversed(self.pools):
            await p.close()
        self.pools.clear()
        nh = self._next_handler
        if nh is not None and hasattr(nh, "shutdown"):
            await nh.shutdown()
        self._started = False
        self._start_error = None

    @contextlib.asynccontextmanager
    async def lifespan_context(self, _app: Any = None) -> AsyncIterator[None]:
        """For frameworks that take a lifespan context: ``FastAPI(lifespan=app.lifespan_context)``
        (a mounted app gets no lifespan events of its own)."""
        await self.startup()
        try:
            yield
        finally:
            await self.shutdown()

    async def _load(self) -> None:
        handler: Any = None
        if self._next is not None:
            handler = self._next
            if not hasattr(handler, "handle"):
                from .http.asgi_next import asgi_handler

                handler = asgi_handler(handler)
            if hasattr(handler, "startup"):
                await handler.startup()
            self._next_handler = handler
        for i, item in enumerate(reversed(self._items)):
            innermost = i == 0
            if hasattr(item, "handle") and not hasattr(item, "new_instance"):
                if not innermost or handler is not None:
                    raise ValueError("a Python handler can only be the innermost of a chain")
                handler = item
                continue
            if callable(item) and not hasattr(item, "new_instance") and \
                    not isinstance(item, str | bytes | os.PathLike):
                if not innermost or handler is not None:
                    raise ValueError("a Python ASGI app can only be the innermost of a chain")
                from .http.asgi_next import asgi_handler

                handler = asgi_handler(item)
                await handler.startup()
                self._next_handler = handler
                continue
            factory = item if hasattr(item, "new_instance") else \
                await self._link(item, handler)
            pool = InstancePool(factory, self.pool_options)
            await pool.start()
            self.pools.append(pool)
            handler = pool
        self.handler = handler

    async def _link(self, item: Any, next_handler: Any) -> Any:
        from . import http
        from .host import Component, Engine

        if self.engine is None:
            self.engine = Engine()
        if isinstance(item, str | os.PathLike):
            component = Component.from_file(self.engine, item)
        elif isinstance(item, bytes | bytearray | memoryview):
            component = Component(self.engine, item)
        else:
            component = item
        kwargs: dict[str, Any] = dict(self.service_options)
        if next_handler is not None:
            kwargs["next"] = next_handler
        if self.allow_http and "client" not in kwargs:
            kwargs["client"] = http.HttpClient(allow=self.allow_http)
        load: Any = http.load_service
        return await load(component, self.wasi, **kwargs)

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        kind = scope.get("type")
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}")

    async def _lifespan(self, receive: Callable[[], Awaitable[Any]],
                        send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as e:  # noqa: BLE001 - reported to the server
                    log.error("start-up failed: %s", e)
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                try:
                    await self.shutdown()
                except Exception as e:  # noqa: BLE001
                    await send({"type": "lifespan.shutdown.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                    send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        refusal = check_request(scope, self.limits)
        if refusal is not None:
            log.info("refused %s %s: %s", scope.get("method"), refusal.status, refusal.reason)
            await _send_refusal(send, refusal)
            return
        try:
            await self.startup()
        except Exception as e:  # noqa: BLE001 - the server stays up, the request gets 500
            log.error("the service could not start: %s", e)
            await _send_error(send, 500)
            return
        headers: list[tuple[bytes, bytes]] = [(bytes(n).lower(), bytes(v))
                                              for n, v in scope.get("headers") or ()]
        body = _RequestBody(receive, self.limits.max_body_size)
        has_body = _has_body(headers, str(scope.get("http_version", "1.1")))
        if not has_body:
            body.finished.set()
        request = self._request(scope, headers, body if has_body else None)
        work = asyncio.ensure_future(self._respond(scope, send, request, body))
        watcher = asyncio.ensure_future(_watch_disconnect(receive, body))
        try:
            done, _ = await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if work not in done and watcher.result():
                log.info("client disconnected: the guest's task is cancelled")
                work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            watcher.cancel()
            if not work.done():
                work.cancel()
                with contextlib.suppress(BaseException):
                    await work

    def _request(self, scope: Mapping[str, Any], headers: list[tuple[bytes, bytes]],
                 body: _RequestBody | None) -> Any:
        from .http.model import Request

        authority = _authority(scope, headers)
        guest_headers = [(n, v) for n, v in headers if n not in HOP_BY_HOP]
        for name, value in self.extra_headers:
            if name == b"host":
                authority = value.decode("latin-1")
                continue
            guest_headers = [(n, v) for n, v in guest_headers if n != name]
            guest_headers.append((name, value))
        scheme = scope.get("scheme") or "http"
        return Request(method=str(scope.get("method", "GET")), scheme=scheme,
                       authority=authority, path_with_query=_path_with_query(scope),
                       headers=guest_headers, body=body)

    async def _respond(self, scope: Mapping[str, Any],
                       send: Callable[[dict[str, Any]], Awaitable[None]], request: Any,
                       body: _RequestBody) -> None:
        from .http.model import HttpErrorCode

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        started = False
        response: Any = None
        what = f"{request.method} {request.path_with_query}"
        clock = asyncio.timeout_at(_loop_time(deadline))
        try:
            async with clock:
                response = await self.handler.handle(request)
                if body.too_large:
                    raise _error_code("HTTP-request-body-size", body.received)
                status = int(response.status)
                if not 100 <= status <= 599:
                    raise _error_code("internal-error", f"status code {status} out of range")
                out_headers = [(bytes(n), bytes(v)) for n, v in response.headers
                               if bytes(n).lower() not in _RESPONSE_DROP]
                trailers_ok = "http.response.trailers" in (scope.get("extensions") or {})
                start: dict[str, Any] = {"type": "http.response.start", "status": status,
                                         "headers": out_headers}
                if trailers_ok:
                    start["trailers"] = True
                await send(start)
                started = True
                if response.body is not None:
                    async for chunk in response.body:
                        if chunk:
                            await send({"type": "http.response.body", "body": bytes(chunk),
                                        "more_body": True})
                trailers = None
                if response.trailers is not None:
                    trailers = await response.trailers
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            if trailers_ok:
                await send({"type": "http.response.trailers",
                            "headers": [(bytes(n).lower(), bytes(v))
                                        for n, v in (trailers or [])],
                            "more_trailers": False})
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            log.error("%s: guest timed out", what)
            await self._fail(send, started, self.timeout_status)
        except HttpErrorCode as e:
            if body.disconnected:
                return
            if body.too_large:
                log.info("%s: request body over %s bytes", what, self.limits.max_body_size)
                await self._fail(send, started, 413, close=True)
                return
            log.error("%s: error: %s", what, _describe_error(e))
            await self._fail(send, started, 500)
        except Trap as e:
            if clock.expired():
                # the deadline cancelled the guest and it trapped on the cancellation
                # (componentize-py does): the deadline is what the client should hear of
                log.error("%s: guest timed out (it trapped when cancelled: %s)", what,
                          str(e).splitlines()[0] if str(e) else e)
                await self._fail(send, started, self.timeout_status)
                return
            log.error("%s: guest trapped: %s", what, str(e).splitlines()[0] if str(e) else e)
            await self._fail(send, started, 500)
        except BrokenResourceError as e:  # the body's or trailers' writer trapped
            log.error("%s: %s", what, e)
            await self._fail(send, started, 500)
        except OSError as e:            # the client went away while we wrote
            log.info("%s: client gone: %s", what, e)
        except (WasmloopError, Exception) as e:  # noqa: BLE001 - never take the server down
            log.error("%s: internal error: %s: %s", what, type(e).__name__, e)
            await self._fail(send, started, 500)
        finally:
            if response is not None:
                await release_response(response)

    async def _fail(self, send: Callable[[dict[str, Any]], Awaitable[None]], started: bool,
                    status: int, close: bool = False) -> None:
        if started:
            # the head has gone: end the connection without the last chunk (the server
            # closes a connection whose response its app left unfinished)
            return
        with contextlib.suppress(OSError):
            if status == 500:
                await _send_error(send, 500)
            else:
                await _send_refusal(send, Refusal(status, "", close=close))


def _loop_time(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _describe_error(e: BaseException) -> str:
    case = getattr(e, "case", None)
    payload = getattr(e, "payload", None)
    if case is None:
        return str(e)
    return f"ErrorCode::{case}" + (f"({payload!r})" if payload is not None else "")


async def _watch_disconnect(receive: Callable[[], Awaitable[Any]], body: _RequestBody) -> bool:
    """True when the client disconnects after the body was read (the body reader sees a
    disconnect before that itself)."""
    await body.finished.wait()
    if body.disconnected:
        return True
    while True:
        msg = await receive()
        if msg.get("type") == "http.disconnect":
            return True


async def _send_error(send: Callable[[dict[str, Any]], Awaitable[None]], status: int) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=UTF-8"),
                            (b"content-length", str(len(ERROR_PAGE)).encode())]})
    await send({"type": "http.response.body", "body": ERROR_PAGE, "more_body": False})


async def _send_refusal(send: Callable[[dict[str, Any]], Awaitable[None]],
                        refusal: Refusal) -> None:
    headers = [(b"content-length", b"0")]
    if refusal.close:
        headers.insert(0, (b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _b(v: str | bytes) -> bytes:
    return v if isinstance(v, bytes) else v.encode("latin-1")

"""A Python ASGI application as a wasi:http ``Handler``: ``asgi_handler(app)``.

This is what lets a wasm middleware sit in front of FastAPI or Starlette in one process: the
middleware's imported handler is linked to the returned object, whose ``handle(Request)``
runs the ASGI app on the same loop.

- The request body streams into the app: ``receive()`` takes the next chunk from the
  request's body iterator only when the app asks for it.
- The response streams back: each ``http.response.body`` the app sends waits until the
  previous chunk was taken by the reader (one chunk in hand), so a slow reader slows the app.
- ``handle`` returns once the app sent ``http.response.start``; an app that fails before that
  gives ``HttpErrorCode("internal-error", …)``; one that fails after it ends the body with
  that error. A reader that stops early cancels the app's task.
- ``startup()``/``shutdown()`` run the app's lifespan protocol, if it speaks it.
- Response trailers (``http.response.trailers``) are passed on: the scope advertises the
  extension.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator
from typing import Any
from urllib.parse import unquote

from .model import HttpErrorCode, Request, Response

__all__ = ["asgi_handler", "AsgiHandler"]

log = logging.getLogger("wasmloop.serve")

_END = object()


def asgi_handler(app: Callable[..., Awaitable[None]], *, root_path: str = "",
                 client: tuple[str, int] | None = None) -> AsgiHandler:
    """``app`` (an ASGI 3 callable) as a Handler."""
    return AsgiHandler(app, root_path=root_path, client=client)


class _Lifespan:
    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.supported = True

    async def _run(self) -> None:
        try:
            await self.app({"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"},
                            "state": {}}, self.to_app.get, self.from_app.put)
        except BaseException as e:
            if isinstance(e, asyncio.CancelledError):
                raise
            # an app that does not speak lifespan raises on the scope type: not an error
            self.supported = False
            await self.from_app.put({"type": "_failed", "message": str(e)})

    async def startup(self) -> None:
        self.task = asyncio.ensure_future(self._run())
        await self.to_app.put({"type": "lifespan.startup"})
        msg = await self.from_app.get()
        if msg["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the ASGI app's start-up failed: {msg.get('message', '')}")

    async def shutdown(self) -> None:
        if self.task is None or self.task.done() or not self.supported:
            return
        await self.to_app.put({"type": "lifespan.shutdown"})
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.from_app.get(), 10)
        if not self.task.done():
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task


class AsgiHandler:
    """See ``asgi_handler``."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, root_path: str = "",
                 client: tuple[str, int] | None = None) -> None:
        self.app = app
        self.root_path = root_path
        self.client = client
        self.broken = False
        self._lifespan: _Lifespan | None = None
        self.state: dict[str, Any] = {}

    async def startup(self) -> None:
        if self._lifespan is None:
            self._lifespan = _Lifespan(self.app)
            await self._lifespan.startup()

    async def shutdown(self) -> None:
        if self._lifespan is not None:
            await self._lifespan.shutdown()
            self._lifespan = None

    def _scope(self, request: Request) -> dict[str, Any]:
        target = request.path_with_query or "/"
        path, _, query = target.partition("?")
        authority = request.authority
        server: tuple[str, int | None] | None = None
        headers = list(request.headers)
        if authority:
            host, _, port = authority.rpartition(":") if authority.rfind(":") > \
                authority.rfind("]") else (authority, "", "")
            scheme_port = 443 if request.scheme == "https" else 80
            server = (host.strip("[]"), int(port) if port.isdigit() else scheme_port)
            if not any(n == b"host" for n, _ in headers):
                headers.insert(0, (b"host", authority.encode("latin-1")))
        return {
            "type": "http",
            # 2.4: a send after the reader went away raises OSError, so apps need not read
            # receive() for a disconnect while they stream (Starlette would otherwise read
            # body messages from a second task and drop them)
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme or "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": self.root_path,
            "headers": headers,
            "client": self.client,
            "server": server,
            "extensions": {"http.response.trailers": {}},
            "state": dict(self.state),
        }

    async def handle(self, request: Request) -> Response:
        scope = self._scope(request)
        body_iter = aiter(request.body) if request.body is not None else None
        response_done = asyncio.Event()
        start: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        chunks: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
        trailers: asyncio.Future[list[tuple[bytes, bytes]] | None] = \
            asyncio.get_running_loop().create_future()
        want_trailers = False
        body_ended = False

        receiving = asyncio.Lock()

        async def receive() -> dict[str, Any]:
            # apps call receive() from two tasks at once (Starlette's StreamingResponse
            # listens for a disconnect while the handler reads the body): one at a time
            async with receiving:
                return await receive_one()

        async def receive_one() -> dict[str, Any]:
            nonlocal body_iter
            if body_iter is None:
                if not getattr(receive, "sent_empty", False):
                    receive.sent_empty = True  # type: ignore[attr-defined]
                    return {"type": "http.request", "body": b"", "more_body": False}
                await response_done.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await anext(body_iter)
            except StopAsyncIteration:
                body_iter = None
                receive.sent_empty = True  # type: ignore[attr-defined]
                return {"type": "http.request", "body": b"", "more_body": False}
            except HttpErrorCode:
                body_iter = None
                receive.sent_empty = True  # type: ignore[attr-defined]
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": bytes(chunk), "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            nonlocal want_trailers, body_ended
            kind = message.get("type")
            if kind == "http.response.start":
                if start.done():
                    raise RuntimeError("http.response.start sent twice")
                want_trailers = bool(message.get("trailers", False))
                start.set_result(message)
            elif kind == "http.response.body":
                if not start.done() or body_ended:
                    raise RuntimeError("http.response.body out of order")
                data = bytes(message.get("body") or b"")
                if data:
                    await chunks.put(data)
                if not message.get("more_body", False):
                    body_ended = True
                    await chunks.put(_END)
                    if not want_trailers and not trailers.done():
                        trailers.set_result(None)
            elif kind == "http.response.trailers":
                if not trailers.done():
                    trailers.set_result([(bytes(n).lower(), bytes(v))
                                         for n, v in message.get("headers") or ()])
            elif kind in ("http.response.pathsend", "http.response.zerocopysend"):
                raise RuntimeError(f"{kind} is not supported")

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - handed to the caller as an error-code
                err = HttpErrorCode("internal-error", f"{type(e).__name__}: {e}")
                if not start.done():
                    start.set_exception(err)
                else:
                    await chunks.put(err)
                return
            if not start.done():
                start.set_exception(HttpErrorCode(
                    "internal-error", "the ASGI app returned without a response"))
            elif not body_ended:
                await chunks.put(HttpErrorCode("HTTP-response-incomplete"))
            if not trailers.done():
                trailers.set_result(None)

        task = asyncio.ensure_future(run())
        try:
            msg = await start
        except BaseException:
            response_done.set()
            if not task.done():
                task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise

        def stop() -> None:
            response_done.set()
            if not body_ended and not task.done():
                task.cancel()

        headers = [(bytes(n).lower(), bytes(v)) for n, v in msg.get("headers") or ()]
        return Response(status=int(msg["status"]), headers=headers,
                        body=_AppBody(chunks, stop),
                        trailers=_AppTrailers(trailers, response_done))


class _AppTrailers:
    """The app's trailers, awaitable by the consumer (once it has read the body). Unlike a
    coroutine it may go unawaited, when nobody asks for the trailers, without a warning."""

    def __init__(self, trailers: asyncio.Future[Any], done: asyncio.Event) -> None:
        self.trailers = trailers
        self.done = done

    def __await__(self) -> Generator[Any, None, list[tuple[bytes, bytes]] | None]:
        try:
            return (yield from self.trailers.__await__())
        finally:
            self.done.set()


class _AppBody:
    """The app's response body chunks; closing it early cancels the app."""

    def __init__(self, chunks: asyncio.Queue[Any], stop: Callable[[], None]) -> None:
        self.chunks = chunks
        self.stop = stop
        self.done = False

    def __aiter__(self) -> _AppBody:
        return self

    async def __anext__(self) -> bytes:
        if self.done:
            raise StopAsyncIteration
        try:
            item = await self.chunks.get()
        except BaseException:
            await self.aclose()
            raise
        if item is _END:
            await self.aclose()
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            await self.aclose()
            raise item
        return bytes(item)

    async def aclose(self) -> None:
        if not self.done:
            self.done = True
            self.stop()

"""``wasi:http@0.2.x`` on the host: the ``types`` interface (fields, incoming and outgoing
requests and responses, bodies, future trailers and responses, response-outparam), the
``outgoing-handler`` import, and calling a 0.2 proxy's exported ``incoming-handler``.

Bodies are ``wasi:io@0.2`` streams (``wasmloop.wasi.p2.io``): an incoming body is an
``input-stream`` pulling from the model body on demand (a read-ahead of at most 64 KiB); an
outgoing body is an ``output-stream`` whose bytes go through a bounded pipe (256 KiB) to the
host's reader, so a guest writing faster than the reader reads waits, and the reader gets
chunks while the guest is still writing.

The semantics follow Wasmtime's ``wasmtime-wasi-http`` p2 host (``types_impl.rs``,
``http_impl.rs``, ``body.rs``):

- ``fields``: names are HTTP tokens (stored in lower case), values field values (no CR, LF,
  NUL or other controls; ``content-length`` must be digits): ``invalid-syntax``; the
  hop-by-hop and proxy fields Wasmtime forbids give ``forbidden`` (and are stripped from what
  the host hands a guest); fields of an incoming request or response, the ones ``headers()``
  returns and the ones given to a constructor are immutable (``immutable``); ``clone`` gives
  a mutable copy. A fields' content is limited to 128 KiB; going over traps (0.2 has no
  ``size-exceeded``).
- ``incoming-body.stream`` and ``outgoing-*.body`` / ``outgoing-body.write`` give their
  resource once; the stream is a child of its body: finishing or dropping the body while the
  stream lives traps. ``incoming-body.finish`` gives ``future-trailers``, which reads what is
  left of the body and then the trailers.
- ``outgoing-body.finish(trailers)`` ends the body; with a ``content-length`` header the body
  must have had exactly that many bytes (``HTTP-request-body-size`` /
  ``HTTP-response-body-size`` otherwise, and the reader sees the body fail). Dropping an
  outgoing body unfinished aborts it (the reader sees ``HTTP-protocol-error``).
- ``response-outparam.set`` hands the response (or an ``error-code``) to the host;
  ``send-informational`` traps ("not implemented"), as in Wasmtime.
- ``outgoing-handler.handle`` validates the request (method, scheme: http or https, https by
  default) and sends it with the host's client; no client: ``HTTP-request-denied``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from ..errors import LinkError, Trap
from ..interfaces import compat_key
from ..values import Err, Ok, Variant
from ..wasi.p2 import io
from . import model
from .p3 import (  # the rules and values the two versions share
    _BAD_VALUE,
    _CASE_METHODS,
    _NAME_COST,
    _TOKEN,
    _VALUE_COST,
    FIELD_SIZE_LIMIT,
    FORBIDDEN_HEADERS,
    _HeaderError,
    _method_value,
    from_error,
    to_error,
)

__all__ = [
    "register",
    "Fields",
    "IncomingRequest",
    "IncomingResponse",
    "IncomingBody",
    "FutureTrailers",
    "OutgoingRequest",
    "OutgoingResponse",
    "OutgoingBody",
    "RequestOptions",
    "ResponseOutparam",
    "FutureIncomingResponse",
    "P2Service",
    "P2ServiceInstance",
    "load_service_p2",
    "find_incoming_handler",
    "FORBIDDEN_HEADERS",
    "FIELD_SIZE_LIMIT",
    "PIPE_LIMIT",
    "HttpTrap",
    "to_error",
    "from_error",
]

VERSION = "0.2.12"

#: The most an outgoing body's pipe holds before the guest's writes wait for the reader.
PIPE_LIMIT = 256 * 1024

_SCHEME = re.compile(r"[A-Za-z0-9+\-.]{0,64}\Z")   # what the http crate's Scheme takes
# what the http crate's PathAndQuery refuses before the `#` (the fragment is not checked)
_PATH_BAD = re.compile(r"[\x00-\x20\x7f<>`]")
_QUERY_BAD = re.compile(r"[\x00-\x20\x7f<>\"]")
_AUTH_BAD = re.compile(r"[\x00-\x20\x7f-\U0010ffff/?#\\\"<>^`{|}]")


class HttpTrap(Exception):  # noqa: N818 - raised to trap the guest, as Wasmtime does
    """A guest misused a wasi:http resource in a way Wasmtime traps on."""


# -- values ------------------------------------------------------------------------------------

def _as_http_error(e: BaseException) -> model.HttpErrorCode:
    if isinstance(e, model.HttpErrorCode):
        return e
    return model.HttpErrorCode("internal-error", f"{type(e).__name__}: {e}")


def _method_of(v: Any) -> str | None:
    case = v.case if isinstance(v, Variant) else str(v)
    if case == "other":
        m = v.value if isinstance(v, Variant) else None
        if not isinstance(m, str) or not _TOKEN.match(m.encode("utf-8", "replace")):
            return None
        return m
    return _CASE_METHODS.get(case)


def _scheme_value(s: str) -> Variant:
    low = s.lower()
    if low == "http":
        return Variant("HTTP")
    if low == "https":
        return Variant("HTTPS")
    return Variant("other", s)


def _scheme_of(v: Any) -> str | None:
    case = v.case if isinstance(v, Variant) else str(v)
    if case == "HTTP":
        return "http"
    if case == "HTTPS":
        return "https"
    s = v.value if isinstance(v, Variant) else None
    if not isinstance(s, str) or not _SCHEME.match(s):
        return None
    low = s.lower()
    return low if low in ("http", "https") else s


def _valid_path(p: str) -> bool:
    """A path-with-query as Wasmtime's ``set-path-with-query`` takes it."""
    if not p:
        return True
    if p[0] not in "/?":
        return False
    path, _, query = p.partition("#")[0].partition("?")
    return not _PATH_BAD.search(path) and not _QUERY_BAD.search(query)


def _valid_authority(a: str) -> bool:
    if not a or _AUTH_BAD.search(a):
        return False
    host = a.rpartition("@")[2]
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0:
            return False
        rest = host[close + 1:]
    else:
        if "[" in host or "]" in host:
            return False
        rest = host[host.find(":"):] if ":" in host else ""
        if rest.count(":") > 1:
            return False
    if rest:
        port = rest[1:]
        if not rest.startswith(":") or not port.isdigit() or int(port) > 65535:
            return False
    return True


# -- fields ------------------------------------------------------------------------------------

def _name(name: Any) -> str:
    b = name.encode("utf-8", "surrogatepass") if isinstance(name, str) else bytes(name)
    if not _TOKEN.match(b):
        raise _HeaderError("invalid-syntax")
    return b.decode("ascii").lower()


def _value(name: str, value: Any) -> bytes:
    v = bytes(value)
    if _BAD_VALUE.search(v):
        raise _HeaderError("invalid-syntax")
    if name == "content-length":
        if not v or not v.isdigit() or int(v) >= 1 << 64:
            raise _HeaderError("invalid-syntax")
        return str(int(v)).encode()     # stored as the number, as Wasmtime does
    return v


def _entry_cost(name: str, vals: list[bytes]) -> int:
    if not vals:
        return 0
    return len(name) + _NAME_COST + sum(len(v) + _VALUE_COST for v in vals)


class Fields:
    """``fields``: an ordered multimap of header fields, mutable or not."""

    __slots__ = ("_map", "_mutable", "_size", "__weakref__")

    def __init__(self) -> None:
        self._map: dict[str, list[bytes]] = {}
        self._mutable = True
        self._size = 0

    # -- made by the host ----------------------------------------------------------------

    @classmethod
    def of(cls, pairs: Any, *, mutable: bool = False) -> Fields:
        """Fields from ``(name, value)`` pairs the host hands a guest: forbidden names and
        invalid fields are left out; immutable unless asked."""
        f = cls()
        m = f._map
        for n, v in pairs:
            try:
                name = _name(n)
                val = _value(name, v.encode("latin-1") if isinstance(v, str) else v)
            except _HeaderError:
                continue
            if name in FORBIDDEN_HEADERS:
                continue
            m.setdefault(name, []).append(val)
        f._size = sum(_entry_cost(n, vs) for n, vs in m.items())
        f._mutable = mutable
        return f

    def pairs(self) -> model.Headers:
        """The fields as the model's ``(name, value)`` byte pairs."""
        return [(n.encode("ascii"), v) for n, vals in self._map.items() for v in vals]

    def _copy(self, mutable: bool) -> Fields:
        f = Fields()
        f._map = {n: list(v) for n, v in self._map.items()}
        f._size = self._size
        f._mutable = mutable
        return f

    def freeze(self) -> Fields:
        self._mutable = False
        return self

    @property
    def mutable(self) -> bool:
        return self._mutable

    def _check(self, name: str) -> str:
        n = _name(name)
        if n in FORBIDDEN_HEADERS:
            raise _HeaderError("forbidden")
        if not self._mutable:
            raise _HeaderError("immutable")
        return n

    def _resize(self, new_size: int) -> None:
        if new_size > FIELD_SIZE_LIMIT:
            raise HttpTrap("total size of fields exceeds limit")
        self._size = new_size

    # -- the WIT functions ---------------------------------------------------------------

    @staticmethod
    def from_list(entries: list[tuple[str, Any]]) -> Any:
        f = Fields()
        for n, v in entries:
            r = f.append(n, v)
            if isinstance(r, Err):
                return r
        return Ok(f)

    def get(self, name: str) -> list[bytes]:
        try:
            n = _name(name)
        except _HeaderError:
            return []
        return list(self._map.get(n, ()))

    def has(self, name: str) -> bool:
        try:
            return _name(name) in self._map
        except _HeaderError:
            return False

    def set(self, name: str, value: list[Any]) -> Any:
        try:
            n = self._check(name)
            vals = [_value(n, v) for v in value]
        except _HeaderError as e:
            return Err(Variant(e.case))
        old = self._map.get(n, [])
        self._resize(self._size - _entry_cost(n, old) + _entry_cost(n, vals))
        if vals:
            self._map[n] = vals
        else:
            self._map.pop(n, None)
        return Ok(None)

    def delete(self, name: str) -> Any:
        try:
            n = self._check(name)
        except _HeaderError as e:
            return Err(Variant(e.case))
        vals = self._map.pop(n, None)
        if vals is not None:
            self._size -= _entry_cost(n, vals)
        return Ok(None)

    def append(self, name: str, value: Any) -> Any:
        try:
            n = self._check(name)
            v = _value(n, value)
        except _HeaderError as e:
            return Err(Variant(e.case))
        vals = self._map.get(n)
        self._resize(self._size + len(v) + _VALUE_COST + (0 if vals else len(n) + _NAME_COST))
        if vals is None:
            self._map[n] = [v]
        else:
            vals.append(v)
        return Ok(None)

    def entries(self) -> list[tuple[str, bytes]]:
        return [(n, v) for n, vals in self._map.items() for v in vals]

    def clone(self) -> Fields:
        return self._copy(True)

    def __repr__(self) -> str:
        return f"<Fields {self.entries()!r}{'' if self._mutable else ' immutable'}>"


def _content_length(headers: Fields) -> tuple[bool, int | None]:
    """(valid, length) of a fields' ``content-length`` (its first value, as Wasmtime)."""
    vals = headers._map.get("content-length")
    if not vals:
        return True, None
    v = vals[0]
    if not v or not v.isdigit():
        return False, None
    return True, int(v)


# -- incoming bodies ---------------------------------------------------------------------------

_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any) -> asyncio.Task[Any]:
    t = asyncio.get_running_loop().create_task(coro)
    _tasks.add(t)
    t.add_done_callback(_tasks.discard)
    return t


class _ModelBody:
    """A model body (async iterator of bytes, and trailers) as the backend of an
    ``input-stream``: ``read(n)`` pulls the next chunk on demand and keeps what is left of
    it. A pending pull survives a cancelled read (the stream's read-ahead being dropped), so
    what follows is still there for the trailers."""

    def __init__(self, body: AsyncIterator[bytes] | None,
                 trailers: Awaitable[model.Headers | None] | None) -> None:
        self.body = body
        self.trailers = trailers
        self.rest = b""
        self.eof = body is None
        self.error: BaseException | None = None
        self._next: asyncio.Future[bytes] | None = None
        self.closed = False

    async def _pull(self) -> bytes:
        """The next non-empty chunk, or ``b""`` at the end."""
        assert self.body is not None
        try:
            while True:
                chunk = await self.body.__anext__()
                if chunk:
                    return bytes(chunk)
        except StopAsyncIteration:
            return b""

    async def read(self, n: int) -> bytes:
        if self.rest:
            data, self.rest = self.rest[:n], self.rest[n:]
            return data
        if self.error is not None:
            raise self.error
        if self.eof:
            return b""
        if self._next is None:
            self._next = asyncio.ensure_future(self._pull())
        fut = self._next
        try:
            chunk = await asyncio.shield(fut)   # a cancelled read leaves the pull pending
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self._next = None
            self.error = e
            raise
        self._next = None
        if not chunk:
            self.eof = True
            return b""
        data, self.rest = chunk[:n], chunk[n:]
        return data

    async def read_trailers(self) -> model.Headers | None:
        """Skip what is left of the body, then the trailers (``HttpErrorCode`` if the body
        failed)."""
        self.rest = b""
        while not self.eof:
            try:
                await self.read(1 << 20)
            except Exception as e:  # noqa: BLE001 - the trailers report the failure
                raise _as_http_error(e) from None
            self.rest = b""
        t = self.trailers
        self.trailers = None
        if t is None:
            return None
        return await t

    def close(self) -> None:
        """The input stream was dropped (what is left stays for the trailers)."""

    def abandon(self) -> None:
        """Nobody will read this body any more: give the model body up."""
        if self.closed:
            return
        self.closed = True
        if self._next is not None and not self._next.done():
            self._next.cancel()
        aclose = getattr(self.body, "aclose", None)
        if aclose is not None and not self.eof:
            _spawn(_quietly(aclose()))
        t = self.trailers
        self.trailers = None
        close = getattr(t, "close", None)
        if close is not None and not isinstance(t, asyncio.Future):
            with contextlib.suppress(Exception):
                close()


async def _quietly(aw: Awaitable[Any]) -> None:
    with contextlib.suppress(Exception):
        await aw


def _check_child(stream: io.InputStream | io.OutputStream | None, what: str) -> None:
    """Trap if ``stream`` (a body's child) is still alive, as Wasmtime's resource table
    does when a parent goes first."""
    if stream is not None and not stream._dropped:
        raise HttpTrap(f"cannot {what}: resource has children (its "
                       f"{'input' if isinstance(stream, io.InputStream) else 'output'}"
                       "-stream is still alive)")


class IncomingBody:
    """``incoming-body``: the body of an incoming request or response."""

    __slots__ = ("_src", "_stream", "_stream_taken", "_finished", "__weakref__")

    def __init__(self, src: _ModelBody) -> None:
        self._src = src
        self._stream: io.InputStream | None = None
        self._stream_taken = False
        self._finished = False

    def stream(self) -> Any:
        if self._stream_taken:
            return Err(None)
        self._stream_taken = True
        self._stream = io.InputStream(self._src)
        return Ok(self._stream)

    @staticmethod
    def finish(this: IncomingBody) -> FutureTrailers:
        _check_child(this._stream, "finish the incoming-body")
        this._finished = True
        return FutureTrailers(this._src)

    def drop(self) -> None:
        _check_child(self._stream, "drop the incoming-body")
        if not self._finished:
            self._finished = True
            self._src.abandon()


class FutureTrailers:
    """``future-trailers``: the trailers of an incoming body, once what is left of the body
    was read."""

    __slots__ = ("_src", "_task", "_consumed", "__weakref__")

    def __init__(self, src: _ModelBody) -> None:
        self._src = src
        self._task: asyncio.Task[Any] | None = None
        self._consumed = False

    def _start(self) -> asyncio.Task[Any]:
        if self._task is None:
            self._task = _spawn(self._src.read_trailers())
        return self._task

    def subscribe(self) -> io.Pollable:
        if self._consumed:
            return io.Pollable.ready_now()
        return io.Pollable.of_future(self._start())

    def get(self) -> Any:
        if self._consumed:
            return Err(None)
        task = self._start()
        if not task.done():
            return None
        self._consumed = True
        try:
            t = task.result()
        except model.HttpErrorCode as e:
            return Ok(Err(to_error(e)))
        except Exception as e:  # noqa: BLE001 - reported to the guest
            return Ok(Err(to_error(_as_http_error(e))))
        return Ok(Ok(None if t is None else Fields.of(t)))

    def drop(self) -> None:
        t = self._task
        if t is not None and not t.done():
            t.cancel()
        if not self._consumed:
            self._consumed = True
            self._src.abandon()


class _WithIncomingBody:
    """``consume`` and ``drop`` of the two resources that carry an incoming-body."""

    __slots__ = ("_body",)

    _body: IncomingBody | None

    def consume(self) -> Any:
        b = self._body
        if b is None:
            return Err(None)
        self._body = None
        return Ok(b)

    def drop(self) -> None:
        b = self._body
        if b is not None:
            self._body = None
            b._src.abandon()


class IncomingRequest(_WithIncomingBody):
    """``incoming-request``: the request a proxy's ``handle`` is given."""

    __slots__ = ("method_", "scheme_", "authority_", "path_", "headers_",
                 "__weakref__")

    def __init__(self, m: model.Request) -> None:
        self.method_ = m.method
        self.scheme_ = m.scheme
        self.authority_ = m.authority
        self.path_ = m.path_with_query
        self.headers_ = Fields.of(m.headers)
        self._body: IncomingBody | None = IncomingBody(_ModelBody(m.body, m.trailers))

    def method(self) -> Variant:
        return _method_value(self.method_)

    def path_with_query(self) -> str | None:
        return self.path_

    def scheme(self) -> Variant | None:
        return None if self.scheme_ is None else _scheme_value(self.scheme_)

    def authority(self) -> str | None:
        return self.authority_

    def headers(self) -> Fields:
        return self.headers_._copy(False)


class IncomingResponse(_WithIncomingBody):
    """``incoming-response``: a response the host's client got for an outgoing request."""

    __slots__ = ("status_", "headers_", "__weakref__")

    def __init__(self, m: model.Response) -> None:
        self.status_ = int(m.status)
        self.headers_ = Fields.of(m.headers)
        self._body: IncomingBody | None = IncomingBody(_ModelBody(m.body, m.trailers))

    def status(self) -> int:
        return self.status_

    def headers(self) -> Fields:
        return self.headers_._copy(False)



# -- outgoing bodies ---------------------------------------------------------------------------

class _Pipe:
    """What a guest writes to an outgoing body, for the host's reader: the backend of the
    body's ``output-stream`` (``write`` waits while ``PIPE_LIMIT`` bytes are unread) and an
    async iterator of the chunks (``aclose`` when the reader gives up). The body ends once
    the stream was closed and the guest finished the body (or the host ended it)."""

    def __init__(self, expected: int | None, size_case: str) -> None:
        self.chunks: deque[bytes] = deque()
        self.queued = 0
        self.written = 0           # bytes that reached the pipe
        self.expected = expected
        self.size_case = size_case
        self.stream_closed = True  # until the guest takes the stream
        self.stream: io.OutputStream | None = None
        self.end: tuple[bool, Any] | None = None   # (ok, trailers or exception)
        self.reader_gone = False
        self.changed = io._Notify()
        self.trailers: asyncio.Future[model.Headers | None] = \
            asyncio.get_running_loop().create_future()
        self.trailers_used = False

    # -- the output stream's backend -----------------------------------------------------

    async def write(self, data: bytes) -> None:
        while self.queued >= PIPE_LIMIT and not self.reader_gone and self.end is None:
            await self.changed.wait()
        if self.reader_gone or (self.end is not None and not self.end[0]):
            return                  # nobody reads any more: the bytes go nowhere
        self.written += len(data)
        if self.expected is not None and self.written > self.expected:
            err = model.HttpErrorCode(self.size_case, self.written)
            self.fail(err)
            raise err
        self.chunks.append(bytes(data))
        self.queued += len(data)
        self.changed.notify()

    async def flush(self) -> None:
        return None

    def close(self) -> None:
        self.stream_closed = True
        self.changed.notify()

    # -- ending --------------------------------------------------------------------------

    def finish(self, trailers: model.Headers | None) -> None:
        if self.end is None:
            self.end = (True, trailers)
            self.changed.notify()

    def fail(self, exc: BaseException) -> None:
        """End the body with an error: the reader gets ``exc`` (after what came before)."""
        if self.end is not None:
            return              # finished (or failed) already
        self.end = (False, exc)
        self.stream_closed = True
        s = self.stream
        if s is not None:
            s.end()
        self.changed.notify()

    def settle(self) -> None:
        """The guest's call ended: a body it never finished ends as it is."""
        if self.end is None:
            s = self.stream
            if s is not None:
                s.end()
            self.finish(None)

    # -- the reader ----------------------------------------------------------------------

    def __aiter__(self) -> _Pipe:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self.chunks:
                chunk = self.chunks.popleft()
                self.queued -= len(chunk)
                self.changed.notify()
                return chunk
            end = self.end
            if end is not None and not end[0]:
                self._resolve_trailers(end[1])
                raise end[1]
            if self.reader_gone:
                raise StopAsyncIteration
            if end is not None and self.stream_closed:
                self._resolve_trailers(None, end[1])
                raise StopAsyncIteration
            await self.changed.wait()

    def _resolve_trailers(self, exc: BaseException | None, value: Any = None) -> None:
        if self.trailers.done():
            return
        if exc is not None:
            self.trailers.set_exception(exc)
            self.trailers.exception()     # retrieved: no "never retrieved" warning
        else:
            self.trailers.set_result(value)

    async def aclose(self) -> None:
        self.abandon()

    def abandon(self) -> None:
        """The reader gives up: what the guest writes from now on goes nowhere, and its
        stream reports ``closed``."""
        if not self.reader_gone:
            self.reader_gone = True
            self.chunks.clear()
            self.queued = 0
            s = self.stream
            if s is not None:
                s.end()
            self.changed.notify()
            self._resolve_trailers(model.HttpErrorCode("connection-terminated"))


class _PipeTrailers:
    """The trailers of a body a guest writes, as the host awaits them (after the body)."""

    __slots__ = ("pipe",)

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe

    async def _get(self) -> model.Headers | None:
        p = self.pipe
        if not p.trailers.done():
            async for _ in p:       # what the reader left unread
                pass
        return await p.trailers

    def __await__(self) -> Any:
        return self._get().__await__()

    def close(self) -> None:
        pass


class OutgoingBody:
    """``outgoing-body``: the body of an outgoing request or response."""

    __slots__ = ("pipe", "_stream_taken", "_done", "__weakref__")

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe
        self._stream_taken = False
        self._done = False

    def write(self) -> Any:
        if self._stream_taken:
            return Err(None)
        self._stream_taken = True
        p = self.pipe
        s = io.OutputStream(p)
        p.stream = s
        p.stream_closed = False
        return Ok(s)

    @staticmethod
    async def finish(this: OutgoingBody, trailers: Fields | None) -> Any:
        _check_child(this.pipe.stream, "finish the outgoing-body")
        this._done = True
        p = this.pipe
        pairs = trailers.pairs() if trailers is not None else None
        if p.expected is not None:
            if p.stream is not None:
                await p.stream.drained()
            if p.written != p.expected:
                err = model.HttpErrorCode(p.size_case, p.written)
                p.fail(model.HttpErrorCode("HTTP-protocol-error"))
                return Err(to_error(err))
        p.finish(pairs)
        return Ok(None)

    def drop(self) -> None:
        _check_child(self.pipe.stream, "drop the outgoing-body")
        if not self._done:
            self._done = True
            self.pipe.fail(model.HttpErrorCode("HTTP-protocol-error"))


class OutgoingResponse:
    """``outgoing-response``: the response a proxy builds."""

    __slots__ = ("status", "headers_", "body_", "__weakref__")

    def __init__(self, headers: Fields) -> None:
        self.status = 200
        self.headers_ = headers.freeze()
        self.body_: OutgoingBody | None = None

    def status_code(self) -> int:
        return self.status

    def set_status_code(self, status_code: int) -> Any:
        if not 100 <= status_code <= 999:
            return Err(None)
        self.status = status_code
        return Ok(None)

    def headers(self) -> Fields:
        return self.headers_._copy(False)

    def body(self) -> Any:
        if self.body_ is not None:
            return Err(None)
        ok, length = _content_length(self.headers_)
        if not ok:
            return Err(None)
        self.body_ = OutgoingBody(_Pipe(length, "HTTP-response-body-size"))
        return Ok(self.body_)


class RequestOptions:
    """``request-options``: three timeouts in nanoseconds."""

    __slots__ = ("connect", "first_byte", "between_bytes", "__weakref__")

    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between_bytes: int | None = None

    def connect_timeout(self) -> int | None:
        return self.connect

    def set_connect_timeout(self, duration: int | None) -> Any:
        self.connect = duration
        return Ok(None)

    def first_byte_timeout(self) -> int | None:
        return self.first_byte

    def set_first_byte_timeout(self, duration: int | None) -> Any:
        self.first_byte = duration
        return Ok(None)

    def between_bytes_timeout(self) -> int | None:
        return self.between_bytes

    def set_between_bytes_timeout(self, duration: int | None) -> Any:
        self.between_bytes = duration
        return Ok(None)

    def to_model(self) -> model.RequestOptions:
        def s(ns: int | None) -> float | None:
            return None if ns is None else ns / 1e9
        return model.RequestOptions(s(self.connect), s(self.first_byte), s(self.between_bytes))


class OutgoingRequest:
    """``outgoing-request``: a request a guest sends through ``outgoing-handler``."""

    __slots__ = ("method_", "scheme_", "authority_", "path_", "headers_", "body_",
                 "__weakref__")

    def __init__(self, headers: Fields) -> None:
        self.method_ = "GET"
        self.scheme_: str | None = None
        self.authority_: str | None = None
        self.path_: str | None = None
        self.headers_ = headers.freeze()
        self.body_: OutgoingBody | None = None

    def body(self) -> Any:
        if self.body_ is not None:
            return Err(None)
        ok, length = _content_length(self.headers_)
        if not ok:
            return Err(None)
        self.body_ = OutgoingBody(_Pipe(length, "HTTP-request-body-size"))
        return Ok(self.body_)

    def method(self) -> Variant:
        return _method_value(self.method_)

    def set_method(self, method: Any) -> Any:
        m = _method_of(method)
        if m is None:
            return Err(None)
        self.method_ = m
        return Ok(None)

    def path_with_query(self) -> str | None:
        return self.path_

    def set_path_with_query(self, path_with_query: str | None) -> Any:
        if path_with_query is not None and not _valid_path(path_with_query):
            return Err(None)
        self.path_ = path_with_query
        return Ok(None)

    def scheme(self) -> Variant | None:
        return None if self.scheme_ is None else _scheme_value(self.scheme_)

    def set_scheme(self, scheme: Any) -> Any:
        if scheme is None:
            self.scheme_ = None
            return Ok(None)
        s = _scheme_of(scheme)
        if s is None:
            return Err(None)
        self.scheme_ = s
        return Ok(None)

    def authority(self) -> str | None:
        return self.authority_

    def set_authority(self, authority: str | None) -> Any:
        if authority is not None and not _valid_authority(authority):
            return Err(None)
        self.authority_ = authority
        return Ok(None)

    def headers(self) -> Fields:
        return self.headers_._copy(False)


class FutureIncomingResponse:
    """``future-incoming-response``: the outcome of an outgoing request."""

    __slots__ = ("_task", "_consumed", "__weakref__")

    def __init__(self, task: asyncio.Future[Any]) -> None:
        self._task = task
        self._consumed = False

    def subscribe(self) -> io.Pollable:
        return io.Pollable.of_future(self._task)

    def get(self) -> Any:
        if self._consumed:
            return Err(None)
        t = self._task
        if not t.done():
            return None
        self._consumed = True
        try:
            resp = t.result()
        except model.HttpErrorCode as e:
            return Ok(Err(to_error(e)))
        except Trap as e:
            return Ok(Err(Variant("internal-error",
                                  f"the client trapped: {str(e).splitlines()[0]}")))
        except Exception as e:  # noqa: BLE001 - reported to the guest
            return Ok(Err(to_error(_as_http_error(e))))
        return Ok(Ok(IncomingResponse(resp)))

    def drop(self) -> None:
        t = self._task
        if not t.done():
            t.cancel()
        elif not self._consumed and not t.cancelled() and t.exception() is None:
            r = t.result()
            with contextlib.suppress(Exception):
                _spawn(_release(r))
        self._consumed = True


async def _release(resp: model.Response) -> None:
    aclose = getattr(resp.body, "aclose", None)
    if aclose is not None:
        await aclose()


class _Call:
    """One ``handle`` call: where its response goes, and the body the guest writes."""

    __slots__ = ("response", "pipe")

    def __init__(self) -> None:
        self.response: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pipe: _Pipe | None = None


class ResponseOutparam:
    """``response-outparam``: where a proxy's ``handle`` puts its response."""

    __slots__ = ("_call", "__weakref__")

    def __init__(self, call: _Call) -> None:
        self._call: _Call | None = call

    def send_informational(self, status: int, headers: Fields) -> Any:
        raise HttpTrap("not implemented")

    @staticmethod
    def set(param: ResponseOutparam, response: Any) -> None:
        call, param._call = param._call, None
        if call is None or call.response.done():    # nobody waits for it any more
            resp = response.value if isinstance(response, Ok) else None
            body = resp.body_ if isinstance(resp, OutgoingResponse) else None
            if body is not None:
                body.pipe.abandon()
            return
        if isinstance(response, Err):
            call.response.set_result(from_error(response.value))
            return
        resp = response.value if isinstance(response, Ok) else response
        if not isinstance(resp, OutgoingResponse):
            raise HttpTrap("response-outparam.set: not an outgoing-response")
        body = resp.body_
        resp.body_ = None
        pipe = body.pipe if body is not None else None
        call.pipe = pipe
        if pipe is None:
            m = model.Response(resp.status, resp.headers_.pairs(), None, None)
        else:
            m = model.Response(resp.status, resp.headers_.pairs(), pipe, _PipeTrailers(pipe))
        call.response.set_result(m)


class Types:
    """``wasi:http/types@0.2``."""

    Fields = Fields
    IncomingRequest = IncomingRequest
    OutgoingRequest = OutgoingRequest
    RequestOptions = RequestOptions
    ResponseOutparam = ResponseOutparam
    IncomingResponse = IncomingResponse
    IncomingBody = IncomingBody
    FutureTrailers = FutureTrailers
    OutgoingResponse = OutgoingResponse
    OutgoingBody = OutgoingBody
    FutureIncomingResponse = FutureIncomingResponse
    # the wasi:io resources types `use`s (bound by wasi:io itself when that is linked)
    InputStream = io.InputStream
    OutputStream = io.OutputStream
    Pollable = io.Pollable
    IoError = io.Error

    @staticmethod
    def http_error_code(err: io.Error) -> Variant | None:
        exc = getattr(err, "exc", None)
        if isinstance(exc, model.HttpErrorCode):
            return to_error(exc)
        return None


# -- the outgoing handler ----------------------------------------------------------------------

class OutgoingHandler:
    """``wasi:http/outgoing-handler@0.2``: ``handle`` sends with the host's client (an object
    with ``async send(model.Request) -> model.Response``), or is denied."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def handle(self, request: OutgoingRequest, options: RequestOptions | None) -> Any:
        body = request.body_
        request.body_ = None
        if self._client is None:
            if body is not None:
                body.pipe.fail(model.HttpErrorCode("HTTP-request-denied"))
            return Err(Variant("HTTP-request-denied"))
        scheme = request.scheme_ if request.scheme_ is not None else "https"
        if scheme not in ("http", "https"):
            return Err(Variant("HTTP-protocol-error"))
        if not request.authority_:
            return Err(Variant("HTTP-request-URI-invalid"))
        pipe = body.pipe if body is not None else None
        m = model.Request(
            request.method_, scheme, request.authority_, request.path_ or "/",
            request.headers_.pairs(), pipe, _PipeTrailers(pipe) if pipe is not None else None,
            options.to_model() if options is not None else None)
        client = self._client
        send = client.send if hasattr(client, "send") else client.handle
        return Ok(FutureIncomingResponse(_spawn(send(m))))


def register(linker: Any, *, client: Any = None) -> None:
    """Define ``wasi:http/types@0.2.12`` and ``wasi:http/outgoing-handler@0.2.12`` on
    ``linker`` (imports of other ``@0.2.x`` versions match them)."""
    linker.define_interface(f"wasi:http/types@{VERSION}", Types())
    linker.define_interface(f"wasi:http/outgoing-handler@{VERSION}", OutgoingHandler(client))


# -- the service -------------------------------------------------------------------------------

def find_incoming_handler(component: Any) -> str | None:
    """The name of a component's ``wasi:http/incoming-handler@0.2`` export, if it has one."""
    best: tuple[tuple[int, ...], str] | None = None
    for name in component.exports:
        key = compat_key(name)
        if key is not None and key[0] == "wasi:http/incoming-handler" and key[1][:2] == (0, 2):
            if best is None or key[1] > best[0]:
                best = (key[1], name)
    return best[1] if best else None


class P2ServiceInstance:
    """One instance of a wasi:http 0.2 proxy: ``await handle(request)`` calls its exported
    ``incoming-handler.handle`` and returns once the guest set the response outparam (the
    body streams while the guest goes on writing it)."""

    def __init__(self, instance: Any, export: str) -> None:
        self.instance = instance
        self._handle = instance.exports[export]["handle"]
        self._trapped = False

    @property
    def broken(self) -> bool:
        return self._trapped or bool(self.instance.poisoned)

    async def handle(self, request: model.Request) -> model.Response:
        call = _Call()
        req = IncomingRequest(request)
        out = ResponseOutparam(call)
        task = asyncio.ensure_future(self._handle(req, out))
        task.add_done_callback(lambda t: self._ended(t, call))
        try:
            await asyncio.wait([task, call.response], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # the caller gave up: a response set from now on, or set already, goes unread
            if not call.response.done():
                call.response.cancel()
            elif call.pipe is not None:
                call.pipe.abandon()
            raise
        if call.response.done() and not call.response.cancelled():
            r = call.response.result()
            if isinstance(r, model.HttpErrorCode):
                raise r
            assert isinstance(r, model.Response)
            return r
        exc = task.exception()
        if exc is not None:
            raise exc
        raise model.HttpErrorCode("internal-error",
                                  "guest never invoked `response-outparam::set` method")

    def _ended(self, task: asyncio.Future[Any], call: _Call) -> None:
        exc = None if task.cancelled() else task.exception()
        if exc is not None and not isinstance(exc, model.HttpErrorCode):
            self._trapped = True
        pipe = call.pipe
        if pipe is not None:
            if exc is None:
                pipe.settle()
            else:
                pipe.fail(exc if isinstance(exc, Trap) else Trap(str(exc)))
        if not call.response.done():
            call.response.cancel()

    def close(self) -> None:
        self.instance.close()


class P2Service:
    """A wasi:http 0.2 proxy component linked once (WASI, the http types and the outgoing
    handler); ``new_instance()`` makes instances."""

    def __init__(self, component: Any, linker: Any, export: str, wasi_ctx: Any) -> None:
        self.component = component
        self.linker = linker
        self.export = export
        self.wasi = wasi_ctx
        #: linked once: a missing import fails here, and each instance only instantiates
        self.pre = linker.instantiate_pre(component)

    async def new_instance(self) -> P2ServiceInstance:
        inst = await self.pre.instantiate()
        return P2ServiceInstance(inst, self.export)


async def load_service_p2(component: Any, wasi: Any = None, *, client: Any = None,
                          limits: Any = None, linker: Any = None) -> P2Service:
    """Link ``component`` (exporting ``wasi:http/incoming-handler@0.2.x``) with WASI
    (``wasi``: a ``WasiConfig``, None for an empty one) and wasi:http 0.2 (``client``: where
    outgoing requests go; None: denied)."""
    from .. import wasi as wasi_mod
    from ..host import Linker

    export = find_incoming_handler(component)
    if export is None:
        raise LinkError("the component does not export `wasi:http/incoming-handler@0.2`")
    if linker is None:
        linker = Linker(component.engine, limits=limits)
    ctx = wasi_mod.add_to_linker(linker, wasi)
    register(linker, client=client)
    return P2Service(component, linker, export, ctx)

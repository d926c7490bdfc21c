"""``wasi:http@0.3.0`` on the host: the ``types`` interface (fields, request, response,
request-options), the ``client`` and ``handler`` imports, and calling a component's exported
``handler``.

Built on the public embedding API like WASI: ``register(linker, client=..., next=...)`` defines
the interfaces with ``Linker.define_interface``; every component linked against one linker
shares the same host resource types, so a request or response made by one component can be
handed to another (a middleware's ``next``) as a handle, and its body travels as the same
``stream<u8>`` end, guest memory to guest memory.

The semantics follow Wasmtime's ``wasmtime-wasi-http`` p3 host:

- ``fields``: names are HTTP tokens (stored in lower case), values are field values (no CR,
  LF, NUL or other controls; ``content-length`` must be digits); the hop-by-hop and proxy
  fields Wasmtime forbids give ``forbidden``; a fields' content is limited to 128 KiB
  (``size-exceeded``). Fields given to ``request.new``/``response.new`` and the ones
  ``get-headers`` returns are immutable (``immutable``); ``clone`` gives a mutable copy.
- ``request.new``/``response.new`` return the resource and a future that resolves with the
  outcome of sending its body: what the consumer writes to the future it passes to
  ``consume-body`` (or ``ok`` when the host sent the body, or the resource was dropped).
- A guest body with a ``content-length`` header that the host reads must have exactly that
  many bytes (``HTTP-request-body-size`` / ``HTTP-response-body-size`` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from ..errors import LinkError, Trap
from ..interfaces import compat_key
from ..streams import BrokenResourceError, FutureReader, StreamReader
from ..values import Err, Ok, Variant
from . import model

__all__ = [
    "register",
    "Fields",
    "Request",
    "Response",
    "RequestOptions",
    "P3Service",
    "P3ServiceInstance",
    "find_handler",
    "FORBIDDEN_HEADERS",
    "FIELD_SIZE_LIMIT",
    "to_error",
    "from_error",
]

VERSION = "0.3.0"

#: Field names a guest may not set, and the host strips from what it hands a guest
#: (Wasmtime's ``DEFAULT_FORBIDDEN_HEADERS``).
FORBIDDEN_HEADERS = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings",
})

#: The most a mutable fields may hold, counted as Wasmtime counts (each name and value plus
#: a fixed overhead per entry).
FIELD_SIZE_LIMIT = 128 * 1024
_NAME_COST = 32
_VALUE_COST = 40

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
_PATH_BAD = re.compile(r"[\x00-\x20\x7f-\U0010ffff#]")
_AUTH_BAD = re.compile(r"[\x00-\x20\x7f-\U0010ffff/?#\\\"<>^`{|}]")

_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
_METHOD_CASES = {m: m.lower() for m in _METHODS}
_CASE_METHODS = {m.lower(): m for m in _METHODS}


# -- values ------------------------------------------------------------------------------------

def to_error(e: model.HttpErrorCode) -> Variant:
    """``HttpErrorCode`` → the ``error-code`` value."""
    return Variant(e.case, e.payload)


def from_error(v: Any) -> model.HttpErrorCode:
    """An ``error-code`` value → ``HttpErrorCode``."""
    if isinstance(v, Variant):
        return model.HttpErrorCode(v.case, v.value)
    return model.HttpErrorCode(str(v))


def _header_error(case: str) -> Err[Variant]:
    return Err(Variant(case))


class _HeaderError(Exception):
    def __init__(self, case: str) -> None:
        self.case = case


def _name(name: str) -> str:
    b = name.encode("utf-8", "surrogatepass") if isinstance(name, str) else bytes(name)
    if not _TOKEN.match(b):
        raise _HeaderError("invalid-syntax")
    n = b.decode("ascii").lower()
    return n


def _value(name: str, value: Any) -> bytes:
    v = bytes(value)
    if _BAD_VALUE.search(v):
        raise _HeaderError("invalid-syntax")
    if name == "content-length" and (not v or not v.isdigit() or len(v) > 20
                                     or int(v) >= 1 << 64):
        raise _HeaderError("invalid-syntax")
    return v


# -- fields ------------------------------------------------------------------------------------

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
        """Fields from ``(name, value)`` pairs the host trusts (forbidden names and invalid
        fields are left out), immutable unless asked."""
        f = cls()
        m = f._map
        size = 0
        for n, v in pairs:
            try:
                name = _name(n.decode("latin-1") if isinstance(n, bytes | bytearray) else n)
                val = _value(name, v.encode("latin-1") if isinstance(v, str) else v)
            except _HeaderError:
                continue
            if name in FORBIDDEN_HEADERS:
                continue
            vals = m.get(name)
            if vals is None:
                m[name] = [val]
                size += len(name) + _NAME_COST
            else:
                vals.append(val)
            size += len(val) + _VALUE_COST
        f._size = size
        f._mutable = mutable
        return f

    def pairs(self) -> model.Headers:
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

    # -- the WIT functions ---------------------------------------------------------------

    @staticmethod
    def from_list(entries: list[tuple[str, Any]]) -> Any:
        f = Fields()
        for n, v in entries:
            r = f.append(n, v)
            if isinstance(r, Err):
                return r
        return Ok(f)

    def _check(self, name: str) -> str:
        n = _name(name)
        if n in FORBIDDEN_HEADERS:
            raise _HeaderError("forbidden")
        if not self._mutable:
            raise _HeaderError("immutable")
        return n

    def _grow(self, by: int) -> None:
        if self._size + by > FIELD_SIZE_LIMIT:
            raise _HeaderError("size-exceeded")
        self._size += by

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
            old = self._map.get(n)
            old_size = 0 if old is None else sum(len(v) + _VALUE_COST for v in old) + \
                len(n) + _NAME_COST
            new_size = 0 if not vals else sum(len(v) + _VALUE_COST for v in vals) + \
                len(n) + _NAME_COST
            self._grow(new_size - old_size)
        except _HeaderError as e:
            return _header_error(e.case)
        if vals:
            self._map[n] = vals
        else:
            self._map.pop(n, None)
        return Ok(None)

    def delete(self, name: str) -> Any:
        r = self.get_and_delete(name)
        return r if isinstance(r, Err) else Ok(None)

    def get_and_delete(self, name: str) -> Any:
        try:
            n = self._check(name)
        except _HeaderError as e:
            return _header_error(e.case)
        vals = self._map.pop(n, None)
        if vals is None:
            return Ok([])
        self._size -= sum(len(v) + _VALUE_COST for v in vals) + len(n) + _NAME_COST
        return Ok(vals)

    def append(self, name: str, value: Any) -> Any:
        try:
            n = self._check(name)
            v = _value(n, value)
            vals = self._map.get(n)
            self._grow(len(v) + _VALUE_COST + (0 if vals else len(n) + _NAME_COST))
        except _HeaderError as e:
            return _header_error(e.case)
        if vals is None:
            self._map[n] = [v]
        else:
            vals.append(v)
        return Ok(None)

    def copy_all(self) -> list[tuple[str, bytes]]:
        return [(n, v) for n, vals in self._map.items() for v in vals]

    def clone(self) -> Fields:
        return self._copy(True)

    def __repr__(self) -> str:
        return f"<Fields {self.copy_all()!r}{'' if self._mutable else ' immutable'}>"


# -- request options ---------------------------------------------------------------------------

class RequestOptions:
    """``request-options``: three timeouts in nanoseconds."""

    __slots__ = ("connect", "first_byte", "between_bytes", "_mutable")

    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between_bytes: int | None = None
        self._mutable = True

    def _copy(self, mutable: bool) -> RequestOptions:
        o = RequestOptions()
        o.connect, o.first_byte, o.between_bytes = self.connect, self.first_byte, \
            self.between_bytes
        o._mutable = mutable
        return o

    def _set(self, attr: str, d: int | None) -> Any:
        if not self._mutable:
            return Err(Variant("immutable"))
        setattr(self, attr, d)
        return Ok(None)

    def get_connect_timeout(self) -> int | None:
        return self.connect

    def set_connect_timeout(self, duration: int | None) -> Any:
        return self._set("connect", duration)

    def get_first_byte_timeout(self) -> int | None:
        return self.first_byte

    def set_first_byte_timeout(self, duration: int | None) -> Any:
        return self._set("first_byte", duration)

    def get_between_bytes_timeout(self) -> int | None:
        return self.between_bytes

    def set_between_bytes_timeout(self, duration: int | None) -> Any:
        return self._set("between_bytes", duration)

    def clone(self) -> RequestOptions:
        return self._copy(True)

    def to_model(self) -> model.RequestOptions:
        def s(ns: int | None) -> float | None:
            return None if ns is None else ns / 1e9
        return model.RequestOptions(s(self.connect), s(self.first_byte), s(self.between_bytes))

    @classmethod
    def of(cls, m: model.RequestOptions) -> RequestOptions:
        def ns(s: float | None) -> int | None:
            return None if s is None else max(0, int(s * 1e9))
        o = cls()
        o.connect, o.first_byte, o.between_bytes = ns(m.connect_timeout), \
            ns(m.first_byte_timeout), ns(m.between_bytes_timeout)
        o._mutable = False
        return o


# -- bodies ------------------------------------------------------------------------------------

def _resolve(fut: asyncio.Future[Any] | None, value: Any) -> None:
    if fut is not None and not fut.done():
        fut.set_result(value)


class GuestBody:
    """A body a component wrote, as the host reads it: an async iterator of ``bytes`` over
    its ``stream<u8>`` end (``reader``), checked against ``content-length``. When it is
    handed to another component unread, the end itself moves there."""

    __slots__ = ("reader", "length", "seen", "result", "done", "_size_case")

    def __init__(self, reader: StreamReader, length: int | None,
                 result: asyncio.Future[Any] | None, size_case: str) -> None:
        self.reader = reader
        self.length = length
        self.seen = 0
        self.result = result         # the producer's transmit future
        self.done = False
        self._size_case = size_case

    def __aiter__(self) -> GuestBody:
        return self

    async def __anext__(self) -> bytes:
        if self.done:
            raise StopAsyncIteration
        try:
            chunk = await self.reader.__anext__()
        except StopAsyncIteration:
            self.done = True
            self.reader.close()
            if self.length is not None and self.seen != self.length:
                err = model.HttpErrorCode(self._size_case, self.seen)
                _resolve(self.result, Err(to_error(err)))
                raise err from None
            raise
        self.seen += len(chunk)
        if self.length is not None and self.seen > self.length:
            self.done = True
            self.reader.close()
            err = model.HttpErrorCode(self._size_case, self.seen)
            _resolve(self.result, Err(to_error(err)))
            raise err
        return bytes(chunk)

    def take(self) -> StreamReader | None:
        """The stream end itself, for another component (None once reading began)."""
        if self.seen or self.done:
            return None
        self.done = True
        return self.reader

    async def aclose(self) -> None:
        if not self.done:
            self.done = True
            self.reader.close()
            _resolve(self.result, Err(Variant("connection-terminated")))


class GuestTrailers:
    """A component's trailers future as the host awaits it: the trailer fields or None;
    ``HttpErrorCode`` if the component reported an error."""

    __slots__ = ("reader", "result", "used")

    def __init__(self, reader: FutureReader, result: asyncio.Future[Any] | None) -> None:
        self.reader = reader
        self.result = result
        self.used = False

    def take(self) -> FutureReader | None:
        if self.used:
            return None
        self.used = True
        return self.reader

    async def _get(self) -> model.Headers | None:
        self.used = True
        try:
            v = await self.reader
        except BrokenResourceError:
            shared = self.reader.shared
            if shared is not None and shared.broken is not None:
                raise       # its component trapped
            _resolve(self.result, Ok(None))
            return None
        finally:
            self.reader.close()
        if isinstance(v, Err):
            raise from_error(v.value)
        t = v.value if isinstance(v, Ok) else v
        _resolve(self.result, Ok(None))
        if t is None:
            return None
        pairs = t.pairs() if isinstance(t, Fields) else list(t)
        if isinstance(t, Fields):
            t._map.clear()
        return pairs

    def __await__(self) -> Any:
        return self._get().__await__()

    def close(self) -> None:
        if not self.used:
            self.used = True
            self.reader.close()
        _resolve(self.result, Ok(None))


class _Body:
    """The body of a ``request``/``response`` resource: either a component's (a stream end
    and a trailers future) or the host's (a model body and trailers)."""

    __slots__ = ("contents", "trailers", "result", "host", "orig")

    def __init__(self, contents: Any, trailers: Any, result: asyncio.Future[Any] | None,
                 host: bool, orig: tuple[Any, Any] = (None, None)) -> None:
        self.contents = contents
        self.trailers = trailers
        #: the transmit outcome for whoever made the body (None: nobody waits)
        self.result = result
        self.host = host
        #: a host body's model body and trailers, closed if the body is dropped unread
        self.orig = orig

    @classmethod
    def of_model(cls, body: Any, trailers: Any) -> _Body:
        # a component's body passed on unread moves as it is: the same stream end
        if isinstance(body, GuestBody) and (trailers is None or
                                            isinstance(trailers, GuestTrailers)):
            reader = body.take()
            if reader is not None:
                tr = trailers.take() if trailers is not None else None
                if trailers is None or tr is not None:
                    return cls(reader, tr, body.result, False)
        if isinstance(body, StreamReader) and (trailers is None or
                                               isinstance(trailers, FutureReader)):
            return cls(body, trailers, None, False)
        return _host_body_from(body, trailers, None)

    def consume(self, res: FutureReader | None) -> tuple[Any, Any]:
        """``consume-body``: the stream and the trailers future for the consumer, and the
        consumer's ``res`` piped to the producer."""
        if res is not None:
            _pipe(res, self.result)
        if not self.host:
            contents = self.contents if self.contents is not None else b""
            trailers = self.trailers
            if trailers is None:
                trailers = _ok_none()
            return contents, trailers
        return self.contents(), self.trailers()

    def drop(self) -> None:
        if not self.host:
            c = self.contents
            if isinstance(c, StreamReader):
                c.close()
            t = self.trailers
            if isinstance(t, FutureReader):
                t.close()
        else:
            body, trailers = self.orig
            aclose = getattr(body, "aclose", None)
            if aclose is not None:
                _spawn(aclose())
            close = getattr(trailers, "close", None)
            if close is not None and not isinstance(trailers, asyncio.Future):
                with contextlib.suppress(Exception):
                    close()
        _resolve(self.result, Ok(None))

    def to_model(self, length: int | None, size_case: str) -> tuple[Any, Any]:
        """The body as the host reads it (a GuestBody and GuestTrailers for a component's)."""
        if self.host:
            return self.orig
        body = GuestBody(self.contents, length, self.result, size_case) \
            if self.contents is not None else None
        trailers = GuestTrailers(self.trailers, self.result) if self.trailers is not None \
            else None
        if body is None and self.result is not None and trailers is None:
            _resolve(self.result, Ok(None))
        return body, trailers


async def _ok_none() -> Any:
    return Ok(None)


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any) -> None:
    t = asyncio.get_running_loop().create_task(coro)
    _tasks.add(t)
    t.add_done_callback(_tasks.discard)


def _pipe(res: FutureReader, result: asyncio.Future[Any] | None) -> None:
    async def pipe() -> None:
        try:
            v = await res
        except BrokenResourceError:
            v = Ok(None)
        finally:
            res.close()
        _resolve(result, v)
    _spawn(pipe())


def _host_body_from(body: Any, trailers: Any, result: asyncio.Future[Any] | None) -> _Body:
    """A host body: ``body`` (an async iterator of bytes, or None) and ``trailers`` (an
    awaitable of fields or None) as a stream source and a trailers-future source; an error
    from the body (``HttpErrorCode``) ends the stream and becomes the trailers' ``err``."""
    ended: asyncio.Future[model.HttpErrorCode | None] = \
        asyncio.get_running_loop().create_future()

    async def chunks() -> AsyncIterator[bytes]:
        try:
            if body is not None:
                async for c in body:
                    if c:
                        yield bytes(c)
        except model.HttpErrorCode as e:
            _resolve(ended, e)
            _resolve(result, Err(to_error(e)))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the reader sees the error in the trailers
            err = model.HttpErrorCode("internal-error", f"{type(e).__name__}: {e}")
            _resolve(ended, err)
            _resolve(result, Err(to_error(err)))
        finally:
            _resolve(ended, None)
            if body is not None and not ended.result():
                aclose = getattr(body, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):
                        await aclose()

    async def trailer_result() -> Any:
        err = await ended
        if err is not None:
            if hasattr(trailers, "close"):
                with contextlib.suppress(Exception):
                    trailers.close()
            return Err(to_error(err))
        if trailers is None:
            _resolve(result, Ok(None))
            return Ok(None)
        try:
            t = await trailers
        except model.HttpErrorCode as e:
            _resolve(result, Err(to_error(e)))
            return Err(to_error(e))
        _resolve(result, Ok(None))
        if t is None:
            return Ok(None)
        return Ok(t if isinstance(t, Fields) else Fields.of(t))

    # made when the body is consumed (a body dropped unread leaves no coroutine behind)
    return _Body(chunks, trailer_result, result, True, (body, trailers))


def _content_length(headers: Fields) -> int | None:
    vals = headers._map.get("content-length")
    if not vals:
        return None
    try:
        return int(vals[0])
    except ValueError:
        return None


# -- request and response ----------------------------------------------------------------------

def _method_of(v: Any) -> str | None:
    case = v.case if isinstance(v, Variant) else str(v)
    if case == "other":
        m = v.value
        if not isinstance(m, str) or not _TOKEN.match(m.encode("utf-8", "replace")):
            return None
        return m
    return _CASE_METHODS.get(case)


def _method_value(m: str) -> Variant:
    case = _METHOD_CASES.get(m)
    return Variant(case) if case is not None else Variant("other", m)


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


def _scheme_value(s: str) -> Variant:
    if s.lower() == "http":
        return Variant("HTTP")
    if s.lower() == "https":
        return Variant("HTTPS")
    return Variant("other", s)


def _valid_authority(a: str) -> bool:
    if not a or _AUTH_BAD.search(a):
        return False
    host = a.rpartition("@")[2]
    close = host.rfind("]")
    if host.startswith("["):
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


def _valid_path(p: str) -> bool:
    return not _PATH_BAD.search(p)


class Request:
    """``request``."""

    __slots__ = ("method", "scheme", "authority", "path_with_query", "headers", "options",
                 "body", "__weakref__")

    def __init__(self, headers: Fields, body: _Body, options: RequestOptions | None) -> None:
        self.method = "GET"
        self.scheme: str | None = None
        self.authority: str | None = None
        self.path_with_query: str | None = None
        self.headers = headers.freeze()
        self.options = options
        self.body: _Body | None = body

    @staticmethod
    def new(headers: Fields, contents: StreamReader | None, trailers: FutureReader,
            options: RequestOptions | None) -> tuple[Request, Any]:
        result = asyncio.get_running_loop().create_future()
        if options is not None:
            options._mutable = False
        return Request(headers, _Body(contents, trailers, result, False), options), result

    @classmethod
    def of_model(cls, m: model.Request) -> Request:
        r = cls(Fields.of(m.headers), _Body.of_model(m.body, m.trailers),
                RequestOptions.of(m.options) if m.options is not None else None)
        r.method = m.method
        r.scheme = m.scheme
        r.authority = m.authority
        r.path_with_query = m.path_with_query
        return r

    def to_model(self) -> model.Request:
        body, trailers = self._take_body().to_model(_content_length(self.headers),
                                                    "HTTP-request-body-size")
        return model.Request(self.method, self.scheme, self.authority, self.path_with_query,
                             self.headers.pairs(), body, trailers,
                             self.options.to_model() if self.options is not None else None)

    def _take_body(self) -> _Body:
        b = self.body
        if b is None:
            raise Trap("the request's body was already taken")
        self.body = None
        return b

    def get_method(self) -> Variant:
        return _method_value(self.method)

    def set_method(self, method: Any) -> Any:
        m = _method_of(method)
        if m is None:
            return Err(None)
        self.method = m
        return Ok(None)

    def get_path_with_query(self) -> str | None:
        return self.path_with_query

    def set_path_with_query(self, path_with_query: str | None) -> Any:
        if path_with_query is not None and not _valid_path(path_with_query):
            return Err(None)
        self.path_with_query = path_with_query
        return Ok(None)

    def get_scheme(self) -> Variant | None:
        return None if self.scheme is None else _scheme_value(self.scheme)

    def set_scheme(self, scheme: Any) -> Any:
        if scheme is None:
            self.scheme = None
            return Ok(None)
        s = _scheme_of(scheme)
        if s is None:
            return Err(None)
        self.scheme = s
        return Ok(None)

    def get_authority(self) -> str | None:
        return self.authority

    def set_authority(self, authority: str | None) -> Any:
        if authority is not None and not _valid_authority(authority):
            return Err(None)
        self.authority = authority
        return Ok(None)

    def get_options(self) -> RequestOptions | None:
        return None if self.options is None else self.options._copy(False)

    def get_headers(self) -> Fields:
        return self.headers._copy(False)

    @staticmethod
    def consume_body(this: Request, res: FutureReader) -> tuple[Any, Any]:
        return this._take_body().consume(res)

    def drop(self) -> None:
        b = self.body
        if b is not None:
            self.body = None
            b.drop()


class Response:
    """``response``."""

    __slots__ = ("status", "headers", "body", "__weakref__")

    def __init__(self, headers: Fields, body: _Body) -> None:
        self.status = 200
        self.headers = headers.freeze()
        self.body: _Body | None = body

    @staticmethod
    def new(headers: Fields, contents: StreamReader | None,
            trailers: FutureReader) -> tuple[Response, Any]:
        result = asyncio.get_running_loop().create_future()
        return Response(headers, _Body(contents, trailers, result, False)), result

    @classmethod
    def of_model(cls, m: model.Response) -> Response:
        r = cls(Fields.of(m.headers), _Body.of_model(m.body, m.trailers))
        r.status = int(m.status)
        return r

    def to_model(self) -> model.Response:
        b = self.body
        if b is None:
            raise Trap("the response's body was already taken")
        self.body = None
        body, trailers = b.to_model(_content_length(self.headers), "HTTP-response-body-size")
        return model.Response(self.status, self.headers.pairs(), body, trailers)

    def get_status_code(self) -> int:
        return self.status

    def set_status_code(self, status_code: int) -> Any:
        if not 100 <= status_code <= 999:
            return Err(None)
        self.status = status_code
        return Ok(None)

    def get_headers(self) -> Fields:
        return self.headers._copy(False)

    @staticmethod
    def consume_body(this: Response, res: FutureReader) -> tuple[Any, Any]:
        b = this.body
        if b is None:
            raise Trap("the response's body was already taken")
        this.body = None
        return b.consume(res)

    def drop(self) -> None:
        b = self.body
        if b is not None:
            self.body = None
            b.drop()


class Types:
    """``wasi:http/types``."""

    Fields = Fields
    Request = Request
    Response = Response
    RequestOptions = RequestOptions


# -- client and handler imports ----------------------------------------------------------------

async def _forward(target: Any, request: Request, what: str) -> Any:
    """Send a component's request to a Handler; the result as ``result<response,
    error-code>``."""
    try:
        m = request.to_model()
    finally:
        request.drop()
    try:
        resp = await target.handle(m) if hasattr(target, "handle") else await target.send(m)
    except model.HttpErrorCode as e:
        return Err(to_error(e))
    except Trap as e:
        return Err(Variant("internal-error", f"{what} trapped: {e}"))
    return Ok(Response.of_model(resp))


class Client:
    """``wasi:http/client``: ``send`` goes to the host's client (an object with
    ``send(model.Request)``), or is denied."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def send(self, request: Request) -> Any:
        if self._client is None:
            request.drop()
            return Err(Variant("HTTP-request-denied"))
        return await _forward(self._client, request, "the client")


class NextHandler:
    """``wasi:http/handler`` imported by a middleware: ``handle`` goes to the next Handler."""

    def __init__(self, next_handler: Any) -> None:
        self._next = next_handler

    async def handle(self, request: Request) -> Any:
        if self._next is None:
            request.drop()
            return Err(Variant("internal-error", "this middleware's next handler is not linked"))
        return await _forward(self._next, request, "the next handler")


def register(linker: Any, *, client: Any = None, next: Any = None) -> None:
    """Define ``wasi:http/types``, ``client`` and (for middleware) ``handler`` @0.3.0."""
    v = VERSION
    linker.define_interface(f"wasi:http/types@{v}", Types())
    linker.define_interface(f"wasi:http/client@{v}", Client(client))
    linker.define_interface(f"wasi:http/handler@{v}", NextHandler(next))


# -- the service -------------------------------------------------------------------------------

def find_handler(component: Any) -> str | None:
    """The name of a component's ``wasi:http/handler@0.3`` export, if it has one."""
    best: tuple[tuple[int, ...], str] | None = None
    for name in component.exports:
        key = compat_key(name)
        if key is not None and key[0] == "wasi:http/handler" and key[1][:2] == (0, 3):
            if best is None or key[1] > best[0]:
                best = (key[1], name)
    return best[1] if best else None


class P3ServiceInstance:
    """One instance of a wasi:http 0.3 service: ``await handle(request)`` calls its
    exported handler."""

    def __init__(self, instance: Any, export: str) -> None:
        self.instance = instance
        fn = instance.exports[export]["handle"]
        self._handle = fn

    @property
    def broken(self) -> bool:
        return bool(self.instance.poisoned)

    async def handle(self, request: model.Request) -> model.Response:
        req = Request.of_model(request)
        result = await self._handle(req)
        if isinstance(result, Err):
            raise from_error(result.value)
        resp = result.value if isinstance(result, Ok) else result
        if not isinstance(resp, Response):
            raise model.HttpErrorCode("internal-error", "the handler returned no response")
        return resp.to_model()

    def close(self) -> None:
        self.instance.close()


class P3Service:
    """A wasi:http 0.3 service component linked once (WASI, http types, the client and,
    for a middleware, its next handler); ``new_instance()`` makes instances."""

    def __init__(self, component: Any, linker: Any, export: str, wasi_ctx: Any) -> None:
        self.component = component
        self.linker = linker
        self.export = export
        self.wasi = wasi_ctx
        #: linked once: a missing import fails here, and each instance only instantiates
        self.pre = linker.instantiate_pre(component)

    async def new_instance(self) -> P3ServiceInstance:
        inst = await self.pre.instantiate()
        return P3ServiceInstance(inst, self.export)


async def load_service_p3(component: Any, wasi: Any = None, *, next: Any = None,
                          client: Any = None, limits: Any = None,
                          linker: Any = None) -> P3Service:
    from .. import wasi as wasi_mod
    from ..host import Linker

    export = find_handler(component)
    if export is None:
        raise LinkError("the component does not export `wasi:http/handler@0.3.0`")
    if linker is None:
        linker = Linker(component.engine, limits=limits)
    ctx = wasi_mod.add_to_linker(linker, wasi)
    register(linker, client=client, next=next)
    return P3Service(component, linker, export, ctx)

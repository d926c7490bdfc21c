"""``wasi:io@0.2`` (error, poll, streams): pollables and byte streams as readiness objects on
the asyncio loop.

A ``Pollable`` is a readiness test plus a way to wait for it; ``block``, ``poll`` and the
blocking stream operations are ``async def``, so they suspend only the calling guest's fiber —
the loop and every other guest go on.

``InputStream`` wraps any backend with ``async read(n) -> bytes`` (``b""`` at the end) and an
optional ``close()``. A read-ahead task fills a buffer from the backend, so a non-blocking
``read`` returns what is there *now* and ``subscribe()`` is ready once data (or the end, or an
error) is. ``OutputStream`` wraps any backend with ``async write(data)``, ``async flush()`` and
an optional ``close()``: ``write`` queues at most ``check-write``'s budget (64 KiB), a background
task drains the queue to the backend, and ``subscribe()`` is ready when there is room again (after
a ``flush``: when everything was written and flushed). Memory per stream stays bounded by the
budget whatever the guest writes.

Semantics follow Wasmtime's ``wasmtime-wasi-io`` (``AsyncReadStream`` / ``AsyncWriteStream`` and
the ``streams`` host impls): a backend exception is reported once as
``last-operation-failed(error)`` and the stream is ``closed`` from then on; the end of input is
``closed``; writing more than the budget, writing while a flush is pending, and the blocking
write operations given more than 4096 bytes trap the guest; ``poll`` of an empty list traps.

Several handles may share one buffer (``InputStream.share()``, ``OutputStream.share()``): the
stdio streams of a context do, so output order is kept whichever handle a guest writes through;
the backend is closed when the last handle is dropped (outputs drain first).
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from wasmloop.values import Err, Ok, Variant

if TYPE_CHECKING:
    from wasmloop.host import Linker

    from ..ctx import WasiCtx

__all__ = [
    "Error",
    "Pollable",
    "InputStream",
    "OutputStream",
    "StreamTrap",
    "poll",
    "register",
    "READ_CHUNK",
    "WRITE_BUDGET",
    "BLOCKING_MAX",
]

#: How much one read-ahead asks the backend for.
READ_CHUNK = 64 * 1024
#: What ``check-write`` grants an idle output stream.
WRITE_BUDGET = 64 * 1024
#: The most ``blocking-write-and-flush`` / ``blocking-write-zeroes-and-flush`` accept (Wasmtime's).
BLOCKING_MAX = 4096

Result = Ok[Any] | Err[Any]


class StreamTrap(Exception):  # noqa: N818 - raised to trap the guest, as Wasmtime does
    """A guest misused a stream or pollable (what Wasmtime traps on): raising it traps."""


# --- wasi:io/error ------------------------------------------------------------------------------


class Error:
    """The ``error`` resource: an exception a backend raised."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def to_debug_string(self) -> str:
        return str(self.exc) or type(self.exc).__name__

    def __repr__(self) -> str:
        return f"Error({self.exc!r})"


CLOSED = Variant("closed")


def failed(exc: BaseException) -> Err[Variant]:
    """``err(last-operation-failed(error))`` for ``exc``."""
    return Err(Variant("last-operation-failed", Error(exc)))


# --- readiness ----------------------------------------------------------------------------------


class _Notify:
    """Wakes every waiter at the next ``notify()`` (an edge, not a level)."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def wait(self) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(self._waiters) >= 16:  # waiters given up on (a poll that ended elsewhere)
            self._waiters = [w for w in self._waiters if not w.done()]
        self._waiters.append(fut)
        return fut

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)


def _true() -> bool:
    return True


async def _nothing() -> None:
    return None


async def _wait_done(fut: asyncio.Future[Any]) -> None:
    """Wait until ``fut`` is done, without cancelling it if the waiter is cancelled."""
    if fut.done():
        return
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(_f: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)

    fut.add_done_callback(wake)
    try:
        await waiter
    finally:
        fut.remove_done_callback(wake)


class Pollable:
    """The ``pollable`` resource: ``is_ready()`` says whether the event happened; ``wait()``
    returns an awaitable that completes when it may have (it is tested again after)."""

    __slots__ = ("_is_ready", "_wait", "_parent")

    def __init__(self, is_ready: Callable[[], bool], wait: Callable[[], Awaitable[None]]) -> None:
        self._is_ready = is_ready
        self._wait = wait
        self._parent: _Parent | None = None

    def child_of(self, parent: _Parent) -> Pollable:
        """Make this pollable a child of ``parent`` (a stream): dropping the parent while the
        pollable lives traps, as in Wasmtime."""
        parent._children += 1
        self._parent = parent
        return self

    def drop(self) -> None:
        parent, self._parent = self._parent, None
        if parent is not None:
            parent._children -= 1

    @classmethod
    def ready_now(cls) -> Pollable:
        """A pollable that is always ready."""
        return cls(_true, _nothing)

    @classmethod
    def of_future(cls, fut: asyncio.Future[Any]) -> Pollable:
        """Ready once ``fut`` is done (waiting never cancels ``fut``)."""
        return cls(fut.done, lambda: _wait_done(fut))

    def ready(self) -> bool:
        return bool(self._is_ready())

    async def block(self) -> None:
        while not self._is_ready():
            await self._wait()


class _Parent:
    """A resource that pollables are children of (Wasmtime's resource-table parent)."""

    __slots__ = ("_children",)

    def __init__(self) -> None:
        self._children = 0

    def _check_no_children(self, what: str) -> None:
        if self._children:
            raise StreamTrap(f"cannot drop the {what}: resource has children "
                             f"({self._children} pollable{'s' if self._children > 1 else ''} "
                             "from subscribe still alive)")


async def poll(in_: Sequence[Pollable]) -> list[int]:
    """``poll``: wait until at least one pollable is ready; the indices of all ready ones."""
    if not in_:
        raise StreamTrap("empty poll list")
    while True:
        ready = [i for i, p in enumerate(in_) if p._is_ready()]
        if ready:
            return ready
        if len(in_) == 1:
            await in_[0]._wait()
            continue
        unique = list({id(p): p for p in in_}.values())
        waits = [asyncio.ensure_future(p._wait()) for p in unique]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()


def _close_backend(backend: Any) -> None:
    close = getattr(backend, "close", None)
    if close is None:
        return
    r = close()
    if inspect.isawaitable(r):
        asyncio.ensure_future(r)


# --- input streams ------------------------------------------------------------------------------


class _Source:
    """The read-ahead state of one input backend (shared by the handles on it)."""

    __slots__ = ("backend", "chunk", "buf", "pos", "eof", "error", "closed", "task", "changed",
                 "refs")

    def __init__(self, backend: Any, chunk: int = READ_CHUNK) -> None:
        self.backend = backend
        self.chunk = chunk
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.error: BaseException | None = None
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self.changed = _Notify()
        self.refs = 0

    def start(self) -> None:
        """Read ahead, unless there is data or an end already, or a read under way."""
        if (self.task is None and not self.buf and not self.eof and self.error is None
                and not self.closed):
            self.task = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        try:
            data = await self.backend.read(self.chunk)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - reported to the guest as last-operation-failed
            self.error = e
        else:
            if data:
                self.buf, self.pos = bytes(data), 0
            else:
                self.eof = True
        finally:
            self.task = None
            self.changed.notify()

    def is_ready(self) -> bool:
        if self.buf or self.eof or self.error is not None or self.closed:
            return True
        self.start()
        return False

    def take(self, n: int) -> Result | None:
        """What a read of ``n`` bytes returns now, or None when nothing is there yet."""
        if self.buf:
            pos, buf = self.pos, self.buf
            end = pos + n
            if end >= len(buf):
                chunk = buf if pos == 0 else buf[pos:]
                self.buf, self.pos = b"", 0
                self.start()  # keep reading ahead
            else:
                chunk = buf[pos:end]
                self.pos = end
            return Ok(chunk)
        if self.error is not None:
            e, self.error = self.error, None
            self.closed = True
            return failed(e)
        if self.eof or self.closed:
            return Err(CLOSED)
        return None

    def release(self) -> None:
        self.refs -= 1
        if self.refs > 0:
            return
        self.closed = True
        if self.task is not None:
            self.task.cancel()
        self.buf = b""
        self.changed.notify()
        _close_backend(self.backend)


class InputStream(_Parent):
    """The ``input-stream`` resource over a backend with ``async read(n) -> bytes``."""

    __slots__ = ("_src", "_dropped")

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self._src = backend if isinstance(backend, _Source) else _Source(backend)
        self._src.refs += 1
        self._dropped = False

    @property
    def backend(self) -> Any:
        return self._src.backend

    def share(self) -> InputStream:
        """Another handle on the same stream and read-ahead buffer."""
        return InputStream(self._src)

    async def read(self, length: int) -> Result:
        src = self._src
        r = src.take(length)
        if r is None:
            src.start()
            await asyncio.sleep(0)  # let a read-ahead that completes at once land
            r = src.take(length)
            if r is None:
                return Ok(b"")
        return r

    async def blocking_read(self, length: int) -> Result:
        src = self._src
        while True:
            r = src.take(length)
            if r is not None:
                return r
            src.start()
            await src.changed.wait()

    async def skip(self, length: int) -> Result:
        r = await self.read(length)
        return Ok(len(r.value)) if isinstance(r, Ok) else r

    async def blocking_skip(self, length: int) -> Result:
        r = await self.blocking_read(length)
        return Ok(len(r.value)) if isinstance(r, Ok) else r

    def subscribe(self) -> Pollable:
        src = self._src
        src.start()
        return Pollable(src.is_ready, src.changed.wait).child_of(self)

    def drop(self) -> None:
        self._check_no_children("input-stream")
        if not self._dropped:
            self._dropped = True
            self._src.release()


# --- output streams -----------------------------------------------------------------------------


class _Sink:
    """The write-behind state of one output backend (shared by the handles on it)."""

    __slots__ = ("backend", "budget", "items", "queued", "flush_pending", "error", "closed",
                 "task", "busy", "changed", "refs", "closing")

    def __init__(self, backend: Any, budget: int = WRITE_BUDGET) -> None:
        self.backend = backend
        self.budget = budget
        self.items: deque[bytes] = deque()
        self.queued = 0
        self.flush_pending = False
        self.error: BaseException | None = None
        self.closed = False
        self.task: asyncio.Task[None] | None = None
        self.busy = False  # a blocking write runs inline
        self.changed = _Notify()
        self.refs = 0
        self.closing = False

    def status(self) -> Err[Any] | None:
        if self.error is not None:
            e, self.error = self.error, None
            self.closed = True
            return failed(e)
        if self.closed or self.closing:
            return Err(CLOSED)
        return None

    def permit(self) -> int:
        if self.flush_pending:
            return 0
        return max(0, self.budget - self.queued)

    def is_ready(self) -> bool:
        return self.error is not None or self.closed or self.permit() > 0

    @property
    def idle(self) -> bool:
        return self.task is None and not self.busy and not self.items and not self.flush_pending

    def push(self, data: bytes) -> None:
        if data:
            self.items.append(data)
            self.queued += len(data)
            self.kick()

    def kick(self) -> None:
        if self.task is None and not self.busy and (self.items or self.flush_pending):
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.items or self.flush_pending:
                if self.items:
                    items = self.items
                    data = items[0] if len(items) == 1 else b"".join(items)
                    n = len(items)
                    await self.backend.write(data)
                    for _ in range(n):
                        items.popleft()
                    self.queued -= len(data)
                else:
                    await self.backend.flush()
                    self.flush_pending = False
                self.changed.notify()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - reported to the guest as last-operation-failed
            self._failed(e)
        finally:
            self.task = None
            self.changed.notify()
            self._maybe_close()

    def _failed(self, e: BaseException) -> None:
        if not self.closed:
            self.error = e
        self.items.clear()
        self.queued = 0
        self.flush_pending = False

    async def write_now(self, data: bytes) -> None:
        """Write and flush ``data`` on the calling fiber (the stream must be idle)."""
        self.busy = True
        try:
            if data:
                await self.backend.write(data)
            await self.backend.flush()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001
            self._failed(e)
        finally:
            self.busy = False
            self.kick()
            self.changed.notify()
            self._maybe_close()

    async def until_ready(self) -> None:
        while not self.is_ready():
            await self.changed.wait()

    async def drained(self) -> None:
        """Wait until everything queued was written (and a pending flush done)."""
        while not self.idle and not self.closed and self.error is None:
            await self.changed.wait()

    def _maybe_close(self) -> None:
        if self.closing and self.idle and not self.closed:
            self.closed = True
            _close_backend(self.backend)

    def release(self) -> None:
        self.refs -= 1
        if self.refs > 0:
            return
        self.closing = True
        self._maybe_close()


class OutputStream(_Parent):
    """The ``output-stream`` resource over a backend with ``async write(data)`` and
    ``async flush()``."""

    __slots__ = ("_sink", "_dropped")

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self._sink = backend if isinstance(backend, _Sink) else _Sink(backend)
        self._sink.refs += 1
        self._dropped = False

    @property
    def backend(self) -> Any:
        return self._sink.backend

    def share(self) -> OutputStream:
        """Another handle on the same stream and write buffer."""
        return OutputStream(self._sink)

    async def drained(self) -> None:
        """Wait until everything written so far reached the backend (for the host)."""
        await self._sink.drained()

    def end(self) -> None:
        """The host ends the stream (e.g. a socket shut down for sending): what was written
        still goes to the backend, which is closed after it; the guest sees ``closed`` from now
        on, on every handle."""
        s = self._sink
        s.closing = True
        s._maybe_close()
        s.changed.notify()

    def check_write(self) -> Result:
        s = self._sink
        return s.status() or Ok(s.permit())

    def write(self, contents: bytes) -> Result:
        s = self._sink
        st = s.status()
        if st is not None:
            return st
        if s.flush_pending:
            raise StreamTrap("write not permitted while flush pending")
        if len(contents) > s.permit():
            raise StreamTrap("write exceeded budget")
        s.push(contents)
        return Ok()

    async def blocking_write_and_flush(self, contents: bytes) -> Result:
        if len(contents) > BLOCKING_MAX:
            raise StreamTrap("Buffer too large for blocking-write-and-flush "
                             f"(expected at most {BLOCKING_MAX})")
        return await self._blocking_write(contents)

    async def _blocking_write(self, contents: bytes) -> Result:
        s = self._sink
        st = s.status()
        if st is not None:
            return st
        if s.idle:
            await s.write_now(contents)
            return self._after_flush()
        view = memoryview(contents)
        while view:
            await s.until_ready()
            st = s.status()
            if st is not None:
                return st
            k = min(len(view), s.permit())
            s.push(bytes(view[:k]))
            view = view[k:]
        r = self.flush()
        if isinstance(r, Err):
            return Ok() if r == Err(CLOSED) else r
        await s.until_ready()
        return self._after_flush()

    def _after_flush(self) -> Result:
        """The end of a blocking write: an error is returned, the stream being closed is not
        (as in Wasmtime)."""
        st = self._sink.status()
        return Ok() if st is None or st == Err(CLOSED) else st

    def flush(self) -> Result:
        s = self._sink
        st = s.status()
        if st is not None:
            return st
        s.flush_pending = True
        s.kick()
        return Ok()

    async def blocking_flush(self) -> Result:
        r = self.flush()
        if isinstance(r, Err):
            return r
        s = self._sink
        await s.until_ready()
        return s.status() or Ok()

    def subscribe(self) -> Pollable:
        s = self._sink
        return Pollable(s.is_ready, s.changed.wait).child_of(self)

    def write_zeroes(self, length: int) -> Result:
        s = self._sink
        st = s.status()
        if st is not None:
            return st
        if length > s.permit():
            raise StreamTrap("cannot write more zeroes than `check_write` allows")
        s.push(bytes(length))
        return Ok()

    async def blocking_write_zeroes_and_flush(self, length: int) -> Result:
        if length > BLOCKING_MAX:
            raise StreamTrap("Buffer too large for blocking-write-zeroes-and-flush "
                             f"(expected at most {BLOCKING_MAX})")
        return await self._blocking_write(bytes(length))

    async def splice(self, src: InputStream, length: int) -> Result:
        s = self._sink
        st = s.status()
        if st is not None:
            return st
        n = min(length, s.permit())
        if n == 0:
            return Ok(0)
        r = await src.read(n)
        if isinstance(r, Err):
            return r
        st = s.status()
        if st is not None:
            return st
        data: bytes = r.value[:s.permit()]
        s.push(data)
        return Ok(len(data))

    async def blocking_splice(self, src: InputStream, length: int) -> Result:
        s = self._sink
        await s.until_ready()
        st = s.status()
        if st is not None:
            return st
        n = min(length, s.permit())
        if n == 0:
            return Ok(0)
        r = await src.blocking_read(n)
        if isinstance(r, Err):
            return r
        st = s.status()
        if st is not None:
            return st
        data: bytes = r.value[:s.permit()]
        s.push(data)
        return Ok(len(data))

    def drop(self) -> None:
        self._check_no_children("output-stream")
        if not self._dropped:
            self._dropped = True
            self._sink.release()


# --- registration -------------------------------------------------------------------------------


class ErrorInterface:
    """``wasi:io/error``."""

    Error = Error


class PollInterface:
    """``wasi:io/poll``."""

    Pollable = Pollable
    poll = staticmethod(poll)


class StreamsInterface:
    """``wasi:io/streams``."""

    InputStream = InputStream
    OutputStream = OutputStream


VERSION = "0.2.12"


def register(linker: Linker, ctx: WasiCtx | None = None) -> None:
    """Define ``wasi:io/{error,poll,streams}@0.2.12`` on ``linker`` (``@0.2.x`` imports match)."""
    linker.define_interface(f"wasi:io/error@{VERSION}", ErrorInterface())
    linker.define_interface(f"wasi:io/poll@{VERSION}", PollInterface())
    linker.define_interface(f"wasi:io/streams@{VERSION}", StreamsInterface())

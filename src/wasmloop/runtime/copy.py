"""What streams and futures share (CanonicalABI.md "Buffer State", "Stream State").

- ``CopyResult`` and ``CopyState``, the spec's enums.
- Buffers: a *guest* buffer is ``n`` elements at ``ptr`` in a guest memory (bounds and
  alignment checked when it is made, like the spec's ``BufferGuestImpl``); a *host* buffer is a
  Python chunk (``HostSource``, what a host writer offers) or a collector (``HostSink``, what a
  host reader fills).
- ``copy_items``: moves ``n`` elements from a readable buffer into a writable one. Between two
  guest buffers of a numeric element type (u8…u64, s8…s64, f32, f64) this is ONE
  ``ctypes.memmove`` from the writer's memory into the reader's; no Python object is made per
  element. Any other element type is lifted from the writer's memory and lowered into the
  reader's through the canonical ABI (so resources, streams and futures inside elements move
  ownership through the two instances' contexts).
- ``CopyEnd``: the base of the four guest-held ends (waitables with a ``CopyState``), and
  ``HostEnd``, the base of the host-held ones (their progress completes asyncio futures).

A *party* of a copy is whatever registered a buffer with the shared state: an end in a guest's
handle table or a host end. It has ``inst`` (the component instance, None for the host),
``buffer``, ``on_copy(reclaim)`` (some elements moved, the buffer stays registered until
``reclaim()``) and ``on_copy_done(result)`` (the copy is over).
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import struct
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .. import types as T
from ..abi import layout
from ..abi.lift import lifter
from ..abi.lower import lowerer
from ..errors import Trap, WasmloopError
from . import deadlock
from .waitable import Waitable

if TYPE_CHECKING:
    from .instance import ComponentInstance

__all__ = [
    "CopyResult",
    "CopyState",
    "MAX_LENGTH",
    "ElemInfo",
    "elem_info",
    "GuestBuffer",
    "HostSource",
    "HostSink",
    "copy_items",
    "CopyEnd",
    "HostEnd",
    "EndOfStream",
    "BrokenResourceError",
    "ClosedResourceError",
    "BusyResourceError",
    "make_context",
    "same_instance_trap",
]

#: Largest element count of one read or write (``Buffer.MAX_LENGTH``).
MAX_LENGTH = 2**28 - 1
#: Most bytes (of flat element data) one host read takes, whatever count it asked for: a
#: guest's huge write is copied out a bounded piece at a time, as the host reads.
HOST_READ_MAX_BYTES = 4 << 20
#: Elements lifted then lowered per step when a copy goes through the canonical ABI, so a
#: copy of millions of elements never holds them all as Python objects.
ABI_COPY_BATCH = 1024

_memmove = ctypes.memmove


class CopyResult(IntEnum):
    COMPLETED = 0
    DROPPED = 1
    CANCELLED = 2


class CopyState(IntEnum):
    IDLE = 1
    COPYING = 2
    CANCELLING_COPY = 3
    DONE = 4


COMPLETED = CopyResult.COMPLETED
DROPPED = CopyResult.DROPPED
CANCELLED = CopyResult.CANCELLED


# ---------------------------------------------------------------------------------------------
# Host-side errors (anyio's names)


class EndOfStream(WasmloopError):
    """The writable end was dropped and every element written before has been read."""


class BrokenResourceError(WasmloopError):
    """The other end was dropped: a write can no longer be delivered (or a future's writer
    went away without writing a value)."""


class ClosedResourceError(WasmloopError):
    """This end was closed, or its ownership was given to a component."""


class BusyResourceError(WasmloopError):
    """Another read (or write) on this end is still in progress."""


# ---------------------------------------------------------------------------------------------
# Element types


#: struct codes of the element types copied as raw bytes.
NUMERIC_CODES = {
    "u8": "B", "s8": "b", "u16": "H", "s16": "h", "u32": "I", "s32": "i",
    "u64": "Q", "s64": "q", "f32": "f", "f64": "d",
}

#: Element kinds.
K_NONE = 0  # no payload (``stream`` / ``future`` without a type)
K_RAW = 1  # a numeric type: elements are copied as bytes
K_ABI = 2  # anything else: lifted and lowered through the canonical ABI


class ElemInfo:
    """The static facts a copy needs about an element type (cached per type)."""

    __slots__ = ("t", "kind", "size", "align", "code", "is_u8", "is_float")

    def __init__(self, t: T.ValType | None) -> None:
        self.t = t
        self.code = ""
        self.is_u8 = False
        self.is_float = False
        if t is None:
            self.kind, self.size, self.align = K_NONE, 0, 1
            return
        self.size = layout.elem_size(t)
        self.align = layout.alignment(t)
        code = NUMERIC_CODES.get(t.kind) if isinstance(t, T.PrimType) else None
        if code is not None:
            self.kind = K_RAW
            self.code = code
            self.is_u8 = code == "B"
            self.is_float = code in "fd"
        else:
            self.kind = K_ABI

    @property
    def numeric(self) -> bool:
        """``none_or_number_type``: may both ends of a copy be in one instance?"""
        return self.kind != K_ABI


_ELEM_INFO: dict[Any, ElemInfo] = {}


def elem_info(t: T.ValType | None) -> ElemInfo:
    info = _ELEM_INFO.get(t)
    if info is None:
        info = _ELEM_INFO[t] = ElemInfo(t)
    return info


def same_instance_trap() -> Trap:
    # The spec marks this rule "temporary"; Wasmtime 49 words it this way.
    return Trap(
        "cannot read from and write to intra-component future/stream with non-numeric payload"
    )


# ---------------------------------------------------------------------------------------------
# Buffers


class GuestBuffer:
    """``n`` elements at ``ptr`` in a guest memory: the source of a write (``read``) or the
    destination of a read (``write``). ``cx`` is the guest's lift/lower context, used only for
    element types that go through the canonical ABI."""

    __slots__ = ("info", "memory", "cx", "ptr", "progress", "length", "encoding", "misaligned")

    guest = True

    def __init__(self, info: ElemInfo, memory: Any, cx: Any, ptr: int, length: int,
                 what: str, encoding: str = "utf8") -> None:
        if length > MAX_LENGTH:
            raise Trap("wasm trap: stream read/write count too large")  # Wasmtime 49's words
        # Wasmtime 49 checks the bounds now but the alignment only when elements are copied
        # (the spec checks both now): a misaligned buffer traps the copy that touches it.
        self.misaligned = ""
        if info.kind != K_NONE and length > 0:
            if ptr & (info.align - 1):
                self.misaligned = f"{what} pointer not aligned"
            if memory is None:
                raise Trap("canonical ABI needs a memory but none was given")
            end = ptr + length * info.size
            try:
                memory.ensure(end)  # no C call while the cached view covers it
            except Trap:
                raise Trap("read pointer out of bounds of memory") from None
        self.info = info
        self.memory = memory
        self.cx = cx
        self.ptr = ptr
        self.progress = 0
        self.length = length
        self.encoding = encoding

    def remain(self) -> int:
        return self.length - self.progress

    def is_zero_length(self) -> bool:
        return self.length == 0

    # -- the element-by-element path ---------------------------------------------------------

    def read(self, n: int) -> Any:
        """Take ``n`` elements out (lifting them): bytes-like for numeric types, a count for
        no payload, a list of values otherwise."""
        info = self.info
        p = self.ptr
        kind = info.kind
        if kind == K_RAW:
            nb = n * info.size
            out: Any = self.memory.view()[p : p + nb]
            self.ptr = p + nb
        elif kind == K_NONE:
            out = n
        else:
            lf = lifter(info.t, self.encoding)  # type: ignore[arg-type]
            load, es = lf.load, lf.size
            cx = self.cx
            mem = cx.view()
            out = []
            if lf.calls_out:
                for _ in range(n):
                    out.append(load(cx, mem, p))
                    mem = cx.view()
                    p += es
            else:
                for q in range(p, p + n * es, es):
                    out.append(load(cx, mem, q))
                p += n * es
            self.ptr = p
        self.progress += n
        return out

    def write(self, chunk: Any, n: int) -> None:
        """Put ``n`` elements in (lowering them); ``chunk`` is what a ``read`` returned."""
        info = self.info
        p = self.ptr
        kind = info.kind
        if kind == K_RAW:
            nb = n * info.size
            self.memory.view()[p : p + nb] = chunk
            self.ptr = p + nb
        elif kind == K_ABI:
            lw = lowerer(info.t, self.encoding)  # type: ignore[arg-type]
            store, es = lw.store, lw.size
            cx = self.cx
            mem = cx.view()
            if lw.calls_out:
                for v in chunk:
                    store(cx, mem, v, p)
                    mem = cx.view()
                    p += es
            else:
                for v in chunk:
                    store(cx, mem, v, p)
                    p += es
            self.ptr = p
        self.progress += n


class HostSource:
    """A chunk a host writer offers. Numeric chunks are packed to bytes when made, so a bad
    value is the host's ``TypeError``/``ValueError`` at ``write()``, never a guest trap."""

    __slots__ = ("info", "data", "ptr", "progress", "length")

    guest = False
    inst = None
    misaligned = ""

    def __init__(self, info: ElemInfo, chunk: Any) -> None:
        self.info = info
        self.ptr = 0
        self.progress = 0
        kind = info.kind
        if kind == K_RAW:
            data = pack_numeric(info, chunk)
            self.data = memoryview(data)
            self.length = len(data) // info.size
        elif kind == K_NONE:
            self.data = None
            self.length = chunk if isinstance(chunk, int) else len(chunk)
            if self.length < 0:
                raise ValueError("a negative element count")
        else:
            if isinstance(chunk, str | bytes):
                raise TypeError(f"expected a list of values, got {type(chunk).__name__}")
            self.data = chunk if type(chunk) is list else list(chunk)
            self.length = len(self.data)

    def remain(self) -> int:
        return self.length - self.progress

    def is_zero_length(self) -> bool:
        return self.length == 0

    def read(self, n: int) -> Any:
        info = self.info
        kind = info.kind
        p = self.ptr
        if kind == K_RAW:
            nb = n * info.size
            out: Any = self.data[p : p + nb]
            self.ptr = p + nb
        elif kind == K_NONE:
            out = n
        else:
            out = self.data[p : p + n]
            self.ptr = p + n
        self.progress += n
        return out


class HostSink:
    """Collects what a host reader receives (at most ``length`` elements)."""

    __slots__ = ("info", "parts", "progress", "length")

    guest = False
    misaligned = ""

    def __init__(self, info: ElemInfo, length: int) -> None:
        self.info = info
        self.parts: list[Any] = []
        self.progress = 0
        self.length = min(length, max(1, HOST_READ_MAX_BYTES // (info.size or 8)))

    def remain(self) -> int:
        return self.length - self.progress

    def is_zero_length(self) -> bool:
        return self.length == 0

    def write(self, chunk: Any, n: int) -> None:
        kind = self.info.kind
        if kind == K_RAW:
            self.parts.append(bytes(chunk))  # out of guest memory now: it may change later
        elif kind == K_ABI:
            self.parts.extend(chunk)
        self.progress += n

    def take(self) -> Any:
        """The elements received, as the host sees them: ``bytes`` for u8, a list otherwise."""
        info = self.info
        kind = info.kind
        parts = self.parts
        self.parts = []
        if kind == K_ABI:
            return parts
        if kind == K_NONE:
            return [None] * self.progress
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if info.is_u8:
            return data
        return unpack_numeric(info, data)


def pack_numeric(info: ElemInfo, chunk: Any) -> bytes:
    """Host values of a numeric element type → their little-endian bytes."""
    if info.is_u8:
        if type(chunk) is bytes:
            return chunk
        if isinstance(chunk, bytearray | memoryview):
            return bytes(chunk)
        if isinstance(chunk, str | int) or not hasattr(chunk, "__iter__"):
            raise TypeError(f"expected bytes for stream<u8>, got {type(chunk).__name__}")
        return bytes(chunk)
    if isinstance(chunk, str | bytes | bytearray | memoryview) or not hasattr(chunk, "__iter__"):
        raise TypeError(f"expected a list of numbers, got {type(chunk).__name__}")
    vals = chunk if type(chunk) is list else list(chunk)
    if not info.is_float:
        try:
            return struct.pack(f"<{len(vals)}{info.code}", *vals)
        except (struct.error, TypeError, OverflowError):
            pass  # the lowering below says which value is wrong
    lw = lowerer(info.t)  # type: ignore[arg-type]
    out = bytearray(len(vals) * info.size)
    mem = memoryview(out)
    store, es = lw.store, info.size
    p = 0
    for v in vals:  # validates every value the way a lowering would
        store(None, mem, v, p)
        p += es
    return bytes(out)


def unpack_numeric(info: ElemInfo, data: bytes) -> list[Any]:
    vals: list[Any] = memoryview(data).cast(info.code).tolist()
    if info.is_float:
        s = math.fsum(vals) if vals else 0.0
        if s != s:
            vals = [x if x == x else math.nan for x in vals]
    return vals


def copy_items(src: Any, dst: Any, n: int) -> None:
    """Move ``n`` elements from ``src`` (the writer's buffer) into ``dst`` (the reader's)."""
    if src.misaligned or dst.misaligned:
        raise Trap(src.misaligned or dst.misaligned)
    if src.guest and dst.guest:
        info = src.info
        if info.kind == K_RAW:
            nb = n * info.size
            sp, dp = src.ptr, dst.ptr
            _memmove(dst.memory.data_ptr + dp, src.memory.data_ptr + sp, nb)
            src.ptr = sp + nb
            dst.ptr = dp + nb
            src.progress += n
            dst.progress += n
            return
    if src.info.kind == K_ABI and n > ABI_COPY_BATCH:
        while n > 0:
            k = n if n < ABI_COPY_BATCH else ABI_COPY_BATCH
            dst.write(src.read(k), k)
            n -= k
        return
    dst.write(src.read(n), n)


# ---------------------------------------------------------------------------------------------
# Ends


class CopyEnd(Waitable):
    """A stream or future end in a guest's handle table (a waitable with a ``CopyState``).

    While a copy is in progress, ``buffer`` is its guest buffer and ``index`` the handle the
    guest used; ``on_copy``/``on_copy_done`` (called by the shared state) record the outcome
    and set the pending event, which computes its payload when delivered, like the spec's
    ``stream_event``/``future_event``.
    """

    __slots__ = ("state", "shared", "buffer", "index", "result", "reclaim", "inst", "_event")

    #: The event code of this end's copies (set by subclasses).
    event_code = 0

    def __init__(self, shared: Any) -> None:
        Waitable.__init__(self)
        self.state = CopyState.IDLE
        self.shared = shared
        self.buffer: Any = None
        self.index = 0
        self.result = COMPLETED
        self.reclaim: Callable[[], None] | None = None
        self.inst: ComponentInstance | None = None
        self._event = self.deliver

    def copying(self) -> bool:
        s = self.state
        return s == CopyState.COPYING or s == CopyState.CANCELLING_COPY

    def __del__(self) -> None:
        # An end the host dropped without closing: close it soon (not here — a finalizer can
        # run in the middle of anything), so the other side sees it dropped instead of
        # waiting forever.
        if getattr(self, "shared", None) is not None:
            _abandoned.append(self)
            try:
                asyncio.get_running_loop().call_soon(drop_abandoned)
            except RuntimeError:
                pass

    def on_copy(self, reclaim: Callable[[], None]) -> None:
        self.result = COMPLETED
        self.reclaim = reclaim
        self.set_pending_event(self._event)

    def on_copy_done(self, result: CopyResult) -> None:
        self.result = result
        self.reclaim = None
        self.set_pending_event(self._event)

    def deliver(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def drop(self) -> None:
        self.shared.drop()
        Waitable.drop(self)


class SharedBase:
    """What ``SharedStream`` and ``SharedFuture`` have in common (the spec's ``SharedBase``):
    the element type, whether an end dropped, and the party whose copy waits for the other
    side."""

    __slots__ = ("t", "key", "info", "dropped", "pending", "broken")

    def __init__(self, t: T.ValType | None, key: Any = None) -> None:
        self.t = t
        #: The element type as the runtime sees it (see ``typekey``): what end type checks
        #: compare, across component instances.
        self.key = t if key is None else key
        self.info = elem_info(t)
        self.dropped = False
        #: The party (end) whose buffer waits for the other side, if any.
        self.pending: Any = None
        #: Why the other side can never act again, when a trap poisoned the instance that
        #: held an end (``break_ends``): the host's end then fails instead of seeing a drop.
        self.broken: str | None = None

    def reset_pending(self) -> None:
        self.pending = None

    def _notify_pending(self, result: CopyResult) -> None:
        p = self.pending
        self.pending = None
        p.on_copy_done(result)

    def cancel(self) -> None:
        self._notify_pending(CANCELLED)

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            if self.pending is not None:
                self._notify_pending(DROPPED)


def break_ends(inst: Any, why: str) -> None:
    """A trap poisoned ``inst`` (and its tree): every stream and future end its handle
    tables hold is dropped for good, with ``why``, so whoever holds the other end (the host,
    or another component) stops waiting on it: a host reader then gets
    ``BrokenResourceError`` instead of a clean end of stream."""
    for e in list(inst.handles):
        shared = getattr(e, "shared", None)
        if isinstance(e, CopyEnd) and shared is not None and not shared.dropped:
            shared.broken = why
            shared.drop()
    for child in inst.children:
        break_ends(child, why)


#: Host ends garbage-collected while still open, waiting to be closed (``drop_abandoned``).
_abandoned: list[Any] = []


def drop_abandoned() -> None:
    """Close the host ends the program dropped without closing."""
    while _abandoned:
        end = _abandoned.pop()
        try:
            end.close()
        except Exception:  # noqa: BLE001 - best effort for an end nobody holds any more
            pass


class HostEnd:
    """Base of the ends the host holds: a copy's outcome completes an asyncio future.

    ``shared`` is None once the end was closed or given away."""

    __slots__ = ("shared", "buffer", "result", "reclaim", "waiter", "busy", "__weakref__")

    inst = None

    def __init__(self, shared: Any) -> None:
        self.shared = shared
        self.buffer: Any = None
        self.result: CopyResult | None = None
        # While the host holds this end it may still act on it: no deadlock can be declared.
        deadlock.track_host_end(self)
        self.reclaim: Callable[[], None] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.busy = False

    def __del__(self) -> None:
        # An end the host dropped without closing: close it soon (not here — a finalizer can
        # run in the middle of anything), so the other side sees it dropped instead of
        # waiting forever.
        if getattr(self, "shared", None) is not None:
            _abandoned.append(self)
            try:
                asyncio.get_running_loop().call_soon(drop_abandoned)
            except RuntimeError:
                pass

    def on_copy(self, reclaim: Callable[[], None]) -> None:
        self.result = COMPLETED
        self.reclaim = reclaim
        self._wake()

    def on_copy_done(self, result: CopyResult) -> None:
        self.result = result
        self.reclaim = None
        self._wake()

    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _shared(self) -> Any:
        s = self.shared
        if s is None:
            raise ClosedResourceError(f"this {type(self).__name__} was closed or given away")
        if self.busy:
            raise BusyResourceError(f"another operation on this {type(self).__name__} is "
                                    "in progress")
        return s

    async def _wait(self) -> None:
        """Wait for the copy registered with the shared state to make progress; if the
        awaiting task is cancelled, cancel the copy (the caller sees what already moved)."""
        fut = asyncio.get_running_loop().create_future()
        self.waiter = fut
        try:
            await fut
        except asyncio.CancelledError:
            if self.result is None and self.shared is not None \
                    and self.shared.pending is self:
                self.shared.cancel()
            raise
        finally:
            self.waiter = None

    def _take_result(self) -> CopyResult:
        r = self.reclaim
        if r is not None:
            self.reclaim = None
            r()
        res = self.result
        assert res is not None
        self.result = None
        return res

    def _give_away(self) -> Any:
        """Ownership moves into a component: returns the shared state (TypeError if this end
        can no longer be given)."""
        s = self.shared
        if s is None:
            raise TypeError(f"this {type(self).__name__} was closed or already given away")
        if self.busy:
            raise TypeError(f"this {type(self).__name__} has an operation in progress")
        self.shared = None
        return s


def make_context(inst: Any, memory: Any, realloc: Any) -> Any:
    """The lift/lower context of a guest buffer (``borrow_scope`` None, as in the spec)."""
    from .func import CallContext

    return CallContext(inst, memory, realloc, None)


def drop_end_factory(end_type: type, other_type: type, kind: str, inst: Any, tkey: Any, *,
                     wrong_end: str, busy: str,
                     not_done: str | None = None) -> tuple[Any, bool]:
    """``canon {stream,future}.drop-{readable,writable}`` for one end type: ``(i32) -> ()``.

    ``tkey`` is the element type as ``typekey.runtime_type_key`` gives it for ``inst``;
    ``not_done`` (future writers) traps unless the end is DONE (it wrote, or saw the reader
    drop)."""
    handles = inst.handles

    def handler(_caller: Any, i: int) -> None:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        e = handles.get(i)
        if type(e) is not end_type:
            raise Trap(wrong_end if type(e) is other_type else f"handle is not a {kind}")
        key = e.shared.key
        if key is not tkey and key != tkey:
            raise Trap(f"handle is a {kind} of a different type")
        if e.copying():
            raise Trap(busy)
        if not_done is not None and e.state != CopyState.DONE:
            raise Trap(not_done)
        handles.remove(i)
        e.drop()

    return handler, False

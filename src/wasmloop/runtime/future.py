"""Futures (CanonicalABI.md "Future State", ``canon future.*``).

A future is a stream of exactly one element: ``SharedFuture`` pairs one read with one write.
Guest rules (the spec's, with Wasmtime 49's trap messages): a writable end may only be dropped
after its write completed or saw the reader dropped; an end whose copy completed is done.

Host ends: ``FutureReader`` (await it for the value) and ``FutureWriter`` (``write(value)``
offers the value without waiting; the reader takes it when it reads). As in Wasmtime, a host
writer closed without writing makes the reader's read report DROPPED.
"""

from __future__ import annotations

from typing import Any

from .. import types as T
from ..errors import Trap
from .copy import (
    COMPLETED,
    DROPPED,
    K_ABI,
    BrokenResourceError,
    CopyEnd,
    CopyResult,
    CopyState,
    GuestBuffer,
    HostEnd,
    HostSink,
    HostSource,
    SharedBase,
    copy_items,
    drop_end_factory,
    elem_info,
    make_context,
    same_instance_trap,
)
from .stream import _run_host_op, _show, block_for_event, cancel_copy_factory
from .typekey import runtime_type_key
from .waitable import BLOCKED, EventCode

__all__ = [
    "SharedFuture",
    "ReadableFutureEnd",
    "WritableFutureEnd",
    "FutureReader",
    "FutureWriter",
    "future_new",
    "future_read",
    "future_write",
    "future_cancel_read",
    "future_cancel_write",
    "future_drop_readable",
    "future_drop_writable",
    "lift_future",
    "lower_future",
]

IDLE = CopyState.IDLE
COPYING = CopyState.COPYING
DONE = CopyState.DONE

_BUSY = "cannot have concurrent operations active on a future/stream"
_SYNC_IN_SET = "waitable cannot be used synchronously while added to a waitable set"


class SharedFuture(SharedBase):
    """``SharedFutureImpl``: the rendezvous of one future's reader and writer."""

    __slots__ = ()

    # Like ``SharedStream``: the caller's result if its copy is over at once, else None.

    def read(self, party: Any, dst: Any) -> CopyResult | None:
        # The spec asserts the writer cannot have dropped (guest writers must write first);
        # a host writer can, and the read then reports DROPPED, as in Wasmtime.
        if self.dropped:
            return DROPPED
        p = self.pending
        if p is None:
            self.pending = party
            return None
        inst = party.inst
        if inst is p.inst and inst is not None and self.info.kind == K_ABI:
            raise same_instance_trap()
        copy_items(p.buffer, dst, 1)
        self._notify_pending(COMPLETED)
        return COMPLETED

    def write(self, party: Any, src: Any) -> CopyResult | None:
        if self.dropped:
            return DROPPED
        p = self.pending
        if p is None:
            self.pending = party
            return None
        inst = party.inst
        if inst is p.inst and inst is not None and self.info.kind == K_ABI:
            raise same_instance_trap()
        copy_items(src, p.buffer, 1)
        self._notify_pending(COMPLETED)
        return COMPLETED


# ---------------------------------------------------------------------------------------------
# Guest-held ends


class _FutureEnd(CopyEnd):
    __slots__ = ()

    def deliver(self) -> tuple[int, int, int]:
        """``future_event``: a completed copy ends the end's use; so does a writer seeing the
        reader dropped. (A reader that saw a host writer drop stays IDLE, as in Wasmtime.)"""
        res = self.result
        if res == COMPLETED or (res == DROPPED and type(self) is WritableFutureEnd):
            self.state = DONE
        else:
            self.state = IDLE
        self.buffer = None
        return (self.event_code, self.index, int(res))


class ReadableFutureEnd(_FutureEnd):
    __slots__ = ()
    event_code = EventCode.FUTURE_READ


class WritableFutureEnd(_FutureEnd):
    __slots__ = ()
    event_code = EventCode.FUTURE_WRITE


def _elem_type_trap(e: Any, tkey: Any) -> None:
    t = e.shared.key
    if t is not tkey and t != tkey:
        raise Trap("handle is a future of a different type")


def future_new(inst: Any, t: T.FutureType) -> tuple[Any, bool]:
    """``canon future.new``: ``() -> i64`` (readable index | writable index << 32)."""
    te = t.elem
    tkey = runtime_type_key(te, inst)
    handles = inst.handles

    def handler(_caller: Any) -> int:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        shared = SharedFuture(te, tkey)
        ri = handles.add(ReadableFutureEnd(shared))
        wi = handles.add(WritableFutureEnd(shared))
        return ri | (wi << 32)

    return handler, False


def _copy_factory(is_read: bool, inst: Any, t: T.FutureType, memory: Any, realloc: Any,
                  string_encoding: str, is_async: bool) -> tuple[Any, bool]:
    te = t.elem
    tkey = runtime_type_key(te, inst)
    info = elem_info(te)
    cx = make_context(inst, memory, realloc) if info.kind == K_ABI else None
    handles = inst.handles
    EndT = ReadableFutureEnd if is_read else WritableFutureEnd
    what = "read" if is_read else "write"

    def done_trap(e: Any) -> Trap:
        if is_read:
            return Trap("cannot read from future after previous read succeeded")
        if e.result == DROPPED:
            # Wasmtime 49's text, then the component-model test suite's
            return Trap("cannot write after being notified that the readable end dropped "
                        "(cannot write to future after previous write succeeded or readable "
                        "end dropped)")
        return Trap("cannot write to future after previous write succeeded or readable end "
                    "dropped")

    def handler(_caller: Any, i: int, ptr: int) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        e = handles.get(i)
        if type(e) is not EndT:
            if isinstance(e, _FutureEnd):
                raise Trap(_BUSY)
            raise Trap("handle is not a future")
        shared = e.shared
        if shared.key is not tkey:
            _elem_type_trap(e, tkey)
        if e.state != IDLE:
            raise done_trap(e) if e.state == DONE else Trap(_BUSY)
        if e.wset is not None and not is_async:
            raise Trap(_SYNC_IN_SET)
        buf = GuestBuffer(info, memory, cx, ptr, 1, what, string_encoding)
        e.buffer = buf
        e.index = i
        e.inst = inst
        e.state = COPYING
        res = shared.read(e, buf) if is_read else shared.write(e, buf)
        if res is None:
            if is_async:
                return BLOCKED
            return block_for_event(e)
        e.buffer = None
        e.result = res
        if res == COMPLETED or (res == DROPPED and not is_read):
            e.state = DONE
        else:
            e.state = IDLE
        return int(res)

    return handler, not is_async


def future_read(inst: Any, t: T.FutureType, memory: Any, realloc: Any,
                string_encoding: str = "utf8", is_async: bool = True) -> tuple[Any, bool]:
    """``canon future.read``: ``(i32 handle, i32 ptr) -> i32``."""
    return _copy_factory(True, inst, t, memory, realloc, string_encoding, is_async)


def future_write(inst: Any, t: T.FutureType, memory: Any, realloc: Any,
                 string_encoding: str = "utf8", is_async: bool = True) -> tuple[Any, bool]:
    """``canon future.write``: ``(i32 handle, i32 ptr) -> i32``."""
    return _copy_factory(False, inst, t, memory, realloc, string_encoding, is_async)


def future_cancel_read(inst: Any, t: T.FutureType, is_async: bool = True) -> tuple[Any, bool]:
    """``canon future.cancel-read``: ``(i32) -> i32``."""
    return cancel_copy_factory(ReadableFutureEnd, WritableFutureEnd, "future", inst, t,
                               is_async, False)


def future_cancel_write(inst: Any, t: T.FutureType, is_async: bool = True) -> tuple[Any, bool]:
    """``canon future.cancel-write``: ``(i32) -> i32``."""
    return cancel_copy_factory(WritableFutureEnd, ReadableFutureEnd, "future", inst, t,
                               is_async, False)


def future_drop_readable(inst: Any, t: T.FutureType) -> tuple[Any, bool]:
    """``canon future.drop-readable``: ``(i32) -> ()``."""
    return drop_end_factory(
        ReadableFutureEnd, WritableFutureEnd, "future", inst, runtime_type_key(t.elem, inst),
        wrong_end="handle is not a readable end of a future",
        busy="cannot remove busy future",
    )


def future_drop_writable(inst: Any, t: T.FutureType) -> tuple[Any, bool]:
    """``canon future.drop-writable``: ``(i32) -> ()``; traps unless the write completed or
    the reader was seen dropped."""
    return drop_end_factory(
        WritableFutureEnd, ReadableFutureEnd, "future", inst, runtime_type_key(t.elem, inst),
        wrong_end="passed read end to `future.drop-writable`",
        busy="cannot drop busy future",
        not_done="cannot drop future write end without first writing a value",
    )


# ---------------------------------------------------------------------------------------------
# Lifting and lowering


def lift_future(cx: Any, t: T.FutureType, i: int) -> FutureReader:
    """``lift_future``: take readable end ``i`` out of ``cx.inst``'s table."""
    handles = cx.inst.handles
    e = handles.get(i)
    if type(e) is not ReadableFutureEnd:
        if type(e) is WritableFutureEnd:
            raise Trap("handle is not a readable end of a future")
        raise Trap("handle is not a future")
    te = t.elem
    tkey = runtime_type_key(te, cx.inst)
    if e.shared.key is not tkey:
        _elem_type_trap(e, tkey)
    if e.state != IDLE:
        if e.state == DONE:
            raise Trap("cannot lift future after previous read succeeded")
        raise Trap("cannot remove busy future")
    if e.wset is not None:
        raise Trap("cannot lift future while it's in a waitable set")
    handles.remove(i)
    return FutureReader(e.shared)


def lower_future(cx: Any, t: T.FutureType, v: Any) -> int:
    """``lower_future``: a ``FutureReader`` becomes a readable end in ``cx.inst``'s table.
    An awaitable (a coroutine, an asyncio future) becomes a new future written with its
    result (``feed``)."""
    if not isinstance(v, FutureReader):
        from .feed import future_from, is_future_source

        if is_future_source(v):
            fed = future_from(t.elem, v)
            if fed.shared is not None:  # resource elements: as this instance sees them
                fed.shared.key = runtime_type_key(t.elem, cx.inst)
            return lower_future(cx, t, fed)
        raise TypeError(f"expected a wasmloop.FutureReader for {_show(t)}, got "
                        f"{type(v).__name__}")
    s = v.shared
    if s is not None and s.key != runtime_type_key(t.elem, cx.inst):
        raise TypeError(f"expected a reader of {_show(t)}, got one of future<{_show(s.t)}>")
    if v._has_value:
        raise TypeError("this FutureReader was already read")
    shared = v._give_away()
    return cx.inst.handles.add(ReadableFutureEnd(shared))


# ---------------------------------------------------------------------------------------------
# Host-held ends


class FutureReader(HostEnd):
    """The readable end of a ``future<T>`` held by the host: ``await reader`` (or
    ``await reader.read()``) is the value, once the writer wrote it. Awaiting again returns
    the same value. Raises ``BrokenResourceError`` if the writer went away without writing.
    Passing the reader to a component moves the end into it."""

    __slots__ = ("_value", "_has_value")

    def __init__(self, shared: SharedFuture) -> None:
        HostEnd.__init__(self, shared)
        self._value: Any = None
        self._has_value = False

    @property
    def elem_type(self) -> T.ValType | None:
        s = self.shared
        return s.t if s is not None else None

    async def read(self) -> Any:
        if self._has_value:
            return self._value
        shared = self._shared()
        sink = HostSink(shared.info, 1)
        self.busy = True
        try:
            _run_host_op(self, shared.read, sink)
            if self.result is None:
                try:
                    await self._wait()
                except BaseException:
                    if self.result is not None:
                        self._settle(sink)
                    raise
            return self._settle(sink)
        finally:
            self.busy = False
            self.buffer = None

    def _settle(self, sink: HostSink) -> Any:
        res = self._take_result()
        if res == COMPLETED:
            self._value = sink.take()[0]
            self._has_value = True
            return self._value
        if res == DROPPED:
            shared = self.shared
            if shared is not None and shared.broken is not None:
                raise BrokenResourceError(f"the future's writer is gone: {shared.broken}")
            raise BrokenResourceError("the future's writer was dropped without writing a value")
        return None

    def __await__(self) -> Any:
        return self.read().__await__()

    def close(self) -> None:
        """Drop the readable end (idempotent)."""
        s = self.shared
        if s is not None:
            self.shared = None
            s.drop()

    async def aclose(self) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.shared
        return f"<FutureReader future<{_show(s.t) if s else '?'}>{' closed' if not s else ''}>"


class FutureWriter(HostEnd):
    """The writable end of a ``future<T>`` held by the host. ``write(value)`` offers the
    value and returns at once; the reader takes it when it reads (if the reader is dropped
    first, the value is discarded). ``close()`` without a write makes the reader's read report
    that the writer dropped."""

    __slots__ = ("_written",)

    def __init__(self, shared: SharedFuture) -> None:
        HostEnd.__init__(self, shared)
        self._written = False

    @property
    def written(self) -> bool:
        return self._written

    def write(self, value: Any) -> None:
        shared = self.shared
        if shared is None or self._written:
            raise RuntimeError("this FutureWriter was already written or closed")
        src = HostSource(shared.info, [value])
        self._written = True
        _run_host_op(self, shared.write, src)

    def close(self) -> None:
        """Drop the writable end (idempotent). A value written and not yet read stays
        offered to the reader."""
        s = self.shared
        if s is not None:
            self.shared = None
            if not self._written:
                s.drop()

    async def aclose(self) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.shared
        return f"<FutureWriter future<{_show(s.t) if s else '?'}>{' closed' if not s else ''}>"


def new_future(t: T.ValType | None) -> tuple[FutureWriter, FutureReader]:
    """A future with both ends held by the host."""
    shared = SharedFuture(t)
    return FutureWriter(shared), FutureReader(shared)


#: op name → factory over a ``canon.BuiltinEnv`` (see ``stream.BUILTINS``).
BUILTINS: dict[str, Any] = {
    "future.new": lambda env: future_new(env.inst, env.static_type),
    "future.read": lambda env: future_read(env.inst, env.static_type, env.memory, env.realloc,
                                           env.string_encoding, env.is_async),
    "future.write": lambda env: future_write(env.inst, env.static_type, env.memory, env.realloc,
                                             env.string_encoding, env.is_async),
    "future.cancel-read": lambda env: future_cancel_read(env.inst, env.static_type,
                                                         env.is_async),
    "future.cancel-write": lambda env: future_cancel_write(env.inst, env.static_type,
                                                           env.is_async),
    "future.drop-readable": lambda env: future_drop_readable(env.inst, env.static_type),
    "future.drop-writable": lambda env: future_drop_writable(env.inst, env.static_type),
}

"""Streams (CanonicalABI.md "Stream State", ``canon stream.*``).

``SharedStream`` is the state both ends of one stream share: at most one *pending* party (a
reader or writer whose buffer waits for the other side), the ``dropped`` flag, and the
rendezvous logic with partial copies and zero-length probes. The guest-held ends
(``ReadableStreamEnd``, ``WritableStreamEnd``) live in a component instance's handle table; the
host-held ones (``StreamReader``, ``StreamWriter``) are the Python API (``wasmloop.stream``).

The canon built-ins are made by factories returning ``(handler, can_suspend)`` for the engine.
Trap messages are Wasmtime 49's.
"""

from __future__ import annotations

from typing import Any

from .. import types as T
from ..errors import Trap
from . import thread as _thread
from .copy import (
    CANCELLED,
    COMPLETED,
    DROPPED,
    K_ABI,
    MAX_LENGTH,
    BrokenResourceError,
    CopyEnd,
    CopyResult,
    CopyState,
    EndOfStream,
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
from .typekey import runtime_type_key
from .waitable import BLOCKED, EventCode

__all__ = [
    "SharedStream",
    "ReadableStreamEnd",
    "WritableStreamEnd",
    "StreamReader",
    "StreamWriter",
    "stream_new",
    "stream_read",
    "stream_write",
    "stream_cancel_read",
    "stream_cancel_write",
    "stream_drop_readable",
    "stream_drop_writable",
    "lift_stream",
    "lower_stream",
]

IDLE = CopyState.IDLE
COPYING = CopyState.COPYING
CANCELLING_COPY = CopyState.CANCELLING_COPY
DONE = CopyState.DONE

_BUSY = "cannot have concurrent operations active on a future/stream"
_SYNC_IN_SET = "waitable cannot be used synchronously while added to a waitable set"


class SharedStream(SharedBase):
    """``SharedStreamImpl``: the rendezvous of one stream's reader and writer."""

    __slots__ = ()

    # ``read`` and ``write`` return the caller's result when its copy is over at once (the
    # spec's ``on_copy_done`` on the caller followed at once by taking that event), or None
    # when the caller's buffer was registered to wait for the other side.

    def read(self, party: Any, dst: Any) -> CopyResult | None:
        if self.dropped:
            return DROPPED
        p = self.pending
        if p is None:
            self.pending = party
            return None
        inst = party.inst
        if inst is p.inst and inst is not None and self.info.kind == K_ABI:
            raise same_instance_trap()
        src = p.buffer
        k = src.length - src.progress
        if k > 0:
            m = dst.length - dst.progress
            if m > 0:
                copy_items(src, dst, m if m < k else k)
                p.on_copy(self.reset_pending)
            return COMPLETED
        self._notify_pending(COMPLETED)
        self.pending = party
        return None

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
        dst = p.buffer
        m = dst.length - dst.progress
        if m > 0:
            k = src.length - src.progress
            if k > 0:
                copy_items(src, dst, m if m < k else k)
                p.on_copy(self.reset_pending)
            return COMPLETED
        if src.length == 0 and dst.length == 0:
            return COMPLETED
        self._notify_pending(COMPLETED)
        self.pending = party
        return None


# ---------------------------------------------------------------------------------------------
# Guest-held ends


class _StreamEnd(CopyEnd):
    __slots__ = ()

    def deliver(self) -> tuple[int, int, int]:
        """``stream_event``: reclaim the buffer, leave COPYING, report progress."""
        r = self.reclaim
        if r is not None:
            self.reclaim = None
            r()
        res = self.result
        self.state = DONE if res == DROPPED else IDLE
        buf = self.buffer
        self.buffer = None
        return (self.event_code, self.index, res | (buf.progress << 4))


class ReadableStreamEnd(_StreamEnd):
    __slots__ = ()
    event_code = EventCode.STREAM_READ


class WritableStreamEnd(_StreamEnd):
    __slots__ = ()
    event_code = EventCode.STREAM_WRITE


def _elem_type_trap(e: Any, tkey: Any) -> None:
    t = e.shared.key
    if t is not tkey and t != tkey:
        raise Trap("handle is a stream of a different type")


def block_for_event(e: CopyEnd) -> Any:
    """A synchronous copy or cancel: block the current thread until ``e`` has its event,
    then return the event's payload."""
    th = _thread.current()
    e.sync_waiter = th

    def finish(_cancelled: bool) -> Any:
        e.sync_waiter = None
        return e.get_pending_event()[2]

    return _thread.block(th, e.has_pending_event, finish)


def stream_new(inst: Any, t: T.StreamType) -> tuple[Any, bool]:
    """``canon stream.new``: ``() -> i64`` (readable index | writable index << 32)."""
    te = t.elem
    tkey = runtime_type_key(te, inst)
    handles = inst.handles

    def handler(_caller: Any) -> int:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        shared = SharedStream(te, tkey)
        ri = handles.add(ReadableStreamEnd(shared))
        wi = handles.add(WritableStreamEnd(shared))
        return ri | (wi << 32)

    return handler, False


def _copy_factory(is_read: bool, inst: Any, t: T.StreamType, memory: Any, realloc: Any,
                  string_encoding: str, is_async: bool) -> tuple[Any, bool]:
    te = t.elem
    tkey = runtime_type_key(te, inst)
    info = elem_info(te)
    cx = make_context(inst, memory, realloc) if info.kind == K_ABI else None
    handles = inst.handles
    EndT = ReadableStreamEnd if is_read else WritableStreamEnd
    what = "read" if is_read else "write"
    # Wasmtime 49's text, then the component-model test suite's (which names the stream)
    done_msg = ("cannot read after being notified that the writable end dropped (cannot read "
                "from stream after being notified that the writable end dropped)" if is_read
                else "cannot write after being notified that the readable end dropped (cannot "
                "write to stream after being notified that the readable end dropped)")

    def handler(_caller: Any, i: int, ptr: int, n: int) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        e = handles.get(i)
        if type(e) is not EndT:
            if isinstance(e, _StreamEnd):
                raise Trap(_BUSY)
            raise Trap("handle is not a stream")
        shared = e.shared
        if shared.key is not tkey:
            _elem_type_trap(e, tkey)
        if e.state != IDLE:
            raise Trap(done_msg if e.state == DONE else _BUSY)
        if e.wset is not None and not is_async:
            raise Trap(_SYNC_IN_SET)
        buf = GuestBuffer(info, memory, cx, ptr, n, what, string_encoding)
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
        e.state = DONE if res == DROPPED else IDLE
        return res | (buf.progress << 4)

    return handler, not is_async


def stream_read(inst: Any, t: T.StreamType, memory: Any, realloc: Any,
                string_encoding: str = "utf8", is_async: bool = True) -> tuple[Any, bool]:
    """``canon stream.read``: ``(i32 handle, i32 ptr, i32 n) -> i32``."""
    return _copy_factory(True, inst, t, memory, realloc, string_encoding, is_async)


def stream_write(inst: Any, t: T.StreamType, memory: Any, realloc: Any,
                 string_encoding: str = "utf8", is_async: bool = True) -> tuple[Any, bool]:
    """``canon stream.write``: ``(i32 handle, i32 ptr, i32 n) -> i32``."""
    return _copy_factory(False, inst, t, memory, realloc, string_encoding, is_async)


def cancel_copy_factory(EndT: type, OtherT: type, kind: str, inst: Any, t: Any,
                        is_async: bool, convert_completed: bool) -> tuple[Any, bool]:
    """``cancel_copy`` for streams and futures (``kind`` is "stream" or "future")."""
    te = t.elem
    tkey = runtime_type_key(te, inst)
    handles = inst.handles
    is_read = EndT.event_code in (EventCode.STREAM_READ, EventCode.FUTURE_READ)
    op = "read" if is_read else "write"
    wrong_end = ("passed write end to `{stream|future}.cancel-read`" if is_read
                 else "passed read end to `{stream|future}.cancel-write`")
    not_pending = f"stream or future {op} cancelled when no {op} is pending"

    def handler(_caller: Any, i: int) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        e = handles.get(i)
        if type(e) is not EndT:
            raise Trap(wrong_end if type(e) is OtherT else f"handle is not a {kind}")
        st = e.shared.key
        if st is not tkey and st != tkey:
            raise Trap(f"handle is a {kind} of a different type")
        if e.state != COPYING or e.sync_waiter is not None:
            raise Trap(not_pending)
        if e.wset is not None and not is_async:
            raise Trap(_SYNC_IN_SET)
        e.state = CANCELLING_COPY
        if e.pending_event is None:
            e.shared.cancel()
            if e.pending_event is None:
                if is_async:
                    return BLOCKED
                return block_for_event(e)
        elif convert_completed:
            # Wasmtime 49: a stream copy that already made progress when it is cancelled
            # reports CANCELLED with its progress (the spec reports COMPLETED).
            payload = e.get_pending_event()[2]
            if payload & 0xF == COMPLETED:
                payload = (payload & ~0xF) | CANCELLED
            return payload
        return e.get_pending_event()[2]

    return handler, not is_async


def stream_cancel_read(inst: Any, t: T.StreamType, is_async: bool = True) -> tuple[Any, bool]:
    """``canon stream.cancel-read``: ``(i32) -> i32``."""
    return cancel_copy_factory(ReadableStreamEnd, WritableStreamEnd, "stream", inst, t,
                               is_async, True)


def stream_cancel_write(inst: Any, t: T.StreamType, is_async: bool = True) -> tuple[Any, bool]:
    """``canon stream.cancel-write``: ``(i32) -> i32``."""
    return cancel_copy_factory(WritableStreamEnd, ReadableStreamEnd, "stream", inst, t,
                               is_async, True)


def stream_drop_readable(inst: Any, t: T.StreamType) -> tuple[Any, bool]:
    """``canon stream.drop-readable``: ``(i32) -> ()``."""
    return drop_end_factory(
        ReadableStreamEnd, WritableStreamEnd, "stream", inst, runtime_type_key(t.elem, inst),
        wrong_end="handle is not a readable end of a stream",
        busy="cannot remove busy stream",
    )


def stream_drop_writable(inst: Any, t: T.StreamType) -> tuple[Any, bool]:
    """``canon stream.drop-writable``: ``(i32) -> ()``."""
    return drop_end_factory(
        WritableStreamEnd, ReadableStreamEnd, "stream", inst, runtime_type_key(t.elem, inst),
        wrong_end="passed read end to `stream.drop-writable`",
        busy="cannot drop busy stream",
    )


# ---------------------------------------------------------------------------------------------
# Lifting and lowering (ownership of the readable end moves)


def lift_stream(cx: Any, t: T.StreamType, i: int) -> StreamReader:
    """``lift_stream``: take readable end ``i`` out of ``cx.inst``'s table; the value is a
    ``StreamReader`` (the host's, or lowered at once into another component)."""
    handles = cx.inst.handles
    e = handles.get(i)
    if type(e) is not ReadableStreamEnd:
        if type(e) is WritableStreamEnd:
            raise Trap("handle is not a readable end of a stream")
        raise Trap("handle is not a stream")
    te = t.elem
    tkey = runtime_type_key(te, cx.inst)
    if e.shared.key is not tkey:
        _elem_type_trap(e, tkey)
    if e.state != IDLE:
        if e.state == DONE:
            raise Trap("cannot lift stream after being notified that the writable end dropped")
        raise Trap("cannot remove busy stream")
    if e.wset is not None:
        raise Trap("cannot lift stream while it's in a waitable set")
    handles.remove(i)
    return StreamReader(e.shared)


def lower_stream(cx: Any, t: T.StreamType, v: Any) -> int:
    """``lower_stream``: a ``StreamReader`` becomes a readable end in ``cx.inst``'s table (the
    reader can no longer be used by the host). Any other stream source (bytes, a list, an
    iterable or async iterable of chunks) becomes a new stream fed from it (``feed``)."""
    if not isinstance(v, StreamReader):
        from .feed import is_stream_source, stream_from

        if is_stream_source(v):
            fed = stream_from(t.elem, v)
            if fed.shared is not None:  # resource elements: as this instance sees them
                fed.shared.key = runtime_type_key(t.elem, cx.inst)
            return lower_stream(cx, t, fed)
        raise TypeError(f"expected a wasmloop.StreamReader for {_show(t)}, got "
                        f"{type(v).__name__}")
    s = v.shared
    if s is not None and s.key != runtime_type_key(t.elem, cx.inst):
        raise TypeError(f"expected a reader of {_show(t)}, got one of "
                        f"stream<{_show(s.t)}>")
    if v._leftover is not None:
        raise TypeError("this StreamReader holds elements it read but did not return yet")
    shared = v._give_away()
    return cx.inst.handles.add(ReadableStreamEnd(shared))


def _show(t: Any) -> str:
    return "_" if t is None else repr(t)


# ---------------------------------------------------------------------------------------------
# Host-held ends


def _run_host_op(end: HostEnd, op: Any, buf: Any) -> None:
    """Offer ``buf`` to the shared state (``end.result`` is set if the copy is over at once);
    a trap while copying from or into the guest on the other side poisons that guest's
    instance before it reaches the host."""
    shared = end.shared
    other = shared.pending
    end.buffer = buf
    end.result = None
    end.reclaim = None
    try:
        res = op(end, buf)
    except Trap:
        if other is not None and other.inst is not None:
            other.inst.poison()
        raise
    if res is not None:
        end.result = res


class StreamReader(HostEnd):
    """The readable end of a ``stream<T>`` held by the host.

    ``await read(max_count)`` returns the next chunk — ``bytes`` for ``stream<u8>``, a list
    otherwise — holding between 1 and ``max_count`` elements, as soon as the writer offered
    any; it raises ``EndOfStream`` once the writer dropped its end and everything was read,
    and ``BrokenResourceError`` instead if the writer was a component instance that trapped.
    ``async for chunk in reader`` iterates the chunks. ``aclose()`` (or leaving ``async with``)
    drops the end: a writer still writing sees the stream dropped.

    Passing the reader to a component (an argument, or a result of a host function) moves the
    end into it: the host must not use it afterwards.
    """

    __slots__ = ("_leftover", "_eof")

    def __init__(self, shared: SharedStream) -> None:
        HostEnd.__init__(self, shared)
        self._leftover: Any = None
        self._eof = False

    @property
    def elem_type(self) -> T.ValType | None:
        s = self.shared
        return s.t if s is not None else None

    @property
    def closed(self) -> bool:
        return self.shared is None

    async def read(self, max_count: int = 65536) -> Any:
        shared = self._shared()
        if self._leftover is not None:
            chunk = self._leftover
            self._leftover = None
            return chunk
        if self._eof:
            self._end()
        if max_count < 1:
            raise ValueError("max_count must be at least 1")
        sink = HostSink(shared.info, min(max_count, MAX_LENGTH))
        self.busy = True
        try:
            _run_host_op(self, shared.read, sink)
            if self.result is None:
                try:
                    await self._wait()
                except BaseException:
                    if self.result is not None:
                        self._settle(sink)  # keep what already arrived for the next read
                    raise
            return self._settle(sink, raise_eof=True)
        finally:
            self.busy = False
            self.buffer = None

    def _settle(self, sink: HostSink, raise_eof: bool = False) -> Any:
        res = self._take_result()
        if res == DROPPED:
            self._eof = True
        if sink.progress == 0:
            if raise_eof and res == DROPPED:
                self._end()
            return sink.take()
        chunk = sink.take()
        if not raise_eof:
            self._leftover = chunk
        return chunk

    def _end(self) -> None:
        shared = self.shared
        if shared is not None and shared.broken is not None:
            raise BrokenResourceError(f"the stream's writer is gone: {shared.broken}")
        raise EndOfStream()

    async def read_all(self) -> Any:
        """Everything up to the end of the stream (``bytes`` for ``stream<u8>``)."""
        chunks = [c async for c in self]
        info = self.shared.info if self.shared is not None else None
        if info is not None and info.is_u8:
            return b"".join(chunks)
        return [x for c in chunks for x in c]

    def __aiter__(self) -> StreamReader:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.read()
        except EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Drop the readable end (idempotent)."""
        s = self.shared
        if s is not None:
            self.shared = None
            self._leftover = None
            s.drop()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> StreamReader:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.shared
        return f"<StreamReader stream<{_show(s.t) if s else '?'}>{' closed' if not s else ''}>"


class StreamWriter(HostEnd):
    """The writable end of a ``stream<T>`` held by the host.

    ``await write(chunk)`` (``bytes`` for ``stream<u8>``, a sequence of values otherwise)
    returns once the reader took every element: a reader that does not read holds the writer
    back. It raises ``BrokenResourceError`` if the reader dropped its end. ``aclose()`` (or
    leaving ``async with``) drops the writable end: the reader sees the end of the stream.
    """

    __slots__ = ()

    @property
    def closed(self) -> bool:
        return self.shared is None

    def on_copy(self, reclaim: Any) -> None:
        # The reader took part of the chunk. Stay registered until it took all of it, so a
        # reader reading in small pieces does not wake the writer after each one.
        if self.buffer.remain() == 0:
            reclaim()
            self.result = COMPLETED
            self._wake()

    async def write(self, chunk: Any) -> None:
        shared = self._shared()
        src = HostSource(shared.info, chunk)
        if src.length == 0:
            return
        self.busy = True
        try:
            while True:
                _run_host_op(self, shared.write, src)
                if self.result is None:
                    await self._wait()
                res = self._take_result()
                if res == DROPPED:
                    raise BrokenResourceError("the stream's readable end was dropped")
                if src.remain() == 0:
                    return
        finally:
            self.busy = False
            self.buffer = None

    def close(self) -> None:
        """Drop the writable end (idempotent)."""
        s = self.shared
        if s is not None:
            self.shared = None
            s.drop()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> StreamWriter:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.shared
        return f"<StreamWriter stream<{_show(s.t) if s else '?'}>{' closed' if not s else ''}>"


def new_stream(t: T.ValType | None) -> tuple[StreamWriter, StreamReader]:
    """A stream with both ends held by the host."""
    shared = SharedStream(t)
    return StreamWriter(shared), StreamReader(shared)


#: op name → factory over a ``canon.BuiltinEnv`` (``inst``, ``static_type``, ``memory``,
#: ``realloc``, ``string_encoding``, ``is_async``).
BUILTINS: dict[str, Any] = {
    "stream.new": lambda env: stream_new(env.inst, env.static_type),
    "stream.read": lambda env: stream_read(env.inst, env.static_type, env.memory, env.realloc,
                                           env.string_encoding, env.is_async),
    "stream.write": lambda env: stream_write(env.inst, env.static_type, env.memory, env.realloc,
                                             env.string_encoding, env.is_async),
    "stream.cancel-read": lambda env: stream_cancel_read(env.inst, env.static_type,
                                                         env.is_async),
    "stream.cancel-write": lambda env: stream_cancel_write(env.inst, env.static_type,
                                                           env.is_async),
    "stream.drop-readable": lambda env: stream_drop_readable(env.inst, env.static_type),
    "stream.drop-writable": lambda env: stream_drop_writable(env.inst, env.static_type),
}

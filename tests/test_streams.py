"""Streams, futures and error contexts: the copy state machines and the canon built-ins, driven
directly with fake guest memories (ctypes arrays) and component instances without a store."""

from __future__ import annotations

import ctypes
import struct
from types import SimpleNamespace

import pytest

from wasmloop import types as T
from wasmloop.engine import Pending
from wasmloop.errors import Trap
from wasmloop.runtime import copy as copymod
from wasmloop.runtime import error_context as ecmod
from wasmloop.runtime import future as fmod
from wasmloop.runtime import stream as smod
from wasmloop.runtime import thread as thmod
from wasmloop.runtime.copy import CopyState
from wasmloop.runtime.instance import ComponentInstance
from wasmloop.runtime.waitable import BLOCKED, EventCode, WaitableSet

COMPLETED, DROPPED, CANCELLED = 0, 1, 2


class Mem:
    """A guest memory stand-in: ``data_ptr`` and ``view()`` like ``engine.Memory``."""

    def __init__(self, n: int = 1 << 16) -> None:
        self.buf = (ctypes.c_ubyte * n)()
        self.data_ptr = ctypes.addressof(self.buf)
        self._view = memoryview(self.buf).cast("B")

    def view(self) -> memoryview:
        return self._view

    def ensure(self, n: int) -> memoryview:
        if n > len(self._view):
            raise Trap(f"memory access out of bounds ({n} > {len(self._view)})")
        return self._view


class Cx:
    """A lift/lower context with a bump allocator for ``realloc``."""

    def __init__(self, inst: ComponentInstance, memory: Mem) -> None:
        self.inst = inst
        self.memory = memory
        self.top = 0x8000

    def view(self) -> memoryview:
        return self.memory.view()

    def realloc(self, old: int, old_size: int, align: int, size: int) -> int:
        p = (self.top + align - 1) & -align
        self.top = p + size
        return p

    def lift_stream(self, t, i):
        return smod.lift_stream(self, t, i)

    def lower_stream(self, t, v):
        return smod.lower_stream(self, t, v)

    def lift_future(self, t, i):
        return fmod.lift_future(self, t, i)

    def lower_future(self, t, v):
        return fmod.lower_future(self, t, v)

    def lift_error_context(self, i):
        return ecmod.lift_error_context(self, i)

    def lower_error_context(self, v):
        return ecmod.lower_error_context(self, v)


@pytest.fixture(autouse=True)
def fake_contexts(monkeypatch):
    monkeypatch.setattr(smod, "make_context", lambda inst, mem, realloc: Cx(inst, mem))
    monkeypatch.setattr(fmod, "make_context", lambda inst, mem, realloc: Cx(inst, mem))
    monkeypatch.setattr(ecmod, "make_context", lambda inst, mem, realloc: Cx(inst, mem))


class Guest:
    """One component instance with a memory and the stream/future built-ins of one type."""

    def __init__(self, name: str, t: T.StreamType | T.FutureType, is_async: bool = True) -> None:
        self.inst = ComponentInstance(name, None)  # type: ignore[arg-type]
        self.mem = Mem()
        self.cx = Cx(self.inst, self.mem)
        self.t = t
        a = is_async
        if isinstance(t, T.StreamType):
            self.new = smod.stream_new(self.inst, t)[0]
            self.read = smod.stream_read(self.inst, t, self.mem, None, "utf8", a)[0]
            self.write = smod.stream_write(self.inst, t, self.mem, None, "utf8", a)[0]
            self.cancel_read = smod.stream_cancel_read(self.inst, t, a)[0]
            self.cancel_write = smod.stream_cancel_write(self.inst, t, a)[0]
            self.drop_readable = smod.stream_drop_readable(self.inst, t)[0]
            self.drop_writable = smod.stream_drop_writable(self.inst, t)[0]
        else:
            self.new = fmod.future_new(self.inst, t)[0]
            self.read = fmod.future_read(self.inst, t, self.mem, None, "utf8", a)[0]
            self.write = fmod.future_write(self.inst, t, self.mem, None, "utf8", a)[0]
            self.cancel_read = fmod.future_cancel_read(self.inst, t, a)[0]
            self.cancel_write = fmod.future_cancel_write(self.inst, t, a)[0]
            self.drop_readable = fmod.future_drop_readable(self.inst, t)[0]
            self.drop_writable = fmod.future_drop_writable(self.inst, t)[0]

    def make(self) -> tuple[int, int]:
        packed = self.new(None)
        return packed & 0xFFFF_FFFF, packed >> 32

    def give(self, ri: int, other: Guest) -> int:
        """Move readable end ``ri`` into ``other`` (what a call's lift + lower does)."""
        if isinstance(self.t, T.StreamType):
            return smod.lower_stream(other.cx, other.t, smod.lift_stream(self.cx, self.t, ri))
        return fmod.lower_future(other.cx, other.t, fmod.lift_future(self.cx, self.t, ri))

    def event(self, i: int) -> tuple[int, int, int]:
        return self.inst.handles.get(i).get_pending_event()

    def poke(self, ptr: int, data: bytes) -> None:
        self.mem.view()[ptr : ptr + len(data)] = data

    def peek(self, ptr: int, n: int) -> bytes:
        return bytes(self.mem.view()[ptr : ptr + n])


def pair(elem=T.U8, is_async: bool = True) -> tuple[Guest, Guest, int, int]:
    """Writer guest A (holding the writable end), reader guest B (holding the readable end)."""
    t = T.StreamType(elem)
    a, b = Guest("a", t, is_async), Guest("b", t, is_async)
    ri, wi = a.make()
    rb = a.give(ri, b)
    return a, b, wi, rb


def packed(result: int, progress: int) -> int:
    return result | (progress << 4)


# ---------------------------------------------------------------------------------------------
# stream.new, handles


def test_stream_new_returns_readable_index_low_writable_index_high():
    g = Guest("g", T.StreamType(T.U8))
    assert g.make() == (1, 2)
    assert g.make() == (3, 4)
    assert isinstance(g.inst.handles.get(1), smod.ReadableStreamEnd)
    assert isinstance(g.inst.handles.get(2), smod.WritableStreamEnd)


def test_future_new_returns_readable_index_low_writable_index_high():
    g = Guest("g", T.FutureType(T.U32))
    assert g.make() == (1, 2)


def test_builtins_check_may_leave_first():
    g = Guest("g", T.StreamType(T.U8))
    g.inst.may_leave = False
    for call in (lambda: g.new(None), lambda: g.read(None, 1, 0, 1),
                 lambda: g.write(None, 1, 0, 1), lambda: g.cancel_read(None, 1),
                 lambda: g.drop_readable(None, 1), lambda: g.drop_writable(None, 1)):
        with pytest.raises(Trap, match="cannot leave component instance"):
            call()


# ---------------------------------------------------------------------------------------------
# rendezvous and partial copies


def test_write_then_read_copies_and_both_sides_see_progress():
    a, b, wi, ri = pair()
    a.poke(100, b"hello")
    assert a.write(None, wi, 100, 5) == BLOCKED
    assert b.read(None, ri, 200, 8) == packed(COMPLETED, 5)
    assert b.peek(200, 5) == b"hello"
    assert a.event(wi) == (EventCode.STREAM_WRITE, wi, packed(COMPLETED, 5))
    assert a.inst.handles.get(wi).state == CopyState.IDLE
    assert b.inst.handles.get(ri).state == CopyState.IDLE


def test_read_then_write_partial_copies_accumulate_until_the_event_is_delivered():
    a, b, wi, ri = pair()
    a.poke(0, b"abcdefghij")
    assert b.read(None, ri, 500, 10) == BLOCKED
    assert a.write(None, wi, 0, 4) == packed(COMPLETED, 4)
    assert a.write(None, wi, 4, 3) == packed(COMPLETED, 3)
    assert b.event(ri) == (EventCode.STREAM_READ, ri, packed(COMPLETED, 7))
    assert b.peek(500, 7) == b"abcdefg"
    # the reader's buffer was reclaimed: the next write waits for a new read
    assert a.write(None, wi, 7, 3) == BLOCKED
    assert b.read(None, ri, 600, 2) == packed(COMPLETED, 2)
    assert b.read(None, ri, 602, 2) == packed(COMPLETED, 1)
    assert b.peek(600, 3) == b"hij"
    assert a.event(wi) == (EventCode.STREAM_WRITE, wi, packed(COMPLETED, 3))


def test_a_full_reader_buffer_completes_when_the_next_writer_arrives():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 2) == BLOCKED
    assert a.write(None, wi, 0, 2) == packed(COMPLETED, 2)
    # reader's event not delivered yet and its buffer is full: a new write completes the read
    # and waits itself
    assert a.write(None, wi, 2, 2) == BLOCKED
    assert b.event(ri) == (EventCode.STREAM_READ, ri, packed(COMPLETED, 2))


def test_a_shorter_read_leaves_the_writer_pending_with_the_rest():
    a, b, wi, ri = pair()
    a.poke(0, b"0123456789")
    assert a.write(None, wi, 0, 10) == BLOCKED
    assert b.read(None, ri, 100, 3) == packed(COMPLETED, 3)
    assert b.read(None, ri, 103, 3) == packed(COMPLETED, 3)
    assert a.event(wi) == (EventCode.STREAM_WRITE, wi, packed(COMPLETED, 6))
    assert b.read(None, ri, 106, 10) == BLOCKED
    assert b.peek(100, 6) == b"012345"


# ---------------------------------------------------------------------------------------------
# zero-length probes


def test_zero_length_write_completes_against_a_pending_read_which_stays_pending():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 4) == BLOCKED
    assert a.write(None, wi, 0, 0) == packed(COMPLETED, 0)
    assert not b.inst.handles.get(ri).has_pending_event()
    a.poke(0, b"xy")
    assert a.write(None, wi, 0, 2) == packed(COMPLETED, 2)
    assert b.event(ri) == (EventCode.STREAM_READ, ri, packed(COMPLETED, 2))


def test_zero_length_read_completes_against_a_pending_write_without_taking_anything():
    a, b, wi, ri = pair()
    a.poke(0, b"xy")
    assert a.write(None, wi, 0, 2) == BLOCKED
    assert b.read(None, ri, 0, 0) == packed(COMPLETED, 0)
    assert not a.inst.handles.get(wi).has_pending_event()
    assert b.read(None, ri, 10, 2) == packed(COMPLETED, 2)
    assert b.peek(10, 2) == b"xy"


def test_zero_length_read_and_write_only_the_writer_is_notified():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 0) == BLOCKED
    assert a.write(None, wi, 0, 0) == packed(COMPLETED, 0)
    assert not b.inst.handles.get(ri).has_pending_event()
    # a real write then completes the pending zero-length read and waits
    assert a.write(None, wi, 0, 1) == BLOCKED
    assert b.event(ri) == (EventCode.STREAM_READ, ri, packed(COMPLETED, 0))


# ---------------------------------------------------------------------------------------------
# the memmove path


def test_numeric_guest_to_guest_copy_is_one_memmove_and_never_lifts(monkeypatch):
    calls = []
    real = ctypes.memmove

    def counting(dst, src, n):
        calls.append(n)
        return real(dst, src, n)

    def no_abi(*_a, **_k):
        raise AssertionError("the element-by-element ABI path was taken")

    monkeypatch.setattr(copymod, "_memmove", counting)
    monkeypatch.setattr(copymod, "lifter", no_abi)
    monkeypatch.setattr(copymod, "lowerer", no_abi)
    monkeypatch.setattr(copymod.GuestBuffer, "read", no_abi)
    monkeypatch.setattr(copymod.GuestBuffer, "write", no_abi)
    a, b, wi, ri = pair(T.U32)
    vals = list(range(1000, 2000))
    a.poke(64, struct.pack("<1000I", *vals))
    assert a.write(None, wi, 64, 1000) == BLOCKED
    assert b.read(None, ri, 4096, 1000) == packed(COMPLETED, 1000)
    assert calls == [4000]
    assert list(struct.unpack("<1000I", b.peek(4096, 4000))) == vals


@pytest.mark.parametrize("elem,fmt,vals", [
    (T.S8, "b", [-128, 0, 127]), (T.U16, "H", [0, 65535, 7]), (T.S16, "h", [-32768, 5, 32767]),
    (T.S32, "i", [-(2**31), 1, 2**31 - 1]), (T.U64, "Q", [0, 2**64 - 1, 3]),
    (T.S64, "q", [-(2**63), 2**63 - 1, 0]), (T.F32, "f", [1.5, -2.25, 0.0]),
    (T.F64, "d", [1e300, -0.5, 2.0]),
])
def test_every_numeric_type_copies_raw(elem, fmt, vals):
    a, b, wi, ri = pair(elem)
    size = struct.calcsize(fmt)
    a.poke(0, struct.pack(f"<{len(vals)}{fmt}", *vals))
    assert b.read(None, ri, 1024, len(vals)) == BLOCKED
    assert a.write(None, wi, 0, len(vals)) == packed(COMPLETED, len(vals))
    assert list(struct.unpack(f"<{len(vals)}{fmt}", b.peek(1024, size * len(vals)))) == vals


def test_unit_stream_counts_elements_without_touching_memory():
    a, b, wi, ri = pair(None)
    assert a.write(None, wi, 0xFFFF_FFF0, 5) == BLOCKED  # no payload: the pointer is ignored
    assert b.read(None, ri, 0xFFFF_FFF0, 3) == packed(COMPLETED, 3)
    assert a.event(wi) == (EventCode.STREAM_WRITE, wi, packed(COMPLETED, 3))


# ---------------------------------------------------------------------------------------------
# non-numeric elements go through the ABI


def test_string_elements_are_lifted_from_the_writer_and_lowered_into_the_reader():
    a, b, wi, ri = pair(T.STRING)
    a.poke(1000, b"onetwo!")
    a.poke(0, struct.pack("<IIII", 1000, 3, 1003, 4))
    assert a.write(None, wi, 0, 2) == BLOCKED
    assert b.read(None, ri, 64, 2) == packed(COMPLETED, 2)
    p0, n0, p1, n1 = struct.unpack("<IIII", b.peek(64, 16))
    assert (b.peek(p0, n0), b.peek(p1, n1)) == (b"one", b"two!")


def test_streams_inside_elements_move_ownership_to_the_reader():
    inner_t = T.StreamType(T.U8)
    a, b, wi, ri = pair(inner_t)
    inner = Guest("a", inner_t)
    inner.inst = a.inst  # same instance as the writer: make the inner stream there
    inner.new = smod.stream_new(a.inst, inner_t)[0]
    iri, _iwi = inner.make()
    a.poke(0, struct.pack("<I", iri))
    assert a.write(None, wi, 0, 1) == BLOCKED
    assert b.read(None, ri, 64, 1) == packed(COMPLETED, 1)
    (bi,) = struct.unpack("<I", b.peek(64, 4))
    assert isinstance(b.inst.handles.get(bi), smod.ReadableStreamEnd)
    with pytest.raises(Trap, match="unknown handle index"):
        a.inst.handles.get(iri)


def test_same_instance_copy_of_non_numeric_payload_traps():
    t = T.StreamType(T.STRING)
    g = Guest("g", t)
    ri, wi = g.make()
    assert g.write(None, wi, 0, 1) == BLOCKED
    with pytest.raises(Trap, match="intra-component future/stream with non-numeric payload"):
        g.read(None, ri, 64, 1)


def test_same_instance_copy_of_numeric_payload_is_allowed():
    g = Guest("g", T.StreamType(T.U8))
    ri, wi = g.make()
    g.poke(0, b"ab")
    assert g.write(None, wi, 0, 2) == BLOCKED
    assert g.read(None, ri, 64, 2) == packed(COMPLETED, 2)
    assert g.peek(64, 2) == b"ab"


# ---------------------------------------------------------------------------------------------
# buffer checks and copy traps


def test_misaligned_buffer_traps_when_elements_are_copied_like_wasmtime():
    # The spec traps when the buffer is made; Wasmtime 49 (followed here) only when a copy
    # touches it, in whichever guest performs the copy.
    a, b, wi, ri = pair(T.U32)
    assert a.write(None, wi, 2, 1) == BLOCKED
    with pytest.raises(Trap, match="write pointer not aligned"):
        b.read(None, ri, 0x100, 1)
    a, b, wi, ri = pair(T.U32)
    assert b.read(None, ri, 3, 1) == BLOCKED
    with pytest.raises(Trap, match="read pointer not aligned"):
        a.write(None, wi, 0, 1)
    a, b, wi, ri = pair(T.U32)
    assert b.read(None, ri, 3, 0) == BLOCKED  # zero-length: never checked
    assert a.write(None, wi, 2, 0) == packed(COMPLETED, 0)


def test_out_of_bounds_buffer_traps():
    a, b, wi, ri = pair(T.U32)
    with pytest.raises(Trap, match="out of bounds of memory"):
        a.write(None, wi, (1 << 16) - 4, 2)


def test_zero_length_buffer_skips_bounds_and_alignment():
    a, b, wi, ri = pair(T.U32)
    assert a.write(None, wi, 0xFFFF_FFF1, 0) == BLOCKED


def test_count_too_large_traps():
    a, b, wi, ri = pair(T.U8)
    with pytest.raises(Trap, match="stream read/write count too large"):
        a.write(None, wi, 0, 1 << 28)


def test_wrong_end_or_kind_or_type_traps():
    a, b, wi, ri = pair(T.U8)
    with pytest.raises(Trap, match="concurrent operations"):
        a.read(None, wi, 0, 1)
    with pytest.raises(Trap, match="unknown handle index"):
        a.read(None, 99, 0, 1)
    other = smod.stream_read(a.inst, T.StreamType(T.U16), a.mem, None, "utf8", True)[0]
    ri2, _ = a.make()
    with pytest.raises(Trap, match="handle is a stream of a different type"):
        other(None, ri2, 0, 1)
    fut = fmod.future_new(a.inst, T.FutureType(T.U8))[0](None) & 0xFFFF_FFFF
    with pytest.raises(Trap, match="handle is not a stream"):
        a.read(None, fut, 0, 1)


def test_a_second_copy_while_one_is_pending_traps():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 1) == BLOCKED
    with pytest.raises(Trap, match="cannot have concurrent operations active"):
        b.read(None, ri, 0, 1)


def test_sync_copy_on_an_end_in_a_waitable_set_traps():
    a, b, wi, ri = pair(is_async=False)
    b.inst.handles.get(ri).join(WaitableSet())
    with pytest.raises(Trap, match="waitable cannot be used synchronously"):
        b.read(None, ri, 0, 1)


# ---------------------------------------------------------------------------------------------
# drop rules


def test_dropping_the_writer_completes_a_pending_read_with_dropped_and_progress():
    a, b, wi, ri = pair()
    a.poke(0, b"abc")
    assert b.read(None, ri, 100, 10) == BLOCKED
    assert a.write(None, wi, 0, 3) == packed(COMPLETED, 3)
    a.drop_writable(None, wi)
    assert b.event(ri) == (EventCode.STREAM_READ, ri, packed(DROPPED, 3))
    assert b.inst.handles.get(ri).state == CopyState.DONE
    with pytest.raises(Trap, match="cannot read after being notified that the writable end dropped"):
        b.read(None, ri, 100, 1)
    b.drop_readable(None, ri)


def test_read_after_writer_dropped_returns_dropped():
    a, b, wi, ri = pair()
    a.drop_writable(None, wi)
    assert b.read(None, ri, 0, 4) == packed(DROPPED, 0)


def test_write_after_reader_dropped_returns_dropped_then_traps():
    a, b, wi, ri = pair()
    b.drop_readable(None, ri)
    assert a.write(None, wi, 0, 4) == packed(DROPPED, 0)
    with pytest.raises(Trap, match="cannot write after being notified that the readable end dropped"):
        a.write(None, wi, 0, 4)


def test_dropping_an_end_while_copying_traps():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 1) == BLOCKED
    assert a.write(None, wi, 0, 0) == packed(COMPLETED, 0)
    with pytest.raises(Trap, match="cannot remove busy stream"):
        b.drop_readable(None, ri)
    a2, b2, wi2, ri2 = pair()
    assert a2.write(None, wi2, 0, 1) == BLOCKED
    with pytest.raises(Trap, match="cannot drop busy stream"):
        a2.drop_writable(None, wi2)


def test_dropping_the_wrong_end_traps():
    a, b, wi, ri = pair()
    with pytest.raises(Trap, match="passed read end to `stream.drop-writable`"):
        b.drop_writable(None, ri)
    with pytest.raises(Trap, match="handle is not a readable end of a stream"):
        a.drop_readable(None, wi)


def test_dropped_handles_are_reused_lifo():
    g = Guest("g", T.StreamType(T.U8))
    ri, wi = g.make()
    g.drop_readable(None, ri)
    g.drop_writable(None, wi)
    assert g.make() == (wi, ri)


# ---------------------------------------------------------------------------------------------
# cancellation


def test_cancel_read_of_a_pending_read_returns_cancelled_and_the_end_is_idle_again():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 4) == BLOCKED
    assert b.cancel_read(None, ri) == packed(CANCELLED, 0)
    assert b.inst.handles.get(ri).state == CopyState.IDLE
    a.poke(0, b"z")
    assert a.write(None, wi, 0, 1) == BLOCKED  # the cancelled buffer is gone


def test_cancel_after_partial_progress_reports_cancelled_with_progress_like_wasmtime():
    a, b, wi, ri = pair()
    a.poke(0, b"abcd")
    assert b.read(None, ri, 100, 10) == BLOCKED
    assert a.write(None, wi, 0, 4) == packed(COMPLETED, 4)
    assert b.cancel_read(None, ri) == packed(CANCELLED, 4)
    assert b.peek(100, 4) == b"abcd"
    assert b.inst.handles.get(ri).state == CopyState.IDLE


def test_cancel_write_of_a_pending_write():
    a, b, wi, ri = pair()
    assert a.write(None, wi, 0, 4) == BLOCKED
    assert a.cancel_write(None, wi) == packed(CANCELLED, 0)
    assert b.read(None, ri, 0, 4) == BLOCKED


def test_cancel_without_a_pending_copy_traps():
    a, b, wi, ri = pair()
    with pytest.raises(Trap, match="stream or future read cancelled when no read is pending"):
        b.cancel_read(None, ri)
    with pytest.raises(Trap, match="passed write end to"):
        a.cancel_read(None, wi)
    with pytest.raises(Trap, match="stream or future write cancelled when no write is pending"):
        a.cancel_write(None, wi)


# ---------------------------------------------------------------------------------------------
# synchronous copies block the thread


def test_sync_read_blocks_until_a_writer_arrives(monkeypatch):
    a, b, wi, ri = pair(is_async=False)
    th = thmod.Thread(None, b.inst)
    monkeypatch.setattr(thmod, "_current", th)
    pending = b.read(None, ri, 100, 8)
    assert isinstance(pending, Pending)
    end = b.inst.handles.get(ri)
    assert end.sync_waiter is th
    assert pending.poll() is thmod.NOT_READY
    a.poke(0, b"sync")
    aw = smod.stream_write(a.inst, a.t, a.mem, None, "utf8", True)[0]
    assert aw(None, wi, 0, 4) == packed(COMPLETED, 4)
    assert pending.poll() == packed(COMPLETED, 4)
    assert end.sync_waiter is None
    assert b.peek(100, 4) == b"sync"


def test_sync_write_that_completes_at_once_does_not_block(monkeypatch):
    a, b, wi, ri = pair(is_async=False)
    br = smod.stream_read(b.inst, b.t, b.mem, None, "utf8", True)[0]
    assert br(None, ri, 0, 8) == BLOCKED
    a.poke(0, b"x")
    assert a.write(None, wi, 0, 1) == packed(COMPLETED, 1)


# ---------------------------------------------------------------------------------------------
# lift / lower rules


def test_lifting_a_busy_end_or_one_in_a_waitable_set_traps():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 1) == BLOCKED
    with pytest.raises(Trap, match="cannot remove busy stream"):
        smod.lift_stream(b.cx, b.t, ri)
    g = Guest("g", T.StreamType(T.U8))
    ri2, wi2 = g.make()
    g.inst.handles.get(ri2).join(WaitableSet())
    with pytest.raises(Trap, match="cannot lift stream while it's in a waitable set"):
        smod.lift_stream(g.cx, g.t, ri2)
    with pytest.raises(Trap, match="handle is not a readable end of a stream"):
        smod.lift_stream(g.cx, g.t, wi2)


def test_lifting_after_the_writer_dropped_traps():
    a, b, wi, ri = pair()
    assert b.read(None, ri, 0, 1) == BLOCKED
    a.drop_writable(None, wi)
    b.event(ri)
    with pytest.raises(Trap, match="after being notified that the writable end dropped"):
        smod.lift_stream(b.cx, b.t, ri)


def test_lowering_a_reader_twice_or_of_another_type_is_a_host_error():
    a, b, wi, ri = pair()
    r = smod.lift_stream(b.cx, b.t, ri)
    with pytest.raises(TypeError, match="stream<u16>|u8"):
        smod.lower_stream(a.cx, T.StreamType(T.U16), r)
    smod.lower_stream(a.cx, a.t, r)
    with pytest.raises(TypeError, match="already given away"):
        smod.lower_stream(a.cx, a.t, r)
    with pytest.raises(TypeError, match="StreamReader"):
        smod.lower_stream(a.cx, a.t, 42)  # bytes or an iterable would be fed (runtime.feed)


# ---------------------------------------------------------------------------------------------
# futures


def fpair(elem=T.U32, is_async: bool = True) -> tuple[Guest, Guest, int, int]:
    t = T.FutureType(elem)
    a, b = Guest("a", t, is_async), Guest("b", t, is_async)
    ri, wi = a.make()
    return a, b, wi, a.give(ri, b)


def test_future_write_then_read():
    a, b, wi, ri = fpair()
    a.poke(8, struct.pack("<I", 0xDEADBEEF))
    assert a.write(None, wi, 8) == BLOCKED
    assert b.read(None, ri, 16) == COMPLETED
    assert b.peek(16, 4) == struct.pack("<I", 0xDEADBEEF)
    assert a.event(wi) == (EventCode.FUTURE_WRITE, wi, COMPLETED)
    a.drop_writable(None, wi)
    with pytest.raises(Trap, match="cannot read from future after previous read succeeded"):
        b.read(None, ri, 16)
    b.drop_readable(None, ri)


def test_future_read_then_write():
    a, b, wi, ri = fpair(T.STRING)
    assert b.read(None, ri, 16) == BLOCKED
    a.poke(100, b"fine")
    a.poke(8, struct.pack("<II", 100, 4))
    assert a.write(None, wi, 8) == COMPLETED
    assert b.event(ri) == (EventCode.FUTURE_READ, ri, COMPLETED)
    p, n = struct.unpack("<II", b.peek(16, 8))
    assert b.peek(p, n) == b"fine"
    with pytest.raises(Trap, match="cannot write to future after previous write succeeded"):
        a.write(None, wi, 8)


def test_future_writer_cannot_drop_before_writing():
    a, b, wi, ri = fpair()
    with pytest.raises(Trap, match="cannot drop future write end without first writing a value"):
        a.drop_writable(None, wi)


def test_future_writer_may_drop_after_seeing_the_reader_dropped():
    a, b, wi, ri = fpair()
    b.drop_readable(None, ri)
    assert a.write(None, wi, 0) == DROPPED
    with pytest.raises(Trap, match="cannot write after being notified that the readable end dropped"):
        a.write(None, wi, 0)
    a.drop_writable(None, wi)


def test_future_cancel_and_write_again():
    a, b, wi, ri = fpair()
    assert a.write(None, wi, 0) == BLOCKED
    assert a.cancel_write(None, wi) == CANCELLED
    with pytest.raises(Trap, match="cannot drop future write end"):
        a.drop_writable(None, wi)
    assert a.write(None, wi, 0) == BLOCKED
    assert b.read(None, ri, 64) == COMPLETED


def test_future_lift_after_read_traps():
    a, b, wi, ri = fpair()
    assert a.write(None, wi, 0) == BLOCKED
    assert b.read(None, ri, 64) == COMPLETED
    with pytest.raises(Trap, match="cannot lift future after previous read succeeded"):
        fmod.lift_future(b.cx, b.t, ri)


def test_future_wrong_kind_traps():
    a, b, wi, ri = fpair()
    with pytest.raises(Trap, match="passed read end to `future.drop-writable`"):
        b.drop_writable(None, ri)
    s = smod.stream_new(b.inst, T.StreamType(T.U8))[0](None) & 0xFFFF_FFFF
    with pytest.raises(Trap, match="handle is not a future"):
        b.read(None, s, 0)


def test_future_same_instance_non_numeric_traps():
    g = Guest("g", T.FutureType(T.STRING))
    ri, wi = g.make()
    assert g.read(None, ri, 0) == BLOCKED
    with pytest.raises(Trap, match="non-numeric payload"):
        g.write(None, wi, 64)


# ---------------------------------------------------------------------------------------------
# error contexts


def test_error_context_new_debug_message_drop():
    inst = ComponentInstance("e", None)  # type: ignore[arg-type]
    mem = Mem()
    new = ecmod.error_context_new(inst, mem, "utf8")[0]
    msg = ecmod.error_context_debug_message(inst, mem, None, "utf8")[0]
    drop = ecmod.error_context_drop(inst)[0]
    mem.view()[0:5] = b"oops!"
    i = new(None, 0, 5)
    assert i == 1
    msg(None, i, 64)
    p, n = struct.unpack("<II", bytes(mem.view()[64:72]))
    assert bytes(mem.view()[p : p + n]) == b"oops!"
    cx = Cx(inst, mem)
    ec = ecmod.lift_error_context(cx, i)
    assert ec.debug_message == "oops!"
    assert inst.handles.get(i) is ec  # lifting shares, it does not move
    j = ecmod.lower_error_context(cx, ec)
    assert j == 2
    drop(None, i)
    with pytest.raises(Trap, match="unknown handle index"):
        drop(None, i)
    with pytest.raises(Trap, match="invalid debug message pointer"):
        msg(None, j, (1 << 16) - 4)


def test_error_context_wrong_handle_and_bad_string_trap():
    inst = ComponentInstance("e", None)  # type: ignore[arg-type]
    mem = Mem()
    new = ecmod.error_context_new(inst, mem, "utf8")[0]
    drop = ecmod.error_context_drop(inst)[0]
    si = smod.stream_new(inst, T.StreamType(T.U8))[0](None) & 0xFFFF_FFFF
    with pytest.raises(Trap, match="handle is not an error-context"):
        drop(None, si)
    mem.view()[0:2] = b"\xff\xfe"
    with pytest.raises(Trap, match="utf"):
        new(None, 0, 2)
    with pytest.raises(TypeError):
        ecmod.lower_error_context(Cx(inst, mem), "not an error context")


def test_builtin_tables_cover_every_op():
    env = SimpleNamespace(inst=ComponentInstance("x", None), static_type=T.StreamType(T.U8),
                          memory=Mem(), realloc=None, string_encoding="utf8", is_async=True)
    for name, f in smod.BUILTINS.items():
        h, can_suspend = f(env)
        assert callable(h) and isinstance(can_suspend, bool), name
    env.static_type = T.FutureType(T.U8)
    for name, f in fmod.BUILTINS.items():
        assert callable(f(env)[0]), name
    for name, f in ecmod.BUILTINS.items():
        assert callable(f(env)[0]), name
    assert set(smod.BUILTINS) | set(fmod.BUILTINS) | set(ecmod.BUILTINS) == {
        f"{k}.{op}" for k in ("stream", "future")
        for op in ("new", "read", "write", "cancel-read", "cancel-write", "drop-readable",
                   "drop-writable")
    } | {"error-context.new", "error-context.debug-message", "error-context.drop"}

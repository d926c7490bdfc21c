"""The host side of streams and futures (``wasmloop.streams``) in asyncio, against guest ends
driven through the canon built-ins with fake memories (see test_streams.py)."""

from __future__ import annotations

import asyncio
import math
import struct

import pytest
from test_streams import COMPLETED, DROPPED, Guest, fake_contexts, packed  # noqa: F401

from wasmloop import streams
from wasmloop import types as T
from wasmloop.runtime import future as fmod
from wasmloop.runtime import stream as smod
from wasmloop.runtime.waitable import BLOCKED, EventCode, WaitableSet


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5))


def guest_reader(t: T.StreamType | T.FutureType, reader) -> tuple[Guest, int]:
    """A guest holding ``reader`` (a host-made reader end given to it)."""
    g = Guest("g", t)
    if isinstance(t, T.StreamType):
        return g, smod.lower_stream(g.cx, t, reader)
    return g, fmod.lower_future(g.cx, t, reader)


def guest_writer(t: T.StreamType | T.FutureType):
    """A guest that made a stream/future and gave its readable end to the host."""
    g = Guest("g", t)
    ri, wi = g.make()
    if isinstance(t, T.StreamType):
        return g, wi, smod.lift_stream(g.cx, t, ri)
    return g, wi, fmod.lift_future(g.cx, t, ri)


class Waiter:
    """Stands for a guest thread waiting on a waitable set."""

    def __init__(self) -> None:
        self.woken = 0

    def wake(self) -> None:
        self.woken += 1


# ---------------------------------------------------------------------------------------------
# host writer → guest reader


def test_host_write_waits_until_the_guest_read_everything():
    t = T.StreamType(T.U8)

    async def main():
        w, r = streams.stream(T.U8)
        g, ri = guest_reader(t, r)
        task = asyncio.create_task(w.write(b"hello world"))
        await asyncio.sleep(0)
        assert not task.done()  # backpressure: nobody read yet
        assert g.read(None, ri, 0, 5) == packed(COMPLETED, 5)
        await asyncio.sleep(0)
        assert not task.done()
        assert g.read(None, ri, 5, 100) == packed(COMPLETED, 6)
        await task
        assert g.peek(0, 11) == b"hello world"
        await w.aclose()
        assert g.read(None, ri, 0, 1) == packed(DROPPED, 0)

    run(main())


def test_host_write_into_a_pending_guest_read_wakes_the_guest_thread():
    t = T.StreamType(T.U8)

    async def main():
        w, r = streams.stream(T.U8)
        g, ri = guest_reader(t, r)
        ws = WaitableSet()
        waiter = Waiter()
        ws.waiters.append(waiter)
        g.inst.handles.get(ri).join(ws)
        assert g.read(None, ri, 0, 64) == BLOCKED
        await w.write(b"abc")  # completes at once: the guest's buffer was waiting
        assert waiter.woken >= 1
        assert ws.has_pending_event()
        assert ws.get_pending_event() == (EventCode.STREAM_READ, ri, packed(COMPLETED, 3))
        assert g.peek(0, 3) == b"abc"

    run(main())


def test_host_write_after_the_guest_dropped_the_reader_raises_broken():
    t = T.StreamType(T.U8)

    async def main():
        w, r = streams.stream(T.U8)
        g, ri = guest_reader(t, r)
        task = asyncio.create_task(w.write(b"data"))
        await asyncio.sleep(0)
        g.drop_readable(None, ri)
        with pytest.raises(streams.BrokenResourceError):
            await task
        with pytest.raises(streams.BrokenResourceError):
            await w.write(b"more")

    run(main())


def test_host_values_are_checked_at_write_not_in_the_guest():
    async def main():
        w, _r = streams.stream(T.U8)
        with pytest.raises(TypeError):
            await w.write("text")
        with pytest.raises(ValueError):
            await w.write([1, 2, 300])
        w32, _r32 = streams.stream(T.U32)
        with pytest.raises(ValueError):
            await w32.write([1, -1])
        with pytest.raises(TypeError):
            await w32.write([1.5])

    run(main())


def test_host_u32_values_reach_the_guest_packed():
    t = T.StreamType(T.U32)

    async def main():
        w, r = streams.stream(T.U32)
        g, ri = guest_reader(t, r)
        assert g.read(None, ri, 0, 10) == BLOCKED
        await w.write([1, 2, 0xFFFF_FFFF])
        assert g.event(ri) == (EventCode.STREAM_READ, ri, packed(COMPLETED, 3))
        assert struct.unpack("<3I", g.peek(0, 12)) == (1, 2, 0xFFFF_FFFF)

    run(main())


# ---------------------------------------------------------------------------------------------
# guest writer → host reader


def test_host_read_takes_a_pending_guest_write_at_once():
    t = T.StreamType(T.U8)

    async def main():
        g, wi, r = guest_writer(t)
        assert isinstance(r, streams.StreamReader)
        g.poke(0, b"0123456789")
        assert g.write(None, wi, 0, 10) == BLOCKED
        assert await r.read(4) == b"0123"
        assert await r.read() == b"456789"
        assert g.event(wi) == (EventCode.STREAM_WRITE, wi, packed(COMPLETED, 10))

    run(main())


def test_host_read_waits_for_the_guest_and_ends_at_end_of_stream():
    t = T.StreamType(T.U8)

    async def main():
        g, wi, r = guest_writer(t)
        chunks = []

        async def consume():
            async for c in r:
                chunks.append(c)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        g.poke(0, b"abc")
        assert g.write(None, wi, 0, 3) == packed(COMPLETED, 3)
        await asyncio.sleep(0)
        g.poke(0, b"de")
        assert g.write(None, wi, 0, 2) == packed(COMPLETED, 2)
        g.drop_writable(None, wi)
        await task
        assert b"".join(chunks) == b"abcde"
        with pytest.raises(streams.EndOfStream):
            await r.read()

    run(main())


def test_host_reader_close_makes_the_guest_write_see_dropped():
    t = T.StreamType(T.U8)

    async def main():
        g, wi, r = guest_writer(t)
        assert g.write(None, wi, 0, 3) == BLOCKED
        async with r:
            pass
        assert g.event(wi) == (EventCode.STREAM_WRITE, wi, packed(DROPPED, 0))
        with pytest.raises(streams.ClosedResourceError):
            await r.read()

    run(main())


def test_cancelled_host_read_unregisters_and_keeps_what_arrived():
    t = T.StreamType(T.U8)

    async def main():
        g, wi, r = guest_writer(t)
        task = asyncio.create_task(r.read(10))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert g.write(None, wi, 0, 1) == BLOCKED  # the cancelled read is gone
        assert g.cancel_write(None, wi) == smod.CANCELLED

        # data copied into the host's buffer just before the cancel is not lost
        task = asyncio.create_task(r.read(10))
        await asyncio.sleep(0)
        g.poke(0, b"kept")
        assert g.write(None, wi, 0, 4) == packed(COMPLETED, 4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await r.read() == b"kept"

    run(main())


def test_numeric_and_float_chunks_are_lists():
    t = T.StreamType(T.F32)

    async def main():
        g, wi, r = guest_writer(t)
        nan_bits = struct.pack("<I", 0x7FC0_1234)
        g.poke(0, struct.pack("<ff", 1.5, -2.0) + nan_bits)
        assert g.write(None, wi, 0, 3) == BLOCKED
        vals = await r.read()
        assert vals[:2] == [1.5, -2.0] and math.isnan(vals[2])

    run(main())


def test_string_stream_from_a_guest():
    t = T.StreamType(T.STRING)

    async def main():
        g, wi, r = guest_writer(t)
        g.poke(1000, b"hi there")
        g.poke(0, struct.pack("<IIII", 1000, 2, 1003, 5))
        assert g.write(None, wi, 0, 2) == BLOCKED
        assert await r.read() == ["hi", "there"]

    run(main())


def test_host_string_stream_into_a_guest():
    t = T.StreamType(T.STRING)

    async def main():
        w, r = streams.stream(T.STRING)
        g, ri = guest_reader(t, r)
        assert g.read(None, ri, 0, 4) == BLOCKED
        await w.write(["α", "βγ"])
        p0, n0, p1, n1 = struct.unpack("<IIII", g.peek(0, 16))
        assert g.peek(p0, n0).decode() == "α" and g.peek(p1, n1).decode() == "βγ"

    run(main())


# ---------------------------------------------------------------------------------------------
# host ↔ host


def test_host_to_host_stream_roundtrip_in_chunks():
    async def main():
        w, r = streams.stream(T.U8)
        data = bytes(range(256)) * 1000

        async def produce():
            async with w:
                for k in range(0, len(data), 10000):
                    await w.write(data[k : k + 10000])

        task = asyncio.create_task(produce())
        got = bytearray()
        async for chunk in r:
            assert 1 <= len(chunk) <= 4096
            got += chunk
            if len(got) == 0:
                break
        await task
        assert bytes(got) == data

    async def small_reads():
        w, r = streams.stream(T.U8)
        task = asyncio.create_task(w.write(b"abcdef"))
        assert await r.read(2) == b"ab"
        assert await r.read(2) == b"cd"
        assert await r.read(10) == b"ef"
        await task

    # the reader's default chunk is 64 KiB; use 4096 through a wrapper to check max_count
    orig = streams.StreamReader.__anext__

    async def anext_4096(self):
        try:
            return await self.read(4096)
        except streams.EndOfStream:
            raise StopAsyncIteration from None

    streams.StreamReader.__anext__ = anext_4096
    try:
        run(main())
    finally:
        streams.StreamReader.__anext__ = orig
    run(small_reads())


def test_unit_stream_and_read_all():
    async def main():
        w, r = streams.stream(None)

        async def produce():
            async with w:
                await w.write(3)
                await w.write([None, None])

        task = asyncio.create_task(produce())
        assert await r.read_all() == [None] * 5
        await task

    run(main())


def test_reader_given_to_a_guest_is_no_longer_usable():
    async def main():
        w, r = streams.stream(T.U8)
        guest_reader(T.StreamType(T.U8), r)
        with pytest.raises(streams.ClosedResourceError):
            await r.read()

    run(main())


def test_two_reads_at_once_are_refused():
    async def main():
        _w, r = streams.stream(T.U8)
        task = asyncio.create_task(r.read())
        await asyncio.sleep(0)
        with pytest.raises(streams.BusyResourceError):
            await r.read()
        task.cancel()

    run(main())


# ---------------------------------------------------------------------------------------------
# futures


def test_host_future_value_reaches_a_guest_reader():
    t = T.FutureType(T.U32)

    async def main():
        fw, fr = streams.future(T.U32)
        g, ri = guest_reader(t, fr)
        assert g.read(None, ri, 0) == BLOCKED
        fw.write(42)
        assert g.event(ri) == (EventCode.FUTURE_READ, ri, COMPLETED)
        assert struct.unpack("<I", g.peek(0, 4)) == (42,)
        g.drop_readable(None, ri)

    run(main())


def test_host_future_written_before_the_guest_reads():
    t = T.FutureType(T.STRING)

    async def main():
        fw, fr = streams.future(T.STRING)
        g, ri = guest_reader(t, fr)
        fw.write("ready")
        fw.close()
        assert g.read(None, ri, 0) == COMPLETED
        p, n = struct.unpack("<II", g.peek(0, 8))
        assert g.peek(p, n) == b"ready"

    run(main())


def test_host_future_closed_without_a_value_reads_as_dropped():
    t = T.FutureType(T.U8)

    async def main():
        fw, fr = streams.future(T.U8)
        g, ri = guest_reader(t, fr)
        assert g.read(None, ri, 0) == BLOCKED
        fw.close()
        assert g.event(ri) == (EventCode.FUTURE_READ, ri, DROPPED)

    run(main())


def test_guest_future_value_awaited_by_the_host():
    t = T.FutureType(T.U64)

    async def main():
        g, wi, fr = guest_writer(t)
        task = asyncio.ensure_future(fr.read())
        await asyncio.sleep(0)
        assert not task.done()
        g.poke(8, struct.pack("<Q", 2**63 + 5))
        assert g.write(None, wi, 8) == COMPLETED
        assert await task == 2**63 + 5
        assert await fr == 2**63 + 5  # awaiting again gives the same value
        g.drop_writable(None, wi)

    run(main())


def test_host_future_reader_dropped_lets_the_guest_writer_finish():
    t = T.FutureType(None)

    async def main():
        g, wi, fr = guest_writer(t)
        await fr.aclose()
        assert g.write(None, wi, 0) == DROPPED
        g.drop_writable(None, wi)

    run(main())


def test_host_to_host_future():
    async def main():
        fw, fr = streams.future(T.ListType(T.U8))
        asyncio.get_running_loop().call_soon(fw.write, b"xyz")
        assert await fr == b"xyz"
        fw2, fr2 = streams.future(T.U8)
        fw2.close()
        with pytest.raises(streams.BrokenResourceError):
            await fr2

    run(main())


def test_host_end_dropped_without_closing_is_closed_for_the_other_side() -> None:
    """An end the program lets go of is dropped, so the other side is not left waiting."""
    import gc

    async def main() -> None:
        w, r = streams.stream(T.U8)
        await asyncio.sleep(0)
        del w
        gc.collect()
        with pytest.raises(streams.EndOfStream):
            await asyncio.wait_for(r.read(), 5)

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# a trap in the instance holding the other end


def test_host_read_of_a_stream_whose_writer_trapped_fails_instead_of_waiting():
    """The guest wrote a chunk, then its instance trapped with the writable end still in its
    handle table: the host gets the chunk, then BrokenResourceError naming the trap (not a
    clean end of stream, and not a wait that never ends); a read already waiting is woken."""
    t = T.StreamType(T.U8)

    async def main():
        g, wi, r = guest_writer(t)
        reading = asyncio.ensure_future(r.read())
        await asyncio.sleep(0)
        g.poke(0, b"abc")
        assert g.write(None, wi, 0, 3) == packed(COMPLETED, 3)
        assert await reading == b"abc"
        waiting = asyncio.ensure_future(r.read())
        await asyncio.sleep(0)
        assert not waiting.done()
        g.inst.poison(RuntimeError("boom"))
        with pytest.raises(streams.BrokenResourceError, match="trapped: boom"):
            await waiting
        with pytest.raises(streams.BrokenResourceError):
            await r.read()

    run(main())


def test_host_future_whose_writer_trapped_fails_and_a_guest_reader_sees_dropped():
    t = T.FutureType(T.U64)

    async def main():
        g, wi, fr = guest_writer(t)
        task = asyncio.ensure_future(fr.read())
        await asyncio.sleep(0)
        g.inst.poison(RuntimeError("boom"))
        with pytest.raises(streams.BrokenResourceError, match="writer is gone.*boom"):
            await task
        # a guest reading a future whose writer's instance trapped is not left waiting
        other = Guest("h", t)
        w = Guest("w", t)
        ri2, wi2 = w.make()
        ri_h = w.give(ri2, other)
        assert other.read(None, ri_h, 8) == BLOCKED
        w.inst.poison(RuntimeError("boom"))
        assert other.inst.handles.get(ri_h).shared.dropped

    run(main())

"""Streams and futures end to end: WAT components (callback-lifted async exports) exchanging
``stream<u8>`` and ``future<u32>`` with the host and with each other."""

from __future__ import annotations

import asyncio

import pytest
from componentutil import wat_to_wasm

import wasmloop
from wasmloop import streams
from wasmloop import types as T
from wasmloop.runtime import asyncvalues
from wasmloop.runtime import copy as copymod
from wasmloop.runtime import error_context as ecmod
from wasmloop.runtime import future as fmod
from wasmloop.runtime import stream as smod


@pytest.fixture(autouse=True)
def wired(monkeypatch):
    """Route the runtime's stream/future/error-context hooks here if it does not yet."""
    if asyncvalues.BUILTINS:
        return
    monkeypatch.setattr(asyncvalues, "BUILTINS",
                        {**smod.BUILTINS, **fmod.BUILTINS, **ecmod.BUILTINS})
    for mod, names in ((smod, ("lift_stream", "lower_stream")),
                       (fmod, ("lift_future", "lower_future")),
                       (ecmod, ("lift_error_context", "lower_error_context"))):
        for n in names:
            monkeypatch.setattr(asyncvalues, n, getattr(mod, n))


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    return wasmloop.Engine(features=["error-context"])


# produce(n): a stream<u8> of n bytes (i & 0xff for i in 0..n), written in chunks of up to
# 1000 bytes with async stream.write; drops the writable end at the end.
PRODUCER = """
(component
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 2))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.new (canon stream.new $s))
  (core func $s.write (canon stream.write $s async (memory $memory)))
  (core func $s.drop-w (canon stream.drop-writable $s))
  (core func $ret (canon task.return (result $s)))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core module $M
    (import "" "mem" (memory 2))
    (import "" "s.new" (func $s.new (result i64)))
    (import "" "s.write" (func $s.write (param i32 i32 i32) (result i32)))
    (import "" "s.drop-w" (func $s.drop-w (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (global $w (mut i32) (i32.const 0))
    (global $left (mut i32) (i32.const 0))
    (global $pos (mut i32) (i32.const 0))
    (global $ws (mut i32) (i32.const 0))
    ;; write the next chunk until one blocks (WAIT) or everything is written (EXIT)
    (func $step (result i32)
      (local $n i32) (local $r i32) (local $i i32)
      (loop $more
        (if (i32.eqz (global.get $left))
          (then (call $s.drop-w (global.get $w)) (return (i32.const 0))))
        (local.set $n (global.get $left))
        (if (i32.gt_u (local.get $n) (i32.const 1000)) (then (local.set $n (i32.const 1000))))
        (local.set $i (i32.const 0))
        (loop $fill
          (i32.store8 (i32.add (i32.const 0x1000) (local.get $i))
                      (i32.add (global.get $pos) (local.get $i)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $fill (i32.lt_u (local.get $i) (local.get $n))))
        (local.set $r (call $s.write (global.get $w) (i32.const 0x1000) (local.get $n)))
        (if (i32.eq (local.get $r) (i32.const -1))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))))
        (call $advance (local.get $r))
        (br_if $more (i32.eqz (i32.and (local.get $r) (i32.const 0xf)))))
      ;; the reader dropped its end
      (call $s.drop-w (global.get $w))
      (i32.const 0))
    (func $advance (param $r i32)
      (global.set $left (i32.sub (global.get $left) (i32.shr_u (local.get $r) (i32.const 4))))
      (global.set $pos (i32.add (global.get $pos) (i32.shr_u (local.get $r) (i32.const 4)))))
    (func (export "produce") (param $n i32) (result i32)
      (local $p i64)
      (local.set $p (call $s.new))
      (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (global.set $left (local.get $n))
      (global.set $pos (i32.const 0))
      (global.set $ws (call $ws.new))
      (call $join (global.get $w) (global.get $ws))
      (call $ret (i32.wrap_i64 (local.get $p)))
      (call $step))
    (func (export "produce-cb") (param $ev i32) (param $i i32) (param $r i32) (result i32)
      (if (i32.ne (i32.and (local.get $r) (i32.const 0xf)) (i32.const 0))
        (then (call $s.drop-w (global.get $w)) (return (i32.const 0))))
      ;; the reader took part of the chunk: write the rest from where it stopped next time
      (call $advance (local.get $r))
      (call $step)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "s.new" (func $s.new)) (export "s.write" (func $s.write))
    (export "s.drop-w" (func $s.drop-w)) (export "ret" (func $ret))
    (export "ws.new" (func $ws.new)) (export "join" (func $join))))))
  (func (export "produce") async (param "n" u32) (result $s)
    (canon lift (core func $m "produce") async (callback (core func $m "produce-cb"))))
)
"""

# consume(s): reads s to its end in reads of up to 700 bytes; returns
# count << 16 | (sum of the bytes & 0xffff).
CONSUMER = """
(component
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 2))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.read (canon stream.read $s async (memory $memory)))
  (core func $s.drop-r (canon stream.drop-readable $s))
  (core func $ret (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core module $M
    (import "" "mem" (memory 2))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.drop-r" (func $s.drop-r (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (global $r (mut i32) (i32.const 0))
    (global $ws (mut i32) (i32.const 0))
    (global $count (mut i32) (i32.const 0))
    (global $sum (mut i32) (i32.const 0))
    (func $took (param $res i32)
      (local $n i32) (local $i i32)
      (local.set $n (i32.shr_u (local.get $res) (i32.const 4)))
      (global.set $count (i32.add (global.get $count) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $done (loop $add
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (global.set $sum (i32.add (global.get $sum)
          (i32.load8_u (i32.add (i32.const 0x1000) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $add))))
    (func $finish (result i32)
      (call $s.drop-r (global.get $r))
      (call $ret (i32.or (i32.shl (global.get $count) (i32.const 16))
                         (i32.and (global.get $sum) (i32.const 0xffff))))
      (i32.const 0))
    (func $step (result i32)
      (local $res i32)
      (loop $more
        (local.set $res (call $s.read (global.get $r) (i32.const 0x1000) (i32.const 700)))
        (if (i32.eq (local.get $res) (i32.const -1))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))))
        (call $took (local.get $res))
        (br_if $more (i32.eqz (i32.and (local.get $res) (i32.const 0xf)))))
      (call $finish))
    (func (export "consume") (param $s i32) (result i32)
      (global.set $r (local.get $s))
      (global.set $count (i32.const 0))
      (global.set $sum (i32.const 0))
      (global.set $ws (call $ws.new))
      (call $join (global.get $r) (global.get $ws))
      (call $step))
    (func (export "consume-cb") (param $ev i32) (param $i i32) (param $res i32) (result i32)
      (call $took (local.get $res))
      (if (i32.ne (i32.and (local.get $res) (i32.const 0xf)) (i32.const 0))
        (then (return (call $finish))))
      (call $step)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "s.read" (func $s.read)) (export "s.drop-r" (func $s.drop-r))
    (export "ret" (func $ret)) (export "ws.new" (func $ws.new)) (export "join" (func $join))))))
  (func (export "consume") async (param "s" $s) (result u32)
    (canon lift (core func $m "consume") async (callback (core func $m "consume-cb"))))
)
"""


def expected(n: int) -> int:
    return n << 16 | (sum(i & 0xFF for i in range(n)) & 0xFFFF)


def pattern(n: int) -> bytes:
    return bytes(i & 0xFF for i in range(n))


async def instantiate(engine: wasmloop.Engine, wat: str) -> wasmloop.Instance:
    return await wasmloop.Linker(engine).instantiate(wasmloop.Component(engine, wat_to_wasm(wat)))


def test_guest_stream_read_by_the_host(engine):
    async def main():
        producer = await instantiate(engine, PRODUCER)
        reader = await producer.exports["produce"](2500)
        assert isinstance(reader, streams.StreamReader)
        assert await reader.read_all() == pattern(2500)

    asyncio.run(main())


def test_host_reads_in_small_pieces(engine):
    async def main():
        producer = await instantiate(engine, PRODUCER)
        reader = await producer.exports["produce"](1500)
        got = bytearray()
        while True:
            try:
                chunk = await reader.read(7)
            except streams.EndOfStream:
                break
            assert 1 <= len(chunk) <= 7
            got += chunk
        assert bytes(got) == pattern(1500)

    asyncio.run(main())


def test_host_stream_consumed_by_a_guest(engine):
    async def main():
        consumer = await instantiate(engine, CONSUMER)
        writer, reader = streams.stream(T.U8)
        call = asyncio.ensure_future(consumer.exports["consume"](reader))
        async with writer:
            await writer.write(pattern(3000))
            await writer.write(b"")
        assert await call == expected(3000)

    asyncio.run(main())


def test_host_closing_early_ends_the_guest_read(engine):
    async def main():
        consumer = await instantiate(engine, CONSUMER)
        writer, reader = streams.stream(T.U8)
        call = asyncio.ensure_future(consumer.exports["consume"](reader))
        await writer.aclose()
        assert await call == 0

    asyncio.run(main())


def test_host_reader_dropped_stops_the_guest_writer(engine):
    async def main():
        producer = await instantiate(engine, PRODUCER)
        reader = await producer.exports["produce"](5000)
        assert len(await reader.read(10)) == 10
        await reader.aclose()
        await asyncio.sleep(0.01)
        # the producer saw DROPPED, dropped its end and exited: it takes new calls
        again = await producer.exports["produce"](3)
        assert await again.read_all() == pattern(3)

    asyncio.run(main())


def test_stream_between_two_guests_is_one_memmove_per_copy(engine, monkeypatch):
    moves: list[int] = []
    real = copymod._memmove

    def counting(dst, src, n):
        moves.append(n)
        return real(dst, src, n)

    def host_touched(*_a, **_k):
        raise AssertionError("the host copied elements between two guests")

    monkeypatch.setattr(copymod, "_memmove", counting)
    monkeypatch.setattr(copymod.HostSink, "write", host_touched)
    monkeypatch.setattr(copymod.GuestBuffer, "read", host_touched)

    async def main():
        producer = await instantiate(engine, PRODUCER)
        consumer = await instantiate(engine, CONSUMER)
        reader = await producer.exports["produce"](10_000)
        return await consumer.exports["consume"](reader)

    assert asyncio.run(main()) == expected(10_000)
    assert sum(moves) == 10_000
    assert all(0 < n <= 1000 for n in moves)


# give(x): a future<u32> the guest resolves with x (async future.write, waits for the reader);
# take(f): awaits f (async future.read) and returns its value + 1.
FUTURES = """
(component
  (type $f (future u32))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $f.new (canon future.new $f))
  (core func $f.write (canon future.write $f async (memory $memory)))
  (core func $f.read (canon future.read $f async (memory $memory)))
  (core func $f.drop-w (canon future.drop-writable $f))
  (core func $f.drop-r (canon future.drop-readable $f))
  (core func $ret-f (canon task.return (result $f)))
  (core func $ret-u (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "f.new" (func $f.new (result i64)))
    (import "" "f.write" (func $f.write (param i32 i32) (result i32)))
    (import "" "f.read" (func $f.read (param i32 i32) (result i32)))
    (import "" "f.drop-w" (func $f.drop-w (param i32)))
    (import "" "f.drop-r" (func $f.drop-r (param i32)))
    (import "" "ret-f" (func $ret-f (param i32)))
    (import "" "ret-u" (func $ret-u (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (global $h (mut i32) (i32.const 0))
    (func $wait-on (param $h i32) (result i32)
      (local $ws i32)
      (global.set $h (local.get $h))
      (local.set $ws (call $ws.new))
      (call $join (local.get $h) (local.get $ws))
      (i32.or (i32.const 2) (i32.shl (local.get $ws) (i32.const 4))))
    (func (export "give") (param $x i32) (result i32)
      (local $p i64) (local $w i32)
      (local.set $p (call $f.new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (call $ret-f (i32.wrap_i64 (local.get $p)))
      (i32.store (i32.const 16) (local.get $x))
      (if (i32.eq (call $f.write (local.get $w) (i32.const 16)) (i32.const -1))
        (then (return (call $wait-on (local.get $w)))))
      (call $f.drop-w (local.get $w))
      (i32.const 0))
    (func (export "give-cb") (param i32 i32 i32) (result i32)
      (call $f.drop-w (global.get $h))
      (i32.const 0))
    (func $took (param $r i32) (result i32)
      (call $f.drop-r (global.get $h))
      (call $ret-u (if (result i32) (i32.eqz (local.get $r))
        (then (i32.add (i32.load (i32.const 32)) (i32.const 1)))
        (else (i32.sub (i32.const 0) (local.get $r)))))
      (i32.const 0))
    (func (export "take") (param $f i32) (result i32)
      (local $r i32)
      (global.set $h (local.get $f))
      (local.set $r (call $f.read (local.get $f) (i32.const 32)))
      (if (i32.eq (local.get $r) (i32.const -1))
        (then (return (call $wait-on (local.get $f)))))
      (call $took (local.get $r)))
    (func (export "take-cb") (param i32 i32) (param $r i32) (result i32)
      (call $took (local.get $r))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "f.new" (func $f.new)) (export "f.write" (func $f.write))
    (export "f.read" (func $f.read)) (export "f.drop-w" (func $f.drop-w))
    (export "f.drop-r" (func $f.drop-r)) (export "ret-f" (func $ret-f))
    (export "ret-u" (func $ret-u)) (export "ws.new" (func $ws.new))
    (export "join" (func $join))))))
  (func (export "give") async (param "x" u32) (result $f)
    (canon lift (core func $m "give") async (callback (core func $m "give-cb"))))
  (func (export "take") async (param "f" $f) (result u32)
    (canon lift (core func $m "take") async (callback (core func $m "take-cb"))))
)
"""


def test_futures_between_host_and_guests(engine):
    async def main():
        inst = await instantiate(engine, FUTURES)
        other = await instantiate(engine, FUTURES)
        fr = await inst.exports["give"](41)
        assert isinstance(fr, streams.FutureReader)
        assert await fr == 41
        # host writer → guest reader, written after the guest started waiting
        fw, fr2 = streams.future(T.U32)
        call = asyncio.ensure_future(inst.exports["take"](fr2))
        await asyncio.sleep(0)
        fw.write(99)
        assert await call == 100
        # guest → guest (the host only passes the reader along)
        assert await other.exports["take"](await inst.exports["give"](7)) == 8
        # a host writer that goes away without a value: the guest's read reports DROPPED
        fw3, fr3 = streams.future(T.U32)
        fw3.close()
        assert await inst.exports["take"](fr3) == (-1) & 0xFFFF_FFFF

    asyncio.run(main())


ERRORS = """
(component
  (core module $Mem
    (memory (export "mem") 1)
    (global $top (mut i32) (i32.const 0x800))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $top))
      (global.set $top (i32.add (global.get $top) (local.get 3)))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (alias core export $mem "realloc" (core func $realloc))
  (core func $ec.new (canon error-context.new (memory $memory)))
  (core func $ec.msg (canon error-context.debug-message (memory $memory) (realloc $realloc)))
  (core func $ec.drop (canon error-context.drop))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "ec.new" (func $ec.new (param i32 i32) (result i32)))
    (import "" "ec.msg" (func $ec.msg (param i32 i32)))
    (import "" "ec.drop" (func $ec.drop (param i32)))
    (func (export "make") (param i32 i32) (result i32)
      (call $ec.new (local.get 0) (local.get 1)))
    (func (export "describe") (param $e i32) (result i32)
      (call $ec.msg (local.get $e) (i32.const 0x100))
      (call $ec.drop (local.get $e))
      (i32.const 0x100)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "ec.new" (func $ec.new))
    (export "ec.msg" (func $ec.msg)) (export "ec.drop" (func $ec.drop))))))
  (func (export "make") (param "msg" string) (result error-context)
    (canon lift (core func $m "make") (memory $memory) (realloc $realloc)))
  (func (export "describe") (param "e" error-context) (result string)
    (canon lift (core func $m "describe") (memory $memory) (realloc $realloc)))
)
"""


def test_error_contexts_cross_the_boundary(engine):
    async def main():
        inst = await instantiate(engine, ERRORS)
        e = await inst.exports["make"]("disk on fire")
        assert isinstance(e, streams.ErrorContext)
        assert e.debug_message == "disk on fire"
        assert await inst.exports["describe"](e) == "disk on fire"
        assert await inst.exports["describe"](streams.ErrorContext("from the host")) \
            == "from the host"

    asyncio.run(main())


# sum(s): a stackful async export whose core code uses synchronous stream.read (🚝/🚟):
# the guest's fiber is suspended while it waits.
STACKFUL = """
(component
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.read (canon stream.read $s (memory $memory)))
  (core func $s.drop-r (canon stream.drop-readable $s))
  (core func $ret (canon task.return (result u32)))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.drop-r" (func $s.drop-r (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (func (export "sum") (param $s i32)
      (local $r i32) (local $n i32) (local $i i32) (local $sum i32)
      (loop $more
        (local.set $r (call $s.read (local.get $s) (i32.const 0x100) (i32.const 64)))
        (local.set $n (i32.shr_u (local.get $r) (i32.const 4)))
        (local.set $i (i32.const 0))
        (block $done (loop $add
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $sum (i32.add (local.get $sum)
            (i32.load8_u (i32.add (i32.const 0x100) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $add)))
        (br_if $more (i32.eqz (i32.and (local.get $r) (i32.const 0xf)))))
      (call $s.drop-r (local.get $s))
      (call $ret (local.get $sum))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "s.read" (func $s.read))
    (export "s.drop-r" (func $s.drop-r)) (export "ret" (func $ret))))))
  (func (export "sum") async (param "s" $s) (result u32)
    (canon lift (core func $m "sum") async))
)
"""


def test_synchronous_stream_read_suspends_the_guest_fiber():
    engine = wasmloop.Engine(features=["async-stackful", "more-async-builtins"])

    async def main():
        inst = await instantiate(engine, STACKFUL)
        writer, reader = streams.stream(T.U8)
        call = asyncio.ensure_future(inst.exports["sum"](reader))
        async with writer:
            for k in range(5):
                await asyncio.sleep(0)
                await writer.write(bytes([k + 1]) * 100)
        assert await call == sum((k + 1) * 100 for k in range(5))

    asyncio.run(main())

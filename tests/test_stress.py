"""Stress: 10,000 concurrent async calls, each with a ``stream<u8>`` between two components
composed at run time; repeated rounds must not grow the process's memory.

- The provider exports ``local:stress/source`` with ``produce(n, seed) -> stream<u8>``, a
  callback-lifted async export that returns the readable end at once (task.return before it
  blocks) and then writes ``(seed + k) & 0xff`` for ``k < n`` in chunks of up to 100 bytes,
  waiting (WAIT on a waitable set) whenever a write blocks.
- The consumer imports that interface (satisfied with ``linker.define_instance`` from the
  provider instance) and exports ``run(n, seed) -> u32``, a callback-lifted async export that
  calls ``produce`` through an async lower, reads the stream to its end in reads of up to 64
  bytes (so most writes complete in pieces) and returns ``count << 16 | (sum & 0xffff)``.

Both guests keep their per-task state in a slot of their own memory (128 bytes, recycled
through a free list) found again through ``context.get``; each task has its own waitable set
and drops every handle it made, so after a round both instances' handle tables are empty.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
from collections import Counter

import pytest
from componentutil import wat_to_wasm

import wasmloop

IFACE = "local:stress/source"

# Slots start at 0x10000 and are 128 bytes; 64 pages leave room for 30,000+ live tasks.
PROVIDER = """
(component
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 64))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.new (canon stream.new $s))
  (core func $s.write (canon stream.write $s async (memory $memory)))
  (core func $s.drop-w (canon stream.drop-writable $s))
  (core func $ret (canon task.return (result $s)))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $ctx.get (canon context.get i32 0))
  (core func $ctx.set (canon context.set i32 0))
  (core module $M
    (import "" "mem" (memory 64))
    (import "" "s.new" (func $s.new (result i64)))
    (import "" "s.write" (func $s.write (param i32 i32 i32) (result i32)))
    (import "" "s.drop-w" (func $s.drop-w (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "ctx.get" (func $ctx.get (result i32)))
    (import "" "ctx.set" (func $ctx.set (param i32)))
    (global $free (mut i32) (i32.const 0))
    (global $bump (mut i32) (i32.const 0x10000))
    ;; 0x1000..: the bytes 0, 1, ..., 255, 0, 1, ... (512 of them), read-only afterwards
    (func $init
      (local $i i32)
      (loop $fill
        (i32.store8 (i32.add (i32.const 0x1000) (local.get $i)) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $fill (i32.lt_u (local.get $i) (i32.const 512)))))
    (start $init)
    (func $alloc (result i32)
      (local $p i32)
      (if (global.get $free)
        (then (local.set $p (global.get $free))
              (global.set $free (i32.load (local.get $p)))
              (return (local.get $p))))
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (local.get $p) (i32.const 128)))
      (local.get $p))
    (func $release (param $p i32)
      (i32.store (local.get $p) (global.get $free))
      (global.set $free (local.get $p)))
    ;; slot: +0 writable end, +4 waitable set, +8 bytes left, +12 position (seed + written)
    (func $finish (param $p i32) (result i32)
      (call $s.drop-w (i32.load (local.get $p)))
      (call $ws.drop (i32.load offset=4 (local.get $p)))
      (call $release (local.get $p))
      (i32.const 0))
    (func $advance (param $p i32) (param $res i32)
      (local $n i32)
      (local.set $n (i32.shr_u (local.get $res) (i32.const 4)))
      (i32.store offset=8 (local.get $p) (i32.sub (i32.load offset=8 (local.get $p)) (local.get $n)))
      (i32.store offset=12 (local.get $p) (i32.add (i32.load offset=12 (local.get $p)) (local.get $n))))
    ;; write chunks until one blocks (WAIT) or all is written / the reader left (EXIT)
    (func $step (param $p i32) (result i32)
      (local $n i32) (local $res i32)
      (loop $more
        (local.set $n (i32.load offset=8 (local.get $p)))
        (if (i32.eqz (local.get $n)) (then (return (call $finish (local.get $p)))))
        (if (i32.gt_u (local.get $n) (i32.const 100)) (then (local.set $n (i32.const 100))))
        (local.set $res (call $s.write (i32.load (local.get $p))
          (i32.add (i32.const 0x1000) (i32.and (i32.load offset=12 (local.get $p)) (i32.const 0xff)))
          (local.get $n)))
        (if (i32.eq (local.get $res) (i32.const -1))
          (then (return (i32.or (i32.const 2)
                                (i32.shl (i32.load offset=4 (local.get $p)) (i32.const 4))))))
        (call $advance (local.get $p) (local.get $res))
        (br_if $more (i32.eqz (i32.and (local.get $res) (i32.const 0xf)))))
      (call $finish (local.get $p)))
    (func (export "produce") (param $n i32) (param $seed i32) (result i32)
      (local $p i32) (local $pair i64) (local $ws i32)
      (local.set $p (call $alloc))
      (call $ctx.set (local.get $p))
      (local.set $pair (call $s.new))
      (i32.store (local.get $p) (i32.wrap_i64 (i64.shr_u (local.get $pair) (i64.const 32))))
      (local.set $ws (call $ws.new))
      (i32.store offset=4 (local.get $p) (local.get $ws))
      (i32.store offset=8 (local.get $p) (local.get $n))
      (i32.store offset=12 (local.get $p) (local.get $seed))
      (call $join (i32.load (local.get $p)) (local.get $ws))
      (call $ret (i32.wrap_i64 (local.get $pair)))
      (call $step (local.get $p)))
    ;; the only event is STREAM_WRITE on the writable end
    (func (export "produce-cb") (param $ev i32) (param $i i32) (param $res i32) (result i32)
      (local $p i32)
      (local.set $p (call $ctx.get))
      (call $advance (local.get $p) (local.get $res))
      (if (i32.and (local.get $res) (i32.const 0xf))
        (then (return (call $finish (local.get $p)))))
      (call $step (local.get $p))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "s.new" (func $s.new)) (export "s.write" (func $s.write))
    (export "s.drop-w" (func $s.drop-w)) (export "ret" (func $ret))
    (export "ws.new" (func $ws.new)) (export "ws.drop" (func $ws.drop))
    (export "join" (func $join))
    (export "ctx.get" (func $ctx.get)) (export "ctx.set" (func $ctx.set))))))
  (func $produce async (param "n" u32) (param "seed" u32) (result $s)
    (canon lift (core func $m "produce") async (callback (core func $m "produce-cb"))))
  (instance $source (export "produce" (func $produce)))
  (export "local:stress/source" (instance $source))
)
"""

CONSUMER = """
(component
  (import "local:stress/source" (instance $src
    (export "produce" (func async (param "n" u32) (param "seed" u32) (result (stream u8))))))
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 64))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $produce (canon lower (func $src "produce") async (memory $memory)))
  (core func $s.read (canon stream.read $s async (memory $memory)))
  (core func $s.drop-r (canon stream.drop-readable $s))
  (core func $ret (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $st.drop (canon subtask.drop))
  (core func $ctx.get (canon context.get i32 0))
  (core func $ctx.set (canon context.set i32 0))
  (core module $M
    (import "" "mem" (memory 64))
    (import "" "produce" (func $produce (param i32 i32 i32) (result i32)))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.drop-r" (func $s.drop-r (param i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "st.drop" (func $st.drop (param i32)))
    (import "" "ctx.get" (func $ctx.get (result i32)))
    (import "" "ctx.set" (func $ctx.set (param i32)))
    (global $free (mut i32) (i32.const 0))
    (global $bump (mut i32) (i32.const 0x10000))
    (func $alloc (result i32)
      (local $p i32)
      (if (global.get $free)
        (then (local.set $p (global.get $free))
              (global.set $free (i32.load (local.get $p)))
              (return (local.get $p))))
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (local.get $p) (i32.const 128)))
      (local.get $p))
    (func $release (param $p i32)
      (i32.store (local.get $p) (global.get $free))
      (global.set $free (local.get $p)))
    ;; slot: +0 readable end, +4 waitable set, +8 count, +12 sum, +16 subtask (0: none),
    ;; +20 produce's result (the readable end), +64..+128 the read buffer
    (func $took (param $p i32) (param $res i32)
      (local $n i32) (local $i i32) (local $sum i32)
      (local.set $n (i32.shr_u (local.get $res) (i32.const 4)))
      (i32.store offset=8 (local.get $p) (i32.add (i32.load offset=8 (local.get $p)) (local.get $n)))
      (local.set $sum (i32.load offset=12 (local.get $p)))
      (block $done (loop $add
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $sum (i32.add (local.get $sum)
          (i32.load8_u offset=64 (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $add)))
      (i32.store offset=12 (local.get $p) (local.get $sum)))
    (func $finish (param $p i32) (result i32)
      (call $s.drop-r (i32.load (local.get $p)))
      (call $ws.drop (i32.load offset=4 (local.get $p)))
      (call $ret (i32.or (i32.shl (i32.load offset=8 (local.get $p)) (i32.const 16))
                         (i32.and (i32.load offset=12 (local.get $p)) (i32.const 0xffff))))
      (call $release (local.get $p))
      (i32.const 0))
    (func $wait (param $p i32) (result i32)
      (i32.or (i32.const 2) (i32.shl (i32.load offset=4 (local.get $p)) (i32.const 4))))
    ;; produce returned: read the stream until a read blocks (WAIT) or it ends (EXIT)
    (func $start-reading (param $p i32) (result i32)
      (i32.store (local.get $p) (i32.load offset=20 (local.get $p)))
      (call $join (i32.load (local.get $p)) (i32.load offset=4 (local.get $p)))
      (call $step (local.get $p)))
    (func $step (param $p i32) (result i32)
      (local $res i32)
      (loop $more
        (local.set $res (call $s.read (i32.load (local.get $p))
                                      (i32.add (local.get $p) (i32.const 64)) (i32.const 64)))
        (if (i32.eq (local.get $res) (i32.const -1))
          (then (return (call $wait (local.get $p)))))
        (call $took (local.get $p) (local.get $res))
        (br_if $more (i32.eqz (i32.and (local.get $res) (i32.const 0xf)))))
      (call $finish (local.get $p)))
    (func (export "run") (param $n i32) (param $seed i32) (result i32)
      (local $p i32) (local $r i32)
      (local.set $p (call $alloc))
      (call $ctx.set (local.get $p))
      (i32.store offset=8 (local.get $p) (i32.const 0))
      (i32.store offset=12 (local.get $p) (i32.const 0))
      (i32.store offset=16 (local.get $p) (i32.const 0))
      (i32.store offset=4 (local.get $p) (call $ws.new))
      (local.set $r (call $produce (local.get $n) (local.get $seed)
                                   (i32.add (local.get $p) (i32.const 20))))
      (if (i32.eq (i32.and (local.get $r) (i32.const 0xf)) (i32.const 2))
        (then (return (call $start-reading (local.get $p)))))
      ;; STARTING or STARTED: wait for the subtask to return
      (i32.store offset=16 (local.get $p) (i32.shr_u (local.get $r) (i32.const 4)))
      (call $join (i32.shr_u (local.get $r) (i32.const 4)) (i32.load offset=4 (local.get $p)))
      (call $wait (local.get $p)))
    (func (export "run-cb") (param $ev i32) (param $i i32) (param $res i32) (result i32)
      (local $p i32)
      (local.set $p (call $ctx.get))
      (if (i32.eq (local.get $ev) (i32.const 1))  ;; SUBTASK
        (then
          (if (i32.ne (local.get $res) (i32.const 2))
            (then (return (call $wait (local.get $p)))))
          (call $st.drop (local.get $i))
          (i32.store offset=16 (local.get $p) (i32.const 0))
          (return (call $start-reading (local.get $p)))))
      ;; STREAM_READ
      (call $took (local.get $p) (local.get $res))
      (if (i32.and (local.get $res) (i32.const 0xf))
        (then (return (call $finish (local.get $p)))))
      (call $step (local.get $p))))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "produce" (func $produce))
    (export "s.read" (func $s.read)) (export "s.drop-r" (func $s.drop-r))
    (export "ret" (func $ret)) (export "ws.new" (func $ws.new))
    (export "ws.drop" (func $ws.drop)) (export "join" (func $join))
    (export "st.drop" (func $st.drop))
    (export "ctx.get" (func $ctx.get)) (export "ctx.set" (func $ctx.set))))))
  (func (export "run") async (param "n" u32) (param "seed" u32) (result u32)
    (canon lift (core func $m "run") async (callback (core func $m "run-cb"))))
)
"""

CALLS = 10_000
ROUNDS = 5
RSS_GROWTH_LIMIT = 20 << 20


def expected(n: int, seed: int) -> int:
    return n << 16 | (sum((seed + k) & 0xFF for k in range(n)) & 0xFFFF)


def args(i: int) -> tuple[int, int]:
    """Stream lengths 0..299 bytes (0: an empty stream; 64/100-byte reads/writes split
    unevenly), seeds all over the byte range."""
    return (i * 37) % 300, (i * 101) & 0xFFFF


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    return wasmloop.Engine()


async def compose(engine: wasmloop.Engine) -> tuple[wasmloop.Instance, wasmloop.Instance]:
    provider = await wasmloop.Linker(engine).instantiate(
        wasmloop.Component(engine, wat_to_wasm(PROVIDER), name="provider"))
    linker = wasmloop.Linker(engine)
    linker.define_instance(IFACE, provider.exports[IFACE])
    consumer = await linker.instantiate(
        wasmloop.Component(engine, wat_to_wasm(CONSUMER), name="consumer"))
    return provider, consumer


def live_handles(inst: wasmloop.Instance) -> int:
    return len(inst._inst.handles)


def test_composed_stream_calls_one_at_a_time(engine):
    async def main():
        provider, consumer = await compose(engine)
        run = consumer.exports["run"]
        for n in (0, 1, 63, 64, 65, 100, 101, 128, 1000, 5000):
            assert await run(n, 7) == expected(n, 7), n
        # the provider can also be called by the host directly
        reader = await provider.exports[IFACE]["produce"](300, 250)
        assert await reader.read_all() == bytes((250 + k) & 0xFF for k in range(300))
        assert live_handles(consumer) == live_handles(provider) == 0
        consumer.close()
        provider.close()

    asyncio.run(main())


def object_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


# 10,000 in flight is the figure to hold; 2,000 keeps the default run quick. The big variant
# is marked ``slow`` (deselect with ``-m "not slow"``); it is meant to run in CI.
@pytest.mark.parametrize("calls", [2_000, pytest.param(CALLS, marks=pytest.mark.slow)])
def test_concurrent_stream_calls_rss_stays_flat(engine, calls):
    async def main() -> list[int]:
        provider, consumer = await compose(engine)
        run = consumer.exports["run"]
        want = [expected(*args(i)) for i in range(calls)]
        samples = []
        counts: list[Counter[str]] = []
        for _round in range(ROUNDS):
            got = await asyncio.gather(*(run(*args(i)) for i in range(calls)))
            bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
            assert not bad, f"{len(bad)} wrong results, first: {bad[:3]}"
            assert live_handles(consumer) == 0, "consumer leaked handles"
            assert live_handles(provider) == 0, "provider leaked handles"
            del got
            gc.collect()
            samples.append(rss())
            counts.append(object_counts())
        # a leak of even one object per call would be calls × (ROUNDS − 1) more objects
        grown = counts[-1] - counts[0]
        assert sum(grown.values()) < calls // 10, f"objects left behind: {grown.most_common(8)}"
        consumer.close()
        provider.close()
        return samples

    samples = asyncio.run(main())
    growth = samples[-1] - samples[0]
    mib = [f"{s / (1 << 20):.1f}" for s in samples]
    print(f"{calls:,} calls × {ROUNDS} rounds; RSS after each round (MiB): {', '.join(mib)}; "
          f"peak {peak_rss() / (1 << 20):.1f} MiB")
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew {growth / (1 << 20):.1f} MiB: {mib}"

"""The async ABI's costs in wasmloop, against Wasmtime 49 where the same work can be measured
there (medians; no assertions).

Components (WAT below, compiled with ``wasm-tools parse`` at run time, cached under
``$TMPDIR/wasmloop-bench``):

  leaf      callback-lifted async exports: ``ret() -> u32`` (task.return at once: an eager
            return), ``yield-once() -> u32`` (YIELD, then task.return from the callback),
            ``produce(total: u64, chunk: u32) -> stream<u8>`` (writes ``total`` bytes in writes
            of ``chunk`` bytes from one buffer, waiting whenever a write blocks)
  driver    imports the leaf's interface and exports ``loop-ret(n)`` (n async-lowered calls
            of ``ret`` in a loop), ``fanout(n, rounds)`` (rounds × n async calls of
            ``yield-once`` in flight at once, waiting for all n each round) and
            ``drain(total, chunk) -> u64`` (reads ``produce(total, chunk)`` to its end in reads
            of ``chunk`` bytes)
  composed  one component nesting leaf and driver (the same core code), for both hosts
  hostcall  imports ``host-op: async func()`` and exports ``call-host(n)``: n async-lowered
            calls of the import, each waited for (SUBTASK event) when it does not return at
            once

wasmloop figures are measured in-process (``await f(...)``); leaf and driver are two instances
composed at run time with ``Linker.define_instance``, except where the row says "composed
binary". Wasmtime 49 has no Python API, so its figures are whole-process timings of the
reference CLI on the composed binary (precompiled ``.cwasm``): ``wasmtime run --invoke
'f(N)'`` minus ``wasmtime run --invoke 'f(0)'`` (startup), divided by N; and ``wasmtime wast``
on a script of N ``assert_return (invoke "ret")`` minus a script with none, against ``wasmloop
wast --json`` on the same script (already converted).

Run: python bench/bench_async.py [--quick] [--repeat R]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import wasmloop

LEAF = """
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 20))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.new (canon stream.new $s))
  (core func $s.write (canon stream.write $s async (memory $memory)))
  (core func $s.drop-w (canon stream.drop-writable $s))
  (core func $ret-s (canon task.return (result $s)))
  (core func $ret-u (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core module $M
    (import "" "mem" (memory 20))
    (import "" "s.new" (func $s.new (result i64)))
    (import "" "s.write" (func $s.write (param i32 i32 i32) (result i32)))
    (import "" "s.drop-w" (func $s.drop-w (param i32)))
    (import "" "ret-s" (func $ret-s (param i32)))
    (import "" "ret-u" (func $ret-u (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (global $w (mut i32) (i32.const 0))
    (global $ws (mut i32) (i32.const 0))
    (global $left (mut i64) (i64.const 0))
    (global $chunk (mut i32) (i32.const 0))
    ;; ret: task.return(42) at once (an eager return)
    (func (export "ret") (result i32)
      (call $ret-u (i32.const 42))
      (i32.const 0))
    ;; yield-once: YIELD, then task.return(7) from the callback
    (func (export "yield-once") (result i32) (i32.const 1))
    (func (export "ret-cb") (param i32 i32 i32) (result i32)
      (call $ret-u (i32.const 7))
      (i32.const 0))
    ;; produce(total, chunk): total bytes from memory offset 0, in writes of chunk bytes
    (func $finish (result i32)
      (call $s.drop-w (global.get $w))
      (call $ws.drop (global.get $ws))
      (i32.const 0))
    (func $took (param $res i32)
      (global.set $left (i64.sub (global.get $left)
                                 (i64.extend_i32_u (i32.shr_u (local.get $res) (i32.const 4))))))
    (func $step (result i32)
      (local $n i32) (local $res i32)
      (loop $more
        (if (i64.eqz (global.get $left)) (then (return (call $finish))))
        (local.set $n (global.get $chunk))
        (if (i64.lt_u (global.get $left) (i64.extend_i32_u (local.get $n)))
          (then (local.set $n (i32.wrap_i64 (global.get $left)))))
        (local.set $res (call $s.write (global.get $w) (i32.const 0) (local.get $n)))
        (if (i32.eq (local.get $res) (i32.const -1))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))))
        (call $took (local.get $res))
        (br_if $more (i32.eqz (i32.and (local.get $res) (i32.const 0xf)))))
      (call $finish))
    (func (export "produce") (param $total i64) (param $chunk i32) (result i32)
      (local $p i64)
      (local.set $p (call $s.new))
      (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (global.set $left (local.get $total))
      (global.set $chunk (local.get $chunk))
      (global.set $ws (call $ws.new))
      (call $join (global.get $w) (global.get $ws))
      (call $ret-s (i32.wrap_i64 (local.get $p)))
      (call $step))
    (func (export "produce-cb") (param $ev i32) (param $i i32) (param $res i32) (result i32)
      (call $took (local.get $res))
      (if (i32.and (local.get $res) (i32.const 0xf)) (then (return (call $finish))))
      (call $step)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "s.new" (func $s.new)) (export "s.write" (func $s.write))
    (export "s.drop-w" (func $s.drop-w)) (export "ret-s" (func $ret-s))
    (export "ret-u" (func $ret-u)) (export "ws.new" (func $ws.new))
    (export "ws.drop" (func $ws.drop)) (export "join" (func $join))))))
  (func $ret async (result u32)
    (canon lift (core func $m "ret") async (callback (core func $m "ret-cb"))))
  (func $yield-once async (result u32)
    (canon lift (core func $m "yield-once") async (callback (core func $m "ret-cb"))))
  (func $produce async (param "total" u64) (param "chunk" u32) (result $s)
    (canon lift (core func $m "produce") async (callback (core func $m "produce-cb"))))
  (instance $leaf
    (export "ret" (func $ret)) (export "yield-once" (func $yield-once))
    (export "produce" (func $produce)))
  (export "local:bench/leaf" (instance $leaf))
  (export "ret" (func $ret))
  (export "yield-once" (func $yield-once))
"""

DRIVER = """
  (import "local:bench/leaf" (instance $leaf
    (export "ret" (func async (result u32)))
    (export "yield-once" (func async (result u32)))
    (export "produce" (func async (param "total" u64) (param "chunk" u32) (result (stream u8))))))
  (type $s (stream u8))
  (core module $Mem (memory (export "mem") 20))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $ret (canon lower (func $leaf "ret") async (memory $memory)))
  (core func $yield-once (canon lower (func $leaf "yield-once") async (memory $memory)))
  (core func $produce (canon lower (func $leaf "produce") async (memory $memory)))
  (core func $s.read (canon stream.read $s async (memory $memory)))
  (core func $s.drop-r (canon stream.drop-readable $s))
  (core func $ret-u (canon task.return (result u32)))
  (core func $ret-u64 (canon task.return (result u64)))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $st.drop (canon subtask.drop))
  (core module $M
    (import "" "mem" (memory 20))
    (import "" "ret" (func $ret (param i32) (result i32)))
    (import "" "yield-once" (func $yield-once (param i32) (result i32)))
    (import "" "produce" (func $produce (param i64 i32 i32) (result i32)))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.drop-r" (func $s.drop-r (param i32)))
    (import "" "ret-u" (func $ret-u (param i32)))
    (import "" "ret-u64" (func $ret-u64 (param i64)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "st.drop" (func $st.drop (param i32)))
    (global $ws (mut i32) (i32.const 0))
    (global $n (mut i32) (i32.const 0))
    (global $rounds (mut i32) (i32.const 0))
    (global $done (mut i32) (i32.const 0))
    (global $total (mut i32) (i32.const 0))
    (global $r (mut i32) (i32.const 0))
    (global $chunk (mut i32) (i32.const 0))
    (global $count (mut i64) (i64.const 0))
    ;; loop-ret(n): n async calls of leaf.ret (each an eager return); the sum of the results
    (func (export "loop-ret") (param $n i32) (result i32)
      (local $i i32) (local $sum i32)
      (block $end (loop $l
        (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne (i32.and (call $ret (i32.const 16)) (i32.const 0xf)) (i32.const 2))
          (then unreachable))
        (local.set $sum (i32.add (local.get $sum) (i32.load (i32.const 16))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (call $ret-u (local.get $sum))
      (i32.const 0))
    ;; fanout(n, rounds): each round, n async calls of leaf.yield-once in flight at once;
    ;; returns the number of calls that returned
    (func $spawn
      (local $i i32) (local $r i32)
      (global.set $done (i32.const 0))
      (block $end (loop $l
        (br_if $end (i32.ge_u (local.get $i) (global.get $n)))
        (local.set $r (call $yield-once (i32.const 16)))
        (if (i32.eq (i32.and (local.get $r) (i32.const 0xf)) (i32.const 2))
          (then (global.set $done (i32.add (global.get $done) (i32.const 1)))
                (global.set $total (i32.add (global.get $total) (i32.const 1))))
          (else (call $join (i32.shr_u (local.get $r) (i32.const 4)) (global.get $ws))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
    (func $fan-wait (result i32)
      (loop $again
        (if (i32.eq (global.get $done) (global.get $n))
          (then
            (if (i32.le_u (global.get $rounds) (i32.const 1))
              (then (call $ws.drop (global.get $ws))
                    (call $ret-u (global.get $total))
                    (return (i32.const 0))))
            (global.set $rounds (i32.sub (global.get $rounds) (i32.const 1)))
            (call $spawn)
            (br $again))))
      (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))
    (func (export "fanout") (param $n i32) (param $rounds i32) (result i32)
      (global.set $n (local.get $n))
      (global.set $rounds (local.get $rounds))
      (global.set $total (i32.const 0))
      (global.set $ws (call $ws.new))
      (call $spawn)
      (call $fan-wait))
    (func (export "fanout-cb") (param $ev i32) (param $i i32) (param $st i32) (result i32)
      (if (i32.eq (local.get $st) (i32.const 2))
        (then (call $st.drop (local.get $i))
              (global.set $done (i32.add (global.get $done) (i32.const 1)))
              (global.set $total (i32.add (global.get $total) (i32.const 1)))))
      (call $fan-wait))
    ;; drain(total, chunk): reads leaf.produce(total, chunk) to its end in reads of chunk
    ;; bytes (into offset 0x10000); returns the byte count
    (func $finish (result i32)
      (call $s.drop-r (global.get $r))
      (call $ws.drop (global.get $ws))
      (call $ret-u64 (global.get $count))
      (i32.const 0))
    (func $took (param $res i32)
      (global.set $count (i64.add (global.get $count)
                                  (i64.extend_i32_u (i32.shr_u (local.get $res) (i32.const 4))))))
    (func $step (result i32)
      (local $res i32)
      (loop $more
        (local.set $res (call $s.read (global.get $r) (i32.const 0x10000) (global.get $chunk)))
        (if (i32.eq (local.get $res) (i32.const -1))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))))
        (call $took (local.get $res))
        (br_if $more (i32.eqz (i32.and (local.get $res) (i32.const 0xf)))))
      (call $finish))
    (func (export "drain") (param $total i64) (param $chunk i32) (result i32)
      (if (i32.ne (i32.and (call $produce (local.get $total) (local.get $chunk) (i32.const 16))
                           (i32.const 0xf))
                  (i32.const 2))
        (then unreachable))
      (global.set $r (i32.load (i32.const 16)))
      (global.set $chunk (local.get $chunk))
      (global.set $count (i64.const 0))
      (global.set $ws (call $ws.new))
      (call $join (global.get $r) (global.get $ws))
      (call $step))
    (func (export "drain-cb") (param $ev i32) (param $i i32) (param $res i32) (result i32)
      (call $took (local.get $res))
      (if (i32.and (local.get $res) (i32.const 0xf)) (then (return (call $finish))))
      (call $step)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory))
    (export "ret" (func $ret)) (export "yield-once" (func $yield-once))
    (export "produce" (func $produce))
    (export "s.read" (func $s.read)) (export "s.drop-r" (func $s.drop-r))
    (export "ret-u" (func $ret-u)) (export "ret-u64" (func $ret-u64))
    (export "ws.new" (func $ws.new)) (export "ws.drop" (func $ws.drop))
    (export "join" (func $join)) (export "st.drop" (func $st.drop))))))
  (func (export "loop-ret") async (param "n" u32) (result u32)
    (canon lift (core func $m "loop-ret") async (callback (core func $m "fanout-cb"))))
  (func (export "fanout") async (param "n" u32) (param "rounds" u32) (result u32)
    (canon lift (core func $m "fanout") async (callback (core func $m "fanout-cb"))))
  (func (export "drain") async (param "total" u64) (param "chunk" u32) (result u64)
    (canon lift (core func $m "drain") async (callback (core func $m "drain-cb"))))
"""

COMPOSED = f"""(component
  (component $L {LEAF})
  (component $D {DRIVER})
  (instance $l (instantiate $L))
  (instance $d (instantiate $D (with "local:bench/leaf" (instance $l "local:bench/leaf"))))
  (export "loop-ret" (func $d "loop-ret"))
  (export "fanout" (func $d "fanout"))
  (export "drain" (func $d "drain"))
)
"""

HOSTCALL = """(component
  (import "host-op" (func $op async))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $op (canon lower (func $op) async (memory $memory)))
  (core func $ret-u (canon task.return (result u32)))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $st.drop (canon subtask.drop))
  (core func $ctx.get (canon context.get i32 0))
  (core func $ctx.set (canon context.set i32 0))
  (core module $M
    (import "" "op" (func $op (result i32)))
    (import "" "ret-u" (func $ret-u (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "st.drop" (func $st.drop (param i32)))
    (import "" "ctx.get" (func $ctx.get (result i32)))
    (import "" "ctx.set" (func $ctx.set (param i32)))
    ;; per task: calls left in the context slot (n < 2^20), waitable set in its high bits
    (func $go (param $left i32) (param $ws i32) (result i32)
      (local $r i32)
      (loop $l
        (if (i32.eqz (local.get $left))
          (then (call $ws.drop (local.get $ws))
                (call $ret-u (i32.const 0))
                (return (i32.const 0))))
        (local.set $r (call $op))
        (if (i32.eq (i32.and (local.get $r) (i32.const 0xf)) (i32.const 2))
          (then (local.set $left (i32.sub (local.get $left) (i32.const 1)))
                (br $l))))
      (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
      (call $ctx.set (i32.or (local.get $left) (i32.shl (local.get $ws) (i32.const 20))))
      (i32.or (i32.const 2) (i32.shl (local.get $ws) (i32.const 4))))
    (func (export "call-host") (param $n i32) (result i32)
      (call $go (local.get $n) (call $ws.new)))
    (func (export "call-host-cb") (param $ev i32) (param $i i32) (param $st i32) (result i32)
      (local $c i32)
      (local.set $c (call $ctx.get))
      (if (i32.ne (local.get $st) (i32.const 2))
        (then (return (i32.or (i32.const 2)
                              (i32.shl (i32.shr_u (local.get $c) (i32.const 20)) (i32.const 4))))))
      (call $st.drop (local.get $i))
      (call $go (i32.sub (i32.and (local.get $c) (i32.const 0xfffff)) (i32.const 1))
                (i32.shr_u (local.get $c) (i32.const 20)))))
  (core instance $m (instantiate $M (with "" (instance
    (export "op" (func $op)) (export "ret-u" (func $ret-u))
    (export "ws.new" (func $ws.new)) (export "ws.drop" (func $ws.drop))
    (export "join" (func $join)) (export "st.drop" (func $st.drop))
    (export "ctx.get" (func $ctx.get)) (export "ctx.set" (func $ctx.set))))))
  (func (export "call-host") async (param "n" u32) (result u32)
    (canon lift (core func $m "call-host") async (callback (core func $m "call-host-cb"))))
)
"""

IFACE = "local:bench/leaf"
TASKS = 1000


# --- building ------------------------------------------------------------------------------


def tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    return found


def build(cache: Path, name: str, wat: str) -> Path:
    key = hashlib.sha256(wat.encode()).hexdigest()[:16]
    out = cache / f"bench_async-{name}-{key}.wasm"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        src = out.with_suffix(".wat")
        src.write_text(wat)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run([tool("wasm-tools"), "parse", str(src), "-o", str(tmp)], check=True)
        os.replace(tmp, out)
    return out


def reference_wasmtime() -> str | None:
    script = Path(__file__).resolve().parents[2] / "shared" / "tools" / "reference-wasmtime"
    env = os.environ.get("WASMTIME_REFERENCE")
    if env:
        return env
    if script.exists():
        proc = subprocess.run([str(script)], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip().splitlines()[-1]
    return shutil.which("wasmtime")


# --- timing --------------------------------------------------------------------------------


class Timing:
    """Per-unit cost (µs) or rate, median and min (best) of the repeats."""

    def __init__(self, values: list[float], higher_is_better: bool = False) -> None:
        self.median = statistics.median(values)
        self.best = max(values) if higher_is_better else min(values)

    def cell(self, fmt: str = "{:.2f}") -> str:
        return f"{fmt.format(self.median)} ({fmt.format(self.best)})"


async def per_unit(run: Callable[[int], Awaitable[Any]], repeat: int, budget: float,
                   start: int = 1, cap: int = 10**7) -> Timing:
    """µs per unit of ``await run(n)``, n calibrated so one repeat lasts ≈ budget seconds."""
    await run(start)  # warm up
    n = start
    while True:
        t0 = time.perf_counter()
        await run(n)
        t = time.perf_counter() - t0
        if t > budget / 4 or n >= cap:
            n = min(cap, max(start, int(n * budget / max(t, 1e-9))))
            break
        n *= 4
    values = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await run(n)
        values.append((time.perf_counter() - t0) / n * 1e6)
    return Timing(values)


def subprocess_time(argv: list[str], expect: str | None, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or (expect is not None and proc.stdout.strip() != expect):
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return times


def net_per_unit(base: list[float], big: list[float], n: int) -> Timing:
    """(median of big − median of base) / n in µs; the 'best' column uses the minima."""
    med = (statistics.median(big) - statistics.median(base)) / n * 1e6
    best = (min(big) - min(base)) / n * 1e6
    out = Timing([med])
    out.best = best
    return out


# --- the measurements ----------------------------------------------------------------------


Row = tuple[str, str, Timing | None, Timing | None, str]  # section, case, wasmloop, wasmtime, unit


async def measure_wasmloop(opts: argparse.Namespace, paths: dict[str, Path]) -> list[Row]:
    engine = wasmloop.Engine(cache_dir=opts.cache / "wasmloop")
    comp = {k: wasmloop.Component(engine, p.read_bytes(), name=k) for k, p in paths.items()}
    leaf = await wasmloop.Linker(engine).instantiate(comp["leaf"])
    linker = wasmloop.Linker(engine)
    linker.define_instance(IFACE, leaf.exports[IFACE])
    driver = await linker.instantiate(comp["driver"])
    nested = await wasmloop.Linker(engine).instantiate(comp["composed"])
    rep, budget = opts.repeat, opts.time
    rows: list[Row] = []

    # 1. host → async export → task.return
    ret, yield_once = leaf.exports["ret"], leaf.exports["yield-once"]
    assert await ret() == 42 and await yield_once() == 7

    async def ret_loop(n: int) -> None:
        for _ in range(n):
            await ret()

    async def yield_loop(n: int) -> None:
        for _ in range(n):
            await yield_once()

    rows.append(("host → guest", "async export, eager task.return (`await ret()`)",
                 await per_unit(ret_loop, rep, budget), None, "µs/call"))
    rows.append(("host → guest", "async export that YIELDs once (`await yield_once()`)",
                 await per_unit(yield_loop, rep, budget), None, "µs/call"))

    # 2. guest → host async def → guest
    hosts: dict[str, Callable[[], Any]] = {}

    def plain() -> None:
        return None

    async def no_await() -> None:
        return None

    async def sleep0() -> None:
        await asyncio.sleep(0)

    hosts = {"def (sync Python)": plain, "async def, returns without awaiting": no_await,
             "async def, awaits asyncio.sleep(0)": sleep0}
    for label, fn in hosts.items():
        lk = wasmloop.Linker(engine)
        lk.define_func(None, "host-op", fn)
        inst = await lk.instantiate(comp["hostcall"])
        f = inst.exports["call-host"]
        assert await f(3) == 0

        async def run(n: int, f: Any = f) -> None:
            await f(n)

        rows.append(("guest → host", f"async-lowered import: {label}",
                     await per_unit(run, rep, budget, start=10, cap=(1 << 20) - 1), None,
                     "µs/call"))

    # 3. scheduling: TASKS in flight at once
    async def gather_yield(rounds: int) -> None:
        for _ in range(rounds):
            got = await asyncio.gather(*(yield_once() for _ in range(TASKS)))
            assert got == [7] * TASKS

    t = await per_unit(gather_yield, max(3, rep // 2), budget)
    rows.append(("scheduling", f"host gathers {TASKS:,} calls, each YIELDs once",
                 Timing([t.median / TASKS]), None, "µs/task"))
    rows[-1][2].best = t.best / TASKS  # type: ignore[union-attr]

    state: dict[str, Any] = {}

    async def wait_future() -> None:
        state["started"] += 1
        if state["started"] == TASKS:
            asyncio.get_running_loop().call_soon(state["fut"].set_result, None)
        await state["fut"]

    lk = wasmloop.Linker(engine)
    lk.define_func(None, "host-op", wait_future)
    waiter = (await lk.instantiate(comp["hostcall"])).exports["call-host"]

    async def gather_future(rounds: int) -> None:
        for _ in range(rounds):
            state["started"] = 0
            state["fut"] = asyncio.get_running_loop().create_future()
            got = await asyncio.gather(*(waiter(1) for _ in range(TASKS)))
            assert got == [0] * TASKS

    t = await per_unit(gather_future, max(3, rep // 2), budget)
    rows.append(("scheduling", f"host gathers {TASKS:,} calls, each waits on a host future",
                 Timing([t.median / TASKS]), None, "µs/task"))
    rows[-1][2].best = t.best / TASKS  # type: ignore[union-attr]

    for label, inst in (("runtime-composed", driver), ("composed binary", nested)):
        fanout = inst.exports["fanout"]
        assert await fanout(TASKS, 2) == 2 * TASKS

        async def fan(rounds: int, fanout: Any = fanout) -> None:
            await fanout(TASKS, rounds)

        t = await per_unit(fan, max(3, rep // 2), budget)
        tt = Timing([t.median / TASKS])
        tt.best = t.best / TASKS
        rows.append(("scheduling", f"guest fans out {TASKS:,} async calls that YIELD once "
                     f"({label})", tt, None, "µs/task"))

    # 4. guest → guest async call (eager return)
    for label, inst in (("runtime-composed", driver), ("composed binary", nested)):
        loop_ret = inst.exports["loop-ret"]
        assert await loop_ret(10) == 420

        async def lr(n: int, loop_ret: Any = loop_ret) -> None:
            await loop_ret(n)

        rows.append(("guest → guest", f"async-lowered call of an async export ({label})",
                     await per_unit(lr, rep, budget, start=100, cap=200_000), None, "µs/call"))

    # 5. stream<u8> throughput between two components
    for label, inst in (("runtime-composed", driver), ("composed binary", nested)):
        drain = inst.exports["drain"]
        for chunk in (64 << 10, 1 << 20):
            assert await drain(3 * chunk + 5, chunk) == 3 * chunk + 5

            async def dr(n: int, drain: Any = drain, chunk: int = chunk) -> None:
                assert await drain(n * chunk, chunk) == n * chunk

            t = await per_unit(dr, rep, budget, start=16)
            gbs = Timing([chunk / 1e3 / t.median])  # bytes per µs / 1e3 = GB/s
            gbs.best = chunk / 1e3 / t.best
            rows.append(("stream<u8>", f"{chunk >> 10} KiB writes and reads ({label})", gbs,
                         None, "GB/s"))
    for inst in (leaf, driver, nested):
        inst.close()
    return rows


def measure_wasmtime(opts: argparse.Namespace, paths: dict[str, Path],
                     rows: list[Row]) -> list[str]:
    """Fill the wasmtime column in place; returns notes."""
    wt = opts.wasmtime
    if wt is None:
        return ["wasmtime 49 CLI not found: no comparison"]
    version = subprocess.run([wt, "--version"], capture_output=True, text=True).stdout.strip()
    notes = [f"reference: {version} ({wt})"]
    cwasm = paths["composed"].with_suffix(".cwasm")
    if not cwasm.exists():
        subprocess.run([wt, "compile", str(paths["composed"]), "-o", str(cwasm)], check=True)
    rep = opts.wt_repeat

    def invoke(expr: str, expect: str) -> list[float]:
        return subprocess_time([wt, "run", "--allow-precompiled", "--invoke", expr, str(cwasm)],
                               expect, rep)

    def put(match: str, t: Timing) -> None:
        for i, r in enumerate(rows):
            if match in r[1] and "composed binary" in r[1]:
                rows[i] = (r[0], r[1], r[2], t, r[4])

    n = opts.wt_calls
    put("async-lowered call", net_per_unit(invoke("loop-ret(0)", "0"),
                                           invoke(f"loop-ret({n})", str(42 * n)), n))
    rounds = opts.wt_rounds
    put("fans out", net_per_unit(invoke(f"fanout({TASKS}, 0)", str(TASKS)),
                                 invoke(f"fanout({TASKS}, {rounds})", str(TASKS * rounds)),
                                 TASKS * rounds - TASKS))
    total = opts.wt_bytes
    for chunk in (64 << 10, 1 << 20):
        base = invoke(f"drain(0, {chunk})", "0")
        big = invoke(f"drain({total}, {chunk})", str(total))
        us_per_chunk = net_per_unit(base, big, total // chunk)
        gbs = Timing([chunk / 1e3 / us_per_chunk.median])
        gbs.best = chunk / 1e3 / us_per_chunk.best
        put(f"{chunk >> 10} KiB writes", gbs)

    # wast: N × (assert_return (invoke "ret")) on the leaf component, both CLIs
    wdir = opts.cache / "bench_async-wast"
    wdir.mkdir(parents=True, exist_ok=True)
    cmds = {}
    for k in (0, opts.wast_invokes):
        wast = wdir / f"ret{k}.wast"
        body = '(assert_return (invoke "ret") (u32.const 42))\n' * k
        text = f"(component {LEAF})\n{body}"
        if not wast.exists() or wast.read_text() != text:
            wast.write_text(text)
            subprocess.run([tool("wasm-tools"), "json-from-wast", str(wast), "-o",
                            str(wast.with_suffix(".json")), "--wasm-dir", str(wdir)], check=True)
        cmds[k] = ([wt, "wast", str(wast)],
                   [tool("wasmloop"), "wast", "--json", str(wast.with_suffix(".json"))])
    k = opts.wast_invokes
    wl_base = subprocess_time(cmds[0][1], None, rep)
    wl_big = subprocess_time(cmds[k][1], None, rep)
    wt_base = subprocess_time(cmds[0][0], None, rep)
    wt_big = subprocess_time(cmds[k][0], None, rep)
    rows.append(("host → guest", "`wast` script: assert_return (invoke \"ret\"), per command",
                 net_per_unit(wl_base, wl_big, k), net_per_unit(wt_base, wt_big, k), "µs/cmd"))
    notes.append(f"wasmtime: `run --invoke` of the precompiled composed binary, {rep} runs each "
                 f"of f(N) and f(0); loop-ret N={n:,}, fanout {rounds} rounds, drain "
                 f"{total / (1 << 30):g} GiB; wast: {k:,} commands vs 0")
    return notes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (numbers are rough)")
    ap.add_argument("--repeat", type=int, default=None, help="repeats per figure (default 7)")
    ap.add_argument("--time", type=float, default=None,
                    help="seconds per repeat (default 0.25; --quick 0.02)")
    ap.add_argument("--no-wasmtime", action="store_true", help="skip the Wasmtime 49 column")
    ap.add_argument("--cache-dir", default=None,
                    help="where .wasm files are cached (default $TMPDIR/wasmloop-bench)")
    opts = ap.parse_args()
    opts.repeat = opts.repeat or (3 if opts.quick else 7)
    opts.time = opts.time or (0.02 if opts.quick else 0.25)
    opts.cache = Path(opts.cache_dir or Path(tempfile.gettempdir()) / "wasmloop-bench")
    opts.wt_repeat = 2 if opts.quick else 5
    opts.wt_calls = 10_000 if opts.quick else 300_000
    opts.wt_rounds = 5 if opts.quick else 200
    opts.wt_bytes = (256 << 20) if opts.quick else (16 << 30)
    opts.wast_invokes = 1000 if opts.quick else 20_000
    opts.wasmtime = None if opts.no_wasmtime else reference_wasmtime()

    paths = {"leaf": build(opts.cache, "leaf", f"(component {LEAF})"),
             "driver": build(opts.cache, "driver", f"(component {DRIVER})"),
             "composed": build(opts.cache, "composed", COMPOSED),
             "hostcall": build(opts.cache, "hostcall", HOSTCALL)}

    t0 = time.perf_counter()
    rows = asyncio.run(measure_wasmloop(opts, paths))
    notes = measure_wasmtime(opts, paths, rows)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; wasmloop: median (best) of "
          f"{opts.repeat} repeats of ≈{opts.time:g} s")
    head = ("what", "case", "wasmloop", "wasmtime 49", "unit", "ratio")
    lines = [head]
    for section, case, wl, wt, unit in rows:
        ratio = ""
        if wl is not None and wt is not None and wl.median > 0 and wt.median > 0:
            # >1: wasmloop is faster/better
            r = wl.median / wt.median if unit == "GB/s" else wt.median / wl.median
            ratio = f"{r:.2f}x"
        lines.append((section, case, wl.cell() if wl else "—", wt.cell() if wt else "—", unit,
                      ratio))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines[1:]:
        print("| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths, strict=True))) + " |")
    print("ratio: wasmtime / wasmloop for times, wasmloop / wasmtime for GB/s (>1: wasmloop "
          "is faster)")
    for n in notes:
        print(n)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The WASI 0.2 front end (wasmloop.wasi.p2): wasi:io pollables and streams, cli, clocks, random.

WAT components import the 0.2 interfaces with hand-written instance types; then a pure 0.2
command built by componentize-py against jco's 0.2.12 WIT runs `wasi:cli/run@0.2.12#run` on
these registrations, checked against `wasmtime run`.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from componentutil import wat_to_wasm
from difftest import RunResult, run_reference
from guests import build_python, wasi_wit

import wasmloop
from wasmloop.interfaces import class_name, find_compatible, python_name, split_func_name
from wasmloop.types import FuncType, InstanceType, TypeBound
from wasmloop.wasi import p2
from wasmloop.wasi.cli import OutputStream as OutputBackend
from wasmloop.wasi.ctx import Exit, WasiConfig, WasiCtx
from wasmloop.wasi.p2 import io as p2io
from wasmloop.wasi.p2.cli import flush_stdio

V = "0.2.12"

# Imports as a componentize-py or wasi-libc guest declares them (a subset of each interface).
IMPORTS = f"""
  (import "wasi:io/poll@{V}" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.ready" (func (param "self" (borrow $p)) (result bool)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))
    (export "poll" (func (param "in" (list (borrow $p))) (result (list u32))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:clocks/monotonic-clock@0.2.9" (instance $clock
    (export "pollable" (type $p (eq $pollable)))
    (export "now" (func (result u64)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $p))))))
  (import "wasi:io/error@0.2.9" (instance $error
    (export "error" (type $e (sub resource)))
    (export "[method]error.to-debug-string" (func (param "self" (borrow $e)) (result string)))))
  (alias export $error "error" (type $error))
  (import "wasi:io/streams@0.2.9" (instance $streams
    (export "error" (type $e (eq $error)))
    (export "pollable" (type $p (eq $pollable)))
    (type $se (variant (case "last-operation-failed" (own $e)) (case "closed")))
    (export "stream-error" (type $se2 (eq $se)))
    (export "input-stream" (type $in (sub resource)))
    (export "output-stream" (type $out (sub resource)))
    (export "[method]input-stream.read"
      (func (param "self" (borrow $in)) (param "len" u64) (result (result (list u8) (error $se2)))))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $in)) (param "len" u64) (result (result (list u8) (error $se2)))))
    (export "[method]input-stream.subscribe" (func (param "self" (borrow $in)) (result (own $p))))
    (export "[method]output-stream.check-write"
      (func (param "self" (borrow $out)) (result (result u64 (error $se2)))))
    (export "[method]output-stream.write"
      (func (param "self" (borrow $out)) (param "contents" (list u8)) (result (result (error $se2)))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $out)) (param "contents" (list u8)) (result (result (error $se2)))))
    (export "[method]output-stream.write-zeroes"
      (func (param "self" (borrow $out)) (param "len" u64) (result (result (error $se2)))))
    (export "[method]output-stream.blocking-flush"
      (func (param "self" (borrow $out)) (result (result (error $se2)))))
    (export "[method]output-stream.subscribe" (func (param "self" (borrow $out)) (result (own $p))))))
  (alias export $streams "input-stream" (type $input-stream))
  (alias export $streams "output-stream" (type $output-stream))
  (import "wasi:cli/stdin@0.2.9" (instance $stdin
    (export "input-stream" (type $in (eq $input-stream)))
    (export "get-stdin" (func (result (own $in))))))
  (import "wasi:cli/stdout@0.2.9" (instance $stdout
    (export "output-stream" (type $out (eq $output-stream)))
    (export "get-stdout" (func (result (own $out))))))
  (import "wasi:cli/exit@0.2.9" (instance $exit
    (export "exit" (func (param "status" (result))))))
"""

# A bump allocator and the memory, in a module of their own so that lowering can use them.
LIBC = """
  (core module $libc
    (memory (export "memory") 32)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "reset") (global.set $bump (i32.const 4096)))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $r i32)
      (local.set $r (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $r) (local.get 3)))
      (local.get $r)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
"""

LOWERS = """
  (core func $poll_f (canon lower (func $poll "poll") (memory $mem) (realloc $realloc)))
  (core func $ready (canon lower (func $poll "[method]pollable.ready")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core func $drop_p (canon resource.drop $pollable))
  (core func $sub_dur (canon lower (func $clock "subscribe-duration")))
  (core func $read (canon lower (func $streams "[method]input-stream.read")
    (memory $mem) (realloc $realloc)))
  (core func $bread (canon lower (func $streams "[method]input-stream.blocking-read")
    (memory $mem) (realloc $realloc)))
  (core func $in_sub (canon lower (func $streams "[method]input-stream.subscribe")))
  (core func $check_write (canon lower (func $streams "[method]output-stream.check-write")
    (memory $mem)))
  (core func $write (canon lower (func $streams "[method]output-stream.write") (memory $mem)))
  (core func $bwf (canon lower (func $streams "[method]output-stream.blocking-write-and-flush")
    (memory $mem)))
  (core func $wz (canon lower (func $streams "[method]output-stream.write-zeroes") (memory $mem)))
  (core func $bflush (canon lower (func $streams "[method]output-stream.blocking-flush")
    (memory $mem)))
  (core func $out_sub (canon lower (func $streams "[method]output-stream.subscribe")))
  (core func $dbg (canon lower (func $error "[method]error.to-debug-string")
    (memory $mem) (realloc $realloc)))
  (core func $get_stdin (canon lower (func $stdin "get-stdin")))
  (core func $get_stdout (canon lower (func $stdout "get-stdout")))
  (core func $exit_f (canon lower (func $exit "exit")))
"""

CORE = """
  (core module $m
    (import "libc" "memory" (memory 32))
    (import "libc" "reset" (func $reset))
    (import "h" "poll" (func $poll (param i32 i32 i32)))
    (import "h" "ready" (func $ready (param i32) (result i32)))
    (import "h" "block" (func $block (param i32)))
    (import "h" "drop-p" (func $drop_p (param i32)))
    (import "h" "sub-dur" (func $sub_dur (param i64) (result i32)))
    (import "h" "read" (func $read (param i32 i64 i32)))
    (import "h" "bread" (func $bread (param i32 i64 i32)))
    (import "h" "in-sub" (func $in_sub (param i32) (result i32)))
    (import "h" "check-write" (func $check_write (param i32 i32)))
    (import "h" "write" (func $write (param i32 i32 i32 i32)))
    (import "h" "bwf" (func $bwf (param i32 i32 i32 i32)))
    (import "h" "wz" (func $wz (param i32 i64 i32)))
    (import "h" "bflush" (func $bflush (param i32 i32)))
    (import "h" "out-sub" (func $out_sub (param i32) (result i32)))
    (import "h" "dbg" (func $dbg (param i32 i32)))
    (import "h" "get-stdin" (func $get_stdin (result i32)))
    (import "h" "get-stdout" (func $get_stdout (result i32)))
    (import "h" "exit" (func $exit (param i32)))

    ;; 1000*ready(b) + 100*len + 10*idx[0] + idx[1] of poll([10 s timer, ready, ready])
    (func (export "poll-test") (result i32)
      (local $a i32) (local $b i32) (local $c i32) (local $p i32) (local $r i32)
      (call $reset)
      (local.set $a (call $sub_dur (i64.const 10000000000)))
      (local.set $b (call $sub_dur (i64.const 0)))
      (local.set $c (call $sub_dur (i64.const 0)))
      (i32.store (i32.const 0) (local.get $a))
      (i32.store (i32.const 4) (local.get $b))
      (i32.store (i32.const 8) (local.get $c))
      (call $poll (i32.const 0) (i32.const 3) (i32.const 16))
      (local.set $p (i32.load (i32.const 16)))
      (local.set $r (i32.add
        (i32.add (i32.mul (call $ready (local.get $b)) (i32.const 1000))
                 (i32.mul (call $ready (local.get $a)) (i32.const 10000)))
        (i32.add (i32.mul (i32.load (i32.const 20)) (i32.const 100))
          (i32.add (i32.mul (i32.load (local.get $p)) (i32.const 10))
                   (i32.load offset=4 (local.get $p))))))
      (call $drop_p (local.get $a))
      (call $drop_p (local.get $b))
      (call $drop_p (local.get $c))
      (local.get $r))

    (func (export "poll-empty") (result i32)
      (call $poll (i32.const 0) (i32.const 0) (i32.const 16))
      (i32.const 0))

    ;; block on a timer of $ns nanoseconds
    (func (export "sleep") (param $ns i64) (result i32)
      (local $p i32)
      (local.set $p (call $sub_dur (local.get $ns)))
      (call $block (local.get $p))
      (local.set $ns (i64.extend_i32_u (call $ready (local.get $p))))
      (call $drop_p (local.get $p))
      (i32.wrap_i64 (local.get $ns)))

    ;; stdin → stdout with non-blocking read (chunks of $n), subscribe/block when empty,
    ;; check-write + write, blocking-flush at the end. Returns the bytes copied, or < 0.
    (func (export "echo") (param $n i64) (result i32)
      (local $in i32) (local $out i32) (local $total i32) (local $p i32) (local $len i32)
      (local $empties i32)
      (local.set $in (call $get_stdin))
      (local.set $out (call $get_stdout))
      (block $done (loop $more
        (call $reset)
        (call $read (local.get $in) (local.get $n) (i32.const 32))
        (if (i32.load8_u (i32.const 32))
          (then
            (br_if $done (i32.eq (i32.load8_u (i32.const 36)) (i32.const 1)))
            (return (i32.const -1))))
        (local.set $len (i32.load (i32.const 40)))
        (if (i32.eqz (local.get $len))
          (then
            (local.set $empties (i32.add (local.get $empties) (i32.const 1)))
            (local.set $p (call $in_sub (local.get $in)))
            (call $block (local.get $p))
            (call $drop_p (local.get $p))
            (br $more)))
        (call $check_write (local.get $out) (i32.const 48))
        (if (i32.load8_u (i32.const 48)) (then (return (i32.const -2))))
        (if (i64.lt_u (i64.load (i32.const 56)) (i64.extend_i32_u (local.get $len)))
          (then (return (i32.const -3))))
        (call $write (local.get $out) (i32.load (i32.const 36)) (local.get $len) (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then (return (i32.const -4))))
        (local.set $total (i32.add (local.get $total) (local.get $len)))
        (br $more)))
      (call $bflush (local.get $out) (i32.const 64))
      (if (i32.load8_u (i32.const 64)) (then (return (i32.const -5))))
      (local.get $total))

    ;; stdin → stdout with blocking-read (chunks of $n) and blocking-write-and-flush
    (func (export "blocking-echo") (param $n i64) (result i32)
      (local $in i32) (local $out i32) (local $total i32) (local $len i32)
      (local.set $in (call $get_stdin))
      (local.set $out (call $get_stdout))
      (block $done (loop $more
        (call $reset)
        (call $bread (local.get $in) (local.get $n) (i32.const 32))
        (if (i32.load8_u (i32.const 32))
          (then
            (br_if $done (i32.eq (i32.load8_u (i32.const 36)) (i32.const 1)))
            (return (i32.const -1))))
        (local.set $len (i32.load (i32.const 40)))
        (if (i32.eqz (local.get $len)) (then (return (i32.const -6))))
        (call $bwf (local.get $out) (i32.load (i32.const 36)) (local.get $len) (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then (return (i32.const -4))))
        (local.set $total (i32.add (local.get $total) (local.get $len)))
        (br $more)))
      (local.get $total))

    ;; $total zero bytes to stdout through check-write / write-zeroes, waiting on subscribe
    ;; when the budget is used up; returns the largest budget check-write granted (KiB).
    (func (export "pump") (param $total i64) (result i64)
      (local $out i32) (local $permit i64) (local $k i64) (local $p i32) (local $max i64)
      (local.set $out (call $get_stdout))
      (block $done (loop $more
        (br_if $done (i64.eqz (local.get $total)))
        (call $check_write (local.get $out) (i32.const 48))
        (if (i32.load8_u (i32.const 48)) (then (return (i64.const -2))))
        (local.set $permit (i64.load (i32.const 56)))
        (if (i64.gt_u (local.get $permit) (local.get $max)) (then (local.set $max (local.get $permit))))
        (if (i64.eqz (local.get $permit))
          (then
            (local.set $p (call $out_sub (local.get $out)))
            (call $block (local.get $p))
            (call $drop_p (local.get $p))
            (br $more)))
        (local.set $k (select (local.get $permit) (local.get $total)
                              (i64.lt_u (local.get $permit) (local.get $total))))
        (call $wz (local.get $out) (local.get $k) (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then (return (i64.const -4))))
        (local.set $total (i64.sub (local.get $total) (local.get $k)))
        (br $more)))
      (call $bflush (local.get $out) (i32.const 64))
      (if (i32.load8_u (i32.const 64)) (then (return (i64.const -5))))
      (local.get $max))

    ;; write $n bytes at once (no check-write first): traps when over the budget
    (func (export "overwrite") (param $n i32) (result i32)
      (local $out i32)
      (local.set $out (call $get_stdout))
      (call $write (local.get $out) (i32.const 8192) (local.get $n) (i32.const 64))
      (i32.load8_u (i32.const 64)))

    ;; blocking-write-and-flush of "boom" to stdout; on failure, the length of the error's
    ;; debug string as 1000 + len, and the string itself at 256 (ptr at 80, len at 84)
    (func (export "fail") (result i32)
      (local $out i32) (local $r i32)
      (call $reset)
      (local.set $out (call $get_stdout))
      (i32.store (i32.const 200) (i32.const 0x6d6f6f62))
      (call $bwf (local.get $out) (i32.const 200) (i32.const 4) (i32.const 64))
      (if (i32.eqz (i32.load8_u (i32.const 64))) (then (return (i32.const 0))))
      (if (i32.eq (i32.load8_u (i32.const 68)) (i32.const 1)) (then (return (i32.const 2))))
      (call $dbg (i32.load (i32.const 72)) (i32.const 80))
      ;; second try: the stream is closed now
      (call $bwf (local.get $out) (i32.const 200) (i32.const 4) (i32.const 64))
      (local.set $r (i32.add (i32.const 1000) (i32.load (i32.const 84))))
      (if (i32.ne (i32.load8_u (i32.const 68)) (i32.const 1)) (then (return (i32.const 3))))
      (local.get $r))

    (func (export "debug-string") (result i32) (i32.load (i32.const 80)))

    (func (export "exit") (param i32) (call $exit (local.get 0)))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "poll" (func $poll_f)) (export "ready" (func $ready)) (export "block" (func $block))
      (export "drop-p" (func $drop_p)) (export "sub-dur" (func $sub_dur))
      (export "read" (func $read)) (export "bread" (func $bread)) (export "in-sub" (func $in_sub))
      (export "check-write" (func $check_write)) (export "write" (func $write))
      (export "bwf" (func $bwf)) (export "wz" (func $wz)) (export "bflush" (func $bflush))
      (export "out-sub" (func $out_sub)) (export "dbg" (func $dbg))
      (export "get-stdin" (func $get_stdin)) (export "get-stdout" (func $get_stdout))
      (export "exit" (func $exit_f))))))
  (func (export "poll-test") (result s32) (canon lift (core func $i "poll-test")))
  (func (export "poll-empty") (result s32) (canon lift (core func $i "poll-empty")))
  (func (export "sleep") (param "ns" u64) (result s32) (canon lift (core func $i "sleep")))
  (func (export "echo") (param "n" u64) (result s32) (canon lift (core func $i "echo")))
  (func (export "blocking-echo") (param "n" u64) (result s32)
    (canon lift (core func $i "blocking-echo")))
  (func (export "pump") (param "total" u64) (result s64) (canon lift (core func $i "pump")))
  (func (export "overwrite") (param "n" u32) (result s32) (canon lift (core func $i "overwrite")))
  (func (export "fail") (result s32) (canon lift (core func $i "fail")))
  (func (export "exit") (param "status" (result)) (canon lift (core func $i "exit")))
"""

GUEST = "(component\n" + IMPORTS + LIBC + LOWERS + CORE + ")\n"


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    return wasmloop.Engine()


@pytest.fixture(scope="module")
def guest(engine: wasmloop.Engine) -> wasmloop.Component:
    return wasmloop.Component(engine, wat_to_wasm(GUEST))


async def instantiate(engine: wasmloop.Engine, comp: wasmloop.Component,
                      ctx: WasiCtx) -> wasmloop.Instance:
    linker = wasmloop.Linker(engine)
    p2.register(linker, ctx)
    return await linker.instantiate(comp)


def ctx_of(**kw: Any) -> WasiCtx:
    kw.setdefault("stdout", "capture")
    return WasiCtx(WasiConfig(**kw))


def test_poll_returns_the_indices_of_every_ready_pollable(
        engine: wasmloop.Engine, guest: wasmloop.Component) -> None:
    async def main() -> int:
        inst = await instantiate(engine, guest, ctx_of())
        return await inst.exports["poll-test"]()

    # ready(b) = 1, ready(a) = 0, two ready: indices 1 and 2
    assert asyncio.run(main()) == 1000 + 200 + 10 + 2


def test_poll_of_an_empty_list_traps(engine: wasmloop.Engine,
                                     guest: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instantiate(engine, guest, ctx_of())
        await inst.exports["poll-empty"]()

    with pytest.raises(wasmloop.Trap) as info:
        asyncio.run(main())
    assert "StreamTrap: empty poll list" in str(info.value)


def test_block_suspends_only_the_calling_guest(engine: wasmloop.Engine,
                                                guest: wasmloop.Component) -> None:
    order: list[str] = []

    async def main() -> None:
        a = await instantiate(engine, guest, ctx_of())
        b = await instantiate(engine, guest, ctx_of())
        c = await instantiate(engine, guest, ctx_of())

        async def call(name: str, inst: wasmloop.Instance, ns: int) -> None:
            r = await inst.exports["sleep"](ns)
            assert r == 1  # the timer is ready once block returns
            order.append(name)

        async def ticker() -> None:  # the loop itself keeps running meanwhile
            for _ in range(3):
                await asyncio.sleep(0)
            order.append("loop")

        await asyncio.gather(call("slow", a, 100_000_000), call("fast", b, 0),
                             call("fast-timer", c, 1_000_000), ticker())

    asyncio.run(main())
    assert order[-1] == "slow"
    assert set(order) == {"slow", "fast", "fast-timer", "loop"}


def test_nonblocking_read_subscribe_check_write_write(
        engine: wasmloop.Engine, guest: wasmloop.Component) -> None:
    data = bytes(range(256)) * 40

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 1000):
            await asyncio.sleep(0.001)  # stdin that is not ready at once: the guest blocks
            yield data[i:i + 1000]

    ctx = ctx_of(stdin=chunks())

    async def main() -> int:
        inst = await instantiate(engine, guest, ctx)
        return await inst.exports["echo"](300)

    assert asyncio.run(main()) == len(data)
    assert ctx.captured("stdout") == data


def test_nonblocking_read_of_ready_input_returns_data(
        engine: wasmloop.Engine, guest: wasmloop.Component) -> None:
    data = b"x" * 5000
    ctx = ctx_of(stdin=data)

    async def main() -> int:
        inst = await instantiate(engine, guest, ctx)
        return await inst.exports["echo"](1 << 20)

    assert asyncio.run(main()) == len(data)
    assert ctx.captured("stdout") == data


def test_blocking_read_and_blocking_write_and_flush(
        engine: wasmloop.Engine, guest: wasmloop.Component) -> None:
    data = os.urandom(100_000)
    ctx = ctx_of(stdin=data)

    async def main() -> int:
        inst = await instantiate(engine, guest, ctx)
        return await inst.exports["blocking-echo"](4096)

    assert asyncio.run(main()) == len(data)
    assert ctx.captured("stdout") == data


class SlowCount(OutputBackend):
    """Counts what it is given, handing control to the loop on every write; records the most
    bytes ever queued in the stream in front of it."""

    def __init__(self) -> None:
        self.total = 0
        self.writes = 0
        self.biggest = 0
        self.flushes = 0

    async def write(self, data: bytes) -> None:
        await asyncio.sleep(0)
        self.total += len(data)
        self.writes += 1
        self.biggest = max(self.biggest, len(data))

    async def flush(self) -> None:
        self.flushes += 1


def test_output_memory_stays_within_the_budget(engine: wasmloop.Engine,
                                               guest: wasmloop.Component) -> None:
    out = SlowCount()
    ctx = ctx_of(stdout=out)
    total = 512 << 20  # 512 MiB

    async def main() -> int:
        inst = await instantiate(engine, guest, ctx)
        return await inst.exports["pump"](total)

    assert asyncio.run(main()) == p2io.WRITE_BUDGET
    assert out.total == total
    assert out.biggest <= p2io.WRITE_BUDGET
    assert out.flushes >= 1


def test_write_over_the_budget_traps(engine: wasmloop.Engine,
                                     guest: wasmloop.Component) -> None:
    async def main(n: int) -> int:
        inst = await instantiate(engine, guest, ctx_of())
        return await inst.exports["overwrite"](n)

    assert asyncio.run(main(p2io.WRITE_BUDGET)) == 0
    with pytest.raises(wasmloop.Trap) as info:
        asyncio.run(main(p2io.WRITE_BUDGET + 1))
    assert "StreamTrap: write exceeded budget" in str(info.value)


class Broken(OutputBackend):
    async def write(self, data: bytes) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_backend_error_is_last_operation_failed_then_closed(
        engine: wasmloop.Engine, guest: wasmloop.Component) -> None:
    ctx = ctx_of(stdout=Broken())

    async def main() -> int:
        inst = await instantiate(engine, guest, ctx)
        return await inst.exports["fail"]()

    assert asyncio.run(main()) == 1000 + len("[Errno 32] Broken pipe")


@pytest.mark.parametrize(("status", "code"), [(wasmloop.Ok(), 0), (wasmloop.Err(), 1)])
def test_exit_raises_exit(engine: wasmloop.Engine, guest: wasmloop.Component,
                          status: Any, code: int) -> None:
    ctx = ctx_of()

    async def main() -> None:
        inst = await instantiate(engine, guest, ctx)
        await inst.exports["exit"](status)

    with pytest.raises(wasmloop.Trap) as info:
        asyncio.run(main())
    assert isinstance(info.value.__cause__, Exit)
    assert info.value.__cause__.code == code
    assert ctx.exit_code == code


# --- a pure 0.2 command built by componentize-py -------------------------------------------------

APP = r"""
import hashlib
import os
import time
import sys
import time

from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        what = sys.argv[1] if len(sys.argv) > 1 else "hello"
        if what == "hello":
            print("hello from p2")
            print("args", sys.argv[1:])
            print("env", sorted(os.environ.items()))
            sys.stderr.write("to stderr\n")
        elif what == "exit":
            print("exiting", flush=True)
            os._exit(int(sys.argv[2]))
        elif what == "stdin":
            data = sys.stdin.buffer.read()
            print("stdin", len(data), hashlib.sha256(data).hexdigest())
        elif what == "clocks":
            t0 = time.monotonic()
            time.sleep(0.02)
            print("slept", time.monotonic() - t0 >= 0.02)
            print("wall", time.time() > 1.7e9)
            print("random", len(os.urandom(33)), len(set(os.urandom(16) for _ in range(4))))
        elif what == "big":
            view = memoryview(bytes(range(256)) * 4096)  # 1 MiB, through partial writes
            while view:
                view = view[os.write(1, view):]
        sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def p2app() -> Path:
    return build_python(APP, "local:app/app", wasi_wit(V))


class _Recording:
    """A linker front that records the interface names defined through it."""

    def __init__(self, linker: wasmloop.Linker) -> None:
        self.linker = linker
        self.names: dict[str, bool] = {}

    def define_interface(self, name: str, impl: object) -> None:
        self.names[name] = True
        self.linker.define_interface(name, impl)


def _stub(name: str, it: InstanceType) -> object:
    """An interface whose every function raises (for imports no front end defines yet)."""

    def raiser(fname: str) -> Any:
        def f(*_args: Any) -> Any:
            raise NotImplementedError(f"`{name}` `{fname}` is not implemented (test stub)")
        return f

    classes = {en: type(class_name(en), (), {}) for en, et in it.exports.items()
               if isinstance(et, TypeBound) and et.sub_resource}
    ns: dict[str, Any] = {}
    for en, et in it.exports.items():
        if not isinstance(et, FuncType):
            continue
        kind, res, fname = split_func_name(en)
        if res is None:
            ns[python_name(fname)] = raiser(en)
        elif kind == "constructor":
            classes[res].__init__ = raiser(en)  # type: ignore[misc]
        elif kind == "static":
            setattr(classes[res], python_name(fname), staticmethod(raiser(en)))
        else:
            setattr(classes[res], python_name(fname), raiser(en))
    ns.update({class_name(en): c for en, c in classes.items()})
    return type("Stub", (), ns)()


@functools.cache
def _loaded(wasm: Path) -> tuple[wasmloop.Engine, wasmloop.Component]:
    engine = wasmloop.Engine()
    return engine, wasmloop.Component.from_file(engine, wasm)


def run_p2(wasm: Path, args: list[str], env: dict[str, str] | None = None,
           stdin: bytes = b"") -> RunResult:
    """`wasi:cli/run@0.2.12#run` on the p2 registrations (stubs for what is not there)."""
    ctx = WasiCtx(WasiConfig(args=[str(wasm), *args], env=env or {}, stdin=stdin,
                             stdout="capture", stderr="capture"))
    engine, comp = _loaded(wasm)

    async def main() -> int:
        linker = wasmloop.Linker(engine)
        rec = _Recording(linker)
        p2.register(rec, ctx)  # type: ignore[arg-type]
        for n, it in comp.imports.items():
            if isinstance(it, InstanceType) and find_compatible(n, rec.names) is None:
                linker.define_interface(n, _stub(n, it))
        inst = await linker.instantiate(comp)
        try:
            r = await inst.exports[f"wasi:cli/run@{V}"]["run"]()
            return 0 if isinstance(r, wasmloop.Ok) else 1
        except wasmloop.Trap as t:
            if isinstance(t.__cause__, Exit):
                return t.__cause__.code
            raise
        finally:
            await flush_stdio(ctx)

    code = asyncio.run(main())
    return RunResult("wasmloop-p2", args, ctx.captured("stdout"), ctx.captured("stderr"), code)


def same(ref: RunResult, got: RunResult) -> None:
    assert got.stdout == ref.stdout
    assert got.stderr == ref.stderr
    assert got.code == ref.code


def test_command_prints_reads_env_and_args(p2app: Path) -> None:
    args = ["hello", "with space", "ünï"]
    env = {"GREETING": "hi", "EMPTY": ""}
    ref = run_reference(p2app, args, env=env)
    assert ref.code == 0, ref.err()
    assert ref.lines()[0] == "hello from p2"
    assert ref.err() == "to stderr\n"
    got = run_p2(p2app, args, env=env)
    assert got.lines()[1] == "args ['hello', 'with space', 'ünï']"
    same(ref, got)


@pytest.mark.parametrize("code", [0, 3])
def test_command_exit_code(p2app: Path, code: int) -> None:
    ref = run_reference(p2app, ["exit", str(code)])
    assert ref.lines() == ["exiting"]
    got = run_p2(p2app, ["exit", str(code)])
    assert got.code == (0 if code == 0 else 1)  # wasi-libc exits with err for any nonzero
    same(ref, got)


def test_command_stdin(p2app: Path) -> None:
    data = os.urandom(300_000)
    ref = run_reference(p2app, ["stdin"], stdin=data)
    assert ref.lines()[0].startswith(f"stdin {len(data)} ")
    same(ref, run_p2(p2app, ["stdin"], stdin=data))


def test_command_clocks_and_random(p2app: Path) -> None:
    ref = run_reference(p2app, ["clocks"])
    assert ref.lines() == ["slept True", "wall True", "random 33 4"], ref.err()
    same(ref, run_p2(p2app, ["clocks"]))


def test_command_big_output(p2app: Path) -> None:
    ref = run_reference(p2app, ["big"])
    assert len(ref.stdout) == 1 << 20
    same(ref, run_p2(p2app, ["big"]))


# --- the same objects driven from Python (what the guest-facing methods return) -----------------


class FailingInput:
    def __init__(self) -> None:
        self.closed = False

    async def read(self, n: int) -> bytes:
        raise ConnectionResetError(104, "Connection reset by peer")

    def close(self) -> None:
        self.closed = True


def test_input_error_is_reported_once_then_closed_and_drop_closes_the_backend() -> None:
    backend = FailingInput()

    async def main() -> list[Any]:
        s = p2io.InputStream(backend)
        r1 = await s.blocking_read(10)
        r2 = await s.read(10)
        s.drop()
        return [r1, r2]

    r1, r2 = asyncio.run(main())
    assert isinstance(r1, wasmloop.Err) and r1.value.case == "last-operation-failed"
    assert r1.value.value.to_debug_string() == "[Errno 104] Connection reset by peer"
    assert r2 == wasmloop.Err(wasmloop.Variant("closed"))
    assert backend.closed


def test_end_of_input_is_closed_after_the_data() -> None:
    async def main() -> list[Any]:
        s = p2io.InputStream(FixedInput(b"abc"))
        return [await s.blocking_read(2), await s.blocking_read(5), await s.blocking_read(5),
                await s.read(0)]

    assert asyncio.run(main()) == [wasmloop.Ok(b"ab"), wasmloop.Ok(b"c"),
                                   wasmloop.Err(wasmloop.Variant("closed")),
                                   wasmloop.Err(wasmloop.Variant("closed"))]


class FixedInput:
    """An input of fixed bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self, n: int) -> bytes:
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def test_stdin_handles_share_one_read_ahead_buffer() -> None:
    ctx = ctx_of(stdin=b"0123456789")
    stdin = p2.cli.StdinInterface(ctx)

    async def main() -> list[Any]:
        a = stdin.get_stdin()
        first = await a.blocking_read(3)  # the read-ahead took all ten bytes
        a.drop()
        b = stdin.get_stdin()
        return [first, await b.blocking_read(100), await b.blocking_skip(1)]

    assert asyncio.run(main()) == [wasmloop.Ok(b"012"), wasmloop.Ok(b"3456789"),
                                   wasmloop.Err(wasmloop.Variant("closed"))]


def test_dropping_a_stream_with_a_live_pollable_traps() -> None:
    async def main() -> None:
        s = p2io.InputStream(FixedInput(b"x"))
        p = s.subscribe()
        with pytest.raises(p2io.StreamTrap, match="resource has children"):
            s.drop()
        p.drop()
        s.drop()  # now fine
        o = p2.cli.StdoutInterface(ctx_of()).get_stdout()
        q = o.subscribe()
        with pytest.raises(p2io.StreamTrap, match="resource has children"):
            o.drop()
        q.drop()
        o.drop()

    asyncio.run(main())


def test_blocking_writes_over_4096_bytes_trap() -> None:
    async def main() -> None:
        o = p2.cli.StdoutInterface(ctx_of()).get_stdout()
        assert await o.blocking_write_and_flush(b"x" * 4096) == wasmloop.Ok()
        with pytest.raises(p2io.StreamTrap, match="expected at most 4096"):
            await o.blocking_write_and_flush(b"x" * 4097)
        with pytest.raises(p2io.StreamTrap, match="expected at most 4096"):
            await o.blocking_write_zeroes_and_flush(4097)
        assert o.check_write() == wasmloop.Ok(p2io.WRITE_BUDGET)
        with pytest.raises(p2io.StreamTrap, match="more zeroes than"):
            o.write_zeroes(p2io.WRITE_BUDGET + 1)

    asyncio.run(main())


def test_write_during_a_pending_flush_traps_and_check_write_is_zero() -> None:
    out = SlowCount()

    async def main() -> None:
        o = p2io.OutputStream(out)
        assert o.write(b"abc") == wasmloop.Ok()
        assert o.flush() == wasmloop.Ok()
        assert o.check_write() == wasmloop.Ok(0)
        assert not o.subscribe().ready()
        with pytest.raises(p2io.StreamTrap, match="while flush pending"):
            o.write(b"d")
        await o.subscribe().block()
        assert o.check_write() == wasmloop.Ok(p2io.WRITE_BUDGET)

    asyncio.run(main())
    assert (out.total, out.flushes) == (3, 1)


def test_flush_stdio_hands_on_what_was_queued_at_exit() -> None:
    out = SlowCount()
    ctx = ctx_of(stdout=out)

    async def main() -> None:
        o = p2.cli.StdoutInterface(ctx).get_stdout()
        p2.cli.StdoutInterface(ctx).get_stdout().write(b"a" * 1000)
        o.write(b"b" * 1000)
        o.drop()  # dropped with bytes queued: nothing is lost
        assert out.total < 2000
        await flush_stdio(ctx)
        assert out.total == 2000

    asyncio.run(main())


def test_splice_and_blocking_splice() -> None:
    data = os.urandom(200_000)
    ctx = ctx_of()

    async def main() -> int:
        src = p2io.InputStream(FixedInput(data))
        dst = p2.cli.StdoutInterface(ctx).get_stdout()
        moved = 0
        r = await dst.splice(src, 10)  # nothing read ahead yet, or up to 10 bytes
        assert isinstance(r, wasmloop.Ok) and r.value <= 10
        moved += r.value
        while True:
            r = await dst.blocking_splice(src, 1 << 20)
            if isinstance(r, wasmloop.Err):
                assert r.value.case == "closed"
                break
            assert 0 < r.value <= p2io.WRITE_BUDGET
            moved += r.value
        assert await dst.blocking_flush() == wasmloop.Ok()
        return moved

    assert asyncio.run(main()) == len(data)
    assert ctx.captured("stdout") == data


def test_poll_waits_for_the_first_ready_and_reports_all_ready() -> None:
    async def main() -> list[int]:
        loop = asyncio.get_running_loop()
        f1: asyncio.Future[None] = loop.create_future()
        f2: asyncio.Future[None] = loop.create_future()
        never: asyncio.Future[None] = loop.create_future()
        ps = [p2io.Pollable.of_future(never), p2io.Pollable.of_future(f1),
              p2io.Pollable.of_future(f2), p2.clocks.timer(0)]
        loop.call_soon(f1.set_result, None)
        first = await p2io.poll(ps[:3])
        assert not never.cancelled()  # waiting never cancels the future it watches
        f2.set_result(None)
        return first + [-1] + await p2io.poll(ps)

    assert asyncio.run(main()) == [1, -1, 1, 2, 3]


def test_terminals_clocks_and_random() -> None:
    class Tty(OutputBackend):
        is_terminal = True

    ctx = ctx_of(stdout=Tty(), insecure_seed=(7, 9))
    assert p2.cli.TerminalStdout(ctx).get_terminal_stdout() is not None
    assert p2.cli.TerminalStderr(ctx).get_terminal_stderr() is None
    assert p2.cli.TerminalStdin(ctx).get_terminal_stdin() is None
    wall = p2.clocks.WallClock().now()
    assert abs(wall["seconds"] + wall["nanoseconds"] / 1e9 - time.time()) < 60
    assert 0 <= wall["nanoseconds"] < 1_000_000_000
    mono = p2.clocks.MonotonicClock()
    assert mono.now() <= mono.now() and mono.resolution() >= 1
    assert p2.random.InsecureSeed(ctx).insecure_seed() == (7, 9)
    assert len(p2.random.Random(ctx).get_random_bytes(100)) == 100
    assert len(p2.random.Insecure(ctx).get_insecure_random_bytes(5)) == 5
    assert 0 <= p2.random.Random(ctx).get_random_u64() < 1 << 64
    with pytest.raises(ValueError, match="at most"):
        p2.random.Random(ctx).get_random_bytes(1 << 40)
    env = p2.cli.Environment(WasiCtx(WasiConfig(args=["a", "b"], env={"K": "V"}, cwd="/x")))
    assert (env.get_arguments(), env.get_environment(), env.initial_cwd()) == (
        ["a", "b"], [("K", "V")], "/x")


def test_a_zero_duration_yields_once_as_in_wasmtime() -> None:
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async def main() -> None:
        clock = p2.clocks.MonotonicClock()
        p = clock.subscribe_duration(0)
        assert not p.ready()  # a past deadline is ready once it was waited on
        task = asyncio.ensure_future(other())
        await p.block()  # lets the loop run what is ready
        order.append("after block")
        assert p.ready()
        past = clock.subscribe_instant(clock.now() - 1)
        assert await p2io.poll([past, clock.subscribe_duration(10**12)]) == [0]
        await task

    asyncio.run(main())
    assert order == ["other", "after block"]

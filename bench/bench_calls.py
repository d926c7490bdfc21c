"""Per-call cost of component function calls: wasmloop against wasmtime-py's own (synchronous)
component API, on the same component binary, in one process (medians; no assertions).

Cases:
  nop       export ``nop: func()``
  add       export ``add: func(a: u32, b: u32) -> u32``
  import    export ``call-nop: func()`` that calls the host import ``host-nop: func()`` once
            (the export + import round trip, nothing subtracted)
  echo 1K   export ``echo: func(s: string) -> string`` on a 1 KiB string (post-return frees it)
  sum 1000  export ``sum: func(xs: list<u32>) -> u32`` on 1,000 elements

wasmloop is measured two ways: ``await f(...)`` in a loop inside one coroutine (the primary
figure) and ``f.call_sync(...)``. wasmtime-py is called as ``f(store, *args)``: since wasmtime 43
its C API runs the post-return function inside the call itself and
``wasmtime_component_func_post_return`` (``Func.post_return``) is a deprecated no-op, so a
correct user no longer calls it (it would add ≈4 µs of Python per call). The setup checks
that post-return really ran: 1 KiB echoes past the 64 KiB memory would trap otherwise.

Run: python bench/bench_calls.py [--quick] [--repeat R] [--time SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib.metadata
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime
import wasmtime.component as wc

import wasmloop

WAT = r"""
(component
  (import "host-nop" (func $host-nop))
  (core module $M
    (import "host" "nop" (func $hnop))
    (memory (export "memory") 1)
    ;; bump allocator; everything above 16 is scratch, reset after each call
    (global $bump (mut i32) (i32.const 16))
    (func (export "nop"))
    (func (export "add") (param i32 i32) (result i32)
      local.get 0 local.get 1 i32.add)
    (func (export "call-nop") call $hnop)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      local.get 2 i32.const 1 i32.sub i32.add
      i32.const 0 local.get 2 i32.sub i32.and
      local.tee $p
      local.get 3 i32.add
      global.set $bump
      local.get $p)
    ;; echo: the result (ptr, len) goes in the return area at 0
    (func (export "echo") (param i32 i32) (result i32)
      i32.const 0 local.get 0 i32.store
      i32.const 4 local.get 1 i32.store
      i32.const 0)
    (func (export "echo-post") (param i32)
      i32.const 16 global.set $bump)
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $s i32) (local $end i32)
      local.get $p local.get $n i32.const 2 i32.shl i32.add local.set $end
      block $done
        loop $l
          local.get $p local.get $end i32.ge_u br_if $done
          local.get $s local.get $p i32.load i32.add local.set $s
          local.get $p i32.const 4 i32.add local.set $p
          br $l
        end
      end
      i32.const 16 global.set $bump
      local.get $s)
  )
  (core func $hnop (canon lower (func $host-nop)))
  (core instance $i (instantiate $M (with "host" (instance (export "nop" (func $hnop))))))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "realloc" (core func $realloc))
  (func (export "nop") (canon lift (core func $i "nop")))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "call-nop") (canon lift (core func $i "call-nop")))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $i "echo") (memory $mem) (realloc (core func $realloc))
      (post-return (core func $i "echo-post"))))
  (func (export "sum") (param "xs" (list u32)) (result u32)
    (canon lift (core func $i "sum") (memory $mem) (realloc (core func $realloc))))
)
"""

STRING = ("wasmloop" * 128)[:1024]
LIST = list(range(1000))
CASES: list[tuple[str, str, tuple[Any, ...], Any]] = [
    ("nop", "nop", (), None),
    ("add", "add", (1, 2), 3),
    ("import (export+import)", "call-nop", (), None),
    ("echo 1 KiB string", "echo", (STRING,), STRING),
    ("sum list<u32> x1000", "sum", (LIST,), sum(LIST)),
]


def build_wasm(cache_dir: Path) -> bytes:
    """``wasm-tools parse`` the WAT above, cached by content hash."""
    key = hashlib.sha256(WAT.encode()).hexdigest()[:16]
    out = cache_dir / f"bench_calls-{key}.wasm"
    if not out.exists():
        tool = shutil.which("wasm-tools") or str(Path(sys.executable).with_name("wasm-tools"))
        cache_dir.mkdir(parents=True, exist_ok=True)
        src = cache_dir / f"bench_calls-{key}.wat"
        src.write_text(WAT)
        tmp = out.with_suffix(".tmp")
        subprocess.run([tool, "parse", str(src), "-o", str(tmp)], check=True)
        os.replace(tmp, out)
    return out.read_bytes()


# --- timing --------------------------------------------------------------------------------


class Timing:
    def __init__(self, per_call: list[float]) -> None:
        self.median = statistics.median(per_call)
        self.min = min(per_call)


def calibrate(once: Callable[[], float], budget: float) -> int:
    """Number of calls per repeat so one repeat lasts about ``budget`` seconds."""
    n = 10
    while True:
        t = once_n(once, n)
        if t > budget / 4 or n >= 1_000_000:
            return max(10, int(n * budget / max(t, 1e-9)))
        n *= 4


def once_n(run: Callable[[int], float], n: int) -> float:
    return run(n)


def measure_sync(f: Callable[[], Any], repeat: int, budget: float) -> Timing:
    def run(n: int) -> float:
        rng = range(n)
        t0 = time.perf_counter()
        for _ in rng:
            f()
        return time.perf_counter() - t0

    run(max(10, 200))  # warm up
    n = calibrate(run, budget)
    return Timing([run(n) / n * 1e6 for _ in range(repeat)])


def measure_async(f: Any, args: tuple[Any, ...], repeat: int, budget: float) -> Timing:
    async def run_async(n: int) -> float:
        rng = range(n)
        t0 = time.perf_counter()
        for _ in rng:
            await f(*args)
        return time.perf_counter() - t0

    async def main() -> Timing:
        await run_async(200)  # warm up
        n = 10
        while True:
            t = await run_async(n)
            if t > budget / 4 or n >= 1_000_000:
                n = max(10, int(n * budget / max(t, 1e-9)))
                break
            n *= 4
        per = []
        for _ in range(repeat):
            per.append(await run_async(n) / n * 1e6)
        return Timing(per)

    return asyncio.run(main())


# --- the two runtimes ----------------------------------------------------------------------


def setup_wasmtime(wasm: bytes) -> dict[str, Callable[[], Any]]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    component = wc.Component(engine, wasm)
    linker = wc.Linker(engine)
    with linker.root() as root:
        root.add_func("host-nop", lambda _store: None)
    instance = linker.instantiate(store, component)
    calls: dict[str, Callable[[], Any]] = {}
    for _label, export, args, expect in CASES:
        f = instance.get_func(store, export)
        assert f is not None, export

        def call(f: Any = f, args: tuple[Any, ...] = args) -> Any:
            return f(store, *args)

        for _ in range(100):  # > 64 KiB of echoes: traps unless post-return resets the heap
            got = call()
            assert got == expect, (export, got)
        calls[export] = call
    calls["_keep"] = (engine, store, component, linker, instance)  # type: ignore[assignment]
    return calls


def setup_wasmloop(wasm: bytes, cache_dir: Path) -> dict[str, Any]:
    engine = wasmloop.Engine(cache_dir=cache_dir / "wasmloop")
    component = wasmloop.Component(engine, wasm, name="bench_calls.wasm")
    linker = wasmloop.Linker(engine)
    linker.define_func(None, "host-nop", lambda: None)
    instance = linker.instantiate_sync(component)
    funcs: dict[str, Any] = {}
    for _label, export, args, expect in CASES:
        f = instance.exports[export]
        got = f.call_sync(*args)
        assert got == expect, (export, got)
        got = asyncio.run(f(*args))
        assert got == expect, (export, got)
        funcs[export] = f
    funcs["_keep"] = instance
    return funcs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (numbers are rough)")
    ap.add_argument("--repeat", type=int, default=None, help="repeats per figure (default 7)")
    ap.add_argument("--time", type=float, default=None,
                    help="seconds per repeat (default 0.3; --quick 0.02)")
    ap.add_argument("--cache-dir", default=None,
                    help="where the .wasm and compiled modules are cached "
                         "(default: $TMPDIR/wasmloop-bench)")
    opts = ap.parse_args()
    repeat = opts.repeat or (3 if opts.quick else 7)
    budget = opts.time or (0.02 if opts.quick else 0.3)
    cache_dir = Path(opts.cache_dir or Path(tempfile.gettempdir()) / "wasmloop-bench")

    wasm = build_wasm(cache_dir)
    wt = setup_wasmtime(wasm)
    wl = setup_wasmloop(wasm, cache_dir)

    print(f"python {sys.version.split()[0]}, wasmtime-py {importlib.metadata.version('wasmtime')}, "
          f"{os.cpu_count()} cpus; {budget:g} s per repeat; median (min) of {repeat} repeats, "
          "µs per call")
    rows = []
    for label, export, args, _expect in CASES:
        t_wt = measure_sync(wt[export], repeat, budget)
        f = wl[export]
        t_aw = measure_async(f, args, repeat, budget)
        cs = f.call_sync
        t_cs = measure_sync(lambda cs=cs, args=args: cs(*args), repeat, budget)
        rows.append((label, t_wt, t_aw, t_cs))

    def cell(t: Timing) -> str:
        return f"{t.median:7.2f} ({t.min:.2f})"

    head = ("case", "wasmtime-py", "wasmloop await", "wasmloop call_sync",
            "ratio await", "ratio call_sync")
    lines = [head]
    for label, t_wt, t_aw, t_cs in rows:
        lines.append((label, cell(t_wt), cell(t_aw), cell(t_cs),
                      f"{t_wt.median / t_aw.median:.2f}x", f"{t_wt.median / t_cs.median:.2f}x"))
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in lines[1:]:
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths, strict=True))) + " |")
    print("ratio = wasmtime-py median / wasmloop median (>1: wasmloop is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

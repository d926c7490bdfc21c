"""Micro-benchmark of the engine layer's per-call paths (medians; no assertions).

Run: python bench/bench_engine.py [--n N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import wasmtime

from wasmloop.engine import CoreEngine, FuncType, Pending, Store, ValKind

I32 = ValKind.I32

WAT = """
(module
  (import "h" "sync" (func $sync (param i32) (result i32)))
  (import "h" "async_now" (func $now (param i32) (result i32)))
  (import "h" "async_wait" (func $wait (param i32) (result i32)))
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "call_sync") (param i32) (result i32) local.get 0 call $sync)
  (func (export "call_now") (param i32) (result i32) local.get 0 call $now)
  (func (export "call_wait") (param i32) (result i32) local.get 0 call $wait)
)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    opts = ap.parse_args()

    engine = CoreEngine(cache_dir=tempfile.mkdtemp(prefix="wasmloop-bench-"))
    store = Store(engine)
    ft = FuncType((I32,), (I32,))
    sync = store.host_func(ft, lambda c, x: x, can_suspend=False)
    now = store.host_func(ft, lambda c, x: x, can_suspend=True)

    class Once(Pending):
        __slots__ = ("x", "ready")

        def __init__(self, x: int) -> None:
            self.x = x
            self.ready = False

        def poll(self) -> object:
            if self.ready:
                return self.x
            self.ready = True  # not ready at the first poll, ready at the next
            return Pending.NOT_READY

    wait = store.host_func(ft, lambda c, x: Once(x), can_suspend=True)
    inst = store.instantiate(engine.compile(wasmtime.wat2wasm(WAT)), [sync, now, wait])
    ex = inst.exports
    nop, add = ex["nop"], ex["add"]
    call_sync, call_now, call_wait = ex["call_sync"], ex["call_now"], ex["call_wait"]
    call_async = store.call_async

    def b_nop() -> None:
        f = call_async(nop, ())
        f.poll()
        f.result()

    def b_add() -> None:
        f = call_async(add, (1, 2))
        f.poll()
        f.result()

    def b_sync() -> None:
        f = call_async(call_sync, (1,))
        f.poll()
        f.result()

    def b_now() -> None:
        f = call_async(call_now, (1,))
        f.poll()
        f.result()

    def b_wait() -> None:
        f = call_async(call_wait, (1,))
        f.poll()
        f.poll()
        f.result()

    # The floor: the C calls alone (wasmtime_func_call_async + poll + delete, arguments prebuilt)
    from wasmloop.engine import _capi, _store

    frame = _store._Frame(nop._make_codec())
    vctx, vfunc = store._vctx, nop._vaddr
    fca, fpoll, fdel = _capi.fast_call_async, _capi.fast_poll, _capi.fast_delete
    nargs = nop._codec.vnparams

    def b_floor() -> None:
        f = fca(vctx, vfunc, frame.args, nargs, frame.results, nargs, frame.trap, frame.err)
        fpoll(f)
        fdel(f)

    rows = []
    for name, fn in [
        ("C floor: raw call_async+poll+delete, nop", b_floor),
        ("call_async+poll+result, nop", b_nop),
        ("call_async+poll+result, add(i32,i32)", b_add),
        ("  + sync import round trip", b_sync),
        ("  + suspending import, done at once", b_now),
        ("  + suspending import, 1 suspend+resume", b_wait),
    ]:
        for _ in range(1000):
            fn()
        samples = []
        for _ in range(opts.repeat):
            t0 = time.perf_counter()
            for _ in range(opts.n):
                fn()
            samples.append((time.perf_counter() - t0) / opts.n * 1e6)
        rows.append((name, statistics.median(samples), min(samples)))

    base = rows[2][1]
    print(f"{'path':<42} {'median µs':>10} {'min µs':>8} {'Δ vs add':>9}")
    for i, (name, med, best) in enumerate(rows):
        delta = f"{med - base:+.2f}" if i >= 3 else ""
        print(f"{name:<42} {med:>10.2f} {best:>8.2f} {delta:>9}")
    store.close()


if __name__ == "__main__":
    main()

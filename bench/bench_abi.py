"""Micro-benchmark of FuncABI per-call costs (host side of the canonical ABI only).

Run: python bench/bench_abi.py   — prints µs per call for each case.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path
from typing import Any

from wasmloop import types as T
from wasmloop.abi import CanonOpts, FuncABI, compile_store


class BenchCx:
    """Fixed memory, bump realloc that wraps around (no growth, no bookkeeping)."""

    def __init__(self) -> None:
        self.mem = bytearray(1 << 20)
        self._view = memoryview(self.mem)
        self.next = 16
        self.static = len(self.mem) // 2

    def static_alloc(self, size: int) -> int:
        ptr = self.static
        self.static += (size + 15) & -16
        return ptr

    def view(self) -> memoryview:
        return self._view

    def realloc(self, old: int, old_size: int, align: int, new_size: int) -> int:
        ptr = (self.next + align - 1) & -align
        if ptr + new_size > len(self.mem) // 2:
            ptr = 16
        self.next = ptr + new_size
        return ptr


def bench(label: str, fn: Any, n: int = 20000) -> float:
    t = min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6
    print(f"{label:55s} {t:8.2f} µs")
    return t


def main() -> None:
    cx = BenchCx()
    opts = CanonOpts("utf8", True, True)

    add = FuncABI(T.FuncType((("a", T.U32), ("b", T.U32)), T.U32), opts)
    bench("(a) add(u32,u32)->u32  lower_params", lambda: add.lower_params(cx, (1, 2)), 200000)
    bench("(a) add(u32,u32)->u32  lift_results", lambda: add.lift_results(cx, [3]), 200000)
    bench("(a) add(u32,u32)->u32  lift_params", lambda: add.lift_params(cx, [1, 2]), 200000)
    bench("(a) add(u32,u32)->u32  lower_results", lambda: add.lower_results(cx, 3, [1, 2]),
          200000)

    s = "x" * 1000 + "héllo!"
    s = s[:1024] if len(s.encode()) >= 1024 else s + "y" * (1024 - len(s.encode()))
    echo = FuncABI(T.FuncType((("s", T.STRING),), T.STRING), opts)
    ret_ptr = cx.static_alloc(8)
    sp = cx.static_alloc(len(s.encode()))
    cx.mem[sp : sp + len(s.encode())] = s.encode()
    cx.mem[ret_ptr : ret_ptr + 8] = sp.to_bytes(4, 'little') + len(s.encode()).to_bytes(4, 'little')
    core = [sp, len(s.encode())]
    bench("(b) echo(string 1KiB)->string  lower_params", lambda: echo.lower_params(cx, (s,)))
    bench("(b) echo(string 1KiB)->string  lift_results", lambda: echo.lift_results(cx, [ret_ptr]))
    bench("(b) echo(string 1KiB)->string  lift_params", lambda: echo.lift_params(cx, core))
    out = [0, 0, ret_ptr]
    bench("(b) echo(string 1KiB)->string  lower_results", lambda: echo.lower_results(cx, s, out))

    xs = list(range(1000))
    sumf = FuncABI(T.FuncType((("xs", T.ListType(T.U32)),), T.U64), opts)
    lp = cx.static_alloc(4000)
    cx.mem[lp : lp + 4000] = b"".join(x.to_bytes(4, "little") for x in xs)
    core = [lp, 1000]
    bench("(c) sum(list<u32> x1000)->u64  lower_params", lambda: sumf.lower_params(cx, (xs,)))
    bench("(c) sum(list<u32> x1000)->u64  lift_params", lambda: sumf.lift_params(cx, core))

    rec = T.RecordType((("x", T.S32), ("y", T.F64), ("flag", T.BOOL), ("id", T.U64)))
    recf = FuncABI(T.FuncType((("r", rec),), rec), opts)
    val = {"x": -5, "y": 2.5, "flag": True, "id": 1 << 40}
    core = recf.lower_params(cx, (val,))
    rp = cx.static_alloc(24)
    compile_store(rec, opts)(cx, val, rp)
    bench("(d) f(record{s32,f64,bool,u64})->same  lower_params", lambda: recf.lower_params(cx, (val,)))
    bench("(d) f(record{s32,f64,bool,u64})->same  lift_results", lambda: recf.lift_results(cx, [rp]))
    bench("(d) f(record{s32,f64,bool,u64})->same  lift_params", lambda: recf.lift_params(cx, core))
    bench("(d) f(record{s32,f64,bool,u64})->same  lower_results",
          lambda: recf.lower_results(cx, val, [*core, rp]))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    main()

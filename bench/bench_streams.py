"""stream<u8> throughput between two components' memories (medians; no assertions).

Each round is what two guests do for one chunk: the writer's ``stream.write`` (BLOCKED), the
reader's ``stream.read`` (which performs the copy: one ``memmove`` from the writer's wasmtime
memory into the reader's), and delivery of the writer's STREAM_WRITE event — through the real
canon built-in handlers, on two wasmtime stores. Also the reverse order (read first) and the
bare ``ctypes.memmove`` of the same sizes as the ceiling.

"hot": the same buffers every round (cache-resident for 64 KiB). "cold": buffers rotate
through 48 MiB of each memory, so every copy comes from DRAM.

Run: python bench/bench_streams.py [--repeat R]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import tempfile
import time

import wasmtime

from wasmloop import types as T
from wasmloop.engine import CoreEngine, Store
from wasmloop.runtime import stream as smod
from wasmloop.runtime.instance import ComponentInstance

MEM_PAGES = 64 * 16  # 64 MiB
SPAN = 48 << 20
WAT = f'(module (memory (export "mem") {MEM_PAGES}))'


class Guest:
    def __init__(self, engine: CoreEngine, module: object, name: str) -> None:
        self.store = Store(engine)
        core = self.store.instantiate(module, [])
        self.mem = core.exports["mem"]
        self.inst = ComponentInstance(name, self.store)
        t = T.StreamType(T.U8)
        self.t = t
        self.new = smod.stream_new(self.inst, t)[0]
        self.read = smod.stream_read(self.inst, t, self.mem, None, "utf8", True)[0]
        self.write = smod.stream_write(self.inst, t, self.mem, None, "utf8", True)[0]


def connect(a: Guest, b: Guest) -> tuple[int, int]:
    packed = a.new(None)
    ri, wi = packed & 0xFFFF_FFFF, packed >> 32
    cx_a = type("Cx", (), {"inst": a.inst})()
    cx_b = type("Cx", (), {"inst": b.inst})()
    reader = smod.lift_stream(cx_a, a.t, ri)
    return wi, smod.lower_stream(cx_b, b.t, reader)


def offsets(chunk: int, cold: bool, rounds: int) -> list[int]:
    if not cold:
        return [0] * rounds
    k = SPAN // chunk
    return [(i % k) * chunk for i in range(rounds)]


def bench_write_first(a: Guest, b: Guest, wi: int, ri: int, chunk: int, offs: list[int]) -> float:
    write, read = a.write, b.read
    wend = a.inst.handles.get(wi)
    t0 = time.perf_counter()
    for off in offs:
        write(None, wi, off, chunk)
        read(None, ri, off, chunk)
        wend.get_pending_event()
    return time.perf_counter() - t0


def bench_read_first(a: Guest, b: Guest, wi: int, ri: int, chunk: int, offs: list[int]) -> float:
    write, read = a.write, b.read
    rend = b.inst.handles.get(ri)
    t0 = time.perf_counter()
    for off in offs:
        read(None, ri, off, chunk)
        write(None, wi, off, chunk)
        rend.get_pending_event()
    return time.perf_counter() - t0


def bench_memmove(a: Guest, b: Guest, chunk: int, offs: list[int]) -> float:
    mm = ctypes.memmove
    sp, dp = a.mem.data_ptr, b.mem.data_ptr
    t0 = time.perf_counter()
    for off in offs:
        mm(dp + off, sp + off, chunk)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--bytes", type=int, default=2 << 30, help="bytes moved per measurement")
    opts = ap.parse_args()

    engine = CoreEngine(cache_dir=tempfile.mkdtemp(prefix="wasmloop-bench-"))
    module = engine.compile(wasmtime.wat2wasm(WAT))
    a, b = Guest(engine, module, "writer"), Guest(engine, module, "reader")
    a.mem.view()[:SPAN] = bytes(range(256)) * (SPAN // 256)
    b.mem.view()[:SPAN] = bytes(SPAN)  # touch every page
    wi, ri = connect(a, b)

    print(f"stream<u8> between two components (medians of {opts.repeat}, GB/s = 1e9 B/s)")
    print(f"{'chunk':>8} {'buffers':>7} {'write→read':>11} {'read→write':>11} {'memmove':>9} "
          f"{'µs/round':>9}")
    for chunk in (64 << 10, 1 << 20):
        for cold in (False, True):
            rounds = max(1, opts.bytes // chunk)
            offs = offsets(chunk, cold, rounds)
            res = {}
            for name, fn, args in (
                ("wr", bench_write_first, (a, b, wi, ri, chunk, offs)),
                ("rw", bench_read_first, (a, b, wi, ri, chunk, offs)),
                ("mm", bench_memmove, (a, b, chunk, offs)),
            ):
                fn(*args)  # warm-up
                res[name] = statistics.median(fn(*args) for _ in range(opts.repeat))
            gbs = {k: rounds * chunk / v / 1e9 for k, v in res.items()}
            overhead = (res["wr"] - res["mm"]) / rounds * 1e6
            print(f"{chunk >> 10:>6}Ki {'cold' if cold else 'hot':>7} {gbs['wr']:>11.1f} "
                  f"{gbs['rw']:>11.1f} {gbs['mm']:>9.1f} {overhead:>9.2f}")
    assert bytes(b.mem.view()[: 1 << 20]) == bytes(a.mem.view()[: 1 << 20])
    a.store.close()
    b.store.close()


if __name__ == "__main__":
    main()

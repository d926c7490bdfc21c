"""Start-to-exit time of `wasmloop run` against `wasmtime run` (the Wasmtime 49 binary itself,
not its Python launcher), in one run, for hello-world-ish guests built by real toolchains: C
(clang-22, async ABI by hand), JS (componentize-qjs) and Python (componentize-py). Both sides
have warm compile caches (a few unmeasured runs first). Prints medians and the ratios.

Run: python bench/bench_run.py [-n RUNS] [--only c,js,py]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

import difftest  # noqa: E402
import guests  # noqa: E402

GUESTS: dict[str, tuple[Callable[[], Path], list[str]]] = {
    "c": (guests.c_cli03, ["hello", "world"]),
    "js": (guests.qjs_cli03, ["hello", "world"]),
    "py": (guests.py_cli03, ["args", "hello", "world"]),
}


#: The environment of every measured run. PYTHONDONTWRITEBYTECODE (set in some CI and dev
#: shells) would make every wasmloop start recompile its ≈200 modules from source (≈0.5 s),
#: which an installed package never does: bytecode is written to a private prefix instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.setdefault("PYTHONPYCACHEPREFIX", os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"wasmloop-bench-pyc-{os.getuid()}"))


def time_run(cmd: Sequence[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=ENV)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed


def median_of(cmd: Sequence[str], n: int, warm: int = 3) -> float:
    for _ in range(warm):
        time_run(cmd)
    return statistics.median(time_run(cmd) for _ in range(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="measured runs per side (default 15)")
    ap.add_argument("--only", default="c,js,py", help="guests to measure (default c,js,py)")
    opts = ap.parse_args()
    wasmtime = difftest.reference_wasmtime()
    wasmloop = difftest.wasmloop_command()
    print(f"wasmtime: {wasmtime}\nwasmloop: {' '.join(wasmloop)}\nmedian of {opts.n} runs\n")
    print(f"{'guest':6} {'wasmtime ms':>12} {'wasmloop ms':>12} {'ratio':>7}")
    for name in opts.only.split(","):
        build, args = GUESTS[name]
        wasm = str(build())
        ref = median_of([wasmtime, "run", wasm, *args], opts.n)
        got = median_of([*wasmloop, wasm, *args], opts.n)
        print(f"{name:6} {ref * 1e3:12.1f} {got * 1e3:12.1f} {got / ref:6.2f}x")


if __name__ == "__main__":
    main()

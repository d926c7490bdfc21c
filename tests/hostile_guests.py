"""Hostile guests (component text) and a runner that keeps each one in its own process.

Every case of ``test_hostile.py`` runs in a subprocess, so a crash is a failed test rather
than a dead test runner. ``run_script`` runs Python source with ``python -c`` and reports the
exit status, output, and the child's peak RSS (printed by the child itself at exit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from componentutil import wat_to_wasm

TESTS = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Guests

#: Spinning, growing, recursing and flooding, in sync and in callback-lifted code.
SPIN = """
(component
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $ws.new (canon waitable-set.new))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "ws.new" (func $ws.new (result i32)))
    (func (export "spin") (loop $l (br $l)))
    (func (export "ok") (result i32) (i32.const 42))
    (func (export "trap") (result i32) unreachable)
    ;; grow one page at a time until memory.grow fails; the final size in pages
    (func (export "grow") (result i32) (local $r i32)
      (loop $l
        (local.set $r (memory.grow (i32.const 1)))
        (br_if $l (i32.ne (local.get $r) (i32.const -1))))
      (memory.size))
    ;; the same, writing to every new page (so it really costs memory)
    (func (export "grow-touch") (result i32) (local $r i32)
      (loop $l
        (local.set $r (memory.grow (i32.const 1)))
        (if (i32.ne (local.get $r) (i32.const -1))
          (then (i32.store (i32.mul (local.get $r) (i32.const 65536)) (i32.const 1))
                (br $l))))
      (memory.size))
    (func $rec (export "rec") (param i32) (result i32)
      (i32.add (call $rec (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
    ;; make n waitable sets (handles); the count made
    (func (export "handles") (param $n i32) (result i32) (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (call $ws.new))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $i))
    ;; callback-lifted: start by yielding, then spin (or recurse) in the callback
    (func (export "cb-start") (result i32) (i32.const 1))
    (func (export "spin-cb") (param i32 i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))
    (func (export "rec-cb") (param i32 i32 i32) (result i32) (call $rec (i32.const 0)))
  )
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "ws.new" (func $ws.new))))))
  (func (export "spin") (canon lift (core func $i "spin")))
  (func (export "ok") (result u32) (canon lift (core func $i "ok")))
  (func (export "trap") (result u32) (canon lift (core func $i "trap")))
  (func (export "grow") (result u32) (canon lift (core func $i "grow")))
  (func (export "grow-touch") (result u32) (canon lift (core func $i "grow-touch")))
  (func (export "rec") (param "n" u32) (result u32) (canon lift (core func $i "rec")))
  (func (export "handles") (param "n" u32) (result u32) (canon lift (core func $i "handles")))
  (func (export "spin-cb") async
    (canon lift (core func $i "cb-start") async (callback (core func $i "spin-cb"))))
  (func (export "rec-cb") async
    (canon lift (core func $i "cb-start") async (callback (core func $i "rec-cb"))))
)
"""

#: A core start function that spins (runs while the component is instantiated).
START_SPIN = """
(component
  (core module $M (func $spin (loop $l (br $l))) (start $spin) (func (export "f")))
  (core instance $i (instantiate $M))
  (func (export "f") (canon lift (core func $i "f")))
)
"""

#: A memory whose minimum is 4 GiB.
HUGE_MINIMUM = """
(component
  (core module $M (memory (export "mem") 65536) (func (export "f")))
  (core instance $i (instantiate $M))
  (func (export "f") (canon lift (core func $i "f")))
)
"""

#: Streams with huge counts. Memory: 4097 pages (256 MiB + 64 KiB), never touched.
STREAMS = """
(component
  (core module $Mem (memory (export "mem") 4097))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (type $S (stream u8))
  (core func $stream.new (canon stream.new $S))
  (core func $stream.read (canon stream.read $S async (memory $memory)))
  (core func $stream.write (canon stream.write $S async (memory $memory)))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "stream.new" (func $stream.new (result i64)))
    (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
    (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
    ;; a stream whose writer has `n` bytes (from address 0) pending; returns the reader
    (func (export "write-n") (param $n i32) (result i32) (local $p i64)
      (local.set $p (call $stream.new))
      (drop (call $stream.write (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32)))
                                (i32.const 0) (local.get $n)))
      (i32.wrap_i64 (local.get $p)))
    ;; read up to `n` bytes from a host stream at address 0; the copy result code
    (func (export "read-n") (param $s i32) (param $n i32) (result i32)
      (call $stream.read (local.get $s) (i32.const 0) (local.get $n)))
  )
  (core instance $i (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "stream.new" (func $stream.new))
    (export "stream.read" (func $stream.read)) (export "stream.write" (func $stream.write))))))
  (func (export "write-n") (param "n" u32) (result (stream u8))
    (canon lift (core func $i "write-n")))
  (func (export "read-n") (param "s" (stream u8)) (param "n" u32) (result u32)
    (canon lift (core func $i "read-n")))
)
"""

#: Lying reallocs, lying lengths, and values out of their types' range.
VALUES = """
(component
  (core module $M
    (memory (export "mem") 1)
    (func (export "realloc-oob") (param i32 i32 i32 i32) (result i32) (i32.const 0xfffffff0))
    (func (export "realloc-misaligned") (param i32 i32 i32 i32) (result i32) (i32.const 1))
    (func (export "take") (param i32 i32) (result i32) (local.get 1))
    ;; a string result (ptr, len) at address 8: len is 2 GiB
    (func (export "long-string") (result i32)
      (i32.store (i32.const 8) (i32.const 16))
      (i32.store (i32.const 12) (i32.const 0x7fffffff))
      (i32.const 8))
    (func (export "surrogate") (result i32) (i32.const 0xd800))
    (func (export "bad-enum") (result i32) (i32.const 7))
    (func (export "bad-bool") (result i32) (i32.const 2))
  )
  (core instance $i (instantiate $M))
  (alias core export $i "mem" (core memory $memory))
  (type $e (enum "a" "b"))
  (export $E "e" (type $e))
  (func (export "take-string") (param "s" string) (result u32)
    (canon lift (core func $i "take") (memory $memory) (realloc (core func $i "realloc-oob"))))
  (func (export "take-list") (param "l" (list u32)) (result u32)
    (canon lift (core func $i "take") (memory $memory) (realloc (core func $i "realloc-misaligned"))))
  (func (export "long-string") (result string)
    (canon lift (core func $i "long-string") (memory $memory)))
  (func (export "surrogate") (result char) (canon lift (core func $i "surrogate")))
  (func (export "bad-enum") (result $E) (canon lift (core func $i "bad-enum")))
  (func (export "bad-bool") (result bool) (canon lift (core func $i "bad-bool")))
)
"""


def guest_file(tmp: Path, name: str, wat: str) -> str:
    path = tmp / f"{name}.wasm"
    path.write_bytes(wat_to_wasm(wat))
    return str(path)


# ---------------------------------------------------------------------------------------------
# Running in a subprocess


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    #: the child's peak resident set, in MiB (-1 if it did not get to report it)
    max_rss_mib: float

    @property
    def clean(self) -> bool:
        """Ended by itself (no signal), without a Python traceback or an internal error."""
        return (
            self.returncode >= 0
            and "Traceback" not in self.stderr
            and "internal error" not in self.stderr
        )


# VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across execve, so a child forked
# from a large test process would report the parent's peak.
_EPILOGUE = """
import sys as _s
_hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
_s.stderr.write("MAXRSS_KIB %s\\n" % (_hwm[0] if _hwm else "-1"))
"""

#: How long any one case may take before it counts as a hang (generous: a slow machine
#: must never fail a case that works; the cases themselves end in well under a second or so).
HANG_BOUND = 120


def run_script(code: str, *, hang_bound: float = HANG_BOUND) -> Outcome:
    """Runs ``code`` (dedented) in a fresh interpreter; ``sys.exit`` status is kept."""
    body = textwrap.dedent(code)
    src = (
        "import sys, atexit\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        f"atexit.register(lambda: exec({_EPILOGUE!r}))\n" + body
    )
    env = dict(os.environ)
    env.pop("WASMLOOP_TRACEBACK", None)
    try:
        p = subprocess.run(
            [sys.executable, "-c", src], capture_output=True, text=True, timeout=hang_bound,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"hang: the case did not end within {hang_bound}s") from e
    rss = -1.0
    err_lines = []
    for line in p.stderr.splitlines():
        if line.startswith("MAXRSS_KIB "):
            rss = int(line.split()[1]) / 1024
        else:
            err_lines.append(line)
    return Outcome(p.returncode, p.stdout, "\n".join(err_lines), rss)


def run_cli(*argv: str, hang_bound: float = HANG_BOUND) -> Outcome:
    """``wasmloop ARGV…`` in a subprocess (the CLI's own ``main``)."""
    return run_script(
        f"""
        from wasmloop.cli import main
        sys.exit(main({list(argv)!r}))
        """,
        hang_bound=hang_bound,
    )

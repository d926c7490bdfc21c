"""Stream/future behaviours where Wasmtime 49 and the spec differ or where trap texts matter,
run through wasmloop's wast runner. Every case also passes under the reference
`wasmtime wast -W component-model-more-async-builtins=y` (shared/tools/reference-wasmtime)."""

from __future__ import annotations

import pytest
from test_streams_e2e import wired  # noqa: F401

import wasmloop
from wasmloop.wast import WastRunner

PROBE = """(component
  (type $s (stream u32))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.new (canon stream.new $s))
  (core func $s.read (canon stream.read $s async (memory $memory)))
  (core func $s.write (canon stream.write $s async (memory $memory)))
  (core func $s.cr (canon stream.cancel-read $s))
  (core module $M
    (import "" "s.new" (func $s.new (result i64)))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.write" (func $s.write (param i32 i32 i32) (result i32)))
    (import "" "s.cr" (func $s.cr (param i32) (result i32)))
    (func (export "partial") (result i32)
      (local $p i64) (local $r i32) (local $w i32)
      (local.set $p (call $s.new))
      (local.set $r (i32.wrap_i64 (local.get $p)))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (drop (call $s.read (local.get $r) (i32.const 0x100) (i32.const 10)))
      (drop (call $s.write (local.get $w) (i32.const 0) (i32.const 4)))
      (call $s.cr (local.get $r)))
    (func (export "misaligned") (result i32)
      (local $p i64) (local $w i32)
      (local.set $p (call $s.new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (call $s.write (local.get $w) (i32.const 2) (i32.const 1)))
    (func (export "oob") (result i32)
      (local $p i64) (local $w i32)
      (local.set $p (call $s.new))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
      (call $s.write (local.get $w) (i32.const 0xfff0) (i32.const 100))))
  (core instance $m (instantiate $M (with "" (instance
    (export "s.new" (func $s.new)) (export "s.read" (func $s.read))
    (export "s.write" (func $s.write)) (export "s.cr" (func $s.cr))))))
  (func (export "partial") (result u32) (canon lift (core func $m "partial")))
  (func (export "misaligned") (result u32) (canon lift (core func $m "misaligned")))
  (func (export "oob") (result u32) (canon lift (core func $m "oob")))
)
"""

STREAMS = """(component
  (type $s (stream u32))
  (type $f (future u32))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $s.new (canon stream.new $s))
  (core func $s.read (canon stream.read $s async (memory $memory)))
  (core func $s.write (canon stream.write $s async (memory $memory)))
  (core func $s.drop-r (canon stream.drop-readable $s))
  (core func $s.drop-w (canon stream.drop-writable $s))
  (core func $f.new (canon future.new $f))
  (core func $f.drop-w (canon future.drop-writable $f))
  (core module $M
    (import "" "s.new" (func $s.new (result i64)))
    (import "" "s.read" (func $s.read (param i32 i32 i32) (result i32)))
    (import "" "s.write" (func $s.write (param i32 i32 i32) (result i32)))
    (import "" "s.drop-r" (func $s.drop-r (param i32)))
    (import "" "s.drop-w" (func $s.drop-w (param i32)))
    (import "" "f.new" (func $f.new (result i64)))
    (import "" "f.drop-w" (func $f.drop-w (param i32)))
    (global $r (mut i32) (i32.const 0))
    (global $w (mut i32) (i32.const 0))
    (func $new
      (local $p i64)
      (local.set $p (call $s.new))
      (global.set $r (i32.wrap_i64 (local.get $p)))
      (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32)))))
    (func (export "misaligned-copy") (result i32)
      (call $new)
      (drop (call $s.write (global.get $w) (i32.const 2) (i32.const 1)))
      (call $s.read (global.get $r) (i32.const 0x100) (i32.const 1)))
    (func (export "misaligned-read") (result i32)
      (call $new)
      (drop (call $s.write (global.get $w) (i32.const 0) (i32.const 1)))
      (call $s.read (global.get $r) (i32.const 0x101) (i32.const 1)))
    (func (export "oob") (result i32)
      (call $new)
      (call $s.write (global.get $w) (i32.const 0xfff0) (i32.const 100)))
    (func (export "write-after-drop") (result i32)
      (call $new)
      (call $s.drop-r (global.get $r))
      (drop (call $s.write (global.get $w) (i32.const 0) (i32.const 1)))
      (call $s.write (global.get $w) (i32.const 0) (i32.const 1)))
    (func (export "read-on-writable") (result i32)
      (call $new)
      (call $s.read (global.get $w) (i32.const 0) (i32.const 1)))
    (func (export "future-drop-early")
      (call $f.drop-w (i32.wrap_i64 (i64.shr_u (call $f.new) (i64.const 32)))))
    (func (export "drop-busy")
      (call $new)
      (drop (call $s.write (global.get $w) (i32.const 0) (i32.const 1)))
      (call $s.drop-w (global.get $w)))
    (func (export "same-zero") (result i32)
      (call $new)
      (drop (call $s.read (global.get $r) (i32.const 0x101) (i32.const 0)))
      (call $s.write (global.get $w) (i32.const 2) (i32.const 0))))
  (core instance $m (instantiate $M (with "" (instance
    (export "s.new" (func $s.new)) (export "s.read" (func $s.read))
    (export "s.write" (func $s.write)) (export "s.drop-r" (func $s.drop-r))
    (export "s.drop-w" (func $s.drop-w)) (export "f.new" (func $f.new))
    (export "f.drop-w" (func $f.drop-w))))))
  (func (export "misaligned-copy") (result u32) (canon lift (core func $m "misaligned-copy")))
  (func (export "misaligned-read") (result u32) (canon lift (core func $m "misaligned-read")))
  (func (export "oob") (result u32) (canon lift (core func $m "oob")))
  (func (export "write-after-drop") (result u32) (canon lift (core func $m "write-after-drop")))
  (func (export "read-on-writable") (result u32) (canon lift (core func $m "read-on-writable")))
  (func (export "future-drop-early") (canon lift (core func $m "future-drop-early")))
  (func (export "drop-busy") (canon lift (core func $m "drop-busy")))
  (func (export "same-zero") (result u32) (canon lift (core func $m "same-zero")))
)
"""

CASES = [
    (PROBE, '(assert_return (invoke "partial") (u32.const 66))'),  # CANCELLED | 4 << 4
    (PROBE, '(assert_return (invoke "misaligned") (u32.const 0xffffffff))'),
    (PROBE, '(assert_trap (invoke "oob") "read pointer out of bounds of memory")'),
    (STREAMS, '(assert_trap (invoke "misaligned-copy") "write pointer not aligned")'),
    (STREAMS, '(assert_trap (invoke "misaligned-read") "read pointer not aligned")'),
    (STREAMS, '(assert_trap (invoke "oob") "read pointer out of bounds of memory")'),
    (STREAMS, '(assert_trap (invoke "write-after-drop") '
              '"cannot write after being notified that the readable end dropped")'),
    (STREAMS, '(assert_trap (invoke "read-on-writable") '
              '"cannot have concurrent operations active on a future/stream")'),
    (STREAMS, '(assert_trap (invoke "future-drop-early") '
              '"cannot drop future write end without first writing a value")'),
    (STREAMS, '(assert_trap (invoke "drop-busy") "cannot drop busy stream")'),
    (STREAMS, '(assert_return (invoke "same-zero") (u32.const 0))'),
]


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    # One engine for every case: the engine layer caches function types by engine address,
    # and an engine freed and reallocated at the same address reuses a stale one (abort).
    return wasmloop.Engine(features=["more-async-builtins"])


@pytest.mark.parametrize("component,assertion", CASES)
def test_matches_wasmtime(tmp_path, engine, component, assertion):
    path = tmp_path / "probe.wast"
    path.write_text(component + assertion + "\n")
    res = WastRunner(engine=engine).run_wast(path)
    assert res.failed == 0, res.failures
    assert res.passed == 2

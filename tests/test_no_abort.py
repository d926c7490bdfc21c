"""Inputs that make wasmtime abort the process (SIGABRT) when handed to its C API are
rejected before they get there, with an error naming the construct.

Each case runs in a subprocess: an abort there fails the test instead of killing pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from componentutil import wat_to_wasm

_LOAD = textwrap.dedent("""
    import sys, wasmloop
    engine = wasmloop.Engine(cache=False)
    try:
        c = wasmloop.Component(engine, open(sys.argv[1], "rb").read())
        inst = wasmloop.Linker(engine).instantiate_sync(c)
        if len(sys.argv) > 2:
            inst.exports[sys.argv[2]].call_sync()
        print("OK")
    except wasmloop.WasmloopError as e:
        print(type(e).__name__ + ": " + str(e))
""")


def _run(tmp_path: Path, wat: str, *call: str) -> str:
    path = tmp_path / "c.wasm"
    path.write_bytes(wat_to_wasm(wat))
    proc = subprocess.run([sys.executable, "-c", _LOAD, str(path), *call],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit status {proc.returncode}:\n{proc.stderr[-2000:]}"
    return proc.stdout.strip()


def _module(body: str) -> str:
    return f"""(component
      (core module $m (type $t (func)) (func $g) (elem declare func $g) {body})
      (core instance (instantiate $m)))"""


@pytest.mark.parametrize(("body", "construct"), [
    ('(func (export "f") (param anyref))', "`anyref`"),
    ('(func (export "f") (result (ref func)) ref.func $g)', "`(ref func)`"),
    ('(func (export "f") (param (ref null $t)))', "`(ref null 0)`"),
    ('(func (export "f") (param exnref))', "`exnref`"),
    ('(table (export "t") 1 anyref)', "`anyref`"),
    ('(global (export "g") (ref null $t) (ref.null $t))', "`(ref null 0)`"),
    ('(tag (export "e") (param eqref))', "`eqref`"),
])
def test_gc_reference_types_at_a_module_boundary_are_rejected(
        tmp_path: Path, body: str, construct: str) -> None:
    out = _run(tmp_path, _module(body))
    assert out.startswith("ValidationError: core module export"), out
    assert construct in out and "wasmtime's C API" in out


def test_gc_reference_types_in_imports_are_rejected(tmp_path: Path) -> None:
    out = _run(tmp_path, """(component
      (core module $m (import "" "f" (func (param i31ref))))
    )""")
    assert out.startswith("ValidationError: core module import `:f` (func)"), out
    assert "`i31ref`" in out


def test_funcref_and_externref_and_gc_inside_a_module_still_work(tmp_path: Path) -> None:
    out = _run(tmp_path, _module("""
      (type $s (struct (field i32)))
      (func (export "f") (param funcref externref) (result (ref null func)) ref.null func)
      (func (export "g") (drop (struct.new $s (i32.const 1))))
      (table (export "t") 1 funcref)"""))
    assert out == "OK"


def test_exception_thrown_across_the_component_boundary_traps(tmp_path: Path) -> None:
    out = _run(tmp_path, """(component
      (core module $m
        (tag $e)
        (func (export "run") (throw $e)))
      (core instance $i (instantiate $m))
      (func (export "run") (canon lift (core func $i "run"))))""", "run")
    assert out.startswith("Trap: uncaught exception propagated out of component"), out


def test_exception_thrown_by_a_callee_component_traps_in_the_caller(tmp_path: Path) -> None:
    out = _run(tmp_path, """(component
      (component $A
        (core module $m (tag $e) (func (export "f") (throw $e)))
        (core instance $i (instantiate $m))
        (func (export "f") (canon lift (core func $i "f"))))
      (component $B
        (import "f" (func $f))
        (core func $f' (canon lower (func $f)))
        (core module $m
          (import "" "f" (func $f))
          (tag $e)
          (func (export "run") (try_table (catch_all 0) (call $f))))
        (core instance $i (instantiate $m (with "" (instance (export "f" (func $f'))))))
        (func (export "run") (canon lift (core func $i "run"))))
      (instance $a (instantiate $A))
      (instance $b (instantiate $B (with "f" (func $a "f"))))
      (export "run" (func $b "run")))""", "run")
    assert out.startswith("Trap: uncaught exception propagated out of component"), out

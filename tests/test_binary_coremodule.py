"""parse_module_header: a core module's imports and exports, code and data skipped."""

from __future__ import annotations

import pytest
from test_binary_decoder import component, section, uleb, vec, wat

from wasmloop.binary import decode_component, parse_module_header
from wasmloop.errors import DecodeError
from wasmloop.types import CoreFuncType, CoreModuleType

CORE = b"\x00asm\x01\x00\x00\x00"

MODULE_WAT = """(module
  (type $s (struct (field i32)))
  (rec (type $a (func (param (ref null $s)))) (type $b (sub (func))))
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1 2))
  (import "env" "g" (global (mut i32)))
  (import "env" "t" (table 1 funcref))
  (tag $e (param i32))
  (global $g2 i64 (i64.add (i64.const 1) (i64.const 2)))
  (global $g3 (ref null $s) (ref.null $s))
  (global $g4 v128 (v128.const i32x4 1 2 3 4))
  (func $h (type $a))
  (func $k (param f64) (result v128 externref) unreachable)
  (table $t2 2 10 externref)
  (memory $m64 i64 1)
  (export "h" (func $h))
  (export "f" (func 0))
  (export "k" (func $k))
  (export "g2" (global $g2))
  (export "mem" (memory 0))
  (export "m64" (memory $m64))
  (export "t2" (table $t2))
  (export "e" (tag $e))
  (data (i32.const 0) "hello")
)"""


def test_imports_and_exports_of_a_module() -> None:
    m = parse_module_header(wat(MODULE_WAT))
    assert m == CoreModuleType(
        imports=(
            ("env", "f", "func", CoreFuncType(params=("i32", "i64"), results=("f32",))),
            ("env", "mem", "memory", "(memory 1 2)"),
            ("env", "g", "global", "(global (mut i32))"),
            ("env", "t", "table", "(table 1 funcref)"),
        ),
        exports=(
            ("h", "func", CoreFuncType(params=("(ref null 0)",), results=())),
            ("f", "func", CoreFuncType(params=("i32", "i64"), results=("f32",))),
            ("k", "func", CoreFuncType(params=("f64",), results=("v128", "externref"))),
            ("g2", "global", "(global i64)"),
            ("mem", "memory", "(memory 1 2)"),
            ("m64", "memory", "(memory i64 1)"),
            ("t2", "table", "(table 2 10 externref)"),
            ("e", "tag", "(tag (param i32))"),
        ),
    )


def test_module_inside_a_component_is_the_same_slice() -> None:
    module = wat(MODULE_WAT)
    (m,) = decode_component(component(section(1, module))).definitions
    assert parse_module_header(m.data) == parse_module_header(module)


def test_rejects_components_and_garbage() -> None:
    with pytest.raises(DecodeError, match="expected a version header for a module"):
        parse_module_header(b"\x00asm\x0d\x00\x01\x00")
    with pytest.raises(DecodeError, match="magic header not detected"):
        parse_module_header(b"\x00wasm\x01\x00\x00")
    with pytest.raises(DecodeError, match="malformed section id"):
        parse_module_header(CORE + b"\x0e\x00")
    with pytest.raises(DecodeError, match="section out of order"):
        parse_module_header(CORE + section(3, b"\x00") + section(1, b"\x00"))


def test_export_of_unknown_function_is_an_error() -> None:
    data = CORE + section(7, vec(b"\x01f\x00\x05"))
    with pytest.raises(DecodeError, match="index out of bounds"):
        parse_module_header(data)


def test_function_with_non_function_type_is_an_error() -> None:
    data = (
        CORE
        + section(1, vec(b"\x5f\x00"))
        + section(3, vec(b"\x00"))
        + section(7, vec(b"\x01f\x00\x00"))
    )
    with pytest.raises(DecodeError, match="not a function type"):
        parse_module_header(data)


def test_large_module_is_parsed_without_touching_code_or_data() -> None:
    payload = b"\xab" * (20 * 1024 * 1024)
    module = (
        CORE
        + section(1, vec(b"\x60\x00\x00"))
        + section(3, vec(b"\x00"))
        + section(5, vec(b"\x00\x80\x02"))
        + section(7, vec(b"\x01f\x00\x00"))
        + section(10, vec(b"\x02\x00\x0b"))
        + section(11, vec(b"\x00\x41\x00\x0b" + uleb(len(payload)) + payload))
    )
    data = component(section(1, module), section(2, vec(b"\x00\x00\x00")))
    c = decode_component(data)
    (m, _) = c.definitions
    assert m.data.obj is data  # a view, not a copy
    header = parse_module_header(m.data)
    assert header.exports == (("f", "func", CoreFuncType(params=(), results=())),)

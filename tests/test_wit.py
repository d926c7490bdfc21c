"""Tests for wasmloop.wit: the WIT printer, compared with ``wasm-tools component wit`` on
hand-written WAT components whose ComponentType is built by hand here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from componentutil import missing_tool

from wasmloop import types as T
from wasmloop.wit import escape_id, format_component_type, format_func_type, format_val_type


def _wasm_tools() -> str | None:
    exe = Path(sys.executable).parent / "wasm-tools"
    if exe.exists():
        return str(exe)
    return shutil.which("wasm-tools")


def wasm_tools_wit(wat: str, tmp: Path) -> str:
    tool = _wasm_tools()
    if tool is None:
        missing_tool("wasm-tools not available")
    (tmp / "c.wat").write_text(wat)
    subprocess.run([tool, "parse", str(tmp / "c.wat"), "-o", str(tmp / "c.wasm")], check=True)
    out = subprocess.run([tool, "component", "wit", str(tmp / "c.wasm")], check=True,
                         capture_output=True, text=True)
    return out.stdout


def F(*params: tuple[str, T.ValType], result: T.ValType | None = None,
      is_async: bool = False) -> T.FuncType:
    return T.FuncType(tuple(params), result, is_async)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def test_format_val_type() -> None:
    r = T.ResourceType("blob")
    point = T.RecordType((("x", T.U32), ("y", T.U32)))
    names = {point: "point", r: "blob"}
    cases = [
        (T.U32, "u32"),
        (T.ListType(T.U32), "list<u32>"),
        (T.ListType(T.U8, 4), "list<u8, 4>"),
        (T.OptionType(T.STRING), "option<string>"),
        (T.TupleType((T.U8, T.U8)), "tuple<u8, u8>"),
        (T.ResultType(None, T.STRING), "result<_, string>"),
        (T.ResultType(T.U8, None), "result<u8>"),
        (T.ResultType(T.U8, T.STRING), "result<u8, string>"),
        (T.ResultType(None, None), "result"),
        (T.BorrowType(r), "borrow<blob>"),
        (T.OwnType(r), "blob"),
        (T.StreamType(T.U8), "stream<u8>"),
        (T.StreamType(None), "stream"),
        (T.FutureType(None), "future"),
        (T.FutureType(T.U32), "future<u32>"),
        (T.MapType(T.STRING, T.U32), "map<string, u32>"),
        (T.ERROR_CONTEXT, "error-context"),
        (point, "point"),
        (T.ListType(point), "list<point>"),
    ]
    for t, text in cases:
        assert format_val_type(t, names) == text
    assert format_val_type(point) == "record { x: u32, y: u32 }"
    assert format_val_type(T.EnumType(("a", "type"))) == "enum { a, %type }"


def test_format_func_type() -> None:
    assert format_func_type("f", F(("a", T.U32), result=T.STRING)) == "f: func(a: u32) -> string"
    assert format_func_type("list", F(("type", T.U8)), None) == "%list: func(%type: u8)"
    assert format_func_type("g", F(is_async=True, result=T.U8)) == "g: async func() -> u8"
    assert escape_id("string") == "%string" and escape_id("x") == "x"


def test_empty_component() -> None:
    ct = T.ComponentType({}, {})
    assert format_component_type(ct) == "package root:component;\n\nworld root {\n}\n"


# ---------------------------------------------------------------------------------------------
# Differential tests against wasm-tools component wit
# ---------------------------------------------------------------------------------------------

IMPORTS_WAT = """
(component
  (import "ns:pkg/types@1.0.0" (instance $types
    (type $point (record (field "x" u32) (field "y" u32)))
    (export "point" (type $p (eq $point)))
    (type $color (enum "red" "green"))
    (export "color" (type $c (eq $color)))
    (export "blob" (type $b (sub resource)))
    (type $own (own $b))
    (type $bor (borrow $b))
    (export "[constructor]blob" (func (param "init" (list u8)) (result $own)))
    (export "[method]blob.write" (func (param "self" $bor) (param "bytes" (list u8))))
    (export "[static]blob.merge" (func (param "lhs" $own) (param "rhs" $own) (result $own)))
    (export "make" (func (param "a" $p) (param "c" (option $c))
                         (result (result $p (error string)))))
  ))
  (alias export $types "point" (type $point))
  (import "log" (func $log (param "msg" string)))
  (import "plain" (instance
    (export "f" (func (param "a" (tuple u8 u8)) (result (list (option string)))))
  ))
  (type $cfgd (record (field "n" u64)))
  (import "cfg" (type $cfg (eq $cfgd)))
  (import "get-cfg" (func (result $cfg)))
  (import "take-point" (func (param "p" $point) (result (tuple u8 s64 f32 f64 char bool))))
  (import "r" (type $r (sub resource)))
  (import "use-r" (func (param "r" (borrow $r)) (param "o" (own $r)) (result (result))))
)
"""


def imports_ct() -> T.ComponentType:
    point = T.RecordType((("x", T.U32), ("y", T.U32)))
    color = T.EnumType(("red", "green"))
    blob = T.ResourceType("blob")
    types = T.InstanceType({
        "point": T.TypeBound(point),
        "color": T.TypeBound(color),
        "blob": T.TypeBound(blob, sub_resource=True),
        "[constructor]blob": F(("init", T.ListType(T.U8)), result=T.OwnType(blob)),
        "[method]blob.write": F(("self", T.BorrowType(blob)), ("bytes", T.ListType(T.U8))),
        "[static]blob.merge": F(("lhs", T.OwnType(blob)), ("rhs", T.OwnType(blob)),
                                result=T.OwnType(blob)),
        "make": F(("a", point), ("c", T.OptionType(color)),
                  result=T.ResultType(point, T.STRING)),
    })
    cfg = T.RecordType((("n", T.U64),))
    r = T.ResourceType("r")
    return T.ComponentType(
        imports={
            "ns:pkg/types@1.0.0": types,
            "log": F(("msg", T.STRING)),
            "plain": T.InstanceType({
                "f": F(("a", T.TupleType((T.U8, T.U8))),
                       result=T.ListType(T.OptionType(T.STRING))),
            }),
            "cfg": T.TypeBound(cfg),
            "get-cfg": F(result=cfg),
            "take-point": F(("p", point), result=T.TupleType(
                (T.U8, T.S64, T.F32, T.F64, T.CHAR, T.BOOL))),
            "r": T.TypeBound(r, sub_resource=True),
            "use-r": F(("r", T.BorrowType(r)), ("o", T.OwnType(r)),
                       result=T.ResultType(None, None)),
        },
        exports={},
    )


EXPORTS_WAT = """
(component
  (core module $m
    (memory (export "mem") 1)
    (func (export "f") (param i32 i32) (result i32) i32.const 0)
    (func (export "g3") (param i32 i32 i32) (result i32) i32.const 0)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (type $pt (record (field "x" u32) (field "type" u32)))
  (import "point" (type $pt2 (eq $pt)))
  (type $v (variant (case "a" u32) (case "none") (case "c" (list $pt2))))
  (import "v" (type $v2 (eq $v)))
  (func $f (param "p" $pt2) (result u32) (canon lift (core func $i "f")))
  (func $g (param "v" $v2) (result $pt2) (canon lift (core func $i "g3")
    (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
  (export "f" (func $f))
  (export "g" (func $g))
  (func $h (param "s" string) (result (option (result u32 (error string))))
    (canon lift (core func $i "f") (memory (core memory $i "mem"))
    (realloc (core func $i "realloc"))))
  (instance $inst (export "get" (func $h)))
  (export "ns:pkg/api@0.1.0" (instance $inst))
  (instance $inst2 (export "h" (func $h)) (export "h2" (func $h)))
  (export "local" (instance $inst2))
)
"""


def exports_ct() -> T.ComponentType:
    pt = T.RecordType((("x", T.U32), ("type", T.U32)))
    v = T.VariantType((("a", T.U32), ("none", None), ("c", T.ListType(pt))))
    h = F(("s", T.STRING), result=T.OptionType(T.ResultType(T.U32, T.STRING)))
    return T.ComponentType(
        imports={"point": T.TypeBound(pt), "v": T.TypeBound(v)},
        exports={
            "f": F(("p", pt), result=T.U32),
            "g": F(("v", v), result=pt),
            "ns:pkg/api@0.1.0": T.InstanceType({"get": h}),
            "local": T.InstanceType({"h": h, "h2": h}),
        },
    )


ASYNC_WAT = """
(component
  (import "a:b/c" (instance
    (export "r" (type $r (sub resource)))
    (export "[method]r.m" (func (param "self" (borrow $r)) (result (stream u8))))
    (export "f" (func async (param "x" (future)) (param "y" (future u32)) (param "z" (stream))))
    (export "list" (func (param "list" (list u8 4)) (param "e" error-context)))
  ))
  (import "a:b/d" (instance
    (export "x" (func))
  ))
  (import "q" (func async (result u8)))
)
"""


def async_ct() -> T.ComponentType:
    r = T.ResourceType("r")
    return T.ComponentType(
        imports={
            "a:b/c": T.InstanceType({
                "r": T.TypeBound(r, sub_resource=True),
                "[method]r.m": F(("self", T.BorrowType(r)), result=T.StreamType(T.U8)),
                "f": F(("x", T.FutureType(None)), ("y", T.FutureType(T.U32)),
                       ("z", T.StreamType(None)), is_async=True),
                "list": F(("list", T.ListType(T.U8, 4)), ("e", T.ERROR_CONTEXT)),
            }),
            "a:b/d": T.InstanceType({"x": F()}),
            "q": F(result=T.U8, is_async=True),
        },
        exports={},
    )


PACKAGES_WAT = """
(component
  (import "a:b/c@1.0.0" (instance (export "x" (func))))
  (import "z:y/w" (instance (export "x" (func))))
  (import "a:b/d@1.0.0" (instance (export "x" (func))))
  (import "a:b/e@2.0.0" (instance (export "x" (func))))
)
"""


def packages_ct() -> T.ComponentType:
    return T.ComponentType(
        imports={name: T.InstanceType({"x": F()})
                 for name in ("a:b/c@1.0.0", "z:y/w", "a:b/d@1.0.0", "a:b/e@2.0.0")},
        exports={},
    )


USE_WAT = """
(component
  (import "ns:pkg/types@1.0.0" (instance $types
    (type $point (record (field "x" u32) (field "y" u32)))
    (export "point" (type (eq $point)))
    (type $flags (flags "read" "write"))
    (export "perms" (type (eq $flags)))
    (export "file" (type (sub resource)))
  ))
  (alias export $types "point" (type $point))
  (alias export $types "perms" (type $perms))
  (alias export $types "file" (type $file))
  (import "ns:pkg/api@1.0.0" (instance
    (export "point" (type $p (eq $point)))
    (export "mode" (type $m (eq $perms)))
    (export "file" (type $f (eq $file)))
    (type $s (variant (case "empty") (case "at" $p) (case "own" (own $f))))
    (export "shape" (type $sh (eq $s)))
    (export "area" (func (param "s" $sh) (param "m" $m) (result f64)))
    (export "open" (func (param "f" (borrow $f)) (result (list $p))))
  ))
  (import "other:thing/x" (instance
    (export "pt" (type $p (eq $point)))
    (export "go" (func (param "p" $p)))
  ))
  (import "point" (type $wp (eq $point)))
  (import "first" (func (param "p" $wp) (result $wp)))
)
"""


def use_ct() -> T.ComponentType:
    point = T.RecordType((("x", T.U32), ("y", T.U32)))
    perms = T.FlagsType(("read", "write"))
    file = T.ResourceType("file")
    shape = T.VariantType((("empty", None), ("at", point), ("own", T.OwnType(file))))
    return T.ComponentType(
        imports={
            "ns:pkg/types@1.0.0": T.InstanceType({
                "point": T.TypeBound(point),
                "perms": T.TypeBound(perms),
                "file": T.TypeBound(file, sub_resource=True),
            }),
            "ns:pkg/api@1.0.0": T.InstanceType({
                "point": T.TypeBound(point),
                "mode": T.TypeBound(perms),
                "file": T.TypeBound(file),
                "shape": T.TypeBound(shape),
                "area": F(("s", shape), ("m", perms), result=T.F64),
                "open": F(("f", T.BorrowType(file)), result=T.ListType(point)),
            }),
            "other:thing/x": T.InstanceType({
                "pt": T.TypeBound(point),
                "go": F(("p", point)),
            }),
            "point": T.TypeBound(point),
            "first": F(("p", point), result=point),
        },
        exports={},
    )


CASES = {
    "imports": (IMPORTS_WAT, imports_ct),
    "exports": (EXPORTS_WAT, exports_ct),
    "async": (ASYNC_WAT, async_ct),
    "packages": (PACKAGES_WAT, packages_ct),
    "use": (USE_WAT, use_ct),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_wasm_tools(case: str, tmp_path: Path) -> None:
    wat, build = CASES[case]
    expected = wasm_tools_wit(wat, tmp_path)
    assert format_component_type(build()) == expected


def test_expected_text_imports() -> None:
    """The imports case spelled out (so it is checked even without wasm-tools)."""
    text = format_component_type(imports_ct())
    assert text.startswith("package root:component;\n\nworld root {\n  import ns:pkg/types@1.0.0;\n")
    assert "    resource blob {\n      constructor(init: list<u8>);\n" in text
    assert "      write: func(bytes: list<u8>);\n" in text
    assert "      merge: static func(lhs: blob, rhs: blob) -> blob;\n" in text
    assert "  import use-r: func(r: borrow<r>, o: r) -> result;\n" in text
    assert "\npackage ns:pkg@1.0.0 {\n  interface types {\n" in text


def test_not_expressible_does_not_fail() -> None:
    ct = T.ComponentType(
        imports={"m": T.CoreModuleType((), ()), "c": T.ComponentType({}, {}), "v": T.U32},
        exports={"t": T.TypeBound(T.EnumType(("a",))),
                 "anon": F(("r", T.RecordType((("a", T.U8),))))},
    )
    text = format_component_type(ct, world="list")
    assert "world %list {" in text
    assert "// import m: core module" in text
    assert "enum t {" in text
    assert "export anon: func(r: t)" not in text
    assert "export anon: func(r: record { a: u8 });" in text

"""The component validator: resolved index spaces, resource identity, canon options, and the
rules it rejects (with a differential check against `wasm-tools validate`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from componentutil import missing_tool

from wasmloop import types as T
from wasmloop.binary import ast, decode_component
from wasmloop.errors import ValidationError
from wasmloop.validate import FEATURES, CanonOptions, ComponentInfo, ModuleInfo, validate


def _wasm_tools() -> str | None:
    found = shutil.which("wasm-tools")
    if found:
        return found
    cand = Path(sys.executable).with_name("wasm-tools")
    return str(cand) if cand.exists() else None


def wat(text: str) -> bytes:
    tool = _wasm_tools()
    if tool is None:
        missing_tool("wasm-tools is not installed")
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d, "c.wat"), Path(d, "c.wasm")
        src.write_text(text)
        proc = subprocess.run([tool, "parse", str(src), "-o", str(out)], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
        return out.read_bytes()


def check(text: str) -> ComponentInfo:
    return validate(decode_component(wat(text)), FEATURES)


def reject(text: str, message: str) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        check(text)
    assert message in str(exc.value)
    assert exc.value.offset is not None
    return exc.value


CORE_F = """
  (core module $m
    (memory (export "mem") 1)
    (func (export "f") (param i32 i32) (result i32) unreachable)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) unreachable)
    (func (export "post") (param i32))
    (func (export "cb") (param i32 i32 i32) (result i32) unreachable)
    (func (export "dtor") (param i32))
    (func (export "start") (result i32) unreachable))
  (core instance $i (instantiate $m))
"""


# -- resolved structure ------------------------------------------------------------------------


def test_lift_resolves_func_type_and_options() -> None:
    info = check(f"""(component {CORE_F}
      (func $g (param "s" string) (result string)
        (canon lift (core func $i "f") (memory (core memory $i "mem")) (realloc (core func $i "realloc"))
                    string-encoding=utf16 (post-return (core func $i "post"))))
      (export "g" (func $g)))""")
    assert info.funcs[0] == T.FuncType((("s", T.STRING),), T.STRING)
    pos = next(p for p, d in enumerate(info.ast.definitions) if isinstance(d, ast.CanonLift))
    assert info.canon_opts[pos] == CanonOptions(string_encoding="utf16", memory=0, realloc=1,
                                                post_return=2)
    assert info.created[pos] == (ast.Sort.FUNC, 0)
    assert info.type.exports["g"] is info.funcs[1]
    assert isinstance(info.core_modules[0], ModuleInfo)
    assert info.module_infos == [info.core_modules[0]]
    assert info.core_instances[0]["f"] == ("func", T.CoreFuncType(("i32", "i32"), ("i32",)))


def test_lower_gives_flattened_core_type() -> None:
    info = check(f"""(component {CORE_F}
      (import "h" (func $h (param "a" u64) (param "b" string) (result (tuple u32 u32))))
      (core func (canon lower (func $h) (memory (core memory $i "mem")) (realloc (core func $i "realloc")))))""")
    assert info.core_funcs[-1] == T.CoreFuncType(("i64", "i32", "i32", "i32"), ())


def test_async_lower_core_type() -> None:
    info = check(f"""(component {CORE_F}
      (import "h" (func $h async (param "a" u32) (result u32)))
      (core func (canon lower (func $h) async (memory (core memory $i "mem")))))""")
    assert info.core_funcs[-1] == T.CoreFuncType(("i32", "i32"), ("i32",))
    assert list(info.canon_opts.values())[-1].is_async


def test_defined_resource_named_by_export() -> None:
    info = check(f"""(component {CORE_F}
      (type $r (resource (rep i32) (dtor (core func $i "dtor"))))
      (export $r2 "thing" (type $r))
      (core func (canon resource.new $r)))""")
    r = info.types[0]
    assert isinstance(r, T.ResourceType) and r.defined and r.dtor is not None
    assert r.name == "thing"
    assert info.types[1] is r
    bound = info.type.exports["thing"]
    assert bound == T.TypeBound(r, True)
    assert info.core_funcs[-1] == T.CoreFuncType(("i32",), ("i32",))


def test_imported_resource_alias_is_same_object() -> None:
    info = check("""(component
      (import "i" (instance $i
        (export "r" (type $r (sub resource)))
        (export "f" (func (param "x" (borrow $r))))))
      (alias export $i "r" (type $a))
      (alias export $i "r" (type $b))
      (alias export $i "f" (func $f)))""")
    a, b = info.types[1:]
    assert a is b and isinstance(a, T.ResourceType) and not a.defined
    assert a.name == "r"
    ft = info.funcs[0]
    assert ft.params[0][1] == T.BorrowType(a)
    bound = info.type.imports["i"].exports["r"]
    assert bound.sub_resource and bound.type is a


def test_each_instantiation_has_fresh_resources() -> None:
    info = check("""(component
      (component $C
        (type $r (resource (rep i32)))
        (export "r" (type $r)))
      (instance $c1 (instantiate $C))
      (instance $c2 (instantiate $C))
      (alias export $c1 "r" (type $r1))
      (alias export $c2 "r" (type $r2)))""")
    r1, r2 = info.types
    inner = info.nested[0].types[0]
    assert isinstance(r1, T.ResourceType) and isinstance(r2, T.ResourceType)
    assert r1 is not r2 and r1 is not inner and r2 is not inner
    assert not r1.defined and r1.name == "r"
    assert isinstance(info.components[0], ComponentInfo)
    assert info.components[0].parent is info


def test_instantiate_substitutes_imported_resources() -> None:
    info = check("""(component
      (import "R" (type $R (sub resource)))
      (component $C
        (import "t" (type $t (sub resource)))
        (import "g" (func $g (param "x" (own $t))))
        (export "g2" (func $g)))
      (import "g" (func $g (param "x" (own $R))))
      (instance $c (instantiate $C (with "t" (type $R)) (with "g" (func $g))))
      (alias export $c "g2" (func $h)))""")
    R = info.types[0]
    assert info.funcs[-1] == T.FuncType((("x", T.OwnType(R)),), None)


def test_instantiate_rejects_wrong_resource() -> None:
    reject("""(component
      (import "R" (type $R (sub resource)))
      (import "S" (type $S (sub resource)))
      (component $C
        (import "t" (type $t (sub resource)))
        (import "g" (func (param "x" (own $t)))))
      (import "g" (func $g (param "x" (own $S))))
      (instance (instantiate $C (with "t" (type $R)) (with "g" (func $g)))))""",
           "resource types are not the same")


def test_outer_alias_of_component_gives_info() -> None:
    info = check("""(component $P
      (component $A)
      (component (alias outer $P $A (component $a)) (instance (instantiate $a))))""")
    assert info.nested[1].components[0] is info.nested[0]


def test_component_type_and_core_module_type_resolve() -> None:
    text = """(component
      (core type $mt (module (import "a" "b" (func (param i32))) (export "c" (memory 1))))
      (type $ct (component
        (import "x" (func (param "p" u8)))
        (export "y" (instance (export "z" (type (sub resource)))))))
      (import "m" (core module (type $mt)))
      (import "c" (component (type $ct))))"""
    # Wasmtime 49 refuses a root-level component import; the spec allows it
    with pytest.raises(ValidationError, match="root-level component imports are not supported"):
        check(text)
    info = validate(decode_component(wat(text)), FEATURES, wasmtime_restrictions=False)
    mt = info.core_types[0]
    assert isinstance(mt, T.CoreModuleType)
    assert mt.imports == (("a", "b", "func", T.CoreFuncType(("i32",), ())),)
    ct = info.types[0]
    assert isinstance(ct, T.ComponentType)
    assert ct.imports["x"] == T.FuncType((("p", T.U8),), None)
    assert isinstance(ct.exports["y"], T.InstanceType)
    assert info.core_modules[0] is mt


# -- rejected components -------------------------------------------------------------------------


INVALID = {
    # Wasmtime 49's restrictions on a root component (the spec allows both)
    "root_component_import": ('(component (import "x" (component)))',
                              "root-level component imports are not supported"),
    "root_component_export": ('(component (component $c) (export "x" (component $c)))',
                              "exporting a component from the root component is not supported"),
    "root_reexport_import": ('(component (import "f" (func $f)) (export "g" (func $f)))',
                             "component export `g` is a reexport of an imported function"),
    "root_reexport_alias": ('(component (import "i" (instance $i (export "f" (func)))) '
                            '(alias export $i "f" (func $f)) (export "g" (func $f)))',
                            "component export `g` is a reexport of an imported function"),
    "root_reexport_instance": ('(component (import "i" (instance $i (export "f" (func)))) '
                               '(export "j" (instance $i)))',
                               "component export `f` is a reexport of an imported function"),
    "type_index": ('(component (type (list 3)))', "type index out of bounds"),
    "own_non_resource": ('(component (type u32) (type (own 0)))', "is not a resource type"),
    "borrow_result": ('(component (type (resource (rep i32))) (type (func (result (borrow 0)))))',
                      "function result cannot contain a `borrow` type"),
    "stream_char": ('(component (type (stream char)))', "stream<char>"),
    "flags_33": ('(component (type (flags ' + " ".join(f'"f{i}"' for i in range(33)) + ')))',
                 "cannot have more than 32 flags"),
    "dup_field": ('(component (type (record (field "a" u8) (field "A" u8))))',
                  "conflicts with previous field name"),
    "not_kebab": ('(component (type (enum "a_b")))', "is not in kebab case"),
    "too_big": ('(component (type (list u64 33554432)))', "exceeds maximum byte size"),
    "dup_import": ('(component (import "a" (func)) (import "A" (func)))',
                   "conflicts with previous name"),
    "bad_name": ('(component (import "a:b" (func)))', "expected `/` after package name"),
    "method_self": ('(component (import "r" (type $r (sub resource))) '
                    '(import "[method]r.f" (func (param "x" (borrow $r)))))',
                    "first argument called `self`"),
    "ctor_result": ('(component (import "r" (type $r (sub resource))) '
                    '(import "[constructor]r" (func (result u32))))', "should return `(own $T)`"),
    "async_on_sync": (f'(component {CORE_F} (func (canon lift (core func $i "f") async '
                      '(callback (core func $i "cb")))))', "requires an async function type"),
    "lift_sig": (f'(component {CORE_F} (func (param "a" u32) (canon lift (core func $i "f"))))',
                 "lowered parameter types"),
    "memory_required": (f'(component {CORE_F} (import "h" (func $h (param "s" string))) '
                        '(core func (canon lower (func $h))))', "`memory` is required"),
    "realloc_required": (f'(component {CORE_F} (import "h" (func $h (result string))) '
                         '(core func (canon lower (func $h) (memory (core memory $i "mem")))))',
                         "`realloc` is required"),
    "dup_option": (f'(component {CORE_F} (import "h" (func $h)) '
                   '(core func (canon lower (func $h) (memory (core memory $i "mem")) (memory (core memory $i "mem")))))',
                   "specified more than once"),
    "encoding_conflict": (f'(component {CORE_F} (import "h" (func $h)) '
                          '(core func (canon lower (func $h) string-encoding=utf8 '
                          'string-encoding=utf16)))', "conflicts with option"),
    "post_return_type": (f'(component {CORE_F} (func (result u32) (canon lift '
                         '(core func $i "f") (post-return (core func $i "cb")))))',
                         "lowered parameter types"),
    "context_slot": ('(component (core func (canon context.get i32 2)))', "less than 2"),
    "resource_new_imported": ('(component (import "r" (type $r (sub resource))) '
                              '(core func (canon resource.new $r)))', "not a local resource"),
    "dtor_sig": (f'(component {CORE_F} (type (resource (rep i32) (dtor (core func $i "f")))))',
                 "wrong signature for a destructor"),
    "missing_arg": ('(component (component $C (import "x" (func))) '
                    '(instance (instantiate $C)))', "missing import named `x`"),
    "core_missing_arg": ('(component (core module $m (import "a" "b" (func))) '
                         '(core instance (instantiate $m)))',
                         "missing module instantiation argument"),
    "alias_missing": ('(component (instance $i) (alias export $i "x" (func $f)))',
                      "has no export named `x`"),
    "outer_count": ('(component (component (alias outer 2 0 (type $t))))',
                    "invalid outer alias count"),
    "outer_resource": ('(component $C (type $R (resource (rep i32))) '
                       '(component (alias outer $C $R (type $a))))',
                       "transitively refers to resources"),
    "export_visibility": (f'(component {CORE_F} (type $R (resource (rep i32))) '
                          '(func $f (param "x" u32) (param "y" u32) (result (own $R)) '
                          '(canon lift (core func $i "f"))) (export "f" (func $f)))',
                          "func not valid to be used as export"),
    "task_return_opts": (f'(component {CORE_F} (core func (canon task.return (result u32) '
                         '(realloc (core func $i "realloc")) (memory (core memory $i "mem")))))',
                         "not allowed in `task.return`"),
    "stream_read_memory": ('(component (type $s (stream u32)) '
                           '(core func (canon stream.read $s async)))', "`memory` is required"),
    "resource_in_type": ('(component (type (component (type (resource (rep i32))))))',
                         "resources can only be defined within a concrete component"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_component_is_rejected(name: str) -> None:
    text, message = INVALID[name]
    reject(text, message)


VALID = {
    "empty": "(component)",
    "kebab_names": '(component (import "a-B1" (func)) (import "ns:pkg/iface@1.2.3-rc.1" (func)))',
    "resource_methods": """(component
      (import "r" (type $r (sub resource)))
      (import "[constructor]r" (func (result (own $r))))
      (import "[method]r.get" (func (param "self" (borrow $r)) (result u32)))
      (import "[static]r.make" (func (result (own $r)))))""",
    "callback_lift": f"""(component {CORE_F}
      (func async (canon lift (core func $i "cb") async (callback (core func $i "cb"))
         ))
      )""".replace('(core func $i "cb") async', '(core func $i "start") async'),
    "stackful_lift": f"""(component {CORE_F}
      (core module $n (func (export "g")))
      (core instance $j (instantiate $n))
      (func async (canon lift (core func $j "g") async)))""",
    "builtins": f"""(component {CORE_F}
      (type $s (stream u8))
      (type $fu (future string))
      (core func (canon backpressure.inc))
      (core func (canon waitable-set.new))
      (core func (canon waitable-set.wait (memory (core memory $i "mem"))))
      (core func (canon stream.new $s))
      (core func (canon stream.read $s async (memory (core memory $i "mem"))))
      (core func (canon future.read $fu async (memory (core memory $i "mem")) (realloc (core func $i "realloc"))))
      (core func (canon future.cancel-write $fu))
      (core func (canon subtask.drop))
      (core func (canon thread.yield))
      (core func (canon context.set i32 1))
      (core func (canon task.return (result string) (memory (core memory $i "mem")))))""",
    "instance_reexport": f"""(component
      (component $C {CORE_F}
        (type $r (resource (rep i32)))
        (export $r2 "r" (type $r))
        (func $f (param "a" u32) (param "b" u32) (result (own $r2))
          (canon lift (core func $i "f")))
        (export "f" (func $f)))
      (instance $c (instantiate $C))
      (export "c" (instance $c)))""",
    "core_link": """(component
      (core module $a (func (export "f") (param i32)) (memory (export "m") 2))
      (core module $b (import "x" "f" (func (param i32))) (import "x" "m" (memory 1)))
      (core instance $ia (instantiate $a))
      (core instance (instantiate $b (with "x" (instance $ia)))))""",
}

INVALID_ONLY_DIFF = {
    "core_link_bad_func": """(component
      (core module $a (func (export "f")))
      (core module $b (import "x" "f" (func (param i32))))
      (core instance $ia (instantiate $a))
      (core instance (instantiate $b (with "x" (instance $ia)))))""",
    "core_link_bad_memory": """(component
      (core module $a (memory (export "m") 1))
      (core module $b (import "x" "m" (memory 2)))
      (core instance $ia (instantiate $a))
      (core instance (instantiate $b (with "x" (instance $ia)))))""",
    "instance_missing_export": """(component
      (component $C (import "i" (instance (export "f" (func)))))
      (instance $e)
      (instance (instantiate $C (with "i" (instance $e)))))""",
    "import_visibility": """(component
      (type $R (resource (rep i32)))
      (export $R2 "r" (type $R))
      (import "f" (func (result (own $R2)))))""",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_component_validates(name: str) -> None:
    check(VALID[name])


def _wasm_tools_accepts(data: bytes) -> bool:
    tool = _wasm_tools()
    assert tool is not None
    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "c.wasm")
        p.write_bytes(data)
        proc = subprocess.run([tool, "validate", "--features", "all", str(p)],
                              capture_output=True, text=True)
    return proc.returncode == 0


#: Rejected by Wasmtime 49 (as by wasmloop), accepted by wasm-tools' validator.
WASMTIME_ONLY = {"root_component_import", "root_component_export", "root_reexport_import",
                 "root_reexport_alias", "root_reexport_instance"}
DIFF_CASES = {**VALID, **INVALID_ONLY_DIFF,
              **{k: v for k, (v, _) in INVALID.items() if k not in WASMTIME_ONLY}}


@pytest.mark.parametrize("name", sorted(DIFF_CASES))
def test_verdict_matches_wasm_tools(name: str) -> None:
    data = wat(DIFF_CASES[name])
    try:
        validate(decode_component(data), FEATURES)
        ours = True
    except ValidationError:
        ours = False
    assert ours == _wasm_tools_accepts(data)


def test_values_are_rejected_as_unsupported() -> None:
    comp = ast.Component(definitions=(ast.Start(func_index=0, args=(), results=0, offset=8),))
    with pytest.raises(ValidationError, match="not supported"):
        validate(comp, FEATURES)


def test_proposals_beyond_wasmtime_defaults_are_gated() -> None:
    """Like Wasmtime 49: stackful lifts, error contexts, the 🧵 built-ins and context slot 1
    need their feature; with it the same component validates."""
    text = "(component (core func (canon context.get i32 1)))"
    with pytest.raises(ValidationError, match="immediate must be zero: 1"):
        validate(decode_component(wat(text)))
    validate(decode_component(wat(text)), frozenset({"async", "threading"}))
    text = "(component (core func (canon thread.index)))"
    with pytest.raises(ValidationError, match="threading"):
        validate(decode_component(wat(text)))

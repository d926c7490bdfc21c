"""Property tests of the Canonical ABI through real components: random value types and values
are lowered and lifted host → guest → host, and across a component-to-component call, and
must come back unchanged.

For a type T an *echo* component exports::

    echo: func(x: T, pad: tuple<u8 × 17>) -> tuple<T, tuple<u8 × 17>>

With more than 16 flat parameters the arguments arrive in memory, and the result (more than
one flat value) is returned in memory with the same layout, so the core function returns the
pointer it was given (as tests/test_wave.py does). A *forwarding* component imports that
echo instance (linked at run time) and exports `fwd` of the same type, whose core code calls
the echo component's `echo` through `canon lower`: the value is lowered into the
forwarder's memory, lifted from it, lowered into the echo component's memory, and all the
way back.
"""

from __future__ import annotations

import asyncio

from componentutil import wat_to_wasm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_abi_support import canon, val_types, values

import wasmloop
from wasmloop import types as T
from wasmloop.abi import layout

PAD_N = 17
PAD = tuple(range(1, PAD_N + 1))
FEATURES = {"component-model-map": True, "component-model-fixed-length-lists": True}


class _WatTypes:
    """Component-level type definitions for ValTypes; nominal types are exported (named).
    ``decl``: write them as an instance type's declarations (``(export "tN" (type (eq …)))``)."""

    def __init__(self, decl: bool = False) -> None:
        self.defs: list[str] = []
        self.n = 0
        self.decl = decl

    def ref(self, t: T.ValType) -> str:
        if isinstance(t, T.PrimType):
            return t.kind
        if isinstance(t, T.ListType):
            n = f" {t.length}" if t.length is not None else ""
            return f"(list {self.ref(t.elem)}{n})"
        if isinstance(t, T.MapType):
            return f"(map {self.ref(t.key)} {self.ref(t.value)})"
        if isinstance(t, T.TupleType):
            return "(tuple " + " ".join(self.ref(e) for e in t.elems) + ")"
        if isinstance(t, T.OptionType):
            return f"(option {self.ref(t.elem)})"
        if isinstance(t, T.ResultType):
            parts = ["result"]
            if t.ok is not None:
                parts.append(self.ref(t.ok))
            if t.err is not None:
                parts.append(f"(error {self.ref(t.err)})")
            return "(" + " ".join(parts) + ")"
        if isinstance(t, T.RecordType):
            body = "(record " + " ".join(
                f'(field "{n}" {self.ref(ft)})' for n, ft in t.fields) + ")"
        elif isinstance(t, T.VariantType):
            body = "(variant " + " ".join(
                f'(case "{n}" {self.ref(ct)})' if ct is not None else f'(case "{n}")'
                for n, ct in t.cases) + ")"
        elif isinstance(t, T.EnumType):
            body = "(enum " + " ".join(f'"{x}"' for x in t.labels) + ")"
        elif isinstance(t, T.FlagsType):
            body = "(flags " + " ".join(f'"{x}"' for x in t.labels) + ")"
        else:  # pragma: no cover - the strategy makes no other types
            raise NotImplementedError(t)
        i = self.n
        self.n += 1
        self.defs.append(f"(type $d{i} {body})")
        if self.decl:
            self.defs.append(f'(export "t{i}" (type $t{i} (eq $d{i})))')
        else:
            self.defs.append(f'(export $t{i} "t{i}" (type $d{i}))')
        return f"$t{i}"


_MEMORY = """
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 16))
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      local.get 2 i32.const 1 i32.sub i32.add
      local.get 2 i32.const 1 i32.sub i32.const -1 i32.xor i32.and
      local.tee $p local.get 3 i32.add global.set $bump
      (block $done
        (loop $grow
          global.get $bump memory.size i32.const 16 i32.shl i32.le_u br_if $done
          i32.const 1 memory.grow i32.const -1 i32.eq
          if unreachable end
          br $grow))
      local.get $p)
"""


def _echo_sig(ref: str) -> str:
    pad = "(tuple " + " ".join(["u8"] * PAD_N) + ")"
    return f'(param "x" {ref}) (param "pad" {pad}) (result (tuple {ref} {pad}))'


_OPTS = ('(memory (core memory $i "mem")) (realloc (core func $i "realloc")) '
         "string-encoding=utf8")


def echo_wat(t: T.ValType) -> str:
    """The echo component for ``t``: exports its named types and `echo`."""
    w = _WatTypes()
    ref = w.ref(t)
    return f"""(component
  (core module $m {_MEMORY}
    (func (export "echo") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  {" ".join(w.defs)}
  (func (export "echo") {_echo_sig(ref)} (canon lift (core func $i "echo") {_OPTS})))
"""


def forwarder_wat(t: T.ValType) -> str:
    """A component importing an echo instance ``e`` (types and `echo`) and exporting `fwd`,
    whose core code calls the imported `echo` through `canon lower`."""
    whole = T.TupleType((t, T.TupleType(tuple([T.U8] * PAD_N))))
    size, align = layout.size(whole), layout.alignment(whole)
    w = _WatTypes(decl=True)
    ref = w.ref(t)
    aliases = " ".join(f'(alias export $e "t{i}" (type $t{i}))' for i in range(w.n))
    return f"""(component
  (import "e" (instance $e {" ".join(w.defs)} (export "echo" (func {_echo_sig(ref)}))))
  {aliases}
  (core module $mem {_MEMORY})
  (core instance $i (instantiate $mem))
  (core func $lowered (canon lower (func $e "echo") {_OPTS}))
  (core module $fwd
    (import "" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "" "echo" (func $echo (param i32 i32)))
    (func (export "fwd") (param $p i32) (result i32) (local $r i32)
      (local.set $r (call $realloc (i32.const 0) (i32.const 0) (i32.const {align})
                                   (i32.const {size})))
      (call $echo (local.get $p) (local.get $r))
      (local.get $r)))
  (core instance $f (instantiate $fwd (with "" (instance
    (export "realloc" (func $i "realloc")) (export "echo" (func $lowered))))))
  (func (export "fwd") {_echo_sig(ref)} (canon lift (core func $f "fwd") {_OPTS})))
"""


_ENGINE: list[wasmloop.Engine] = []


def _engine() -> wasmloop.Engine:
    if not _ENGINE:
        _ENGINE.append(wasmloop.Engine(features=FEATURES))
    return _ENGINE[0]


def _round_trips(t: T.ValType, vs: list[object]) -> None:
    engine = _engine()
    echo = wasmloop.Linker(engine).instantiate_sync(
        wasmloop.Component(engine, wat_to_wasm(echo_wat(t))))
    linker = wasmloop.Linker(engine)
    linker.define_instance("e", echo)
    fwd = linker.instantiate_sync(wasmloop.Component(engine, wat_to_wasm(forwarder_wat(t))))
    calls = [("echo", echo.exports["echo"]), ("fwd", fwd.exports["fwd"])]

    async def run() -> None:
        for v in vs:
            for name, f in calls:
                back, pad = await f(v, PAD)  # type: ignore[operator, misc]
                assert pad == PAD, (name, t)
                assert canon(back) == canon(v), (name, t, v, back)

    asyncio.run(run())


typed_value_lists = val_types.flatmap(
    lambda t: st.tuples(st.just(t), st.lists(values(t), min_size=1, max_size=4)))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(typed_value_lists)
def test_values_survive_host_guest_and_component_to_component(
        tv: tuple[T.ValType, list[object]]) -> None:
    t, vs = tv
    _round_trips(t, vs)


def test_map_with_repeated_keys_survives_both_paths() -> None:
    t = T.MapType(T.STRING, T.ListType(T.U8))
    _round_trips(t, [wasmloop.Map([("a", b"1"), ("a", b""), ("b", b"22")])])

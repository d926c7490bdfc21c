"""The Component Model's runtime rules where the host side matters: type identity in a real
component, start functions, re-entrance, task.return's signature, post-return built-ins, map
values and memory64 (the wast side is in tests/wast/*.wast)."""

from __future__ import annotations

import asyncio

import guests
import pytest
from componentutil import wat_to_wasm

import wasmloop

HANDLER_WORLD = """package local:app;
world app {
  export wasi:http/handler@0.3.0;
}
"""

HANDLER_JS = """import { Response, Fields } from 'wasi:http/types@0.3.0';
export const handler = {
  async handle(request) {
    const [resp, fut] = Response.new(new Fields(), undefined, Promise.resolve({tag: 'ok'}));
    return resp;
  }
};
"""


def test_qjs_http_handler_validates() -> None:
    """componentize-qjs's shim re-exports `error-code` (a variant imported through an instance
    import of a nested component); the outer re-export of that instance is valid."""
    wit = guests.wasi_wit("0.3.0", HANDLER_WORLD)
    path = guests.build_qjs(HANDLER_JS, wit, "app")
    component = wasmloop.Component.from_file(wasmloop.Engine(), str(path))
    handler = component.exports["wasi:http/handler@0.3.0"]
    assert "handle" in handler.exports  # type: ignore[attr-defined]


# -- re-entrance --------------------------------------------------------------------------------

REENTER = """
(component
  (import "cb" (func $cb (result u32)))
  (core func $cb (canon lower (func $cb)))
  (core module $M
    (import "" "cb" (func $cb (result i32)))
    (func (export "f") (result i32) (i32.add (call $cb) (i32.const 1000)))
    (func (export "g") (result i32) (i32.const 5)))
  (core instance $m (instantiate $M (with "" (instance (export "cb" (func $cb))))))
  (func (export "f") (result u32) (canon lift (core func $m "f")))
  (func (export "g") (result u32) (canon lift (core func $m "g"))))
"""


def _reenter_setup(target: str) -> tuple[wasmloop.Instance, wasmloop.Instance]:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(REENTER))
    insts: dict[str, wasmloop.Instance] = {}

    async def cb() -> int:
        # Called synchronously from `f`: the first step of the coroutine runs on f's stack.
        return await insts[target].exports["g"]()  # type: ignore[operator]

    linker = wasmloop.Linker(engine)
    linker.define_func(None, "cb", cb)
    insts["one"] = linker.instantiate_sync(comp)
    insts["two"] = linker.instantiate_sync(comp)
    return insts["one"], insts["two"]


def test_host_callback_into_another_instance_is_allowed() -> None:
    one, _two = _reenter_setup("two")
    assert asyncio.run(one.exports["f"]()) == 1005  # type: ignore[operator]


def test_host_callback_into_the_calling_instance_traps() -> None:
    one, _two = _reenter_setup("one")
    with pytest.raises(wasmloop.Trap, match="cannot enter component instance"):
        asyncio.run(one.exports["f"]())  # type: ignore[operator]


# -- map<K, V> ------------------------------------------------------------------------------------

MAP_ECHO = """
(component
  (core module $Mem (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (core module $E
    (import "" "mem" (memory 1))
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0x800) (local.get 0))
      (i32.store (i32.const 0x804) (local.get 1))
      (i32.const 0x800))
    (func (export "count") (param i32 i32) (result i32) (local.get 1)))
  (core instance $e (instantiate $E (with "" (instance (export "mem" (memory $mem "mem"))))))
  (type $m (map string u32))
  (func (export "echo") (param "m" $m) (result $m)
    (canon lift (core func $e "echo") (memory (core memory $mem "mem"))
      (realloc (core func $mem "realloc"))))
  (func (export "count") (param "m" $m) (result u32)
    (canon lift (core func $e "count") (memory (core memory $mem "mem"))
      (realloc (core func $mem "realloc")))))
"""


def test_map_keeps_every_entry_at_the_host_boundary() -> None:
    engine = wasmloop.Engine(features={"component-model-map": True})
    inst = wasmloop.Linker(engine).instantiate_sync(
        wasmloop.Component(engine, wat_to_wasm(MAP_ECHO)))
    echo, count = inst.exports["echo"], inst.exports["count"]
    m = wasmloop.Map([("a", 1), ("b", 2), ("a", 3)])
    out = asyncio.run(echo(m))  # type: ignore[operator]
    assert isinstance(out, wasmloop.Map)
    assert out.items() == [("a", 1), ("b", 2), ("a", 3)]
    assert out == m and out.get("a") == 3 and out.to_dict() == {"a": 3, "b": 2}
    assert out != {"a": 3, "b": 2}  # a repeated key: not equal to any dict
    assert asyncio.run(count([("x", 1), ("x", 1)])) == 2  # type: ignore[operator]
    assert asyncio.run(echo({"k": 7, "j": 8})) == {"k": 7, "j": 8}  # type: ignore[operator]
    with pytest.raises(TypeError, match="map"):
        asyncio.run(echo(5))  # type: ignore[operator]

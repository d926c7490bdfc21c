"""The embedding API end to end: load, link against Python and against other components, call."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from componentutil import wat_to_wasm

import wasmloop

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    return wasmloop.Engine()


def component(engine: wasmloop.Engine, wat: str) -> wasmloop.Component:
    return wasmloop.Component(engine, wat_to_wasm(wat))


def test_example_add_and_greet(engine: wasmloop.Engine) -> None:
    comp = wasmloop.Component.from_file(engine, EXAMPLES / "hello.wasm")

    async def main() -> tuple[int, str]:
        inst = await wasmloop.Linker(engine).instantiate(comp)
        return await inst.exports["add"](1, 2), await inst.exports["greet"]("world")

    assert asyncio.run(main()) == (3, "hello, world")


def test_sync_convenience_calls(engine: wasmloop.Engine) -> None:
    comp = wasmloop.Component.from_file(engine, EXAMPLES / "hello.wasm")
    inst = wasmloop.Linker(engine).instantiate_sync(comp)
    assert inst.exports["add"].call_sync(40, 2) == 42
    assert inst.exports["add"].call_sync(0xFFFFFFFF, 1) == 0
    assert inst.exports["greet"].call_sync("ünïcode ✓") == "hello, ünïcode ✓"


HOST_IMPORTS = """
(component
  (import "local:demo/host" (instance $host
    (export "log" (func (param "msg" string)))
    (export "slow-double" (func (param "x" u32) (result u32)))))
  (core module $mem (memory (export "memory") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "memory" (core memory $memory))
  (core func $log (canon lower (func $host "log") (memory $memory)))
  (core func $slow (canon lower (func $host "slow-double")))
  (core module $m
    (import "host" "log" (func $log (param i32 i32)))
    (import "host" "slow-double" (func $slow (param i32) (result i32)))
    (import "env" "memory" (memory 1))
    (data (i32.const 16) "called")
    (func (export "run") (param i32) (result i32)
      (call $log (i32.const 16) (i32.const 6))
      (i32.add (call $slow (local.get 0)) (call $slow (i32.const 1)))))
  (core instance $i (instantiate $m
    (with "host" (instance (export "log" (func $log)) (export "slow-double" (func $slow))))
    (with "env" (instance $mem))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
)
"""


def test_host_imports_sync_and_async(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_IMPORTS)
    logged: list[str] = []

    async def slow_double(x: int) -> int:
        await asyncio.sleep(0.001)
        return 2 * x

    async def main() -> list[int]:
        linker = wasmloop.Linker(engine)
        linker.define_func("local:demo/host", "log", logged.append)
        linker.define_func("local:demo/host", "slow-double", slow_double)
        inst = await linker.instantiate(comp)
        run = inst.exports["run"]
        # Many calls in flight on one instance: each suspends its own fiber twice.
        return await asyncio.gather(*(run(i) for i in range(50)))

    assert asyncio.run(main()) == [2 * i + 2 for i in range(50)]
    assert logged == ["called"] * 50


def test_async_import_from_sync_call(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_IMPORTS)

    async def slow_double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    linker = wasmloop.Linker(engine)
    linker.define_func("local:demo/host", "log", lambda msg: None)
    linker.define_func("local:demo/host", "slow-double", slow_double)
    inst = linker.instantiate_sync(comp)
    assert inst.exports["run"].call_sync(20) == 42


def test_missing_import_is_a_link_error(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_IMPORTS)
    linker = wasmloop.Linker(engine)
    linker.define_func("local:demo/host", "log", print)
    with pytest.raises(wasmloop.LinkError, match="slow-double"):
        linker.instantiate_sync(comp)


def test_instance_pre_links_once_and_instantiates_many(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_IMPORTS)
    linker = wasmloop.Linker(engine)
    linker.define_func("local:demo/host", "log", print)
    # the link check happens when linking, not at the first instantiation
    with pytest.raises(wasmloop.LinkError, match="slow-double"):
        linker.instantiate_pre(comp)
    logged: list[str] = []
    linker = wasmloop.Linker(engine)
    linker.define_func("local:demo/host", "log", logged.append)
    linker.define_func("local:demo/host", "slow-double", lambda x: 2 * x)
    pre = linker.instantiate_pre(comp)
    assert isinstance(pre, wasmloop.InstancePre) and pre.component is comp

    async def main() -> list[int]:
        insts = [await pre.instantiate() for _ in range(3)]
        return [await inst.exports["run"](i) for i, inst in enumerate(insts)]

    assert asyncio.run(main()) == [2, 4, 6]
    assert pre.instantiate_sync().exports["run"].call_sync(10) == 22
    assert logged == ["called"] * 4


def test_instances_from_one_pre_trap_alone(engine: wasmloop.Engine) -> None:
    pre = wasmloop.Linker(engine).instantiate_pre(component(engine, TRAPPER))
    a, b = pre.instantiate_sync(), pre.instantiate_sync()
    with pytest.raises(wasmloop.Trap, match="unreachable"):
        a.exports["boom"].call_sync()
    with pytest.raises(wasmloop.Trap, match="cannot enter component instance"):
        a.exports["ok"].call_sync()
    assert b.exports["ok"].call_sync() == 7
    assert pre.instantiate_sync().exports["ok"].call_sync() == 7


def test_host_exception_traps_and_poisons(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_IMPORTS)

    def boom(x: int) -> int:
        raise RuntimeError("host says no")

    linker = wasmloop.Linker(engine)
    linker.define_func("local:demo/host", "log", lambda msg: None)
    linker.define_func("local:demo/host", "slow-double", boom)
    inst = linker.instantiate_sync(comp)
    with pytest.raises(wasmloop.Trap, match="host says no") as info:
        inst.exports["run"].call_sync(1)
    # The original exception (and its traceback) is chained for debugging.
    assert isinstance(info.value.__cause__, RuntimeError)
    assert str(info.value.__cause__) == "host says no"
    assert inst.poisoned
    with pytest.raises(wasmloop.Trap, match="cannot enter component instance"):
        inst.exports["run"].call_sync(1)


TRAPPER = """
(component
  (core module $m
    (func (export "ok") (result i32) (i32.const 7))
    (func (export "boom") (unreachable)))
  (core instance $i (instantiate $m))
  (func (export "ok") (result u32) (canon lift (core func $i "ok")))
  (func (export "boom") (canon lift (core func $i "boom")))
)
"""


def test_trap_poisons_instance_but_not_others(engine: wasmloop.Engine) -> None:
    comp = component(engine, TRAPPER)
    linker = wasmloop.Linker(engine)
    a = linker.instantiate_sync(comp)
    b = linker.instantiate_sync(comp)
    assert a.exports["ok"].call_sync() == 7
    with pytest.raises(wasmloop.Trap, match="unreachable"):
        a.exports["boom"].call_sync()
    with pytest.raises(wasmloop.Trap, match="cannot enter component instance"):
        a.exports["ok"].call_sync()
    assert b.exports["ok"].call_sync() == 7


PROVIDER = """
(component
  (core module $m
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))
  (core instance $i (instantiate $m))
  (func $double (param "x" u32) (result u32) (canon lift (core func $i "double")))
  (instance $math (export "double" (func $double)))
  (export "local:demo/math" (instance $math))
)
"""

CONSUMER = """
(component
  (import "local:demo/math" (instance $math
    (export "double" (func (param "x" u32) (result u32)))))
  (core func $double (canon lower (func $math "double")))
  (core module $m
    (import "math" "double" (func $double (param i32) (result i32)))
    (func (export "quad") (param i32) (result i32)
      (call $double (call $double (local.get 0)))))
  (core instance $i (instantiate $m (with "math" (instance (export "double" (func $double))))))
  (func (export "quad") (param "x" u32) (result u32) (canon lift (core func $i "quad")))
)
"""


def test_runtime_composition_of_two_components(engine: wasmloop.Engine) -> None:
    provider = component(engine, PROVIDER)
    consumer = component(engine, CONSUMER)

    async def main() -> int:
        linker = wasmloop.Linker(engine)
        a = await linker.instantiate(provider)
        assert await a.exports["local:demo/math"]["double"](21) == 42
        assert await a.exports["local:demo/math#double"](1) == 2
        linker.define_instance("local:demo/math", a.exports["local:demo/math"])
        b = await linker.instantiate(consumer)
        return await b.exports["quad"](5)

    assert asyncio.run(main()) == 20


HOST_RESOURCE = """
(component
  (import "local:demo/files" (instance $files
    (export "file" (type $file (sub resource)))
    (export "open" (func (param "name" string) (result (own $file))))
    (export "size" (func (param "f" (borrow $file)) (result u32)))))
  (alias export $files "file" (type $file))
  (core module $mem (memory (export "memory") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "memory" (core memory $memory))
  (core func $open (canon lower (func $files "open") (memory $memory)))
  (core func $size (canon lower (func $files "size")))
  (core func $drop (canon resource.drop $file))
  (core module $m
    (import "files" "open" (func $open (param i32 i32) (result i32)))
    (import "files" "size" (func $size (param i32) (result i32)))
    (import "files" "drop" (func $drop (param i32)))
    (import "env" "memory" (memory 1))
    (data (i32.const 16) "a.txt")
    (func (export "run") (result i32)
      (local $h i32) (local $s i32)
      (local.set $h (call $open (i32.const 16) (i32.const 5)))
      (local.set $s (call $size (local.get $h)))
      (call $drop (local.get $h))
      ;; handle index in the high half, size in the low half
      (i32.or (i32.shl (local.get $h) (i32.const 16)) (local.get $s))))
  (core instance $i (instantiate $m
    (with "files" (instance (export "open" (func $open)) (export "size" (func $size))
                            (export "drop" (func $drop))))
    (with "env" (instance $mem))))
  (func (export "run") (result u32) (canon lift (core func $i "run")))
)
"""


class File:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False


def test_host_resource_own_borrow_and_destructor(engine: wasmloop.Engine) -> None:
    comp = component(engine, HOST_RESOURCE)
    opened: list[File] = []
    dropped: list[File] = []

    def open_(name: str) -> File:
        f = File(name)
        opened.append(f)
        return f

    linker = wasmloop.Linker(engine)
    linker.define_resource("local:demo/files", "file", dtor=dropped.append)
    linker.define_func("local:demo/files", "open", open_)
    linker.define_func("local:demo/files", "size", lambda f: len(f.name) * 100)
    inst = linker.instantiate_sync(comp)
    # The first handle is 1 (index 0 is reserved); after the drop, the slot is reused.
    assert inst.exports["run"].call_sync() == (1 << 16) | 500
    assert inst.exports["run"].call_sync() == (1 << 16) | 500
    assert [f.name for f in opened] == ["a.txt", "a.txt"]
    assert dropped == opened


GUEST_RESOURCE = """
(component
  (core module $m
    (global $dropped (export "dropped") (mut i32) (i32.const 0))
    (func (export "dtor") (param i32)
      (global.set $dropped (i32.add (global.get $dropped) (local.get 0)))))
  (core instance $i (instantiate $m))
  (alias core export $i "dtor" (core func $dtor))
  (type $counter (resource (rep i32) (dtor (core func $dtor))))
  (core func $new (canon resource.new $counter))
  (core func $rep (canon resource.rep $counter))
  (core module $n
    (import "r" "new" (func $new (param i32) (result i32)))
    (import "r" "rep" (func $rep (param i32) (result i32)))
    (import "m" "dropped" (global $dropped (mut i32)))
    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "get") (param i32) (result i32) (local.get 0))
    (func (export "dropped") (result i32) (global.get $dropped)))
  (core instance $j (instantiate $n
    (with "r" (instance (export "new" (func $new)) (export "rep" (func $rep))))
    (with "m" (instance $i))))
  (export $c "counter" (type $counter))
  (func (export "make") (param "v" u32) (result (own $c)) (canon lift (core func $j "make")))
  (func (export "get") (param "c" (borrow $c)) (result u32) (canon lift (core func $j "get")))
  (func (export "dropped") (result u32) (canon lift (core func $j "dropped")))
)
"""


def test_guest_resource_held_by_the_host(engine: wasmloop.Engine) -> None:
    comp = component(engine, GUEST_RESOURCE)

    async def main() -> None:
        inst = await wasmloop.Linker(engine).instantiate(comp)
        ex = inst.exports
        r = await ex["make"](7)
        assert isinstance(r, wasmloop.Resource) and r.own
        # Lending to the defining component passes the rep straight through.
        assert await ex["get"](r) == 7
        assert await ex["get"](r) == 7
        assert await ex["dropped"]() == 0
        await r.drop()
        assert await ex["dropped"]() == 7
        with pytest.raises(ValueError, match="already moved or dropped"):
            await ex["get"](r)

    asyncio.run(main())


def test_component_loads_compiled_modules_from_the_disk_cache(tmp_path: Path) -> None:
    data = wat_to_wasm(TRAPPER)
    first = wasmloop.Component(wasmloop.Engine(cache_dir=tmp_path), data)
    assert all(not m.from_cache for m in first._compiled.values())
    second = wasmloop.Component(wasmloop.Engine(cache_dir=tmp_path), data)
    assert second._compiled and all(m.from_cache for m in second._compiled.values())
    inst = wasmloop.Linker(second.engine).instantiate_sync(second)
    assert inst.exports["ok"].call_sync() == 7


def test_malformed_component_is_a_decode_error(engine: wasmloop.Engine) -> None:
    data = (EXAMPLES / "hello.wasm").read_bytes()
    with pytest.raises(wasmloop.DecodeError, match="offset"):
        wasmloop.Component(engine, data[: len(data) // 2])
    with pytest.raises(wasmloop.DecodeError):
        wasmloop.Component(engine, b"\0asm\x01\0\0\0")  # a core module, not a component


SHADOW_STACK = """
(component
  (import "wait" (func $wait (param "x" u32)))
  (core func $wait (canon lower (func $wait)))
  (core module $m
    (import "host" "wait" (func $wait (param i32)))
    ;; Like a toolchain's shadow stack pointer: per-instance state held across an import.
    (global $sp (mut i32) (i32.const 0))
    (func (export "run") (param i32) (result i32)
      (local $saved i32) (local $r i32)
      (local.set $saved (global.get $sp))
      (global.set $sp (local.get 0))
      (call $wait (local.get 0))
      (local.set $r (global.get $sp))
      (global.set $sp (local.get $saved))
      (local.get $r)))
  (core instance $i (instantiate $m (with "host" (instance (export "wait" (func $wait))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
)
"""


def test_sync_calls_into_one_instance_never_interleave(engine: wasmloop.Engine) -> None:
    comp = component(engine, SHADOW_STACK)
    inside: list[int] = []
    overlap: list[bool] = []

    async def wait(x: int) -> None:
        overlap.append(bool(inside))
        inside.append(x)
        await asyncio.sleep(0.001 * (x % 3))
        inside.remove(x)

    async def main() -> list[int]:
        linker = wasmloop.Linker(engine)
        linker.define_func(None, "wait", wait)
        inst = await linker.instantiate(comp)
        other = await linker.instantiate(comp)
        run = inst.exports["run"]
        # A second instance is independent: its calls may run while the first is busy.
        both = await asyncio.gather(*(run(i) for i in range(20)), other.exports["run"](99))
        return list(both)

    assert asyncio.run(main()) == list(range(20)) + [99]
    # Calls into the same instance ran one at a time (only the other instance overlapped).
    assert overlap.count(True) <= 1


def test_host_import_calling_back_into_the_same_instance_traps(engine: wasmloop.Engine) -> None:
    comp = component(engine, SHADOW_STACK)
    holder: dict[str, wasmloop.Instance] = {}
    seen: list[int] = []

    async def wait(x: int) -> None:
        seen.append(x)
        if x > 0:
            await holder["inst"].exports["run"](x - 1)

    linker = wasmloop.Linker(engine)
    linker.define_func(None, "wait", wait)

    async def main() -> int:
        holder["inst"] = await linker.instantiate(comp)
        return await holder["inst"].exports["run"](3)

    # The instance is on the call stack while its import runs: the spec's entering set (from
    # the host: the instance and its ancestors) is not free, so re-entering it traps.
    with pytest.raises(wasmloop.Trap, match="cannot enter component instance"):
        asyncio.run(main())
    assert seen == [3]

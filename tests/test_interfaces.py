"""Binding Python objects as whole interfaces (``Linker.define_interface``), semver-compatible
import names, and stream/future ends fed from Python values."""

from __future__ import annotations

import asyncio

import pytest
from componentutil import wat_to_wasm

import wasmloop
from wasmloop.interfaces import class_name, compat_key, find_compatible, python_name

COUNTER = """
(component
  (import "local:demo/counter@0.2.1" (instance $c
    (export "counter" (type $ct (sub resource)))
    (export "[constructor]counter" (func (param "start" u32) (result (own $ct))))
    (export "[method]counter.bump" (func (param "self" (borrow $ct)) (param "by" u32) (result u32)))
    (export "[static]counter.zero" (func (result (own $ct))))
    (export "total" (func (result u32)))))
  (alias export $c "counter" (type $ct))
  (core func $new (canon lower (func $c "[constructor]counter")))
  (core func $bump (canon lower (func $c "[method]counter.bump")))
  (core func $zero (canon lower (func $c "[static]counter.zero")))
  (core func $total (canon lower (func $c "total")))
  (core func $drop (canon resource.drop $ct))
  (core module $m
    (import "c" "new" (func $new (param i32) (result i32)))
    (import "c" "bump" (func $bump (param i32 i32) (result i32)))
    (import "c" "zero" (func $zero (result i32)))
    (import "c" "total" (func $total (result i32)))
    (import "c" "drop" (func $drop (param i32)))
    (func (export "run") (param i32) (result i32)
      (local $h i32) (local $z i32) (local $r i32)
      (local.set $h (call $new (local.get 0)))
      (local.set $r (call $bump (local.get $h) (i32.const 5)))
      (local.set $z (call $zero))
      (drop (call $bump (local.get $z) (i32.const 1)))
      (call $drop (local.get $h))
      (call $drop (local.get $z))
      (i32.add (local.get $r) (call $total))))
  (core instance $i (instantiate $m (with "c" (instance
    (export "new" (func $new)) (export "bump" (func $bump)) (export "zero" (func $zero))
    (export "total" (func $total)) (export "drop" (func $drop))))))
  (func (export "run") (param "x" u32) (result u32) (canon lift (core func $i "run")))
)
"""


class CounterIface:
    def __init__(self) -> None:
        self.dropped: list[int] = []
        iface = self

        class Counter:
            def __init__(self, start: int) -> None:
                self.value = start

            def bump(self, by: int) -> int:
                self.value += by
                return self.value

            @staticmethod
            def zero() -> Counter:
                return Counter(0)

            def drop(self) -> None:
                iface.dropped.append(self.value)

        self.Counter = Counter

    async def total(self) -> int:
        await asyncio.sleep(0)
        return 1000


def test_interface_object_with_resource_class_and_compatible_version() -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(COUNTER))
    impl = CounterIface()

    async def main() -> int:
        linker = wasmloop.Linker(engine)
        linker.define_interface("local:demo/counter@0.2.7", impl)  # 0.2.1 is compatible
        inst = await linker.instantiate(comp)
        return await inst.exports["run"](10)

    assert asyncio.run(main()) == 1015
    assert impl.dropped == [15, 1]


def test_interface_missing_function_is_a_link_error() -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(COUNTER))

    class Partial:
        Counter = CounterIface().Counter

    linker = wasmloop.Linker(engine)
    linker.define_interface("local:demo/counter@0.2.1", Partial())
    with pytest.raises(wasmloop.LinkError, match="`total` is not implemented"):
        linker.instantiate_sync(comp)


def test_interface_wrong_arity_is_a_link_error() -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(COUNTER))
    impl = CounterIface()
    impl.total = lambda extra: 0  # type: ignore[assignment, method-assign, misc]
    linker = wasmloop.Linker(engine)
    linker.define_interface("local:demo/counter@0.2.1", impl)
    with pytest.raises(wasmloop.LinkError, match="cannot be called with the 0 arguments"):
        linker.instantiate_sync(comp)


def test_incompatible_version_names_what_is_offered() -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(COUNTER))
    linker = wasmloop.Linker(engine)
    linker.define_interface("local:demo/counter@0.3.0", CounterIface())
    linker.define_interface("local:demo/counter@1.0.0", CounterIface())
    with pytest.raises(wasmloop.LinkError, match=r"version 0\.2\.1 .*offered: 0\.3\.0, 1\.0\.0"):
        linker.instantiate_sync(comp)


def test_lowering_the_wrong_class_as_a_resource_is_an_error() -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(COUNTER))
    impl = CounterIface()
    impl.Counter.zero = staticmethod(lambda: object())  # type: ignore[assignment]
    linker = wasmloop.Linker(engine)
    linker.define_interface("local:demo/counter@0.2.1", impl)
    inst = linker.instantiate_sync(comp)
    with pytest.raises(wasmloop.Trap) as info:
        inst.exports["run"].call_sync(1)
    assert "expected a Counter" in str(info.value.__cause__ or info.value)


def test_names() -> None:
    assert python_name("get-arguments") == "get_arguments"
    assert python_name("from") == "from_"
    assert class_name("tcp-socket") == "TcpSocket"
    assert compat_key("wasi:cli/run@0.3.0-rc-2025-09-16") == ("wasi:cli/run", (0, 3))
    assert compat_key("a:b/c@1.4.2") == ("a:b/c", (1,))
    assert compat_key("a:b/c@0.0.3") == ("a:b/c", (0, 0, 3))
    defs = {"wasi:io/poll@0.2.0": 1, "wasi:io/poll@0.2.12": 2, "wasi:cli/run@0.3.0": 3}
    assert find_compatible("wasi:io/poll@0.2.9", defs) == "wasi:io/poll@0.2.12"
    assert find_compatible("wasi:cli/run@0.3.0-rc-2025-08-15", defs) == "wasi:cli/run@0.3.0"
    assert find_compatible("wasi:cli/env@0.3.0", defs) is None


PRODUCER = """
(component
  (import "produce" (func $p (result (stream u8))))
  (import "later" (func $l (result (future u32))))
  (core module $mem (memory (export "memory") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "memory" (core memory $memory))
  (core func $produce (canon lower (func $p)))
  (core func $later (canon lower (func $l)))
  (core func $ws (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $memory)))
  (type $st (stream u8))
  (type $ft (future u32))
  (core func $read (canon stream.read $st async (memory $memory)))
  (core func $fread (canon future.read $ft async (memory $memory)))
  (core module $m
    (import "h" "produce" (func $produce (result i32)))
    (import "h" "later" (func $later (result i32)))
    (import "h" "ws" (func $ws (result i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "h" "wait" (func $wait (param i32 i32) (result i32)))
    (import "h" "read" (func $read (param i32 i32 i32) (result i32)))
    (import "h" "fread" (func $fread (param i32 i32) (result i32)))
    (import "env" "memory" (memory 1))
    ;; sum of all bytes of the stream, plus the future's value
    (func (export "run") (result i32)
      (local $s i32) (local $f i32) (local $set i32) (local $r i32) (local $sum i32) (local $i i32)
      (local.set $s (call $produce))
      (local.set $set (call $ws))
      (call $join (local.get $s) (local.get $set))
      (block $done (loop $more
        (local.set $r (call $read (local.get $s) (i32.const 256) (i32.const 100)))
        (if (i32.eq (local.get $r) (i32.const -1))
          (then (drop (call $wait (local.get $set) (i32.const 0)))
                (local.set $r (i32.load (i32.const 4)))))
        (local.set $i (i32.const 0))
        (block $x (loop $y
          (br_if $x (i32.ge_u (local.get $i) (i32.shr_u (local.get $r) (i32.const 4))))
          (local.set $sum (i32.add (local.get $sum)
            (i32.load8_u (i32.add (i32.const 256) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $y)))
        (br_if $done (i32.eq (i32.and (local.get $r) (i32.const 0xf)) (i32.const 1)))
        (br $more)))
      (local.set $f (call $later))
      (call $join (local.get $f) (local.get $set))
      (local.set $r (call $fread (local.get $f) (i32.const 8)))
      (if (i32.eq (local.get $r) (i32.const -1))
        (then (drop (call $wait (local.get $set) (i32.const 0)))))
      (i32.add (local.get $sum) (i32.load (i32.const 8)))))
  (core instance $i (instantiate $m
    (with "h" (instance (export "produce" (func $produce)) (export "later" (func $later))
      (export "ws" (func $ws)) (export "join" (func $join)) (export "wait" (func $wait))
      (export "read" (func $read)) (export "fread" (func $fread))))
    (with "env" (instance $mem))))
  (func (export "run") async (result u32) (canon lift (core func $i "run")))
)
"""


@pytest.mark.parametrize("kind", ["bytes", "list-of-chunks", "generator", "async-generator"])
def test_host_results_fed_from_python_values(kind: str) -> None:
    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wat_to_wasm(PRODUCER))
    chunks = [b"\x01\x02", b"\x03" * 10, b"", b"\x04"]

    def produce() -> object:
        if kind == "bytes":
            return b"".join(chunks)
        if kind == "list-of-chunks":
            return iter(chunks)
        if kind == "generator":
            return (c for c in chunks)

        async def agen():  # type: ignore[no-untyped-def]
            for c in chunks:
                await asyncio.sleep(0)
                yield c
        return agen()

    async def later_value() -> int:
        await asyncio.sleep(0.001)
        return 1000

    async def main() -> int:
        linker = wasmloop.Linker(engine)
        linker.define_func(None, "produce", produce)
        linker.define_func(None, "later", lambda: later_value())
        inst = await linker.instantiate(comp)
        return await inst.exports["run"]()

    assert asyncio.run(main()) == 1 + 2 + 30 + 4 + 1000

"""The async half from the host's side: async exports, async host imports, cancellation,
deadlock detection."""

from __future__ import annotations

import asyncio

import pytest
from componentutil import wat_to_wasm

import wasmloop

# run(x): an async export (callback lift) that calls the async host import `slow(x)` with
# async lower, waits for it in a waitable set and returns its result. On TASK_CANCELLED it
# returns 0xdead if the `cancel-returns` flag is set, else it resolves by task.cancel.
ASYNC_CALLER = """
(component
  (import "slow" (func $slow async (param "x" u32) (result u32)))
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $slow (canon lower (func $slow) async (memory $memory)))
  (core func $ret (canon task.return (result u32)))
  (core func $cancel (canon task.cancel))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $sub.drop (canon subtask.drop))
  (core func $ctx.get (canon context.get i32 0))
  (core func $ctx.set (canon context.set i32 0))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "slow" (func $slow (param i32 i32) (result i32)))
    (import "" "ret" (func $ret (param i32)))
    (import "" "cancel" (func $cancel))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "sub.drop" (func $sub.drop (param i32)))
    (import "" "ctx.get" (func $ctx.get (result i32)))
    (import "" "ctx.set" (func $ctx.set (param i32)))
    (global $bump (mut i32) (i32.const 0x100))
    (global $cancel-returns (mut i32) (i32.const 0))
    (func (export "set-cancel-returns") (param i32) (global.set $cancel-returns (local.get 0)))
    ;; per task: out-pointer at $cell, waitable set at $cell+4 (the cell is in context slot 0)
    (func (export "run") (param $x i32) (result i32)
      (local $cell i32) (local $r i32) (local $ws i32)
      (local.set $cell (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (i32.const 8)))
      (local.set $r (call $slow (local.get $x) (local.get $cell)))
      (if (i32.eq (i32.and (local.get $r) (i32.const 0xf)) (i32.const 2))
        (then (call $ret (i32.load (local.get $cell))) (return (i32.const 0))))
      (local.set $ws (call $ws.new))
      (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
      (i32.store offset=4 (local.get $cell) (local.get $ws))
      (call $ctx.set (local.get $cell))
      (i32.or (i32.const 2) (i32.shl (local.get $ws) (i32.const 4))))
    (func (export "cb") (param $ev i32) (param $p1 i32) (param $p2 i32) (result i32)
      (local $cell i32)
      (local.set $cell (call $ctx.get))
      (if (i32.eq (local.get $ev) (i32.const 6))
        (then
          (if (global.get $cancel-returns)
            (then (call $ret (i32.const 0xdead)))
            (else (call $cancel)))
          (return (i32.const 0))))
      (if (i32.ne (local.get $p2) (i32.const 2))
        (then (return (i32.or (i32.const 2)
                              (i32.shl (i32.load offset=4 (local.get $cell)) (i32.const 4))))))
      (call $sub.drop (local.get $p1))
      (call $ret (i32.load (local.get $cell)))
      (i32.const 0)))
  (core instance $m (instantiate $M (with "" (instance
    (export "mem" (memory $memory)) (export "slow" (func $slow)) (export "ret" (func $ret))
    (export "cancel" (func $cancel)) (export "ws.new" (func $ws.new))
    (export "join" (func $join)) (export "sub.drop" (func $sub.drop))
    (export "ctx.get" (func $ctx.get)) (export "ctx.set" (func $ctx.set))))))
  (func (export "run") async (param "x" u32) (result u32)
    (canon lift (core func $m "run") async (callback (core func $m "cb"))))
  (func (export "set-cancel-returns") (param "on" u32)
    (canon lift (core func $m "set-cancel-returns")))
)
"""


@pytest.fixture(scope="module")
def engine() -> wasmloop.Engine:
    return wasmloop.Engine()


@pytest.fixture(scope="module")
def comp(engine: wasmloop.Engine) -> wasmloop.Component:
    return wasmloop.Component(engine, wat_to_wasm(ASYNC_CALLER))


async def instantiate(engine: wasmloop.Engine, comp: wasmloop.Component, slow) -> wasmloop.Instance:
    linker = wasmloop.Linker(engine)
    linker.define_func(None, "slow", slow)
    return await linker.instantiate(comp)


def test_many_async_calls_in_flight_each_waiting_on_the_host(engine, comp) -> None:
    async def slow(x: int) -> int:
        await asyncio.sleep(0.001 * (x % 5))
        return x * 3

    async def main() -> list[int]:
        inst = await instantiate(engine, comp, slow)
        return await asyncio.gather(*(inst.exports["run"](i) for i in range(300)))

    assert asyncio.run(main()) == [3 * i for i in range(300)]


def test_host_import_that_returns_at_once_gives_an_eager_return(engine, comp) -> None:
    def quick(x: int) -> int:
        return x + 1

    async def main() -> int:
        inst = await instantiate(engine, comp, quick)
        return await inst.exports["run"](41)

    assert asyncio.run(main()) == 42


def test_cancelling_the_host_task_delivers_task_cancel(engine, comp) -> None:
    started = asyncio.Event

    async def main() -> None:
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        entered = started()

        async def slow(x: int) -> int:
            entered.set()
            return await gate

        inst = await instantiate(engine, comp, slow)
        call = asyncio.ensure_future(inst.exports["run"](1))
        await entered.wait()
        call.cancel()
        with pytest.raises(wasmloop.Cancelled):
            await call
        # The guest resolved the cancellation itself: the instance is still healthy.
        assert not inst.poisoned
        gate.set_result(5)

    asyncio.run(main())


def test_cancelled_guest_may_still_return_a_value(engine, comp) -> None:
    async def main() -> int:
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        entered = asyncio.Event()

        async def slow(x: int) -> int:
            entered.set()
            return await gate

        inst = await instantiate(engine, comp, slow)
        await inst.exports["set-cancel-returns"](1)
        call = asyncio.ensure_future(inst.exports["run"](1))
        await entered.wait()
        call.cancel()
        return await call

    assert asyncio.run(main()) == 0xDEAD


WAIT_FOREVER = """
(component
  (core func $ws.new (canon waitable-set.new))
  (core module $M
    (import "" "ws.new" (func $ws.new (result i32)))
    (func (export "f") (result i32) (i32.or (i32.const 2) (i32.shl (call $ws.new) (i32.const 4))))
    (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
  (core instance $m (instantiate $M (with "" (instance (export "ws.new" (func $ws.new))))))
  (func (export "f") async (result u32) (canon lift (core func $m "f") async (callback (core func $m "cb"))))
)
"""


def test_deadlock_is_a_trap_naming_the_waiting_call(engine) -> None:
    comp = wasmloop.Component(engine, wat_to_wasm(WAIT_FOREVER))

    async def main() -> None:
        inst = await wasmloop.Linker(engine).instantiate(comp)
        with pytest.raises(wasmloop.Trap, match="deadlock detected.*`f`"):
            await inst.exports["f"]()
        assert inst.poisoned

    asyncio.run(main())


def test_pending_host_work_is_not_a_deadlock(engine, comp) -> None:
    """A guest waiting on a host import that waits on a timer is slow, not deadlocked."""

    async def slow(x: int) -> int:
        await asyncio.sleep(0.05)
        return x

    async def main() -> int:
        inst = await instantiate(engine, comp, slow)
        return await inst.exports["run"](7)

    assert asyncio.run(main()) == 7


def test_deadlock_is_not_declared_while_another_host_task_runs(engine, comp) -> None:
    """A host task that will resolve what the guest waits for keeps the call alive."""

    async def main() -> int:
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def slow(x: int) -> int:
            return await gate

        async def resolve_later() -> None:
            for _ in range(20):
                await asyncio.sleep(0)
            await asyncio.sleep(0.02)
            gate.set_result(11)

        inst = await instantiate(engine, comp, slow)
        helper = asyncio.ensure_future(resolve_later())
        r = await inst.exports["run"](0)
        await helper
        return r

    assert asyncio.run(main()) == 11

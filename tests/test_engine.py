"""Tests of the engine layer (wasmtime core modules, stores, fibers)."""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import random
import struct
import subprocess
import sys
import textwrap

import pytest
import wasmtime

from wasmloop.engine import (
    CallFuture,
    CoreEngine,
    CoreFunc,
    CoreInstance,
    CoreModule,
    FuncType,
    Global,
    Memory,
    Pending,
    Store,
    Table,
    ValKind,
)
from wasmloop.errors import Cancelled, LinkError, Trap, ValidationError

I32, I64, F32, F64 = ValKind.I32, ValKind.I64, ValKind.F32, ValKind.F64


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> CoreEngine:
    return CoreEngine(cache_dir=tmp_path_factory.mktemp("cache"))


@pytest.fixture
def store(engine: CoreEngine):
    s = Store(engine)
    yield s
    s.close()


BASIC = wat(
    """
(module
  (memory (export "mem") 1)
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "id32") (param f32) (result f32) local.get 0)
  (func (export "id64") (param f64) (result f64) local.get 0)
  (func (export "bits32") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
  (func (export "from_bits32") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
  (func (export "mix") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
    local.get 3 local.get 2 local.get 1 local.get 0)
  (func (export "trap") unreachable)
  (func $rec (export "recurse") (param i32) (result i32) local.get 0 call $rec)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
)
"""
)


@pytest.fixture
def basic(engine: CoreEngine, store: Store) -> CoreInstance:
    return store.instantiate(engine.compile(BASIC), [])


# ------------------------------------------------------------------------------------------
# compile, types, calls


def test_compile_and_call(engine: CoreEngine, store: Store, basic: CoreInstance) -> None:
    add = basic.exports["add"]
    assert isinstance(add, CoreFunc)
    assert add.type == FuncType((I32, I32), (I32,))
    assert store.call(add, (3, 4)) == (7,)
    assert store.call(basic.exports["nop"], ()) == ()
    fut = store.call_async(add, (40, 2))
    assert isinstance(fut, CallFuture)
    assert not fut.done
    assert fut.poll() is True
    assert fut.result() == (42,)
    assert fut.poll() is True  # idempotent


def test_module_imports_exports(engine: CoreEngine) -> None:
    m = engine.compile(
        wat(
            """(module
              (import "a" "f" (func (param i32 f64) (result i64)))
              (import "a" "m" (memory 1 2))
              (import "b" "t" (table 3 funcref))
              (import "b" "g" (global (mut i32)))
              (func (export "x") (result f32) f32.const 1)
              (memory (export "mem") 0))"""
        )
    )
    assert isinstance(m, CoreModule)
    kinds = [(mod, name, kind) for mod, name, kind, _t in m.imports]
    assert kinds == [
        ("a", "f", "func"),
        ("a", "m", "memory"),
        ("b", "t", "table"),
        ("b", "g", "global"),
    ]
    assert m.imports[0][3] == FuncType((I32, F64), (I64,))
    assert m.imports[1][3].minimum == 1 and m.imports[1][3].maximum == 2
    assert m.imports[2][3].element == ValKind.FUNCREF and m.imports[2][3].minimum == 3
    assert m.imports[3][3].content == I32 and m.imports[3][3].mutable
    assert m.exports[0] == ("x", "func", FuncType((), (F32,)))
    assert m.exports[1][:2] == ("mem", "memory")
    assert hash(FuncType((I32,), ())) == hash(FuncType(("i32",), ()))


def test_capi_layouts_match_wasmtime_py() -> None:
    """_capi loads libwasmtime itself (not through wasmtime-py) and hard-codes the C API's
    layouts: they must be those wasmtime-py declares, and the library the same one."""
    import ctypes

    import wasmtime._bindings as b

    from wasmloop.engine import _capi

    assert _capi.VAL_SIZE == ctypes.sizeof(b.wasmtime_val_t)
    assert _capi.VAL_PAYLOAD == b.wasmtime_val_t.of.offset
    assert _capi.RAW_SIZE == ctypes.sizeof(b.wasmtime_val_raw_t)
    assert _capi.EXTERN_SIZE == ctypes.sizeof(b.wasmtime_extern_t)
    assert _capi.EXTERN_PAYLOAD == b.wasmtime_extern_t.of.offset
    assert _capi.FUNC_SIZE == ctypes.sizeof(b.wasmtime_func_t)
    assert _capi.INSTANCE_SIZE == ctypes.sizeof(b.wasmtime_instance_t)
    assert _capi.CONT_SIZE == ctypes.sizeof(b.wasmtime_async_continuation_t)
    assert _capi.dll._handle == b.dll._handle


def test_run_path_does_not_import_wasmtime_py() -> None:
    """Importing wasmtime-py (its whole ctypes surface) is not needed to load a component."""
    code = ("import sys, wasmloop, wasmloop.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'wasmtime'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_value_kinds(store: Store, basic: CoreInstance) -> None:
    ex = basic.exports
    assert store.call(ex["add"], (-1, 0)) == (0xFFFFFFFF,)  # unsigned convention
    assert store.call(ex["add"], (0xFFFFFFFF, 2)) == (1,)
    assert store.call(ex["add64"], (2**63, 2**63 + 5)) == (5,)
    assert store.call(ex["add64"], (-2, 1)) == (2**64 - 1,)
    assert store.call(ex["id32"], (1.5,)) == (1.5,)
    assert store.call(ex["id64"], (math.pi,)) == (math.pi,)
    assert (
        store.call(ex["id64"], (-0.0,))[0] == 0.0
        and math.copysign(1, store.call(ex["id64"], (-0.0,))[0]) < 0
    )
    r = store.call(ex["mix"], (1, 2, 3.0, 4.0))
    assert r == (4.0, 3.0, 2, 1)
    with pytest.raises(TypeError):
        store.call(ex["add"], (1,))


def test_f32_bit_patterns(store: Store, basic: CoreInstance) -> None:
    ex = basic.exports
    # f32 value → bits inside the guest: exact
    for v in (1.0, -2.5, 3.4028234663852886e38, 1e-45, float("inf")):
        (bits,) = store.call(ex["bits32"], (v,))
        assert bits == struct.unpack("<I", struct.pack("<f", v))[0]
    # quiet NaN with a payload: guest bits → Python float → guest bits is preserved
    for bits in (0x7FC00001, 0xFFC12345, 0x7FFFFFFF):
        (f,) = store.call(ex["from_bits32"], (bits,))
        assert math.isnan(f)
        assert store.call(ex["bits32"], (f,)) == (bits,)
        assert store.call(ex["id32"], (f,))[0] != store.call(ex["id32"], (f,))[0]  # NaN


def test_invalid_module(engine: CoreEngine) -> None:
    with pytest.raises(ValidationError):
        engine.compile(b"\0asm\x01\0\0\0\x01\xff")
    with pytest.raises(ValidationError, match="type mismatch"):
        engine.compile(wat("(module (func (result i32) i64.const 1))"))


def test_exceptions_and_tail_calls_enabled(engine: CoreEngine, store: Store) -> None:
    m = engine.compile(
        wat(
            """(module
              (tag $e (param i32))
              (func $thrower (param i32) local.get 0 throw $e)
              (func $tc (param i32) (result i32) local.get 0 return_call $id)
              (func $id (param i32) (result i32) local.get 0)
              (func (export "catch") (param i32) (result i32)
                (block $h (result i32)
                  (try_table (catch $e $h) (call $thrower (local.get 0)))
                  i32.const -1)
                (call $tc))
            )"""
        )
    )
    inst = store.instantiate(m, [])
    assert store.call(inst.exports["catch"], (9,)) == (9,)


# ------------------------------------------------------------------------------------------
# disk cache


def test_memory_cache_same_module(tmp_path) -> None:
    e = CoreEngine(cache_dir=tmp_path)
    assert e.compile(BASIC) is e.compile(memoryview(BASIC))


def test_disk_cache_hit_new_engine(tmp_path) -> None:
    e1 = CoreEngine(cache_dir=tmp_path)
    m1 = e1.compile(BASIC)
    assert not m1.from_cache and e1.stats["compiled"] == 1
    files = list(tmp_path.rglob("*.cwasm"))
    assert len(files) == 1
    e2 = CoreEngine(cache_dir=tmp_path)
    m2 = e2.compile(BASIC)
    assert m2.from_cache and e2.stats["compiled"] == 0 and e2.stats["cache_hits"] == 1
    s = Store(e2)
    assert s.call(s.instantiate(m2, []).exports["add"], (1, 2)) == (3,)
    s.close()
    # different settings → different key, no hit
    e3 = CoreEngine(cache_dir=tmp_path, max_wasm_stack=256 << 10)
    assert not e3.compile(BASIC).from_cache


def test_disk_cache_hit_new_process(tmp_path) -> None:
    code = textwrap.dedent(
        f"""
        import sys, wasmtime
        from wasmloop.engine import CoreEngine, Store
        e = CoreEngine(cache_dir={str(tmp_path)!r})
        m = e.compile(bytes.fromhex({BASIC.hex()!r}))
        s = Store(e)
        assert s.call(s.instantiate(m, []).exports["add"], (2, 3)) == (5,)
        print(int(m.from_cache), e.stats["compiled"])
        """
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert outs == [["0", "1"], ["1", "0"]]


def _replace_file(path, data: bytes) -> None:
    # Never rewrite a cache file in place: modules deserialized from it mmap it, and
    # truncating a mapped file kills the process with SIGBUS. Replace it, as the engine does.
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def test_corrupt_cache_recovers(tmp_path) -> None:
    CoreEngine(cache_dir=tmp_path).compile(BASIC)
    (path,) = tmp_path.rglob("*.cwasm")
    data = path.read_bytes()
    # Entries live in a private directory and are written atomically, so only their size and
    # header are checked on load (hashing them cost as much as loading them): a truncated one.
    _replace_file(path, data[: len(data) // 2])
    e = CoreEngine(cache_dir=tmp_path)
    m = e.compile(BASIC)
    assert not m.from_cache and e.stats["cache_errors"] == 1 and e.stats["compiled"] == 1
    s = Store(e)
    assert s.call(s.instantiate(m, []).exports["add"], (1, 1)) == (2,)
    s.close()
    # rewritten: the next engine hits again
    assert CoreEngine(cache_dir=tmp_path).compile(BASIC).from_cache
    # garbage file (and its checksum) → wasmtime rejects it → recompile
    _replace_file(path, b"garbage")
    _replace_file(path.with_suffix(".sha256"), hashlib.sha256(b"garbage").hexdigest().encode())
    e = CoreEngine(cache_dir=tmp_path)
    assert not e.compile(BASIC).from_cache and e.stats["cache_errors"] == 1
    assert not list(tmp_path.rglob(".tmp-*"))


def test_cache_disabled(tmp_path) -> None:
    e = CoreEngine(cache_dir=tmp_path, use_cache=False)
    assert e.cache_dir is None
    e.compile(BASIC)
    assert not list(tmp_path.rglob("*"))


def test_cache_dir_env(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WASMLOOP_CACHE_DIR", str(tmp_path / "x"))
    assert CoreEngine().cache_dir == tmp_path / "x"


def test_bad_stack_settings() -> None:
    with pytest.raises(ValueError):
        CoreEngine(use_cache=False, max_wasm_stack=4 << 20, async_stack_size=2 << 20)


# ------------------------------------------------------------------------------------------
# host functions

IMPORTS = wat(
    """
(module
  (import "h" "f" (func $f (param i32) (result i32)))
  (func (export "call") (param i32) (result i32) local.get 0 call $f i32.const 1 i32.add)
)
"""
)


def test_sync_host_import(engine: CoreEngine, store: Store) -> None:
    seen = []

    def handler(caller, x):
        seen.append((caller, x))
        return x * 2

    f = store.host_func(FuncType((I32,), (I32,)), handler, can_suspend=False)
    assert f.type == FuncType((I32,), (I32,))
    inst = store.instantiate(engine.compile(IMPORTS), [f])
    assert store.call(inst.exports["call"], (20,)) == (41,)
    assert store.call(inst.exports["call"], (-1,)) == ((0xFFFFFFFF * 2 + 1) & 0xFFFFFFFF,)
    assert seen[0][1] == 20 and seen[1][1] == 0xFFFFFFFF
    assert seen[0][0].closed is False  # caller: (a proxy of) the store
    # host functions can also be called directly
    assert store.call(f, (5,)) == (10,)


def test_host_multi_value_and_kinds(engine: CoreEngine, store: Store) -> None:
    ft = FuncType((I32, I64, F32, F64), (F64, F32, I64, I32))
    f = store.host_func(ft, lambda c, a, b, x, y: (y, x, b, a), can_suspend=False)
    assert store.call(f, (1, 2, 3.5, 4.25)) == (4.25, 3.5, 2, 1)
    g = store.host_func(ft, lambda c, a, b, x, y: (y, x, -b, -a), can_suspend=True)
    assert store.call(g, (1, 2, 3.5, 4.25)) == (4.25, 3.5, 2**64 - 2, 2**32 - 1)
    h = store.host_func(FuncType((), (I32,)), lambda c: (7,), can_suspend=False)
    assert store.call(h) == (7,)


def test_host_exception_becomes_trap(engine: CoreEngine, store: Store) -> None:
    def bad(caller, x):
        raise ValueError(f"bad value {x}")

    for can_suspend in (False, True):
        f = store.host_func(FuncType((I32,), (I32,)), bad, can_suspend=can_suspend)
        inst = store.instantiate(engine.compile(IMPORTS), [f])
        with pytest.raises(Trap, match="ValueError: bad value 3"):
            store.call(inst.exports["call"], (3,))
        # wrong result shape is a trap too, not a crash
        g = store.host_func(FuncType((I32,), (I32,)), lambda c, x: "nope", can_suspend=can_suspend)
        inst2 = store.instantiate(engine.compile(IMPORTS), [g])
        with pytest.raises(Trap):
            store.call(inst2.exports["call"], (3,))
        # Trap raised by the host keeps its message
        t = store.host_func(FuncType((I32,), (I32,)), _raise_trap, can_suspend=can_suspend)
        inst3 = store.instantiate(engine.compile(IMPORTS), [t])
        with pytest.raises(Trap, match="custom host trap"):
            store.call(inst3.exports["call"], (3,))
        # the store is still usable
        ok = store.host_func(FuncType((I32,), (I32,)), lambda c, x: x, can_suspend=can_suspend)
        inst4 = store.instantiate(engine.compile(IMPORTS), [ok])
        assert store.call(inst4.exports["call"], (3,)) == (4,)


def _raise_trap(caller, x):
    raise Trap("custom host trap")


def _countdown_pending(n: int, value) -> Pending:
    left = [n]

    def poll():
        left[0] -= 1
        return value if left[0] <= 0 else Pending.NOT_READY

    return Pending(poll)


def test_suspending_import_at_once(engine: CoreEngine, store: Store) -> None:
    f = store.host_func(FuncType((I32,), (I32,)), lambda c, x: x + 100, can_suspend=True)
    inst = store.instantiate(engine.compile(IMPORTS), [f])
    fut = store.call_async(inst.exports["call"], (1,))
    assert fut.poll() is True
    assert fut.result() == (102,)


def test_suspending_import_polls(engine: CoreEngine, store: Store) -> None:
    f = store.host_func(
        FuncType((I32,), (I32,)), lambda c, x: _countdown_pending(3, x * 3), can_suspend=True
    )
    inst = store.instantiate(engine.compile(IMPORTS), [f])
    fut = store.call_async(inst.exports["call"], (5,))
    assert [fut.poll() for _ in range(3)] == [False, False, True]
    assert fut.result() == (16,)


def test_suspend_driven_by_asyncio(engine: CoreEngine, store: Store) -> None:
    """A Pending waits on asyncio futures resolved by another task; the loop polls the call."""

    async def main():
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future] = []
        polls = [0]

        class WaitThrice(Pending):
            def __init__(self, x):
                super().__init__()
                self.x = x
                self.fut = loop.create_future()
                self.count = 0
                waits.append(self.fut)

            def poll(self):
                polls[0] += 1
                if not self.fut.done():
                    return Pending.NOT_READY
                self.count += 1
                if self.count < 3:
                    self.fut = loop.create_future()
                    waits.append(self.fut)
                    return Pending.NOT_READY
                return self.x + self.fut.result()

        f = store.host_func(FuncType((I32,), (I32,)), lambda c, x: WaitThrice(x), can_suspend=True)
        inst = store.instantiate(engine.compile(IMPORTS), [f])

        async def resolver():
            for i in range(3):
                while len(waits) <= i:
                    await asyncio.sleep(0)
                await asyncio.sleep(0.001)
                waits[i].set_result(10 * (i + 1))

        task = asyncio.create_task(resolver())
        fut = store.call_async(inst.exports["call"], (1,))
        resumes = 0
        while not fut.poll():
            await waits[-1]  # the loop only polls when the guest can make progress
            resumes += 1
        await task
        return fut.result(), resumes, polls[0]

    result, resumes, polls = asyncio.run(main())
    assert result == (1 + 30 + 1,)
    assert resumes == 3
    assert polls == 4  # first poll (not ready) + 3 resumptions


def test_many_suspended_futures_random_order(engine: CoreEngine, store: Store) -> None:
    ready: dict[int, bool] = {}

    def handler(caller, x):
        ready[x] = False
        return Pending(lambda: x * 7 if ready[x] else Pending.NOT_READY)

    f = store.host_func(FuncType((I32,), (I32,)), handler, can_suspend=True)
    call = store.instantiate(engine.compile(IMPORTS), [f]).exports["call"]
    futs = {i: store.call_async(call, (i,)) for i in range(250)}
    for fut in futs.values():
        assert fut.poll() is False
    order = list(futs)
    random.Random(1234).shuffle(order)
    for i in order:
        ready[i] = True
        assert futs[i].poll() is True
        assert futs[i].result() == (i * 7 + 1,)
    assert all(ready.values()) and len(ready) == 250
    fut = store.call_async(call, (3,))  # store still fine
    assert not fut.poll()
    ready[3] = True
    assert fut.poll() and fut.result() == (22,)


def test_two_stores_interleaved(engine: CoreEngine) -> None:
    stores = [Store(engine), Store(engine)]
    gates: dict[tuple[int, int], bool] = {}
    calls = []
    for si, s in enumerate(stores):

        def handler(caller, x, si=si):
            gates[(si, x)] = False
            return Pending(lambda: (x + si * 1000) if gates[(si, x)] else Pending.NOT_READY)

        f = s.host_func(FuncType((I32,), (I32,)), handler, can_suspend=True)
        calls.append(s.instantiate(engine.compile(IMPORTS), [f]).exports["call"])
    futs = []
    for x in range(20):
        for si, s in enumerate(stores):
            fut = s.call_async(calls[si], (x,))
            assert not fut.poll()
            futs.append((si, x, fut))
    random.Random(7).shuffle(futs)
    for si, x, fut in futs:
        gates[(si, x)] = True
        assert fut.poll()
        assert fut.result() == (x + si * 1000 + 1,)
    for s in stores:
        s.close()


# ------------------------------------------------------------------------------------------
# nested fibers

NESTED = wat(
    """
(module
  (import "h" "inner" (func $inner (param i32) (result i32)))
  (func (export "outer") (param i32) (result i32) local.get 0 call $inner i32.const 1000 i32.add)
)
"""
)


def _nested_setup(engine: CoreEngine, outer_store: Store, inner_store: Store, inner_suspends: int):
    """outer (in outer_store) → host 'inner' → starts a call in inner_store whose own host
    import suspends ``inner_suspends`` times. Returns (outer func, log)."""
    log = []

    def leaf(caller, x):
        log.append(("leaf", x))
        if x == 666:
            raise Trap("leaf trapped")
        left = [inner_suspends]

        def poll():
            if left[0]:
                left[0] -= 1
                log.append(("leaf not ready", x))
                return Pending.NOT_READY
            return x * 2

        return Pending(poll)

    leaf_f = inner_store.host_func(FuncType((I32,), (I32,)), leaf, can_suspend=True)
    inner_call = inner_store.instantiate(engine.compile(IMPORTS), [leaf_f]).exports["call"]

    def inner(caller, x):
        fut = inner_store.call_async(inner_call, (x,))
        if fut.poll():
            return fut.result()[0]

        def poll():
            if not fut.poll():
                log.append(("inner suspended", x))
                return Pending.NOT_READY
            return fut.result()[0]  # re-raises the inner Trap

        return Pending(poll, fut.close)

    inner_f = outer_store.host_func(FuncType((I32,), (I32,)), inner, can_suspend=True)
    outer = outer_store.instantiate(engine.compile(NESTED), [inner_f]).exports["outer"]
    return outer, log


@pytest.mark.parametrize("cross_store", [False, True])
def test_nested_futures(engine: CoreEngine, store: Store, cross_store: bool) -> None:
    inner_store = Store(engine) if cross_store else store
    outer, log = _nested_setup(engine, store, inner_store, inner_suspends=3)
    fut = store.call_async(outer, (5,))
    polls = 1
    while not fut.poll():
        polls += 1
        assert polls < 10
    assert fut.result() == (5 * 2 + 1 + 1000,)
    assert sum(1 for e in log if e[0] == "leaf not ready") == 3  # the inner fiber suspended 3 times
    # wasmtime polls a new continuation at once, so inner() polls the inner call twice during
    # the first outer poll: the outer call needs one poll fewer than the inner one.
    assert polls == 3
    assert sum(1 for e in log if e[0] == "inner suspended") == 2
    # a trap in the inner call propagates to the outer caller
    fut = store.call_async(outer, (666,))
    assert fut.poll() is True
    with pytest.raises(Trap, match="leaf trapped"):
        fut.result()
    # nothing suspended at all: no Pending needed
    outer0, _ = _nested_setup(engine, store, inner_store, inner_suspends=0)
    assert store.call(outer0, (1,)) == (1003,)
    # cancel the outer while the inner is suspended: both unwind, stores stay usable
    fut = store.call_async(outer, (7,))
    assert not fut.poll()
    fut.close()
    assert store.call(outer0, (2,)) == (1005,)
    if cross_store:
        inner_store.close()


# ------------------------------------------------------------------------------------------
# traps, cancellation


def test_wasm_trap(store: Store, basic: CoreInstance) -> None:
    with pytest.raises(Trap, match="unreachable"):
        store.call(basic.exports["trap"])
    fut = store.call_async(basic.exports["trap"])
    assert fut.poll()
    with pytest.raises(Trap) as ei:
        fut.result()
    assert "wasm trap: wasm `unreachable` instruction executed" in ei.value.message
    assert store.call(basic.exports["add"], (1, 2)) == (3,)


def test_stack_overflow_trap(store: Store, basic: CoreInstance) -> None:
    with pytest.raises(Trap, match="call stack exhausted"):
        store.call(basic.exports["recurse"], (1,))
    assert store.call(basic.exports["add"], (1, 2)) == (3,)


def test_deep_python_recursion_in_host_on_fiber(engine: CoreEngine, store: Store) -> None:
    def deep(n):
        return 0 if n == 0 else 1 + deep(n - 1)

    f = store.host_func(FuncType((I32,), (I32,)), lambda c, x: deep(x), can_suspend=True)
    inst = store.instantiate(engine.compile(IMPORTS), [f])
    assert store.call(inst.exports["call"], (500,)) == (501,)


def test_cancel_suspended_future(engine: CoreEngine, store: Store) -> None:
    cancelled = []

    def handler(caller, x):
        return Pending(lambda: Pending.NOT_READY, lambda: cancelled.append(x))

    f = store.host_func(FuncType((I32,), (I32,)), handler, can_suspend=True)
    call = store.instantiate(engine.compile(IMPORTS), [f]).exports["call"]
    fut = store.call_async(call, (9,))
    assert not fut.poll()
    fut.close()
    assert cancelled == [9]
    assert fut.done
    with pytest.raises(Cancelled):
        fut.result()
    fut.close()  # idempotent
    # never polled
    store.call_async(call, (1,)).close()
    ok = store.host_func(FuncType((I32,), (I32,)), lambda c, x: x, can_suspend=True)
    assert store.call(store.instantiate(engine.compile(IMPORTS), [ok]).exports["call"], (4,)) == (
        5,
    )
    # `call` on something that stays suspended → RuntimeError, store usable
    with pytest.raises(RuntimeError):
        store.call(call, (2,), max_polls=3)
    assert cancelled == [9, 2]


def test_close_store_with_pending_futures(engine: CoreEngine) -> None:
    s = Store(engine)
    f = s.host_func(
        FuncType((I32,), (I32,)), lambda c, x: Pending(lambda: Pending.NOT_READY), can_suspend=True
    )
    call = s.instantiate(engine.compile(IMPORTS), [f]).exports["call"]
    futs = [s.call_async(call, (i,)) for i in range(5)]
    for fut in futs[:3]:
        fut.poll()
    s.close()
    s.close()
    assert all(fut.done for fut in futs)
    with pytest.raises(RuntimeError):
        s.call_async(call, (1,))


# ------------------------------------------------------------------------------------------
# instantiation


def test_link_errors(engine: CoreEngine, store: Store) -> None:
    m = engine.compile(IMPORTS)
    wrong = store.host_func(FuncType((I64,), (I32,)), lambda c, x: 0, can_suspend=False)
    with pytest.raises(LinkError, match="incompatible import type"):
        store.instantiate(m, [wrong])
    with pytest.raises(LinkError):
        store.instantiate(m, [])
    other = Store(engine)
    f = other.host_func(FuncType((I32,), (I32,)), lambda c, x: 0, can_suspend=False)
    with pytest.raises(LinkError):
        store.instantiate(m, [f])
    other.close()


def test_start_function_trap(engine: CoreEngine, store: Store) -> None:
    m = engine.compile(wat("(module (func $s unreachable) (start $s))"))
    with pytest.raises(Trap, match="unreachable"):
        store.instantiate(m, [])


def test_imports_between_instances(engine: CoreEngine, store: Store, basic: CoreInstance) -> None:
    m = engine.compile(
        wat(
            """(module
              (import "b" "add" (func $add (param i32 i32) (result i32)))
              (import "b" "mem" (memory 1))
              (func (export "f") (param i32) (result i32)
                local.get 0 i32.load8_u  local.get 0 call $add))"""
        )
    )
    inst = store.instantiate(m, [basic.exports["add"], basic.exports["mem"]])
    basic.exports["mem"].view()[10] = 5
    assert store.call(inst.exports["f"], (10,)) == (15,)


# ------------------------------------------------------------------------------------------
# memory, table, global


def test_memory_view(store: Store, basic: CoreInstance) -> None:
    mem = basic.exports["mem"]
    assert isinstance(mem, Memory)
    v = mem.view()
    assert v.format == "B" and len(v) == 65536 and mem.data_len == 65536 and mem.size_pages == 1
    assert mem.view() is v  # cached while unchanged
    store.call(basic.exports["store"], (100, 42))
    assert v[100] == 42  # guest writes visible (zero copy)
    v[200] = 7
    assert store.call(basic.exports["load"], (200,)) == (7,)  # host writes visible
    assert mem.ensure(1000) is v
    # grow from the guest: the view is rebuilt; the base stays put
    base = mem.data_ptr
    assert store.call(basic.exports["grow"], (2,)) == (1,)
    v2 = mem.view()
    assert v2 is not v and len(v2) == 3 * 65536 and mem.data_ptr == base
    assert v2[100] == 42 and v[100] == 42
    v2[3 * 65536 - 1] = 9
    assert store.call(basic.exports["load"], (3 * 65536 - 1,)) == (9,)
    # grow from the host
    assert mem.grow(1) == 3
    assert len(mem.ensure(4 * 65536)) == 4 * 65536
    with pytest.raises(Trap):
        mem.ensure(5 * 65536)
    struct.pack_into("<I", mem.view(), 300, 0xDEADBEEF)
    assert struct.unpack_from("<I", mem.view(), 300) == (0xDEADBEEF,)


def test_table_and_global(engine: CoreEngine, store: Store) -> None:
    m = engine.compile(
        wat(
            """(module
              (table (export "t") 3 funcref)
              (global (export "g") (mut i64) (i64.const -5))
              (global (export "c") f32 (f32.const 1.5))
              (func $sq (param i32) (result i32) local.get 0 local.get 0 i32.mul)
              (elem (i32.const 1) $sq)
              (func (export "call_indirect") (param i32 i32) (result i32)
                local.get 1 local.get 0 call_indirect (param i32) (result i32)))"""
        )
    )
    inst = store.instantiate(m, [])
    t = inst.exports["t"]
    assert isinstance(t, Table) and t.size() == 3
    assert t.get(0) is None
    sq = t.get(1)
    assert isinstance(sq, CoreFunc) and sq.type == FuncType((I32,), (I32,))
    assert store.call(sq, (9,)) == (81,)
    with pytest.raises(IndexError):
        t.get(3)
    host = store.host_func(FuncType((I32,), (I32,)), lambda c, x: x + 1, can_suspend=False)
    t.set(0, host)
    assert store.call(inst.exports["call_indirect"], (0, 41)) == (42,)
    assert t.grow(2, None) == 3 and t.size() == 5
    g = inst.exports["g"]
    assert isinstance(g, Global)
    assert g.get() == 2**64 - 5
    g.set(7)
    assert g.get() == 7
    assert inst.exports["c"].get() == 1.5
    with pytest.raises(Exception):  # noqa: B017
        inst.exports["c"].set(2.0)


# ------------------------------------------------------------------------------------------
# resources


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_many_calls_flat_rss(engine: CoreEngine, store: Store) -> None:
    f = store.host_func(
        FuncType((I32,), (I32,)), lambda c, x: _countdown_pending(2, x), can_suspend=True
    )
    call = store.instantiate(engine.compile(IMPORTS), [f]).exports["call"]
    add = store.instantiate(engine.compile(BASIC), []).exports["add"]

    def cycle(n):
        for i in range(n):
            fut = store.call_async(call, (i,))
            while not fut.poll():
                pass
            assert fut.result() == ((i + 1) & 0xFFFFFFFF,)
            store.call(add, (i, 1))
            if i % 10 == 0:
                store.call_async(call, (i,)).close()

    cycle(2000)
    before = _rss_kb()
    cycle(10000)
    grown = _rss_kb() - before
    assert grown < 4096, f"RSS grew by {grown} KiB over 10k calls"


def test_same_host_func_type_in_two_engines_does_not_abort(tmp_path) -> None:
    """wasmtime ties a functype to the first engine that uses it; a second engine must get its
    own (reusing one across engines panics inside wasmtime and aborts the process)."""
    ft = FuncType((ValKind.I32,), (ValKind.I32,))
    for i in range(2):
        engine = CoreEngine(cache_dir=tmp_path / str(i))
        store = Store(engine)
        for can_suspend in (False, True):
            f = store.host_func(ft, lambda caller, x: x + 1, can_suspend=can_suspend)
            assert store.call(f, (41,)) == (42,)
        store.close()


def test_new_engines_after_old_ones_are_freed_do_not_reuse_function_types(tmp_path) -> None:
    """A new engine may be allocated at a freed engine's address: cached function types of
    the old one must not be handed to it (wasmtime aborts the process if they are)."""
    import gc

    ft = FuncType((ValKind.I32,), (ValKind.I32,))
    for _ in range(20):
        engine = CoreEngine(cache_dir=tmp_path)
        store = Store(engine)
        f = store.host_func(ft, lambda caller, x: x * 2, can_suspend=True)
        assert store.call(f, (21,)) == (42,)
        store.close()
        del f, store, engine
        gc.collect()

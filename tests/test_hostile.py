"""Hostile guests: each case runs in its own process and must end with a clear error, within
bounded memory, without a signal, a hang or a Python traceback.

Bounds on time here are hang guards (``hostile_guests.HANG_BOUND``), never assertions about
speed: a case passes or fails on what the guest is told, not on how long it took.
"""

from __future__ import annotations

import pytest
from hostile_guests import (
    HUGE_MINIMUM,
    SPIN,
    START_SPIN,
    STREAMS,
    VALUES,
    Outcome,
    guest_file,
    run_cli,
    run_script,
)

#: Peak RSS any case may reach (the interpreter, wasmloop and wasmtime take ≈60 MiB).
RSS_BOUND_MIB = 400


@pytest.fixture(scope="module")
def guests(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("hostile")
    return {
        "spin": guest_file(tmp, "spin", SPIN),
        "start": guest_file(tmp, "start", START_SPIN),
        "huge": guest_file(tmp, "huge", HUGE_MINIMUM),
        "streams": guest_file(tmp, "streams", STREAMS),
        "values": guest_file(tmp, "values", VALUES),
    }


def assert_error(o: Outcome, message: str, rss_bound: float = RSS_BOUND_MIB) -> None:
    assert o.clean, f"not a clean end (status {o.returncode}):\n{o.stderr[-3000:]}"
    assert o.returncode != 0, f"expected a failure, got:\n{o.stdout}\n{o.stderr}"
    assert message in o.stderr, o.stderr[-3000:]
    assert 0 < o.max_rss_mib < rss_bound, f"peak RSS {o.max_rss_mib:.0f} MiB"


def assert_ok(o: Outcome, rss_bound: float = RSS_BOUND_MIB) -> None:
    assert o.clean and o.returncode == 0, f"status {o.returncode}:\n{o.stderr[-3000:]}"
    assert 0 < o.max_rss_mib < rss_bound, f"peak RSS {o.max_rss_mib:.0f} MiB"


INTERRUPT = "wasm trap: interrupt"
NO_FUEL = "wasm trap: all fuel consumed by WebAssembly"
STACK = "wasm trap: call stack exhausted"

# ---------------------------------------------------------------------------------------------
# Spinning


@pytest.mark.parametrize("flag", [["--timeout", "300ms"], ["-W", "timeout=300ms"]])
def test_spin_in_sync_code_ends_at_the_timeout(guests: dict[str, str], flag: list[str]) -> None:
    assert_error(run_cli("run", *flag, "--invoke", "spin()", guests["spin"]), INTERRUPT)


def test_spin_in_a_callback_ends_at_the_timeout(guests: dict[str, str]) -> None:
    assert_error(run_cli("run", "--timeout", "300ms", "--invoke", "spin-cb()", guests["spin"]),
                 INTERRUPT)


def test_spin_in_a_core_start_function_ends_at_the_timeout(guests: dict[str, str]) -> None:
    assert_error(run_cli("run", "--timeout", "300ms", "--invoke", "f()", guests["start"]),
                 INTERRUPT)


@pytest.mark.parametrize("flag", [["--fuel", "100000"], ["-W", "fuel=100000"]])
def test_spin_runs_out_of_fuel(guests: dict[str, str], flag: list[str]) -> None:
    assert_error(run_cli("run", *flag, "--invoke", "spin()", guests["spin"]), NO_FUEL)


def test_a_wait_that_never_ends_ends_at_the_timeout(guests: dict[str, str]) -> None:
    """A guest blocked on a host import whose future never resolves: nothing runs, so no
    epoch check can fire; the deadline wakes it and it traps."""
    wat = """
    (component
      (import "never" (func $never (result u32)))
      (core func $n (canon lower (func $never)))
      (core module $M (import "" "never" (func $n (result i32)))
        (func (export "f") (result i32) (call $n)))
      (core instance $i (instantiate $M (with "" (instance (export "never" (func $n))))))
      (func (export "f") (result u32) (canon lift (core func $i "f"))))
    """
    o = run_script(
        f"""
        import asyncio, wasmloop
        from componentutil import wat_to_wasm
        async def never():
            await asyncio.Event().wait()
        async def main():
            engine = wasmloop.Engine(epoch_interruption=True)
            c = wasmloop.Component(engine, wat_to_wasm({wat!r}))
            linker = wasmloop.Linker(engine, limits=wasmloop.Limits(timeout=0.3))
            linker.define_func(None, "never", never)
            inst = await linker.instantiate(c)
            try:
                await inst.exports["f"]()
            except wasmloop.Trap as t:
                print("trap:", t.message.strip().splitlines()[-1].strip(), file=sys.stderr)
                assert inst.poisoned
                sys.exit(3)
        asyncio.run(main())
        """
    )
    assert_error(o, "trap: " + INTERRUPT)
    assert o.returncode == 3


def test_limits_need_their_engine_switch() -> None:
    o = run_script(
        """
        import wasmloop
        from wasmloop.engine import Store
        e = wasmloop.Engine()
        for lim in (wasmloop.Limits(timeout=1), wasmloop.Limits(fuel=10)):
            try:
                lim.apply_to_store(Store(e.core))
            except ValueError as x:
                print(x, file=sys.stderr)
        sys.exit(1)
        """
    )
    assert_error(o, "needs wasmloop.Engine(epoch_interruption=True)")
    assert "needs wasmloop.Engine(consume_fuel=True)" in o.stderr


# ---------------------------------------------------------------------------------------------
# Memory


def test_grow_loop_stops_at_max_memory_size(guests: dict[str, str]) -> None:
    o = run_cli("run", "-W", "max-memory-size=64MiB", "--invoke", "grow-touch()", guests["spin"])
    assert_ok(o)
    assert o.stdout.strip() == "1024"  # pages of 64 KiB: memory.grow returned -1 past 64 MiB
    o = run_cli("run", "--max-memory-size", "1048576", "--invoke", "grow()", guests["spin"])
    assert_ok(o)
    assert o.stdout.strip() == "16"


def test_minimum_above_max_memory_size_fails_instantiation(guests: dict[str, str]) -> None:
    o = run_cli("run", "-W", "max-memory-size=1GiB", "--invoke", "f()", guests["huge"])
    assert_error(o, "memory minimum size of 65536 pages exceeds memory limits")
    assert o.returncode == 1


def test_python_api_memory_limit() -> None:
    o = run_script(
        f"""
        import wasmloop
        from componentutil import wat_to_wasm
        e = wasmloop.Engine()
        c = wasmloop.Component(e, wat_to_wasm({SPIN!r}))
        inst = wasmloop.Linker(e).instantiate_sync(
            c, limits=wasmloop.Limits(max_memory_size=2 << 20))
        assert inst.exports["grow"].call_sync() == 32
        """
    )
    assert_ok(o)


# ---------------------------------------------------------------------------------------------
# Recursion


def test_deep_recursion_in_sync_code(guests: dict[str, str]) -> None:
    assert_error(run_cli("run", "--invoke", "rec(0)", guests["spin"]), STACK)


def test_deep_recursion_in_a_callback(guests: dict[str, str]) -> None:
    assert_error(run_cli("run", "--invoke", "rec-cb()", guests["spin"]), STACK)


def test_unbounded_guest_host_guest_recursion_is_a_stack_exhaustion() -> None:
    """guest → host → (a fresh instance's) guest → host → …: each level is a fiber running
    inside the previous one. It ends with Wasmtime's stack-overflow trap, never with Python's
    RecursionError or an aborted process."""
    wat = """
    (component
      (import "f" (func $f (param "n" u32) (result u32)))
      (core func $fl (canon lower (func $f)))
      (core module $M (import "" "f" (func $f (param i32) (result i32)))
        (func (export "rec") (param i32) (result i32)
          (call $f (i32.add (local.get 0) (i32.const 1)))))
      (core instance $i (instantiate $M (with "" (instance (export "f" (func $fl))))))
      (func (export "rec") (param "n" u32) (result u32) (canon lift (core func $i "rec"))))
    """
    o = run_script(
        f"""
        import asyncio, wasmloop
        from componentutil import wat_to_wasm
        async def main():
            e = wasmloop.Engine()
            c = wasmloop.Component(e, wat_to_wasm({wat!r}))
            linker = wasmloop.Linker(e)
            async def f(n):
                inst = await linker.instantiate(c)
                return await inst.exports["rec"](n)
            linker.define_func(None, "f", f)
            inst = await linker.instantiate(c)
            try:
                await inst.exports["rec"](0)
            except wasmloop.Trap as t:
                assert "RecursionError" not in t.message, t.message[-500:]
                print("trap:", t.message.strip().splitlines()[-1].strip(), file=sys.stderr)
                sys.exit(3)
        asyncio.run(main())
        """
    )
    assert_error(o, "trap: " + STACK)


@pytest.mark.parametrize("wasm_depth", [10, 32000])
def test_deep_python_recursion_in_a_host_function_is_a_trap_not_an_abort(wasm_depth: int) -> None:
    """Python code of a host function runs on the guest's 2 MiB fiber stack, above the wasm
    frames (up to 512 KiB of them: 32,000 levels here come close). Recursing to Python's
    limit there, through C (the costly kind), ends cleanly: with RecursionError caught by the
    host, or as a trap when it is not."""
    wat = """
    (component
      (import "f" (func $f (param "catch" bool) (result u32)))
      (core func $fl (canon lower (func $f)))
      (core module $M (import "" "f" (func $f (param i32) (result i32)))
        (func $r (param i32 i32) (result i32)
          (if (result i32) (local.get 0)
            (then (i32.add (call $r (i32.sub (local.get 0) (i32.const 1)) (local.get 1))
                           (i32.const 1)))
            (else (call $f (local.get 1)))))
        (func (export "run") (param i32 i32) (result i32) (call $r (local.get 0) (local.get 1))))
      (core instance $i (instantiate $M (with "" (instance (export "f" (func $fl))))))
      (func (export "run") (param "n" u32) (param "catch" bool) (result u32)
        (canon lift (core func $i "run"))))
    """
    o = run_script(
        f"""
        import wasmloop
        from componentutil import wat_to_wasm
        class R:
            def __init__(self, n): self.n = n
            def __repr__(self): return "x" if self.n == 0 else repr(R(self.n - 1))
        def f(catch):
            try:
                return len(repr(R(100000)))  # C-level recursion until RecursionError
            except RecursionError:
                if catch:
                    return 7
                raise
        e = wasmloop.Engine()
        linker = wasmloop.Linker(e)
        linker.define_func(None, "f", f)
        c = wasmloop.Component(e, wat_to_wasm({wat!r}))
        inst = linker.instantiate_sync(c)
        assert inst.exports["run"].call_sync({wasm_depth}, True) == {wasm_depth} + 7
        inst = linker.instantiate_sync(c)
        try:
            inst.exports["run"].call_sync({wasm_depth}, False)
        except wasmloop.Trap as t:
            print("trap:", t.message.strip().splitlines()[-1].strip(), file=sys.stderr)
            sys.exit(3)
        """
    )
    assert_error(o, "trap: " + STACK)


# ---------------------------------------------------------------------------------------------
# Trap storms, handle floods, address space


def test_trap_storm_leaves_later_instances_healthy_and_rss_flat() -> None:
    o = run_script(
        f"""
        import resource, wasmloop
        from componentutil import wat_to_wasm
        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        e = wasmloop.Engine()
        c = wasmloop.Component(e, wat_to_wasm({SPIN!r}))
        linker = wasmloop.Linker(e)
        marks = {{}}
        for i in range(300):
            inst = linker.instantiate_sync(c)
            try:
                inst.exports["trap"].call_sync()
                raise SystemExit("no trap")
            except wasmloop.Trap as t:
                assert "unreachable" in t.message
            assert inst.poisoned
            inst.close()
            if i in (50, 299):
                marks[i] = rss()
        later = linker.instantiate_sync(c)
        assert later.exports["ok"].call_sync() == 42
        grew = marks[299] - marks[50]
        print(f"rss after 50: {{marks[50]:.1f}} MiB, after 300: {{marks[299]:.1f}} MiB")
        assert grew < 20, grew
        """
    )
    assert_ok(o)


def test_handle_flood_traps_at_the_store_limit(guests: dict[str, str]) -> None:
    o = run_cli("run", "-S", "max-component-handles=1000", "--invoke", "handles(5000)",
                guests["spin"])
    assert_error(o, "component handle limit reached: the instances of this store hold 1000")
    o = run_cli("run", "-S", "max-component-handles=1000", "--invoke", "handles(999)",
                guests["spin"])
    assert_ok(o)
    assert o.stdout.strip() == "999"


def test_handle_flood_default_limit_is_100000(guests: dict[str, str]) -> None:
    assert_error(run_cli("run", "--invoke", "handles(200000)", guests["spin"]),
                 "hold 100000 handles")
    o = run_cli("run", "--invoke", "handles(99999)", guests["spin"])
    assert_ok(o)
    assert o.stdout.strip() == "99999"


def test_python_api_handle_limit() -> None:
    o = run_script(
        f"""
        import wasmloop
        from componentutil import wat_to_wasm
        e = wasmloop.Engine()
        c = wasmloop.Component(e, wat_to_wasm({SPIN!r}))
        inst = wasmloop.Linker(e).instantiate_sync(c, limits=wasmloop.Limits(max_handles=100))
        assert inst.exports["handles"].call_sync(50) == 50   # (a call's thread holds one too)
        try:
            inst.exports["handles"].call_sync(50)
        except wasmloop.Trap as t:
            assert "hold 100 handles" in t.message, t.message
        else:
            raise SystemExit("expected the 101st handle to trap")
        """
    )
    assert_ok(o)


def test_a_thousand_live_instances_fit_in_3_gib_of_data() -> None:
    """Each live store keeps one fiber stack (2 MiB) and its memories reserved (not counted
    as data): 1,000 small instances, each called once, fit under RLIMIT_DATA = 3 GiB."""
    o = run_script(
        f"""
        import resource, wasmloop
        from componentutil import wat_to_wasm
        e = wasmloop.Engine()
        c = wasmloop.Component(e, wat_to_wasm({SPIN!r}))
        resource.setrlimit(resource.RLIMIT_DATA, (3 << 30, 3 << 30))
        linker = wasmloop.Linker(e)
        live = []
        for i in range(1000):
            inst = linker.instantiate_sync(c)
            assert inst.exports["ok"].call_sync() == 42, i
            live.append(inst)
        for line in open("/proc/self/status"):
            if line.startswith("VmData:"):
                print(line.strip())
        """
    )
    assert_ok(o)
    assert "VmData" in o.stdout


# ---------------------------------------------------------------------------------------------
# Streams


def test_unread_64_mib_guest_write_costs_no_host_copy() -> None:
    o = run_script(
        f"""
        import asyncio, wasmloop
        from componentutil import wat_to_wasm
        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        async def main():
            e = wasmloop.Engine()
            c = wasmloop.Component(e, wat_to_wasm({STREAMS!r}))
            inst = await wasmloop.Linker(e).instantiate(c)
            before = rss()
            reader = await inst.exports["write-n"](64 << 20)   # 64 MiB pending, unread
            await asyncio.sleep(0)
            pending = rss()
            assert pending - before < 16, (before, pending)
            chunk = await reader.read(1 << 28)                 # the host asks for 256 MiB
            assert 0 < len(chunk) <= 4 << 20, len(chunk)       # ...and takes at most 4 MiB
            after = rss()
            assert after - before < 32, (before, after)
            print("rss", before, pending, after)
        asyncio.run(main())
        """
    )
    assert_ok(o)


@pytest.mark.parametrize("count", [2**28 - 1])
def test_huge_element_count_read_allocates_nothing_in_proportion(count: int) -> None:
    o = run_script(
        f"""
        import asyncio, wasmloop
        async def main():
            from componentutil import wat_to_wasm
            e = wasmloop.Engine()
            c = wasmloop.Component(e, wat_to_wasm({STREAMS!r}))
            inst = await wasmloop.Linker(e).instantiate(c)
            w, r = wasmloop.stream(wasmloop.types.U8)
            t = asyncio.ensure_future(w.write(b"abc"))
            await asyncio.sleep(0)
            code = await inst.exports["read-n"](r, {count})
            assert code == (3 << 4), hex(code)                 # 3 elements, COMPLETED
            await t
        asyncio.run(main())
        """
    )
    assert_ok(o, rss_bound=200)


def test_stream_count_of_2_pow_28_traps_clearly() -> None:
    o = run_script(
        f"""
        import asyncio, wasmloop
        async def main():
            from componentutil import wat_to_wasm
            e = wasmloop.Engine()
            c = wasmloop.Component(e, wat_to_wasm({STREAMS!r}))
            inst = await wasmloop.Linker(e).instantiate(c)
            try:
                await inst.exports["write-n"](1 << 28)
            except wasmloop.Trap as t:
                print("trap:", t.message.strip().splitlines()[-1].strip(), file=sys.stderr)
                sys.exit(3)
        asyncio.run(main())
        """
    )
    assert_error(o, "trap: wasm trap: stream read/write count too large")  # as Wasmtime 49


# ---------------------------------------------------------------------------------------------
# Lying guests


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('take-string("hello")', "realloc return: beyond end of memory"),
        ("take-list([1, 2])", "realloc return: result not aligned"),
        ("long-string()", "string"),
        ("surrogate()", "converted integer out of range for `char`"),
        ("bad-enum()", "discriminant 7 out of range [0..2)"),
    ],
)
def test_lying_guests_trap_clearly(guests: dict[str, str], call: str, message: str) -> None:
    o = run_cli("run", "--invoke", call, guests["values"])
    assert_error(o, message)
    if call == "long-string()":
        assert "bounds" in o.stderr


def test_bool_from_any_nonzero_is_true_as_in_wasmtime(guests: dict[str, str]) -> None:
    o = run_cli("run", "--invoke", "bad-bool()", guests["values"])
    assert_ok(o)
    assert o.stdout.strip() == "true"


def test_bad_limit_flags_are_clear_errors(guests: dict[str, str]) -> None:
    o = run_cli("run", "--timeout", "soon", "--invoke", "ok()", guests["spin"])
    assert o.clean and o.returncode != 0
    assert "invalid duration 'soon'" in o.stderr
    o = run_cli("run", "-W", "max-memory-size=lots", "--invoke", "ok()", guests["spin"])
    assert o.clean and o.returncode != 0
    assert "invalid size 'lots'" in o.stderr


def test_limit_parsing() -> None:
    from wasmloop.limits import parse_duration, parse_size

    assert parse_duration("10s") == 10.0
    assert parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120.0
    assert parse_size("64MiB") == 64 << 20
    assert parse_size("1G") == 1 << 30
    assert parse_size("4096") == 4096
    with pytest.raises(ValueError):
        parse_duration("-1s")
    with pytest.raises(ValueError):
        parse_size("1.5G")


def test_wast_takes_the_limit_flags(tmp_path_factory: pytest.TempPathFactory) -> None:
    wast = tmp_path_factory.mktemp("wast") / "spin.wast"
    wast.write_text(
        """
        (component
          (core module $M (func (export "spin") (loop $l (br $l))))
          (core instance $i (instantiate $M))
          (func (export "spin") (canon lift (core func $i "spin"))))
        (assert_trap (invoke "spin") "interrupt")
        """
    )
    o = run_cli("wast", "--timeout", "300ms", str(wast))
    assert_ok(o)
    assert "2 passed, 0 failed" in o.stdout
    o = run_cli("wast", "-W", "fuel=10000", str(wast))
    assert o.clean and o.returncode == 1
    assert "all fuel consumed by WebAssembly" in o.stdout


def test_timeout_of_a_waiting_guest_from_a_script_without_a_loop() -> None:
    """``instantiate_sync`` + ``call_sync``: the deadline is armed on call_sync's loop."""
    wat = """
    (component
      (import "never" (func $never (result u32)))
      (core func $n (canon lower (func $never)))
      (core module $M (import "" "never" (func $n (result i32)))
        (func (export "f") (result i32) (call $n)))
      (core instance $i (instantiate $M (with "" (instance (export "never" (func $n))))))
      (func (export "f") (result u32) (canon lift (core func $i "f"))))
    """
    o = run_script(
        f"""
        import asyncio, wasmloop
        from componentutil import wat_to_wasm
        async def never():
            await asyncio.Event().wait()
        engine = wasmloop.Engine(epoch_interruption=True)
        linker = wasmloop.Linker(engine)
        linker.define_func(None, "never", never)
        inst = linker.instantiate_sync(wasmloop.Component(engine, wat_to_wasm({wat!r})),
                                       limits=wasmloop.Limits(timeout=0.3))
        try:
            inst.exports["f"].call_sync()
        except wasmloop.Trap as t:
            print("trap:", t.message.strip().splitlines()[-1].strip(), file=sys.stderr)
            sys.exit(3)
        """
    )
    assert_error(o, "trap: " + INTERRUPT)


def test_a_deadline_is_per_instance() -> None:
    o = run_script(
        f"""
        import wasmloop
        from componentutil import wat_to_wasm
        e = wasmloop.Engine(epoch_interruption=True, consume_fuel=True)
        c = wasmloop.Component(e, wat_to_wasm({SPIN!r}))
        linker = wasmloop.Linker(e)
        free = linker.instantiate_sync(c)
        patient = linker.instantiate_sync(c, limits=wasmloop.Limits(timeout=600, fuel=10**9))
        hasty = linker.instantiate_sync(c, limits=wasmloop.Limits(timeout=0.2))
        try:
            hasty.exports["spin"].call_sync()
            raise SystemExit("no interrupt")
        except wasmloop.Trap as t:
            assert "wasm trap: interrupt" in t.message
        assert free.exports["ok"].call_sync() == 42
        assert patient.exports["ok"].call_sync() == 42
        assert patient._store.get_fuel() < 10**9       # fuel was consumed, and only there
        patient.close()
        """
    )
    assert_ok(o)

"""`wasmloop run` against `wasmtime run` with a freestanding C guest (clang-22) that writes the
component model async ABI by hand (tests/guests/cli03.c): a callback-lifted
`wasi:cli/run@0.3.0#run`, `stream.new`/`stream.write`/`future.read`/`waitable-set.*` built-ins
on `wasi:cli/stdout@0.3.0` write-via-stream and `wasi:cli/stdin@0.3.0` read-via-stream."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from difftest import compare, run_reference, run_wasmloop
from guests import c_cli03


@pytest.fixture(scope="module")
def wasm() -> Path:
    return c_cli03()


@pytest.mark.parametrize(
    "args", [[], [""], ["hello", "two words", "", "ünï"]], ids=["none", "empty", "several"]
)
def test_hello_and_args(wasm: Path, args: list[str]) -> None:
    ref = run_reference(wasm, args)
    assert ref.code == 0, ref.err()
    assert ref.lines()[:2] == ["hello from C", f"argc {len(args) + 1}"]
    assert ref.lines()[2:] == [f"arg[{i}] = '{a}'" for i, a in enumerate(args, 1)]
    compare(ref, run_wasmloop(wasm, args))


def test_large_stdout_in_big_stream_writes(wasm: Path) -> None:
    ref = run_reference(wasm, ["big", "9"])
    assert ref.code == 0, ref.err()
    assert len(ref.stdout) == 9 << 20
    assert ref.stdout[:28] == b"abcdefghijklmnopqrstuvwxyzab"
    compare(ref, run_wasmloop(wasm, ["big", "9"]))


def test_stdin_copied_to_stdout(wasm: Path) -> None:
    data = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(40000))  # 1.25 MiB
    ref = run_reference(wasm, ["cat"], stdin=data)
    assert (ref.code, ref.stdout) == (0, data)
    compare(ref, run_wasmloop(wasm, ["cat"], stdin=data))


def test_stdin_empty(wasm: Path) -> None:
    ref = run_reference(wasm, ["cat"])
    assert (ref.code, ref.stdout) == (0, b"")
    compare(ref, run_wasmloop(wasm, ["cat"]))


def test_exit_with_code(wasm: Path) -> None:
    ref = run_reference(wasm, ["exit", "7"])
    assert (ref.code, ref.out()) == (7, "exiting\n")
    compare(ref, run_wasmloop(wasm, ["exit", "7"]))


def test_run_returns_err(wasm: Path) -> None:
    ref = run_reference(wasm, ["err"])
    assert (ref.code, ref.out()) == (1, "returning err\n")
    compare(ref, run_wasmloop(wasm, ["err"]))

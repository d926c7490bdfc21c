"""`wasmloop run` against `wasmtime run` with a componentize-qjs guest (tests/guests/cli03.js,
built with `jco componentize --backend qjs`): WASI 0.3 stdout stream, arguments, an async
clock wait, exit-with-code and `run` returning err."""

from __future__ import annotations

from pathlib import Path

import pytest
from difftest import compare, run_reference, run_wasmloop
from guests import qjs_cli03


@pytest.fixture(scope="module")
def wasm() -> Path:
    return qjs_cli03()


@pytest.mark.parametrize(
    "args", [[], [""], ["two words", "ünï", "--x"]], ids=["none", "empty", "several"]
)
def test_hello_and_args(wasm: Path, args: list[str]) -> None:
    ref = run_reference(wasm, args)
    assert ref.code == 0, ref.err()
    assert ref.lines() == ["hello from JS", f"argc {len(args) + 1}",
                           *(f"arg[{i}] = '{a}'" for i, a in enumerate(args, 1)), "waited"]
    compare(ref, run_wasmloop(wasm, args))


def test_exit_with_code(wasm: Path) -> None:
    ref = run_reference(wasm, ["exit", "7"])
    assert ref.code == 7
    assert ref.lines()[-1] == "waited"
    compare(ref, run_wasmloop(wasm, ["exit", "7"]))


def test_run_returns_err(wasm: Path) -> None:
    ref = run_reference(wasm, ["err"])
    assert ref.code == 1
    compare(ref, run_wasmloop(wasm, ["err"]))

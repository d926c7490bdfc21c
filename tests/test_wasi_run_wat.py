"""`wasmloop run` against `wasmtime run` with a WASI 0.3 command written as component text
(tests/guests/cli03.wat): it imports get-arguments and stdout write-via-stream directly and
exports a callback-lifted `wasi:cli/run@0.3.0#run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from difftest import compare, run_reference, run_wasmloop
from guests import build_wat, guest_source


@pytest.fixture(scope="module")
def wasm() -> Path:
    return build_wat(guest_source("cli03.wat"))


@pytest.mark.parametrize(
    "args", [[], ["one"], ["with space", "ünï", "--x"]], ids=["none", "one", "several"]
)
def test_hello_and_args(wasm: Path, args: list[str]) -> None:
    ref = run_reference(wasm, args)
    assert ref.code == 0, ref.err()
    assert ref.lines() == ["hello from WAT", *(f"[{a}]" for a in args)]
    compare(ref, run_wasmloop(wasm, args))


def test_run_returns_err(wasm: Path) -> None:
    """An empty argument makes `run` return `err`: exit code 1, the output still written."""
    ref = run_reference(wasm, ["a", ""])
    assert (ref.code, ref.lines()) == (1, ["hello from WAT", "[a]", "[]"])
    compare(ref, run_wasmloop(wasm, ["a", ""]))


def test_imports_are_only_what_the_text_declares(wasm: Path) -> None:
    """The guest needs no WASI beyond its three imports (a host must not demand more)."""
    from wasmloop.host import Component, Engine

    component = Component.from_file(Engine(), str(wasm))
    assert sorted(component.imports) == [
        "wasi:cli/environment@0.3.0", "wasi:cli/stdout@0.3.0", "wasi:cli/types@0.3.0"
    ]
    assert sorted(component.exports) == ["wasi:cli/run@0.3.0"]

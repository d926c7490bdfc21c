"""Two componentize-py components composed with `wasm-tools compose`: a wasi:cli 0.3 command
(tests/guests/compose/consumer.py) hands a `stream<u8>` to a provider
(tests/guests/compose/provider.py, exporting `local:pipe/hasher`) and gets back a
`future<string>` with the byte count and sha256 of what it streamed. The composed component is
run by `wasmtime run` and `wasmloop run`, which must agree."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from difftest import compare, run_reference, run_wasmloop
from guests import GUESTS, build_python, compose, wasi_wit

PIPE = GUESTS / "compose"


@pytest.fixture(scope="module")
def wasm() -> Path:
    wit = wasi_wit("0.3.0")
    provider = build_python((PIPE / "provider.py").read_text(), "local:pipe/provider", wit,
                            PIPE / "pipe.wit")
    consumer = build_python((PIPE / "consumer.py").read_text(), "local:pipe/consumer", wit,
                            PIPE / "pipe.wit")
    return compose(consumer, provider)


def test_stream_in_future_back_across_components(wasm: Path) -> None:
    data = bytes(range(256)) * 256 * 16
    ref = run_reference(wasm)
    assert ref.code == 0, ref.err()
    assert ref.out() == f"digest {len(data)} {hashlib.sha256(data).hexdigest()}\n"
    compare(ref, run_wasmloop(wasm))


def test_composition_leaves_no_hasher_import(wasm: Path) -> None:
    from wasmloop.host import Component, Engine

    imports = Component.from_file(Engine(), str(wasm)).imports
    assert "local:pipe/hasher" not in imports
    assert any(name.startswith("wasi:cli/stdout@0.3") for name in imports)

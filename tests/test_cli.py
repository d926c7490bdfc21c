"""The `wasmloop` command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from componentutil import missing_tool

from wasmloop.cli import main

ROOT = Path(__file__).resolve().parent.parent
HELLO = str(ROOT / "examples" / "hello.wasm")


def test_run_invoke_prints_the_result_in_wave(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--invoke", "add(1, 2)", HELLO]) == 0
    assert capsys.readouterr().out == "3\n"
    assert main(["run", "--invoke", 'greet("a \\"q\\" ✓")', HELLO]) == 0
    assert capsys.readouterr().out == '"hello, a \\"q\\" ✓"\n'


def test_run_invoke_unknown_export_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--invoke", "nope()", HELLO]) == 2
    assert "no export named `nope`" in capsys.readouterr().err


def test_run_invoke_bad_argument_is_an_error_not_a_crash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "--invoke", "add(1, -2)", HELLO]) == 1
    assert "error" in capsys.readouterr().err


def test_run_on_a_malformed_file_reports_a_decode_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(Path(HELLO).read_bytes()[:40])
    assert main(["run", "--invoke", "add(1, 2)", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "wasmloop: error:" in err and "offset" in err


def test_inspect_prints_wit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", HELLO]) == 0
    out = capsys.readouterr().out
    assert "export add: func(a: u32, b: u32) -> u32;" in out
    assert "export greet: func(name: string) -> string;" in out


def test_wast_reports_failures_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wasmloop.wast import find_wasm_tools

    if find_wasm_tools() is None:
        missing_tool("wasm-tools is not installed")
    wast = tmp_path / "t.wast"
    wast.write_text(
        """
(component
  (core module $m (func (export "f") (result i32) (i32.const 5)))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))
(assert_return (invoke "f") (u32.const 5))
(assert_return (invoke "f") (u32.const 6))
"""
    )
    assert main(["wast", str(wast)]) == 1
    out = capsys.readouterr().out
    assert f"{wast}:7:" in out
    assert out.strip().endswith("2 passed, 1 failed")

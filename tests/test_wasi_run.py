"""`wasmloop run` and `wasmloop.wasi.run` on small command components of our own (the
bundled examples/hello-cli.wasm, and WAT written here)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from componentutil import wat_to_wasm

import wasmloop
from wasmloop import wasi
from wasmloop.cli import main
from wasmloop.wasi.options import OptionError, config_from_options, parse_s_flags

ROOT = Path(__file__).resolve().parent.parent
HELLO_CLI = ROOT / "examples" / "hello-cli.wasm"


def test_bundled_example_is_built_from_its_source() -> None:
    wat = (ROOT / "examples" / "hello-cli.wat").read_text()
    assert wat_to_wasm(wat) == HELLO_CLI.read_bytes()


def _run_cli(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wasmloop.cli", "run", *argv], input=stdin,
                          capture_output=True, timeout=120)


def test_run_prints_the_guests_arguments_including_option_lookalikes() -> None:
    p = _run_cli(str(HELLO_CLI), "a", "", "b c", "--exit=7", "-W", "x")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello from a component a  b c --exit=7 -W x\n"
    assert p.stderr == b""


def test_python_api_run_with_captured_stdout() -> None:
    engine = wasmloop.Engine()
    component = wasmloop.Component.from_file(engine, HELLO_CLI)
    config = wasi.WasiConfig(args=["prog", "x", "ünï"], stdout="capture")
    ctx = wasi.WasiCtx(config)
    code = asyncio.run(wasi.run(component, ctx))
    assert code == 0
    assert ctx.captured("stdout") == "hello from a component x ünï\n".encode()


TRAPS = """
(component
  (core module $m
    (func $deep (unreachable))
    (func (export "run") (result i32) (call $deep) (i32.const 0)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $r (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $r))
)
"""

RETURNS_ERR = """
(component
  (core module $m (func (export "run") (result i32) (i32.const 1)))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $r (export "run" (func $run)))
  (export "wasi:cli/run@0.2.3" (instance $r))
)
"""

EXITS = """
(component
  (import "wasi:cli/exit@0.3.0" (instance $exit
    (export "exit-with-code" (func (param "status-code" u8)))))
  (core func $exit (canon lower (func $exit "exit-with-code")))
  (core module $m
    (import "" "exit" (func $exit (param i32)))
    (func (export "run") (result i32) (call $exit (i32.const 7)) (unreachable)))
  (core instance $i (instantiate $m (with "" (instance (export "exit" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $r (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $r))
)
"""


def test_trap_exits_134_with_wasmtimes_report(tmp_path: Path) -> None:
    f = tmp_path / "t.wasm"
    f.write_bytes(wat_to_wasm(TRAPS))
    p = _run_cli(str(f))
    assert p.returncode == 134
    err = p.stderr.decode()
    assert err.startswith(f"Error: failed to run main module `{f}`\n\nCaused by:\n")
    assert "    0: failed to invoke `run` function\n" in err
    assert "m!deep" in err or "m!<wasm function 0>" in err
    assert "wasm trap: wasm `unreachable` instruction executed" in err
    assert "Traceback" not in err


def test_run_returning_err_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "e.wasm"
    f.write_bytes(wat_to_wasm(RETURNS_ERR))
    p = _run_cli(str(f))
    assert (p.returncode, p.stdout, p.stderr) == (1, b"", b"")


def test_exit_with_code(tmp_path: Path) -> None:
    f = tmp_path / "x.wasm"
    f.write_bytes(wat_to_wasm(EXITS))
    p = _run_cli(str(f))
    assert (p.returncode, p.stderr) == (7, b"")


def test_bad_flags_are_clear_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-S", "bogus", str(HELLO_CLI)]) == 1
    assert "unknown -S option `bogus`" in capsys.readouterr().err
    assert main(["run", "-S", "nn", str(HELLO_CLI)]) == 1
    assert "-S nn is not supported" in capsys.readouterr().err
    assert main(["run", "--dir", "/nonexistent-dir-xyz", str(HELLO_CLI)]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_not_a_command_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(ROOT / "examples" / "hello.wasm")]) == 1
    assert "does not export `wasi:cli/run`" in capsys.readouterr().err


def test_s_flags_and_network_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_s_flags(["tcp,udp=n", "cli"]).bools == {"tcp": True, "udp": False, "cli": True}
    with pytest.raises(OptionError):
        parse_s_flags(["tcp=maybe"])
    none = config_from_options(args=["x"])
    assert (none.network.tcp, none.network.udp, none.network.ip_name_lookup) == (False,) * 3
    assert list(none.env) == []
    inherit = config_from_options(args=["x"], s_flags=["inherit-network", "udp=n"])
    assert (inherit.network.tcp, inherit.network.udp) == (True, False)
    tcp_only = config_from_options(args=["x"], allow_tcp=True, allow_ip_name_lookup=True)
    assert (tcp_only.network.tcp, tcp_only.network.udp, tcp_only.network.ip_name_lookup) == (
        True, False, True)
    monkeypatch.setenv("WASMLOOP_T_SET", "host")
    monkeypatch.delenv("WASMLOOP_T_ABSENT", raising=False)
    cfg = config_from_options(args=["x"], envs=["A=1", "WASMLOOP_T_SET", "WASMLOOP_T_ABSENT",
                                                "B=x=y"])
    assert list(cfg.env) == [("A", "1"), ("WASMLOOP_T_SET", "host"), ("B", "x=y")]


def test_invoke_an_interface_export_as_wasmtime_spells_it() -> None:
    p = _run_cli("--invoke", "wasi:cli/run.run@0.3.0()", str(HELLO_CLI))
    assert (p.returncode, p.stdout, p.stderr) == (0, b"hello from a component\nok\n", b"")


def test_readme_wasi_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\nimport asyncio\nimport wasmloop\nfrom wasmloop import wasi")
    code = readme[start + len("```python\n"):readme.index("```", start + 10)]
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello from a component from python\n"

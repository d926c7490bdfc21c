"""CoreEngine (a configured wasmtime engine + module cache) and CoreModule."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from pathlib import Path
from typing import Any

from .. import errors
from . import _capi
from ._epoch import EpochTicker
from ._types import extern_type


def default_cache_dir() -> Path:
    env = os.environ.get("WASMLOOP_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wasmloop" / "modules"


_wasmtime_version: str | None = None


def wasmtime_version() -> str:
    """wasmtime-py's version (it names the wasmtime release it bundles)."""
    global _wasmtime_version
    if _wasmtime_version is None:
        _wasmtime_version = _dist_info_version()
    if _wasmtime_version is None:
        try:
            from importlib.metadata import version

            _wasmtime_version = version("wasmtime")
        except Exception:  # noqa: BLE001
            _wasmtime_version = "unknown"
    return _wasmtime_version


def _dist_info_version() -> str | None:
    """The version in the name of the one ``wasmtime-<version>.dist-info`` beside the package
    directory the library was loaded from, if there is exactly one: importing
    ``importlib.metadata`` costs more than the rest of starting an engine."""
    try:
        names = os.listdir(os.path.dirname(_capi.PACKAGE_DIR))
    except OSError:
        return None
    found = [n[len("wasmtime-"):-len(".dist-info")] for n in names
             if n.startswith("wasmtime-") and n.endswith(".dist-info")]
    return found[0] if len(found) == 1 and found[0] else None


_UNSET: Any = object()

#: Wasmtime's defaults (512 KiB of wasm stack, 2 MiB fibers). Each live store keeps one fiber
#: stack for reuse, so the fiber size is what a live instance costs in address space.
DEFAULT_MAX_WASM_STACK = 512 << 10
DEFAULT_ASYNC_STACK_SIZE = 2 << 20
#: Fiber stack left for Python host code above the wasm frames: CPython 3.11 at its default
#: recursion limit (1000 frames, each C-level re-entry ≈0.5–1 KiB) fits in well under this.
MIN_HOST_STACK = 1 << 20


class CoreEngine:
    """A wasmtime engine for core modules, configured for async calls (fibers).

    ``compile`` caches compiled code in memory (per engine) and on disk (keyed by the sha256
    of the bytes, the wasmtime version and the engine settings).
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = _UNSET,
        use_cache: bool = True,
        max_wasm_stack: int = DEFAULT_MAX_WASM_STACK,
        async_stack_size: int = DEFAULT_ASYNC_STACK_SIZE,
        epoch_interruption: bool = False,
        consume_fuel: bool = False,
        memory_reservation: int | None = None,
        memory_guard_size: int | None = None,
        wasm_features: dict[str, bool] | None = None,
    ) -> None:
        if async_stack_size < max_wasm_stack + MIN_HOST_STACK:
            # wasmtime aborts the process if the fiber stack is smaller than the wasm stack
            # limit, and Python code in host functions runs on the rest of the fiber stack.
            raise ValueError(
                "async_stack_size must exceed max_wasm_stack by at least "
                f"{MIN_HOST_STACK >> 10} KiB (room for Python code in host functions)"
            )
        self.epoch_interruption = bool(epoch_interruption)
        self.consume_fuel = bool(consume_fuel)
        self.settings: dict[str, bool | int] = {
            "max_wasm_stack": int(max_wasm_stack),
            "async_stack_size": int(async_stack_size),
            "epoch_interruption": self.epoch_interruption,
            "consume_fuel": self.consume_fuel,
            "memory_may_move": False,
            "wasm_multi_memory": True,
            "wasm_bulk_memory": True,
            "wasm_reference_types": True,
            "wasm_multi_value": True,
            "wasm_simd": True,
            "wasm_relaxed_simd": True,
            "wasm_tail_call": True,
            "wasm_function_references": True,
            "wasm_exceptions": True,
            "wasm_memory64": True,
            "wasm_wide_arithmetic": True,
            "wasm_extended_const": True,
        }
        if memory_reservation is not None:
            self.settings["memory_reservation"] = int(memory_reservation)
        if memory_guard_size is not None:
            self.settings["memory_guard_size"] = int(memory_guard_size)
        # Core wasm features by wasmtime's setting name (validate.features.parse_features).
        self.settings.update(wasm_features or {})
        self._ptr, self.missing_settings = _capi.engine_new(self.settings)
        asked = [k for k in (wasm_features or {}) if k in self.missing_settings]
        if asked:
            raise ValueError(f"this wasmtime cannot configure {', '.join(asked)}")
        self.ticker = EpochTicker(self._ptr) if self.epoch_interruption else None
        if cache_dir is _UNSET:
            cache_dir = default_cache_dir()
        self.cache_dir: Path | None = (
            Path(cache_dir) if (use_cache and cache_dir is not None) else None
        )
        self._fingerprint = hashlib.sha256(
            json.dumps(
                {"wasmtime": wasmtime_version(), "settings": self.settings, "fmt": 1},
                sort_keys=True,
            ).encode()
        ).hexdigest()
        #: The disk cache is kept under this many bytes (least recently used evicted).
        self.cache_max_bytes = DEFAULT_CACHE_MAX_BYTES
        self._modules: dict[str, CoreModule] = {}
        #: FuncType → its ``wasm_functype_t*`` for this engine (see ``_capi.functype_ptr``)
        self._functypes: dict[Any, int] = {}
        self.stats = {"compiled": 0, "cache_hits": 0, "cache_errors": 0, "memory_hits": 0}

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None)
        if ptr:
            ticker = getattr(self, "ticker", None)
            if ticker is not None:
                ticker.close()  # it increments this engine's epoch: stop it first
            self._modules = {}
            self._ptr = 0
            # Function types are tied to this engine: forget them, so a new engine that wasmtime
            # allocates at the same address never reuses one (which aborts the process).
            _capi.forget_functypes(ptr)
            _capi.wasm_engine_delete(ptr)  # stores and modules hold their own references

    # ----------------------------------------------------------------------------------------
    def compile(self, wasm: bytes | bytearray | memoryview, *, digest: str | None = None
                ) -> CoreModule:
        """The compiled module of ``wasm``; ``digest``, if given, must be its sha256 (hex),
        as a caller that already knows it (the component cache) passes to skip hashing."""
        if digest is None:
            digest = hashlib.sha256(wasm).hexdigest()
        module = self._modules.get(digest)
        if module is not None:
            self.stats["memory_hits"] += 1
            return module
        key = hashlib.sha256(f"{digest}:{self._fingerprint}".encode()).hexdigest()
        ptr = 0
        from_cache = False
        path = None
        if self.cache_dir is not None:
            path = self.cache_dir / key[:2] / f"{key}.cwasm"
            ptr = self._load_cached(path)
            from_cache = bool(ptr)
        types = None
        if not ptr:
            ptr, msg = _capi.module_new(self._ptr, bytes(wasm))  # a copy only to compile
            if not ptr:
                raise errors.ValidationError(msg or "invalid module")
            self.stats["compiled"] += 1
            if path is not None:
                types = _capi.module_types(ptr)
                self._store_cached(path, ptr, types)
        else:
            self.stats["cache_hits"] += 1
            assert path is not None
            types = _load_types(path)
            if types is None:  # an entry written before types were kept beside it
                types = _capi.module_types(ptr)
                try:
                    _atomic_write(path.with_suffix(".types"), _dump_types(types))
                except OSError:
                    pass
        module = CoreModule(self, ptr, digest, from_cache, types)
        self._modules[digest] = module
        return module

    def validate(self, wasm: bytes | bytearray | memoryview) -> None:
        """Check a core module as wasmtime would compile it (``wasmtime_module_validate``),
        without compiling it; ``ValidationError`` with wasmtime's message."""
        import ctypes

        data = bytes(wasm)
        fn = _capi._fn("wasmtime_module_validate", _capi._P, _capi._P, _capi._P, _capi._SZ)
        src = ctypes.c_char_p(data)
        err = fn(self._ptr, ctypes.cast(src, _capi._P), len(data))
        if err:
            raise errors.ValidationError(_capi.take_error_message(err))

    def _load_cached(self, path: Path) -> int:
        sum_path = path.with_suffix(".sha256")
        if not (_private(path.parent) and _private(path.parent.parent)):
            self.stats["cache_errors"] += 1
            return 0
        try:
            for p in (path, sum_path):
                if not _private(p):
                    self.stats["cache_errors"] += 1
                    return 0
            expected = sum_path.read_text().split()
            with open(path, "rb") as f:
                if len(expected) == 2:
                    # Written by us into a private directory, atomically: a size and header
                    # check catches truncation (wasmtime checks the engine and version).
                    ok = (os.fstat(f.fileno()).st_size == int(expected[1])
                          and f.read(4) == b"\x7fELF")
                else:
                    ok = [hashlib.file_digest(f, "sha256").hexdigest()] == expected
        except (OSError, ValueError):
            return 0
        if not ok:
            self.stats["cache_errors"] += 1
            return 0
        ptr, _msg = _capi.module_deserialize_file(self._ptr, os.fsencode(path))
        if not ptr:
            self.stats["cache_errors"] += 1
        else:
            try:
                os.utime(path)  # recently used: evicted last (atime is often not kept)
            except OSError:
                pass
        return ptr

    def _store_cached(self, path: Path, module_ptr: int, types: _capi.ModuleTypes) -> None:
        try:
            ser = _capi.Serialized(module_ptr)
        except errors.WasmloopError:
            return
        try:
            if not _private_dirs(path.parent, levels=2):
                self.stats["cache_errors"] += 1
                return
            digest = hashlib.sha256(ser.view).hexdigest()
            _atomic_write(path.with_suffix(".types"), _dump_types(types))
            _atomic_write(path, ser.view)
            _atomic_write(path.with_suffix(".sha256"), f"{digest} {len(ser.view)}".encode())
            _evict(path.parent.parent, self.cache_max_bytes)
        except OSError:
            pass
        finally:
            ser.free()


#: Default bound on the compiled-module cache (oldest entries are evicted past it).
DEFAULT_CACHE_MAX_BYTES = 512 << 20


def _private(path: Path) -> bool:
    """``path`` is ours and nobody else can write to it (nor swap it: no symlinks). The cache
    holds native code that is loaded and run, so anything else is refused."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    import stat

    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
        return False
    return not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _private_dirs(path: Path, levels: int) -> bool:
    """Create ``path`` and its ``levels - 1`` parents if needed (mode 0700), and check each
    of those ``levels`` directories with ``_private``."""
    chain = [path]
    for _ in range(levels - 1):
        chain.append(chain[-1].parent)
    for d in reversed(chain):
        try:
            d.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            pass
        if not _private(d):
            return False
    return True


def _evict(root: Path, max_bytes: int) -> None:
    """Keep the cache under ``max_bytes``: drop the least recently used entries (by atime, or
    mtime where atime is not kept) until it is under 3/4 of it."""
    entries: list[tuple[float, int, Path]] = []
    total = 0
    for f in root.glob("??/*.cwasm"):
        try:
            st = f.stat()
        except OSError:
            continue
        total += st.st_size
        entries.append((max(st.st_atime, st.st_mtime), st.st_size, f))
    if total <= max_bytes:
        return
    entries.sort()
    for _t, size, f in entries:
        if total <= max_bytes * 3 // 4:
            break
        for victim in (f, f.with_suffix(".sha256"), f.with_suffix(".types")):
            try:
                victim.unlink()
            except OSError:
                pass
        total -= size


#: The layout of a ``.types`` file (a ``marshal`` of ``(_TYPES_FORMAT, imports, exports)``).
_TYPES_FORMAT = 1


def _dump_types(types: _capi.ModuleTypes) -> bytes:
    return marshal.dumps((_TYPES_FORMAT, *types))


def _load_types(path: Path) -> _capi.ModuleTypes | None:
    """The import and export types kept beside a cached module (``_capi.module_types`` of
    it), or None. Reading thousands of them through the C API costs more than loading the
    module; they live in the same private directory, written by us, so a plain ``marshal``
    of tuples is enough (anything unexpected is a miss)."""
    tpath = path.with_suffix(".types")
    if not _private(tpath):
        return None
    try:
        with open(tpath, "rb") as f:
            value = marshal.loads(f.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if (type(value) is tuple and len(value) == 3 and value[0] == _TYPES_FORMAT
            and type(value[1]) is list and type(value[2]) is list
            and all(type(i) is tuple and len(i) == 4 for i in value[1])
            and all(type(e) is tuple and len(e) == 3 for e in value[2])):
        return value[1], value[2]
    return None


def _atomic_write(path: Path, data: Any) -> None:
    import tempfile  # only when writing: not imported on a warm start

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class CoreModule:
    """A compiled core module. ``imports``: [(module, name, kind, type)], ``exports``:
    [(name, kind, type)]; kind is "func", "table", "memory", "global" or "tag"; type is a
    FuncType, TableType, MemoryType, GlobalType or TagType."""

    def __init__(self, engine: CoreEngine, ptr: int, digest: str, from_cache: bool,
                 types: _capi.ModuleTypes | None = None) -> None:
        self.engine = engine
        self._ptr = ptr
        self.sha256 = digest
        self.from_cache = from_cache
        imports, exports = types if types is not None else _capi.module_types(ptr)
        self.imports: list[tuple[str, str, str, Any]] = [
            (m, n, k, extern_type(k, info)) for m, n, k, info in imports
        ]
        self._raw_exports = exports
        self._exports: list[tuple[str, str, Any]] | None = None
        #: Export name → (kind, C API info): types are made on first use (``export_type``),
        #: as a module such as an interpreter's exports thousands a component never uses.
        self._export_kinds: dict[str, tuple[str, Any]] = {n: (k, i) for n, k, i in exports}
        #: Made on first use and kept for every instance of the module: its imports' names
        #: as C strings, its exports' names as C strings and their types.
        self._import_keys: list[tuple[bytes, int, bytes, int]] | None = None
        self._export_keys: dict[str, bytes] = {}
        self._export_types: dict[str, Any] = {}
        self._export_index: dict[str, int] | None = None

    def export_index(self, name: str) -> int:
        """The position of export ``name`` (KeyError if there is none)."""
        index = self._export_index
        if index is None:
            index = self._export_index = {n: i for i, n in enumerate(self._export_kinds)}
        return index[name]

    def import_keys(self) -> list[tuple[bytes, int, bytes, int]]:
        """(module, len, name, len) of each import, encoded for the C API."""
        keys = self._import_keys
        if keys is None:
            keys = self._import_keys = []
            for m, n, _k, _t in self.imports:
                mb, nb = m.encode(), n.encode()
                keys.append((mb, len(mb), nb, len(nb)))
        return keys

    @property
    def exports(self) -> list[tuple[str, str, Any]]:
        if self._exports is None:
            self._exports = [(n, k, extern_type(k, info)) for n, k, info in self._raw_exports]
        return self._exports

    def export_type(self, name: str) -> Any:
        """The type of export ``name`` (None if there is no such export)."""
        t = self._export_types.get(name)
        if t is None:
            ki = self._export_kinds.get(name)
            if ki is None:
                return None
            t = self._export_types[name] = extern_type(*ki)
        return t

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", 0)
        if ptr:
            self._ptr = 0
            _capi.wasmtime_module_delete(ptr)

    def __repr__(self) -> str:
        return f"<CoreModule {self.sha256[:12]} imports={len(self.imports)} exports={len(self.exports)}>"

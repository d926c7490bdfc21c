"""Every raw ctypes / ``wasmtime._bindings`` use of wasmloop lives in this module.

wasmtime-py's C API bindings are private: a wasmtime upgrade must only touch this file. Hot
entry points are re-declared here (``dll[name]`` makes a fresh function object, so wasmtime-py's
own declarations are left untouched) with ``c_void_p`` arguments: callers pass plain integer
addresses, which is the cheapest conversion ctypes offers.

The three ctypes trampolines (sync import, async import, async continuation) and the
continuation finalizer are created once per process and never freed. They dispatch on an
integer ``env`` through the registries below; nothing that runs inside them may let an
exception escape (that aborts the process), so every one of them catches ``BaseException``.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import struct
import sys
from collections import OrderedDict
from typing import Any

from .. import errors


def _wasmtime_library() -> tuple[Any, str]:
    """wasmtime-py's bundled ``libwasmtime`` (the ctypes library) and the wasmtime-py package
    directory.

    Importing ``wasmtime`` declares the whole C API through ctypes and costs as much as the
    rest of a warm ``wasmloop run``: the library is loaded from the package directory
    directly (the same file, so the same handle, that wasmtime-py loads), and only where that
    layout is not found does this fall back to ``wasmtime._bindings``."""
    ffi = sys.modules.get("wasmtime._ffi")
    if ffi is not None:
        return ffi.dll, os.path.dirname(ffi.__file__)
    try:
        from importlib.util import find_spec

        spec = find_spec("wasmtime")
        locations = list(spec.submodule_search_locations or ()) if spec is not None else []
        machine = {"AMD64": "x86_64", "arm64": "aarch64", "ARM64": "aarch64"}.get(
            os.uname().machine, os.uname().machine)
        plat = "android" if hasattr(sys, "getandroidapilevel") else sys.platform
        libname = {"linux": "_libwasmtime.so", "android": "_libwasmtime.so",
                   "darwin": "_libwasmtime.dylib"}[plat]
        for loc in locations:
            path = os.path.join(loc, f"{plat}-{machine}", libname)
            if os.path.isfile(path):
                return ctypes.cdll.LoadLibrary(path), loc
    except (AttributeError, KeyError, ImportError, ValueError, OSError):
        pass
    import wasmtime._bindings as _b  # Windows, or a layout this does not know

    return _b.dll, os.path.dirname(_b.__file__)


dll, PACKAGE_DIR = _wasmtime_library()

_P = ctypes.c_void_p
_SZ = ctypes.c_size_t
_U64 = ctypes.c_uint64
_BOOL = ctypes.c_bool
_U8 = ctypes.c_uint8


def _fn(name: str, restype: Any, *argtypes: Any) -> Any:
    f = dll[name]
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


# --------------------------------------------------------------------------------------------
# Constants and layouts (checked against the bindings' structures at import time)

# The C API's layouts on 64-bit targets; tests/test_engine.py checks them against the
# structures wasmtime-py declares (``wasmtime._bindings``).
VAL_SIZE = 32  # wasmtime_val_t: kind at 0, payload at 8
VAL_PAYLOAD = 8
RAW_SIZE = 16  # wasmtime_val_raw_t
EXTERN_SIZE = 32  # wasmtime_extern_t: kind at 0, payload at 8
EXTERN_PAYLOAD = 8
FUNC_SIZE = 16  # wasmtime_func_t
INSTANCE_SIZE = 16  # wasmtime_instance_t
CONT_SIZE = 24  # wasmtime_async_continuation_t: 3 pointers

# wasmtime_valkind_t
WT_I32, WT_I64, WT_F32, WT_F64, WT_V128, WT_FUNCREF, WT_EXTERNREF = 0, 1, 2, 3, 4, 5, 6
# wasm_valkind_t (wasm.h)
WASM_I32, WASM_I64, WASM_F32, WASM_F64, WASM_V128 = 0, 1, 2, 3, 4
WASM_EXTERNREF, WASM_FUNCREF = 128, 129
# wasmtime_extern_kind_t
EXT_FUNC, EXT_GLOBAL, EXT_TABLE, EXT_MEMORY, EXT_SHAREDMEMORY, EXT_TAG = 0, 1, 2, 3, 4, 5
# wasm_externkind_t
WASM_EXTERN_FUNC, WASM_EXTERN_GLOBAL, WASM_EXTERN_TABLE, WASM_EXTERN_MEMORY, WASM_EXTERN_TAG = (
    0,
    1,
    2,
    3,
    4,
)

# --------------------------------------------------------------------------------------------
# Prototypes

wasm_config_new = _fn("wasm_config_new", _P)
wasm_engine_new_with_config = _fn("wasm_engine_new_with_config", _P, _P)
wasm_engine_delete = _fn("wasm_engine_delete", None, _P)


def config_set(cfg: int, name: str, value: bool | int) -> bool:
    """Calls ``wasmtime_config_<name>_set`` if this wasmtime has it; returns whether it did."""
    sym = f"wasmtime_config_{name}_set"
    if not hasattr(dll, sym):
        return False
    argtype = _BOOL if isinstance(value, bool) else _SZ
    _fn(sym, None, _P, argtype)(cfg, value)
    return True


wasmtime_error_message = _fn("wasmtime_error_message", None, _P, _P)
wasmtime_error_delete = _fn("wasmtime_error_delete", None, _P)
wasm_trap_message = _fn("wasm_trap_message", None, _P, _P)
wasm_trap_delete = _fn("wasm_trap_delete", None, _P)
wasmtime_trap_new = _fn("wasmtime_trap_new", _P, ctypes.c_char_p, _SZ)
wasm_byte_vec_delete = _fn("wasm_byte_vec_delete", None, _P)

wasmtime_module_new = _fn("wasmtime_module_new", _P, _P, _P, _SZ, _P)
wasmtime_module_delete = _fn("wasmtime_module_delete", None, _P)
wasmtime_module_serialize = _fn("wasmtime_module_serialize", _P, _P, _P)
wasmtime_module_deserialize_file = _fn(
    "wasmtime_module_deserialize_file", _P, _P, ctypes.c_char_p, _P
)
wasmtime_module_imports = _fn("wasmtime_module_imports", None, _P, _P)
wasmtime_module_exports = _fn("wasmtime_module_exports", None, _P, _P)
wasm_importtype_vec_delete = _fn("wasm_importtype_vec_delete", None, _P)
wasm_exporttype_vec_delete = _fn("wasm_exporttype_vec_delete", None, _P)
wasm_importtype_module = _fn("wasm_importtype_module", _P, _P)
wasm_importtype_name = _fn("wasm_importtype_name", _P, _P)
wasm_importtype_type = _fn("wasm_importtype_type", _P, _P)
wasm_exporttype_name = _fn("wasm_exporttype_name", _P, _P)
wasm_exporttype_type = _fn("wasm_exporttype_type", _P, _P)
wasm_externtype_kind = _fn("wasm_externtype_kind", _U8, _P)
wasm_externtype_as_functype_const = _fn("wasm_externtype_as_functype_const", _P, _P)
wasm_externtype_as_globaltype_const = _fn("wasm_externtype_as_globaltype_const", _P, _P)
wasm_externtype_as_tabletype_const = _fn("wasm_externtype_as_tabletype_const", _P, _P)
wasm_externtype_as_memorytype_const = _fn("wasm_externtype_as_memorytype_const", _P, _P)
wasm_externtype_as_tagtype_const = _fn("wasm_externtype_as_tagtype_const", _P, _P)
wasm_functype_params = _fn("wasm_functype_params", _P, _P)
wasm_functype_results = _fn("wasm_functype_results", _P, _P)
wasm_functype_new = _fn("wasm_functype_new", _P, _P, _P)
wasm_functype_delete = _fn("wasm_functype_delete", None, _P)
wasm_valtype_new = _fn("wasm_valtype_new", _P, _U8)
wasm_valtype_kind = _fn("wasm_valtype_kind", _U8, _P)
wasm_valtype_vec_new = _fn("wasm_valtype_vec_new", None, _P, _SZ, _P)
wasm_globaltype_content = _fn("wasm_globaltype_content", _P, _P)
wasm_globaltype_mutability = _fn("wasm_globaltype_mutability", _U8, _P)
wasm_globaltype_delete = _fn("wasm_globaltype_delete", None, _P)
wasm_tabletype_element = _fn("wasm_tabletype_element", _P, _P)
wasm_tabletype_limits = _fn("wasm_tabletype_limits", _P, _P)
wasm_tabletype_delete = _fn("wasm_tabletype_delete", None, _P)
wasmtime_memorytype_minimum = _fn("wasmtime_memorytype_minimum", _U64, _P)
wasmtime_memorytype_maximum = _fn("wasmtime_memorytype_maximum", _BOOL, _P, _P)
wasmtime_memorytype_is64 = _fn("wasmtime_memorytype_is64", _BOOL, _P)
wasmtime_memorytype_isshared = _fn("wasmtime_memorytype_isshared", _BOOL, _P)
wasmtime_tagtype_functype = (
    _fn("wasm_tagtype_functype", _P, _P) if hasattr(dll, "wasm_tagtype_functype") else None
)

wasmtime_store_new = _fn("wasmtime_store_new", _P, _P, _P, _P)
_I64 = ctypes.c_int64
wasmtime_store_limiter = _fn("wasmtime_store_limiter", None, _P, _I64, _I64, _I64, _I64, _I64)
wasmtime_context_set_epoch_deadline = _fn("wasmtime_context_set_epoch_deadline", None, _P, _U64)
wasmtime_engine_increment_epoch = _fn("wasmtime_engine_increment_epoch", None, _P)
wasmtime_context_set_fuel = _fn("wasmtime_context_set_fuel", _P, _P, _U64)
wasmtime_context_get_fuel = _fn("wasmtime_context_get_fuel", _P, _P, _P)
wasmtime_store_context = _fn("wasmtime_store_context", _P, _P)
wasmtime_store_delete = _fn("wasmtime_store_delete", None, _P)
wasmtime_linker_new = _fn("wasmtime_linker_new", _P, _P)
wasmtime_linker_delete = _fn("wasmtime_linker_delete", None, _P)
wasmtime_linker_allow_shadowing = _fn("wasmtime_linker_allow_shadowing", None, _P, _BOOL)
wasmtime_linker_define = _fn(
    "wasmtime_linker_define", _P, _P, _P, ctypes.c_char_p, _SZ, ctypes.c_char_p, _SZ, _P
)
wasmtime_linker_get = _fn(
    "wasmtime_linker_get", _BOOL, _P, _P, ctypes.c_char_p, _SZ, ctypes.c_char_p, _SZ, _P
)
wasmtime_linker_instantiate_async = _fn(
    "wasmtime_linker_instantiate_async", _P, _P, _P, _P, _P, _P, _P
)
wasmtime_instance_export_nth = _fn("wasmtime_instance_export_nth", _BOOL, _P, _P, _SZ, _P, _P, _P)
wasmtime_instance_export_get = _fn(
    "wasmtime_instance_export_get", _BOOL, _P, _P, ctypes.c_char_p, _SZ, _P
)

wasmtime_func_type = _fn("wasmtime_func_type", _P, _P, _P)
func_call_async = _fn("wasmtime_func_call_async", _P, _P, _P, _P, _SZ, _P, _SZ, _P, _P)
call_future_poll = _fn("wasmtime_call_future_poll", _BOOL, _P)
call_future_delete = _fn("wasmtime_call_future_delete", None, _P)

wasmtime_memory_data = _fn("wasmtime_memory_data", _P, _P, _P)
memory_data_size = _fn("wasmtime_memory_data_size", _SZ, _P, _P)
wasmtime_memory_size = _fn("wasmtime_memory_size", _U64, _P, _P)
wasmtime_memory_grow = _fn("wasmtime_memory_grow", _P, _P, _P, _U64, _P)
wasmtime_memory_type = _fn("wasmtime_memory_type", _P, _P, _P)
wasm_memorytype_delete = _fn("wasm_memorytype_delete", None, _P)
wasmtime_table_get = _fn("wasmtime_table_get", _BOOL, _P, _P, _U64, _P)
wasmtime_table_set = _fn("wasmtime_table_set", _P, _P, _P, _U64, _P)
wasmtime_table_size = _fn("wasmtime_table_size", _U64, _P, _P)
wasmtime_table_grow = _fn("wasmtime_table_grow", _P, _P, _P, _U64, _P, _P)
wasmtime_table_type = _fn("wasmtime_table_type", _P, _P, _P)
wasmtime_global_get = _fn("wasmtime_global_get", None, _P, _P, _P)
wasmtime_global_set = _fn("wasmtime_global_set", _P, _P, _P, _P)
wasmtime_global_type = _fn("wasmtime_global_type", _P, _P, _P)


# Hot paths: no argtypes (no per-argument conversion); callers pass pre-made ``vp``/``sz``
# objects, which ctypes hands over as they are. ~2x cheaper than c_void_p conversions of ints.
vp = ctypes.c_void_p
sz = ctypes.c_size_t


class FuturePtr(ctypes.c_void_p):
    """Return type of the call-future constructors: kept as a ctypes object (not an int) so it
    can be passed back to poll/delete without conversion."""


fast_call_async = _fn("wasmtime_func_call_async", FuturePtr)
fast_call_async.argtypes = None
fast_poll = _fn("wasmtime_call_future_poll", _BOOL)
fast_poll.argtypes = None
fast_delete = _fn("wasmtime_call_future_delete", None)
fast_delete.argtypes = None
fast_memory_data_size = _fn("wasmtime_memory_data_size", _SZ)
fast_memory_data_size.argtypes = None
wasmtime_linker_instantiate_async.restype = FuturePtr

_unchecked_cb_t = ctypes.CFUNCTYPE(_SZ, _P, _P, _P, _SZ)
_async_cb_t = ctypes.CFUNCTYPE(None, _P, _P, _P, _SZ, _P, _SZ, _P, _P)
_cont_cb_t = ctypes.CFUNCTYPE(_BOOL, _P)
_finalizer_t = ctypes.CFUNCTYPE(None, _P)

wasmtime_func_new_unchecked = _fn(
    "wasmtime_func_new_unchecked", None, _P, _P, _unchecked_cb_t, _P, _P, _P
)
wasmtime_linker_define_async_func = _fn(
    "wasmtime_linker_define_async_func",
    _P,
    _P,
    ctypes.c_char_p,
    _SZ,
    ctypes.c_char_p,
    _SZ,
    _P,
    _async_cb_t,
    _P,
    _P,
)

# --------------------------------------------------------------------------------------------
# Buffers

string_at = ctypes.string_at
memmove = ctypes.memmove


class Buffer:
    """A zeroed C buffer: ``.addr`` (int), ``.mv`` (writable memoryview, format 'B')."""

    __slots__ = ("_raw", "addr", "mv", "size")

    def __init__(self, size: int) -> None:
        self._raw = (ctypes.c_ubyte * max(size, 1))()
        self.addr: int = ctypes.addressof(self._raw)
        self.mv = memoryview(self._raw).cast("B")
        self.size = size


def view_at(addr: int, length: int) -> memoryview:
    """A zero-copy writable memoryview (format 'B') of ``length`` bytes at ``addr``."""
    return memoryview((ctypes.c_ubyte * length).from_address(addr)).cast("B")


def read_u64(addr: int) -> int:
    return ctypes.c_uint64.from_address(addr).value


def _read_name(vec_ptr: int) -> str:
    """A ``wasm_name_t*`` (byte vec) → str."""
    size, data = struct.unpack("<QQ", string_at(vec_ptr, 16))
    return string_at(data, size).decode("utf-8", "replace") if size else ""


def take_error_message(err: int) -> str:
    vec = Buffer(16)
    wasmtime_error_message(err, vec.addr)
    try:
        return _read_name(vec.addr)
    finally:
        wasm_byte_vec_delete(vec.addr)
        wasmtime_error_delete(err)


def take_trap_message(trap: int) -> str:
    vec = Buffer(16)
    wasm_trap_message(trap, vec.addr)
    try:
        msg = _read_name(vec.addr)
    finally:
        wasm_byte_vec_delete(vec.addr)
        wasm_trap_delete(trap)
    return msg.rstrip("\0")


def check(err: int | None, exc: type[Exception] = errors.WasmloopError) -> None:
    if err:
        raise exc(take_error_message(err))


def new_trap(message: str) -> int:
    data = message.encode("utf-8", "replace")
    return wasmtime_trap_new(data, len(data)) or 0


# --------------------------------------------------------------------------------------------
# Type introspection (wasm_*type_t pointers → plain tuples; the caller builds its own objects)


def _valtype_vec_kinds(vec_ptr: int) -> tuple[int, ...]:
    size, data = struct.unpack("<QQ", string_at(vec_ptr, 16))
    if not size:
        return ()
    ptrs = struct.unpack(f"<{size}Q", string_at(data, 8 * size))
    return tuple(wasm_valtype_kind(p) for p in ptrs)


def functype_kinds(ft: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return _valtype_vec_kinds(wasm_functype_params(ft)), _valtype_vec_kinds(
        wasm_functype_results(ft)
    )


def externtype_info(et: int) -> tuple[str, Any]:
    """``wasm_externtype_t*`` → (kind, info). info: functype kinds, or a tuple of fields."""
    kind = wasm_externtype_kind(et)
    if kind == WASM_EXTERN_FUNC:
        return "func", functype_kinds(wasm_externtype_as_functype_const(et))
    if kind == WASM_EXTERN_GLOBAL:
        gt = wasm_externtype_as_globaltype_const(et)
        return "global", _globaltype_info(gt)
    if kind == WASM_EXTERN_TABLE:
        return "table", _tabletype_info(wasm_externtype_as_tabletype_const(et))
    if kind == WASM_EXTERN_MEMORY:
        return "memory", _memorytype_info(wasm_externtype_as_memorytype_const(et))
    if kind == WASM_EXTERN_TAG:
        tt = wasm_externtype_as_tagtype_const(et)
        info = None
        if wasmtime_tagtype_functype is not None and tt:
            ft = wasmtime_tagtype_functype(tt)
            if ft:
                info = functype_kinds(ft)
        return "tag", info
    return f"unknown({kind})", None


def _globaltype_info(gt: int) -> tuple[int, bool]:
    return wasm_valtype_kind(wasm_globaltype_content(gt)), wasm_globaltype_mutability(gt) == 1


def _tabletype_info(tt: int) -> tuple[int, int, int | None]:
    elem = wasm_valtype_kind(wasm_tabletype_element(tt))
    lo, hi = struct.unpack("<II", string_at(wasm_tabletype_limits(tt), 8))
    return elem, lo, (None if hi == 0xFFFFFFFF else hi)


def _memorytype_info(mt: int) -> tuple[int, int | None, bool, bool]:
    out = Buffer(8)
    has_max = wasmtime_memorytype_maximum(mt, out.addr)
    hi = struct.unpack_from("<Q", out.mv)[0] if has_max else None
    return (
        wasmtime_memorytype_minimum(mt),
        hi,
        wasmtime_memorytype_is64(mt),
        wasmtime_memorytype_isshared(mt),
    )


#: A module's imports [(module, name, kind, info)] and exports [(name, kind, info)]: plain
#: tuples of str/int/bool/None (``externtype_info``), so they can be kept on disk as they are.
ModuleTypes = tuple[list[tuple[str, str, str, Any]], list[tuple[str, str, Any]]]


def module_types(module: int) -> ModuleTypes:
    vec = Buffer(16)
    imports: list[tuple[str, str, str, Any]] = []
    wasmtime_module_imports(module, vec.addr)
    try:
        size, data = struct.unpack_from("<QQ", vec.mv)
        for p in struct.unpack(f"<{size}Q", string_at(data, 8 * size)) if size else ():
            kind, info = externtype_info(wasm_importtype_type(p))
            imports.append(
                (
                    _read_name(wasm_importtype_module(p)),
                    _read_name(wasm_importtype_name(p)),
                    kind,
                    info,
                )
            )
    finally:
        wasm_importtype_vec_delete(vec.addr)
    exports: list[tuple[str, str, Any]] = []
    vec = Buffer(16)
    wasmtime_module_exports(module, vec.addr)
    try:
        size, data = struct.unpack_from("<QQ", vec.mv)
        for p in struct.unpack(f"<{size}Q", string_at(data, 8 * size)) if size else ():
            kind, info = externtype_info(wasm_exporttype_type(p))
            exports.append((_read_name(wasm_exporttype_name(p)), kind, info))
    finally:
        wasm_exporttype_vec_delete(vec.addr)
    return imports, exports


_functype_cache: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}


def forget_functypes(engine: int) -> None:
    """Drop the cached function types of a deleted engine (see ``functype_ptr``)."""
    for key in [k for k in _functype_cache if k[0] == engine]:
        wasm_functype_delete(_functype_cache.pop(key))


def functype_ptr(engine: int, params: tuple[int, ...], results: tuple[int, ...]) -> int:
    """A process-lifetime ``wasm_functype_t*`` for wasm valkinds ``params -> results``.

    Keyed by engine too: wasmtime ties a ``wasm_functype_t`` to the first engine that uses it,
    and panics (aborting the process) if it is then used with another engine.
    """
    key = (engine, params, results)
    ft = _functype_cache.get(key)
    if ft is None:
        vecs = []
        for kinds in (params, results):
            vec = Buffer(16)
            arr = (_P * max(len(kinds), 1))(*[wasm_valtype_new(k) for k in kinds])
            wasm_valtype_vec_new(vec.addr, len(kinds), ctypes.addressof(arr))  # takes the valtypes
            vecs.append(vec)
        ft = wasm_functype_new(vecs[0].addr, vecs[1].addr)  # takes the vecs' contents
        _functype_cache[key] = ft
    return ft


def func_type_kinds(ctx: int, func_addr: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    ft = wasmtime_func_type(ctx, func_addr)
    try:
        return functype_kinds(ft)
    finally:
        wasm_functype_delete(ft)


def memory_type_info(ctx: int, mem_addr: int) -> tuple[int, int | None, bool, bool]:
    mt = wasmtime_memory_type(ctx, mem_addr)
    try:
        return _memorytype_info(mt)
    finally:
        wasm_memorytype_delete(mt)


def table_type_info(ctx: int, tab_addr: int) -> tuple[int, int, int | None]:
    tt = wasmtime_table_type(ctx, tab_addr)
    try:
        return _tabletype_info(tt)
    finally:
        wasm_tabletype_delete(tt)


def global_type_info(ctx: int, glob_addr: int) -> tuple[int, bool]:
    gt = wasmtime_global_type(ctx, glob_addr)
    try:
        return _globaltype_info(gt)
    finally:
        wasm_globaltype_delete(gt)


# --------------------------------------------------------------------------------------------
# Host function trampolines


class HostEntry:
    """What a trampoline needs to run one host function. Built by the store layer.

    ``unpack(buffer) -> tuple`` reads the arguments (raw slots for sync functions,
    ``wasmtime_val_t`` slots for async ones); ``pack(buffer, result)`` encodes the handler's
    return value into the result slots; ``call(*args)`` runs the handler. ``in_size`` and
    ``out_size`` are the byte sizes of the argument and result slots.
    """

    __slots__ = (
        "call",
        "unpack",
        "in_size",
        "pack",
        "out_size",
        "pending_type",
        "in_t",
        "out_t",
        "io_t",
    )

    def __init__(self, call, unpack, in_size, pack, out_size, pending_type) -> None:  # noqa: ANN001
        self.call = call
        self.unpack = unpack
        self.in_size = in_size
        self.pack = pack
        self.out_size = out_size
        self.pending_type = pending_type
        # ctypes array types laid over the argument/result memory wasmtime hands us
        self.in_t = ctypes.c_ubyte * max(in_size, 1)
        self.out_t = ctypes.c_ubyte * max(out_size, 1)
        self.io_t = ctypes.c_ubyte * max(in_size, out_size, 1)


host_entries: dict[int, HostEntry] = {}
_env_ids = itertools.count(1)


def register_host(entry: HostEntry) -> int:
    env = next(_env_ids)
    host_entries[env] = entry
    return env


def trap_text(exc: BaseException) -> str:
    if isinstance(exc, errors.Trap):
        return exc.message
    if isinstance(exc, RecursionError):
        # Python ran out of stack in a host function: to the guest, its stack is exhausted.
        return "wasm trap: call stack exhausted"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


#: Recent host exceptions by the trap text they became, so the ``Trap`` a call ends with can
#: chain the original (``__cause__``, with its traceback). Bounded: only recent ones matter.
_recent_host_errors: OrderedDict[str, BaseException] = OrderedDict()


def host_error_for(message: str) -> BaseException | None:
    """The host exception behind a trap message, if one of the recent ones produced it."""
    for text in reversed(_recent_host_errors):
        if text and text in message:
            return _recent_host_errors[text]
    return None


def _exc_to_trap(exc: BaseException) -> int:
    try:
        text = trap_text(exc)
        if not isinstance(exc, errors.Trap):
            _recent_host_errors[text] = exc
            _recent_host_errors.move_to_end(text)
            while len(_recent_host_errors) > 32:
                _recent_host_errors.popitem(last=False)
        return new_trap(text)
    except BaseException:  # noqa: BLE001 - nothing may escape a callback
        return new_trap("host function failed")


def _sync_dispatch(env, caller, ptr, n):  # noqa: ANN001, ANN202
    try:
        e = host_entries[env]
        buf = e.io_t.from_address(ptr) if ptr else None
        r = e.call(*e.unpack(buf)) if e.in_size else e.call()
        e.pack(buf, r)
        return 0
    except BaseException as exc:  # noqa: BLE001
        return _exc_to_trap(exc)


class _PendingCall:
    __slots__ = ("pending", "entry", "results", "trap_ret", "done")

    def __init__(self, pending, entry, results, trap_ret) -> None:  # noqa: ANN001
        self.pending = pending
        self.entry = entry
        self.results = results
        self.trap_ret = trap_ret
        self.done = False


pending_calls: dict[int, _PendingCall] = {}
_pending_ids = itertools.count(1)


class _NotReady:
    __slots__ = ()

    def __repr__(self) -> str:
        return "Pending.NOT_READY"

    def __bool__(self) -> bool:
        return False


NOT_READY = _NotReady()


def _write_ptr(addr: int, value: int) -> None:
    ctypes.c_uint64.from_address(addr).value = value


_Cont = ctypes.c_ubyte * CONT_SIZE
_pack_cont = struct.Struct("<QQQ").pack_into


def _async_dispatch(env, caller, aptr, na, rptr, nr, trap_ret, cont):  # noqa: ANN001, ANN202
    # The continuation must always be filled in, even if everything else fails.
    try:
        c = _Cont.from_address(cont)
        _pack_cont(c, 0, _READY_ADDR, 0, 0)
    except BaseException:  # noqa: BLE001
        return
    try:
        e = host_entries[env]
        r = e.call(*e.unpack(e.in_t.from_address(aptr))) if e.in_size else e.call()
        if isinstance(r, e.pending_type):
            pid = next(_pending_ids)
            pending_calls[pid] = _PendingCall(r, e, rptr, trap_ret)
            _pack_cont(c, 0, _CONT_ADDR, pid, _FIN_ADDR)
            return
        e.pack(e.out_t.from_address(rptr) if e.out_size else None, r)
    except BaseException as exc:  # noqa: BLE001
        try:
            _write_ptr(trap_ret, _exc_to_trap(exc))
        except BaseException:  # noqa: BLE001
            pass


def _cont_dispatch(env):  # noqa: ANN001, ANN202
    try:
        pc = pending_calls[env]
    except BaseException:  # noqa: BLE001
        return True
    try:
        r = pc.pending.poll()
        if r is NOT_READY:
            return False
        pc.done = True
        e = pc.entry
        e.pack(e.out_t.from_address(pc.results) if e.out_size else None, r)
        return True
    except BaseException as exc:  # noqa: BLE001
        pc.done = True
        try:
            _write_ptr(pc.trap_ret, _exc_to_trap(exc))
        except BaseException:  # noqa: BLE001
            pass
        return True


def _cont_finalize(env):  # noqa: ANN001, ANN202
    try:
        pc = pending_calls.pop(env, None)
        if pc is not None and not pc.done:
            cancel = getattr(pc.pending, "cancel", None)
            if cancel is not None:
                cancel()
    except BaseException:  # noqa: BLE001
        pass


def _cont_ready(env):  # noqa: ANN001, ANN202
    return True


_sync_tramp = _unchecked_cb_t(_sync_dispatch)
_async_tramp = _async_cb_t(_async_dispatch)
_cont_tramp = _cont_cb_t(_cont_dispatch)
_ready_tramp = _cont_cb_t(_cont_ready)
_fin_tramp = _finalizer_t(_cont_finalize)
_CONT_ADDR = ctypes.cast(_cont_tramp, _P).value
_FIN_ADDR = ctypes.cast(_fin_tramp, _P).value
_READY_ADDR = ctypes.cast(_ready_tramp, _P).value


def new_sync_func(ctx: int, functype: int, env: int, out_func_addr: int) -> None:
    wasmtime_func_new_unchecked(ctx, functype, _sync_tramp, env, None, out_func_addr)


def define_async_func(linker: int, module: bytes, name: bytes, functype: int, env: int) -> None:
    err = wasmtime_linker_define_async_func(
        linker, module, len(module), name, len(name), functype, _async_tramp, env, None
    )
    check(err)


# --------------------------------------------------------------------------------------------
# Modules


def module_new(engine: int, data: bytes) -> tuple[int, str | None]:
    """Compiles ``data``; returns (module pointer, None) or (0, wasmtime's error message)."""
    out = Buffer(8)
    src = ctypes.c_char_p(data)
    err = wasmtime_module_new(engine, ctypes.cast(src, _P), len(data), out.addr)
    if err:
        return 0, take_error_message(err)
    return read_u64(out.addr), None


def module_deserialize_file(engine: int, path: bytes) -> tuple[int, str | None]:
    out = Buffer(8)
    err = wasmtime_module_deserialize_file(engine, path, out.addr)
    if err:
        return 0, take_error_message(err)
    return read_u64(out.addr), None


class Serialized:
    """A serialized module in wasmtime-owned memory: ``.view`` then ``.free()``."""

    def __init__(self, module: int) -> None:
        self._vec = Buffer(16)
        check(wasmtime_module_serialize(module, self._vec.addr))
        size, data = struct.unpack_from("<QQ", self._vec.mv)
        self.view = view_at(data, size) if size else memoryview(b"")

    def free(self) -> None:
        self.view.release()
        wasm_byte_vec_delete(self._vec.addr)


# --------------------------------------------------------------------------------------------
# Engines and stores


def engine_new(settings: dict[str, bool | int]) -> tuple[int, list[str]]:
    """Creates an engine with ``wasmtime_config_<name>_set(value)`` for each setting.

    Returns (engine pointer, names of the settings this wasmtime lacks)."""
    cfg = wasm_config_new()
    missing = [name for name, value in settings.items() if not config_set(cfg, name, value)]
    engine = wasm_engine_new_with_config(cfg)  # takes the config
    if not engine:
        raise errors.WasmloopError("wasmtime could not create an engine with these settings")
    return engine, missing


def store_new(engine: int) -> tuple[int, int]:
    store = wasmtime_store_new(engine, None, None)
    return store, wasmtime_store_context(store)


def linker_new(engine: int) -> int:
    linker = wasmtime_linker_new(engine)
    wasmtime_linker_allow_shadowing(linker, True)
    return linker


def linker_get_func(linker: int, ctx: int, module: bytes, name: bytes, out_extern: int) -> bool:
    return wasmtime_linker_get(linker, ctx, module, len(module), name, len(name), out_extern)


def linker_define(linker: int, ctx: int, module: str, name: str, extern_addr: int) -> str | None:
    m = module.encode()
    n = name.encode()
    err = wasmtime_linker_define(linker, ctx, m, len(m), n, len(n), extern_addr)
    return take_error_message(err) if err else None


def instance_export(ctx: int, instance_addr: int, name: str) -> Buffer | None:
    """One export of a core instance by name (None if it has none of that name)."""
    n = name.encode()
    ext = Buffer(EXTERN_SIZE)
    if not wasmtime_instance_export_get(ctx, instance_addr, n, len(n), ext.addr):
        return None
    return ext


def instance_exports(ctx: int, instance_addr: int) -> list[tuple[str, Buffer]]:
    out: list[tuple[str, Buffer]] = []
    name_ptr = Buffer(16)  # char* then size_t
    i = 0
    while True:
        ext = Buffer(EXTERN_SIZE)
        if not wasmtime_instance_export_nth(
            ctx, instance_addr, i, name_ptr.addr, name_ptr.addr + 8, ext.addr
        ):
            return out
        p, n = struct.unpack_from("<QQ", name_ptr.mv)
        out.append((string_at(p, n).decode("utf-8", "replace"), ext))
        i += 1

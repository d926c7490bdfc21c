"""Core wasm types as plain, hashable Python values."""

from __future__ import annotations

import enum
import struct
from typing import Any

from .._dataclass import dataclass
from . import _capi


class ValKind(enum.StrEnum):
    """A core wasm value type."""

    I32 = "i32"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"
    V128 = "v128"
    FUNCREF = "funcref"
    EXTERNREF = "externref"


_FROM_WASM = {
    _capi.WASM_I32: ValKind.I32,
    _capi.WASM_I64: ValKind.I64,
    _capi.WASM_F32: ValKind.F32,
    _capi.WASM_F64: ValKind.F64,
    _capi.WASM_V128: ValKind.V128,
    _capi.WASM_FUNCREF: ValKind.FUNCREF,
    _capi.WASM_EXTERNREF: ValKind.EXTERNREF,
}
TO_WASM = {v: k for k, v in _FROM_WASM.items()}
TO_WASMTIME = {
    ValKind.I32: _capi.WT_I32,
    ValKind.I64: _capi.WT_I64,
    ValKind.F32: _capi.WT_F32,
    ValKind.F64: _capi.WT_F64,
    ValKind.V128: _capi.WT_V128,
    ValKind.FUNCREF: _capi.WT_FUNCREF,
    ValKind.EXTERNREF: _capi.WT_EXTERNREF,
}
NUMERIC = frozenset({ValKind.I32, ValKind.I64, ValKind.F32, ValKind.F64})


def valkind_from_wasm(k: int) -> ValKind:
    try:
        return _FROM_WASM[k]
    except KeyError:
        raise NotImplementedError(f"unsupported core value type (wasm_valkind {k})") from None


@dataclass(frozen=True, slots=True)
class FuncType:
    params: tuple[ValKind, ...]
    results: tuple[ValKind, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(ValKind(k) for k in self.params))
        object.__setattr__(self, "results", tuple(ValKind(k) for k in self.results))

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"

    @classmethod
    def _from_wasm(cls, kinds: tuple[tuple[int, ...], tuple[int, ...]]) -> FuncType:
        return _functype_from_wasm(kinds)


_ft_cache: dict[Any, FuncType] = {}


def _functype_from_wasm(kinds: tuple[tuple[int, ...], tuple[int, ...]]) -> FuncType:
    ft = _ft_cache.get(kinds)
    if ft is None:
        ft = FuncType(
            tuple(valkind_from_wasm(k) for k in kinds[0]),
            tuple(valkind_from_wasm(k) for k in kinds[1]),
        )
        _ft_cache[kinds] = ft
    return ft


@dataclass(frozen=True, slots=True)
class MemoryType:
    minimum: int  # pages
    maximum: int | None
    is_64: bool = False
    shared: bool = False


@dataclass(frozen=True, slots=True)
class TableType:
    element: ValKind
    minimum: int
    maximum: int | None


@dataclass(frozen=True, slots=True)
class GlobalType:
    content: ValKind
    mutable: bool


@dataclass(frozen=True, slots=True)
class TagType:
    functype: FuncType | None


def extern_type(kind: str, info: Any) -> Any:
    if kind == "func":
        return _functype_from_wasm(info)
    if kind == "memory":
        return MemoryType(*info)
    if kind == "table":
        return TableType(valkind_from_wasm(info[0]), info[1], info[2])
    if kind == "global":
        return GlobalType(valkind_from_wasm(info[0]), info[1])
    if kind == "tag":
        return TagType(_functype_from_wasm(info) if info is not None else None)
    return info


# --------------------------------------------------------------------------------------------
# Codecs: per FuncType, generated once, used on every call.
#
# Integer convention: i32/i64 values handed to Python (call results, host-function arguments)
# are UNSIGNED (0 <= v < 2**32 / 2**64), like the canonical ABI's reference definitions.
# Values coming from Python may be signed or unsigned; they are wrapped modulo 2**N.

_CODE = {ValKind.I32: "I", ValKind.I64: "Q", ValKind.F32: "f", ValKind.F64: "d"}
_SIZE = {"I": 4, "Q": 8, "f": 4, "d": 8}
_MASK = {ValKind.I32: " & 0xFFFFFFFF", ValKind.I64: " & 0xFFFFFFFFFFFFFFFF"}


def _check_numeric(kinds: tuple[ValKind, ...], what: str) -> None:
    for k in kinds:
        if k not in NUMERIC:
            raise NotImplementedError(f"{what} of type {k} are not supported by the engine yet")


def _slot_format(kinds: tuple[ValKind, ...], slot: int, skip: int, with_kind: bool) -> str:
    """struct format for ``kinds`` laid out in slots of ``slot`` bytes, value at ``skip``."""
    fmt = "<"
    for k in kinds:
        c = _CODE[k]
        if with_kind:
            fmt += "B" + (f"{skip - 1}x" if skip > 1 else "")
        elif skip:
            fmt += f"{skip}x"
        fmt += c
        pad = slot - skip - _SIZE[c]
        if pad:
            fmt += f"{pad}x"
    return fmt


def _make_packer(
    kinds: tuple[ValKind, ...],
    slot: int,
    skip: int,
    with_kind: bool,
    *,
    single: bool,
    tail: int = 0,
) -> tuple[Any, int]:
    """A function ``pack(buffer, values)`` writing ``values`` into slots at offset 0 (and
    zeroing ``tail`` bytes after them). With ``single``, a bare value is accepted for one
    result and ``None`` for none. Returns (pack, size of the slots)."""
    n = len(kinds)
    fmt = _slot_format(kinds, slot, skip, with_kind)
    if tail:
        fmt += f"{tail}x"
    st = struct.Struct(fmt)
    ns: dict[str, Any] = {"_pack_into": st.pack_into, "_n": n, "_err": _count_error}
    items = []
    for i, k in enumerate(kinds):
        if with_kind:
            items.append(str(_capi_kind(k)))
        items.append(f"v[{i}]{_MASK.get(k, '')}")
    if single and n == 0:
        src = "def pack(buf, v):\n    if v is not None and v != (): _err(v, 0)\n"
    elif single and n == 1:
        src = (
            "def pack(buf, v):\n"
            "    if type(v) is tuple:\n"
            "        if len(v) != 1: _err(v, 1)\n"
            "        v = v[0]\n"
            f"    _pack_into(buf, 0, {', '.join(items).replace('v[0]', 'v')})\n"
        )
    else:
        src = (
            "def pack(buf, v):\n"
            "    if len(v) != _n: _err(v, _n)\n"
            f"    _pack_into(buf, 0, {', '.join(items)})\n"
        )
    code = _PACK_CODE.get(src)
    if code is None:
        code = _PACK_CODE[src] = compile(src, "<wasmloop pack>", "exec")
    exec(code, ns)  # noqa: S102 - generated from a fixed template
    return ns["pack"], st.size - tail


#: The compiled packers by source text: a component's functions share a few shapes.
_PACK_CODE: dict[str, Any] = {}


def _capi_kind(k: ValKind) -> int:
    return TO_WASMTIME[k]


def _count_error(v: Any, n: int) -> None:
    raise TypeError(f"expected {n} value(s), got {v!r}")


class Codec:
    """Encoders/decoders for one FuncType (built once, cached)."""

    __slots__ = (
        "functype",
        "nparams",
        "nresults",
        "pack_args",
        "args_size",
        "unpack_results",
        "results_size",
        "raw_unpack_params",
        "raw_params_size",
        "raw_pack_results",
        "raw_results_size",
        "val_unpack_params",
        "val_params_size",
        "val_pack_results",
        "val_results_size",
        "vnparams",
        "vnresults",
        "frames",
    )

    def __init__(self, ft: FuncType) -> None:
        _check_numeric(ft.params, "parameters")
        _check_numeric(ft.results, "results")
        self.functype = ft
        self.nparams = len(ft.params)
        self.nresults = len(ft.results)
        self.vnparams: Any = None  # ctypes size_t objects, made by the store layer
        self.vnresults: Any = None
        self.frames: list[Any] = []  # free call frames (see _store._Frame)
        VS, VP, RS = _capi.VAL_SIZE, _capi.VAL_PAYLOAD, _capi.RAW_SIZE
        # guest call frame: [args: wasmtime_val_t * n][trap*, error*][results: wasmtime_val_t * m]
        # pack_args(buf, args) writes the args and zeroes the trap/error cells in one go;
        # unpack_results(buf, args_size) -> (trap, error, *results)
        self.pack_args, self.args_size = _make_packer(
            ft.params, VS, VP, True, single=False, tail=16
        )
        res = struct.Struct("<QQ" + _slot_format(ft.results, VS, VP, False)[1:])
        self.unpack_results = res.unpack_from
        self.results_size = res.size - 16
        # sync host function: raw slots (no kind)
        raw_in = struct.Struct(_slot_format(ft.params, RS, 0, False))
        self.raw_unpack_params = raw_in.unpack_from
        self.raw_params_size = raw_in.size
        self.raw_pack_results, self.raw_results_size = _make_packer(
            ft.results, RS, 0, False, single=True
        )
        # async host function: wasmtime_val_t slots
        val_in = struct.Struct(_slot_format(ft.params, VS, VP, False))
        self.val_unpack_params = val_in.unpack_from
        self.val_params_size = val_in.size
        self.val_pack_results, self.val_results_size = _make_packer(
            ft.results, VS, VP, True, single=True
        )


_codecs: dict[FuncType, Codec] = {}


def codec(ft: FuncType) -> Codec:
    c = _codecs.get(ft)
    if c is None:
        c = _codecs[ft] = Codec(ft)
    return c

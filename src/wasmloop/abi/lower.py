"""Lowering: Python values → guest values (linear memory or flat core values).

Mirrors the spec's "Storing" and "Flat Lowering" sections. Every type compiles once into a
``Lowerer`` holding two closures specialized for that type:

- ``store(cx, mem, v, ptr)``: write ``v`` at ``ptr`` in ``mem`` (the current ``cx.view()``). The
  caller has checked that ``[ptr, ptr + size)`` is in bounds and aligned.
- ``flat(cx, v, out)``: append ``v``'s flat core values to the list ``out``.

``calls_out`` says whether ``store`` may call into ``cx`` (realloc, resource, stream, future and
error-context hooks); a composite then refreshes its memory view after such a child.

Flat integers come out in the spec's form: unsigned, ``0 <= i < 2**32`` (or ``2**64``). f32 values
are rounded to single precision. A host value that does not fit the type raises ``TypeError``
(wrong kind of value) or ``ValueError`` (right kind, out of range); the guest never sees it.
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from wasmloop import types as T
from wasmloop.values import Err, Ok, Record, Some, Variant

from .._dataclass import dataclass
from . import layout
from .lift import PRIM_STRUCT_CODES
from .strings import realloc_checked, string_storer

__all__ = ["Lowerer", "lowerer", "fields_getter"]

_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF

Store = Callable[[Any, memoryview, Any, int], None]
Flat = Callable[[Any, Any, list[Any]], None]


@dataclass(frozen=True, slots=True)
class Lowerer:
    store: Store
    flat: Flat
    width: int
    size: int
    align: int
    calls_out: bool


_INT_RANGES = {
    "u8": (0, 0xFF), "s8": (-0x80, 0x7F), "u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF),
    "u32": (0, _M32), "s32": (-(1 << 31), (1 << 31) - 1),
    "u64": (0, _M64), "s64": (-(1 << 63), (1 << 63) - 1),
}

_F32 = struct.Struct("<f")
_CANONICAL_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000000))[0]
_I32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_I64 = struct.Struct("<Q")
_stU32 = _I32.pack_into
_stPAIR = struct.Struct("<II").pack_into


def _to_int(v: Any, kind: str) -> int:
    lo, hi = _INT_RANGES[kind]
    if isinstance(v, float) or not hasattr(v, "__index__"):
        raise TypeError(f"expected int for {kind}, got {type(v).__name__}")
    i = operator.index(v)
    if not lo <= i <= hi:
        raise ValueError(f"{i} is out of range for {kind}")
    return i


def _to_float(v: Any, kind: str = "f64") -> float:
    if isinstance(v, float):
        return v
    if isinstance(v, int | bool) or hasattr(v, "__float__"):
        return float(v)
    raise TypeError(f"expected float for {kind}, got {type(v).__name__}")


def f32_round(v: Any) -> float:
    """``v`` rounded to the nearest f32 (overflowing to ±inf), as a Python float."""
    try:
        return _F32.unpack(_F32.pack(v))[0]  # type: ignore[no-any-return]
    except OverflowError:
        return math.copysign(math.inf, v)
    except struct.error:
        return f32_round(_to_float(v, "f32"))


def _f32_bits(x: float) -> int:
    try:
        return _I32.unpack(_F32.pack(x))[0]  # type: ignore[no-any-return]
    except OverflowError:
        return _I32.unpack(_F32.pack(math.copysign(math.inf, x)))[0]  # type: ignore[no-any-return]


def _f64_bits(x: float) -> int:
    return _I64.unpack(_F64.pack(x))[0]  # type: ignore[no-any-return]


def char_code(v: Any) -> int:
    """The code point of a 1-character ``str``; ValueError for surrogates."""
    if type(v) is not str or len(v) != 1:
        if not isinstance(v, str):
            raise TypeError(f"expected a 1-character str for char, got {type(v).__name__}")
        if len(v) != 1:
            raise ValueError(f"expected a 1-character str for char, got {len(v)} characters")
    i = ord(v)
    if 0xD800 <= i <= 0xDFFF:
        raise ValueError(f"char cannot be a surrogate (0x{i:x})")
    return i


def _prim_converter(kind: str) -> Callable[[Any], Any]:
    """Turn a host value into what struct packs for ``kind`` (clear errors on misfit)."""
    if kind == "bool":
        return bool
    if kind == "char":
        return char_code
    if kind == "f32":
        return f32_round
    if kind == "f64":
        return lambda v: _to_float(v, "f64")
    return lambda v: _to_int(v, kind)


_CACHE: dict[tuple[Any, str], Lowerer] = {}


def lowerer(t: T.ValType, encoding: str = "utf8") -> Lowerer:
    """The compiled lowerer of ``t`` for strings in ``encoding`` (cached)."""
    key = (t, encoding)
    lw = _CACHE.get(key)
    if lw is None:
        lw = _build(t, encoding)
        _CACHE[key] = lw
    return lw


def _prim_lowerer(t: T.PrimType, enc: str) -> Lowerer:
    k = t.kind
    size = layout.elem_size(t)
    align = layout.alignment(t)
    if k == "bool":

        def store_bool(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            mem[p] = 1 if v else 0

        return Lowerer(store_bool, lambda cx, v, out: out.append(1 if v else 0), 1, 1, 1, False)
    if k in _INT_RANGES:
        lo, hi = _INT_RANGES[k]
        pack_into = struct.Struct("<" + PRIM_STRUCT_CODES[k]).pack_into
        mask = _M64 if k in ("s64", "u64") else _M32

        def store_int(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            try:
                pack_into(mem, p, v)
            except (struct.error, TypeError):
                pack_into(mem, p, _to_int(v, k))

        if lo == 0:

            def flat_uint(cx: Any, v: Any, out: list[Any]) -> None:
                if type(v) is not int or not 0 <= v <= hi:
                    v = _to_int(v, k)
                out.append(v)

            return Lowerer(store_int, flat_uint, 1, size, align, False)

        def flat_sint(cx: Any, v: Any, out: list[Any]) -> None:
            if type(v) is not int or not lo <= v <= hi:
                v = _to_int(v, k)
            out.append(v & mask)

        return Lowerer(store_int, flat_sint, 1, size, align, False)
    if k in ("f32", "f64"):
        st = struct.Struct("<f" if k == "f32" else "<d")
        pack_into = st.pack_into
        conv = _prim_converter(k)

        def store_float(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            if v != v:  # any NaN is stored as the canonical one (the spec's deterministic profile)
                v = _CANONICAL_NAN
            try:
                pack_into(mem, p, v)
            except (struct.error, OverflowError, TypeError):
                pack_into(mem, p, conv(v))

        if k == "f32":
            return Lowerer(store_float, lambda cx, v, out: out.append(f32_round(v)), 1, 4, 4,
                           False)

        def flat_f64(cx: Any, v: Any, out: list[Any]) -> None:
            out.append(v if type(v) is float else _to_float(v))

        return Lowerer(store_float, flat_f64, 1, 8, 8, False)
    if k == "char":

        def store_char(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            _stU32(mem, p, char_code(v))

        return Lowerer(store_char, lambda cx, v, out: out.append(char_code(v)), 1, 4, 4, False)
    if k == "string":
        sstore = string_storer(enc)

        def store_string(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            ptr, n = sstore(cx, v)
            _stPAIR(cx.view(), p, ptr, n)

        return Lowerer(store_string, lambda cx, v, out: out.extend(sstore(cx, v)), 2, 8, 4, True)
    if k == "error-context":

        def store_ec(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            i = cx.lower_error_context(v)
            _stU32(cx.view(), p, i & _M32)

        return Lowerer(store_ec, lambda cx, v, out: out.append(cx.lower_error_context(v) & _M32),
                       1, 4, 4, True)
    raise TypeError(f"unknown primitive type {k!r}")


def _hook_lowerer(hook: str, arg: Any) -> Lowerer:
    def store_handle(cx: Any, mem: memoryview, v: Any, p: int) -> None:
        i = getattr(cx, hook)(arg, v)
        _stU32(cx.view(), p, i & _M32)

    def flat_handle(cx: Any, v: Any, out: list[Any]) -> None:
        out.append(getattr(cx, hook)(arg, v) & _M32)

    return Lowerer(store_handle, flat_handle, 1, 4, 4, True)


def _build(t: T.ValType, enc: str) -> Lowerer:
    if isinstance(t, T.PrimType):
        return _prim_lowerer(t, enc)
    if isinstance(t, T.OwnType):
        return _hook_lowerer("lower_own", t.resource)
    if isinstance(t, T.BorrowType):
        return _hook_lowerer("lower_borrow", t.resource)
    if isinstance(t, T.StreamType):
        return _hook_lowerer("lower_stream", t)
    if isinstance(t, T.FutureType):
        return _hook_lowerer("lower_future", t)
    if isinstance(t, T.ListType):
        return _list_lowerer(t, t.elem, t.length, enc)
    if isinstance(t, T.MapType):
        inner = _list_lowerer(t, T.TupleType((t.key, t.value)), None, enc)
        ist, ifl = inner.store, inner.flat

        def items(v: Any) -> list[Any]:
            if isinstance(v, Mapping):
                return list(v.items())
            if isinstance(v, str | bytes) or not isinstance(v, Iterable):
                raise TypeError(f"expected a Map, a Mapping or an iterable of (key, value) pairs for "
                                f"map, got {type(v).__name__}")
            return list(v)

        return Lowerer(lambda cx, mem, v, p: ist(cx, mem, items(v), p),
                       lambda cx, v, out: ifl(cx, items(v), out), 2, 8, 4, True)
    if isinstance(t, T.RecordType):
        return _record_lowerer(t, [lbl for lbl, _ in t.fields], [ft for _, ft in t.fields], enc)
    if isinstance(t, T.TupleType):
        return _record_lowerer(t, None, list(t.elems), enc)
    if isinstance(t, T.FlagsType):
        return _flags_lowerer(t.labels)
    if isinstance(t, T.EnumType | T.OptionType | T.ResultType | T.VariantType):
        return _variant_lowerer(t, enc)
    raise TypeError(f"not a value type: {t!r}")


# --- lists ---------------------------------------------------------------------------------


def _as_list(v: Any, what: str = "list") -> Sequence[Any]:
    if type(v) is list or type(v) is tuple:
        return v  # type: ignore[no-any-return]
    if isinstance(v, str | bytes | Mapping) or not isinstance(v, Iterable):
        raise TypeError(f"expected a sequence for {what}, got {type(v).__name__}")
    return list(v)


def _as_bytes(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v)
    if isinstance(v, str | int) or not isinstance(v, Iterable):
        raise TypeError(f"expected bytes for list<u8>, got {type(v).__name__}")
    try:
        return bytes(v)
    except (TypeError, ValueError) as e:
        raise type(e)(f"list<u8> elements must be ints in 0..255: {e}") from None


def _elem_encoder(elem: T.ValType, enc: str) -> Callable[[Sequence[Any]], bytes] | None:
    """For element types whose list packs into bytes without calling out: v -> bytes."""
    if isinstance(elem, T.PrimType) and elem.kind in PRIM_STRUCT_CODES:
        kind = elem.kind
        code = PRIM_STRUCT_CODES[kind]
        conv = _prim_converter(kind)
        if kind == "bool":
            return lambda v: bytes([1 if x else 0 for x in v])
        if kind == "char":
            return lambda v: struct.pack(f"<{len(v)}I", *[char_code(c) for c in v])

        def pack_prims(v: Sequence[Any]) -> bytes:
            try:
                return struct.pack(f"<{len(v)}{code}", *v)
            except (struct.error, OverflowError, TypeError):
                return struct.pack(f"<{len(v)}{code}", *[conv(x) for x in v])

        if kind in ("f32", "f64"):
            plain = pack_prims

            def pack_floats(v: Sequence[Any]) -> bytes:
                out = plain(v)
                if any(x != x for x in v):  # NaNs are stored canonical, as ``store`` does
                    return plain([_CANONICAL_NAN if x != x else x for x in v])
                return out

            return pack_floats
        return pack_prims
    if isinstance(elem, T.RecordType | T.TupleType):
        plan = _struct_store_plan(elem)
        if plan is not None:
            pack_row = plan

            def pack_rows(v: Sequence[Any]) -> bytes:
                return b"".join([pack_row(x) for x in v])

            return pack_rows
    return None


def _list_lowerer(t: T.ValType, elem: T.ValType, length: int | None, enc: str) -> Lowerer:
    el = lowerer(elem, enc)
    es, ea = el.size, el.align
    size = layout.elem_size(t)
    align = layout.alignment(t)
    is_u8 = isinstance(elem, T.PrimType) and elem.kind == "u8"
    encode = _elem_encoder(elem, enc)
    estore, eflat, eco = el.store, el.flat, el.calls_out

    def store_elems(cx: Any, mem: memoryview, v: Sequence[Any], p: int) -> None:
        if eco:
            for x in v:
                estore(cx, mem, x, p)
                mem = cx.view()
                p += es
        else:
            for x in v:
                estore(cx, mem, x, p)
                p += es

    if length is not None:
        n_fixed = length

        def fixed(v: Any) -> Any:
            v = _as_bytes(v) if is_u8 else _as_list(v)
            if len(v) != n_fixed:
                raise ValueError(f"expected {n_fixed} elements for list<_, {n_fixed}>, got {len(v)}")
            return v

        if encode is not None or is_u8:
            enc_fixed = _as_bytes if is_u8 else encode
            nbytes = size

            def store_fixed_bytes(cx: Any, mem: memoryview, v: Any, p: int) -> None:
                mem[p : p + nbytes] = enc_fixed(fixed(v))  # type: ignore[misc]

            store_fixed: Store = store_fixed_bytes
        else:

            def store_fixed_generic(cx: Any, mem: memoryview, v: Any, p: int) -> None:
                store_elems(cx, mem, fixed(v), p)

            store_fixed = store_fixed_generic

        def flat_fixed(cx: Any, v: Any, out: list[Any]) -> None:
            for x in fixed(v):
                eflat(cx, x, out)

        return Lowerer(store_fixed, flat_fixed, el.width * n_fixed, size, align, eco)

    max_len = layout.MAX_LIST_BYTE_LENGTH

    def too_long(nbytes: int) -> ValueError:
        return ValueError(f"list of {nbytes} bytes exceeds MAX_LIST_BYTE_LENGTH ({max_len})")

    into_range: Callable[[Any, Any], tuple[int, int]]
    if is_u8:

        def u8_into_range(cx: Any, v: Any) -> tuple[int, int]:
            b = v if type(v) is bytes else _as_bytes(v)
            n = len(b)
            if n > max_len:
                raise too_long(n)
            ptr = realloc_checked(cx, 0, 0, 1, n, "list")
            cx.view()[ptr : ptr + n] = b
            return ptr, n

        into_range = u8_into_range
    elif encode is not None:
        enc_ = encode

        def packed_into_range(cx: Any, v: Any) -> tuple[int, int]:
            if type(v) is not list:
                v = _as_list(v)
            b = enc_(v)
            nb = len(b)
            if nb > max_len:
                raise too_long(nb)
            ptr = realloc_checked(cx, 0, 0, ea, nb, "list")
            cx.view()[ptr : ptr + nb] = b
            return ptr, len(v)

        into_range = packed_into_range
    else:

        def generic_into_range(cx: Any, v: Any) -> tuple[int, int]:
            if type(v) is not list:
                v = _as_list(v)
            n = len(v)
            nb = n * es
            if nb > max_len:
                raise too_long(nb)
            ptr = realloc_checked(cx, 0, 0, ea, nb, "list")
            store_elems(cx, cx.view(), v, ptr)
            return ptr, n

        into_range = generic_into_range

    def store_list(cx: Any, mem: memoryview, v: Any, p: int) -> None:
        ptr, n = into_range(cx, v)
        _stPAIR(cx.view(), p, ptr, n)

    def flat_list(cx: Any, v: Any, out: list[Any]) -> None:
        out.extend(into_range(cx, v))

    return Lowerer(store_list, flat_list, 2, size, align, True)


# --- records and tuples --------------------------------------------------------------------


def fields_getter(labels: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
    """``v -> field values`` for a Record, a Mapping (kebab or snake keys) or an object with
    snake_case attributes."""
    kebab = tuple(labels)
    snake = tuple(lbl.replace("-", "_") for lbl in kebab)
    n = len(kebab)
    get_k: Callable[[Any], Any] = operator.itemgetter(*kebab)
    get_a: Callable[[Any], Any] = operator.attrgetter(*snake)
    if n == 1:
        _gk, _ga = get_k, get_a
        get_k = lambda m: (_gk(m),)  # noqa: E731
        get_a = lambda o: (_ga(o),)  # noqa: E731

    def slow(v: Any) -> tuple[Any, ...]:
        if isinstance(v, Mapping):
            out = []
            for k, s in zip(kebab, snake, strict=True):
                if k in v:
                    out.append(v[k])
                elif s in v:
                    out.append(v[s])
                else:
                    raise TypeError(f"record value is missing field {k!r}")
            return tuple(out)
        try:
            return get_a(v)  # type: ignore[no-any-return]
        except AttributeError as e:
            raise TypeError(
                f"expected a Record, Mapping or object with fields {list(snake)} for a record, "
                f"got {type(v).__name__} ({e})"
            ) from None

    def get(v: Any) -> tuple[Any, ...]:
        try:
            if type(v) is Record:
                return get_k(v._fields)  # type: ignore[no-any-return]
            if type(v) is dict:
                return get_k(v)  # type: ignore[no-any-return]
        except KeyError:
            pass
        return slow(v)

    return get


def _tuple_getter(n: int) -> Callable[[Any], Sequence[Any]]:
    def get(v: Any) -> Sequence[Any]:
        if type(v) is not tuple:
            if isinstance(v, str | bytes | Mapping) or not isinstance(v, Iterable):
                raise TypeError(f"expected a tuple of {n} values, got {type(v).__name__}")
            v = tuple(v)
        if len(v) != n:
            raise ValueError(f"expected a tuple of {n} values, got {len(v)}")
        return v

    return get


def _struct_store_plan(t: T.RecordType | T.TupleType) -> Callable[[Any], bytes] | None:
    """For records/tuples of struct-able primitives: ``v -> packed bytes`` (one element)."""
    fts = [ft for _, ft in t.fields] if isinstance(t, T.RecordType) else list(t.elems)
    if not all(isinstance(ft, T.PrimType) and ft.kind in PRIM_STRUCT_CODES for ft in fts):
        return None
    st = _record_struct(t, fts)
    if "x" in st.format:
        # Packing would write the padding bytes; the spec (and Wasmtime) leave them untouched.
        return None
    get = (fields_getter([lbl for lbl, _ in t.fields]) if isinstance(t, T.RecordType)
           else _tuple_getter(len(fts)))
    convs = [_prim_converter(ft.kind) for ft in fts]  # type: ignore[attr-defined]
    has_char = any(ft.kind == "char" for ft in fts)  # type: ignore[attr-defined]
    pack = st.pack

    def pack_row(v: Any) -> bytes:
        vals = get(v)
        if not has_char:
            try:
                return pack(*vals)
            except (struct.error, OverflowError, TypeError):
                pass
        return pack(*[c(x) for c, x in zip(convs, vals, strict=True)])

    return pack_row


def _record_struct(t: T.ValType, fts: list[T.ValType]) -> struct.Struct:
    offs = layout.field_offsets(T.despecialize(t))
    fmt = "<"
    pos = 0
    for ft, off in zip(fts, offs, strict=True):
        if off > pos:
            fmt += f"{off - pos}x"
        fmt += PRIM_STRUCT_CODES[ft.kind]  # type: ignore[attr-defined]
        pos = off + layout.elem_size(ft)
    total = layout.elem_size(t)
    if total > pos:
        fmt += f"{total - pos}x"
    return struct.Struct(fmt)


def _record_lowerer(
    t: T.ValType, labels: list[str] | None, fts: list[T.ValType], enc: str
) -> Lowerer:
    size = layout.elem_size(t)
    align = layout.alignment(t)
    offs = layout.field_offsets(T.despecialize(t))
    lws = [lowerer(ft, enc) for ft in fts]
    width = sum(lw.width for lw in lws)
    calls_out = any(lw.calls_out for lw in lws)
    get = fields_getter(labels) if labels is not None else _tuple_getter(len(fts))

    pack_row = _struct_store_plan(t)  # type: ignore[arg-type]
    store: Store
    if pack_row is not None:
        nbytes = size
        pr = pack_row

        def store_struct(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            mem[p : p + nbytes] = pr(v)

        store = store_struct
    else:
        items = [(off, lw.store, lw.calls_out) for off, lw in zip(offs, lws, strict=True)]

        def store_fields(cx: Any, mem: memoryview, v: Any, p: int) -> None:
            for (off, fs, co), x in zip(items, get(v), strict=True):
                fs(cx, mem, x, p + off)
                if co:
                    mem = cx.view()

        store = store_fields

    fflats = [lw.flat for lw in lws]

    def flat_fields(cx: Any, v: Any, out: list[Any]) -> None:
        for ff, x in zip(fflats, get(v), strict=True):
            ff(cx, x, out)

    return Lowerer(store, flat_fields, width, size, align, calls_out)


# --- flags ---------------------------------------------------------------------------------


def _flags_lowerer(labels: tuple[str, ...]) -> Lowerer:
    bits = {lbl: 1 << k for k, lbl in enumerate(labels)}
    for lbl in labels:
        bits.setdefault(lbl.replace("-", "_"), bits[lbl])
    size = layout.elem_size(T.FlagsType(labels))
    cache: dict[frozenset[str], int] = {}

    def to_int(v: Any) -> int:
        if type(v) is frozenset:
            i = cache.get(v)
            if i is not None:
                return i
        if isinstance(v, Mapping):
            v = [k for k, on in v.items() if on]
        elif isinstance(v, str | bytes) or not isinstance(v, Iterable):
            raise TypeError(f"expected a set of flag labels, got {type(v).__name__}")
        i = 0
        for lbl in v:
            b = bits.get(lbl)
            if b is None:
                raise ValueError(f"unknown flag {lbl!r} (labels: {', '.join(labels)})")
            i |= b
        if type(v) is frozenset and len(cache) < 4096:
            cache[v] = i
        return i

    pack_into = struct.Struct("<" + {1: "B", 2: "H", 4: "I"}[size]).pack_into

    def store_flags(cx: Any, mem: memoryview, v: Any, p: int) -> None:
        pack_into(mem, p, to_int(v))

    return Lowerer(store_flags, lambda cx, v, out: out.append(to_int(v)), 1, size, size, False)


# --- variants, enums, options, results -----------------------------------------------------


def _variant_lowerer(t: T.ValType, enc: str) -> Lowerer:
    d = T.despecialize(t)
    assert isinstance(d, T.VariantType)
    cases = d.cases
    n = len(cases)
    size = layout.elem_size(t)
    align = layout.alignment(t)
    dsize = layout.discriminant_size(n)
    poff = layout.case_payload_offset(d)
    joined = layout.flatten(d)[1:]
    width = 1 + len(joined)
    pack_disc = struct.Struct("<" + {1: "B", 2: "H", 4: "I"}[dsize]).pack_into
    zero = {"i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0}

    # Per case: (store, flat) of the payload, or None.
    sc: list[tuple[Store, Flat] | None] = []
    calls_out = False
    for _, ct in cases:
        if ct is None:
            sc.append(None)
            continue
        lw = lowerer(ct, enc)
        calls_out = calls_out or lw.calls_out
        sc.append((lw.store, _coerced_flat(lw, ct, joined, zero)))
    pad = [zero[j] for j in joined]

    match = _case_matcher(t, cases)

    def store_variant(cx: Any, mem: memoryview, v: Any, p: int) -> None:
        i, x = match(v)
        pack_disc(mem, p, i)
        c = sc[i]
        if c is not None:
            c[0](cx, mem, x, p + poff)

    def flat_variant(cx: Any, v: Any, out: list[Any]) -> None:
        i, x = match(v)
        out.append(i)
        c = sc[i]
        if c is None:
            out.extend(pad)
        else:
            c[1](cx, x, out)

    return Lowerer(store_variant, flat_variant, width, size, align, calls_out)


def _coerced_flat(
    lw: Lowerer, ct: T.ValType, joined: tuple[str, ...], zero: dict[str, Any]
) -> Flat:
    have = layout.flatten(ct)
    tail = [zero[j] for j in joined[len(have):]]
    coercions = []
    for k, (h, w) in enumerate(zip(have, joined, strict=False)):
        if h == w or (h == "i32" and w == "i64"):
            continue
        coercions.append((k, _f32_bits if h == "f32" else _f64_bits))
    inner = lw.flat
    if not coercions:
        if not tail:
            return inner

        def flat_padded(cx: Any, v: Any, out: list[Any]) -> None:
            inner(cx, v, out)
            out.extend(tail)

        return flat_padded

    def flat_coerced(cx: Any, v: Any, out: list[Any]) -> None:
        start = len(out)
        inner(cx, v, out)
        for k, f in coercions:
            out[start + k] = f(out[start + k])
        out.extend(tail)

    return flat_coerced


def _case_matcher(t: T.ValType, cases: tuple[tuple[str, T.ValType | None], ...]) -> Callable[[Any], tuple[int, Any]]:
    if isinstance(t, T.EnumType):
        index = {lbl: k for k, lbl in enumerate(t.labels)}
        for lbl, k in list(index.items()):
            index.setdefault(lbl.replace("-", "_"), k)

        def match_enum(v: Any) -> tuple[int, Any]:
            try:
                return index[v], None
            except (KeyError, TypeError):
                if not isinstance(v, str):
                    raise TypeError(f"expected an enum label (str), got {type(v).__name__}") from None
                raise ValueError(f"unknown enum label {v!r} (labels: {', '.join(t.labels)})") from None

        return match_enum
    if isinstance(t, T.OptionType):
        nested = isinstance(t.elem, T.OptionType)

        def match_option(v: Any) -> tuple[int, Any]:
            if v is None:
                return 0, None
            if type(v) is Some:
                return 1, v.value
            if nested and isinstance(v, Some):
                return 1, v.value
            return 1, v

        return match_option
    if isinstance(t, T.ResultType):

        def match_result(v: Any) -> tuple[int, Any]:
            if type(v) is Ok:
                return 0, v.value
            if type(v) is Err:
                return 1, v.value
            if isinstance(v, Ok):
                return 0, v.value
            if isinstance(v, Err):
                return 1, v.value
            raise TypeError(f"expected Ok(...) or Err(...) for a result, got {type(v).__name__}")

        return match_result
    index = {lbl: k for k, (lbl, _) in enumerate(cases)}
    for lbl, k in list(index.items()):
        index.setdefault(lbl.replace("-", "_"), k)
    payloadless = {lbl for lbl, ct in cases if ct is None}

    def match_variant(v: Any) -> tuple[int, Any]:
        if isinstance(v, Variant):
            k = index.get(v.case)
            if k is None:
                raise ValueError(f"unknown variant case {v.case!r}")
            return k, v.value
        if isinstance(v, str) and v in index and cases[index[v]][0] in payloadless:
            return index[v], None
        raise TypeError(f"expected a Variant for a variant, got {type(v).__name__}")

    return match_variant

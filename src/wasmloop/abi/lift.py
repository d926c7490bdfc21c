"""Lifting: guest values (linear memory or flat core values) → Python values.

Mirrors the spec's "Loading" and "Flat Lifting" sections. Every type compiles once into a
``Lifter`` holding two closures specialized for that type:

- ``load(cx, mem, ptr)``: the value stored at ``ptr`` in ``mem`` (the current ``cx.view()``).
  The caller has checked that ``[ptr, ptr + size)`` is in bounds and aligned.
- ``flat(cx, vals, i)``: the value whose flat core values start at ``vals[i]``. Every type has a
  static flat width, so composites know each child's start index at compile time.

``calls_out`` says whether ``load`` may call into ``cx`` (resource, stream, future and
error-context hooks); a composite then refreshes its memory view after such a child.

Core integers may arrive signed or unsigned (wasmtime gives signed); they are normalized with
masks. f32/f64 NaNs are canonicalized (``float('nan')``).
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

from wasmloop import types as T
from wasmloop.errors import Trap
from wasmloop.values import Err, Map, Ok, Record, Some, Variant

from .._dataclass import dataclass
from . import layout
from .strings import string_loader

__all__ = ["Lifter", "lifter", "make_record", "PRIM_STRUCT_CODES"]

_M32 = 0xFFFF_FFFF
_M64 = 0xFFFF_FFFF_FFFF_FFFF
NAN = math.nan

#: struct format code of the primitives that load/store as one fixed-size little-endian field.
PRIM_STRUCT_CODES = {
    "bool": "?", "s8": "b", "u8": "B", "s16": "h", "u16": "H", "s32": "i", "u32": "I",
    "s64": "q", "u64": "Q", "f32": "f", "f64": "d", "char": "I",
}
_LITTLE = sys.byteorder == "little"
_CAST_OK = _LITTLE and all(
    struct.calcsize(c) == struct.calcsize("<" + c) for c in "bBhHiIqQfd"
)

_new_record = Record.__new__
_set = object.__setattr__


def make_record(fields: dict[str, Any]) -> Record:
    """A ``Record`` over ``fields`` (kebab-case keys) without copying the dict."""
    r = _new_record(Record)
    _set(r, "_fields", fields)
    return r


Load = Callable[[Any, memoryview, int], Any]
Flat = Callable[[Any, Sequence[Any], int], Any]


@dataclass(frozen=True, slots=True)
class Lifter:
    load: Load
    flat: Flat
    width: int
    size: int
    align: int
    calls_out: bool


def _u(n: int) -> Callable[[memoryview, int], tuple[Any, ...]]:
    return struct.Struct("<" + {1: "B", 2: "H", 4: "I", 8: "Q"}[n]).unpack_from


_ldU16 = _u(2)
_ldU32 = _u(4)
_ldPAIR = struct.Struct("<II").unpack_from


def _char(i: int) -> str:
    if i >= 0x110000 or 0xD800 <= i <= 0xDFFF:
        raise Trap(f"invalid `char` bit pattern 0x{i:x}: converted integer out of range for `char`")
    return chr(i)


def _f32_bits(i: int) -> float:
    v: float = struct.unpack("<f", struct.pack("<I", i & _M32))[0]
    return v if v == v else NAN


def _f64_bits(i: int) -> float:
    v: float = struct.unpack("<d", struct.pack("<Q", i & _M64))[0]
    return v if v == v else NAN


_CACHE: dict[tuple[Any, str, bool], Lifter] = {}


def lifter(t: T.ValType, encoding: str = "utf8", keep_string_encoding: bool = False) -> Lifter:
    """The compiled lifter of ``t`` for strings in ``encoding`` (cached)."""
    key = (t, encoding, keep_string_encoding)
    lf = _CACHE.get(key)
    if lf is None:
        lf = _build(t, encoding, keep_string_encoding)
        _CACHE[key] = lf
    return lf


def _prim_lifter(t: T.PrimType, encoding: str, keep: bool) -> Lifter:
    k = t.kind
    size = layout.elem_size(t)
    align = layout.alignment(t)

    if k == "bool":
        return Lifter(lambda cx, mem, p: mem[p] != 0, lambda cx, v, i: (v[i] & _M32) != 0,
                      1, size, align, False)
    if k == "u8":
        return Lifter(lambda cx, mem, p: mem[p], lambda cx, v, i: v[i] & 0xFF, 1, size, align,
                      False)
    if k in ("s8", "s16", "u16", "s32", "u32", "s64", "u64"):
        unpack = struct.Struct("<" + PRIM_STRUCT_CODES[k]).unpack_from

        def load_int(cx: Any, mem: memoryview, p: int) -> int:
            return unpack(mem, p)[0]  # type: ignore[no-any-return]

        flat: Flat
        if k == "s8":
            flat = lambda cx, v, i: ((v[i] & 0xFF) ^ 0x80) - 0x80  # noqa: E731
        elif k == "s16":
            flat = lambda cx, v, i: ((v[i] & 0xFFFF) ^ 0x8000) - 0x8000  # noqa: E731
        elif k == "u16":
            flat = lambda cx, v, i: v[i] & 0xFFFF  # noqa: E731
        elif k == "s32":
            flat = lambda cx, v, i: ((v[i] & _M32) ^ 0x8000_0000) - 0x8000_0000  # noqa: E731
        elif k == "u32":
            flat = lambda cx, v, i: v[i] & _M32  # noqa: E731
        elif k == "s64":
            flat = lambda cx, v, i: ((v[i] & _M64) ^ (1 << 63)) - (1 << 63)  # noqa: E731
        else:
            flat = lambda cx, v, i: v[i] & _M64  # noqa: E731
        return Lifter(load_int, flat, 1, size, align, False)
    if k in ("f32", "f64"):
        unpack = struct.Struct("<f" if k == "f32" else "<d").unpack_from

        def load_float(cx: Any, mem: memoryview, p: int) -> float:
            x: float = unpack(mem, p)[0]
            return x if x == x else NAN

        def flat_float(cx: Any, v: Sequence[Any], i: int) -> float:
            x = v[i]
            return x if x == x else NAN

        return Lifter(load_float, flat_float, 1, size, align, False)
    if k == "char":
        return Lifter(lambda cx, mem, p: _char(_ldU32(mem, p)[0]),
                      lambda cx, v, i: _char(v[i] & _M32), 1, size, align, False)
    if k == "string":
        sload = string_loader(encoding, keep)

        def load_string(cx: Any, mem: memoryview, p: int) -> str:
            ptr, n = _ldPAIR(mem, p)
            return sload(mem, ptr, n)

        def flat_string(cx: Any, v: Sequence[Any], i: int) -> str:
            return sload(cx.view(), v[i], v[i + 1])

        return Lifter(load_string, flat_string, 2, size, align, False)
    if k == "error-context":
        return Lifter(lambda cx, mem, p: cx.lift_error_context(_ldU32(mem, p)[0]),
                      lambda cx, v, i: cx.lift_error_context(v[i] & _M32), 1, size, align, True)
    raise TypeError(f"unknown primitive type {k!r}")


def _build(t: T.ValType, enc: str, keep: bool) -> Lifter:
    size = layout.elem_size(t)
    align = layout.alignment(t)
    if isinstance(t, T.PrimType):
        return _prim_lifter(t, enc, keep)
    if isinstance(t, T.OwnType | T.BorrowType):
        rt = t.resource
        hook = "lift_own" if isinstance(t, T.OwnType) else "lift_borrow"
        return Lifter(lambda cx, mem, p: getattr(cx, hook)(rt, _ldU32(mem, p)[0]),
                      lambda cx, v, i: getattr(cx, hook)(rt, v[i] & _M32), 1, 4, 4, True)
    if isinstance(t, T.StreamType | T.FutureType):
        hook = "lift_stream" if isinstance(t, T.StreamType) else "lift_future"
        return Lifter(lambda cx, mem, p: getattr(cx, hook)(t, _ldU32(mem, p)[0]),
                      lambda cx, v, i: getattr(cx, hook)(t, v[i] & _M32), 1, 4, 4, True)
    if isinstance(t, T.ListType):
        return _list_lifter(t.elem, t.length, enc, keep, size, align)
    if isinstance(t, T.MapType):
        inner = _list_lifter(T.TupleType((t.key, t.value)), None, enc, keep, size, align)
        il, ifl = inner.load, inner.flat
        # Every entry in order, duplicate keys included: a dict would lose data.
        return Lifter(lambda cx, mem, p: Map(il(cx, mem, p)),
                      lambda cx, v, i: Map(ifl(cx, v, i)), 2, size, align, inner.calls_out)
    if isinstance(t, T.RecordType):
        return _record_lifter([lbl for lbl, _ in t.fields], [ft for _, ft in t.fields], t,
                              enc, keep, make_record)
    if isinstance(t, T.TupleType):
        return _record_lifter(None, list(t.elems), t, enc, keep, tuple)
    if isinstance(t, T.FlagsType):
        return _flags_lifter(t.labels, size)
    if isinstance(t, T.EnumType | T.OptionType | T.ResultType | T.VariantType):
        return _variant_lifter(t, enc, keep, size, align)
    raise TypeError(f"not a value type: {t!r}")


# --- lists ---------------------------------------------------------------------------------


def _list_range_loader(
    elem: T.ValType, enc: str, keep: bool
) -> tuple[Callable[[Any, memoryview, int, int], Any], Lifter]:
    """``(cx, mem, ptr, n) -> value`` for ``n`` elements at a valid, aligned ``ptr``."""
    el = lifter(elem, enc, keep)
    es = el.size
    kind = elem.kind if isinstance(elem, T.PrimType) else None

    if kind == "u8":
        return (lambda cx, mem, p, n: bytes(mem[p : p + n])), el
    if kind == "bool":
        return (lambda cx, mem, p, n: [b != 0 for b in mem[p : p + n]]), el
    if kind in ("s8", "s16", "u16", "s32", "u32", "s64", "u64", "f32", "f64", "char"):
        code = PRIM_STRUCT_CODES[kind]
        if _CAST_OK:

            def raw(mem: memoryview, p: int, n: int) -> list[Any]:
                return mem[p : p + n * es].cast(code).tolist()  # type: ignore[call-overload, no-any-return]
        else:

            def raw(mem: memoryview, p: int, n: int) -> list[Any]:
                return list(struct.unpack_from(f"<{n}{code}", mem, p))

        if kind in ("f32", "f64"):

            def floats(cx: Any, mem: memoryview, p: int, n: int) -> list[float]:
                xs = raw(mem, p, n)
                s = sum(xs)
                if s != s:
                    xs = [x if x == x else NAN for x in xs]
                return xs

            return floats, el
        if kind == "char":

            def chars(cx: Any, mem: memoryview, p: int, n: int) -> list[str]:
                return [_char(c) for c in raw(mem, p, n)]

            return chars, el

        return (lambda cx, mem, p, n: raw(mem, p, n)), el

    rec = _STRUCT_ROWS.get(elem)
    if rec is None and isinstance(elem, T.RecordType | T.TupleType):
        rec = _struct_rows(elem)
    if rec:
        iter_unpack, build = rec

        def rows(cx: Any, mem: memoryview, p: int, n: int) -> list[Any]:
            return [build(r) for r in iter_unpack(mem[p : p + n * es])]

        return rows, el

    eload = el.load
    if el.calls_out:

        def generic_refresh(cx: Any, mem: memoryview, p: int, n: int) -> list[Any]:
            out = []
            for k in range(n):
                out.append(eload(cx, mem, p + k * es))
                mem = cx.view()
            return out

        return generic_refresh, el

    def generic(cx: Any, mem: memoryview, p: int, n: int) -> list[Any]:
        return [eload(cx, mem, q) for q in range(p, p + n * es, es)]

    return generic, el


_STRUCT_ROWS: dict[Any, Any] = {}


def _struct_rows(t: T.RecordType | T.TupleType) -> Any:
    """For a record/tuple of struct-able primitives: (iter_unpack, build_row) or False."""
    plan = _struct_plan(t)
    if not plan:
        _STRUCT_ROWS[t] = False
        return False
    st, build = plan
    _STRUCT_ROWS[t] = (st.iter_unpack, build)
    return _STRUCT_ROWS[t]


def _struct_plan(t: T.RecordType | T.TupleType) -> Any:
    """(Struct covering the whole element incl. padding, build(tuple) -> value) or None."""
    fts = [ft for _, ft in t.fields] if isinstance(t, T.RecordType) else list(t.elems)
    if not all(isinstance(ft, T.PrimType) and ft.kind in PRIM_STRUCT_CODES for ft in fts):
        return None
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
    st = struct.Struct(fmt)
    assert st.size == total
    names = [f"v{k}" for k in range(len(fts))]
    body = f"def build(row):\n    {', '.join(names)}, = row\n"
    for k, ft in enumerate(fts):
        kind = ft.kind  # type: ignore[attr-defined]
        if kind == "char":
            body += f"    v{k} = _char(v{k})\n"
        elif kind in ("f32", "f64"):
            body += f"    if v{k} != v{k}:\n        v{k} = NAN\n"
    if isinstance(t, T.RecordType):
        items = ", ".join(f"{lbl!r}: v{k}" for k, (lbl, _) in enumerate(t.fields))
        body += f"    return _mk({{{items}}})\n"
    else:
        body += f"    return ({', '.join(names)},)\n"
    ns: dict[str, Any] = {"_char": _char, "NAN": NAN, "_mk": make_record}
    exec(compile(body, "<wasmloop.abi record loader>", "exec"), ns)  # noqa: S102
    build = ns["build"]
    return st, build


def _list_lifter(
    elem: T.ValType, length: int | None, enc: str, keep: bool, size: int, align: int
) -> Lifter:
    from_range, el = _list_range_loader(elem, enc, keep)
    es, ea = el.size, el.align

    if length is not None:
        n_fixed = length
        ew = el.width
        eflat = el.flat
        if isinstance(elem, T.PrimType) and elem.kind == "u8":

            def flat_fixed(cx: Any, v: Sequence[Any], i: int) -> Any:
                return bytes(x & 0xFF for x in v[i : i + n_fixed])
        else:

            def flat_fixed(cx: Any, v: Sequence[Any], i: int) -> Any:
                return [eflat(cx, v, j) for j in range(i, i + n_fixed * ew, ew)]

        return Lifter(lambda cx, mem, p: from_range(cx, mem, p, n_fixed), flat_fixed,
                      ew * n_fixed, size, align, el.calls_out)

    max_len = layout.MAX_LIST_BYTE_LENGTH
    amask = ea - 1

    def checked(cx: Any, mem: memoryview, p: int, n: int) -> Any:
        p &= _M32
        n &= _M32
        nbytes = n * es
        if nbytes > max_len:
            raise Trap("list content out-of-bounds: list pointer/length out of bounds of memory "
                       "(byte length exceeds the maximum)")
        if p + nbytes > len(mem):
            raise Trap("list content out-of-bounds: list pointer/length out of bounds of memory")
        if p & amask:
            raise Trap("unaligned pointer: list pointer is not aligned")
        return from_range(cx, mem, p, n)

    def load_list(cx: Any, mem: memoryview, p: int) -> Any:
        ptr, n = _ldPAIR(mem, p)
        return checked(cx, mem, ptr, n)

    def flat_list(cx: Any, v: Sequence[Any], i: int) -> Any:
        return checked(cx, cx.view(), v[i], v[i + 1])

    return Lifter(load_list, flat_list, 2, size, align, el.calls_out)


# --- records and tuples --------------------------------------------------------------------


def _record_lifter(
    labels: list[str] | None, fts: list[T.ValType], t: T.ValType, enc: str, keep: bool,
    wrap: Callable[[Any], Any],
) -> Lifter:
    size = layout.elem_size(t)
    align = layout.alignment(t)
    offs = layout.field_offsets(T.despecialize(t))
    lfs = [lifter(ft, enc, keep) for ft in fts]
    width = sum(lf.width for lf in lfs)
    calls_out = any(lf.calls_out for lf in lfs)
    flat_offs = []
    w = 0
    for lf in lfs:
        flat_offs.append(w)
        w += lf.width

    plan = _struct_plan(t)  # type: ignore[arg-type]
    load: Load
    if plan:
        unpack_from = plan[0].unpack_from
        build = plan[1]

        def load_struct(cx: Any, mem: memoryview, p: int) -> Any:
            return build(unpack_from(mem, p))

        load = load_struct
    elif calls_out:
        items = [(off, lf.load, lf.calls_out) for off, lf in zip(offs, lfs, strict=True)]

        def load_refresh(cx: Any, mem: memoryview, p: int) -> Any:
            vals = []
            for off, fl, co in items:
                vals.append(fl(cx, mem, p + off))
                if co:
                    mem = cx.view()
            return vals

        load = load_refresh
    else:
        items2 = [(off, lf.load) for off, lf in zip(offs, lfs, strict=True)]

        def load_plain(cx: Any, mem: memoryview, p: int) -> Any:
            return [fl(cx, mem, p + off) for off, fl in items2]

        load = load_plain

    fitems = [(fo, lf.flat) for fo, lf in zip(flat_offs, lfs, strict=True)]

    def flat_vals(cx: Any, v: Sequence[Any], i: int) -> list[Any]:
        return [ff(cx, v, i + fo) for fo, ff in fitems]

    if labels is not None:
        lbls = tuple(labels)
        if not plan:
            inner_load = load

            def load_rec(cx: Any, mem: memoryview, p: int) -> Any:
                return make_record(dict(zip(lbls, inner_load(cx, mem, p), strict=True)))

            load = load_rec

        def flat_rec(cx: Any, v: Sequence[Any], i: int) -> Any:
            return make_record(dict(zip(lbls, flat_vals(cx, v, i), strict=True)))

        return Lifter(load, flat_rec, width, size, align, calls_out)

    if not plan:
        inner_load2 = load

        def load_tuple(cx: Any, mem: memoryview, p: int) -> Any:
            return tuple(inner_load2(cx, mem, p))

        load = load_tuple

    def flat_tuple(cx: Any, v: Sequence[Any], i: int) -> Any:
        return tuple(flat_vals(cx, v, i))

    return Lifter(load, flat_tuple, width, size, align, calls_out)


# --- flags ---------------------------------------------------------------------------------


def _flags_lifter(labels: tuple[str, ...], size: int) -> Lifter:
    n = len(labels)
    mask = (1 << n) - 1
    cache: dict[int, frozenset[str]] = {}

    def to_set(i: int) -> frozenset[str]:
        i &= mask
        s = cache.get(i)
        if s is None:
            s = frozenset(lbl for k, lbl in enumerate(labels) if i >> k & 1)
            if len(cache) < 4096:
                cache[i] = s
        return s

    if size == 1:
        def load(cx: Any, mem: memoryview, p: int) -> frozenset[str]:
            return to_set(mem[p])
    elif size == 2:
        def load(cx: Any, mem: memoryview, p: int) -> frozenset[str]:
            return to_set(_ldU16(mem, p)[0])
    else:
        def load(cx: Any, mem: memoryview, p: int) -> frozenset[str]:
            return to_set(_ldU32(mem, p)[0])

    return Lifter(load, lambda cx, v, i: to_set(v[i]), 1, size, size, False)


# --- variants, enums, options, results -----------------------------------------------------


def _variant_lifter(t: T.ValType, enc: str, keep: bool, size: int, align: int) -> Lifter:
    d = T.despecialize(t)
    assert isinstance(d, T.VariantType)
    cases = d.cases
    n = len(cases)
    dsize = layout.discriminant_size(n)
    poff = layout.case_payload_offset(d)
    joined = layout.flatten(d)[1:]
    width = 1 + len(joined)

    def wrapper(label: str, ct: T.ValType | None) -> Callable[[Any], Any]:
        if isinstance(t, T.EnumType):
            return lambda _v: label
        if isinstance(t, T.OptionType):
            if ct is None:
                return lambda _v: None
            if isinstance(t.elem, T.OptionType):
                return Some
            return lambda v: v
        if isinstance(t, T.ResultType):
            return Ok if label == "ok" else Err
        return lambda v: Variant(label, v)

    lcases: list[tuple[Any, Callable[[Any], Any]]] = []
    fcases: list[tuple[Any, Callable[[Any], Any]]] = []
    calls_out = False
    for label, ct in cases:
        w = wrapper(label, ct)
        if ct is None:
            lcases.append((None, w))
            fcases.append((None, w))
            continue
        lf = lifter(ct, enc, keep)
        calls_out = calls_out or lf.calls_out
        lcases.append((lf.load, w))
        coercions: list[tuple[int, Callable[[int], float]]] = []
        for k, (have, want) in enumerate(zip(joined, layout.flatten(ct), strict=False)):
            if have != want and want in ("f32", "f64"):
                coercions.append((k, _f32_bits if want == "f32" else _f64_bits))
        fcases.append((_coerced_flat(lf, coercions), w))

    read_disc: Callable[[memoryview, int], int]
    if dsize == 1:
        read_disc = memoryview.__getitem__  # type: ignore[assignment]
    elif dsize == 2:
        read_disc = lambda mem, p: _ldU16(mem, p)[0]  # noqa: E731
    else:
        read_disc = lambda mem, p: _ldU32(mem, p)[0]  # noqa: E731

    def bad(i: int) -> Trap:
        return Trap(f"invalid variant discriminant: discriminant {i} out of range [0..{n})")

    if isinstance(t, T.EnumType):
        labels = t.labels

        def load_enum(cx: Any, mem: memoryview, p: int) -> str:
            i = read_disc(mem, p)
            if i >= n:
                raise bad(i)
            return labels[i]

        def flat_enum(cx: Any, v: Sequence[Any], i: int) -> str:
            c = v[i] & _M32
            if c >= n:
                raise bad(c)
            return labels[c]

        return Lifter(load_enum, flat_enum, width, size, align, False)

    def load_variant(cx: Any, mem: memoryview, p: int) -> Any:
        i = read_disc(mem, p)
        if i >= n:
            raise bad(i)
        pl, w = lcases[i]
        return w(None if pl is None else pl(cx, mem, p + poff))

    def flat_variant(cx: Any, v: Sequence[Any], i: int) -> Any:
        c = v[i] & _M32
        if c >= n:
            raise bad(c)
        pf, w = fcases[c]
        return w(None if pf is None else pf(cx, v, i + 1))

    return Lifter(load_variant, flat_variant, width, size, align, calls_out)


def _coerced_flat(lf: Lifter, coercions: list[tuple[int, Callable[[int], float]]]) -> Flat:
    if not coercions:
        return lf.flat
    inner = lf.flat
    w = lf.width

    def flat(cx: Any, v: Sequence[Any], i: int) -> Any:
        sub = list(v[i : i + w])
        for k, f in coercions:
            sub[k] = f(sub[k])
        return inner(cx, sub, 0)

    return flat

"""A fake canonical-ABI context for the abi tests: bytearray memory, bump realloc, hooks."""

from __future__ import annotations

from typing import Any


class FakeCx:
    """``view()``/``realloc()`` over a bytearray; grows by replacing the bytearray (so a stale
    view keeps pointing at the old bytes) and records every realloc and hook call."""

    def __init__(self, size: int = 1 << 16, grow: bool = True, start: int = 8) -> None:
        self.mem = bytearray(size)
        self.next = start
        self.grow = grow
        self.reallocs: list[tuple[int, int, int, int]] = []
        self.calls: list[tuple[Any, ...]] = []
        self.handles: dict[int, Any] = {}
        self.next_handle = 1
        self.realloc_override: Any = None

    def view(self) -> memoryview:
        return memoryview(self.mem)

    def realloc(self, old: int, old_size: int, align: int, new_size: int) -> int:
        self.reallocs.append((old, old_size, align, new_size))
        if self.realloc_override is not None:
            return int(self.realloc_override(old, old_size, align, new_size))
        ptr = (self.next + align - 1) & -align
        self.next = ptr + new_size
        if self.next > len(self.mem) and self.grow:
            new = bytearray(max(2 * len(self.mem), self.next + 1024))
            new[: len(self.mem)] = self.mem
            self.mem = new
        if old and new_size:
            n = min(old_size, new_size)
            self.mem[ptr : ptr + n] = self.mem[old : old + n]
        return ptr

    def _new_handle(self, obj: Any) -> int:
        i = self.next_handle
        self.next_handle += 1
        self.handles[i] = obj
        return i

    def lift_own(self, rt: Any, i: int) -> Any:
        self.calls.append(("lift_own", rt, i))
        return self.handles.pop(i)

    def lift_borrow(self, rt: Any, i: int) -> Any:
        self.calls.append(("lift_borrow", rt, i))
        return self.handles[i]

    def lower_own(self, rt: Any, obj: Any) -> int:
        self.calls.append(("lower_own", rt, obj))
        return self._new_handle(obj)

    def lower_borrow(self, rt: Any, obj: Any) -> int:
        self.calls.append(("lower_borrow", rt, obj))
        return self._new_handle(obj)

    def lift_stream(self, t: Any, i: int) -> Any:
        self.calls.append(("lift_stream", t, i))
        return self.handles.pop(i)

    def lower_stream(self, t: Any, obj: Any) -> int:
        self.calls.append(("lower_stream", t, obj))
        return self._new_handle(obj)

    def lift_future(self, t: Any, i: int) -> Any:
        self.calls.append(("lift_future", t, i))
        return self.handles.pop(i)

    def lower_future(self, t: Any, obj: Any) -> int:
        self.calls.append(("lower_future", t, obj))
        return self._new_handle(obj)

    def lift_error_context(self, i: int) -> Any:
        self.calls.append(("lift_error_context", i))
        return self.handles[i]

    def lower_error_context(self, obj: Any) -> int:
        self.calls.append(("lower_error_context", obj))
        return self._new_handle(obj)


# --- hypothesis strategies for random types and values --------------------------------------

import math  # noqa: E402

from hypothesis import strategies as st  # noqa: E402

from wasmloop import types as T  # noqa: E402
from wasmloop.values import Err, Map, Ok, Record, Some, Variant  # noqa: E402

_INTS = {
    "u8": (0, 0xFF), "s8": (-0x80, 0x7F), "u16": (0, 0xFFFF), "s16": (-0x8000, 0x7FFF),
    "u32": (0, 0xFFFF_FFFF), "s32": (-(1 << 31), (1 << 31) - 1),
    "u64": (0, (1 << 64) - 1), "s64": (-(1 << 63), (1 << 63) - 1),
}
SCALARS = [T.BOOL, T.S8, T.U8, T.S16, T.U16, T.S32, T.U32, T.S64, T.U64, T.F32, T.F64, T.CHAR,
           T.STRING]
KEY_TYPES = [T.U8, T.S32, T.U64, T.CHAR, T.STRING, T.BOOL]

_labels = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,3}(-[a-z][a-z0-9]{0,2})?", fullmatch=True),
    min_size=1, max_size=5, unique_by=lambda s: s.replace("-", "_"),
).map(tuple)


def _extend(inner: st.SearchStrategy[T.ValType]) -> st.SearchStrategy[T.ValType]:
    opt_inner = st.one_of(st.none(), inner)
    return st.one_of(
        inner.map(T.ListType),
        st.tuples(inner, st.integers(1, 4)).map(lambda a: T.ListType(a[0], a[1])),
        st.tuples(_labels, st.lists(inner, min_size=5, max_size=5)).map(
            lambda a: T.RecordType(tuple(zip(a[0], a[1], strict=False)))),
        st.lists(inner, min_size=1, max_size=4).map(lambda ts: T.TupleType(tuple(ts))),
        st.tuples(_labels, st.lists(opt_inner, min_size=5, max_size=5)).map(
            lambda a: T.VariantType(tuple(zip(a[0], a[1], strict=False)))),
        _labels.map(T.EnumType),
        inner.map(T.OptionType),
        st.tuples(opt_inner, opt_inner).map(lambda a: T.ResultType(*a)),
        _labels.map(T.FlagsType),
        st.tuples(st.sampled_from(KEY_TYPES), inner).map(lambda a: T.MapType(*a)),
    )


val_types: st.SearchStrategy[T.ValType] = st.recursive(
    st.sampled_from(SCALARS), _extend, max_leaves=6)


def _f32s() -> st.SearchStrategy[float]:
    return st.one_of(st.floats(width=32), st.just(math.nan), st.just(-0.0))


def values(t: T.ValType) -> st.SearchStrategy[object]:
    """Python values of type ``t`` (as lifters produce them)."""
    if isinstance(t, T.PrimType):
        k = t.kind
        if k in _INTS:
            return st.integers(*_INTS[k])
        if k == "bool":
            return st.booleans()
        if k == "f32":
            return _f32s()
        if k == "f64":
            return st.one_of(st.floats(), st.just(math.nan))
        if k == "char":
            return st.characters(exclude_categories=("Cs",))
        if k == "string":
            return st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
        raise AssertionError(k)
    if isinstance(t, T.ListType):
        if t.elem == T.U8:
            if t.length is not None:
                return st.binary(min_size=t.length, max_size=t.length)
            return st.binary(max_size=8)
        if t.length is not None:
            return st.lists(values(t.elem), min_size=t.length, max_size=t.length)
        return st.lists(values(t.elem), max_size=4)
    if isinstance(t, T.RecordType):
        return st.tuples(*[values(ft) for _, ft in t.fields]).map(
            lambda vs: Record(dict(zip([lbl for lbl, _ in t.fields], vs, strict=True))))
    if isinstance(t, T.TupleType):
        return st.tuples(*[values(e) for e in t.elems])
    if isinstance(t, T.VariantType):
        return st.one_of(*[
            (st.just(Variant(lbl)) if ct is None
             else values(ct).map(lambda v, lbl=lbl: Variant(lbl, v)))
            for lbl, ct in t.cases
        ])
    if isinstance(t, T.EnumType):
        return st.sampled_from(t.labels)
    if isinstance(t, T.OptionType):
        inner = values(t.elem)
        if isinstance(t.elem, T.OptionType):
            inner = inner.map(Some)
        return st.one_of(st.none(), inner)
    if isinstance(t, T.ResultType):
        ok = st.just(Ok()) if t.ok is None else values(t.ok).map(Ok)
        err = st.just(Err()) if t.err is None else values(t.err).map(Err)
        return st.one_of(ok, err)
    if isinstance(t, T.FlagsType):
        return st.frozensets(st.sampled_from(t.labels))
    if isinstance(t, T.MapType):
        return st.dictionaries(values(t.key), values(t.value), max_size=3)
    raise AssertionError(t)


def canon(v: object) -> object:
    """A structure that compares equal iff two lifted values are equal (NaN == NaN, -0.0 != 0.0,
    type-sensitive)."""
    if isinstance(v, float):
        return ("f", "nan" if v != v else v.hex())
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, Record):
        return ("R", tuple((k, canon(x)) for k, x in v.items()))
    if isinstance(v, dict | Map):
        # Maps keep their entries in order (duplicate keys included): compare in order.
        return ("D", tuple((canon(k), canon(x)) for k, x in v.items()))
    if isinstance(v, tuple):
        return ("T", tuple(canon(x) for x in v))
    if isinstance(v, list):
        return ("L", tuple(canon(x) for x in v))
    if isinstance(v, frozenset):
        return ("S", tuple(sorted(v)))
    if isinstance(v, Variant):
        return ("V", v.case, canon(v.value))
    if isinstance(v, Some):
        return ("Some", canon(v.value))
    if isinstance(v, Ok):
        return ("Ok", canon(v.value))
    if isinstance(v, Err):
        return ("Err", canon(v.value))
    if isinstance(v, bytes):
        return ("B", v)
    return (type(v).__name__, v)

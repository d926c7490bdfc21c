"""Differential tests against the spec's executable reference, definitions.py.

Skipped when the spec checkout (/work/spec) is absent, as in CI.
"""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_abi_support import FakeCx, canon, val_types, values

from wasmloop import types as T
from wasmloop.abi import (
    CanonOpts,
    EncodedStr,
    compile_lift_flat,
    compile_load,
    compile_lower_flat,
    compile_store,
    layout,
)
from wasmloop.abi.strings import UTF16_TAG, store_string_into_range
from wasmloop.values import Err, Ok, Record, Some, Variant

SPEC = Path("/work/spec/design/mvp/canonical-abi/definitions.py")
if not SPEC.exists():
    pytest.skip("spec checkout not present", allow_module_level=True)

_spec = importlib.util.spec_from_file_location("cabi_definitions", SPEC)
assert _spec and _spec.loader
d: Any = importlib.util.module_from_spec(_spec)
sys.modules["cabi_definitions"] = d
_spec.loader.exec_module(d)
d.DETERMINISTIC_PROFILE = True

ENCODINGS = ["utf8", "utf16", "latin1+utf16"]


def to_spec_type(t: T.ValType) -> Any:
    if isinstance(t, T.PrimType):
        return {
            "bool": d.BoolType, "s8": d.S8Type, "u8": d.U8Type, "s16": d.S16Type,
            "u16": d.U16Type, "s32": d.S32Type, "u32": d.U32Type, "s64": d.S64Type,
            "u64": d.U64Type, "f32": d.F32Type, "f64": d.F64Type, "char": d.CharType,
            "string": d.StringType, "error-context": d.ErrorContextType,
        }[t.kind]()
    o = to_spec_type
    if isinstance(t, T.ListType):
        return d.ListType(o(t.elem), t.length)
    if isinstance(t, T.RecordType):
        return d.RecordType([d.FieldType(lbl, o(ft)) for lbl, ft in t.fields])
    if isinstance(t, T.TupleType):
        return d.TupleType([o(e) for e in t.elems])
    if isinstance(t, T.VariantType):
        return d.VariantType([d.CaseType(lbl, None if ct is None else o(ct)) for lbl, ct in t.cases])
    if isinstance(t, T.EnumType):
        return d.EnumType(list(t.labels))
    if isinstance(t, T.OptionType):
        return d.OptionType(o(t.elem))
    if isinstance(t, T.ResultType):
        return d.ResultType(None if t.ok is None else o(t.ok), None if t.err is None else o(t.err))
    if isinstance(t, T.FlagsType):
        return d.FlagsType(list(t.labels))
    if isinstance(t, T.MapType):
        return d.MapType(o(t.key), o(t.value))
    raise AssertionError(t)


def _units(s: str, enc: str) -> int:
    if enc == "utf8":
        return len(s.encode("utf-8"))
    if enc == "utf16":
        return len(s.encode("utf-16-le")) // 2
    try:
        return len(s.encode("latin-1"))
    except UnicodeEncodeError:
        return (len(s.encode("utf-16-le")) // 2) | UTF16_TAG


def to_spec_value(t: T.ValType, v: Any, enc: str) -> Any:
    """Our Python value → the spec's; a host str is given the destination's encoding."""
    o = to_spec_value
    if isinstance(t, T.PrimType):
        if t.kind == "string":
            if isinstance(v, EncodedStr):
                return (str(v), v.encoding, v.tagged_code_units)
            return (v, enc, _units(v, enc))
        return v
    if isinstance(t, T.ListType):
        return [o(t.elem, x, enc) for x in v]
    if isinstance(t, T.RecordType):
        return {lbl: o(ft, v[lbl], enc) for lbl, ft in t.fields}
    if isinstance(t, T.TupleType):
        return {str(i): o(e, x, enc) for i, (e, x) in enumerate(zip(t.elems, v, strict=True))}
    if isinstance(t, T.VariantType):
        ct = dict(t.cases)[v.case]
        return {v.case: None if ct is None else o(ct, v.value, enc)}
    if isinstance(t, T.EnumType):
        return {v: None}
    if isinstance(t, T.OptionType):
        if v is None:
            return {"none": None}
        return {"some": o(t.elem, v.value if isinstance(v, Some) else v, enc)}
    if isinstance(t, T.ResultType):
        if isinstance(v, Ok):
            return {"ok": None if t.ok is None else o(t.ok, v.value, enc)}
        return {"error": None if t.err is None else o(t.err, v.value, enc)}
    if isinstance(t, T.FlagsType):
        return {lbl: lbl in v for lbl in t.labels}
    if isinstance(t, T.MapType):
        return [{"0": o(t.key, k, enc), "1": o(t.value, x, enc)} for k, x in v.items()]
    raise AssertionError(t)


def from_spec_value(t: T.ValType, v: Any) -> Any:
    o = from_spec_value
    if isinstance(t, T.PrimType):
        if t.kind == "string":
            return v[0]
        if t.kind in ("f32", "f64") and math.isnan(v):
            return math.nan
        return v
    if isinstance(t, T.ListType):
        xs = [o(t.elem, x) for x in v]
        return bytes(xs) if t.elem == T.U8 else xs
    if isinstance(t, T.RecordType):
        return Record({lbl: o(ft, v[lbl]) for lbl, ft in t.fields})
    if isinstance(t, T.TupleType):
        return tuple(o(e, v[str(i)]) for i, e in enumerate(t.elems))
    [(label, x)] = v.items()
    if isinstance(t, T.VariantType):
        ct = dict(t.cases)[label]
        return Variant(label, None if ct is None else o(ct, x))
    if isinstance(t, T.EnumType):
        return label
    if isinstance(t, T.OptionType):
        if label == "none":
            return None
        inner = o(t.elem, x)
        return Some(inner) if isinstance(t.elem, T.OptionType) else inner
    if isinstance(t, T.ResultType):
        if label == "ok":
            return Ok(None if t.ok is None else o(t.ok, x))
        return Err(None if t.err is None else o(t.err, x))
    raise AssertionError(t)


def from_spec(t: T.ValType, v: Any) -> Any:
    if isinstance(t, T.FlagsType):
        return frozenset(k for k, on in v.items() if on)
    if isinstance(t, T.MapType):
        return {from_spec(t.key, e["0"]): from_spec(t.value, e["1"]) for e in v}
    if isinstance(t, T.ListType):
        xs = [from_spec(t.elem, x) for x in v]
        return bytes(xs) if t.elem == T.U8 else xs
    if isinstance(t, T.RecordType):
        return Record({lbl: from_spec(ft, v[lbl]) for lbl, ft in t.fields})
    if isinstance(t, T.TupleType):
        return tuple(from_spec(e, v[str(i)]) for i, e in enumerate(t.elems))
    if isinstance(t, T.OptionType):
        [(label, x)] = v.items()
        if label == "none":
            return None
        inner = from_spec(t.elem, x)
        return Some(inner) if isinstance(t.elem, T.OptionType) else inner
    if isinstance(t, T.ResultType):
        [(label, x)] = v.items()
        if label == "ok":
            return Ok(None if t.ok is None else from_spec(t.ok, x))
        return Err(None if t.err is None else from_spec(t.err, x))
    if isinstance(t, T.VariantType):
        [(label, x)] = v.items()
        ct = dict(t.cases)[label]
        return Variant(label, None if ct is None else from_spec(ct, x))
    return from_spec_value(t, v)


class SpecCx(d.LiftLowerContext):  # type: ignore[misc, name-defined]
    """The spec's context with the same bump realloc as FakeCx (no growth)."""

    def __init__(self, enc: str, size: int) -> None:
        opts = d.LiftLowerOptions(string_encoding=enc, memory=d.MemInst(bytearray(size), "i32"))
        super().__init__(opts, None)
        self.next = 8
        self.reallocs: list[tuple[int, int, int, int]] = []

    def reallocate(self, old: int, old_size: int, align: int, new_size: int) -> int:
        self.reallocs.append((old, old_size, align, new_size))
        ptr = (self.next + align - 1) & -align
        self.next = ptr + new_size
        mem = self.opts.memory.bytes
        if old and new_size:
            n = min(old_size, new_size)
            mem[ptr : ptr + n] = mem[old : old + n]
        return ptr

    def allocate(self, align: int, size: int) -> int:
        return self.reallocate(0, 0, align, size)


def _pair(enc: str, size: int = 1 << 14) -> tuple[FakeCx, Any]:
    return FakeCx(size=size, grow=False), SpecCx(enc, size)


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[T.ValType, Any, str]:
    t = draw(val_types)
    return t, draw(values(t)), draw(st.sampled_from(ENCODINGS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values())
def test_layout_matches_spec(tv: tuple[T.ValType, Any, str]) -> None:
    t = tv[0]
    s = to_spec_type(t)
    assert layout.size(t) == d.elem_size(s, "i32")
    assert layout.alignment(t) == d.alignment(s, "i32")
    mem = d.MemInst(bytearray(0), "i32")
    opts = d.LiftLowerOptions(memory=mem)
    assert list(layout.flatten(t)) == d.flatten_type(s, opts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values())
def test_store_matches_spec_bytes_and_reallocs(tv: tuple[T.ValType, Any, str]) -> None:
    t, v, enc = tv
    ours, spec = _pair(enc)
    ptr = layout.align_to(1024, layout.alignment(t))
    ours.next = spec.next = ptr + layout.size(t)
    compile_store(t, CanonOpts(enc))(ours, v, ptr)
    d.store(spec, to_spec_value(t, v, enc), to_spec_type(t), ptr)
    assert ours.reallocs == spec.reallocs
    assert bytes(ours.mem) == bytes(spec.opts.memory.bytes)
    # and the spec loads what we stored
    got = d.load(spec, ptr, to_spec_type(t))
    assert canon(from_spec(t, got)) == canon(v)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values())
def test_flat_lowering_matches_spec(tv: tuple[T.ValType, Any, str]) -> None:
    t, v, enc = tv
    ours, spec = _pair(enc)
    flat = compile_lower_flat(t, CanonOpts(enc))(ours, v)
    sflat = d.lower_flat(spec, to_spec_value(t, v, enc), to_spec_type(t))
    assert canon(flat) == canon(sflat) or [
        ("nan" if isinstance(x, float) and x != x else x) for x in flat
    ] == [("nan" if isinstance(x, float) and x != x else x) for x in sflat]
    assert ours.reallocs == spec.reallocs
    assert bytes(ours.mem) == bytes(spec.opts.memory.bytes)
    back = d.lift_flat(spec, d.CoreValueIter(list(flat)), to_spec_type(t))
    assert canon(from_spec(t, back)) == canon(v)
    # spec-lowered flat values lift with ours
    got, _ = compile_lift_flat(t, CanonOpts(enc))(ours, sflat, 0)
    assert canon(got) == canon(v)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=12), st.sampled_from(ENCODINGS), st.sampled_from(ENCODINGS))
def test_string_transcoding_matches_spec_for_every_path(s: str, src: str, dst: str) -> None:
    ours, spec = _pair(dst)
    units = _units(s, src)
    got = store_string_into_range(ours, s, src, units, dst)
    want = d.store_string_into_range(spec, (s, src, units))
    assert got == tuple(want)
    assert ours.reallocs == spec.reallocs
    assert bytes(ours.mem) == bytes(spec.opts.memory.bytes)
    # The EncodedStr route through a compiled lowerer takes the same path.
    ours2, _ = _pair(dst)
    compile_lower_flat(T.STRING, CanonOpts(dst))(ours2, EncodedStr(s, src, units))
    assert ours2.reallocs == spec.reallocs


_JUNK = [0] * 8 + [1, 2, 3, 0x10, 0x41, 0x80, 0xA9, 0xC3, 0xD8, 0xDC, 0xFF]


@pytest.mark.parametrize("enc", ENCODINGS)
def test_random_garbage_loads_like_spec(enc: str) -> None:
    """Random bytes: we trap exactly when the spec traps, else return the same value."""
    rnd = random.Random(1234)
    types_ = [
        T.STRING, T.CHAR, T.ListType(T.U16), T.ListType(T.STRING),
        T.VariantType((("a", T.U8), ("b", None), ("c", T.F64))), T.OptionType(T.CHAR),
        T.EnumType(tuple(f"e{i}" for i in range(300))), T.ResultType(T.STRING, T.F32),
    ]
    outcomes = set()
    for _ in range(1000):
        t = rnd.choice(types_)
        ours, spec = _pair(enc, size=256)
        junk = bytes(rnd.choice(_JUNK) for _ in range(256))
        ours.mem[:] = junk
        spec.opts.memory.bytes[:] = junk
        ptr = layout.align_to(rnd.randrange(0, 200), layout.alignment(t))
        try:
            want = ("ok", canon(from_spec(t, d.load(spec, ptr, to_spec_type(t)))))
        except d.Trap:
            want = ("trap",)
        try:
            got = ("ok", canon(compile_load(t, CanonOpts(enc))(ours, ptr)))
        except Exception as e:  # noqa: BLE001
            got = ("trap",) if type(e).__name__ == "Trap" else ("error", repr(e))
        assert got == want, (t, ptr)
        outcomes.add(got[0])
    assert outcomes == {"ok", "trap"}

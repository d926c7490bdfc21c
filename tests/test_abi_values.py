"""Lifting and lowering of every kind of value: boundaries, traps, strings, lists, variants."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from test_abi_support import FakeCx, canon

from wasmloop import types as T
from wasmloop.abi import (
    CanonOpts,
    EncodedStr,
    FuncABI,
    compile_lift_flat,
    compile_load,
    compile_lower_flat,
    compile_store,
    layout,
)
from wasmloop.abi.strings import UTF16_TAG
from wasmloop.errors import Trap
from wasmloop.values import Err, Ok, Record, Some, Variant

UTF8 = CanonOpts("utf8", True, True)
UTF16 = CanonOpts("utf16", True, True)
LATIN1 = CanonOpts("latin1+utf16", True, True)


def roundtrip(t: T.ValType, v: Any, opts: CanonOpts = UTF8, ptr: int = 1024) -> Any:
    """Store→load and lower_flat→lift_flat; both must agree; returns the loaded value."""
    cx = FakeCx()
    compile_store(t, opts)(cx, v, ptr)
    loaded = compile_load(t, opts)(cx, ptr)
    flat = compile_lower_flat(t, opts)(cx, v)
    lifted, n = compile_lift_flat(t, opts)(cx, flat, 0)
    assert n == len(flat) == len(layout.flatten(t))
    assert canon(lifted) == canon(loaded)
    return loaded


# --- primitives ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "lo", "hi"),
    [(T.U8, 0, 255), (T.S8, -128, 127), (T.U16, 0, 65535), (T.S16, -32768, 32767),
     (T.U32, 0, 2**32 - 1), (T.S32, -(2**31), 2**31 - 1), (T.U64, 0, 2**64 - 1),
     (T.S64, -(2**63), 2**63 - 1)],
)
def test_integer_boundaries_round_trip_and_out_of_range_is_a_value_error(
    t: T.PrimType, lo: int, hi: int
) -> None:
    for v in (lo, hi, 0, 1):
        assert roundtrip(t, v) == v
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValueError):
            compile_lower_flat(t)(FakeCx(), bad)
        with pytest.raises(ValueError):
            compile_store(t)(FakeCx(), bad, 0)
    with pytest.raises(TypeError):
        compile_lower_flat(t)(FakeCx(), 1.0)
    with pytest.raises(TypeError):
        compile_store(t)(FakeCx(), "1", 0)


def test_signed_flat_values_are_lowered_as_unsigned_and_lifted_from_either_form() -> None:
    assert compile_lower_flat(T.S32)(FakeCx(), -1) == [0xFFFF_FFFF]
    assert compile_lower_flat(T.S64)(FakeCx(), -2) == [2**64 - 2]
    assert compile_lift_flat(T.S32)(FakeCx(), [-1], 0) == (-1, 1)
    assert compile_lift_flat(T.S32)(FakeCx(), [0xFFFF_FFFF], 0) == (-1, 1)
    assert compile_lift_flat(T.U32)(FakeCx(), [-1], 0) == (0xFFFF_FFFF, 1)
    assert compile_lift_flat(T.U8)(FakeCx(), [0x1FF], 0) == (0xFF, 1)  # high bits ignored
    assert compile_lift_flat(T.S8)(FakeCx(), [0x80], 0) == (-128, 1)
    assert compile_lift_flat(T.U64)(FakeCx(), [-1], 0) == (2**64 - 1, 1)


def test_bool_is_any_nonzero_on_lift() -> None:
    cx = FakeCx()
    cx.mem[10] = 7
    assert compile_load(T.BOOL)(cx, 10) is True
    assert compile_lift_flat(T.BOOL)(cx, [-5], 0) == (True, 1)
    assert roundtrip(T.BOOL, False) is False


def test_floats_round_trip_incl_negative_zero_and_infinities() -> None:
    for t in (T.F32, T.F64):
        for v in (0.0, -0.0, 1.5, -math.inf, math.inf):
            got = roundtrip(t, v)
            assert got == v and math.copysign(1, got) == math.copysign(1, v)
    assert roundtrip(T.F32, 0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert roundtrip(T.F64, 0.1) == 0.1
    assert roundtrip(T.F32, 1e300) == math.inf  # rounds like f32.demote_f64
    assert compile_lower_flat(T.F32)(FakeCx(), 0.1) == [struct.unpack("<f", struct.pack("<f", 0.1))[0]]


def test_nans_are_canonicalized_on_lift() -> None:
    cx = FakeCx()
    struct.pack_into("<I", cx.mem, 16, 0xFFC1_2345)  # negative NaN with a payload
    struct.pack_into("<Q", cx.mem, 24, 0x7FF0_0000_0000_0001)  # signalling NaN
    for t, p in ((T.F32, 16), (T.F64, 24)):
        v = compile_load(t)(cx, p)
        assert math.isnan(v)
        assert struct.pack("<d", v) == struct.pack("<d", math.nan)
    nan32 = struct.unpack("<f", struct.pack("<I", 0x7FA0_0001))[0]
    v, _ = compile_lift_flat(T.F32)(cx, [nan32], 0)
    assert math.isnan(v)
    # a NaN stored by us reads back as the canonical NaN bit patterns
    compile_store(T.F32)(cx, math.nan, 32)
    compile_store(T.F64)(cx, -math.nan, 40)
    assert math.isnan(compile_load(T.F32)(cx, 32))
    assert math.isnan(compile_load(T.F64)(cx, 40))
    assert math.isnan(roundtrip(T.ListType(T.F32), [1.0, math.nan])[1])


@pytest.mark.parametrize("c", [0, 0x41, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF])
def test_valid_chars_round_trip(c: int) -> None:
    assert roundtrip(T.CHAR, chr(c)) == chr(c)


@pytest.mark.parametrize("c", [0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x110000, 0xFFFF_FFFF])
def test_invalid_chars_trap_on_lift(c: int) -> None:
    cx = FakeCx()
    struct.pack_into("<I", cx.mem, 8, c)
    with pytest.raises(Trap):
        compile_load(T.CHAR)(cx, 8)
    with pytest.raises(Trap):
        compile_lift_flat(T.CHAR)(cx, [c], 0)
    with pytest.raises(Trap):
        compile_load(T.ListType(T.CHAR))(cx, _list_at(cx, [c], "I"))


def test_host_chars_must_be_one_scalar_value() -> None:
    for bad, exc in (("\ud800", ValueError), ("ab", ValueError), ("", ValueError), (65, TypeError)):
        with pytest.raises(exc):
            compile_lower_flat(T.CHAR)(FakeCx(), bad)


def _list_at(cx: FakeCx, items: list[int], code: str, ptr: int = 256) -> int:
    """Write a list's elements at ptr and its (ptr, len) header at 64; return 64."""
    struct.pack_into(f"<{len(items)}{code}", cx.mem, ptr, *items)
    struct.pack_into("<II", cx.mem, 64, ptr, len(items))
    return 64


# --- strings -------------------------------------------------------------------------------


@pytest.mark.parametrize("opts", [UTF8, UTF16, LATIN1])
@pytest.mark.parametrize("s", ["", "a", "héllo", "日本語", "emoji 🎉 x", "\x00\xff", "ÿ" * 5])
def test_strings_round_trip_in_every_encoding(opts: CanonOpts, s: str) -> None:
    assert roundtrip(T.STRING, s, opts) == s


def test_host_strings_take_one_exact_allocation_per_encoding() -> None:
    cases = [
        (UTF8, "", (0, 0, 1, 0), 0),
        (UTF8, "héllo", (0, 0, 1, 6), 6),
        (UTF16, "", (0, 0, 2, 0), 0),
        (UTF16, "h🎉", (0, 0, 2, 6), 3),
        (LATIN1, "", (0, 0, 2, 0), 0),
        (LATIN1, "héllo", (0, 0, 2, 5), 5),
        (LATIN1, "h€", (0, 0, 2, 4), 2 | UTF16_TAG),
    ]
    for opts, s, call, units in cases:
        cx = FakeCx()
        flat = compile_lower_flat(T.STRING, opts)(cx, s)
        assert cx.reallocs == [call], (opts, s)
        assert flat[1] == units
        ptr = flat[0]
        if units & UTF16_TAG or opts is UTF16:
            assert bytes(cx.mem[ptr : ptr + 2 * (units & ~UTF16_TAG)]) == s.encode("utf-16-le")
        elif opts is LATIN1:
            assert bytes(cx.mem[ptr : ptr + units]) == s.encode("latin-1")
        else:
            assert bytes(cx.mem[ptr : ptr + units]) == s.encode()


def test_latin1_utf16_non_latin1_char_forces_tagged_utf16_on_lift() -> None:
    cx = FakeCx()
    data = "aĀb".encode("utf-16-le")
    cx.mem[100 : 100 + len(data)] = data
    assert compile_lift_flat(T.STRING, LATIN1)(cx, [100, 3 | UTF16_TAG], 0)[0] == "aĀb"
    cx.mem[200:203] = b"a\xe9b"
    assert compile_lift_flat(T.STRING, LATIN1)(cx, [200, 3], 0)[0] == "aéb"


# Exact realloc sequences of the transcoding paths (worked out from definitions.py).
TRANSCODE = [
    # src enc, dst, string, expected realloc calls (ptr values: bump allocator from 8)
    ("utf16", "utf8", "ab", [(0, 0, 1, 2)]),
    ("utf16", "utf8", "aé", [(0, 0, 1, 2), (8, 2, 1, 6), (10, 6, 1, 3)]),
    ("latin1+utf16", "utf8", "aé", [(0, 0, 1, 2), (8, 2, 1, 4), (10, 4, 1, 3)]),
    ("utf8", "utf16", "aé", [(0, 0, 2, 6), (8, 6, 2, 4)]),
    ("utf8", "utf16", "ab", [(0, 0, 2, 4)]),
    ("utf8", "latin1+utf16", "aé", [(0, 0, 2, 3), (8, 3, 2, 2)]),
    ("utf8", "latin1+utf16", "a€", [(0, 0, 2, 4), (8, 4, 2, 8), (12, 8, 2, 4)]),
    ("utf16", "latin1+utf16", "a€", [(0, 0, 2, 2), (8, 2, 2, 4)]),
    ("latin1+utf16", "latin1+utf16", "aé", [(0, 0, 2, 2)]),
    ("utf16-tagged", "latin1+utf16", "aé", [(0, 0, 2, 4), (8, 4, 1, 2)]),
    ("utf16-tagged", "latin1+utf16", "a€", [(0, 0, 2, 4)]),
    ("utf8", "utf8", "", [(0, 0, 1, 0)]),
]


def _units(s: str, enc: str) -> int:
    if enc == "utf8":
        return len(s.encode())
    if enc == "utf16":
        return len(s.encode("utf-16-le")) // 2
    if enc == "utf16-tagged":
        return (len(s.encode("utf-16-le")) // 2) | UTF16_TAG
    return len(s.encode("latin-1"))


@pytest.mark.parametrize(("src", "dst", "s", "calls"), TRANSCODE)
def test_transcoding_realloc_sequences(src: str, dst: str, s: str, calls: list[tuple[int, ...]]) -> None:
    cx = FakeCx()
    enc = "latin1+utf16" if src == "utf16-tagged" else src
    value = EncodedStr(s, enc, _units(s, src))
    opts = CanonOpts(dst, True, True)
    ptr, units = compile_lower_flat(T.STRING, opts)(cx, value)
    assert cx.reallocs == calls
    assert compile_lift_flat(T.STRING, opts)(cx, [ptr, units], 0)[0] == s


def test_lifting_with_keep_string_encoding_returns_encoded_str() -> None:
    cx = FakeCx()
    cx.mem[64:70] = "héllo".encode()
    s, _ = compile_lift_flat(T.STRING, UTF8, keep_string_encoding=True)(cx, [64, 6], 0)
    assert isinstance(s, EncodedStr) and s == "héllo"
    assert (s.encoding, s.tagged_code_units) == ("utf8", 6)


@pytest.mark.parametrize(
    ("opts", "ptr", "units", "data"),
    [
        (UTF8, 100, 2, b"\xc3\x28"),  # invalid utf-8
        (UTF8, 100, 3, b"\xed\xa0\x80"),  # encoded surrogate
        (UTF16, 100, 1, b"\x00\xd8"),  # lone surrogate
        (UTF16, 101, 1, b"a\x00"),  # misaligned
        (LATIN1, 101, 1 | UTF16_TAG, b"a\x00"),  # misaligned
        (LATIN1, 101, 1, b"a"),  # misaligned even when latin1
        (UTF8, 0xFFFF, 2, b""),  # out of bounds
        (UTF8, 0xFFFF_FFFF, 1, b""),  # out of bounds, pointer at the top
        (UTF8, 0, (1 << 28), b""),  # exceeds MAX_STRING_BYTE_LENGTH
        (UTF16, 0, (1 << 27), b""),  # 2**28 bytes
        (LATIN1, 0, (1 << 27) | UTF16_TAG, b""),
    ],
)
def test_bad_guest_strings_trap(opts: CanonOpts, ptr: int, units: int, data: bytes) -> None:
    cx = FakeCx()
    cx.mem[ptr : ptr + len(data)] = data
    with pytest.raises(Trap):
        compile_lift_flat(T.STRING, opts)(cx, [ptr, units], 0)
    struct.pack_into("<II", cx.mem, 8, ptr, units)
    with pytest.raises(Trap):
        compile_load(T.STRING, opts)(cx, 8)


def test_realloc_results_are_checked() -> None:
    cx = FakeCx()
    cx.realloc_override = lambda *a: 9  # odd pointer for an align-2 allocation
    with pytest.raises(Trap, match="misaligned|not aligned"):
        compile_lower_flat(T.STRING, UTF16)(cx, "ab")
    cx.realloc_override = lambda *a: len(cx.mem) - 1
    with pytest.raises(Trap, match="out of bounds|beyond end of memory"):
        compile_lower_flat(T.STRING, UTF8)(cx, "ab")
    cx.realloc_override = lambda *a: len(cx.mem) - 4
    with pytest.raises(Trap, match="out of bounds|beyond end of memory"):
        compile_lower_flat(T.ListType(T.U32), UTF8)(cx, [1, 2])
    cx.realloc_override = lambda *a: 2
    with pytest.raises(Trap, match="misaligned|not aligned"):
        compile_lower_flat(T.ListType(T.U64), UTF8)(cx, [1])


def test_host_string_type_errors() -> None:
    with pytest.raises(TypeError):
        compile_lower_flat(T.STRING)(FakeCx(), b"bytes")
    with pytest.raises(ValueError):
        compile_lower_flat(T.STRING)(FakeCx(), "lone \ud800")


# --- lists ---------------------------------------------------------------------------------


def test_list_u8_is_bytes_both_ways() -> None:
    for v in (b"", b"\x00\xffabc", bytearray(b"xy"), memoryview(b"mv"), [1, 2, 255]):
        got = roundtrip(T.ListType(T.U8), v)
        assert type(got) is bytes and got == bytes(v)
    with pytest.raises(ValueError):
        compile_lower_flat(T.ListType(T.U8))(FakeCx(), [256])
    with pytest.raises(TypeError):
        compile_lower_flat(T.ListType(T.U8))(FakeCx(), 5)
    with pytest.raises(TypeError):
        compile_lower_flat(T.ListType(T.U8))(FakeCx(), "str")


def test_empty_list_allocates_zero_bytes_with_element_alignment() -> None:
    cx = FakeCx()
    assert roundtrip(T.ListType(T.U64), []) == []
    compile_lower_flat(T.ListType(T.U64))(cx, [])
    compile_lower_flat(T.ListType(T.STRING))(cx, [])
    assert cx.reallocs == [(0, 0, 8, 0), (0, 0, 4, 0)]


@pytest.mark.parametrize(
    ("t", "v"),
    [
        (T.ListType(T.U16), [0, 65535, 7]),
        (T.ListType(T.S64), [-(2**63), 2**63 - 1]),
        (T.ListType(T.F64), [1.5, -0.0]),
        (T.ListType(T.BOOL), [True, False, True]),
        (T.ListType(T.CHAR), ["a", "\U0010ffff"]),
        (T.ListType(T.STRING), ["a", "", "héllo"]),
        (T.ListType(T.ListType(T.U32)), [[1], [], [2, 3]]),
        (T.ListType(T.RecordType((("a", T.U8), ("b", T.F32)))), [Record(a=1, b=2.5)] * 3),
        (T.ListType(T.TupleType((T.U8, T.CHAR))), [(1, "x"), (2, "y")]),
        (T.ListType(T.OptionType(T.U32)), [None, 5]),
        (T.ListType(T.U32, 3), [1, 2, 3]),
        (T.ListType(T.U8, 2), b"ab"),
        (T.ListType(T.STRING, 2), ["x", "yz"]),
    ],
)
def test_lists_round_trip(t: T.ListType, v: Any) -> None:
    for opts in (UTF8, UTF16):
        assert canon(roundtrip(t, v, opts)) == canon(v)


def test_fixed_length_list_is_inline_and_checks_its_length() -> None:
    cx = FakeCx()
    compile_store(T.ListType(T.U16, 3), UTF8)(cx, [1, 2, 3], 100)
    assert bytes(cx.mem[100:106]) == b"\x01\x00\x02\x00\x03\x00"
    assert cx.reallocs == []
    with pytest.raises(ValueError):
        compile_store(T.ListType(T.U16, 3), UTF8)(cx, [1, 2], 100)
    with pytest.raises(ValueError):
        compile_lower_flat(T.ListType(T.U16, 3), UTF8)(cx, [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("elem", "ptr", "n", "msg"),
    [
        (T.U32, 2, 1, "misaligned|not aligned"),
        (T.U64, 4, 1, "misaligned|not aligned"),
        (T.STRING, 6, 1, "misaligned|not aligned"),
        (T.U32, 0xFFFC, 2, "out of bounds"),
        (T.U8, 0xFFFF_FFFF, 1, "out of bounds"),
        (T.U32, 0, 1 << 26, "exceeds"),
        (T.U8, 0, 1 << 28, "exceeds"),
    ],
)
def test_bad_guest_lists_trap(elem: T.ValType, ptr: int, n: int, msg: str) -> None:
    cx = FakeCx()
    with pytest.raises(Trap, match=msg):
        compile_lift_flat(T.ListType(elem))(cx, [ptr, n], 0)
    struct.pack_into("<II", cx.mem, 8, ptr, n)
    with pytest.raises(Trap, match=msg):
        compile_load(T.ListType(elem))(cx, 8)


def test_memory_growth_during_realloc_refreshes_the_view() -> None:
    cx = FakeCx(size=64)
    t = T.RecordType((("names", T.ListType(T.STRING)), ("n", T.U32), ("s", T.STRING)))
    v = Record(names=["a" * 40, "b" * 50, "c"], n=7, s="tail" * 10)
    cx.next = 32
    compile_store(t)(cx, v, 8)
    assert len(cx.mem) > 64
    assert compile_load(t)(cx, 8) == v
    flat = compile_lower_flat(t)(cx, v)
    assert compile_lift_flat(t)(cx, flat, 0)[0] == v


def test_load_and_store_check_their_own_pointer() -> None:
    cx = FakeCx(size=64)
    with pytest.raises(Trap):
        compile_load(T.U32)(cx, 2)
    with pytest.raises(Trap):
        compile_load(T.U64)(cx, 64)
    with pytest.raises(Trap):
        compile_store(T.U32)(cx, 1, 62)


# --- records, variants, flags, maps --------------------------------------------------------


REC = T.RecordType((("first-name", T.STRING), ("age", T.U8)))


def test_record_accepts_record_mapping_and_objects() -> None:
    class P:
        first_name = "ann"
        age = 3

    want = Record({"first-name": "ann", "age": 3})
    for v in (want, {"first-name": "ann", "age": 3}, {"first_name": "ann", "age": 3}, P()):
        got = roundtrip(REC, v)
        assert isinstance(got, Record) and got == want and got.first_name == "ann"
    with pytest.raises(TypeError, match="age"):
        compile_lower_flat(REC)(FakeCx(), {"first-name": "x"})
    with pytest.raises(TypeError):
        compile_lower_flat(REC)(FakeCx(), 5)


def test_records_of_primitives_round_trip_and_report_bad_fields() -> None:
    t = T.RecordType((("a", T.U8), ("b", T.F64), ("c", T.BOOL), ("d", T.CHAR), ("e", T.S16)))
    v = Record(a=255, b=-0.5, c=True, d="é", e=-3)
    assert roundtrip(t, v) == v
    with pytest.raises(ValueError, match="u8"):
        compile_store(t)(FakeCx(), Record(a=256, b=0.0, c=True, d="x", e=0), 8)
    with pytest.raises(ValueError):
        compile_store(t)(FakeCx(), Record(a=1, b=0.0, c=True, d="\ud800", e=0), 8)


def test_tuples() -> None:
    t = T.TupleType((T.U8, T.STRING, T.F32))
    assert roundtrip(t, (1, "x", 2.5)) == (1, "x", 2.5)
    assert roundtrip(t, [1, "x", 2.5]) == (1, "x", 2.5)
    with pytest.raises(ValueError):
        compile_lower_flat(t)(FakeCx(), (1, "x"))


def test_enum_is_a_label() -> None:
    t = T.EnumType(("red", "dark-blue"))
    assert roundtrip(t, "dark-blue") == "dark-blue"
    with pytest.raises(ValueError):
        compile_lower_flat(t)(FakeCx(), "green")
    with pytest.raises(TypeError):
        compile_lower_flat(t)(FakeCx(), 1)


def test_options() -> None:
    assert roundtrip(T.OptionType(T.U32), None) is None
    assert roundtrip(T.OptionType(T.U32), 0) == 0
    oo = T.OptionType(T.OptionType(T.U32))
    assert roundtrip(oo, None) is None
    assert roundtrip(oo, Some(None)) == Some(None)
    assert roundtrip(oo, Some(5)) == Some(5)


def test_results() -> None:
    assert roundtrip(T.ResultType(None, None), Ok()) == Ok(None)
    assert roundtrip(T.ResultType(None, None), Err()) == Err(None)
    assert roundtrip(T.ResultType(T.STRING, T.U32), Err(7)) == Err(7)
    assert roundtrip(T.ResultType(T.STRING, T.U32), Ok("x")) == Ok("x")
    with pytest.raises(TypeError):
        compile_lower_flat(T.ResultType(None, None))(FakeCx(), None)


VAR = T.VariantType((("a", T.F32), ("b", T.U64), ("c", None), ("d", T.F64), ("e", T.STRING)))


def test_variant_flat_joins_and_coerces_like_the_spec() -> None:
    assert layout.flatten(VAR) == ("i32", "i64", "i32")
    lower = compile_lower_flat(VAR)
    cx = FakeCx()
    assert lower(cx, Variant("a", 1.0)) == [0, 0x3F80_0000, 0]
    assert lower(cx, Variant("b", 2**64 - 1)) == [1, 2**64 - 1, 0]
    assert lower(cx, Variant("c")) == [2, 0, 0]
    assert lower(cx, Variant("d", -2.0)) == [3, 0xC000_0000_0000_0000, 0]
    for v in (Variant("a", 1.5), Variant("b", 3), Variant("c"), Variant("d", -0.0),
              Variant("e", "hé")):
        assert canon(roundtrip(VAR, v)) == canon(v)
    # a NaN f32 travelling in an i64 slot is canonicalized
    got, _ = compile_lift_flat(VAR)(cx, [0, 0x7FA0_0001, 0], 0)
    assert math.isnan(got.value)
    # the lower 32 bits of the i64 slot carry the f32; high bits are ignored
    got, _ = compile_lift_flat(VAR)(cx, [0, (5 << 32) | 0x3F80_0000, 0], 0)
    assert got == Variant("a", 1.0)


def test_variant_unknown_case_is_a_host_error() -> None:
    with pytest.raises(ValueError):
        compile_lower_flat(VAR)(FakeCx(), Variant("zz", 1))
    with pytest.raises(TypeError):
        compile_lower_flat(VAR)(FakeCx(), ("a", 1.0))


@pytest.mark.parametrize(
    ("t", "disc_bytes"),
    [
        (T.OptionType(T.U8), b"\x02"),
        (T.ResultType(None, None), b"\xff"),
        (T.EnumType(("a", "b", "c")), b"\x03"),
        (VAR, b"\x05"),
        (T.EnumType(tuple(f"e{i}" for i in range(300))), b"\x2c\x01"),
        (T.EnumType(tuple(f"e{i}" for i in range(300))), b"\xff\xff"),
    ],
)
def test_bad_discriminants_trap(t: T.ValType, disc_bytes: bytes) -> None:
    cx = FakeCx()
    cx.mem[64 : 64 + len(disc_bytes)] = disc_bytes
    with pytest.raises(Trap, match="discriminant"):
        compile_load(t)(cx, 64)
    disc = int.from_bytes(disc_bytes, "little")
    with pytest.raises(Trap, match="discriminant"):
        compile_lift_flat(t)(cx, [disc] + [0] * (len(layout.flatten(t)) - 1), 0)


@pytest.mark.parametrize("n", [1, 8, 9, 16, 17, 32])
def test_flags(n: int) -> None:
    labels = tuple(f"f-{i}" for i in range(n))
    t = T.FlagsType(labels)
    for v in (frozenset(), frozenset(labels), frozenset(labels[::3]), frozenset([labels[-1]])):
        assert roundtrip(t, v) == v
    cx = FakeCx()
    compile_store(t)(cx, {labels[-1]}, 64)  # any iterable lowers
    size = layout.size(t)
    assert int.from_bytes(cx.mem[64 : 64 + size], "little") == 1 << (n - 1)
    assert compile_lower_flat(t)(cx, [labels[0], labels[-1]]) == [1 | (1 << (n - 1))]
    # bits beyond the labels are ignored
    assert compile_lift_flat(t)(cx, [-1], 0)[0] == frozenset(labels)
    with pytest.raises(ValueError):
        compile_lower_flat(t)(cx, {"nope"})
    with pytest.raises(TypeError):
        compile_lower_flat(t)(cx, "f-0")


def test_maps_are_dicts() -> None:
    t = T.MapType(T.STRING, T.ListType(T.U32))
    v = {"a": [1, 2], "": []}
    assert roundtrip(t, v) == v
    assert roundtrip(t, {}) == {}
    assert roundtrip(T.MapType(T.U8, T.BOOL), [(1, True)]) == {1: True}
    with pytest.raises(TypeError):
        compile_lower_flat(t)(FakeCx(), 5)


# --- resources, streams, futures, error-contexts -------------------------------------------


class GrowingCx(FakeCx):
    """Hooks that replace the memory (as a guest calling memory.grow would)."""

    def _grow(self) -> None:
        new = bytearray(len(self.mem) + 4096)
        new[: len(self.mem)] = self.mem
        self.mem = new

    def lower_own(self, rt: Any, obj: Any) -> int:
        self._grow()
        return super().lower_own(rt, obj)

    def lift_own(self, rt: Any, i: int) -> Any:
        self._grow()
        return super().lift_own(rt, i)


def test_handles_go_through_the_context_hooks_and_refresh_the_view() -> None:
    r = T.ResourceType("file")
    t = T.TupleType((T.OwnType(r), T.STRING, T.BorrowType(r), T.StreamType(T.U8),
                     T.FutureType(None), T.ERROR_CONTEXT, T.OwnType(r)))
    v = ("f1", "name", "f2", "s", "fu", "err", "f3")
    cx = GrowingCx()
    cx.next = 128
    compile_store(t)(cx, v, 64)
    assert [c[0] for c in cx.calls] == ["lower_own", "lower_borrow", "lower_stream",
                                        "lower_future", "lower_error_context", "lower_own"]
    assert cx.calls[0][1] is r and cx.calls[2][1] == T.StreamType(T.U8)
    cx.calls.clear()
    assert compile_load(t)(cx, 64) == v
    assert [c[0] for c in cx.calls] == ["lift_own", "lift_borrow", "lift_stream", "lift_future",
                                        "lift_error_context", "lift_own"]
    assert cx.calls[0] == ("lift_own", r, 1)
    cx2 = GrowingCx()
    flat = compile_lower_flat(t)(cx2, v)
    assert compile_lift_flat(t)(cx2, flat, 0)[0] == v


# --- FuncABI -------------------------------------------------------------------------------


def ft(params: list[T.ValType], result: T.ValType | None) -> T.FuncType:
    return T.FuncType(tuple((f"p{i}", t) for i, t in enumerate(params)), result)


def test_core_signatures() -> None:
    a = FuncABI(ft([T.U32, T.U32], T.U32), UTF8)
    assert a.core_type_lift == T.CoreFuncType(("i32", "i32"), ("i32",))
    assert a.core_type_lower == T.CoreFuncType(("i32", "i32"), ("i32",))
    assert a.core_type_lift_async_callback == T.CoreFuncType(("i32", "i32"), ("i32",))
    assert a.core_type_lift_async_stackful == T.CoreFuncType(("i32", "i32"), ())
    assert a.core_type_lower_async == T.CoreFuncType(("i32", "i32", "i32"), ("i32",))
    assert a.core_type_task_return == T.CoreFuncType(("i32",), ())

    s = FuncABI(ft([T.STRING, T.F64, T.U64], T.STRING), UTF8)
    assert s.core_type_lift == T.CoreFuncType(("i32", "i32", "f64", "i64"), ("i32",))
    assert s.core_type_lower == T.CoreFuncType(("i32", "i32", "f64", "i64", "i32"), ())
    assert s.core_type_lower_async == T.CoreFuncType(("i32", "i32", "f64", "i64", "i32"), ("i32",))
    assert s.core_type_task_return == T.CoreFuncType(("i32", "i32"), ())

    five = FuncABI(ft([T.U8] * 5, None), UTF8)
    assert five.core_type_lower_async == T.CoreFuncType(("i32",), ("i32",))
    assert five.core_type_lower == T.CoreFuncType(("i32",) * 5, ())

    many = FuncABI(ft([T.U8] * 17, T.ListType(T.U32, 17)), UTF8)
    assert many.core_type_lift == T.CoreFuncType(("i32",), ("i32",))
    assert many.core_type_lower == T.CoreFuncType(("i32", "i32"), ())
    assert many.core_type_task_return == T.CoreFuncType(("i32",), ())

    none = FuncABI(ft([], None), UTF8)
    assert none.core_type_lift == T.CoreFuncType((), ())
    assert none.core_type_lower_async == T.CoreFuncType((), ("i32",))


def test_sixteen_flat_params_stay_flat_and_seventeen_spill() -> None:
    cx = FakeCx()
    a16 = FuncABI(ft([T.U32] * 16, None), UTF8)
    assert a16.lower_params(cx, list(range(16))) == list(range(16))
    assert cx.reallocs == []
    a17 = FuncABI(ft([T.U8] * 16 + [T.U64], None), UTF8)
    [ptr] = a17.lower_params(cx, list(range(16)) + [2**64 - 1])
    assert cx.reallocs == [(0, 0, 8, 24)]
    assert list(cx.mem[ptr : ptr + 16]) == list(range(16))
    assert a17.lift_params(cx, [ptr]) == list(range(16)) + [2**64 - 1]
    with pytest.raises(Trap, match="misaligned|not aligned"):
        a17.lift_params(cx, [ptr + 4])
    with pytest.raises(Trap, match="out of bounds|beyond end of memory"):
        a17.lift_params(cx, [len(cx.mem) - 16])


def test_results_beyond_one_flat_value_go_through_memory() -> None:
    cx = FakeCx()
    a = FuncABI(ft([T.U32], T.TupleType((T.U32, T.STRING))), UTF8)
    out = 4096
    assert a.lower_results(cx, (7, "hi"), [1, out]) == []
    assert a.lift_results(cx, [out]) == (7, "hi")
    with pytest.raises(Trap, match="misaligned|not aligned"):
        a.lift_results(cx, [out + 2])
    with pytest.raises(Trap, match="out of bounds|beyond end of memory"):
        a.lift_results(cx, [len(cx.mem) - 4])
    with pytest.raises(Trap, match="misaligned|not aligned"):
        a.lower_results(cx, (7, "hi"), [1, out + 1])


def test_arity_mismatch_is_a_type_error() -> None:
    a = FuncABI(ft([T.U32, T.U32], T.U32), UTF8)
    with pytest.raises(TypeError):
        a.lower_params(FakeCx(), [1])
    with pytest.raises(TypeError):
        a.lower_params(FakeCx(), [1, 2, 3])
    with pytest.raises(TypeError):
        a.lift_results(FakeCx(), [])


def test_add_u32() -> None:
    a = FuncABI(ft([T.U32, T.U32], T.U32), UTF8)
    cx = FakeCx()
    assert a.lower_params(cx, (1, 2**32 - 1)) == [1, 2**32 - 1]
    assert a.lift_results(cx, [-1]) == 2**32 - 1
    assert a.lift_params(cx, [-1, 5]) == [2**32 - 1, 5]
    assert a.lower_results(cx, 9, [1, 2]) == [9]
    assert a.lift_results is not None and a.lift_task_return(cx, [3]) == 3


def test_async_lower_params_spill_past_four_and_result_goes_to_the_out_pointer() -> None:
    cx = FakeCx()
    a = FuncABI(ft([T.U32] * 5, T.U32), UTF8)
    struct.pack_into("<5I", cx.mem, 512, 1, 2, 3, 4, 5)
    assert a.lift_params_async(cx, [512, 1024]) == [1, 2, 3, 4, 5]
    assert a.store_result_async(cx, 99, [512, 1024]) == []
    assert struct.unpack_from("<I", cx.mem, 1024) == (99,)
    b = FuncABI(ft([T.U32, T.STRING], T.STRING), UTF8)
    cx.mem[600:602] = b"hi"
    assert b.lift_params_async(cx, [1, 600, 2, 2048]) == [1, "hi"]
    b.store_result_async(cx, "yo", [1, 600, 2, 2048])
    assert compile_load(T.STRING)(cx, 2048) == "yo"
    with pytest.raises(Trap):
        b.store_result_async(cx, "yo", [1, 600, 2, 2049])


def test_task_return_lifts_up_to_sixteen_flat_values() -> None:
    cx = FakeCx()
    t = T.TupleType((T.U32,) * 16)
    a = FuncABI(ft([], t), UTF8)
    assert a.lift_task_return(cx, list(range(16))) == tuple(range(16))
    big = T.TupleType((T.U32,) * 17)
    b = FuncABI(ft([], big), UTF8)
    struct.pack_into("<17I", cx.mem, 512, *range(17))
    assert b.lift_task_return(cx, [512]) == tuple(range(17))
    assert FuncABI(ft([], None), UTF8).lift_task_return(cx, []) is None

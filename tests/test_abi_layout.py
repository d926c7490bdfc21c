"""Sizes, alignment and flattening, with expectations worked out from the spec's rules."""

from __future__ import annotations

import pytest

from wasmloop import types as T
from wasmloop.abi import layout

R = T.ResourceType("r")


def flags(n: int) -> T.FlagsType:
    return T.FlagsType(tuple(f"f{i}" for i in range(n)))


def cases(n: int) -> T.VariantType:
    return T.VariantType(tuple((f"c{i}", None) for i in range(n)))


@pytest.mark.parametrize(
    ("t", "size", "align", "flat"),
    [
        (T.BOOL, 1, 1, ("i32",)),
        (T.S8, 1, 1, ("i32",)),
        (T.U8, 1, 1, ("i32",)),
        (T.S16, 2, 2, ("i32",)),
        (T.U16, 2, 2, ("i32",)),
        (T.S32, 4, 4, ("i32",)),
        (T.U32, 4, 4, ("i32",)),
        (T.S64, 8, 8, ("i64",)),
        (T.U64, 8, 8, ("i64",)),
        (T.F32, 4, 4, ("f32",)),
        (T.F64, 8, 8, ("f64",)),
        (T.CHAR, 4, 4, ("i32",)),
        (T.STRING, 8, 4, ("i32", "i32")),
        (T.ERROR_CONTEXT, 4, 4, ("i32",)),
        (T.ListType(T.U64), 8, 4, ("i32", "i32")),
        (T.ListType(T.U16, 3), 6, 2, ("i32", "i32", "i32")),
        (T.ListType(T.F64, 2), 16, 8, ("f64", "f64")),
        (T.MapType(T.STRING, T.U64), 8, 4, ("i32", "i32")),
        (T.RecordType((("a", T.U8), ("b", T.U32), ("c", T.U16))), 12, 4, ("i32",) * 3),
        (T.RecordType((("a", T.U8), ("b", T.U64))), 16, 8, ("i32", "i64")),
        (T.TupleType((T.U8, T.U8, T.U16)), 4, 2, ("i32",) * 3),
        (T.TupleType((T.F32, T.STRING)), 12, 4, ("f32", "i32", "i32")),
        (T.EnumType(("a", "b")), 1, 1, ("i32",)),
        (T.OptionType(T.U8), 2, 1, ("i32", "i32")),
        (T.OptionType(T.U64), 16, 8, ("i32", "i64")),
        (T.OptionType(T.STRING), 12, 4, ("i32", "i32", "i32")),
        (T.ResultType(None, None), 1, 1, ("i32",)),
        (T.ResultType(T.U32, T.F32), 8, 4, ("i32", "i32")),
        (T.ResultType(T.F32, T.F32), 8, 4, ("i32", "f32")),
        (T.ResultType(T.F64, T.U32), 16, 8, ("i32", "i64")),
        (T.ResultType(T.F32, T.U64), 16, 8, ("i32", "i64")),
        (T.ResultType(T.STRING, T.F64), 16, 8, ("i32", "i64", "i32")),
        (T.VariantType((("a", T.U8), ("b", None), ("c", T.TupleType((T.F32, T.F32))))), 12, 4,
         ("i32", "i32", "f32")),
        (cases(256), 1, 1, ("i32",)),
        (cases(257), 2, 2, ("i32",)),
        (T.VariantType((*cases(257).cases, ("x", T.U8))), 4, 2, ("i32", "i32")),
        (flags(1), 1, 1, ("i32",)),
        (flags(8), 1, 1, ("i32",)),
        (flags(9), 2, 2, ("i32",)),
        (flags(16), 2, 2, ("i32",)),
        (flags(17), 4, 4, ("i32",)),
        (flags(32), 4, 4, ("i32",)),
        (T.OwnType(R), 4, 4, ("i32",)),
        (T.BorrowType(R), 4, 4, ("i32",)),
        (T.StreamType(T.U8), 4, 4, ("i32",)),
        (T.FutureType(None), 4, 4, ("i32",)),
    ],
)
def test_size_alignment_flatten(t: T.ValType, size: int, align: int, flat: tuple[str, ...]) -> None:
    assert layout.size(t) == layout.elem_size(t) == size
    assert layout.alignment(t) == align
    assert layout.flatten(t) == flat


def test_discriminant_sizes_follow_case_counts() -> None:
    assert [layout.discriminant_size(n) for n in (1, 2, 256, 257, 65536, 65537)] == [1, 1, 1, 2, 2, 4]


def test_flags_beyond_32_labels_are_rejected() -> None:
    with pytest.raises(ValueError):
        layout.size(flags(33))


def test_memory64_strings_and_lists_use_8_byte_pointers() -> None:
    assert layout.size(T.STRING, "i64") == 16
    assert layout.alignment(T.ListType(T.U8), "i64") == 8
    assert layout.flatten(T.STRING, "i64") == ("i64", "i64")


def test_field_offsets_and_payload_offset() -> None:
    rec = T.despecialize(T.TupleType((T.U8, T.U64, T.U16, T.STRING)))
    assert layout.field_offsets(rec) == (0, 8, 16, 20)
    assert layout.case_payload_offset(T.OptionType(T.U64)) == 8
    assert layout.case_payload_offset(T.ResultType(None, None)) == 1


def test_join() -> None:
    assert layout.join("i32", "f32") == "i32"
    assert layout.join("f32", "f32") == "f32"
    assert layout.join("f32", "f64") == "i64"
    assert layout.join("i32", "i64") == "i64"


def test_limits() -> None:
    assert (layout.MAX_FLAT_PARAMS, layout.MAX_FLAT_RESULTS, layout.MAX_FLAT_ASYNC_PARAMS) == (16, 1, 4)
    assert layout.MAX_STRING_BYTE_LENGTH == layout.MAX_LIST_BYTE_LENGTH == (1 << 28) - 1

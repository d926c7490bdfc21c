"""The bounded byte reader: LEB128 forms, names, vector counts, end-of-input errors."""

from __future__ import annotations

import pytest

from wasmloop.binary.reader import Reader
from wasmloop.errors import DecodeError


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x80\x01", 128),
        (b"\xe5\x8e\x26", 624485),
        (b"\xff\xff\xff\xff\x0f", 0xFFFFFFFF),
        (b"\x80\x80\x80\x80\x00", 0),  # padded, still 5 bytes
    ],
)
def test_u32_decodes(data: bytes, value: int) -> None:
    r = Reader(data)
    assert r.u32() == value
    assert r.eof()


def test_u32_too_large_is_rejected() -> None:
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x1f").u32()


def test_u32_too_long_is_rejected() -> None:
    with pytest.raises(DecodeError, match="representation too long"):
        Reader(b"\x80\x80\x80\x80\x80\x00").u32()


def test_u32_truncated_names_what_was_expected() -> None:
    with pytest.raises(DecodeError, match="unexpected end-of-file: expected a u32 LEB128") as e:
        Reader(b"\x80\x80").u32()
    assert e.value.offset == 2


def test_truncation_inside_a_section_says_end_of_section() -> None:
    r = Reader(b"\x01\x80\x80\x00")
    sub = r.sub(2)
    sub.u8()
    with pytest.raises(DecodeError, match="unexpected end of section or function"):
        sub.u32()


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b"\x00", 0),
        (b"\x7f", -1),
        (b"\x40", -64),
        (b"\xc0\x00", 64),
        (b"\x80\x7f", -128),
        (b"\xff\xff\xff\xff\x07", 0x7FFFFFFF),
        (b"\x80\x80\x80\x80\x78", -0x80000000),
    ],
)
def test_s32_decodes(data: bytes, value: int) -> None:
    r = Reader(data)
    assert r.s32() == value
    assert r.eof()


def test_s32_unused_bits_must_match_sign() -> None:
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x0f").s32()
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\x80\x80\x80\x80\x70").s32()


def test_s33_and_64_bit_forms() -> None:
    assert Reader(b"\xff\xff\xff\xff\x0f").s33() == 0xFFFFFFFF
    assert Reader(b"\xff\xff\xff\xff\x7f").s33() == -1
    with pytest.raises(DecodeError, match="integer too large"):
        Reader(b"\xff\xff\xff\xff\x1f").s33()
    assert Reader(b"\xff" * 9 + b"\x01").u64() == 2**64 - 1
    assert Reader(b"\xff" * 9 + b"\x7f").s64() == -1
    assert Reader(b"\x80" * 9 + b"\x7f").s64() == -(2**63)
    with pytest.raises(DecodeError):
        Reader(b"\xff" * 9 + b"\x03").u64()
    with pytest.raises(DecodeError):
        Reader(b"\x80" * 9 + b"\x01").s64()


def test_name_decodes_utf8_and_rejects_bad_utf8() -> None:
    assert Reader(b"\x03h\xc3\xa9").name() == "hé"
    with pytest.raises(DecodeError, match="malformed UTF-8 encoding"):
        Reader(b"\x02\xc3\x28").name()
    with pytest.raises(DecodeError, match="unexpected end-of-file"):
        Reader(b"\x05abc").name()


def test_huge_vector_count_fails_before_allocating() -> None:
    r = Reader(b"\xff\xff\xff\xff\x0f" + b"\x00" * 10)
    with pytest.raises(DecodeError, match="4294967295 widget entries"):
        r.count("widget")


def test_bytes_are_zero_copy_views() -> None:
    data = bytes(range(10))
    r = Reader(data, 2)
    view = r.bytes(3)
    assert isinstance(view, memoryview)
    assert view.obj is data
    assert bytes(view) == b"\x02\x03\x04"
    assert r.pos == 5


def test_flag_and_present_bytes() -> None:
    assert Reader(b"\x01").flag("async") is True
    with pytest.raises(DecodeError, match=r"invalid boolean value \(0x2\) for async"):
        Reader(b"\x02").flag("async")
    with pytest.raises(DecodeError, match=r"invalid leading byte \(0x2\) for optional thing"):
        Reader(b"\x02").present("thing")

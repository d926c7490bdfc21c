"""Limits like wasmparser's (limits.rs): a hostile binary is rejected quickly, with a message
naming the limit and where it was hit, never a crash or a Python RecursionError."""

from __future__ import annotations

import pytest
from test_binary_decoder import PREAMBLE, name, section, uleb, vec

from wasmloop.binary import decode_component
from wasmloop.errors import DecodeError, ValidationError
from wasmloop.validate import FEATURES, validate


def component(*sections: bytes) -> bytes:
    return PREAMBLE + b"".join(sections)


def _load(data: bytes) -> None:
    validate(decode_component(data), FEATURES)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if (n == 0 and not b & 0x40) or (n == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _list_chain(depth: int) -> bytes:
    """``(type string) (type (list 0)) (type (list 1)) …``: value types nested ``depth`` deep
    through type indices."""
    types = [b"\x73"] + [b"\x70" + sleb(i) for i in range(depth - 1)]
    return component(section(7, vec(*types)))


def test_value_types_nested_100_deep_are_valid() -> None:
    _load(_list_chain(100))


def test_value_types_nested_101_deep_are_rejected_as_wasmparser_does() -> None:
    with pytest.raises(ValidationError, match="type nesting is too deep") as e:
        _load(_list_chain(101))
    assert e.value.offset not in (None, 0)


def test_value_types_nested_100000_deep_are_rejected_at_the_101st() -> None:
    with pytest.raises(ValidationError, match="type nesting is too deep") as e:
        _load(_list_chain(100_000))
    assert e.value.offset not in (None, 0)
    assert "at offset 0x0)" not in str(e.value)


def test_component_types_nested_100000_deep_fail_in_the_decoder_with_an_offset() -> None:
    t = b"\x73"
    for _ in range(100_000):
        t = b"\x41\x01\x01" + t  # (instance (type <t>))
    with pytest.raises(DecodeError, match="nested more than 100 deep") as e:
        decode_component(component(section(7, vec(t))))
    assert e.value.offset not in (None, 0)


@pytest.mark.parametrize(("sid", "space", "limit"), [
    (7, "types", 1_000_000),
    (5, "instances", 1_000),
    (2, "instances", 1_000),
    (8, "functions", 1_000_000),
    (10, "imports", 1_000_000),
    (11, "exports", 1_000_000),
])
def test_huge_counts_are_rejected_before_reading_items(sid: int, space: str, limit: int) -> None:
    # a count just past the limit, with the bytes to back it (so only the limit can refuse it)
    body = uleb(limit + 1) + b"\x00" * (4 * (limit + 1))
    with pytest.raises(DecodeError, match=f"{space} count exceeds limit of {limit}"):
        decode_component(component(section(sid, body)))


def test_limits_add_up_across_sections() -> None:
    half = uleb(600) + b"\x01\x00" * 600  # 600 instances of no inline exports
    with pytest.raises(DecodeError, match="instances count exceeds limit of 1000"):
        decode_component(component(section(2, half), section(5, half)))


def test_too_many_nested_components_are_rejected() -> None:
    inner = section(4, PREAMBLE)
    with pytest.raises(DecodeError, match="components count exceeds limit of 1000"):
        decode_component(component(*[inner] * 1001))


@pytest.mark.parametrize(("typedef", "what"), [
    (b"\x72" + uleb(10_001), "record field size is out of bounds"),
    (b"\x71" + uleb(10_001), "variant cases size is out of bounds"),
    (b"\x6f" + uleb(10_001), "tuple types size is out of bounds"),
    (b"\x6e" + uleb(1_001), "flag names size is out of bounds"),
    (b"\x6d" + uleb(10_001), "enum cases size is out of bounds"),
])
def test_type_member_counts_have_wasmparsers_limits(typedef: bytes, what: str) -> None:
    data = component(section(7, uleb(1) + typedef + b"\x00" * 40_000))
    with pytest.raises(DecodeError, match=what):
        decode_component(data)


def test_more_than_ten_canonical_options_are_rejected() -> None:
    lift = b"\x00\x00" + uleb(0) + uleb(11) + b"\x00" * 11 + uleb(0)
    with pytest.raises(DecodeError, match="canonical options size is out of bounds"):
        decode_component(component(section(8, vec(lift))))


def test_a_count_beyond_the_bytes_left_is_rejected() -> None:
    with pytest.raises(DecodeError, match="4294967295 type entries"):
        decode_component(component(section(7, b"\xff\xff\xff\xff\x0f")))


@pytest.mark.parametrize(("leb", "message"), [
    (b"\x80\x80\x80\x80\x80\x00", "integer representation too long"),
    (b"\xff\xff\xff\xff\x1f", "integer too large"),
    (b"\x80\x80", "unexpected end"),
])
def test_bad_leb128_is_rejected_with_its_offset(leb: bytes, message: str) -> None:
    data = component(section(7, leb))
    with pytest.raises(DecodeError, match=message) as e:
        decode_component(data)
    assert e.value.offset is not None and e.value.offset >= len(PREAMBLE)


def test_a_section_size_past_the_end_is_rejected() -> None:
    with pytest.raises(DecodeError):
        decode_component(PREAMBLE + b"\x07\xff\xff\xff\xff\x0f" + name("x"))

"""Loading and storing strings: utf8, utf16 and latin1+utf16, with every transcoding path.

Mirrors the spec's ``load_string_from_range`` and ``store_string_into_range`` family.

A string on its way between two components keeps the encoding and code-unit count it had in the
source (the spec's ``(src, src_encoding, src_tagged_code_units)`` triple). wasmloop carries that
as an :class:`EncodedStr`, a ``str`` subclass made by lifters compiled with
``keep_string_encoding=True``; storing one follows the spec's transcoding path for that source
encoding exactly, including every ``realloc`` call (initial allocation, grow to the worst case,
shrink to fit).

A plain host ``str`` has no source encoding. It is stored as if it were already in the
destination's encoding (utf8 → utf8, utf16 → utf16, latin1+utf16 → latin1 when every character
fits, else tagged utf16): one ``realloc(0, 0, align, exact_size)`` and one copy, which is what
the spec does for a source in the same encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmloop.errors import Trap

from .layout import MAX_STRING_BYTE_LENGTH

__all__ = [
    "MAX_STRING_BYTE_LENGTH",
    "UTF16_TAG",
    "ENCODINGS",
    "EncodedStr",
    "realloc_checked",
    "string_loader",
    "string_storer",
    "load_string_from_range",
    "store_string_into_range",
]

#: Bit of the code-unit count that marks a latin1+utf16 string as utf16 (32-bit memories).
UTF16_TAG = 1 << 31
ENCODINGS = ("utf8", "utf16", "latin1+utf16")
_M32 = 0xFFFF_FFFF


class EncodedStr(str):
    """A ``str`` that remembers how it was encoded in the memory it was lifted from.

    ``encoding`` is the source canon option (``"utf8"``, ``"utf16"`` or ``"latin1+utf16"``) and
    ``tagged_code_units`` the length the guest gave (with ``UTF16_TAG`` for latin1+utf16 strings
    stored as utf16). Storing it into another memory transcodes exactly as the spec does.
    """

    encoding: str
    tagged_code_units: int

    def __new__(cls, text: str, encoding: str, tagged_code_units: int) -> EncodedStr:
        s = str.__new__(cls, text)
        s.encoding = encoding
        s.tagged_code_units = tagged_code_units
        return s


def realloc_checked(cx: Any, old: int, old_size: int, align: int, new_size: int,
                    content: str | None = "string") -> int:
    """Call the guest's realloc and trap if the result is misaligned or out of bounds.

    The messages carry both of Wasmtime 49's texts: its fused adapter's ("unaligned pointer",
    "string/list content out-of-bounds") and its host's ("realloc return: …")."""
    ptr = cx.realloc(old, old_size, align, new_size) & _M32
    if ptr & (align - 1):
        raise Trap("unaligned pointer: realloc return: result not aligned")
    if ptr + new_size > len(cx.view()):
        raise _realloc_oob(content)
    return ptr


def _realloc_oob(content: str | None) -> Trap:
    if content is None:
        return Trap("realloc return: beyond end of memory")
    return Trap(f"{content} content out-of-bounds: realloc return: beyond end of memory")


# --- loading -------------------------------------------------------------------------------


def _decode_error(encoding: str, err: UnicodeDecodeError | None = None) -> Trap:
    """Wasmtime's words for a bad string: its adapters say "invalid utf8 encoding", its host
    boundary gives the decoder's detail; ours carries both."""
    short = encoding.replace("-", "")
    if err is None:
        return Trap(f"invalid {short} encoding")
    if short == "utf8":
        if err.reason == "unexpected end of data":
            detail = f"incomplete utf-8 byte sequence from index {err.start}"
        else:
            detail = f"invalid utf-8 sequence of {err.end - err.start} bytes from index {err.start}"
    else:
        unit = int.from_bytes(err.object[err.start : err.start + 2], "little")
        detail = f"unpaired surrogate found: {unit:x}"
    return Trap(f"invalid {short} encoding: {detail}")


def load_string_from_range(mem: memoryview, ptr: int, tagged_code_units: int, encoding: str) -> str:
    """Decode the string at ``ptr`` whose length field is ``tagged_code_units``."""
    return string_loader(encoding)(mem, ptr, tagged_code_units)


def string_loader(encoding: str, keep_encoding: bool = False) -> Callable[[memoryview, int, int], str]:
    """A function ``(mem, ptr, tagged_code_units) -> str`` for strings in ``encoding``.

    With ``keep_encoding`` it returns :class:`EncodedStr` values.
    """
    max_len = MAX_STRING_BYTE_LENGTH
    if encoding == "utf8":

        def load_utf8(mem: memoryview, ptr: int, n: int) -> str:
            ptr &= _M32
            n &= _M32
            if n > max_len:
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory "
                            "(byte length exceeds the maximum)")
            if ptr + n > len(mem):
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory")
            try:
                s = str(mem[ptr : ptr + n], "utf-8")
            except UnicodeDecodeError as e:
                raise _decode_error("utf-8", e) from None
            return EncodedStr(s, "utf8", n) if keep_encoding else s

        return load_utf8
    if encoding == "utf16":

        def load_utf16(mem: memoryview, ptr: int, n: int) -> str:
            ptr &= _M32
            n &= _M32
            nbytes = 2 * n
            if nbytes > max_len:
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory "
                            "(byte length exceeds the maximum)")
            if ptr & 1:
                raise Trap("unaligned pointer: string pointer not aligned to 2")
            if ptr + nbytes > len(mem):
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory")
            try:
                s = str(mem[ptr : ptr + nbytes], "utf-16-le")
            except UnicodeDecodeError as e:
                raise _decode_error("utf-16", e) from None
            return EncodedStr(s, "utf16", n) if keep_encoding else s

        return load_utf16
    if encoding == "latin1+utf16":

        def load_latin1_utf16(mem: memoryview, ptr: int, n: int) -> str:
            ptr &= _M32
            n &= _M32
            if n & UTF16_TAG:
                nbytes = 2 * (n ^ UTF16_TAG)
                codec = "utf-16-le"
            else:
                nbytes = n
                codec = "latin-1"
            if nbytes > max_len:
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory "
                            "(byte length exceeds the maximum)")
            if ptr & 1:
                raise Trap("unaligned pointer: string pointer not aligned to 2")
            if ptr + nbytes > len(mem):
                raise Trap("string content out-of-bounds: string pointer/length out of bounds of memory")
            try:
                s = str(mem[ptr : ptr + nbytes], codec)
            except UnicodeDecodeError as e:
                raise _decode_error("utf-16", e) from None
            return EncodedStr(s, "latin1+utf16", n) if keep_encoding else s

        return load_latin1_utf16
    raise ValueError(f"unknown string encoding {encoding!r}")


# --- storing -------------------------------------------------------------------------------


def _host_bytes_check(nbytes: int) -> None:
    if nbytes > MAX_STRING_BYTE_LENGTH:
        raise ValueError(
            f"string of {nbytes} bytes exceeds MAX_STRING_BYTE_LENGTH ({MAX_STRING_BYTE_LENGTH})"
        )


def _not_str(v: object) -> TypeError:
    return TypeError(f"expected str for a string value, got {type(v).__name__}")


def string_storer(encoding: str) -> Callable[[Any, str], tuple[int, int]]:
    """A function ``(cx, s) -> (ptr, tagged_code_units)`` that allocates and writes ``s``."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown string encoding {encoding!r}")

    if encoding == "utf8":

        def store_utf8(cx: Any, s: str) -> tuple[int, int]:
            if type(s) is not str:
                if isinstance(s, EncodedStr):
                    return store_string_into_range(cx, s, s.encoding, s.tagged_code_units, "utf8")
                if not isinstance(s, str):
                    raise _not_str(s)
            b = s.encode("utf-8")
            n = len(b)
            if n > MAX_STRING_BYTE_LENGTH:
                _host_bytes_check(n)
            ptr = cx.realloc(0, 0, 1, n) & _M32
            mem = cx.view()
            if ptr + n > len(mem):
                raise _realloc_oob("string")
            mem[ptr : ptr + n] = b
            return ptr, n

        return store_utf8

    if encoding == "utf16":

        def store_utf16(cx: Any, s: str) -> tuple[int, int]:
            if type(s) is not str:
                if isinstance(s, EncodedStr):
                    return store_string_into_range(cx, s, s.encoding, s.tagged_code_units, "utf16")
                if not isinstance(s, str):
                    raise _not_str(s)
            b = s.encode("utf-16-le")
            n = len(b)
            _host_bytes_check(n)
            ptr = realloc_checked(cx, 0, 0, 2, n)
            cx.view()[ptr : ptr + n] = b
            return ptr, n >> 1

        return store_utf16

    def store_latin1_utf16(cx: Any, s: str) -> tuple[int, int]:
        if type(s) is not str:
            if isinstance(s, EncodedStr):
                return store_string_into_range(
                    cx, s, s.encoding, s.tagged_code_units, "latin1+utf16"
                )
            if not isinstance(s, str):
                raise _not_str(s)
        try:
            b = s.encode("latin-1")
        except UnicodeEncodeError:
            b = s.encode("utf-16-le")
            n = len(b)
            _host_bytes_check(n)
            ptr = realloc_checked(cx, 0, 0, 2, n)
            cx.view()[ptr : ptr + n] = b
            return ptr, (n >> 1) | UTF16_TAG
        n = len(b)
        _host_bytes_check(n)
        ptr = realloc_checked(cx, 0, 0, 2, n)
        cx.view()[ptr : ptr + n] = b
        return ptr, n

    return store_latin1_utf16


def store_string_into_range(
    cx: Any, src: str, src_encoding: str, src_tagged_code_units: int, dst_encoding: str
) -> tuple[int, int]:
    """Store ``src`` (lifted from a memory using ``src_encoding``) into ``cx``'s memory in
    ``dst_encoding``, calling realloc exactly as the spec does. Returns (ptr, tagged units)."""
    if src_encoding == "latin1+utf16":
        if src_tagged_code_units & UTF16_TAG:
            simple = "utf16"
            units = src_tagged_code_units ^ UTF16_TAG
        else:
            simple = "latin1"
            units = src_tagged_code_units
    else:
        simple = src_encoding
        units = src_tagged_code_units
    src = str(src)

    if dst_encoding == "utf8":
        if simple == "utf8":
            return _store_copy(cx, src, units, 1, 1, "utf-8")
        if simple == "utf16":
            return _store_to_utf8(cx, src, units, 3 * units)
        return _store_to_utf8(cx, src, units, 2 * units)
    if dst_encoding == "utf16":
        if simple == "utf8":
            return _store_utf8_to_utf16(cx, src, units)
        return _store_copy(cx, src, units, 2, 2, "utf-16-le")
    if dst_encoding == "latin1+utf16":
        if src_encoding in ("utf8", "utf16"):
            return _store_to_latin1_or_utf16(cx, src, units)
        if simple == "latin1":
            return _store_copy(cx, src, units, 1, 2, "latin-1")
        return _store_probably_utf16_to_latin1_or_utf16(cx, src, units)
    raise ValueError(f"unknown string encoding {dst_encoding!r}")


def _store_copy(
    cx: Any, src: str, units: int, unit_size: int, align: int, codec: str
) -> tuple[int, int]:
    nbytes = unit_size * units
    ptr = realloc_checked(cx, 0, 0, align, nbytes)
    encoded = src.encode(codec)
    if len(encoded) != nbytes:
        raise ValueError("string length does not match its recorded code-unit count")
    cx.view()[ptr : ptr + nbytes] = encoded
    return ptr, units


def _store_to_utf8(cx: Any, src: str, units: int, worst: int) -> tuple[int, int]:
    ptr = realloc_checked(cx, 0, 0, 1, units)
    if src.isascii():
        cx.view()[ptr : ptr + units] = src.encode("ascii")
        return ptr, units
    i = next(k for k, c in enumerate(src) if ord(c) >= 0x80)
    cx.view()[ptr : ptr + i] = src[:i].encode("ascii")
    ptr = realloc_checked(cx, ptr, units, 1, worst)
    encoded = src.encode("utf-8")
    cx.view()[ptr + i : ptr + len(encoded)] = encoded[i:]
    if worst > len(encoded):
        ptr = realloc_checked(cx, ptr, worst, 1, len(encoded))
    return ptr, len(encoded)


def _store_utf8_to_utf16(cx: Any, src: str, units: int) -> tuple[int, int]:
    worst = 2 * units
    ptr = realloc_checked(cx, 0, 0, 2, worst)
    encoded = src.encode("utf-16-le")
    cx.view()[ptr : ptr + len(encoded)] = encoded
    if len(encoded) < worst:
        ptr = realloc_checked(cx, ptr, worst, 2, len(encoded))
    return ptr, len(encoded) >> 1


def _store_to_latin1_or_utf16(cx: Any, src: str, units: int) -> tuple[int, int]:
    ptr = realloc_checked(cx, 0, 0, 2, units)
    try:
        latin1 = src.encode("latin-1")
    except UnicodeEncodeError:
        i = next(k for k, c in enumerate(src) if ord(c) >= 0x100)
        cx.view()[ptr : ptr + i] = src[:i].encode("latin-1")
        worst = 2 * units
        ptr = realloc_checked(cx, ptr, units, 2, worst)
        encoded = src.encode("utf-16-le")
        cx.view()[ptr : ptr + len(encoded)] = encoded
        if worst > len(encoded):
            ptr = realloc_checked(cx, ptr, worst, 2, len(encoded))
        return ptr, (len(encoded) >> 1) | UTF16_TAG
    n = len(latin1)
    cx.view()[ptr : ptr + n] = latin1
    if n < units:
        ptr = realloc_checked(cx, ptr, units, 2, n)
    return ptr, n


def _store_probably_utf16_to_latin1_or_utf16(cx: Any, src: str, units: int) -> tuple[int, int]:
    nbytes = 2 * units
    ptr = realloc_checked(cx, 0, 0, 2, nbytes)
    encoded = src.encode("utf-16-le")
    cx.view()[ptr : ptr + len(encoded)] = encoded
    try:
        latin1 = src.encode("latin-1")
    except UnicodeEncodeError:
        return ptr, (len(encoded) >> 1) | UTF16_TAG
    n = len(latin1)
    cx.view()[ptr : ptr + n] = latin1
    ptr = realloc_checked(cx, ptr, nbytes, 1, n)
    return ptr, n

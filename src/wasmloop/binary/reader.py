"""A bounded byte reader for the WebAssembly binary formats (core and component).

Positions are absolute offsets into the outermost buffer, so every error and every AST node
can name where it happened. A reader covers ``[pos, end)``; reading past ``end`` raises
``DecodeError`` ("unexpected end-of-file" at the end of the whole input, "unexpected end of
section or function" inside a section), never ``IndexError``. Every count read from the input
is checked against the bytes left before anything is allocated for it.
"""

from __future__ import annotations

from wasmloop.errors import DecodeError

__all__ = ["Reader", "MAX_NESTING"]

#: Maximum nesting of components, component/instance/module types.
MAX_NESTING = 100


class Reader:
    """Reads LEB128 integers, bytes, names and vector counts from ``data[pos:end]``."""

    __slots__ = ("buf", "view", "pos", "end", "total")

    def __init__(
        self, data: bytes | bytearray | memoryview, pos: int = 0, end: int | None = None
    ) -> None:
        if isinstance(data, memoryview):
            if not data.c_contiguous:
                data = memoryview(data.tobytes())
            view = data.cast("B") if data.format != "B" or data.ndim != 1 else data
            buf: bytes | memoryview = view
        else:
            view = memoryview(data)
            buf = data
        self.buf = buf
        self.view = view
        self.total = len(view)
        self.pos = pos
        self.end = self.total if end is None else end

    # -- structure --------------------------------------------------------------------------

    def sub(self, size: int, what: str = "section") -> Reader:
        """A reader over the next ``size`` bytes; this reader skips past them."""
        start = self.pos
        if size > self.end - start:
            raise self._eof_error(
                f"{what} of {size} bytes, but only {self.end - start} bytes remain"
            )
        r = Reader.__new__(Reader)
        r.buf = self.buf
        r.view = self.view
        r.total = self.total
        r.pos = start
        r.end = start + size
        self.pos = start + size
        return r

    def eof(self) -> bool:
        return self.pos >= self.end

    def remaining(self) -> int:
        return self.end - self.pos

    def _eof_error(self, what: str, pos: int | None = None) -> DecodeError:
        pos = self.pos if pos is None else pos
        if self.end >= self.total:
            return DecodeError(f"unexpected end-of-file: expected {what}", pos)
        return DecodeError(
            f"unexpected end-of-file: unexpected end of section or function, expected {what}", pos
        )

    # -- bytes ------------------------------------------------------------------------------

    def u8(self, what: str = "a byte") -> int:
        pos = self.pos
        if pos >= self.end:
            raise self._eof_error(what)
        self.pos = pos + 1
        return self.buf[pos]

    def peek(self, what: str = "a byte") -> int:
        if self.pos >= self.end:
            raise self._eof_error(what)
        return self.buf[self.pos]

    def bytes(self, n: int, what: str = "bytes") -> memoryview:
        """The next ``n`` bytes as a zero-copy view."""
        pos = self.pos
        if n > self.end - pos:
            raise self._eof_error(f"{n} {what}")
        self.pos = pos + n
        return self.view[pos : pos + n]

    def skip(self, n: int, what: str = "bytes") -> None:
        if n > self.end - self.pos:
            raise self._eof_error(f"{n} {what}")
        self.pos += n

    # -- LEB128 -----------------------------------------------------------------------------

    def _uleb(self, bits: int, name: str) -> int:
        buf = self.buf
        pos = self.pos
        end = self.end
        if pos < end:
            b = buf[pos]
            if b < 0x80:
                self.pos = pos + 1
                return b
        start = pos
        result = 0
        shift = 0
        maxbytes = (bits + 6) // 7
        while True:
            if pos >= end:
                self.pos = pos
                raise self._eof_error(f"a {name} LEB128")
            b = buf[pos]
            pos += 1
            if pos - start == maxbytes:
                # the last byte may only carry the bits left over
                used = bits - shift
                if b & 0x80:
                    raise DecodeError(
                        f"invalid var_{name}: integer representation too long", pos - 1
                    )
                if b >> used:
                    raise DecodeError(f"invalid var_{name}: integer too large", pos - 1)
                result |= b << shift
                break
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        self.pos = pos
        return result

    def _sleb(self, bits: int, name: str) -> int:
        buf = self.buf
        pos = self.pos
        end = self.end
        start = pos
        result = 0
        shift = 0
        maxbytes = (bits + 6) // 7
        while True:
            if pos >= end:
                self.pos = pos
                raise self._eof_error(f"a {name} LEB128")
            b = buf[pos]
            pos += 1
            if pos - start == maxbytes:
                if b & 0x80:
                    raise DecodeError(
                        f"invalid var_{name}: integer representation too long", pos - 1
                    )
                # the unused high bits of the last byte must all equal the sign bit
                used = bits - shift  # significant bits in this byte, sign included
                rest = b >> (used - 1) if used >= 1 else b
                if rest not in (0, (0x7F >> (used - 1)) if used >= 1 else 0x7F):
                    raise DecodeError(f"invalid var_{name}: integer too large", pos - 1)
                result |= (b & 0x7F) << shift
                shift += 7
                break
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        self.pos = pos
        if result >> (shift - 1) & 1:
            result -= 1 << shift
        return result

    def u32(self) -> int:
        return self._uleb(32, "u32")

    def u64(self) -> int:
        return self._uleb(64, "u64")

    def s32(self) -> int:
        return self._sleb(32, "s32")

    def s33(self) -> int:
        return self._sleb(33, "s33")

    def s64(self) -> int:
        return self._sleb(64, "s64")

    # -- names and vectors ------------------------------------------------------------------

    def name(self, what: str = "name") -> str:
        """A ``core:name``: u32 byte length then UTF-8."""
        start = self.pos
        n = self.u32()
        if n > self.end - self.pos:
            raise self._eof_error(f"{what} of {n} bytes")
        pos = self.pos
        self.pos = pos + n
        try:
            return str(self.view[pos : pos + n], "utf-8")
        except UnicodeDecodeError:
            raise DecodeError(f"malformed UTF-8 encoding in {what}", start) from None

    def count(self, what: str, min_size: int = 1, limit: int | None = None) -> int:
        """A vector length, checked against the bytes left (each item takes ``min_size``)
        and against ``limit`` (wasmparser's limits, ``limits.rs``)."""
        start = self.pos
        n = self.u32()
        if limit is not None and n > limit:
            raise DecodeError(f"{what} size is out of bounds: {n} (the limit is {limit})", start)
        if n * min_size > self.end - self.pos:
            raise self._eof_error(
                f"{n} {what} entries, but only {self.end - self.pos} bytes remain", start
            )
        return n

    def flag(self, what: str) -> bool:
        """A boolean ``0x00``/``0x01`` byte."""
        pos = self.pos
        b = self.u8(what)
        if b > 1:
            raise DecodeError(f"invalid boolean value (0x{b:x}) for {what}", pos)
        return b == 1

    def present(self, what: str) -> bool:
        """The ``0x00``/``0x01`` byte in front of an optional ``T?``."""
        pos = self.pos
        b = self.u8(what)
        if b > 1:
            raise DecodeError(f"invalid leading byte (0x{b:x}) for optional {what}", pos)
        return b == 1

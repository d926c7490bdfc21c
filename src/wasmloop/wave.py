"""WAVE, the WebAssembly Value Encoding: the value syntax of ``wasmtime run --invoke 'f(1, "a")'``.

Parsing is *typed*: the component value type drives the interpretation of the text, and the
result is the Python value documented in :mod:`wasmloop.values`.

Syntax accepted (the WAVE spec as implemented by Wasmtime 49)::

    bool      true  false
    integers  base 10 only: 0  42  -7       (no '+', no leading zeros, no '7.0' / '7e0';
                                              unsigned types reject any '-', even '-0')
    floats    JSON numbers: 1  -0  3.25  6.02e+23,  and the keywords nan  inf  -inf
    char      'x'  '\\''  '\\u{1F600}'      escapes: \\' \\" \\\\ \\t \\n \\r \\u{hex}
    string    "a\\tb"  and multiline strings:  \"\"\"<newline> ... <newline><indent>\"\"\"
    list      [1, 2, 3]              (trailing commas allowed everywhere)
    tuple     (1, "a")
    record    {a: 1, b-c: 2}  fields in any order; option fields may be omitted (= none);
              {:} when every field is omitted; unknown fields are ignored (as Wasmtime does)
    variant   red   circle(5)        (cases spelled like a keyword need a '%': %none)
    enum      red   %ok
    option    some(1)  none  and the "flat" form 1 when the payload is not an option/result
    result    ok(1)  err("e")  ok  err  and the flat ok form 1 under the same condition
    flags     {read, write}  {}
    comments  // to the end of the line

Printing follows what ``wasmtime run --invoke`` prints for a result (verified byte for byte
against the Wasmtime 49 CLI in ``tests/test_wave.py``):

* floats print like Rust's ``Display``: the shortest digits that round-trip at the type's
  precision, never with an exponent (``1e21`` prints as ``1000000000000000000000``,
  ``-0.0`` as ``-0``, ``1.0`` as ``1``), plus ``nan``, ``inf`` and ``-inf``;
* strings and chars escape ``\\\\``, ``\\"``, ``\\'``, ``\\t``, ``\\n``, ``\\r``; every other
  character that Rust's ``char::escape_debug`` would escape (controls, unassigned, private use,
  format characters, grapheme extenders, non-ASCII spaces...) prints as ``\\u{hex}``. The set
  of those characters is a table measured from the reference (Rust's Unicode version, not
  Python's ``unicodedata``);
* records print ``{a: 1, b: 2}`` and leave out option fields whose value is ``none``
  (``{:}`` when nothing is left); options, results and variants print their explicit form
  (``some(1)``, ``ok``, ``circle(5)``); enum/variant cases that are WAVE keywords get a ``%``;
  flags print in type order;
* a function without a result prints ``()`` (see :func:`format_results`).

Errors in the text raise :class:`WaveError` (a ``ValueError``) naming the offset, the line and
column, and what was expected.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import types as T
from .values import Err, Ok, Record, Some, Variant

if TYPE_CHECKING:
    from fractions import Fraction

__all__ = [
    "WaveError",
    "KEYWORDS",
    "parse_value",
    "parse_call",
    "parse_args",
    "parse_invoke",
    "split_func_name",
    "format_value",
    "format_results",
    "format_label",
]

#: Tokens reserved by WAVE; enum and variant cases spelled like one need a ``%`` prefix.
KEYWORDS = frozenset({"true", "false", "inf", "nan", "some", "none", "ok", "err"})


class WaveError(ValueError):
    """A WAVE text could not be parsed (or a value could not be printed) for the given type.

    ``pos`` is the offset into the text (``None`` when not about a text position).
    """

    def __init__(self, message: str, pos: int | None = None, text: str | None = None) -> None:
        self.message = message
        self.pos = pos
        self.text = text
        if pos is not None and text is not None:
            line = text.count("\n", 0, pos) + 1
            col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            full = f"{message} at offset {pos} (line {line}, column {col})"
        elif pos is not None:
            full = f"{message} at offset {pos}"
        else:
            full = message
        super().__init__(full)


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

_WORD = r"[A-Za-z][A-Za-z0-9]*"
_LABEL_RE = re.compile(rf"%?{_WORD}(?:-[A-Za-z0-9]+)*")
_NUMBER_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
_LABEL_CHAR = re.compile(r"[A-Za-z0-9_]")
_PUNCT = "()[]{},:"

# token kinds
_EOF = "end of input"
_NUM = "number"
_LABEL = "label"
_CHAR = "char"
_STR = "string"


class _Tok:
    __slots__ = ("kind", "value", "start", "end", "percent")

    def __init__(self, kind: str, value: str, start: int, end: int, percent: bool = False):
        self.kind = kind
        self.value = value
        self.start = start
        self.end = end
        self.percent = percent

    def describe(self) -> str:
        if self.kind == _EOF:
            return "end of input"
        if self.kind in _PUNCT:
            return f"'{self.kind}'"
        return f"{self.kind} {self.value!r}"


_SIMPLE_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


class _Lexer:
    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.pos = pos

    def error(self, message: str, pos: int) -> WaveError:
        return WaveError(message, pos, self.text)

    def skip_ws(self) -> None:
        text = self.text
        n = len(text)
        i = self.pos
        while i < n:
            c = text[i]
            if c in " \t\n\r":
                i += 1
            elif text.startswith("//", i):
                j = text.find("\n", i)
                i = n if j < 0 else j + 1
            else:
                break
        self.pos = i

    def next(self) -> _Tok:
        self.skip_ws()
        text = self.text
        i = self.pos
        if i >= len(text):
            return _Tok(_EOF, "", i, i)
        c = text[i]
        if c in _PUNCT:
            self.pos = i + 1
            return _Tok(c, c, i, i + 1)
        if c == "-" or c.isdigit():
            if text.startswith("-inf", i) and not self._label_char_at(i + 4):
                self.pos = i + 4
                return _Tok(_NUM, "-inf", i, i + 4)
            m = _NUMBER_RE.match(text, i)
            if not m or self._label_char_at(m.end()) or (
                m.end() < len(text) and text[m.end()] in ".-"
            ):
                raise self.error("invalid number", i)
            self.pos = m.end()
            return _Tok(_NUM, m.group(), i, m.end())
        if c == "%" or c.isalpha():
            m = _LABEL_RE.match(text, i)
            if not m or self._label_char_at(m.end()) or (
                m.end() < len(text) and text[m.end()] == "-"
            ):
                raise self.error("invalid label", i)
            self.pos = m.end()
            word = m.group()
            if word.startswith("%"):
                return _Tok(_LABEL, word[1:], i, m.end(), percent=True)
            return _Tok(_LABEL, word, i, m.end())
        if c == "'":
            return self._char()
        if c == '"':
            if text.startswith('"""', i):
                return self._multiline()
            return self._string()
        raise self.error(f"unexpected character {c!r}", i)

    def _label_char_at(self, i: int) -> bool:
        return i < len(self.text) and bool(_LABEL_CHAR.match(self.text, i))

    def _escape(self, i: int) -> tuple[str, int]:
        """Decode the escape starting at the backslash at ``i``; return (char, next index)."""
        text = self.text
        if i + 1 >= len(text):
            raise self.error("unterminated escape", i)
        e = text[i + 1]
        if e in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[e], i + 2
        if e == "u":
            m = re.compile(r"\{([0-9a-fA-F]{1,8})\}").match(text, i + 2)
            if not m:
                raise self.error("invalid \\u{...} escape: expected 1 to 8 hex digits in braces", i)
            cp = int(m.group(1), 16)
            if cp > 0x10FFFF or 0xD800 <= cp < 0xE000:
                raise self.error(f"invalid character escape: U+{cp:X} is not a Unicode scalar value", i)
            return chr(cp), m.end()
        raise self.error(f"invalid escape '\\{e}'", i)

    def _char(self) -> _Tok:
        text = self.text
        start = self.pos
        i = start + 1
        if i >= len(text):
            raise self.error("unterminated char literal", start)
        c = text[i]
        if c == "\\":
            ch, i = self._escape(i)
        elif c in "'\n\r":
            raise self.error("expected a character or an escape in the char literal", i)
        else:
            ch = c
            i += 1
        if i >= len(text) or text[i] != "'":
            raise self.error("expected ' to close the char literal (exactly one character)", i)
        self.pos = i + 1
        return _Tok(_CHAR, ch, start, i + 1)

    def _string(self) -> _Tok:
        text = self.text
        start = self.pos
        i = start + 1
        out: list[str] = []
        n = len(text)
        while True:
            if i >= n:
                raise self.error('unterminated string: expected "', start)
            c = text[i]
            if c == '"':
                break
            if c == "\\":
                ch, i = self._escape(i)
                out.append(ch)
            elif c == "\n":
                raise self.error("newline in string: write \\n (or use a multiline string)", i)
            else:
                out.append(c)
                i += 1
        self.pos = i + 1
        return _Tok(_STR, "".join(out), start, i + 1)

    def _decode(self, a: int, b: int) -> str:
        """Decode escapes in ``text[a:b]`` (one line of a multiline string)."""
        text = self.text
        out: list[str] = []
        i = a
        while i < b:
            c = text[i]
            if c == "\\":
                ch, i = self._escape(i)
                if i > b:
                    raise self.error("unterminated escape", b)
                out.append(ch)
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def _multiline(self) -> _Tok:
        text = self.text
        start = self.pos
        i = start + 3
        if text.startswith("\r\n", i):
            body = i + 2
        elif text.startswith("\n", i):
            body = i + 1
        else:
            raise self.error('a multiline string must start with """ and a line break', start)
        end = text.find('"""', body)
        if end < 0:
            raise self.error('unterminated multiline string: expected """', start)
        nl = text.rfind("\n", 0, end)
        if text[nl + 1:end].strip(" "):
            raise self.error(
                'unexpected """ in a multiline string (break it up as ""\\"), or the closing '
                '""" is not on a line of its own', end,
            )
        indent = end - nl - 1
        self.pos = end + 3
        if nl < body:
            return _Tok(_STR, "", start, end + 3)
        stop = nl - 1 if nl > body and text[nl - 1] == "\r" else nl
        lines: list[str] = []
        a = body
        while True:
            b = text.find("\n", a, stop)
            line_end = stop if b < 0 else b
            seg_end = line_end - 1 if b >= 0 and line_end > a and text[line_end - 1] == "\r" \
                else line_end
            if text.startswith(" " * indent, a) and a + indent <= seg_end:
                lines.append(self._decode(a + indent, seg_end))
            elif a == seg_end or not text[a:seg_end].strip(" "):
                lines.append("")  # a blank line
            else:
                raise self.error(
                    f"multiline string lines must be indented by at least {indent} spaces "
                    "(the indentation of the closing \"\"\")", a,
                )
            if b < 0:
                break
            a = b + 1
        return _Tok(_STR, "\n".join(lines), start, end + 3)


# --------------------------------------------------------------------------------------------
# Untyped syntax tree
# --------------------------------------------------------------------------------------------


class _Node:
    __slots__ = ("kind", "value", "items", "start", "end", "percent")

    def __init__(self, kind: str, start: int, end: int, value: Any = None, items: Any = None,
                 percent: bool = False) -> None:
        self.kind = kind  # num label call char str tuple list record flags
        self.start = start
        self.end = end
        self.value = value
        self.items = items
        self.percent = percent


class _Parser:
    def __init__(self, text: str, pos: int = 0) -> None:
        self.text = text
        self.lex = _Lexer(text, pos)
        self.tok = self.lex.next()

    def error(self, message: str, pos: int | None = None) -> WaveError:
        return WaveError(message, self.tok.start if pos is None else pos, self.text)

    def advance(self) -> _Tok:
        tok = self.tok
        self.tok = self.lex.next()
        return tok

    def expect(self, kind: str, what: str) -> _Tok:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}, found {self.tok.describe()}")
        return self.advance()

    def value(self) -> _Node:
        tok = self.tok
        k = tok.kind
        if k == _NUM:
            self.advance()
            return _Node("num", tok.start, tok.end, tok.value)
        if k == _CHAR:
            self.advance()
            return _Node("char", tok.start, tok.end, tok.value)
        if k == _STR:
            self.advance()
            return _Node("str", tok.start, tok.end, tok.value)
        if k == _LABEL:
            self.advance()
            if self.tok.kind == "(":
                self.advance()
                payload = self.value()
                close = self.expect(")", "')' after the payload")
                return _Node("call", tok.start, close.end, tok.value, payload, tok.percent)
            return _Node("label", tok.start, tok.end, tok.value, None, tok.percent)
        if k == "(":
            self.advance()
            items, end = self.seq(")")
            return _Node("tuple", tok.start, end, items=items)
        if k == "[":
            self.advance()
            items, end = self.seq("]")
            return _Node("list", tok.start, end, items=items)
        if k == "{":
            return self.braces()
        raise self.error(f"expected a value, found {tok.describe()}")

    def seq(self, close: str) -> tuple[list[_Node], int]:
        items: list[_Node] = []
        while True:
            if self.tok.kind == close:
                return items, self.advance().end
            items.append(self.value())
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != close:
                raise self.error(f"expected ',' or '{close}', found {self.tok.describe()}")

    def braces(self) -> _Node:
        open_tok = self.advance()
        if self.tok.kind == "}":
            return _Node("flags", open_tok.start, self.advance().end, items=[])
        if self.tok.kind == ":":
            self.advance()
            close = self.expect("}", "'}' after '{:' (empty record)")
            return _Node("record", open_tok.start, close.end, items=[])
        first = self.expect(_LABEL, "a record field or flag label")
        if self.tok.kind == ":":
            fields: list[tuple[str, int, _Node]] = []
            label = first
            while True:
                self.expect(":", "':'")
                fields.append((label.value, label.start, self.value()))
                if self.tok.kind == ",":
                    self.advance()
                elif self.tok.kind != "}":
                    raise self.error(f"expected ',' or '}}', found {self.tok.describe()}")
                if self.tok.kind == "}":
                    return _Node("record", open_tok.start, self.advance().end, items=fields)
                label = self.expect(_LABEL, "a record field label")
        flags = [(first.value, first.start)]
        while True:
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != "}":
                raise self.error(f"expected ',' or '}}', found {self.tok.describe()}")
            if self.tok.kind == "}":
                return _Node("flags", open_tok.start, self.advance().end, items=flags)
            lab = self.expect(_LABEL, "a flag label")
            flags.append((lab.value, lab.start))

    def end(self) -> None:
        if self.tok.kind != _EOF:
            raise self.error(f"expected end of input, found {self.tok.describe()}")


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------

_INT_RANGES = {
    "s8": (-(1 << 7), (1 << 7) - 1),
    "u8": (0, (1 << 8) - 1),
    "s16": (-(1 << 15), (1 << 15) - 1),
    "u16": (0, (1 << 16) - 1),
    "s32": (-(1 << 31), (1 << 31) - 1),
    "u32": (0, (1 << 32) - 1),
    "s64": (-(1 << 63), (1 << 63) - 1),
    "u64": (0, (1 << 64) - 1),
}
_F32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
# Values at or above max + half an ulp round to infinity.
_F32_OVERFLOW = (2 - 2.0**-24) * 2.0**127


def _to_f32(x: float) -> float:
    """Round a double to the nearest f32 (ties to even), overflowing to infinity."""
    if math.isnan(x) or math.isinf(x):
        return x
    if abs(x) >= _F32_OVERFLOW:
        return math.copysign(math.inf, x)
    return struct.unpack("<f", struct.pack("<f", x))[0]


def _parse_f32(text: str) -> float:
    """Correctly rounded decimal → f32 (avoids double rounding through f64)."""
    d = float(text)
    f = _to_f32(d)
    if math.isinf(f) or d == 0 or f == d:
        return f
    # Double rounding can only go wrong when d sits exactly halfway between two f32s.
    bits = struct.unpack("<Q", struct.pack("<d", abs(d)))[0]
    exp = (bits >> 52) & 0x7FF
    if exp >= 1023 - 126:  # normal f32 range: 29 low mantissa bits are dropped
        drop = 29
    else:  # subnormal f32: more bits dropped
        drop = min(29 + (1023 - 126 - exp), 53)
    if drop >= 53 or (bits & ((1 << drop) - 1)) != (1 << (drop - 1)):
        return f
    from fractions import Fraction  # not imported by `wasmloop run` unless a float needs it

    exact = Fraction(text)
    lo = _to_f32(math.nextafter(d, 0.0))
    hi = _to_f32(math.nextafter(d, math.inf if d > 0 else -math.inf))
    if abs(exact) > abs(Fraction(d)):
        return hi
    if abs(exact) < abs(Fraction(d)):
        return lo
    return f


def _display_digits(digits: str, exp10: int, negative: bool) -> str:
    """Render ``0.digits × 10^exp10`` without an exponent, Rust ``Display`` style."""
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        return "-0" if negative else "0"
    point = exp10  # number of digits before the decimal point
    if point <= 0:
        s = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        s = digits + "0" * (point - len(digits))
    else:
        s = digits[:point] + "." + digits[point:]
    return "-" + s if negative else s


def _sci_parts(s: str) -> tuple[str, int]:
    """'d.ddde±x' → (digits, exponent such that value = 0.digits × 10^exponent)."""
    mant, _, e = s.partition("e")
    digits = mant.replace(".", "")
    return digits, int(e) + 1


def _format_f64(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    from decimal import Decimal  # not imported by `wasmloop run` unless a float needs it

    t = Decimal(repr(abs(x))).as_tuple()
    digits = "".join(map(str, t.digits))
    return _display_digits(digits, len(digits) + int(t.exponent), neg)


def _format_f32(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    neg = math.copysign(1.0, x) < 0
    if x == 0:
        return "-0" if neg else "0"
    from fractions import Fraction

    a = abs(x)
    for prec in range(1, 10):
        s = f"{a:.{prec - 1}e}"
        digits, e10 = _sci_parts(s)
        best: tuple[Fraction, str, int] | None = None
        base = int(digits)
        for cand in (base, base - 1, base + 1):
            if cand <= 0:
                continue
            cd = str(cand)
            ce = e10 + (len(cd) - len(digits))
            text = f"0.{cd}e{ce}"
            if _parse_f32(text) == a:
                dist = abs(Fraction(text) - Fraction(a))
                if best is None or dist < best[0]:
                    best = (dist, cd, ce)
        if best is not None:
            return _display_digits(best[1], best[2], neg)
    return _format_f64(x)  # not reached for real f32 values


# --------------------------------------------------------------------------------------------
# Escaping (measured from Wasmtime 49: which characters print as \u{...})
# --------------------------------------------------------------------------------------------

# Ranges of code points Wasmtime escapes, as "gap+extra" hex pairs: each entry starts `gap`
# after the end of the previous range and spans `extra` more code points.
_ESCAPED_RANGES = (
    "0+1f,3,5,35,23+21,d,253+6f,9+1,7+3,8,2,15,e1+6,a7,27+1,33+1,4+2d,2,2+1,2+1,2+8,1c+3,7+10,b"
    "+a,2,2f+14,11,66+7,2+5,3+1,2+3,21+1,2,1f+1c,5a+a,2+d,2c+8,8+2,19+3,2+8,2+2,2+6,10,1a+4,2,c"
    "+4,21+f,2b+38,38,2,5+7,5,4+6,b+1,1e,3,9+1,3+1,17,8,2+2,5+2,2,3+5,3+1,3,2+c,3,4+3,19+4,2,7+"
    "3,3+1,17,8,3,3,3+3,4+17,5,2+6,b+1,4,2+b,2,a,4,17,8,3,6+2,5+7,2,3+2,2+e,3+3,d+6,2+7,3,9+1,3"
    "+1,17,8,3,6+2,2+1,2+5,3+1,3+e,3,4+3,13+a,2,7+2,4,5+2,3,2,3+2,3+2,4+2,d+4,2,3+2,4,4+2,2+14,"
    "16+5,4,9,4,18,11+2,2+2,5+12,4,3+1,3+3,b+6,b,c,4,18,b,6+2,3+1,2,3+16,4,3+3,b,4+d,c,4,2a+1,2"
    ",3+4,4,4,3+3,4,b+3,1b+1,3,13+2,19,a,2+1,8+8,3+5,8+6,b+1,4+b,31,3+a,9+7,e+24,3,2,6,19,2,b,3"
    "+8,2+1,6,2+8,b+1,5+1f,19+1,1c,2,2,f,25+11,2+4,2+1,6+30,9,7,e+24,2e+3,2+5,2+1,3+1,1a+1,5+2,"
    "11+3,e,3+1,7,10,29,2+4,2+1,90+1,e9,5+1,8,2,5+1,2a,5+1,22,5+1,8,2,5+1,10,3a,5+1,44+4,1e+2,1"
    "b+5,57+1,7+1,281,1d+2,5a+6,13+c,14+2,3+8,13+d,e,4+e,35+1,2+6,9,3+a,a+2,b+5,b+5,c+4,b+5,5a+"
    "6,6+1,23,2+4,47+9,20+3,5+1,4+3,3,7+6,2+2,2b+1,6+a,2d+3,1b+5,c+2,3a+1,3+2,39,2+8,2,3+7,7+c,"
    "b+5,b+5,f+55,31+9,5+2,9,1e+8,d+1,21+3,3+5,39,2+1,4,2+c,31+7,3+4,10+2,3f+4,2c+1,c+a,2+c,2+6"
    ",5,7,4+1,2+4,c1+3f,117+1,7+1,27+1,7+1,9,2,2,2,20+1,36,10,f+1,7,14+1,4,a+10,19+7,30+10,3+1,"
    "1c,e+2,23+3d,8d+3,29b+15,c+14,715+1,17a+2,3+4,2e,2+4,2+1,39+6,3+e,18+8,8,8,8,8,8,8,8,8+20,"
    "5f+21,1b,5a+b,d7+19,11,2a+5,11,57+3,66+4,2c,34,2b,57+8,31,726e+2,38+8,15d+13,30+3,2+9,21+1"
    ",51+1,7+7,de+13,12,4,5,1a+1,6+3,b+5,39+7,45+9,d+17,e,27+7,1a+a,2+b,1f+5,31,3+3,3+1,3,e,c+3"
    ",8,1a,2a+5,3+1,3+a,4,9,2+1,b+1,21,34,2+2,3+1,6+1,2,2+17,12+1,9+a,7+1,7+1,7+8,8,8,3d+3,76,3"
    ",5+2,b+5,2ba5+b,18+3,32+3,801+18ff,16f+1,6b+25,8+b,6+4,2,19,6,2,3,3,28b+1f,11+f,b+15,24,14"
    ",5+3,6,88+3,9e+2,1f+2,7+1,7+1,7+1,4+2,8,8+c,3+1,d,1b,14,3,10+1,f+21,7c+4,4+3,2e+2,59,e+2,2"
    "+2e,2e+82,1e+2,32+f,1c+3,25+8,1f+4,27+9,1f,26+3,f+29,9f+1,b+5,25+3,25+3,29+7,35+a,d,10,8,3"
    ",c,10,8,3+2,35+b,138+8,17+9,9+17,7,2b,a+44,7+1,2,2d,3+2,2+1,18,49+7,a+2f,14,3+4,22+2,1c+4,"
    "1c+25,39+3,15+1,30+e,5,4,1e+9,a+6,a+6,41+1f,26+5,d+8,37+2,1e+1,1c+4,1b+6,5+b,8+4f,4a+36,34"
    "+c,34+6,2b+b,b+5,27+7,19+7,3+cf,20,2b+2,2+1,3+f,7+7,a+26,29+7,17+a,a+15,13+3,5+25,1d+13,18"
    "+8,2,37+e,8+3,1f,3+1,2+b,32+3,3+1,3,5+d,1a+6,b+8,25+4,2+8,13+7,24,4+a,35+8,2,9+3,3,11,15+a"
    ",13,1d+2,3+3,7,3+3e,8,2,5,10,c+5,30,4+c,b+7,3,9+1,3+1,17,8,3,6+2,2,2,5+1,3+1,3+2,2+b,8+1b,"
    "b,2+1,2,27,2,3+e,2,3+2,2,4,3+26,39+7,3+2,2,16,2,4+1d,31,3+5,2,3,2+1,2+1,5+7,b+a5,30,3+5,5+"
    "1,2+1,1c+23,34+7,3,2+1,5+a,b+5,e+12,2c,2,3+7,3+5,b+5,15+1b,1c+2,2,3+3,2+8,18+b8,30+8,2+1,2"
    "+63,54+b,9+1,2+1,9,3,19,6,3+5,5,4+8,b+45,9+1,2b+7,5,5+1a,2+9,29+5,3+3,9+8,2+5,3+2,2f+c,2+1"
    ",a+c,4a+6,b+56,2+2,2,2+57,23+d,b+5,a,27+d,2,7+9,1e+2,21+18,2+6,2+1,2+4a,8,3,27+14,2+8,b+5,"
    "7,3,26+3,3,2,2+6,b+5,2d+3,b+f5,14+1,5+8,10,25+7,3+2,18+55,2+e,33+c,39c+65,70,6+a,c5+a4b,64"
    "+c,431+10,7+18,f9c+4,248+1ab8,1f+b,4+2,b+6c5,23a+6,20,b+3,52,b+5,1f+6,2+9,31+6,10+9,b,8,16"
    "+4,14+1af,3b+c5,5c+4,1a+1,1a+2b,4c+4,39+a,e+3f,5+d,6+8,1cd7+28,21+60,74+21fc,5,8,3,124+e,2"
    "+1c,4+1,2+d,5+7,18d+903,6c+4,e+2,a+6,b+1,2+1,2+f5f,fe+2,1b5+5,18+e,12+5e,75+3b,f7+9,28+1,3"
    "d+4,4+15,3+6,1f+3,3e+14,43+2,2+79,15+b,15+b,58+8,1a+86,56,48,3+1,2+1,3+1,5,d,2,8,42,5+1,9,"
    "8,1d,5,6,2+2,8,155+1,125+1,233+36,5+31,9,f,8+473,20+5,7+104,3f+91,2e+9,8+1,b+3,3+13f,1f+11"
    ",2d+3,b+4,2+1cf,1d+3,b+d5,1f+1,c+3,2+bf,20,4,3,8+1,6+8,3+df,8,5,3,10,c6+1,a+2f,45+6,2+3,b+"
    "3,3+310,45+4b,3e+c1,5,1c,3,2+1,2,b,5,2,2+5,2+3,2,2,2,4,3,2+1,2,2,2,2,2,3,2+1,5,8,5,5,2,b,1"
    "2+4,4,6,12+33,3+10d,2d+3,65+b,10+1,10,10,26+9,af+37,1e+c,2d+3,a+6,3+d,7+99,3da+2,12+2,e+2,"
    "db+5,d+3,2+e,d+3,39+7,b+5,29+7,1f+1,d+3,3+d,a+26,159+7,f+1,e+2,c+2,3a,2+3,11+1,d+3,b+6,94,"
    "68+404,a6e1+1f,111f+1,168f+1,1d32+e,26f+9a1,21f+5e1,134c+4,212b+dcb85"
)


def _decode_ranges(spec: str) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    prev = 0
    for part in spec.split(","):
        gap, _, extra = part.partition("+")
        start = prev + int(gap, 16)
        end = start + (int(extra, 16) if extra else 0)
        starts.append(start)
        ends.append(end)
        prev = end
    return starts, ends


_ESC_STARTS, _ESC_ENDS = _decode_ranges(_ESCAPED_RANGES)
_SHORT_OUT = {"\\": "\\\\", '"': '\\"', "'": "\\'", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _needs_unicode_escape(c: str) -> bool:
    cp = ord(c)
    i = bisect_right(_ESC_STARTS, cp) - 1
    return i >= 0 and cp <= _ESC_ENDS[i]


def _escape_text(s: str) -> str:
    out = []
    for c in s:
        short = _SHORT_OUT.get(c)
        if short is not None:
            out.append(short)
        elif c.isascii() and c.isprintable():
            out.append(c)
        elif _needs_unicode_escape(c):
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Typed conversion: syntax tree → Python value
# --------------------------------------------------------------------------------------------


def _type_name(t: object) -> str:
    try:
        from .wit import format_val_type

        return format_val_type(t)  # type: ignore[arg-type]
    except Exception:  # pragma: no cover - only for error messages
        return getattr(t, "kind", repr(t))


def _describe(node: _Node) -> str:
    if node.kind in ("label", "call"):
        return f"{'%' if node.percent else ''}{node.value}{'(...)' if node.kind == 'call' else ''}"
    return {
        "num": f"number {node.value}",
        "char": "a char",
        "str": "a string",
        "tuple": "a tuple",
        "list": "a list",
        "record": "a record",
        "flags": "flags",
    }[node.kind]


def _is_keyword(node: _Node, word: str) -> bool:
    return node.kind == "label" and not node.percent and node.value == word


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text

    def fail(self, node: _Node, t: object, detail: str | None = None) -> WaveError:
        msg = f"expected {detail or 'a value'} of type {_type_name(t)}, found {_describe(node)}"
        return WaveError(msg, node.start, self.text)

    def convert(self, node: _Node, t: T.ValType) -> Any:
        if isinstance(t, T.PrimType):
            return self.prim(node, t)
        if isinstance(t, T.ListType):
            if node.kind != "list":
                raise self.fail(node, t, "a list [...]")
            if t.length is not None and len(node.items) != t.length:
                raise WaveError(
                    f"expected a list of exactly {t.length} elements, found {len(node.items)}",
                    node.start, self.text,
                )
            vals = [self.convert(n, t.elem) for n in node.items]
            return bytes(vals) if t.elem is T.U8 else vals
        if isinstance(t, T.RecordType):
            return self.record(node, t)
        if isinstance(t, T.TupleType):
            if node.kind != "tuple":
                raise self.fail(node, t, "a tuple (...)")
            if len(node.items) != len(t.elems):
                raise WaveError(
                    f"expected a tuple of {len(t.elems)} elements, found {len(node.items)}",
                    node.start, self.text,
                )
            return tuple(self.convert(n, et) for n, et in zip(node.items, t.elems, strict=True))
        if isinstance(t, T.VariantType):
            return self.variant(node, t)
        if isinstance(t, T.EnumType):
            if node.kind == "label" and node.value in t.labels:
                if node.value in KEYWORDS and not node.percent:
                    raise self.fail(node, t, f"'%{node.value}' (keyword cases need '%')")
                return node.value
            raise self.fail(node, t, "one of " + ", ".join(format_label(x) for x in t.labels)
                            + " as a value")
        if isinstance(t, T.OptionType):
            if _is_keyword(node, "none"):
                return None
            if node.kind == "call" and not node.percent and node.value == "some":
                inner = self.convert(node.items, t.elem)
                return Some(inner) if isinstance(t.elem, T.OptionType) else inner
            if isinstance(t.elem, T.OptionType | T.ResultType):
                raise self.fail(node, t, "some(...) or none")
            return self.convert(node, t.elem)
        if isinstance(t, T.ResultType):
            return self.result(node, t)
        if isinstance(t, T.FlagsType):
            if node.kind != "flags":
                raise self.fail(node, t, "flags {...}")
            seen: set[str] = set()
            for label, pos in node.items:
                if label not in t.labels:
                    raise WaveError(f"unknown flag {label!r}", pos, self.text)
                if label in seen:
                    raise WaveError(f"duplicate flag {label!r}", pos, self.text)
                seen.add(label)
            return frozenset(seen)
        raise WaveError(f"values of type {_type_name(t)} cannot be written in WAVE",
                        node.start, self.text)

    def prim(self, node: _Node, t: T.PrimType) -> Any:
        k = t.kind
        if k == "bool":
            if _is_keyword(node, "true"):
                return True
            if _is_keyword(node, "false"):
                return False
            raise self.fail(node, t, "true or false")
        if k in _INT_RANGES:
            if node.kind != "num" or not _INT_RE.match(node.value):
                raise self.fail(node, t, "an integer")
            lo, hi = _INT_RANGES[k]
            if len(node.value) > 21:
                raise WaveError(f"integer {node.value[:24]}... out of range for {k}", node.start,
                                self.text)
            if lo == 0 and node.value.startswith("-"):
                raise WaveError(f"expected an unsigned integer for {k}, found {node.value}",
                                node.start, self.text)
            v = int(node.value)
            if not lo <= v <= hi:
                raise WaveError(f"integer {node.value} out of range for {k}", node.start,
                                self.text)
            return v
        if k in ("f32", "f64"):
            if node.kind == "label" and not node.percent and node.value in ("nan", "inf"):
                return math.nan if node.value == "nan" else math.inf
            if node.kind != "num":
                raise self.fail(node, t, "a number, nan, inf or -inf")
            if node.value == "-inf":
                return -math.inf
            return _parse_f32(node.value) if k == "f32" else float(node.value)
        if k == "char":
            if node.kind != "char":
                raise self.fail(node, t, "a char 'c'")
            return node.value
        if k == "string":
            if node.kind != "str":
                raise self.fail(node, t, 'a string "..."')
            return node.value
        raise WaveError(f"values of type {k} cannot be written in WAVE", node.start, self.text)

    def record(self, node: _Node, t: T.RecordType) -> Record:
        if node.kind != "record":
            raise self.fail(node, t, "a record {field: value, ...}")
        ftypes = dict(t.fields)
        given: dict[str, Any] = {}
        seen: set[str] = set()
        for label, pos, vnode in node.items:
            if label in seen:
                raise WaveError(f"duplicate record field {label!r}", pos, self.text)
            seen.add(label)
            if label in ftypes:  # like Wasmtime, unknown fields are ignored
                given[label] = self.convert(vnode, ftypes[label])
        out: dict[str, Any] = {}
        for name, ft in t.fields:
            if name in given:
                out[name] = given[name]
            elif isinstance(ft, T.OptionType):
                out[name] = None
            else:
                raise WaveError(f"missing record field {name!r}", node.start, self.text)
        return Record(out)

    def variant(self, node: _Node, t: T.VariantType) -> Variant:
        if node.kind not in ("label", "call"):
            raise self.fail(node, t, "a variant case")
        cases = dict(t.cases)
        if node.value not in cases:
            raise self.fail(node, t, "one of " + ", ".join(format_label(c) for c, _ in t.cases))
        if node.value in KEYWORDS and not node.percent:
            raise self.fail(node, t, f"'%{node.value}' (keyword cases need '%')")
        ct = cases[node.value]
        if ct is None:
            if node.kind == "call":
                raise WaveError(f"variant case {node.value!r} has no payload", node.start,
                                self.text)
            return Variant(node.value)
        if node.kind != "call":
            raise WaveError(f"variant case {node.value!r} needs a payload: {node.value}(...)",
                            node.start, self.text)
        return Variant(node.value, self.convert(node.items, ct))

    def result(self, node: _Node, t: T.ResultType) -> Ok[Any] | Err[Any]:
        if not node.percent and node.kind in ("label", "call") and node.value in ("ok", "err"):
            side = t.ok if node.value == "ok" else t.err
            wrap = Ok if node.value == "ok" else Err
            if node.kind == "label":
                if side is not None:
                    raise self.fail(node, t, f"{node.value}(...) with a payload")
                return wrap()
            if side is None:
                raise WaveError(f"{node.value} has no payload in {_type_name(t)}", node.start,
                                self.text)
            return wrap(self.convert(node.items, side))
        if t.ok is not None and not isinstance(t.ok, T.OptionType | T.ResultType):
            return Ok(self.convert(node, t.ok))
        raise self.fail(node, t, "ok or err")


# --------------------------------------------------------------------------------------------
# Public parsing API
# --------------------------------------------------------------------------------------------


def parse_value(text: str, t: T.ValType) -> Any:
    """Parse the WAVE ``text`` as a value of type ``t`` into its Python value."""
    try:
        p = _Parser(text)
        node = p.value()
        p.end()
        return _Converter(text).convert(node, t)
    except RecursionError:
        raise WaveError("value nested too deeply", 0, text) from None


_NAME_WORD = r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"
_SEMVER = r"[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_FUNC_NAME_RE = re.compile(
    rf"(?:(?P<iface>(?:{_NAME_WORD}:)+{_NAME_WORD}(?:/{_NAME_WORD})+|{_NAME_WORD})\.)?"
    rf"(?P<func>{_NAME_WORD})(?:@(?P<ver>{_SEMVER}))?"
)


def split_func_name(name: str) -> tuple[str | None, str]:
    """Split an ``--invoke`` function name into (exported instance name or None, function name).

    ``ns:pkg/iface.f@1.0.0`` → ``("ns:pkg/iface@1.0.0", "f")`` (Wasmtime writes the version
    after the function name); ``plain.f`` → ``("plain", "f")``; ``f`` → ``(None, "f")``.
    """
    m = _FUNC_NAME_RE.fullmatch(name)
    if not m:
        raise WaveError(f"invalid function name {name!r}")
    iface, func, ver = m.group("iface"), m.group("func"), m.group("ver")
    if iface is None:
        if ver is not None:
            raise WaveError(f"a version needs an interface: {name!r}")
        return None, func
    return (f"{iface}@{ver}" if ver else iface), func


def parse_call(text: str) -> tuple[str, list[str]]:
    """Split ``name(arg, ...)`` into the function name and the argument texts (untyped).

    Like Wasmtime: no whitespace before the name; whitespace, comments and a trailing comma
    are allowed after it; nothing but whitespace/comments may follow the closing ')'.
    """
    m = _FUNC_NAME_RE.match(text)
    if not m or m.end() == 0:
        raise WaveError("expected a function name", 0, text)
    name = m.group()
    p = _Parser(text, m.end())
    if p.tok.kind != "(":
        raise p.error(f"expected '(' after the function name, found {p.tok.describe()}")
    p.advance()
    args: list[str] = []
    while p.tok.kind != ")":
        node = p.value()
        args.append(text[node.start:node.end])
        if p.tok.kind == ",":
            p.advance()
        elif p.tok.kind != ")":
            raise p.error(f"expected ',' or ')', found {p.tok.describe()}")
    p.advance()
    p.end()
    return name, args


def parse_args(arg_texts: Sequence[str], param_types: Sequence[T.ValType]) -> list[Any]:
    """Parse argument texts against the parameter types.

    Trailing ``option`` parameters may be left out (they are ``none``) — but, as in Wasmtime,
    only when at least one argument is given.
    """
    n = len(param_types)
    if len(arg_texts) > n:
        raise WaveError(f"too many arguments: expected {n}, found {len(arg_texts)}")
    if len(arg_texts) < n:
        if not arg_texts or not all(
            isinstance(pt, T.OptionType) for pt in param_types[len(arg_texts):]
        ):
            raise WaveError(f"too few arguments: expected {n}, found {len(arg_texts)}")
    out = []
    for i, pt in enumerate(param_types):
        if i < len(arg_texts):
            try:
                out.append(parse_value(arg_texts[i], pt))
            except WaveError as e:
                raise WaveError(f"argument {i + 1}: {e}") from None
        else:
            out.append(None)
    return out


def parse_invoke(
    text: str, lookup: Callable[[str], T.FuncType | None]
) -> tuple[str, list[Any]]:
    """Parse ``--invoke`` text: ``lookup(name)`` gives the function type (``None``: unknown).

    ``name`` is passed exactly as written (see :func:`split_func_name` to resolve it).
    """
    name, arg_texts = parse_call(text)
    ft = lookup(name)
    if ft is None:
        raise WaveError(f"no exported function named {name!r}")
    return name, parse_args(arg_texts, ft.param_types)


# --------------------------------------------------------------------------------------------
# Printing
# --------------------------------------------------------------------------------------------


def format_label(label: str) -> str:
    """An enum/variant case label as WAVE writes it: keywords get a ``%`` prefix."""
    return "%" + label if label in KEYWORDS else label


def format_value(value: Any, t: T.ValType) -> str:
    """Print ``value`` of type ``t`` as ``wasmtime run --invoke`` prints a result."""
    out: list[str] = []
    _fmt(value, t, out)
    return "".join(out)


def format_results(values: Sequence[Any], ft: T.FuncType) -> str:
    """What ``wasmtime run --invoke`` prints (without the final newline) for a call's results:
    the value for a function with a result, ``()`` for a function without one."""
    if ft.result is None:
        return "()"
    (v,) = values
    return format_value(v, ft.result)


def _fmt(v: Any, t: T.ValType, out: list[str]) -> None:
    if isinstance(t, T.PrimType):
        k = t.kind
        if k == "bool":
            out.append("true" if v else "false")
        elif k in _INT_RANGES:
            out.append(str(int(v)))
        elif k == "f32":
            out.append(_format_f32(_to_f32(float(v))))
        elif k == "f64":
            out.append(_format_f64(float(v)))
        elif k == "char":
            out.append("'" + _escape_text(v) + "'")
        elif k == "string":
            out.append('"' + _escape_text(v) + '"')
        else:
            raise WaveError(f"values of type {k} cannot be written in WAVE")
    elif isinstance(t, T.ListType):
        out.append("[")
        for i, e in enumerate(v):
            if i:
                out.append(", ")
            _fmt(e, t.elem, out)
        out.append("]")
    elif isinstance(t, T.TupleType):
        out.append("(")
        for i, (e, et) in enumerate(zip(v, t.elems, strict=True)):
            if i:
                out.append(", ")
            _fmt(e, et, out)
        out.append(")")
    elif isinstance(t, T.RecordType):
        parts = []
        for name, ft in t.fields:
            fv = _field(v, name)
            if fv is None and isinstance(ft, T.OptionType):
                continue
            sub: list[str] = []
            _fmt(fv, ft, sub)
            parts.append(f"{name}: {''.join(sub)}")
        out.append("{" + ", ".join(parts) + "}" if parts else "{:}")
    elif isinstance(t, T.VariantType):
        case, payload = (v.case, v.value) if isinstance(v, Variant) else (v, None)
        cases = dict(t.cases)
        if case not in cases:
            raise WaveError(f"{case!r} is not a case of {_type_name(t)}")
        out.append(format_label(case))
        ct = cases[case]
        if ct is not None:
            out.append("(")
            _fmt(payload, ct, out)
            out.append(")")
    elif isinstance(t, T.EnumType):
        if v not in t.labels:
            raise WaveError(f"{v!r} is not a case of {_type_name(t)}")
        out.append(format_label(v))
    elif isinstance(t, T.OptionType):
        if v is None:
            out.append("none")
        else:
            if isinstance(v, Some) and isinstance(t.elem, T.OptionType):
                v = v.value
            out.append("some(")
            _fmt(v, t.elem, out)
            out.append(")")
    elif isinstance(t, T.ResultType):
        if isinstance(v, Ok):
            word, side = "ok", t.ok
        elif isinstance(v, Err):
            word, side = "err", t.err
        else:
            raise WaveError(f"a result value must be Ok or Err, not {v!r}")
        out.append(word)
        if side is not None:
            out.append("(")
            _fmt(v.value, side, out)
            out.append(")")
    elif isinstance(t, T.FlagsType):
        members = set(v)
        unknown = members - set(t.labels)
        if unknown:
            raise WaveError(f"unknown flags {sorted(unknown)!r} for {_type_name(t)}")
        out.append("{" + ", ".join(x for x in t.labels if x in members) + "}")
    else:
        raise WaveError(f"values of type {_type_name(t)} cannot be written in WAVE")


def _field(v: Any, name: str) -> Any:
    if isinstance(v, Mapping):
        if name in v:
            return v[name]
        alt = name.replace("-", "_")
        if alt in v:
            return v[alt]
        raise WaveError(f"record value has no field {name!r}")
    return getattr(v, name.replace("-", "_"))

"""Tests for wasmloop.wave: unit tests, hypothesis round trips, and differential tests against
the reference host (Wasmtime 49 CLI ``run --invoke``).

The differential tests build an *echo* component for a type T::

    echo: func(x: T, pad: tuple<u8 × 17>) -> tuple<T, tuple<u8 × 17>>

With more than 16 flat parameters the arguments are passed in memory, and a result with more
than one flat value is returned in memory with the same layout, so the core function just
returns the pointer it got. Wasmtime parses our WAVE text for ``x`` and prints the value back;
its output must equal ours byte for byte.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from componentutil import missing_tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmloop import types as T
from wasmloop.values import Err, Ok, Record, Some, Variant
from wasmloop.wave import (
    WaveError,
    format_results,
    format_value,
    parse_args,
    parse_call,
    parse_invoke,
    parse_value,
    split_func_name,
)

# ---------------------------------------------------------------------------------------------
# Reference tools
# ---------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent

# The recursive type strategy has a large repr; Hypothesis warns about it.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")


def _reference_wasmtime() -> str | None:
    env = os.environ.get("WASMLOOP_REFERENCE_WASMTIME")
    if env:
        return env if Path(env).exists() else None
    for script in (Path("/work/shared/tools/reference-wasmtime"),
                   REPO.parent / "shared" / "tools" / "reference-wasmtime"):
        if script.exists():
            try:
                out = subprocess.run([str(script)], capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.SubprocessError):
                return None
            path = out.stdout.strip()
            if out.returncode == 0 and path and Path(path).exists():
                return path
    return None


def _wasm_tools() -> str | None:
    exe = Path(sys.executable).parent / "wasm-tools"
    if exe.exists():
        return str(exe)
    return shutil.which("wasm-tools")


_REF: list[str | None] = []


def reference() -> tuple[str, str]:
    if not _REF:
        _REF.append(_reference_wasmtime())
        _REF.append(_wasm_tools())
    wasmtime, wasm_tools = _REF
    if not wasmtime or not wasm_tools:
        missing_tool("reference wasmtime or wasm-tools not available")
    return wasmtime, wasm_tools


# ---------------------------------------------------------------------------------------------
# Echo component generator
# ---------------------------------------------------------------------------------------------

PAD_N = 17
PAD_VALUE = "(" + ", ".join(["0"] * PAD_N) + ")"


class _WatTypes:
    """Writes component-level type definitions for ValTypes; nominal types get exported."""

    def __init__(self) -> None:
        self.defs: list[str] = []
        self.n = 0

    def ref(self, t: T.ValType) -> str:
        if isinstance(t, T.PrimType):
            return t.kind
        if isinstance(t, T.ListType):
            return f"(list {self.ref(t.elem)})"
        if isinstance(t, T.TupleType):
            return "(tuple " + " ".join(self.ref(e) for e in t.elems) + ")"
        if isinstance(t, T.OptionType):
            return f"(option {self.ref(t.elem)})"
        if isinstance(t, T.ResultType):
            parts = ["result"]
            if t.ok is not None:
                parts.append(self.ref(t.ok))
            if t.err is not None:
                parts.append(f"(error {self.ref(t.err)})")
            return "(" + " ".join(parts) + ")"
        if isinstance(t, T.RecordType):
            body = "(record " + " ".join(
                f'(field "{n}" {self.ref(ft)})' for n, ft in t.fields) + ")"
        elif isinstance(t, T.VariantType):
            body = "(variant " + " ".join(
                f'(case "{n}" {self.ref(ct)})' if ct is not None else f'(case "{n}")'
                for n, ct in t.cases) + ")"
        elif isinstance(t, T.EnumType):
            body = "(enum " + " ".join(f'"{x}"' for x in t.labels) + ")"
        elif isinstance(t, T.FlagsType):
            body = "(flags " + " ".join(f'"{x}"' for x in t.labels) + ")"
        else:  # pragma: no cover
            raise NotImplementedError(t)
        i = self.n
        self.n += 1
        self.defs.append(f"(type $d{i} {body})")
        self.defs.append(f'(export $t{i} "t{i}" (type $d{i}))')
        return f"$t{i}"


_REALLOC = """
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      global.get $bump
      local.get 2 i32.const 1 i32.sub i32.add
      local.get 2 i32.const 1 i32.sub i32.const -1 i32.xor i32.and
      local.tee $p local.get 3 i32.add global.set $bump
      (block $done
        (loop $grow
          global.get $bump memory.size i32.const 16 i32.shl i32.le_u br_if $done
          i32.const 1 memory.grow i32.const -1 i32.eq
          if unreachable end
          br $grow))
      local.get $p)
"""


def echo_wat(types: list[T.ValType]) -> str:
    """A component exporting ``echo<i>`` for each type (see the module docstring)."""
    w = _WatTypes()
    funcs = []
    pad = "(tuple " + " ".join(["u8"] * PAD_N) + ")"
    for i, t in enumerate(types):
        r = w.ref(t)
        funcs.append(
            f'(func (export "echo{i}") (param "x" {r}) (param "pad" {pad}) '
            f'(result (tuple {r} {pad})) (canon lift (core func $i "echo") '
            f'(memory (core memory $i "mem")) (realloc (core func $i "realloc")) '
            f"string-encoding=utf8))"
        )
    return (
        "(component\n  (core module $m\n    (memory (export \"mem\") 1)\n"
        "    (global $bump (mut i32) (i32.const 16))\n" + _REALLOC +
        '    (func (export "echo") (param i32) (result i32) local.get 0))\n'
        "  (core instance $i (instantiate $m))\n  " + "\n  ".join(w.defs + funcs) + "\n)\n"
    )


class Echo:
    """A compiled echo component for a list of types, run by the reference CLI."""

    def __init__(self, types: list[T.ValType], tmp: Path) -> None:
        wasmtime, wasm_tools = reference()
        self.wasmtime = wasmtime
        wat = tmp / "echo.wat"
        wasm = tmp / "echo.wasm"
        wat.write_text(echo_wat(types))
        subprocess.run([wasm_tools, "parse", str(wat), "-o", str(wasm)], check=True)
        cwasm = tmp / "echo.cwasm"
        subprocess.run([wasmtime, "compile", str(wasm), "-o", str(cwasm)], check=True)
        self.path = cwasm

    def invoke(self, text: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.wasmtime, "run", "--allow-precompiled", "--invoke", text, str(self.path)],
            capture_output=True, text=True, encoding="utf-8", timeout=60,
        )

    def echo(self, i: int, arg: str) -> str:
        """Run echo<i>(arg) and return the printed ``x`` (asserting the pad is intact)."""
        out = self.invoke(f"echo{i}({arg}, {PAD_VALUE})")
        assert out.returncode == 0, out.stderr
        s = out.stdout
        suffix = f", {PAD_VALUE})\n"
        assert s.startswith("(") and s.endswith(suffix), s
        return s[1:-len(suffix)]


# ---------------------------------------------------------------------------------------------
# Types and values for hypothesis
# ---------------------------------------------------------------------------------------------

INT_KINDS = {
    T.S8: (-(1 << 7), (1 << 7) - 1), T.U8: (0, 255), T.S16: (-(1 << 15), (1 << 15) - 1),
    T.U16: (0, 65535), T.S32: (-(1 << 31), (1 << 31) - 1), T.U32: (0, (1 << 32) - 1),
    T.S64: (-(1 << 63), (1 << 63) - 1), T.U64: (0, (1 << 64) - 1),
}
KEYWORD_LABELS = ["true", "false", "inf", "nan", "some", "none", "ok", "err"]
labels = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9]{0,4}(-[a-z][a-z0-9]{0,3}){0,2}\Z"),
    st.from_regex(r"\A[A-Z][A-Z0-9]{0,3}\Z"),
    st.sampled_from(KEYWORD_LABELS),
)
label_sets = st.lists(labels, min_size=1, max_size=5, unique_by=str.lower)

prim_types = st.sampled_from(
    [T.BOOL, T.S8, T.U8, T.S16, T.U16, T.S32, T.U32, T.S64, T.U64, T.F32, T.F64, T.CHAR,
     T.STRING])


def _compound(children: st.SearchStrategy[T.ValType]) -> st.SearchStrategy[T.ValType]:
    opt = st.none() | children
    return st.one_of(
        st.builds(T.ListType, children),
        st.builds(lambda fs: T.RecordType(tuple(fs)),
                  st.lists(st.tuples(labels, children), min_size=1, max_size=4,
                           unique_by=lambda f: f[0].lower())),
        st.builds(lambda es: T.TupleType(tuple(es)), st.lists(children, min_size=1, max_size=4)),
        st.builds(lambda cs: T.VariantType(tuple(cs)),
                  st.lists(st.tuples(labels, opt), min_size=1, max_size=4,
                           unique_by=lambda c: c[0].lower())),
        st.builds(lambda ls: T.EnumType(tuple(ls)), label_sets),
        st.builds(T.OptionType, children),
        st.builds(T.ResultType, opt, opt),
        st.builds(lambda ls: T.FlagsType(tuple(ls)), label_sets),
    )


val_types = st.recursive(prim_types, _compound, max_leaves=8)


def f32_values() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(width=32, allow_nan=False),
        st.integers(0, (1 << 32) - 1).map(lambda b: struct.unpack("<f", struct.pack("<I", b))[0])
        .filter(lambda x: not math.isnan(x)),
        st.just(math.nan),
    )


def f64_values() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(allow_nan=False),
        st.integers(0, (1 << 64) - 1).map(lambda b: struct.unpack("<d", struct.pack("<Q", b))[0])
        .filter(lambda x: not math.isnan(x)),
        st.just(math.nan),
    )


chars = st.characters(exclude_categories=("Cs",))


def values_of(t: T.ValType) -> st.SearchStrategy[object]:
    if t in INT_KINDS:
        lo, hi = INT_KINDS[t]  # type: ignore[index]
        return st.integers(lo, hi)
    if t is T.BOOL:
        return st.booleans()
    if t is T.F32:
        return f32_values()
    if t is T.F64:
        return f64_values()
    if t is T.CHAR:
        return chars
    if t is T.STRING:
        return st.text(chars, max_size=12)
    if isinstance(t, T.ListType):
        if t.elem is T.U8:
            return st.binary(max_size=6)
        return st.lists(values_of(t.elem), max_size=3)
    if isinstance(t, T.RecordType):
        names = [n for n, _ in t.fields]
        return st.tuples(*(values_of(ft) for _, ft in t.fields)).map(
            lambda vs: Record(dict(zip(names, vs, strict=True))))
    if isinstance(t, T.TupleType):
        return st.tuples(*(values_of(e) for e in t.elems))
    if isinstance(t, T.VariantType):
        return st.one_of(*(
            st.just(Variant(c)) if ct is None else values_of(ct).map(lambda v, c=c: Variant(c, v))
            for c, ct in t.cases))
    if isinstance(t, T.EnumType):
        return st.sampled_from(t.labels)
    if isinstance(t, T.OptionType):
        inner = values_of(t.elem)
        if isinstance(t.elem, T.OptionType):
            inner = inner.map(Some)
        return st.none() | inner
    if isinstance(t, T.ResultType):
        ok = st.just(Ok()) if t.ok is None else values_of(t.ok).map(Ok)
        err = st.just(Err()) if t.err is None else values_of(t.err).map(Err)
        return ok | err
    if isinstance(t, T.FlagsType):
        return st.sets(st.sampled_from(t.labels)).map(frozenset)
    raise NotImplementedError(t)


def same(a: object, b: object) -> bool:
    """Equality that treats NaN as equal to NaN and distinguishes -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, Record) and isinstance(b, Record):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    for cls in (Some, Ok, Err):
        if isinstance(a, cls) or isinstance(b, cls):
            return type(a) is type(b) and same(a.value, b.value)  # type: ignore[union-attr]
    if isinstance(a, Variant) and isinstance(b, Variant):
        return a.case == b.case and same(a.value, b.value)
    return type(a) is type(b) and a == b


typed_values = val_types.flatmap(lambda t: st.tuples(st.just(t), values_of(t)))


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values)
def test_round_trip(tv: tuple[T.ValType, object]) -> None:
    t, v = tv
    text = format_value(v, t)
    back = parse_value(text, t)
    assert same(back, v), (t, v, text, back)
    assert format_value(back, t) == text


@settings(max_examples=300, deadline=None)
@given(f32_values())
def test_f32_shortest_round_trip(x: float) -> None:
    text = format_value(x, T.F32)
    back = parse_value(text, T.F32)
    assert same(back, x)
    assert "e" not in text


@settings(max_examples=300, deadline=None)
@given(f64_values())
def test_f64_round_trip(x: float) -> None:
    text = format_value(x, T.F64)
    assert same(parse_value(text, T.F64), x)


# ---------------------------------------------------------------------------------------------
# Unit tests: parsing
# ---------------------------------------------------------------------------------------------

BASIC = T.RecordType((("required", T.U8), ("optional", T.OptionType(T.U8))))
OPTS = T.RecordType((("a", T.OptionType(T.U8)), ("b", T.OptionType(T.U8))))
PERMS = T.FlagsType(("read", "write"))
SHAPE = T.VariantType((("circle", T.U32), ("none", None), ("square", T.TupleType((T.U8, T.U8)))))
COLOR = T.EnumType(("red", "green", "ok"))


@pytest.mark.parametrize(
    ("text", "t", "value"),
    [
        ("true", T.BOOL, True),
        ("false", T.BOOL, False),
        ("5", T.U8, 5),
        ("255", T.U8, 255),
        ("-128", T.S8, -128),
        ("-0", T.S32, 0),
        ("18446744073709551615", T.U64, (1 << 64) - 1),
        ("-9223372036854775808", T.S64, -(1 << 63)),
        ("1.5", T.F64, 1.5),
        ("6.022e+23", T.F64, 6.022e23),
        ("1E3", T.F64, 1000.0),
        ("inf", T.F32, math.inf),
        ("-inf", T.F64, -math.inf),
        ("3.4028234664e39", T.F32, math.inf),
        ("1.4012984643e-46", T.F32, 0.0),
        ("'c'", T.CHAR, "c"),
        ("'\\''", T.CHAR, "'"),
        ("'\"'", T.CHAR, '"'),
        ("'\\u{1F600}'", T.CHAR, "\U0001F600"),
        ("'\\u{000078}'", T.CHAR, "x"),
        ('"x"', T.STRING, "x"),
        ('"a\\n\\t\\r\\\\\\"\\\'b"', T.STRING, "a\n\t\r\\\"'b"),
        ('"it\'s"', T.STRING, "it's"),
        ('"\\u{1F600}!"', T.STRING, "\U0001F600!"),
        ('""', T.STRING, ""),
        ("[1, 2]", T.ListType(T.U32), [1, 2]),
        ("[1, 2,]", T.ListType(T.U32), [1, 2]),
        ("[]", T.ListType(T.STRING), []),
        ("[1, 2]", T.ListType(T.U8), b"\x01\x02"),
        ("[1, 2, 3]", T.ListType(T.U16, 3), [1, 2, 3]),
        ("{a: 1, b-c: 2}", T.RecordType((("a", T.U8), ("b-c", T.U8))), Record({"a": 1, "b-c": 2})),
        ("{b-c: 2, a: 1,}", T.RecordType((("a", T.U8), ("b-c", T.U8))), Record(a=1, b_c=2)),
        ("{required: 1}", BASIC, Record(required=1, optional=None)),
        ("{ optional: some(2), required: 1, }", BASIC, Record(required=1, optional=2)),
        ("{optional: 2, required: 1}", BASIC, Record(required=1, optional=2)),
        ("{:}", OPTS, Record(a=None, b=None)),
        ("{ : }", OPTS, Record(a=None, b=None)),
        ("{b: none,}", OPTS, Record(a=None, b=None)),
        ("{%a: some(1)}", OPTS, Record(a=1, b=None)),
        ("(1, \"a\")", T.TupleType((T.U8, T.STRING)), (1, "a")),
        ("(1,)", T.TupleType((T.U8,)), (1,)),
        ("circle(5)", SHAPE, Variant("circle", 5)),
        ("%none", SHAPE, Variant("none")),
        ("%circle(5)", SHAPE, Variant("circle", 5)),
        ("square((1, 2))", SHAPE, Variant("square", (1, 2))),
        ("red", COLOR, "red"),
        ("%red", COLOR, "red"),
        ("%ok", COLOR, "ok"),
        ("some(1)", T.OptionType(T.U8), 1),
        ("none", T.OptionType(T.U8), None),
        ("1", T.OptionType(T.U8), 1),
        ("\"flat\"", T.OptionType(T.STRING), "flat"),
        ("some(none)", T.OptionType(T.OptionType(T.U8)), Some(None)),
        ("some(some(1))", T.OptionType(T.OptionType(T.U8)), Some(1)),
        ("some(2)", T.OptionType(T.OptionType(T.U8)), Some(2)),
        ("none", T.OptionType(T.OptionType(T.U8)), None),
        ("%ok", T.OptionType(COLOR), "ok"),
        ("ok(1)", T.ResultType(T.U8, T.STRING), Ok(1)),
        ("1", T.ResultType(T.U8, T.STRING), Ok(1)),
        ("err(\"e\")", T.ResultType(T.U8, T.STRING), Err("e")),
        ("ok", T.ResultType(None, T.STRING), Ok()),
        ("err", T.ResultType(T.U8, None), Err()),
        ("ok", T.ResultType(None, None), Ok()),
        ("err", T.ResultType(None, None), Err()),
        ("ok(none)", T.ResultType(T.OptionType(T.U8), None), Ok(None)),
        ("{read, write}", PERMS, frozenset({"read", "write"})),
        ("{ write, read, }", PERMS, frozenset({"read", "write"})),
        ("{}", PERMS, frozenset()),
        ("  5  // five\n", T.U8, 5),
        ("[ // c\n 1, // d\n 2 ]", T.ListType(T.U8), b"\x01\x02"),
        ('"""\nA single line\n"""', T.STRING, "A single line"),
        ('"""\n    Indentation determined\n      by ending delimiter\n  """', T.STRING,
         "  Indentation determined\n    by ending delimiter"),
        ('"""\n  Must escape carriage return at end of line: \\r\n'
         '  Must break up double quote triplets: ""\\""\n  """', T.STRING,
         'Must escape carriage return at end of line: \r\nMust break up double quote triplets: """"'),
        ('"""\r\nCRLF\r\nlines\r\n"""', T.STRING, "CRLF\nlines"),
        ('"""\n"""', T.STRING, ""),
        ('"""\n\nEmpty lines\n\n"""', T.STRING, "\nEmpty lines\n"),
    ],
)
def test_parse(text: str, t: T.ValType, value: object) -> None:
    assert same(parse_value(text, t), value) or parse_value(text, t) == value


def test_parse_nan_and_negative_zero() -> None:
    assert math.isnan(parse_value("nan", T.F32))
    z = parse_value("-0", T.F64)
    assert z == 0 and math.copysign(1, z) < 0
    assert parse_value("3.4028234664e38", T.F32) == struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
    # Correct rounding straight to f32 (no double rounding through f64).
    assert parse_value("1.00000005960464477539062500001", T.F32) == 1.0000001192092896


@pytest.mark.parametrize(
    ("text", "t"),
    [
        ("", T.U8),
        ("256", T.U8),
        ("-1", T.U8),
        ("-0", T.U32),
        ("+7", T.U32),
        ("07", T.U32),
        ("7.0", T.U32),
        ("7e0", T.U32),
        ("1 2", T.U32),
        ("True", T.BOOL),
        ("%true", T.BOOL),
        ("-nan", T.F32),
        ("NaN", T.F32),
        ("infinity", T.F64),
        ("-infinity", T.F64),
        ("Inf", T.F32),
        (".5", T.F64),
        ("5.", T.F64),
        ("''", T.CHAR),
        ("'ab'", T.CHAR),
        ("'\\z'", T.CHAR),
        ("'\\u{110000}'", T.CHAR),
        ("'\\u{D800}'", T.CHAR),
        ("'\\u{}'", T.CHAR),
        ("'\\u{123456789}'", T.CHAR),
        ("'''", T.CHAR),
        ("'\n'", T.CHAR),
        ('"abc', T.STRING),
        ('"a\nb"', T.STRING),
        ('"""x"""', T.STRING),
        ('"""\n a"""b\n"""', T.STRING),
        ('"""\nno indent\n  """', T.STRING),
        ("[1,,]", T.ListType(T.U8)),
        ("[,1]", T.ListType(T.U8)),
        ("[,]", T.ListType(T.U8)),
        ("[)", T.ListType(T.U8)),
        ("[1, 2]", T.ListType(T.U8, 3)),
        ("{required: 1, required: 1}", BASIC),
        ("{optional: none}", BASIC),
        ("{}", OPTS),
        ("{read, read}", PERMS),
        ("{read, execute}", PERMS),
        ("{read: true}", PERMS),
        ("(1)", T.TupleType((T.U8, T.U8))),
        ("none", SHAPE),
        ("circle", SHAPE),
        ("circle(1, 2)", SHAPE),
        ("%none(1)", SHAPE),
        ("blue", COLOR),
        ("ok", COLOR),
        ("red(1)", COLOR),
        ("some", T.OptionType(T.U8)),
        ("some()", T.OptionType(T.U8)),
        ("some(some(0))", T.OptionType(T.U8)),
        ("none()", T.OptionType(T.U8)),
        ("none(0)", T.OptionType(T.U8)),
        ("1", T.OptionType(T.OptionType(T.U8))),
        ("ok", T.ResultType(T.U8, None)),
        ("ok(1)", T.ResultType(None, None)),
        ("none", T.ResultType(T.OptionType(T.U8), None)),
        ("1", T.ResultType(None, T.U8)),
        ("1 // c", T.STRING),
        ("/* c */ 1", T.U8),
        ("5 6", T.U8),
    ],
)
def test_parse_errors(text: str, t: T.ValType) -> None:
    with pytest.raises(WaveError) as info:
        parse_value(text, t)
    assert isinstance(info.value, ValueError)
    assert "offset" in str(info.value)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=30),
                 st.text(alphabet='[](){}:,"\'\\%-0123456789.eEnoneinfsomeokerrtru ab\n/',
                         max_size=40)),
       val_types)
def test_parse_never_raises_anything_else(text: str, t: T.ValType) -> None:
    try:
        parse_value(text, t)
    except WaveError:
        pass


def test_deep_nesting_and_huge_numbers() -> None:
    with pytest.raises(WaveError):
        parse_value("[" * 100000, T.ListType(T.U8))
    with pytest.raises(WaveError):
        parse_value("9" * 10000, T.U64)
    assert parse_value("1" + "0" * 400, T.F64) == math.inf


def test_error_position() -> None:
    with pytest.raises(WaveError) as info:
        parse_value("[1,\n 2, x]", T.ListType(T.U8))
    assert info.value.pos == 8
    assert "line 2, column 5" in str(info.value)
    assert "expected an integer" in str(info.value)


def test_unsupported_types_raise_wave_error() -> None:
    r = T.ResourceType("r")
    for t in (T.OwnType(r), T.BorrowType(r), T.StreamType(T.U8), T.FutureType(None),
              T.ERROR_CONTEXT):
        with pytest.raises(WaveError):
            parse_value("1", t)
        with pytest.raises(WaveError):
            format_value(1, t)


# ---------------------------------------------------------------------------------------------
# Unit tests: calls
# ---------------------------------------------------------------------------------------------


def test_parse_call() -> None:
    assert parse_call("f()") == ("f", [])
    assert parse_call("top-f(7)") == ("top-f", ["7"])
    assert parse_call('f(1, "a,b", [1, (2, 3)], {a: 1},)') == (
        "f", ["1", '"a,b"', "[1, (2, 3)]", "{a: 1}"])
    assert parse_call("f (7) // c") == ("f", ["7"])
    assert parse_call("f(\n 7\n)") == ("f", ["7"])
    assert parse_call("ns:pkg/iface.get-x@1.0.0(9)") == ("ns:pkg/iface.get-x@1.0.0", ["9"])
    assert parse_call("plain.f(1)") == ("plain.f", ["1"])
    for bad in (" f(1)", "f", "f(1", "f(1)x", "f(1);", "%f(1)", "f(1 2)", "plain.f@1.0(1)",
                "ns:pkg/iface@1.0.0.get-x(9)", "(1)"):
        with pytest.raises(WaveError):
            parse_call(bad)


def test_split_func_name() -> None:
    assert split_func_name("f") == (None, "f")
    assert split_func_name("plain.f") == ("plain", "f")
    assert split_func_name("ns:pkg/iface.get-x@1.0.0") == ("ns:pkg/iface@1.0.0", "get-x")
    assert split_func_name("wasi:cli/run.run@0.2.0") == ("wasi:cli/run@0.2.0", "run")
    assert split_func_name("ns:pkg/iface.f") == ("ns:pkg/iface", "f")


def test_parse_args_and_invoke() -> None:
    opt = T.OptionType(T.U32)
    g = T.FuncType((("x", T.U32), ("y", opt), ("z", opt)), T.U32)
    assert parse_args(["1"], g.param_types) == [1, None, None]
    assert parse_args(["1", "none"], g.param_types) == [1, None, None]
    assert parse_args(["1", "2", "some(3)"], g.param_types) == [1, 2, 3]
    with pytest.raises(WaveError):
        parse_args([], g.param_types)  # Wasmtime: "no params provided, but 3 required"
    with pytest.raises(WaveError):
        parse_args(["1", "2", "3", "4"], g.param_types)
    with pytest.raises(WaveError, match="argument 2"):
        parse_args(["1", "x"], g.param_types)
    funcs = {"g": g, "h": T.FuncType((), None)}
    assert parse_invoke("g(1, 2)", funcs.get) == ("g", [1, 2, None])
    assert parse_invoke("h()", funcs.get) == ("h", [])
    with pytest.raises(WaveError):
        parse_invoke("nope()", funcs.get)


# ---------------------------------------------------------------------------------------------
# Unit tests: printing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "t", "text"),
    [
        (True, T.BOOL, "true"),
        (42, T.U32, "42"),
        (-5, T.S64, "-5"),
        (-0.0, T.F32, "-0"),
        (1.0, T.F64, "1"),
        (0.1, T.F32, "0.1"),
        (1e21, T.F64, "1000000000000000000000"),
        (1.5e-7, T.F64, "0.00000015"),
        (math.nan, T.F64, "nan"),
        (math.inf, T.F32, "inf"),
        (-math.inf, T.F64, "-inf"),
        (3.4028234663852886e38, T.F32, "340282350000000000000000000000000000000"),
        (1.401298464324817e-45, T.F32, "0.000000000000000000000000000000000000000000001"),
        ("'", T.CHAR, "'\\''"),
        ('"', T.CHAR, "'\\\"'"),
        ("\0", T.CHAR, "'\\u{0}'"),
        ("é", T.CHAR, "'é'"),
        ("hi\n\"q'\\\0\x7fé", T.STRING, '"hi\\n\\"q\\\'\\\\\\u{0}\\u{7f}é"'),
        ("\u0301\u00a0\u200b\ue000", T.STRING, '"\\u{301}\\u{a0}\\u{200b}\\u{e000}"'),
        (b"\x01\x02", T.ListType(T.U8), "[1, 2]"),
        ([], T.ListType(T.U8), "[]"),
        (["a"], T.ListType(T.STRING), '["a"]'),
        (Record(required=1, optional=None), BASIC, "{required: 1}"),
        ({"required": 1, "optional": 2}, BASIC, "{required: 1, optional: some(2)}"),
        (Record(a=None, b=None), OPTS, "{:}"),
        ((1, "a"), T.TupleType((T.U8, T.STRING)), '(1, "a")'),
        ((1,), T.TupleType((T.U8,)), "(1)"),
        (Variant("circle", 5), SHAPE, "circle(5)"),
        (Variant("none"), SHAPE, "%none"),
        ("ok", COLOR, "%ok"),
        (None, T.OptionType(T.U8), "none"),
        (1, T.OptionType(T.U8), "some(1)"),
        (Some(None), T.OptionType(T.OptionType(T.U8)), "some(none)"),
        (Some(1), T.OptionType(T.OptionType(T.U8)), "some(some(1))"),
        (Ok(), T.ResultType(None, T.STRING), "ok"),
        (Err("e"), T.ResultType(None, T.STRING), 'err("e")'),
        (Ok(1), T.ResultType(T.U8, None), "ok(1)"),
        (frozenset({"write", "read"}), PERMS, "{read, write}"),
        (frozenset(), PERMS, "{}"),
    ],
)
def test_format(value: object, t: T.ValType, text: str) -> None:
    assert format_value(value, t) == text


def test_format_results() -> None:
    assert format_results([], T.FuncType((), None)) == "()"
    assert format_results([7], T.FuncType((), T.U32)) == "7"


# ---------------------------------------------------------------------------------------------
# Differential tests against the reference CLI
# ---------------------------------------------------------------------------------------------

REF_CASES: list[tuple[T.ValType, list[object]]] = [
    (T.BOOL, [True, False]),
    (T.U8, [0, 255]),
    (T.S8, [-128, 127]),
    (T.U16, [65535]),
    (T.S16, [-32768]),
    (T.U32, [0, 4294967295]),
    (T.S32, [-2147483648, 2147483647]),
    (T.U64, [18446744073709551615]),
    (T.S64, [-9223372036854775808]),
    (T.F32, [0.0, -0.0, 1.0, 0.1, -3.1415, math.nan, math.inf, -math.inf, 1e-45, 3.4e38,
             16777216.0, 1.17549435e-38, 123456.789, 1e10]),
    (T.F64, [0.0, -0.0, 0.1, 1e21, 1e22, 1.5e-7, 5e-324, 1.7976931348623157e308, math.nan,
             -math.inf, 2.0**53, 123456789.125, 1e-5]),
    (T.CHAR, ["a", "'", '"', "\\", "\n", "\t", "\r", "\0", "\x7f", "é", "\u0301", "\U0001F600",
              "\u00a0", "\ue000", "\u2028"]),
    (T.STRING, ["", "hi", "a\"b'c\\d", "tab\there\r\n", "\x00\x01\x1f\x7f\x80\x9f",
                "\u00ad\u0300\u034f\u200b\u200d\u2060\ufeff\ufff9", "日本語 \U0001F30A",
                " \u3000\u2003", "\U000e0001\U000e0100\U000f0000\U0010ffff"]),
    (T.ListType(T.U8), [b"", b"\x00\xff"]),
    (T.ListType(T.STRING), [[], ["a", "b"]]),
    (T.ListType(T.ListType(T.U32)), [[[1, 2], []]]),
    (BASIC, [Record(required=1, optional=None), Record(required=2, optional=3)]),
    (OPTS, [Record(a=None, b=None), Record(a=None, b=7)]),
    (T.RecordType((("true", T.BOOL), ("none", T.OptionType(T.U8)), ("b-c", T.F32))),
     [Record({"true": True, "none": 5, "b-c": 1.5})]),
    (T.TupleType((T.U8,)), [(1,)]),
    (T.TupleType((T.U8, T.STRING, T.CHAR)), [(1, "a", "b")]),
    (SHAPE, [Variant("circle", 5), Variant("none"), Variant("square", (1, 2))]),
    (COLOR, ["red", "ok"]),
    (T.EnumType(("true", "nan", "inf", "err")), ["true", "nan", "inf", "err"]),
    (T.OptionType(T.U8), [None, 0]),
    (T.OptionType(T.OptionType(T.STRING)), [None, Some(None), Some("x")]),
    (T.ResultType(T.U8, T.STRING), [Ok(1), Err("e")]),
    (T.ResultType(None, None), [Ok(), Err()]),
    (T.ResultType(T.OptionType(T.U8), T.ResultType(None, T.U8)), [Ok(None), Ok(3), Err(Ok()),
                                                                  Err(Err(2))]),
    (PERMS, [frozenset(), frozenset({"write"}), frozenset({"read", "write"})]),
    (T.FlagsType(("true", "some", "x")), [frozenset({"true", "some"})]),
    (T.ListType(T.RecordType((("x", T.OptionType(SHAPE)), ("y", T.ListType(T.F64))))),
     [[Record(x=Variant("none"), y=[0.5]), Record(x=None, y=[])]]),
]


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Echo:
    return Echo([t for t, _ in REF_CASES], tmp_path_factory.mktemp("echo"))


@pytest.mark.parametrize("index", range(len(REF_CASES)))
def test_reference_printing(echo: Echo, index: int) -> None:
    t, values = REF_CASES[index]
    for v in values:
        text = format_value(v, t)
        assert echo.echo(index, text) == text, (t, v)


# Texts Wasmtime accepts: the printed value must match ours after our parse.
REF_PARSE: list[tuple[int, str]] = [
    (9, "1e10"), (9, "3.4028234664e38"), (9, "3.4028234664e39"), (9, "1.4012984643e-46"),
    (9, "-0.0e-0"), (9, "0.000e100"), (9, "1.00000005960464477539062500001"),
    (10, "6.022e+23"), (10, "1E300"), (10, "-0"),
    (11, "'\\u{000078}'"), (11, "'\"'"),
    (12, '"""\n    Trailing indent\n  determines dedent\n      behavior.\n  """'),
    (12, '"""\nBreak up: ""\\""\nescapes: \\\\\\\'\\"\\t\\n\\r\\u{2603}\n"""'),
    (12, '"""\n\nEmpty lines\n\n"""'),
    (12, '"it\'s"'),
    (16, "{ optional: 2, required: 1, }"),
    (16, "{required: 1, optional: none}"),
    (16, "{required: 1, unknown: [1, \"x\"], x: y}"),  # Wasmtime ignores unknown fields
    (17, "{ : }"), (17, "{b: none}"),
    (18, "{none: none, true: true, b-c: -inf}"),
    (18, "{%none: 2, %true: false, %b-c: 0}"),
    (21, "%square((1, 2))"), (21, "%circle(1)"),
    (22, "%red"),
    (24, "7"),
    (26, "5"),
    (27, "ok"), (27, "err"),
    (28, "ok(5)"), (28, "err(ok)"),
    (29, "{ write, read, }"),
    (31, "[ // comment\n {x: circle(1), y: [nan, 1e-3]}, {y: []} ]"),
]


@pytest.mark.parametrize(("index", "text"), REF_PARSE)
def test_reference_parsing(echo: Echo, index: int, text: str) -> None:
    t = REF_CASES[index][0]
    ours = format_value(parse_value(text, t), t)
    assert echo.echo(index, text) == ours


REF_REJECT: list[tuple[int, str]] = [
    (1, "256"), (1, "-0"), (1, "+1"), (1, "01"), (1, "1.0"), (9, "-nan"), (9, "Inf"),
    (11, "'ab'"), (12, '"\\u{D800}"'), (16, "{optional: none}"), (16, "{required: 1, required: 2}"),
    (17, "{}"), (21, "none"), (22, "ok"), (25, "1"), (29, "{read, read}"), (29, "{exec}"),
]


@pytest.mark.parametrize(("index", "text"), REF_REJECT)
def test_reference_rejects(echo: Echo, index: int, text: str) -> None:
    t = REF_CASES[index][0]
    with pytest.raises(WaveError):
        parse_value(text, t)
    out = echo.invoke(f"echo{index}({text}, {PAD_VALUE})")
    assert out.returncode != 0, out.stdout


def test_reference_no_result(tmp_path: Path) -> None:
    wasmtime, wasm_tools = reference()
    wat = tmp_path / "n.wat"
    wat.write_text('(component (core module $m (func (export "n")))\n'
                   '(core instance $i (instantiate $m))\n'
                   '(func (export "n") (canon lift (core func $i "n"))))')
    wasm = tmp_path / "n.wasm"
    subprocess.run([wasm_tools, "parse", str(wat), "-o", str(wasm)], check=True)
    out = subprocess.run([wasmtime, "run", "--invoke", "n()", str(wasm)], capture_output=True,
                         text=True, check=True)
    assert out.stdout == format_results([], T.FuncType((), None)) + "\n"


@settings(max_examples=int(os.environ.get("WASMLOOP_WAVE_RANDOM_EXAMPLES", "3")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(typed_values.flatmap(
    lambda tv: st.tuples(st.just(tv[0]), st.lists(values_of(tv[0]), min_size=1, max_size=3))),
    min_size=12, max_size=12))
def test_reference_random(tmp_path_factory: pytest.TempPathFactory,
                          cases: list[tuple[T.ValType, list[object]]]) -> None:
    """Random types and values: Wasmtime must parse our text and print exactly it back."""
    reference()
    echo = Echo([t for t, _ in cases], tmp_path_factory.mktemp("rand"))
    for i, (t, values) in enumerate(cases):
        for v in values:
            text = format_value(v, t)
            assert echo.echo(i, text) == text, (t, v)


def test_reference_all_code_points(tmp_path: Path) -> None:
    """A string holding every Unicode scalar value prints exactly as Wasmtime prints it."""
    wasmtime, wasm_tools = reference()
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    data = text.encode()
    # WAT string literal: printable ASCII as is, everything else as \u{...}.
    lit = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else f"\\u{{{ord(c):x}}}"
        for c in text
    )
    header = "".join(f"\\{b:02x}" for b in struct.pack("<II", 16, len(data)))
    wat = tmp_path / "all.wat"
    wat.write_text(
        '(component (core module $m (memory (export "mem") 100)\n'
        f'(data (i32.const 8) "{header}")\n(data (i32.const 16) "{lit}")\n'
        '(func (export "s") (result i32) i32.const 8))\n'
        "(core instance $i (instantiate $m))\n"
        '(func (export "s") (result string) (canon lift (core func $i "s") '
        '(memory (core memory $i "mem")) string-encoding=utf8)))\n',
        encoding="utf-8",
    )
    wasm = tmp_path / "all.wasm"
    subprocess.run([wasm_tools, "parse", str(wat), "-o", str(wasm)], check=True)
    out = subprocess.run([wasmtime, "run", "--invoke", "s()", str(wasm)], capture_output=True,
                         check=True)
    assert out.stdout.decode("utf-8") == format_value(text, T.STRING) + "\n"

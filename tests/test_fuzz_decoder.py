"""Malformed input of every shape gives DecodeError (or a successful decode), nothing else."""

from __future__ import annotations

import functools
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_binary_coremodule import MODULE_WAT
from test_binary_decoder import CANON_WAT, component, name, section, uleb, vec, wasm_tools, wat

from wasmloop.binary import ast, decode_component, parse_module_header
from wasmloop.errors import DecodeError

CORE = b"\x00asm\x01\x00\x00\x00"

HAND_MODULE = (
    CORE
    + section(1, vec(b"\x60\x01\x7f\x01\x7f", b"\x4e" + vec(b"\x50\x00\x5f\x01\x7f\x01")))
    + section(2, vec(name("env") + name("m") + b"\x02\x01\x01\x02"))
    + section(3, vec(b"\x00"))
    + section(6, vec(b"\x7e\x00\x42\x05\x42\x01\x7c\x0b"))
    + section(7, vec(name("f") + b"\x00\x00", name("g") + b"\x03\x00", name("m") + b"\x02\x00"))
    + section(10, vec(b"\x04\x00\x20\x00\x0b"))
    + section(0, name("junk") + b"\x01\x02")
)

HAND_COMPONENT = component(
    section(1, HAND_MODULE),
    section(2, vec(b"\x00\x00\x00", b"\x01" + vec(name("x") + b"\x00\x00"))),
    section(3, vec(b"\x50" + vec(b"\x03" + name("e") + b"\x00\x00"))),
    section(
        7,
        vec(
            b"\x72" + vec(name("a") + b"\x7d"),
            b"\x71" + vec(name("c") + b"\x01\x00\x00"),
            b"\x3f\x7f\x00",
            b"\x40" + vec(name("p") + b"\x01") + b"\x00\x73",
            b"\x42" + vec(b"\x01\x70\x73", b"\x04\x00" + name("f") + b"\x01\x00"),
            b"\x41" + vec(b"\x03\x00" + name("i") + b"\x05\x00"),
        ),
    ),
    section(10, vec(b"\x02" + name("imp") + vec(b"\x00" + name("a:b/c")) + b"\x01\x03")),
    section(6, vec(b"\x00\x10\x02\x00\x00", b"\x01\x01\x00" + name("f"))),
    section(8, vec(b"\x00\x00\x00" + vec(b"\x06", b"\x03\x00") + b"\x03", b"\x20\x01\x00")),
    section(4, component(section(7, vec(b"\x73")))),
    section(5, vec(b"\x01" + vec(b"\x00" + name("e") + b"\x01\x00"))),
    section(11, vec(b"\x00" + name("out") + b"\x01\x00\x00")),
    section(12, vec(b"\x73\x04" + name("abc"))),
    section(9, uleb(0) + vec(b"\x00") + uleb(0)),
    section(0, name("component-name") + b"\x00\x02\x01x"),
)


@functools.cache
def seeds() -> tuple[bytes, ...]:
    out = [HAND_COMPONENT]
    if wasm_tools() is not None:
        try:
            out.append(wat(CANON_WAT))
            out.append(
                wat(
                    """(component $c
                      (type (component (import "a" (func)) (export "b" (instance))))
                      (type (instance (export "t" (type (sub resource)))))
                      (component $n (alias outer $c 0 (type)))
                      (import "i" (instance $i (export "f" (func))))
                      (alias export $i "f" (func $f))
                      (export "f2" (func $f))
                    )"""
                )
            )
        except (subprocess.CalledProcessError, pytest.skip.Exception):
            pass
    return tuple(out)


@functools.cache
def module_seeds() -> tuple[bytes, ...]:
    out = [HAND_MODULE]
    if wasm_tools() is not None:
        try:
            out.append(wat(MODULE_WAT))
        except (subprocess.CalledProcessError, pytest.skip.Exception):
            pass
    return tuple(out)


def check_component(data: bytes) -> None:
    try:
        c = decode_component(data)
    except DecodeError:
        return
    for d in c.definitions:
        if isinstance(d, ast.CoreModule):
            check_module(d.data)


def check_module(data: bytes | memoryview) -> None:
    try:
        parse_module_header(data)
    except DecodeError:
        pass


def test_seeds_decode() -> None:
    for s in seeds():
        decode_component(s)
    for m in module_seeds():
        parse_module_header(m)


def test_every_truncation_fails_cleanly() -> None:
    for s in seeds():
        boundaries = {8} | {off + size for _, off, size in decode_component(s).sections}
        for n in range(len(s)):
            if n in boundaries:
                decode_component(s[:n])  # a prefix ending at a section boundary is valid
            else:
                with pytest.raises(DecodeError):
                    decode_component(s[:n])
    for m in module_seeds():
        for n in range(len(m)):
            check_module(m[:n])


FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def mutated(draw: st.DrawFn, pool: tuple[bytes, ...]) -> bytes:
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["set", "insert", "delete", "lebify"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=6))
        elif op == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 4))]
        elif op == "lebify" and data:
            # a huge count or size where a small LEB128 was
            data[pos : pos + 1] = b"\xff\xff\xff\xff\x0f"
    return bytes(data)


@FUZZ
@given(st.data())
def test_mutated_components_fail_cleanly(data: st.DataObject) -> None:
    check_component(data.draw(mutated(seeds())))


@FUZZ
@given(st.data())
def test_mutated_modules_fail_cleanly(data: st.DataObject) -> None:
    check_module(data.draw(mutated(module_seeds())))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_after_a_component_preamble(tail: bytes) -> None:
    check_component(b"\x00asm\x0d\x00\x01\x00" + tail)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_after_a_module_preamble(tail: bytes) -> None:
    check_module(CORE + tail)


@FUZZ
@given(st.integers(0, 12), st.binary(max_size=120))
def test_random_section_bodies(sid: int, body: bytes) -> None:
    check_component(component(section(sid, body)))
    check_module(CORE + section(sid, body))


def test_deep_nesting_fails_cleanly() -> None:
    deep = b"\x00asm\x0d\x00\x01\x00"
    for _ in range(2000):
        deep = component(section(4, deep))
    with pytest.raises(DecodeError):
        decode_component(deep)
    t = b"\x73"
    for _ in range(5000):
        t = b"\x41\x01\x01" + t
    with pytest.raises(DecodeError):
        decode_component(component(section(7, vec(t))))

"""Mutated and truncated component binaries through decode + validate: only DecodeError or
ValidationError may come out, never another exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_validate import INVALID, VALID, wat

from wasmloop.binary import decode_component
from wasmloop.errors import DecodeError, ValidationError
from wasmloop.validate import FEATURES, validate

_SEEDS: list[bytes] = []


def _seeds() -> list[bytes]:
    if not _SEEDS:
        texts = list(VALID.values()) + [t for t, _ in INVALID.values()]
        _SEEDS.extend(wat(t) for t in texts)
    return _SEEDS


def _run(data: bytes) -> None:
    try:
        validate(decode_component(data), FEATURES)
    except (DecodeError, ValidationError):
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_mutated_binaries_raise_only_wasmloop_errors(data: st.DataObject) -> None:
    seeds = _seeds()
    seed = bytearray(data.draw(st.sampled_from(seeds)))
    n = data.draw(st.integers(1, 6))
    for _ in range(n):
        op = data.draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if not seed:
            break
        i = data.draw(st.integers(8, max(8, len(seed) - 1))) if len(seed) > 8 else 0
        i = min(i, len(seed) - 1)
        if op == "flip":
            seed[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set":
            seed[i] = data.draw(st.integers(0, 255))
        elif op == "truncate":
            del seed[i:]
        elif op == "insert":
            seed.insert(i, data.draw(st.integers(0, 255)))
        else:
            del seed[i]
    _run(bytes(seed))


def test_every_truncation_of_a_seed_is_handled() -> None:
    for seed in _seeds()[:6]:
        for k in range(0, len(seed), 3):
            _run(seed[:k])

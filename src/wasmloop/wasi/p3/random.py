"""``wasi:random@0.3.0``: secure random bytes from the OS, insecure ones from a per-context
generator, and the insecure seed."""

from __future__ import annotations

from ...host import Linker
from ..ctx import WasiCtx

__all__ = ["register", "MAX_RANDOM_BYTES"]

VERSION = "0.3.0"

#: The most bytes one call returns (the 0.3 functions return *at most* ``max-len``).
MAX_RANDOM_BYTES = 64 * 1024 * 1024


class Random:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_random_bytes(self, max_len: int) -> bytes:
        return self._ctx.secure_random(min(max_len, MAX_RANDOM_BYTES))

    def get_random_u64(self) -> int:
        return int.from_bytes(self._ctx.secure_random(8), "little")


class Insecure:
    def __init__(self, ctx: WasiCtx) -> None:
        self._rng = ctx.insecure_random

    def get_insecure_random_bytes(self, max_len: int) -> bytes:
        return self._rng.randbytes(min(max_len, MAX_RANDOM_BYTES))

    def get_insecure_random_u64(self) -> int:
        return self._rng.getrandbits(64)


class InsecureSeed:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_insecure_seed(self) -> tuple[int, int]:
        return self._ctx.insecure_seed


def register(linker: Linker, ctx: WasiCtx) -> None:
    v = VERSION
    linker.define_interface(f"wasi:random/random@{v}", Random(ctx))
    linker.define_interface(f"wasi:random/insecure@{v}", Insecure(ctx))
    linker.define_interface(f"wasi:random/insecure-seed@{v}", InsecureSeed(ctx))

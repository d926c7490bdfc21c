"""``wasi:random@0.2``: ``random`` (the OS's CSPRNG), ``insecure`` and ``insecure-seed`` (from
the context)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ctx import WasiCtx

if TYPE_CHECKING:
    from wasmloop.host import Linker

__all__ = ["register", "MAX_BYTES"]

VERSION = "0.2.12"

#: The most bytes one call returns: more could never fit in a guest's 32-bit memory.
MAX_BYTES = 1 << 32


def _check_len(length: int, where: str) -> None:
    if length > MAX_BYTES:
        raise ValueError(f"{where}: {length} bytes asked for; a guest memory holds at most "
                         f"{MAX_BYTES}")


class Random:
    """``wasi:random/random``."""

    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_random_bytes(self, length: int) -> bytes:
        _check_len(length, "get-random-bytes")
        return self._ctx.secure_random(length)

    def get_random_u64(self) -> int:
        return int.from_bytes(self._ctx.secure_random(8), "little")


class Insecure:
    """``wasi:random/insecure``."""

    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_insecure_random_bytes(self, length: int) -> bytes:
        _check_len(length, "get-insecure-random-bytes")
        return self._ctx.insecure_random.randbytes(length)

    def get_insecure_random_u64(self) -> int:
        return self._ctx.insecure_random.getrandbits(64)


class InsecureSeed:
    """``wasi:random/insecure-seed``."""

    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def insecure_seed(self) -> tuple[int, int]:
        a, b = self._ctx.insecure_seed
        return a, b


def register(linker: Linker, ctx: WasiCtx) -> None:
    """Define ``wasi:random/{random,insecure,insecure-seed}@0.2.12`` on ``linker``."""
    linker.define_interface(f"wasi:random/random@{VERSION}", Random(ctx))
    linker.define_interface(f"wasi:random/insecure@{VERSION}", Insecure(ctx))
    linker.define_interface(f"wasi:random/insecure-seed@{VERSION}", InsecureSeed(ctx))

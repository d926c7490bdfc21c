"""The WASI 0.3 front end: async funcs, ``stream<T>`` and ``future<T>`` over the shared
backend. ``register(linker, ctx)`` defines every 0.3 interface on a linker."""

from __future__ import annotations

import importlib

from ...host import Linker
from ..ctx import WasiCtx

__all__ = ["register", "PARTS"]

#: The modules of this front end, each with ``register(linker, ctx)``.
PARTS = ("cli", "clocks", "random", "filesystem", "sockets")


def register(linker: Linker, ctx: WasiCtx) -> None:
    for part in PARTS:
        try:
            mod = importlib.import_module(f"{__name__}.{part}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{part}":
                raise
            continue
        mod.register(linker, ctx)

"""The WASI 0.2 front end: ``wasi:io`` pollables and streams, ``wasi:cli``, ``wasi:clocks``,
``wasi:random`` (and ``wasi:filesystem``/``wasi:sockets`` where those modules exist), all at
``@0.2.12``; imports of any ``@0.2.x`` find them.

``register(linker, ctx)`` defines them all on a linker, serving from ``ctx``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import cli, clocks, io, random

if TYPE_CHECKING:
    from wasmloop.host import Linker

    from ..ctx import WasiCtx

__all__ = ["register", "VERSION"]

VERSION = "0.2.12"

#: Front-end modules made elsewhere, registered when present.
_OPTIONAL = ("filesystem", "sockets")


def register(linker: Linker, ctx: WasiCtx) -> None:
    """Define every WASI 0.2 interface on ``linker``, serving from ``ctx``."""
    io.register(linker, ctx)
    cli.register(linker, ctx)
    clocks.register(linker, ctx)
    random.register(linker, ctx)
    for name in _OPTIONAL:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            continue
        reg = getattr(mod, "register", None)
        if reg is not None:
            reg(linker, ctx)

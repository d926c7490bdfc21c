"""WASI for wasmloop: WASI 0.3 (async funcs, streams, futures) and the WASI 0.2 surface
(``wasi:io`` pollables and streams) that toolchains still import beside it, on one backend and
the one asyncio loop.

```python
import wasmloop
from wasmloop import wasi

engine = wasmloop.Engine()
component = wasmloop.Component.from_file(engine, "app.wasm")
config = wasi.WasiConfig(args=["app", "--verbose"], env={"LANG": "C"},
                         stdout="inherit", stderr="inherit")
config.preopen("./data", "/data", read_only=True)
code = await wasi.run(component, config)          # runs wasi:cli/run, returns the exit code
```

``add_to_linker(linker, config)`` defines every WASI interface (0.3.0 and 0.2.x, matched by
semver-compatible name) on a linker, for components that are not commands or that need other
imports too. WASI is built only on the public embedding API (``Linker.define_interface``, host
resource classes, ``stream_from``/``future_from``), like any user's host code.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import LinkError, Trap
from ..host import Component, Func, Instance, Linker
from ..interfaces import compat_key
from ..values import Ok
from .ctx import Exit, NetworkPolicy, Preopen, WasiConfig, WasiCtx

__all__ = [
    "WasiConfig",
    "WasiCtx",
    "Preopen",
    "NetworkPolicy",
    "Exit",
    "add_to_linker",
    "run",
    "run_command",
    "flush_stdio",
    "find_run",
    "exit_code_of",
]

_FRONT_ENDS = ("p3", "p2")


def add_to_linker(linker: Linker, config: WasiConfig | WasiCtx | None = None) -> WasiCtx:
    """Define every WASI interface on ``linker``; returns the context they share."""
    ctx = config if isinstance(config, WasiCtx) else WasiCtx(config or WasiConfig())
    for fe in _FRONT_ENDS:
        register = getattr(importlib.import_module(f"{__name__}.{fe}"), "register", None)
        if register is not None:
            register(linker, ctx)
    return ctx


def find_run(instance: Instance) -> Func:
    """The ``run`` function of an instance's ``wasi:cli/run`` export (0.3 preferred, 0.2
    accepted, any compatible version)."""
    best: tuple[tuple[int, ...], str] | None = None
    for name in instance.exports:
        key = compat_key(name)
        if key is not None and key[0] == "wasi:cli/run" and key[1][:2] in ((0, 3), (0, 2)):
            if best is None or key[1] > best[0]:
                best = (key[1], name)
    if best is None:
        raise LinkError("the component does not export `wasi:cli/run` (it is not a command); "
                        "call one of its exports with --invoke instead")
    run_fn = instance.exports[best[1]]["run"]
    if not isinstance(run_fn, Func):
        raise LinkError(f"`{best[1]}` has no function `run`")
    return run_fn


def exit_code_of(exc: BaseException) -> int | None:
    """The status a guest asked for with ``wasi:cli/exit``, if ``exc`` (a ``Trap``) came from
    that, else None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, Exit):
            return e.code
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


async def run(component: Component, config: WasiConfig | WasiCtx | None = None, *,
              linker: Linker | None = None) -> int:
    """Instantiate a command component with WASI and run ``wasi:cli/run``.

    ``linker`` may hold definitions of your own for the component's other imports; WASI is
    added to it. Returns the exit code: the guest's own (``exit``/``exit-with-code``), 0 when
    ``run`` returns ``ok``, 1 when it returns ``err``. A trap raises ``wasmloop.Trap``.
    Everything the guest wrote to stdout/stderr has been handed on when this returns."""
    linker = linker if linker is not None else Linker(component.engine)
    ctx = add_to_linker(linker, config)
    instance = await linker.instantiate(component)
    try:
        return await run_command(instance, ctx)
    finally:
        instance.close()


async def run_command(instance: Instance, ctx: WasiCtx) -> int:
    """Run the ``wasi:cli/run`` export of an instance linked with ``ctx`` (by
    ``add_to_linker``); returns the exit code as ``run`` does."""
    run_fn = find_run(instance)
    try:
        result = await run_fn()
    except Trap as t:
        code = exit_code_of(t)
        if code is None:
            raise
        return code
    finally:
        await flush_stdio(ctx)
    return 0 if isinstance(result, Ok) else 1


async def flush_stdio(ctx: WasiCtx) -> None:
    """Hand on whatever a guest wrote to stdout/stderr, through either front end."""
    for fe in _FRONT_ENDS:
        try:
            mod: Any = importlib.import_module(f"{__name__}.{fe}.cli")
        except ModuleNotFoundError:
            continue
        drain = getattr(mod, "drain_stdio", None) or getattr(mod, "flush_stdio", None)
        if drain is not None:
            await drain(ctx)
    await ctx.stdout.flush()
    await ctx.stderr.flush()

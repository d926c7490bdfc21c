"""``wasi:cli@0.2``: environment, exit, stdin/stdout/stderr as ``wasi:io`` streams, terminals.

Every ``get-stdout`` (``get-stdin``, ``get-stderr``) of one context returns a new handle on one
shared stream, so whichever handle a guest writes through, output keeps its order, and a handle
dropped with bytes still queued loses nothing. ``flush_stdio(ctx)`` waits until what the guest
wrote was handed to the context's backends (``wasmloop.wasi.run`` calls it at the end).
``wasi:cli/run`` is an export of the guest, not defined here.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from wasmloop.values import Ok

from ..ctx import Exit, WasiCtx
from .io import InputStream, OutputStream

if TYPE_CHECKING:
    from wasmloop.host import Linker

__all__ = ["register", "flush_stdio", "drain_stdio", "stdio"]

VERSION = "0.2.12"


class Stdio:
    """The 0.2 stdio streams of one context (the root handles; guests get shares)."""

    __slots__ = ("stdin", "stdout", "stderr", "__weakref__")

    def __init__(self, ctx: WasiCtx) -> None:
        self.stdin = InputStream(ctx.stdin)
        self.stdout = OutputStream(ctx.stdout)
        self.stderr = OutputStream(ctx.stderr)


_STDIO: weakref.WeakKeyDictionary[WasiCtx, Stdio] = weakref.WeakKeyDictionary()


def stdio(ctx: WasiCtx) -> Stdio:
    """The shared 0.2 stdio streams of ``ctx`` (made on first use)."""
    s = _STDIO.get(ctx)
    if s is None:
        s = _STDIO[ctx] = Stdio(ctx)
    return s


async def flush_stdio(ctx: WasiCtx) -> None:
    """Wait until everything a guest wrote to 0.2 stdout/stderr reached ``ctx``'s backends."""
    s = _STDIO.get(ctx)
    if s is None:
        return
    await s.stdout.drained()
    await s.stderr.drained()


drain_stdio = flush_stdio


class Environment:
    """``wasi:cli/environment``."""

    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_environment(self) -> list[tuple[str, str]]:
        return list(self._ctx.env)

    def get_arguments(self) -> list[str]:
        return list(self._ctx.args)

    def initial_cwd(self) -> str | None:
        return self._ctx.cwd


class ExitInterface:
    """``wasi:cli/exit``: raises ``Exit``, which ends the run (the guest traps)."""

    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def exit(self, status: Any) -> None:
        self._exit(0 if isinstance(status, Ok) else 1)

    def exit_with_code(self, status_code: int) -> None:
        self._exit(status_code)

    def _exit(self, code: int) -> None:
        self._ctx.exit_code = code
        raise Exit(code)


class StdinInterface:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_stdin(self) -> InputStream:
        return stdio(self._ctx).stdin.share()


class StdoutInterface:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_stdout(self) -> OutputStream:
        return stdio(self._ctx).stdout.share()


class StderrInterface:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_stderr(self) -> OutputStream:
        return stdio(self._ctx).stderr.share()


class TerminalInput:
    """The ``terminal-input`` resource (no methods in 0.2)."""


class TerminalOutput:
    """The ``terminal-output`` resource (no methods in 0.2)."""


class TerminalInputInterface:
    TerminalInput = TerminalInput


class TerminalOutputInterface:
    TerminalOutput = TerminalOutput


class TerminalStdin:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_terminal_stdin(self) -> TerminalInput | None:
        return TerminalInput() if getattr(self._ctx.stdin, "is_terminal", False) else None


class TerminalStdout:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_terminal_stdout(self) -> TerminalOutput | None:
        return TerminalOutput() if getattr(self._ctx.stdout, "is_terminal", False) else None


class TerminalStderr:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_terminal_stderr(self) -> TerminalOutput | None:
        return TerminalOutput() if getattr(self._ctx.stderr, "is_terminal", False) else None


def register(linker: Linker, ctx: WasiCtx) -> None:
    """Define ``wasi:cli/*@0.2.12`` (all but the ``run`` export) on ``linker``."""
    v = VERSION
    linker.define_interface(f"wasi:cli/environment@{v}", Environment(ctx))
    linker.define_interface(f"wasi:cli/exit@{v}", ExitInterface(ctx))
    linker.define_interface(f"wasi:cli/stdin@{v}", StdinInterface(ctx))
    linker.define_interface(f"wasi:cli/stdout@{v}", StdoutInterface(ctx))
    linker.define_interface(f"wasi:cli/stderr@{v}", StderrInterface(ctx))
    linker.define_interface(f"wasi:cli/terminal-input@{v}", TerminalInputInterface())
    linker.define_interface(f"wasi:cli/terminal-output@{v}", TerminalOutputInterface())
    linker.define_interface(f"wasi:cli/terminal-stdin@{v}", TerminalStdin(ctx))
    linker.define_interface(f"wasi:cli/terminal-stdout@{v}", TerminalStdout(ctx))
    linker.define_interface(f"wasi:cli/terminal-stderr@{v}", TerminalStderr(ctx))

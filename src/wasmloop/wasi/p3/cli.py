"""``wasi:cli@0.3.0``: environment, exit, stdio as ``stream<u8>``, terminals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ...host import Linker
from ...streams import EndOfStream, StreamReader
from ...values import Err, Ok
from ..cli import InputStream, OutputStream
from ..ctx import Exit, WasiCtx

__all__ = ["register", "drain_stdio"]

VERSION = "0.3.0"

#: Bytes a stdout/stderr pump asks for at a time.
CHUNK = 256 * 1024


class Environment:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_environment(self) -> list[tuple[str, str]]:
        return list(self._ctx.env)

    def get_arguments(self) -> list[str]:
        return list(self._ctx.args)

    def get_initial_cwd(self) -> str | None:
        return self._ctx.cwd


class ExitIface:
    @staticmethod
    def exit(status: Any) -> None:
        raise Exit(0 if isinstance(status, Ok) else 1)

    @staticmethod
    def exit_with_code(status_code: int) -> None:
        raise Exit(status_code)


class _Pumps:
    """The stdout/stderr pumps of one context: ``drain()`` waits until each pump has handed
    on everything it took from the guest (a guest write completes only once the pump took
    its bytes, so after ``run`` returns nothing written is lost)."""

    def __init__(self) -> None:
        self.busy: set[asyncio.Future[None]] = set()

    async def pump(self, data: StreamReader, out: OutputStream) -> Any:
        try:
            while True:
                try:
                    chunk = await data.read(CHUNK)
                except EndOfStream:
                    return Ok()
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self.busy.add(done)
                try:
                    await out.write(chunk)
                finally:
                    self.busy.discard(done)
                    done.set_result(None)
        except OSError:
            return Err("io")
        finally:
            data.close()

    async def drain(self) -> None:
        while self.busy:
            await asyncio.gather(*list(self.busy))
        await asyncio.sleep(0)


class Output:
    def __init__(self, out: OutputStream, pumps: _Pumps) -> None:
        self._out = out
        self._pumps = pumps

    def write_via_stream(self, data: StreamReader) -> Any:
        return self._pumps.pump(data, self._out)


class Stdin:
    def __init__(self, inp: InputStream) -> None:
        self._in = inp

    def read_via_stream(self) -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Any] = loop.create_future()

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while True:
                    try:
                        data = await self._in.read(CHUNK)
                    except OSError:
                        if not result.done():
                            result.set_result(Err("io"))
                        return
                    if not data:
                        return
                    yield data
            finally:
                if not result.done():
                    result.set_result(Ok())

        return chunks(), result


class TerminalInput:
    pass


class TerminalOutput:
    pass


class _TermIn:
    TerminalInput = TerminalInput


class _TermOut:
    TerminalOutput = TerminalOutput


class _TermStd:
    def __init__(self, ctx: WasiCtx) -> None:
        self._ctx = ctx

    def get_terminal_stdin(self) -> TerminalInput | None:
        return TerminalInput() if self._ctx.stdin.is_terminal else None

    def get_terminal_stdout(self) -> TerminalOutput | None:
        return TerminalOutput() if self._ctx.stdout.is_terminal else None

    def get_terminal_stderr(self) -> TerminalOutput | None:
        return TerminalOutput() if self._ctx.stderr.is_terminal else None


def _pumps(ctx: WasiCtx) -> _Pumps:
    p = getattr(ctx, "_p3_pumps", None)
    if p is None:
        p = _Pumps()
        ctx._p3_pumps = p  # type: ignore[attr-defined]
    return p


async def drain_stdio(ctx: WasiCtx) -> None:
    """Wait until stdout/stderr written through 0.3 streams has been handed on."""
    p = getattr(ctx, "_p3_pumps", None)
    if p is not None:
        await p.drain()


def register(linker: Linker, ctx: WasiCtx) -> None:
    v = VERSION
    pumps = _pumps(ctx)
    term = _TermStd(ctx)
    linker.define_interface(f"wasi:cli/environment@{v}", Environment(ctx))
    linker.define_interface(f"wasi:cli/exit@{v}", ExitIface())
    linker.define_interface(f"wasi:cli/types@{v}", object())
    linker.define_interface(f"wasi:cli/stdin@{v}", Stdin(ctx.stdin))
    linker.define_interface(f"wasi:cli/stdout@{v}", Output(ctx.stdout, pumps))
    linker.define_interface(f"wasi:cli/stderr@{v}", Output(ctx.stderr, pumps))
    linker.define_interface(f"wasi:cli/terminal-input@{v}", _TermIn())
    linker.define_interface(f"wasi:cli/terminal-output@{v}", _TermOut())
    for name in ("terminal-stdin", "terminal-stdout", "terminal-stderr"):
        linker.define_interface(f"wasi:cli/{name}@{v}", term)

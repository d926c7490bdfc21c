"""The stdio backend: what ``wasi:cli`` stdin/stdout/stderr read from and write to.

``InputStream.read(n)`` returns up to ``n`` bytes as soon as any are available (``b""`` at the
end); ``OutputStream.write(data)`` returns once ``data`` was handed on. Both front ends (0.3
``stream<u8>``, 0.2 ``input-stream``/``output-stream``) sit on these. Reading the process's own
stdin is lazy (nothing is read until the guest reads) and never blocks the loop; writes to a pipe
go through a worker thread, so a slow reader holds back only the guest that writes.
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

__all__ = ["InputStream", "OutputStream", "make_input", "make_output"]


class InputStream:
    """Base: an empty input."""

    is_terminal = False

    async def read(self, n: int) -> bytes:
        return b""

    def close(self) -> None:
        pass


class OutputStream:
    """Base: an output that discards what it is given."""

    is_terminal = False

    async def write(self, data: bytes) -> None:
        pass

    async def flush(self) -> None:
        pass

    def getvalue(self) -> bytes:
        raise ValueError("this output is not captured")


class BytesInput(InputStream):
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(bytes(data))
        self._pos = 0

    async def read(self, n: int) -> bytes:
        chunk = self._data[self._pos:self._pos + n]
        self._pos += len(chunk)
        return bytes(chunk)


class AsyncIterInput(InputStream):
    def __init__(self, source: AsyncIterable[bytes]) -> None:
        self._it: AsyncIterator[bytes] = source.__aiter__()
        self._left = b""
        self._eof = False

    async def read(self, n: int) -> bytes:
        while not self._left and not self._eof:
            try:
                self._left = bytes(await self._it.__anext__())
            except StopAsyncIteration:
                self._eof = True
        chunk, self._left = self._left[:n], self._left[n:]
        return chunk


class FileInput(InputStream):
    """A Python binary file object, read in a worker thread."""

    def __init__(self, f: Any) -> None:
        self._f = f

    async def read(self, n: int) -> bytes:
        read1 = getattr(self._f, "read1", None) or self._f.read
        data = await asyncio.get_running_loop().run_in_executor(None, read1, n)
        return bytes(data or b"")


class FdInput(InputStream):
    """A file descriptor of this process (stdin when inherited).

    Pipes, sockets and terminals are read when the loop says they are readable, so a read
    that would wait costs no thread and never outlives the loop; regular files are read
    directly."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            mode = 0
        self._regular = stat.S_ISREG(mode) or stat.S_ISBLK(mode)
        self.is_terminal = _isatty(fd)
        self._eof = False

    async def read(self, n: int) -> bytes:
        if self._eof:
            return b""
        if not self._regular:
            loop = asyncio.get_running_loop()
            ready = loop.create_future()
            try:
                loop.add_reader(self._fd, _set_once, ready)
            except (OSError, ValueError, NotImplementedError, PermissionError):
                self._regular = True  # cannot be watched (e.g. /dev/null): read directly
            else:
                try:
                    await ready
                finally:
                    loop.remove_reader(self._fd)
        try:
            data = os.read(self._fd, n)
        except BlockingIOError:
            return await self.read(n)
        except OSError:
            data = b""
        if not data:
            self._eof = True
        return data


class CaptureOutput(OutputStream):
    def __init__(self) -> None:
        self._buf = bytearray()

    async def write(self, data: bytes) -> None:
        self._buf += data

    def getvalue(self) -> bytes:
        return bytes(self._buf)


class FileOutput(OutputStream):
    """A Python file object (text or binary); in-memory files are written directly, others
    in a worker thread."""

    def __init__(self, f: Any) -> None:
        self._f = f
        self._direct = isinstance(f, io.BytesIO | io.StringIO)
        self._text = isinstance(f, io.TextIOBase)
        self.is_terminal = bool(getattr(f, "isatty", lambda: False)())

    def _write(self, data: bytes) -> None:
        if self._text:
            self._f.write(data.decode("utf-8", "replace"))
        else:
            self._f.write(data)
        flush = getattr(self._f, "flush", None)
        if flush is not None:
            flush()

    async def write(self, data: bytes) -> None:
        if self._direct:
            self._write(data)
        else:
            await asyncio.get_running_loop().run_in_executor(None, self._write, data)


class FdOutput(OutputStream):
    """A file descriptor of this process (stdout/stderr when inherited). Regular files and
    terminals are written directly; pipes and sockets in a worker thread, so a reader that
    does not keep up holds back only the writing guest."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            mode = 0
        self.is_terminal = _isatty(fd)
        self._direct = stat.S_ISREG(mode) or stat.S_ISCHR(mode)

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            try:
                k = os.write(self._fd, view)
            except BrokenPipeError:
                return  # the reader is gone: as a terminal would, drop the output
            except InterruptedError:
                continue
            view = view[k:]

    async def write(self, data: bytes) -> None:
        if self._direct or len(data) <= 512:
            self._write_all(data)
        else:
            await asyncio.get_running_loop().run_in_executor(None, self._write_all, data)


def _set_once(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def make_input(spec: Any) -> InputStream:
    if spec is None:
        return InputStream()
    if isinstance(spec, InputStream):
        return spec
    if spec == "inherit":
        return FdInput(0)
    if isinstance(spec, bytes | bytearray | memoryview):
        return BytesInput(bytes(spec))
    if isinstance(spec, str):
        raise ValueError(f"stdin must be None, 'inherit', bytes, a file or an async iterable, "
                         f"not {spec!r}")
    if hasattr(spec, "__aiter__"):
        return AsyncIterInput(spec)
    if hasattr(spec, "read"):
        return FileInput(spec)
    raise TypeError(f"cannot read stdin from {type(spec).__name__}")


def make_output(spec: Any, fd: int) -> OutputStream:
    if spec is None:
        return OutputStream()
    if isinstance(spec, OutputStream):
        return spec
    if spec == "inherit":
        return FdOutput(fd)
    if spec == "capture":
        return CaptureOutput()
    if isinstance(spec, str):
        raise ValueError(f"an output must be None, 'inherit', 'capture' or a file, not {spec!r}")
    if hasattr(spec, "write"):
        return FileOutput(spec)
    raise TypeError(f"cannot write output to {type(spec).__name__}")

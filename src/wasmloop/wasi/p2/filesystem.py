"""``wasi:filesystem@0.2.12`` (``types`` and ``preopens``) on the shared backend
(``wasmloop.wasi.filesystem``). This is the interface wasi-libc (and so every componentize-py
guest's ``open()``, ``os.listdir()`` …) goes through.

The WIT functions are synchronous; they are ``async def`` here, so a call suspends only the
calling guest's fiber while a worker thread does the system call. ``read-via-stream``,
``write-via-stream`` and ``append-via-stream`` give ``wasi:io`` streams
(``wasmloop.wasi.p2.io``) over small file backends; ``read-directory`` gives a
``directory-entry-stream``; ``filesystem-error-code`` reads the exception an ``error`` holds.
Errors are ``Err(code)`` with ``code`` a str (0.2's ``error-code`` is an enum).
"""

from __future__ import annotations

from typing import Any

from ...host import Linker
from ...values import Err, Ok
from .. import filesystem as fsb
from ..ctx import WasiCtx
from ..filesystem import FsError, TimeSpec, timestamp_ns
from .io import Error, InputStream, OutputStream

__all__ = ["register", "Descriptor", "DirectoryEntryStream", "Types", "Preopens"]

VERSION = "0.2.12"


def _err(e: FsError) -> Err[Any]:
    return Err(e.code)


def _datetime(ns: int | None) -> dict[str, int] | None:
    if ns is None or ns < 0:
        return None  # 0.2's datetime has unsigned seconds: Wasmtime leaves such times out
    s, n = divmod(ns, 1_000_000_000)
    return {"seconds": s, "nanoseconds": n}


def _stat(st: fsb.Stat) -> dict[str, Any]:
    return {
        "type": st.type,
        "link-count": st.link_count,
        "size": st.size,
        "data-access-timestamp": _datetime(st.atime),
        "data-modification-timestamp": _datetime(st.mtime),
        "status-change-timestamp": _datetime(st.ctime),
    }


def _timespec(t: Any) -> TimeSpec:
    case = getattr(t, "case", t)
    if case == "no-change":
        return None
    if case == "now":
        return "now"
    v = t.value
    return timestamp_ns(int(v["seconds"]), int(v["nanoseconds"]))


def _hash(h: tuple[int, int]) -> dict[str, int]:
    return {"lower": h[0], "upper": h[1]}


class _FileReader:
    """The backend of a file's ``input-stream``: reads from an offset onwards (its own ``dup``
    of the file, so the stream outlives the descriptor as in Wasmtime)."""

    def __init__(self, f: fsb.Descriptor, offset: int) -> None:
        self._f = f
        self._offset = offset

    async def read(self, n: int) -> bytes:
        data = await self._f.read(n, self._offset)
        self._offset += len(data)
        return data

    def close(self) -> None:
        self._f.close()


class _FileWriter:
    """The backend of a file's ``output-stream``: writes at an offset that moves on, or
    appends (``offset=None``)."""

    def __init__(self, f: fsb.Descriptor, offset: int | None) -> None:
        self._f = f
        self._offset = offset

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            part = bytes(view)
            if self._offset is None:
                n = await self._f.append(part)
            else:
                n = await self._f.write(part, self._offset)
                self._offset += n
            if n <= 0:
                raise FsError("io", "the file took no bytes")
            view = view[n:]

    async def flush(self) -> None:
        return None

    def close(self) -> None:
        self._f.close()


class DirectoryEntryStream:
    """``directory-entry-stream``: the listing read when ``read-directory`` was called."""

    def __init__(self, entries: list[tuple[str, str]], error: FsError | None) -> None:
        self._entries = entries
        self._pos = 0
        self._error = error

    def read_directory_entry(self) -> Any:
        if self._pos < len(self._entries):
            name, kind = self._entries[self._pos]
            self._pos += 1
            return Ok({"type": kind, "name": name})
        if self._error is not None:
            e, self._error = self._error, None
            return _err(e)
        return Ok(None)


class Descriptor:
    """``descriptor``: a guest's handle on a backend descriptor (closed when dropped)."""

    def __init__(self, b: fsb.Descriptor) -> None:
        self.b = b

    def drop(self) -> None:
        self.b.close()

    def read_via_stream(self, offset: int) -> Any:
        if self.b.kind == "dir":
            return Err("is-directory")
        return Ok(InputStream(_FileReader(self.b.dup(), offset)))

    def write_via_stream(self, offset: int) -> Any:
        return self._writer(offset)

    def append_via_stream(self) -> Any:
        return self._writer(None)

    def _writer(self, offset: int | None) -> Any:
        if self.b.kind == "dir":
            return Err("bad-descriptor")
        if self.b.read_only:
            return Err("not-permitted")
        return Ok(OutputStream(_FileWriter(self.b.dup(), offset)))

    async def advise(self, offset: int, length: int, advice: str) -> Any:
        try:
            await self.b.advise(offset, length, advice)
            return Ok()
        except FsError as e:
            return _err(e)

    async def sync_data(self) -> Any:
        try:
            await self.b.sync_data()
            return Ok()
        except FsError as e:
            return _err(e)

    async def sync(self) -> Any:
        try:
            await self.b.sync()
            return Ok()
        except FsError as e:
            return _err(e)

    async def get_flags(self) -> Any:
        try:
            return Ok(await self.b.get_flags())
        except FsError as e:
            return _err(e)

    async def get_type(self) -> Any:
        try:
            return Ok(await self.b.get_type())
        except FsError as e:
            return _err(e)

    async def set_size(self, size: int) -> Any:
        try:
            await self.b.set_size(size)
            return Ok()
        except FsError as e:
            return _err(e)

    async def set_times(self, data_access_timestamp: Any, data_modification_timestamp: Any,
                        ) -> Any:
        try:
            await self.b.set_times(_timespec(data_access_timestamp),
                                   _timespec(data_modification_timestamp))
            return Ok()
        except FsError as e:
            return _err(e)

    async def read(self, length: int, offset: int) -> Any:
        """At most 64 KiB; the end flag is set only when nothing was read (as in Wasmtime)."""
        try:
            data = await self.b.read(length, offset)
        except FsError as e:
            return _err(e)
        return Ok((data, not data))

    async def write(self, buffer: bytes, offset: int) -> Any:
        try:
            return Ok(await self.b.write(bytes(buffer), offset))
        except FsError as e:
            return _err(e)

    async def read_directory(self) -> Any:
        try:
            entries, error = await self.b.read_directory()
        except FsError as e:
            return _err(e)
        return Ok(DirectoryEntryStream(entries, error))

    async def create_directory_at(self, path: str) -> Any:
        try:
            await self.b.create_directory_at(path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def stat(self) -> Any:
        try:
            return Ok(_stat(await self.b.stat()))
        except FsError as e:
            return _err(e)

    async def stat_at(self, path_flags: frozenset[str], path: str) -> Any:
        try:
            return Ok(_stat(await self.b.stat_at(path_flags, path)))
        except FsError as e:
            return _err(e)

    async def set_times_at(self, path_flags: frozenset[str], path: str,
                           data_access_timestamp: Any, data_modification_timestamp: Any) -> Any:
        try:
            await self.b.set_times_at(path_flags, path, _timespec(data_access_timestamp),
                                      _timespec(data_modification_timestamp))
            return Ok()
        except FsError as e:
            return _err(e)

    async def link_at(self, old_path_flags: frozenset[str], old_path: str,
                      new_descriptor: Descriptor, new_path: str) -> Any:
        try:
            await self.b.link_at(old_path_flags, old_path, new_descriptor.b, new_path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def open_at(self, path_flags: frozenset[str], path: str, open_flags: frozenset[str],
                      flags: frozenset[str]) -> Any:
        try:
            return Ok(Descriptor(await self.b.open_at(path_flags, path, open_flags, flags)))
        except FsError as e:
            return _err(e)

    async def readlink_at(self, path: str) -> Any:
        try:
            return Ok(await self.b.readlink_at(path))
        except FsError as e:
            return _err(e)

    async def remove_directory_at(self, path: str) -> Any:
        try:
            await self.b.remove_directory_at(path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def rename_at(self, old_path: str, new_descriptor: Descriptor, new_path: str) -> Any:
        try:
            await self.b.rename_at(old_path, new_descriptor.b, new_path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def symlink_at(self, old_path: str, new_path: str) -> Any:
        try:
            await self.b.symlink_at(old_path, new_path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def unlink_file_at(self, path: str) -> Any:
        try:
            await self.b.unlink_file_at(path)
            return Ok()
        except FsError as e:
            return _err(e)

    async def is_same_object(self, other: Descriptor) -> bool:
        try:
            return await self.b.is_same_object(other.b)
        except FsError:
            return False

    async def metadata_hash(self) -> Any:
        try:
            return Ok(_hash(await self.b.metadata_hash()))
        except FsError as e:
            return _err(e)

    async def metadata_hash_at(self, path_flags: frozenset[str], path: str) -> Any:
        try:
            return Ok(_hash(await self.b.metadata_hash_at(path_flags, path)))
        except FsError as e:
            return _err(e)


_Handle = Descriptor


class Types:
    """``wasi:filesystem/types@0.2.12``."""

    Descriptor = Descriptor
    DirectoryEntryStream = DirectoryEntryStream

    @staticmethod
    def filesystem_error_code(err: Error) -> str | None:
        return fsb.error_code(err.exc)


class Preopens:
    """``wasi:filesystem/preopens@0.2.12``: a fresh handle on each preopen per call."""

    Descriptor = Descriptor

    def __init__(self, fs: fsb.Filesystem) -> None:
        self._fs = fs

    def get_directories(self) -> list[tuple[_Handle, str]]:
        return [(Descriptor(d.dup()), name) for d, name in self._fs.preopens]


def register(linker: Linker, ctx: WasiCtx) -> None:
    fs = fsb.filesystem(ctx)
    linker.define_interface(f"wasi:filesystem/types@{VERSION}", Types())
    linker.define_interface(f"wasi:filesystem/preopens@{VERSION}", Preopens(fs))

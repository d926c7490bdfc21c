"""``wasi:filesystem@0.3.0`` (``types`` and ``preopens``) on the shared backend
(``wasmloop.wasi.filesystem``): async methods, ``read-via-stream`` as a ``stream<u8>`` fed in
64 KiB reads plus a future of the outcome, ``write-via-stream``/``append-via-stream`` pumping
the guest's stream into the file, ``read-directory`` as a ``stream<directory-entry>``.

Errors are ``Err(Variant(code))`` (0.3's ``error-code`` is a variant with ``other``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from ...host import Linker
from ...streams import EndOfStream, StreamReader
from ...values import Err, Ok, Variant
from .. import filesystem as fsb
from ..ctx import WasiCtx
from ..filesystem import FsError, TimeSpec, split_ns, timestamp_ns

__all__ = ["register", "Descriptor", "Types", "Preopens", "CHUNK", "DIR_BATCH"]

VERSION = "0.3.0"

#: Bytes one read of ``read-via-stream`` asks for (and the most one write hands on).
CHUNK = fsb.MAX_READ

#: Directory entries one read of ``read-directory``'s stream is given at most.
DIR_BATCH = 256


def _err(e: FsError) -> Err[Any]:
    return Err(Variant(e.code, None))


def _type(t: str) -> Variant:
    return Variant("other", None) if t == "unknown" else Variant(t, None)


def _instant(ns: int | None) -> dict[str, int] | None:
    if ns is None:
        return None
    s, n = split_ns(ns)
    return {"seconds": s, "nanoseconds": n}


def _stat(st: fsb.Stat) -> dict[str, Any]:
    return {
        "type": _type(st.type),
        "link-count": st.link_count,
        "size": st.size,
        "data-access-timestamp": _instant(st.atime),
        "data-modification-timestamp": _instant(st.mtime),
        "status-change-timestamp": _instant(st.ctime),
    }


def _timespec(t: Any) -> TimeSpec:
    case = t.case if isinstance(t, Variant) else t
    if case == "no-change":
        return None
    if case == "now":
        return "now"
    v = t.value
    return timestamp_ns(int(v["seconds"]), int(v["nanoseconds"]))


def _hash(h: tuple[int, int]) -> dict[str, int]:
    return {"lower": h[0], "upper": h[1]}


class _FileChunks:
    """The source of ``read-via-stream``: reads from ``offset`` until the end, then resolves
    ``result`` (``Ok()``, or the error that stopped it; ``Ok()`` also when the guest dropped
    the stream first, as in Wasmtime). Holds its own ``dup`` of the file."""

    def __init__(self, file: fsb.Descriptor, offset: int,
                 result: asyncio.Future[Any]) -> None:
        self._file = file
        self._offset = offset
        self._result = result
        self._done = False

    def __aiter__(self) -> _FileChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        try:
            data = await self._file.read(CHUNK, self._offset)
        except FsError as e:
            self._finish(_err(e))
            raise StopAsyncIteration from None
        if not data:
            self._finish(Ok())
            raise StopAsyncIteration
        self._offset += len(data)
        return data

    async def aclose(self) -> None:
        self._finish(Ok())

    def _finish(self, value: Any) -> None:
        if not self._done:
            self._done = True
            self._file.close()
        if not self._result.done():
            self._result.set_result(value)


class _DirEntries:
    """The source of ``read-directory``: the listing read in a worker in batches of
    ``DIR_BATCH`` entries (each a chunk of ``directory-entry`` records), then ``result``
    resolved (``Ok()``, or the error that ended it; ``Ok()`` if the guest dropped the stream)."""

    def __init__(self, listing: fsb.Listing, result: asyncio.Future[Any]) -> None:
        self._listing = listing
        self._result = result

    def __aiter__(self) -> _DirEntries:
        return self

    async def __anext__(self) -> list[dict[str, Any]]:
        while not self._result.done():
            entries, err, done = await self._listing.next(DIR_BATCH)
            if done:
                self._finish(Ok() if err is None else _err(err))
            if entries:
                return [{"type": _type(kind), "name": name} for name, kind in entries]
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._finish(Ok())

    def _finish(self, value: Any) -> None:
        self._listing.close()
        if not self._result.done():
            self._result.set_result(value)


def _resolved(value: Any) -> asyncio.Future[Any]:
    f: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    f.set_result(value)
    return f


def _nothing() -> Iterator[Any]:
    return iter(())


class Descriptor:
    """``descriptor``: a guest's handle on a backend descriptor (its own ``dup``, closed when
    the guest drops the handle)."""

    def __init__(self, b: fsb.Descriptor) -> None:
        self.b = b

    def drop(self) -> None:
        self.b.close()

    # -- streams --

    def read_via_stream(self, offset: int) -> tuple[Any, Any]:
        if self.b.kind == "dir":
            return _nothing(), _resolved(Err(Variant("is-directory", None)))
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return _FileChunks(self.b.dup(), offset, result), result

    def write_via_stream(self, data: StreamReader, offset: int) -> Any:
        return self._pump(data, offset)

    def append_via_stream(self, data: StreamReader) -> Any:
        return self._pump(data, None)

    async def _pump(self, data: StreamReader, offset: int | None) -> Any:
        b = self.b
        if b.kind == "dir":
            data.close()
            return Err(Variant("bad-descriptor", None))
        if b.read_only:
            data.close()
            return Err(Variant("not-permitted", None))
        f = b.dup()
        try:
            pos = offset
            while True:
                try:
                    chunk = await data.read(CHUNK)
                except EndOfStream:
                    return Ok()
                view = memoryview(chunk)
                while view:
                    part = bytes(view)
                    n = await (f.append(part) if pos is None else f.write(part, pos))
                    if n <= 0:
                        return Err(Variant("io", None))
                    if pos is not None:
                        pos += n
                    view = view[n:]
        except FsError as e:
            return _err(e)
        finally:
            data.close()
            f.close()

    def read_directory(self) -> tuple[Any, Any]:
        if self.b.kind != "dir":
            return _nothing(), _resolved(Err(Variant("not-directory", None)))
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return _DirEntries(self.b.listing(), result), result

    # -- async methods --

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
            return Ok(_type(await self.b.get_type()))
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
    """``wasi:filesystem/types@0.3.0``."""

    Descriptor = Descriptor


class Preopens:
    """``wasi:filesystem/preopens@0.3.0``: a fresh handle on each preopen per call."""

    Descriptor = Descriptor

    def __init__(self, fs: fsb.Filesystem) -> None:
        self._fs = fs

    def get_directories(self) -> list[tuple[_Handle, str]]:
        return [(Descriptor(d.dup()), name) for d, name in self._fs.preopens]


def register(linker: Linker, ctx: WasiCtx) -> None:
    fs = fsb.filesystem(ctx)
    linker.define_interface(f"wasi:filesystem/types@{VERSION}", Types())
    linker.define_interface(f"wasi:filesystem/preopens@{VERSION}", Preopens(fs))

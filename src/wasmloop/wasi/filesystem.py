"""The WASI filesystem backend: directory and file descriptors over real OS file descriptors,
sandboxed beneath the preopened directories. Both front ends (``p3.filesystem`` and
``p2.filesystem``) sit on it.

**The sandbox.** Every path a guest names is resolved relative to a directory descriptor and
must stay beneath it: absolute paths, ``..`` that climbs above the directory, and symlinks that
lead outside (absolute ones, or relative ones that climb out, also when swapped in while a call
is in flight) fail with ``not-permitted``, as in Wasmtime. Resolution is done by the kernel with
``openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`` where it has it, else component by
component here (each opened ``O_PATH | O_NOFOLLOW``, symlinks read and expanded, ``..`` popping
a stack of held directory descriptors and never passed to the kernel). Never by comparing path
strings. Operations on a name (mkdir, unlink, rename, link, symlink, readlink, set-times
without following) open the parent directory that way and then act on the last component with
an ``*at`` system call that does not follow it.

**Read-only preopens** refuse every change (create, write, truncate, set-size, set-times,
mkdir, rmdir, unlink, rename, link, symlink) with ``not-permitted`` before the OS is asked, as
Wasmtime's ``FsPerms::ReadOnly`` does; descriptors opened beneath them inherit that.

**Blocking.** Every system call runs in a worker thread (``asyncio.to_thread``); the loop never
waits on the disk. A descriptor's OS fd is closed only once no worker still uses it.

Errors are ``FsError(code)`` with ``code`` the WIT ``error-code`` case name; OS errors map as
in Wasmtime (``errno_code``). Values mirror Wasmtime's too: ``metadata-hash`` is Rust's
``DefaultHasher`` (SipHash-1-3, zero keys) over ``(dev, ino)``, the status-change timestamp is
the birth time (what cap-std's ``created()`` gives), FIFOs and sockets are of ``unknown`` type.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import fcntl
import os
import stat as stat_mod
import sys
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from weakref import WeakKeyDictionary

from .ctx import Preopen, WasiCtx

__all__ = [
    "FsError",
    "errno_code",
    "error_code",
    "Stat",
    "Descriptor",
    "Dir",
    "File",
    "Filesystem",
    "filesystem",
    "metadata_hash",
    "TimeSpec",
    "Listing",
    "MAX_READ",
    "timestamp_ns",
    "split_ns",
]

T = TypeVar("T")

#: The most one read returns (Wasmtime's ``MAX_READ_SIZE_ALLOC``).
MAX_READ = 64 * 1024

#: A new timestamp: ``None`` leaves it, ``"now"`` is the current time, an ``int`` is
#: nanoseconds since the epoch (negative before it).
TimeSpec = None | Literal["now"] | int

# --- errors --------------------------------------------------------------------------------

_ERRNO_CODES: dict[int, str] = {
    errno.EPIPE: "pipe",
    errno.EPERM: "not-permitted",
    errno.ENOENT: "no-entry",
    errno.ENOMEM: "insufficient-memory",
    errno.EIO: "io",
    errno.EBADF: "bad-descriptor",
    errno.EBUSY: "busy",
    errno.EACCES: "access",
    errno.ENOTDIR: "not-directory",
    errno.EISDIR: "is-directory",
    errno.EINVAL: "invalid",
    errno.EEXIST: "exist",
    errno.EFBIG: "file-too-large",
    errno.ENOSPC: "insufficient-space",
    errno.ESPIPE: "invalid-seek",
    errno.EMLINK: "too-many-links",
    errno.ENAMETOOLONG: "name-too-long",
    errno.ENOTEMPTY: "not-empty",
    errno.ELOOP: "loop",
    errno.EOVERFLOW: "overflow",
    errno.EILSEQ: "illegal-byte-sequence",
    errno.ENOTSUP: "unsupported",
    errno.EOPNOTSUPP: "unsupported",
    errno.EALREADY: "already",
    errno.EINPROGRESS: "in-progress",
    errno.EINTR: "interrupted",
}


def errno_code(err: int | None) -> str:
    """The WIT error code for an errno, as Wasmtime maps it (anything it does not name is
    ``io``)."""
    if err is None:
        return "io"
    return _ERRNO_CODES.get(err, "io")


class FsError(Exception):
    """A filesystem operation failed with WIT ``error-code`` case ``code``."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code

    @classmethod
    def from_os(cls, e: OSError) -> FsError:
        return cls(errno_code(e.errno), str(e))


def error_code(exc: BaseException) -> str | None:
    """The WIT error code an exception stands for: an ``FsError``'s code, an ``OSError``'s
    mapped errno, else None (for ``filesystem-error-code``)."""
    if isinstance(exc, FsError):
        return exc.code
    if isinstance(exc, OSError):
        return errno_code(exc.errno)
    return None


def _escape(path: str) -> FsError:
    return FsError("not-permitted", f"path {path!r} leads outside the preopened directory")


def _read_only() -> FsError:
    return FsError("not-permitted", "the preopened directory is read-only")


# --- system calls the os module does not have ---------------------------------------------

_libc: Any = ctypes.CDLL(None, use_errno=True)
_ARCH_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437, "riscv64": 437, "ppc64le": 437,
                 "s390x": 437}
_SYS_OPENAT2: int | None = _ARCH_OPENAT2.get(os.uname().machine) if sys.platform == "linux" \
    else None
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_BENEATH = 0x08
_O_PATH: int = getattr(os, "O_PATH", 0)
_AT_EMPTY_PATH = 0x1000
_AT_SYMLINK_NOFOLLOW = 0x100
_UTIME_NOW = (1 << 30) - 1
_UTIME_OMIT = (1 << 30) - 2
_MAX_SYMLINKS = 40


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _StatxTs(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_int64), ("tv_nsec", ctypes.c_uint32),
                ("reserved", ctypes.c_int32)]


class _Statx(ctypes.Structure):
    _fields_ = [
        ("mask", ctypes.c_uint32), ("blksize", ctypes.c_uint32),
        ("attributes", ctypes.c_uint64), ("nlink", ctypes.c_uint32),
        ("uid", ctypes.c_uint32), ("gid", ctypes.c_uint32), ("mode", ctypes.c_uint16),
        ("spare0", ctypes.c_uint16), ("ino", ctypes.c_uint64), ("size", ctypes.c_uint64),
        ("blocks", ctypes.c_uint64), ("attributes_mask", ctypes.c_uint64),
        ("atime", _StatxTs), ("btime", _StatxTs), ("ctime", _StatxTs), ("mtime", _StatxTs),
        ("rdev_major", ctypes.c_uint32), ("rdev_minor", ctypes.c_uint32),
        ("dev_major", ctypes.c_uint32), ("dev_minor", ctypes.c_uint32),
        ("spare", ctypes.c_uint64 * 14),
    ]


_STATX_BASIC_STATS = 0x7FF
_STATX_BTIME = 0x800

#: Whether the kernel resolves beneath a directory for us (None: not probed yet). Tests set it
#: to False to exercise the component-by-component resolver.
use_openat2: bool | None = None
_have_statx: bool = hasattr(_libc, "statx")


def _oserror(err: int, what: str | bytes | None = None) -> OSError:
    return OSError(err, os.strerror(err), what)


def _openat2_raw(dirfd: int, path: bytes, flags: int, mode: int) -> int:
    """openat2 beneath ``dirfd``; -errno on failure."""
    assert _SYS_OPENAT2 is not None
    how = _OpenHow(flags | os.O_CLOEXEC, mode, _RESOLVE_BENEATH | _RESOLVE_NO_MAGICLINKS)
    r = _libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_long(dirfd), ctypes.c_char_p(path),
                      ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if r < 0:
        return -ctypes.get_errno()
    return int(r)


def _openat2_works() -> bool:
    global use_openat2
    if use_openat2 is None:
        ok = False
        if _SYS_OPENAT2 is not None and _O_PATH:
            r = _openat2_raw(-100, b".", _O_PATH | os.O_DIRECTORY, 0)  # AT_FDCWD
            if r >= 0:
                os.close(r)
                ok = True
        use_openat2 = ok
    return use_openat2


def _check_path(path: str) -> None:
    if "\0" in path:
        raise FsError("invalid", "a path holds a NUL character")
    if path.startswith("/"):
        raise _escape(path)


def _open_beneath(root: int, path: str, flags: int, mode: int = 0, follow: bool = True) -> int:
    """Open ``path`` beneath directory fd ``root`` (never outside it). ``follow=False`` does
    not follow a symlink in the last component (``O_NOFOLLOW``; with ``O_PATH`` that opens the
    link itself). Raises ``FsError``/``OSError``."""
    _check_path(path)
    if path == "":
        raise _oserror(errno.ENOENT, path)
    if not follow:
        flags |= os.O_NOFOLLOW
    flags |= os.O_CLOEXEC
    if not flags & _O_PATH:
        flags |= os.O_NOCTTY  # (openat2 refuses any flag O_PATH ignores)
    if _openat2_works():
        b = os.fsencode(path)
        for _ in range(16):
            r = _openat2_raw(root, b, flags, mode if flags & os.O_CREAT else 0)
            if r >= 0:
                return r
            if -r in (errno.EAGAIN, errno.EINTR):
                continue  # a rename raced the lookup: the kernel asks us to try again
            if -r == errno.EXDEV:
                raise _escape(path)
            raise _oserror(-r, path)
        raise _oserror(errno.EAGAIN, path)
    return _manual_open(root, path, flags, mode, follow)


def _readlink_fd(fd: int) -> str:
    return os.fsdecode(os.readlink(b"", dir_fd=fd))


def _manual_open(root: int, path: str, flags: int, mode: int, follow: bool) -> int:
    """The component-by-component resolver: every component opened ``O_PATH | O_NOFOLLOW``
    beneath the last, symlinks expanded here (absolute ones refused), ``..`` popping the stack
    of directories walked through (refused at the root)."""
    queue: list[str] = path.split("/")
    stack: list[int] = []
    links = 0
    try:
        while True:
            cur = stack[-1] if stack else root
            if not queue:  # the path ends in a directory ("." or ".." or a trailing "/")
                return os.open(".", flags, mode, dir_fd=cur)
            c = queue.pop(0)
            if c in ("", "."):
                continue
            if c == "..":
                if not stack:
                    raise _escape(path)
                os.close(stack.pop())
                continue
            if not queue:  # the last component
                try:
                    fd = os.open(c, flags | os.O_NOFOLLOW, mode, dir_fd=cur)
                except OSError as e:
                    if not follow or e.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    try:
                        target = os.fsdecode(os.readlink(c, dir_fd=cur))
                    except OSError:
                        raise e from None
                else:
                    if not (follow and flags & _O_PATH
                            and stat_mod.S_ISLNK(os.fstat(fd).st_mode)):
                        return fd
                    try:  # O_PATH opened the link itself: follow it
                        target = _readlink_fd(fd)
                    finally:
                        os.close(fd)
                links += 1
                if links > _MAX_SYMLINKS:
                    raise _oserror(errno.ELOOP, path)
                if target.startswith("/"):
                    raise _escape(path)
                queue = target.split("/")
                continue
            fd = os.open(c, _O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=cur)
            st = os.fstat(fd)
            if stat_mod.S_ISLNK(st.st_mode):
                try:
                    target = _readlink_fd(fd)
                finally:
                    os.close(fd)
                links += 1
                if links > _MAX_SYMLINKS:
                    raise _oserror(errno.ELOOP, path)
                if target.startswith("/"):
                    raise _escape(path)
                queue = target.split("/") + queue
                continue
            if stat_mod.S_ISDIR(st.st_mode):
                stack.append(fd)
                continue
            os.close(fd)
            raise _oserror(errno.ENOTDIR, path)
    finally:
        for fd in stack:
            os.close(fd)


def _parent(root: int, path: str) -> tuple[int, str]:
    """The directory holding the last component of ``path`` (an owned ``O_PATH`` fd beneath
    ``root``) and that component's name. As in cap-std, a path ending in ``..``, ``.`` or
    ``/`` names a directory itself: its parent is the whole path and the name is ``.``."""
    _check_path(path)
    if path == "":
        raise _oserror(errno.ENOENT, path)
    head, _, name = path.rpartition("/")
    if name in ("", ".", ".."):
        dirpath, name = path, "."
    else:
        dirpath = head or "."
    fd = _open_beneath(root, dirpath, _O_PATH | os.O_DIRECTORY)
    return fd, name


def _statx(fd: int, name: str = "", follow: bool = False) -> Stat:
    if _have_statx:
        buf = _Statx()
        flags = _AT_EMPTY_PATH if name == "" else (0 if follow else _AT_SYMLINK_NOFOLLOW)
        r = _libc.statx(ctypes.c_int(fd), ctypes.c_char_p(os.fsencode(name)),
                        ctypes.c_int(flags), ctypes.c_uint(_STATX_BASIC_STATS | _STATX_BTIME),
                        ctypes.byref(buf))
        if r == 0:
            def ts(t: _StatxTs) -> int:
                return int(t.tv_sec) * 1_000_000_000 + int(t.tv_nsec)
            return Stat(
                type=_mode_type(buf.mode),
                link_count=buf.nlink,
                size=buf.size,
                atime=ts(buf.atime) if buf.mask & 0x20 else None,
                mtime=ts(buf.mtime) if buf.mask & 0x40 else None,
                ctime=ts(buf.btime) if buf.mask & _STATX_BTIME else None,
                dev=os.makedev(buf.dev_major, buf.dev_minor),
                ino=buf.ino,
            )
        err = ctypes.get_errno()
        if err != errno.ENOSYS:
            raise _oserror(err, name or None)
    st = os.stat(name, dir_fd=fd, follow_symlinks=follow) if name else os.fstat(fd)
    return Stat(_mode_type(st.st_mode), st.st_nlink, st.st_size, st.st_atime_ns,
                st.st_mtime_ns, None, st.st_dev, st.st_ino)


def _mode_type(mode: int) -> str:
    if stat_mod.S_ISDIR(mode):
        return "directory"
    if stat_mod.S_ISLNK(mode):
        return "symbolic-link"
    if stat_mod.S_ISREG(mode):
        return "regular-file"
    if stat_mod.S_ISBLK(mode):
        return "block-device"
    if stat_mod.S_ISCHR(mode):
        return "character-device"
    return "unknown"  # FIFOs and sockets too, as in Wasmtime


def _timespecs(atime: TimeSpec, mtime: TimeSpec) -> Any:
    times = (_Timespec * 2)()
    for i, t in enumerate((atime, mtime)):
        if t is None:
            times[i] = _Timespec(0, _UTIME_OMIT)
        elif t == "now":
            times[i] = _Timespec(0, _UTIME_NOW)
        else:
            assert isinstance(t, int)
            sec, ns = divmod(t, 1_000_000_000)
            times[i] = _Timespec(sec, ns)
    return times


def _utimensat(dirfd: int, name: bytes | None, atime: TimeSpec, mtime: TimeSpec,
               flags: int) -> None:
    times = _timespecs(atime, mtime)
    if name is None:
        r = _libc.futimens(ctypes.c_int(dirfd), times)
    else:
        r = _libc.utimensat(ctypes.c_int(dirfd), ctypes.c_char_p(name), times,
                            ctypes.c_int(flags))
    if r != 0:
        raise _oserror(ctypes.get_errno())


def timestamp_ns(seconds: int, nanoseconds: int) -> int:
    """Nanoseconds since the epoch for a WIT instant/datetime, as Wasmtime reads one (a
    negative ``seconds`` counts back from the epoch: ``(-1, 5)`` is 1.000000005 s before it;
    nanoseconds past a second carry into the seconds)."""
    if seconds >= 0:
        return seconds * 1_000_000_000 + nanoseconds
    return -(-seconds * 1_000_000_000 + nanoseconds)


def split_ns(ns: int) -> tuple[int, int]:
    """(seconds, nanoseconds) for nanoseconds since the epoch, as Wasmtime writes one
    (sign-magnitude: 1.000000005 s before the epoch is ``(-1, 5)``)."""
    if ns >= 0:
        return divmod(ns, 1_000_000_000)
    s, n = divmod(-ns, 1_000_000_000)
    return -s, n


# --- metadata hash (Rust's DefaultHasher: SipHash-1-3 with zero keys) ----------------------

_M64 = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def _siphash13(data: bytes) -> int:
    v0, v1 = 0x736F6D6570736575, 0x646F72616E646F6D
    v2, v3 = 0x6C7967656E657261, 0x7465646279746573

    def rounds(n: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _M64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        rounds(1)
        v0 ^= m
    b = ((n & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= b
    rounds(1)
    v0 ^= b
    v2 ^= 0xFF
    rounds(3)
    return v0 ^ v1 ^ v2 ^ v3


def metadata_hash(dev: int, ino: int) -> tuple[int, int]:
    """(lower, upper) as Wasmtime computes them for a file's (dev, ino)."""
    lower = _siphash13((dev & _M64).to_bytes(8, "little") + (ino & _M64).to_bytes(8, "little"))
    return lower, lower ^ 4614256656552045848


# --- descriptors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """``descriptor-stat``: times are nanoseconds since the epoch, or None."""

    type: str
    link_count: int
    size: int
    atime: int | None
    mtime: int | None
    ctime: int | None
    dev: int = 0
    ino: int = 0


class _Fd:
    """An OS fd shared by the descriptors that ``dup()`` made of one another and by the workers
    using it: closed once every holder closed it and no worker holds it (so its number is never
    reused under a running call)."""

    __slots__ = ("fd", "_refs", "_users", "_lock", "__weakref__")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._refs = 1
        self._users = 0
        self._lock = threading.Lock()

    def retain(self) -> None:
        with self._lock:
            self._refs += 1

    def acquire(self) -> int:
        with self._lock:
            if self._refs <= 0 or self.fd < 0:
                raise FsError("bad-descriptor", "the descriptor is closed")
            self._users += 1
            return self.fd

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._refs <= 0 and self._users == 0:
                self._close_now()

    def close(self) -> None:
        with self._lock:
            self._refs -= 1
            if self._refs <= 0 and self._users == 0:
                self._close_now()

    def _close_now(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass

    def __del__(self) -> None:
        fd = getattr(self, "fd", -1)
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


async def _blocking(fn: Callable[..., T], *handles: _Fd, args: Sequence[Any] = ()) -> T:
    """Run ``fn(*fds, *args)`` in a worker thread with the handles' fds held for its whole run;
    ``OSError`` becomes ``FsError``."""
    def body() -> T:
        fds: list[int] = []
        try:
            for h in handles:
                fds.append(h.acquire())
            return fn(*fds, *args)
        finally:
            for h in handles[:len(fds)]:
                h.release()
    try:
        return await asyncio.to_thread(body)
    except FsError:
        raise
    except OSError as e:
        raise FsError.from_os(e) from e
    except ValueError as e:  # e.g. a NUL character in a path
        raise FsError("invalid", str(e)) from e


class Descriptor:
    """A file or directory descriptor. Operations that do not apply fail as in Wasmtime:
    directory operations on a file with ``not-directory``, file operations on a directory with
    ``bad-descriptor``."""

    kind: Literal["file", "dir"] = "file"

    def __init__(self, fd: int | _Fd, read_only: bool, mode_read: bool,
                 mode_write: bool) -> None:
        self._h = fd if isinstance(fd, _Fd) else _Fd(fd)
        self._closed = False
        self.read_only = read_only
        self.mode_read = mode_read
        self.mode_write = mode_write

    def dup(self) -> Descriptor:
        """Another descriptor for the same open file (the OS fd stays open until both are
        closed), as Wasmtime clones a descriptor for a stream or a preopen handle."""
        if self._closed:
            raise FsError("bad-descriptor", "the descriptor is closed")
        self._h.retain()
        return type(self)(self._h, self.read_only, self.mode_read, self.mode_write)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self._h.fd}{' read-only' if self.read_only else ''}>"

    def close(self) -> None:
        """Let go of the OS fd (closed once no ``dup`` and no call in flight uses it).
        Closing twice does nothing."""
        if not self._closed:
            self._closed = True
            self._h.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- every descriptor --

    async def stat(self) -> Stat:
        return await _blocking(_statx, self._h)

    async def metadata_hash(self) -> tuple[int, int]:
        st = await self.stat()
        return metadata_hash(st.dev, st.ino)

    async def get_type(self) -> str:
        return (await self.stat()).type

    async def get_flags(self) -> frozenset[str]:
        fl = await _blocking(lambda fd: fcntl.fcntl(fd, fcntl.F_GETFL), self._h)

        def has(bits: int) -> bool:
            return bits != 0 and fl & bits == bits

        out: set[str] = set()
        if has(os.O_DSYNC):
            out.add("requested-write-sync")
        if has(os.O_SYNC):
            out.add("file-integrity-sync")
        if has(getattr(os, "O_RSYNC", 0)):
            out.add("data-integrity-sync")
        if self.mode_read:
            out.add("read")
        if self.mode_write:
            out.add("mutate-directory" if self.kind == "dir" else "write")
        return frozenset(out)

    async def set_times(self, atime: TimeSpec, mtime: TimeSpec) -> None:
        if self.read_only:
            raise _read_only()
        await _blocking(lambda fd: _utimensat(fd, None, atime, mtime, 0), self._h)

    async def sync(self) -> None:
        await _blocking(os.fsync, self._h)

    async def sync_data(self) -> None:
        await _blocking(os.fdatasync, self._h)

    async def is_same_object(self, other: Descriptor) -> bool:
        def same(a: int, b: int) -> bool:
            sa, sb = os.fstat(a), os.fstat(b)
            return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
        return await _blocking(same, self._h, other._h)

    # -- files --

    def _not_file(self) -> FsError:
        return FsError("bad-descriptor", "not a file descriptor")

    async def read(self, n: int, offset: int) -> bytes:
        """Up to ``n`` bytes at ``offset`` (at most ``MAX_READ``); ``b""`` at the end."""
        raise self._not_file()

    async def write(self, data: bytes, offset: int) -> int:
        """Write at ``offset``; how much was written (possibly less than all)."""
        raise self._not_file()

    async def append(self, data: bytes) -> int:
        """Write at the end of the file; how much was written."""
        raise self._not_file()

    async def set_size(self, size: int) -> None:
        raise self._not_file()

    async def advise(self, offset: int, length: int, advice: str) -> None:
        raise self._not_file()

    # -- directories --

    def _not_dir(self) -> FsError:
        return FsError("not-directory", "not a directory descriptor")

    async def open_at(self, path_flags: Collection[str], path: str,
                      open_flags: Collection[str], flags: Collection[str]) -> Descriptor:
        raise self._not_dir()

    async def stat_at(self, path_flags: Collection[str], path: str) -> Stat:
        raise self._not_dir()

    async def metadata_hash_at(self, path_flags: Collection[str], path: str) -> tuple[int, int]:
        raise self._not_dir()

    async def set_times_at(self, path_flags: Collection[str], path: str, atime: TimeSpec,
                           mtime: TimeSpec) -> None:
        raise self._not_dir()

    async def link_at(self, old_path_flags: Collection[str], old_path: str,
                      new_dir: Descriptor, new_path: str) -> None:
        raise self._not_dir()

    async def rename_at(self, old_path: str, new_dir: Descriptor, new_path: str) -> None:
        raise self._not_dir()

    async def symlink_at(self, old_path: str, new_path: str) -> None:
        raise self._not_dir()

    async def readlink_at(self, path: str) -> str:
        raise self._not_dir()

    async def create_directory_at(self, path: str) -> None:
        raise self._not_dir()

    async def remove_directory_at(self, path: str) -> None:
        raise self._not_dir()

    async def unlink_file_at(self, path: str) -> None:
        raise self._not_dir()

    async def read_directory(self) -> tuple[list[tuple[str, str]], FsError | None]:
        """The entries (name, type) in the OS's order, without ``.`` and ``..``, and the error
        that cut the listing short (an undecodable name: ``illegal-byte-sequence``), if any."""
        raise self._not_dir()

    def listing(self) -> Listing:
        """The entries in batches (see ``Listing``)."""
        raise self._not_dir()


_ADVICE = {
    "normal": getattr(os, "POSIX_FADV_NORMAL", 0),
    "sequential": getattr(os, "POSIX_FADV_SEQUENTIAL", 2),
    "random": getattr(os, "POSIX_FADV_RANDOM", 1),
    "will-need": getattr(os, "POSIX_FADV_WILLNEED", 3),
    "dont-need": getattr(os, "POSIX_FADV_DONTNEED", 4),
    "no-reuse": getattr(os, "POSIX_FADV_NOREUSE", 5),
}


class File(Descriptor):
    kind: Literal["file", "dir"] = "file"

    async def read(self, n: int, offset: int) -> bytes:
        n = max(0, min(n, MAX_READ))
        if n == 0:
            return b""
        return await _blocking(os.pread, self._h, args=(n, offset))

    async def write(self, data: bytes, offset: int) -> int:
        if self.read_only:
            raise _read_only()
        return await _blocking(os.pwrite, self._h, args=(data, offset))

    async def append(self, data: bytes) -> int:
        if self.read_only:
            raise _read_only()
        return await _blocking(_append, self._h, args=(data,))

    async def set_size(self, size: int) -> None:
        if self.read_only:
            raise _read_only()
        await _blocking(os.ftruncate, self._h, args=(size,))

    async def advise(self, offset: int, length: int, advice: str) -> None:
        fadvise = getattr(os, "posix_fadvise", None)
        if fadvise is None:
            return
        await _blocking(fadvise, self._h, args=(offset, length, _ADVICE[advice]))


def _append(fd: int, data: bytes) -> int:
    flag = getattr(os, "RWF_APPEND", None)
    if flag is not None:
        try:
            return os.pwritev(fd, [data], -1, flag)
        except OSError as e:
            if e.errno not in (errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL):
                raise
    old = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, old | os.O_APPEND)
    try:
        return os.write(fd, data)
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, old)


def _follows(path_flags: Collection[str]) -> bool:
    return "symlink-follow" in path_flags


class Dir(Descriptor):
    kind: Literal["file", "dir"] = "dir"

    def _writable(self) -> None:
        if self.read_only:
            raise _read_only()

    async def get_type(self) -> str:
        return "directory"

    async def sync(self) -> None:
        await _blocking(_sync_dir, self._h, args=(os.fsync,))

    async def sync_data(self) -> None:
        await _blocking(_sync_dir, self._h, args=(os.fdatasync,))

    async def open_at(self, path_flags: Collection[str], path: str,
                      open_flags: Collection[str], flags: Collection[str]) -> Descriptor:
        follow = _follows(path_flags)
        create = "create" in open_flags
        directory = "directory" in open_flags
        exclusive = "exclusive" in open_flags
        truncate = "truncate" in open_flags
        os_flags = 0
        read = write = False
        if create:
            os_flags |= os.O_CREAT | (os.O_EXCL if exclusive else 0)
            write = True
        if truncate:
            os_flags |= os.O_TRUNC
            write = True
        if "read" in flags:
            read = True
        if "write" in flags:
            write = True
        else:
            read = True
        if flags and {"file-integrity-sync", "data-integrity-sync",
                      "requested-write-sync"} & set(flags):
            raise FsError("unsupported", "synchronized I/O flags are not supported")
        if directory and (create or exclusive or truncate):
            raise FsError("invalid", "open-flags directory with create, exclusive or truncate")
        if self.read_only and write:
            raise _read_only()
        if directory:
            os_flags |= os.O_DIRECTORY
        os_flags |= os.O_RDWR if read and write else os.O_WRONLY if write else os.O_RDONLY
        read_only = self.read_only

        def body(root: int) -> Descriptor:
            try:
                fd = _open_beneath(root, path, os_flags, 0o666, follow)
            except OSError as e:
                if e.errno == errno.ENOTDIR and directory and not follow and _is_link(root, path):
                    # O_DIRECTORY|O_NOFOLLOW on a symlink: Wasmtime (no O_DIRECTORY) sees ELOOP
                    raise _oserror(errno.ELOOP, path) from None
                raise
            try:
                st = os.fstat(fd)
            except BaseException:
                os.close(fd)
                raise
            if stat_mod.S_ISDIR(st.st_mode):
                return Dir(fd, read_only, read, write)
            if directory:
                os.close(fd)
                raise _oserror(errno.ENOTDIR, path)
            return File(fd, read_only, read, write)

        return await _blocking(body, self._h)

    async def stat_at(self, path_flags: Collection[str], path: str) -> Stat:
        follow = _follows(path_flags)

        def body(root: int) -> Stat:
            fd = _open_beneath(root, path, _O_PATH, 0, follow)
            try:
                return _statx(fd)
            finally:
                os.close(fd)

        return await _blocking(body, self._h)

    async def metadata_hash_at(self, path_flags: Collection[str], path: str) -> tuple[int, int]:
        st = await self.stat_at(path_flags, path)
        return metadata_hash(st.dev, st.ino)

    async def set_times_at(self, path_flags: Collection[str], path: str, atime: TimeSpec,
                           mtime: TimeSpec) -> None:
        self._writable()
        follow = _follows(path_flags)

        def body(root: int) -> None:
            if follow:
                # Resolve beneath (following), then act on exactly the inode found.
                fd = _open_beneath(root, path, _O_PATH, 0, True)
                try:
                    try:
                        _utimensat(fd, b"", atime, mtime, _AT_EMPTY_PATH)
                    except OSError as e:  # kernels before 5.8 take no AT_EMPTY_PATH here
                        if e.errno != errno.EINVAL:
                            raise
                        _utimensat(-100, f"/proc/self/fd/{fd}".encode(), atime, mtime, 0)
                finally:
                    os.close(fd)
                return
            parent, name = _parent(root, path)
            try:
                _utimensat(parent, os.fsencode(name), atime, mtime, _AT_SYMLINK_NOFOLLOW)
            finally:
                os.close(parent)

        await _blocking(body, self._h)

    async def link_at(self, old_path_flags: Collection[str], old_path: str,
                      new_dir: Descriptor, new_path: str) -> None:
        if not isinstance(new_dir, Dir):
            raise new_dir._not_dir()
        self._writable()
        new_dir._writable()
        if _follows(old_path_flags):
            raise FsError("invalid", "link-at does not follow symlinks")

        def body(root: int, new_root: int) -> None:
            p1, n1 = _parent(root, old_path)
            try:
                p2, n2 = _parent(new_root, new_path)
                try:
                    os.link(n1, n2, src_dir_fd=p1, dst_dir_fd=p2, follow_symlinks=False)
                finally:
                    os.close(p2)
            finally:
                os.close(p1)

        await _blocking(body, self._h, new_dir._h)

    async def rename_at(self, old_path: str, new_dir: Descriptor, new_path: str) -> None:
        if not isinstance(new_dir, Dir):
            raise new_dir._not_dir()
        self._writable()
        new_dir._writable()

        def body(root: int, new_root: int) -> None:
            p1, n1 = _parent(root, old_path)
            try:
                p2, n2 = _parent(new_root, new_path)
                try:
                    os.rename(n1, n2, src_dir_fd=p1, dst_dir_fd=p2)
                finally:
                    os.close(p2)
            finally:
                os.close(p1)

        await _blocking(body, self._h, new_dir._h)

    async def symlink_at(self, old_path: str, new_path: str) -> None:
        self._writable()
        if old_path.startswith("/"):
            raise _escape(old_path)

        def body(root: int) -> None:
            parent, name = _parent(root, new_path)
            try:
                os.symlink(old_path, name, dir_fd=parent)
            finally:
                os.close(parent)

        await _blocking(body, self._h)

    async def readlink_at(self, path: str) -> str:
        def body(root: int) -> str:
            parent, name = _parent(root, path)
            try:
                raw = os.readlink(os.fsencode(name), dir_fd=parent)
            finally:
                os.close(parent)
            try:
                target = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise FsError("illegal-byte-sequence", "the link's target is not UTF-8") \
                    from None
            if target.startswith("/"):
                raise _escape(target)  # cap-std refuses to show absolute targets
            return target

        return await _blocking(body, self._h)

    async def create_directory_at(self, path: str) -> None:
        self._writable()
        stripped = path.rstrip("/") if path.strip("/") else path

        def body(root: int) -> None:
            parent, name = _parent(root, stripped)
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
            finally:
                os.close(parent)

        await _blocking(body, self._h)

    async def remove_directory_at(self, path: str) -> None:
        self._writable()

        def body(root: int) -> None:
            parent, name = _parent(root, path)
            try:
                os.rmdir(name, dir_fd=parent)
            finally:
                os.close(parent)

        await _blocking(body, self._h)

    async def unlink_file_at(self, path: str) -> None:
        self._writable()

        def body(root: int) -> None:
            parent, name = _parent(root, path)
            try:
                os.unlink(name, dir_fd=parent)
            finally:
                os.close(parent)

        await _blocking(body, self._h)

    async def read_directory(self) -> tuple[list[tuple[str, str]], FsError | None]:
        return await _blocking(_list_dir, self._h)

    def listing(self) -> Listing:
        return Listing(self)


def _is_link(root: int, path: str) -> bool:
    try:
        fd = _open_beneath(root, path, _O_PATH, 0, False)
    except (OSError, FsError):
        return False
    try:
        return stat_mod.S_ISLNK(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _sync_dir(fd: int, how: Callable[[int], None]) -> None:
    d = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
    try:
        how(d)
    finally:
        os.close(d)


def _entry(e: os.DirEntry[str]) -> tuple[str, str]:
    """(name, type) of one entry, as Wasmtime reports it (symlinks not followed); raises
    ``FsError``/``OSError``."""
    name = e.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise FsError("illegal-byte-sequence", "a directory entry's name is not UTF-8") \
            from None
    if e.is_symlink():
        return name, "symbolic-link"
    if e.is_dir(follow_symlinks=False):
        return name, "directory"
    if e.is_file(follow_symlinks=False):
        return name, "regular-file"
    return name, _mode_type(e.stat(follow_symlinks=False).st_mode)


class _Scan:
    """``os.scandir`` of a fresh fd for a directory (its entries stat through that fd, so it
    stays open until ``close()``)."""

    def __init__(self, fd: int) -> None:
        self.fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=fd)
        try:
            self.it = os.scandir(self.fd)
        except BaseException:
            os.close(self.fd)
            raise

    def close(self) -> None:
        self.it.close()
        os.close(self.fd)


def _take(it: Iterator[os.DirEntry[str]], n: int,
          ) -> tuple[list[tuple[str, str]], FsError | None, bool]:
    out: list[tuple[str, str]] = []
    try:
        for e in it:
            out.append(_entry(e))
            if len(out) >= n:
                return out, None, False
    except FsError as err:
        return out, err, True
    except OSError as err:
        return out, FsError.from_os(err), True
    return out, None, True


def _list_dir(fd: int) -> tuple[list[tuple[str, str]], FsError | None]:
    scan = _Scan(fd)
    try:
        entries, err, _ = _take(scan.it, sys.maxsize)
        return entries, err
    finally:
        scan.close()


class Listing:
    """A directory listing read in batches (memory stays bounded whatever the directory
    holds): ``await next(n)`` gives up to ``n`` entries, the error that ended the listing if
    any, and whether it is over. ``close()`` lets go of it early (a batch being read in a
    worker finishes first)."""

    def __init__(self, d: Descriptor) -> None:
        self._dir = d.dup()
        self._scan: _Scan | None = None
        self._lock = threading.Lock()
        self._busy = False
        self._closed = False

    async def next(self, n: int = 256) -> tuple[list[tuple[str, str]], FsError | None, bool]:
        with self._lock:
            if self._closed or self._busy:
                return [], None, True
            self._busy = True

        def body(fd: int) -> tuple[list[tuple[str, str]], FsError | None, bool]:
            try:
                if self._scan is None:
                    self._scan = _Scan(fd)
                return _take(self._scan.it, n)
            finally:
                with self._lock:
                    self._busy = False
                    if self._closed:
                        self._release()

        try:
            entries, err, done = await _blocking(body, self._dir._h)
        except FsError as e:
            entries, err, done = [], e, True
        if done:
            self.close()
        return entries, err, done

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._busy:
                self._release()

    def _release(self) -> None:
        scan, self._scan = self._scan, None
        if scan is not None:
            scan.close()
        self._dir.close()


# --- the filesystem of one context -----------------------------------------------------------


class Filesystem:
    """The preopened directories of one ``WasiCtx``: each host directory opened once (an
    ``O_PATH`` directory fd, as Wasmtime's cap-std opens them), shared by both front ends."""

    def __init__(self, preopens: Sequence[Preopen]) -> None:
        self.preopens: list[tuple[Dir, str]] = []
        for p in preopens:
            try:
                fd = os.open(p.host_path, (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY
                             | os.O_CLOEXEC)
            except OSError as e:
                for d, _ in self.preopens:
                    d.close()
                raise OSError(e.errno, f"preopen {p.guest_path!r}: cannot open host directory "
                              f"{p.host_path!r}: {e.strerror}") from None
            self.preopens.append((Dir(fd, p.read_only, True, not p.read_only), p.guest_path))

    def close(self) -> None:
        for d, _ in self.preopens:
            d.close()


_by_ctx: WeakKeyDictionary[WasiCtx, Filesystem] = WeakKeyDictionary()
_by_ctx_lock = threading.Lock()


def filesystem(ctx: WasiCtx) -> Filesystem:
    """The ``Filesystem`` of ``ctx`` (made on first use, then shared by the front ends)."""
    with _by_ctx_lock:
        fs = _by_ctx.get(ctx)
        if fs is None:
            fs = _by_ctx[ctx] = Filesystem(ctx.preopens)
        return fs


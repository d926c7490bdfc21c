"""The WASI filesystem: the sandboxed backend (``wasmloop.wasi.filesystem``), its 0.3 and 0.2
front ends, and a componentize-py guest doing its file work through wasi-libc (0.2) under
both hosts.

Backend tests run under both path resolvers: the kernel's (``openat2`` with
``RESOLVE_BENEATH``) and the component-by-component one used where the kernel lacks it.
Escape attempts are written the way an attacker would try them; each must fail with
``not-permitted`` (what Wasmtime 49 answers: checked against ``wasmtime run``) and leave the
outside untouched. Expected error codes elsewhere are the ones ``wasmtime run`` gave for the
same calls.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import wasmloop
from wasmloop.types import U8
from wasmloop.values import Err, Ok, Variant
from wasmloop.wasi import filesystem as fsb
from wasmloop.wasi.ctx import Preopen, WasiConfig, WasiCtx
from wasmloop.wasi.filesystem import Descriptor, Dir, FsError

T = TypeVar("T")

NOFOLLOW: frozenset[str] = frozenset()
FOLLOW = frozenset({"symlink-follow"})
NONE: frozenset[str] = frozenset()
R = frozenset({"read"})
W = frozenset({"write"})
RW = frozenset({"read", "write"})
CREATE = frozenset({"create"})
CREATE_TRUNC = frozenset({"create", "truncate"})
DIRECTORY = frozenset({"directory"})


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro
    return asyncio.run(main())


@pytest.fixture(params=["openat2", "manual"])
def resolver(request: pytest.FixtureRequest) -> Iterator[str]:
    saved = fsb.use_openat2
    fsb.use_openat2 = None
    if request.param == "openat2":
        if not fsb._openat2_works():
            pytest.skip("this kernel has no openat2")
    else:
        fsb.use_openat2 = False
    try:
        yield request.param
    finally:
        fsb.use_openat2 = saved


class Sandbox:
    """tmp/data (preopened read-write), tmp/ro (preopened read-only), tmp/outside (not)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.root = tmp / "data"
        self.outside = tmp / "outside"
        self.ro_root = tmp / "ro"
        (self.root / "dir").mkdir(parents=True)
        (self.root / "a.txt").write_text("alpha\n")
        (self.root / "dir" / "b.txt").write_text("beta\n")
        self.outside.mkdir()
        (self.outside / "secret.txt").write_text("secret\n")
        self.ro_root.mkdir()
        (self.ro_root / "x.txt").write_text("x")
        (self.ro_root / "sub").mkdir()
        links = {
            "out-link": "../outside",
            "abs-link": "/etc/passwd",
            "root-link": "/",
            "up-link": "..",
            "chain1": "chain2",
            "chain2": "dir/../../outside",
            "loop1": "loop2",
            "loop2": "loop1",
            "selfdir": ".",
            "dangling": "nowhere",
            "dangle-out": "../outside/new.txt",
            "in-link": "dir/b.txt",
        }
        for name, target in links.items():
            os.symlink(target, self.root / name)
        self.ctx = WasiCtx(WasiConfig(preopens=[
            Preopen(str(self.root), "/data"),
            Preopen(str(self.ro_root), "/ro", read_only=True),
        ]))
        self.fs = fsb.filesystem(self.ctx)
        self.d: Descriptor = self.fs.preopens[0][0]
        self.ro: Descriptor = self.fs.preopens[1][0]

    def outside_listing(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in self.outside.iterdir()}


@pytest.fixture
def sb(tmp_path: Path, resolver: str) -> Sandbox:
    return Sandbox(tmp_path)


async def code_of(aw: Awaitable[Any]) -> str:
    try:
        await aw
    except FsError as e:
        return e.code
    return "ok"


async def read_all(d: Descriptor, path: str, pf: frozenset[str] = NOFOLLOW) -> bytes:
    f = await d.open_at(pf, path, NONE, R)
    try:
        out = b""
        while True:
            chunk = await f.read(fsb.MAX_READ, len(out))
            if not chunk:
                return out
            out += chunk
    finally:
        f.close()


# --- the backend: what works ---------------------------------------------------------------


def test_open_write_read_append_truncate_stat(sb: Sandbox) -> None:
    async def main() -> None:
        f = await sb.d.open_at(NOFOLLOW, "dir/new.bin", CREATE_TRUNC, RW)
        data = bytes(range(256)) * 1000
        written = 0
        while written < len(data):
            written += await f.write(data[written:], written)
        assert await f.read(10, 0) == data[:10]
        assert len(await f.read(10**9, 0)) == fsb.MAX_READ  # one read is capped like Wasmtime's
        assert await f.read(10, len(data)) == b""
        assert await f.append(b"END") == 3
        st = await f.stat()
        assert (st.type, st.size, st.link_count) == ("regular-file", len(data) + 3, 1)
        assert st.mtime is not None and st.atime is not None
        assert await f.get_type() == "regular-file"
        assert await f.get_flags() == {"read", "write"}
        await f.set_size(5)
        await f.sync()
        await f.sync_data()
        await f.advise(0, 5, "sequential")
        f.close()
        assert (sb.root / "dir" / "new.bin").read_bytes() == data[:5]
        assert await read_all(sb.d, "in-link", FOLLOW) == b"beta\n"
        assert await sb.d.get_flags() == {"read", "mutate-directory"}
        assert await sb.ro.get_flags() == {"read"}
        assert await sb.d.get_type() == "directory"
        lst = await sb.d.stat_at(NOFOLLOW, "out-link")
        assert (lst.type, lst.size) == ("symbolic-link", len("../outside"))
        assert (await sb.d.stat_at(FOLLOW, "in-link")).type == "regular-file"
        assert (await sb.d.stat_at(FOLLOW, "selfdir/selfdir/dir/b.txt")).size == 5
        assert (await sb.d.stat_at(NOFOLLOW, "dir/./../dir/b.txt")).size == 5
    run(main())


def test_names_create_rename_link_symlink_remove(sb: Sandbox) -> None:
    async def main() -> None:
        await sb.d.create_directory_at("made/")
        await sb.d.symlink_at("../a.txt", "made/link")
        assert await sb.d.readlink_at("made/link") == "../a.txt"
        assert await read_all(sb.d, "made/link", FOLLOW) == b"alpha\n"
        await sb.d.link_at(NOFOLLOW, "a.txt", sb.d, "made/hard")
        assert (await sb.d.stat_at(NOFOLLOW, "a.txt")).link_count == 2
        sub = await sb.d.open_at(NOFOLLOW, "made", DIRECTORY, R)
        await sub.rename_at("hard", sb.d, "renamed.txt")
        assert await read_all(sb.d, "renamed.txt") == b"alpha\n"
        await sub.unlink_file_at("link")
        assert await code_of(sb.d.remove_directory_at("dir")) == "not-empty"
        await sb.d.remove_directory_at("made")
        sub.close()
        assert sorted(p.name for p in sb.root.iterdir() if not p.is_symlink()) == [
            "a.txt", "dir", "renamed.txt"]
    run(main())


def test_read_directory_in_os_order_with_types(sb: Sandbox) -> None:
    os.mkfifo(sb.root / "fifo")
    entries, err = run(sb.d.read_directory())
    assert err is None
    assert [n for n, _ in entries] == [e.name for e in os.scandir(sb.root)]
    kinds = dict(entries)
    assert kinds["a.txt"] == "regular-file"
    assert kinds["dir"] == "directory"
    assert kinds["out-link"] == "symbolic-link"
    assert kinds["fifo"] == "unknown"  # as Wasmtime: FIFOs and sockets are of unknown type
    assert "." not in kinds and ".." not in kinds
    # a second listing of the same descriptor starts from the beginning again
    assert run(sb.d.read_directory())[0] == entries


def test_read_directory_stops_at_a_name_that_is_not_utf8(sb: Sandbox) -> None:
    d = os.fsencode(sb.root / "dir")
    with open(d + b"/\xff\xfe.bin", "wb"):
        pass
    sub = run(sb.d.open_at(NOFOLLOW, "dir", DIRECTORY, R))
    entries, err = run(sub.read_directory())
    assert err is not None and err.code == "illegal-byte-sequence"
    assert all(n != "b.txt" or k == "regular-file" for n, k in entries)


def test_metadata_hash_is_wasmtimes() -> None:
    # Measured with `wasmtime run`: a file with st_dev 65024 and st_ino 2171075 hashed so.
    assert fsb.metadata_hash(65024, 2171075) == (17002474351184742065, 12393287895480970153)
    assert fsb.metadata_hash(65024, 2171043)[0] == 11657588309775709195


def test_metadata_hash_and_same_object(sb: Sandbox) -> None:
    async def main() -> None:
        st = os.stat(sb.root / "a.txt")
        f = await sb.d.open_at(NOFOLLOW, "a.txt", NONE, R)
        assert await f.metadata_hash() == fsb.metadata_hash(st.st_dev, st.st_ino)
        assert await sb.d.metadata_hash_at(FOLLOW, "selfdir/a.txt") == await f.metadata_hash()
        assert await sb.d.metadata_hash_at(NOFOLLOW, "a.txt") != await sb.d.metadata_hash()
        g = await sb.d.open_at(NOFOLLOW, "a.txt", NONE, W)
        assert await f.is_same_object(g)
        assert not await f.is_same_object(sb.d)
        assert await sb.d.is_same_object(sb.fs.preopens[0][0].dup())
    run(main())


def test_set_times_as_wasmtime_reads_them(sb: Sandbox) -> None:
    async def main() -> None:
        ns = fsb.timestamp_ns
        await sb.d.set_times_at(NOFOLLOW, "a.txt", ns(5, 2_000_000_000), ns(2000, 7))
        st = os.stat(sb.root / "a.txt")
        assert (st.st_atime_ns, st.st_mtime_ns) == (7_000_000_000, 2_000_000_000_007)
        await sb.d.set_times_at(NOFOLLOW, "a.txt", None, ns(-1000, 5))
        st = os.stat(sb.root / "a.txt")
        assert st.st_atime_ns == 7_000_000_000  # no-change
        assert st.st_mtime_ns == -1_000_000_000_005
        got = await sb.d.stat_at(NOFOLLOW, "a.txt")
        assert got.mtime is not None and fsb.split_ns(got.mtime) == (-1000, 5)
        outside_mtime = os.stat(sb.outside).st_mtime_ns
        await sb.d.set_times_at(NOFOLLOW, "out-link", ns(9, 0), ns(9, 0))  # the link itself
        assert os.lstat(sb.root / "out-link").st_mtime_ns == 9 * 10**9
        assert os.stat(sb.outside).st_mtime_ns == outside_mtime
        await sb.d.set_times_at(FOLLOW, "in-link", None, ns(3000, 0))
        assert os.stat(sb.root / "dir" / "b.txt").st_mtime_ns == 3000 * 10**9
        f = await sb.d.open_at(NOFOLLOW, "dir/b.txt", NONE, R)
        await f.set_times(ns(4000, 0), None)
        assert os.stat(sb.root / "dir" / "b.txt").st_atime_ns == 4000 * 10**9
        # Wasmtime's preopens are O_PATH descriptors: futimens on them is a bad descriptor
        assert await code_of(sb.d.set_times("now", "now")) == "bad-descriptor"
    run(main())


def test_dup_keeps_the_file_open_until_every_holder_closed(sb: Sandbox) -> None:
    async def main() -> None:
        f = await sb.d.open_at(NOFOLLOW, "a.txt", NONE, R)
        g = f.dup()
        f.close()
        f.close()  # twice is harmless
        assert await g.read(5, 0) == b"alpha"
        g.close()
        assert await code_of(g.read(5, 0)) == "bad-descriptor"
    run(main())


def test_system_calls_run_off_the_loop(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[bool] = []
    real = fsb._statx

    def spy(*a: Any, **k: Any) -> fsb.Stat:
        threads.append(threading.current_thread() is threading.main_thread())
        return real(*a, **k)

    monkeypatch.setattr(fsb, "_statx", spy)
    run(sb.d.stat_at(NOFOLLOW, "a.txt"))
    run(sb.d.stat())
    assert threads == [False, False]


def test_missing_preopen_is_a_clear_error(tmp_path: Path) -> None:
    ctx = WasiCtx(WasiConfig().preopen(tmp_path / "nope", "/guest"))
    with pytest.raises(OSError, match=r"preopen '/guest': cannot open host directory .*nope"):
        fsb.filesystem(ctx)


# --- error codes as Wasmtime gives them -------------------------------------------------------


def _calls(sb: Sandbox) -> dict[str, Callable[[], Awaitable[Any]]]:
    d = sb.d
    return {
        "no-entry:open missing": lambda: d.open_at(NOFOLLOW, "missing", NONE, R),
        "no-entry:open empty path": lambda: d.open_at(NOFOLLOW, "", NONE, R),
        "no-entry:stat empty path": lambda: d.stat_at(NOFOLLOW, ""),
        "no-entry:mkdir empty path": lambda: d.create_directory_at(""),
        "no-entry:symlink-at empty target": lambda: d.symlink_at("", "lnk"),
        "no-entry:rename missing": lambda: d.rename_at("missing", d, "m2"),
        "exist:mkdir existing": lambda: d.create_directory_at("dir"),
        "exist:mkdir dot": lambda: d.create_directory_at("."),
        "exist:symlink-at existing": lambda: d.symlink_at("a.txt", "a.txt"),
        "exist:create exclusive existing": lambda: d.open_at(
            NOFOLLOW, "a.txt", frozenset({"create", "exclusive"}), W),
        "exist:create exclusive through dangling symlink": lambda: d.open_at(
            FOLLOW, "dangling", frozenset({"create", "exclusive"}), W),
        "not-directory:open file as directory": lambda: d.open_at(
            NOFOLLOW, "a.txt", DIRECTORY, R),
        "not-directory:open file with a trailing slash": lambda: d.open_at(
            NOFOLLOW, "a.txt/", NONE, R),
        "not-directory:unlink file with a trailing slash": lambda: d.unlink_file_at("a.txt/"),
        "not-directory:rmdir a file": lambda: d.remove_directory_at("a.txt"),
        "not-empty:rmdir non-empty": lambda: d.remove_directory_at("dir"),
        "is-directory:unlink a directory": lambda: d.unlink_file_at("dir"),
        "is-directory:unlink dir/": lambda: d.unlink_file_at("dir/"),
        "is-directory:unlink dot": lambda: d.unlink_file_at("."),
        "is-directory:open a directory for writing": lambda: d.open_at(
            NOFOLLOW, "dir", NONE, W),
        "is-directory:create over a directory": lambda: d.open_at(NOFOLLOW, "dir", CREATE, R),
        "invalid:rmdir dot": lambda: d.remove_directory_at("."),
        "invalid:rmdir dir/..": lambda: d.remove_directory_at("dir/.."),
        "invalid:readlink a regular file": lambda: d.readlink_at("a.txt"),
        "invalid:create with directory": lambda: d.open_at(
            NOFOLLOW, "nd", frozenset({"create", "directory"}), R),
        "invalid:truncate with directory": lambda: d.open_at(
            NOFOLLOW, "dir", frozenset({"truncate", "directory"}), R),
        "invalid:link-at following": lambda: d.link_at(FOLLOW, "a.txt", d, "hl"),
        "invalid:rename a directory into itself": lambda: d.rename_at("dir", d, "dir/inner"),
        "busy:rename dot": lambda: d.rename_at(".", d, "m3"),
        "loop:open a symlink without following": lambda: d.open_at(
            NOFOLLOW, "in-link", NONE, R),
        "loop:open a symlink as directory without following": lambda: d.open_at(
            NOFOLLOW, "out-link", DIRECTORY, R),
        "loop:create through a dangling symlink without following": lambda: d.open_at(
            NOFOLLOW, "dangling", CREATE, W),
        "loop:stat a symlink loop": lambda: d.stat_at(FOLLOW, "loop1"),
        "unsupported:sync flags": lambda: d.open_at(
            NOFOLLOW, "a.txt", NONE, frozenset({"read", "file-integrity-sync"})),
        "not-permitted:hard link to a directory": lambda: d.link_at(NOFOLLOW, "dir", d, "hl"),
        "bad-descriptor:advise a directory": lambda: d.advise(0, 0, "normal"),
        "bad-descriptor:set-size a directory": lambda: d.set_size(0),
        "bad-descriptor:read a directory": lambda: d.read(1, 0),
    }


def test_error_codes_match_wasmtime(sb: Sandbox) -> None:
    async def main() -> list[str]:
        wrong = []
        for key, call in _calls(sb).items():
            want, _, what = key.partition(":")
            got = await code_of(call())
            if got != want:
                wrong.append(f"{what}: wasmtime says {want}, we say {got}")
        f = await sb.d.open_at(NOFOLLOW, "a.txt", NONE, R)
        on_file: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("not-directory", lambda: f.stat_at(NOFOLLOW, "x")),
            ("not-directory", lambda: f.open_at(NOFOLLOW, "x", NONE, R)),
            ("not-directory", lambda: f.read_directory()),
            ("bad-descriptor", lambda: f.write(b"zz", 0)),  # opened for reading only
            ("invalid", lambda: f.set_size(0)),
        ]
        for want, call in on_file:
            got = await code_of(call())
            if got != want:
                wrong.append(f"on a file: wasmtime says {want}, we say {got}")
        # things that work in Wasmtime too
        fine: list[Callable[[], Awaitable[Any]]] = [
                     lambda: sb.d.open_at(NOFOLLOW, "a.txt", frozenset({"exclusive"}), R),
                     lambda: sb.d.open_at(NOFOLLOW, "dir/", NONE, R),
                     lambda: sb.d.open_at(FOLLOW, "dangling", CREATE, W),
                     lambda: sb.d.create_directory_at("trailing/"),
                     lambda: sb.d.link_at(NOFOLLOW, "out-link", sb.d, "link-copy"),
                     lambda: f.sync(), lambda: sb.d.sync()]
        for ok_call in fine:
            assert await code_of(ok_call()) == "ok"
        assert await code_of(sb.d.remove_directory_at("trailing/")) == "invalid"
        return wrong

    assert run(main()) == []
    assert (sb.root / "nowhere").is_file()  # created through the dangling symlink, inside


def test_errno_mapping() -> None:
    assert fsb.errno_code(errno.ENOENT) == "no-entry"
    assert fsb.errno_code(errno.EOPNOTSUPP) == "unsupported"
    assert fsb.errno_code(errno.EXDEV) == "io"  # Wasmtime does not name it
    assert fsb.error_code(OSError(errno.EACCES, "x")) == "access"
    assert fsb.error_code(FsError("read-only")) == "read-only"
    assert fsb.error_code(ValueError("x")) is None


# --- the sandbox ---------------------------------------------------------------------------


def _escapes(sb: Sandbox) -> dict[str, Callable[[], Awaitable[Any]]]:
    d = sb.d
    return {
        "open ..": lambda: d.open_at(NOFOLLOW, "..", DIRECTORY, R),
        "open ../outside/secret.txt": lambda: d.open_at(NOFOLLOW, "../outside/secret.txt",
                                                         NONE, R),
        "open a/../../x": lambda: d.open_at(NOFOLLOW, "dir/../../outside/secret.txt", NONE, R),
        "open out and back in": lambda: d.open_at(NOFOLLOW, "../data/a.txt", NONE, R),
        "open /etc/passwd": lambda: d.open_at(NOFOLLOW, "/etc/passwd", NONE, R),
        "open //etc/passwd": lambda: d.open_at(FOLLOW, "//etc/passwd", NONE, R),
        "stat /": lambda: d.stat_at(NOFOLLOW, "/"),
        "open through a symlink to ..": lambda: d.open_at(NOFOLLOW, "up-link/outside/secret.txt",
                                                          NONE, R),
        "open through a symlink to /": lambda: d.open_at(NOFOLLOW, "root-link/etc/passwd",
                                                         NONE, R),
        "open a symlink to / following": lambda: d.open_at(FOLLOW, "root-link", DIRECTORY, R),
        "open an absolute symlink": lambda: d.open_at(FOLLOW, "abs-link", NONE, R),
        "open through a relative symlink out": lambda: d.open_at(
            NOFOLLOW, "out-link/secret.txt", NONE, R),
        "stat a symlink chain that leaves": lambda: d.stat_at(FOLLOW, "chain1"),
        "stat through selfdir then up": lambda: d.stat_at(FOLLOW, "selfdir/selfdir/../outside"),
        "create through a symlink out": lambda: d.open_at(NOFOLLOW, "out-link/new.txt",
                                                          CREATE, W),
        "create through a dangling symlink pointing out": lambda: d.open_at(
            FOLLOW, "dangle-out", CREATE, W),
        "mkdir ../escaped": lambda: d.create_directory_at("../escaped"),
        "mkdir through a symlink out": lambda: d.create_directory_at("out-link/escaped"),
        "rmdir ..": lambda: d.remove_directory_at(".."),
        "rmdir ../outside": lambda: d.remove_directory_at("../outside"),
        "unlink ..": lambda: d.unlink_file_at(".."),
        "unlink outside file": lambda: d.unlink_file_at("out-link/secret.txt"),
        "rename to outside": lambda: d.rename_at("a.txt", d, "../a.txt"),
        "rename from outside": lambda: d.rename_at("../outside/secret.txt", d, "stolen"),
        "rename ..": lambda: d.rename_at("..", d, "m3"),
        "rename through a symlink out": lambda: d.rename_at("out-link/secret.txt", d, "stolen"),
        "hard link to an outside file": lambda: d.link_at(NOFOLLOW, "out-link/secret.txt", d,
                                                          "hl"),
        "hard link from outside by ..": lambda: d.link_at(NOFOLLOW, "../outside/secret.txt",
                                                          d, "hl"),
        "hard link placed outside": lambda: d.link_at(NOFOLLOW, "a.txt", d, "../hl"),
        "symlink-at an absolute target": lambda: d.symlink_at("/etc/passwd", "new-abs"),
        "symlink-at placed outside": lambda: d.symlink_at("a.txt", "../new-link"),
        "readlink of an absolute symlink": lambda: d.readlink_at("abs-link"),
        "readlink through a symlink out": lambda: d.readlink_at("out-link/x"),
        "readlink ..": lambda: d.readlink_at(".."),
        "set-times following a symlink out": lambda: d.set_times_at(FOLLOW, "out-link", "now",
                                                                     "now"),
        "set-times through a symlink out": lambda: d.set_times_at(
            NOFOLLOW, "out-link/secret.txt", "now", "now"),
        "set-times of a dir through .. ": lambda: d.set_times_at(NOFOLLOW, "dir/../..", 0, 0),
        "metadata-hash of ..": lambda: d.metadata_hash_at(NOFOLLOW, ".."),
    }


def test_escapes_are_not_permitted(sb: Sandbox) -> None:
    before = sb.outside_listing()
    times = os.stat(sb.outside).st_mtime_ns, os.stat(sb.tmp).st_mtime_ns

    async def main() -> list[str]:
        wrong = []
        for what, call in _escapes(sb).items():
            got = await code_of(call())
            if got != "not-permitted":
                wrong.append(f"{what}: {got}")
        return wrong

    assert run(main()) == []
    assert sb.outside_listing() == before
    assert (os.stat(sb.outside).st_mtime_ns, os.stat(sb.tmp).st_mtime_ns) == times
    assert sorted(p.name for p in sb.tmp.iterdir()) == ["data", "outside", "ro"]
    # Inside the sandbox `..` is fine, and a relative symlink may point anywhere as text
    assert run(read_all(sb.d, "dir/../a.txt")) == b"alpha\n"
    assert run(sb.d.readlink_at("out-link")) == "../outside"
    run(sb.d.symlink_at("../outside", "rel-out"))  # Wasmtime allows it; following it is refused
    assert run(code_of(sb.d.open_at(FOLLOW, "rel-out/secret.txt", NONE, R))) == "not-permitted"


def test_a_symlink_swapped_in_for_a_directory_between_calls(sb: Sandbox) -> None:
    (sb.root / "flip").mkdir()
    (sb.root / "flip" / "x").write_text("inside")
    (sb.outside / "x").write_text("secret")
    assert run(read_all(sb.d, "flip/x")) == b"inside"
    (sb.root / "flip" / "x").unlink()
    (sb.root / "flip").rmdir()
    os.symlink("../outside", sb.root / "flip")
    assert run(code_of(sb.d.open_at(NOFOLLOW, "flip/x", NONE, R))) == "not-permitted"
    assert run(code_of(sb.d.unlink_file_at("flip/x"))) == "not-permitted"
    assert (sb.outside / "x").read_text() == "secret"


def test_a_directory_descriptor_held_while_its_path_becomes_a_symlink(sb: Sandbox) -> None:
    sub = run(sb.d.open_at(NOFOLLOW, "dir", DIRECTORY, R))
    os.rename(sb.root / "dir", sb.root / "moved")
    os.symlink("../outside", sb.root / "dir")
    # The held descriptor follows its inode, not the name, and cannot climb out either.
    assert run(read_all(sub, "b.txt")) == b"beta\n"
    assert run(code_of(sub.open_at(NOFOLLOW, "../../outside/secret.txt", NONE, R))) \
        == "not-permitted"


def test_symlinks_swapped_while_calls_are_in_flight(sb: Sandbox) -> None:
    """A thread flips `flip` between a real directory and a symlink out as fast as it can while
    reads and creates go through it: nothing outside is ever read or written."""
    inside = sb.root / "inside_dir"
    inside.mkdir()
    (inside / "x").write_text("inside")
    (sb.outside / "x").write_text("secret")
    os.symlink("../outside", sb.root / "evil")
    stop = threading.Event()
    flips = [0]

    def flipper() -> None:
        while not stop.is_set():
            for src in (inside, sb.root / "evil"):
                try:
                    os.rename(src, sb.root / "flip")
                    os.rename(sb.root / "flip", src)
                except FileNotFoundError:
                    pass
            flips[0] += 1

    async def main() -> dict[str, int]:
        seen: dict[str, int] = {}
        for i in range(300):
            try:
                got = (await read_all(sb.d, "flip/x", FOLLOW)).decode()
            except FsError as e:
                got = e.code
            seen[got] = seen.get(got, 0) + 1
            try:
                f = await sb.d.open_at(FOLLOW, f"flip/new{i}.txt", CREATE, W)
                await f.write(b"w", 0)
                f.close()
            except FsError:
                pass
        return seen

    t = threading.Thread(target=flipper)
    t.start()
    try:
        seen = run(main())
    finally:
        stop.set()
        t.join()
    assert "secret" not in seen
    assert sum(seen.values()) == 300
    assert set(seen) <= {"inside", "not-permitted", "no-entry", "not-directory", "loop"}
    assert sorted(p.name for p in sb.outside.iterdir()) == ["secret.txt", "x"]
    assert flips[0] > 0


def test_read_only_preopen_refuses_every_change(sb: Sandbox) -> None:
    ro = sb.ro
    before = {p.name: (p.is_dir() or p.read_bytes()) for p in sb.ro_root.iterdir()}
    mtimes = {p.name: p.stat().st_mtime_ns for p in sb.ro_root.iterdir()}

    async def main() -> list[str]:
        f = await ro.open_at(NOFOLLOW, "x.txt", NONE, R)
        assert await f.read(10, 0) == b"x"
        assert await f.get_flags() == {"read"}
        sub = await ro.open_at(NOFOLLOW, "sub", DIRECTORY, R)
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "create": lambda: ro.open_at(NOFOLLOW, "new", CREATE, W),
            "create in a subdirectory": lambda: sub.open_at(NOFOLLOW, "new", CREATE, W),
            "open for writing": lambda: ro.open_at(NOFOLLOW, "x.txt", NONE, W),
            "truncate": lambda: ro.open_at(NOFOLLOW, "x.txt", frozenset({"truncate"}), R),
            "mkdir": lambda: ro.create_directory_at("nd"),
            "rmdir": lambda: ro.remove_directory_at("sub"),
            "unlink": lambda: ro.unlink_file_at("x.txt"),
            "rename": lambda: ro.rename_at("x.txt", ro, "y.txt"),
            "rename into a writable dir": lambda: ro.rename_at("x.txt", sb.d, "y.txt"),
            "rename from a writable dir": lambda: sb.d.rename_at("a.txt", ro, "a.txt"),
            "link": lambda: ro.link_at(NOFOLLOW, "x.txt", ro, "l2"),
            "link into it": lambda: sb.d.link_at(NOFOLLOW, "a.txt", ro, "l3"),
            "symlink": lambda: ro.symlink_at("x.txt", "l"),
            "set-times-at": lambda: ro.set_times_at(NOFOLLOW, "x.txt", "now", "now"),
            "set-times": lambda: f.set_times("now", "now"),
            "set-size": lambda: f.set_size(0),
            "write": lambda: f.write(b"no", 0),
            "append": lambda: f.append(b"no"),
        }
        return [f"{what}: {got}" for what, call in calls.items()
                if (got := await code_of(call())) != "not-permitted"]

    assert run(main()) == []
    assert {p.name: (p.is_dir() or p.read_bytes()) for p in sb.ro_root.iterdir()} == before
    assert {p.name: p.stat().st_mtime_ns for p in sb.ro_root.iterdir()} == mtimes
    assert (sb.root / "a.txt").exists()


# --- the 0.3 front end ---------------------------------------------------------------------


def test_p3_methods_streams_and_errors(sb: Sandbox) -> None:
    from wasmloop.wasi.p3 import filesystem as p3

    async def main() -> None:
        pre = p3.Preopens(sb.fs).get_directories()
        assert [name for _, name in pre] == ["/data", "/ro"]
        d = pre[0][0]
        r = await d.open_at(NOFOLLOW, "missing", NONE, R)
        assert r == Err(Variant("no-entry", None))
        r = await d.stat_at(NOFOLLOW, "a.txt")
        assert isinstance(r, Ok)
        st = r.value
        assert st["type"] == Variant("regular-file", None) and st["size"] == 6
        assert set(st["data-modification-timestamp"]) == {"seconds", "nanoseconds"}
        assert (await d.get_type()) == Ok(Variant("directory", None))
        f = (await d.open_at(NOFOLLOW, "a.txt", NONE, R)).value
        chunks, done = f.read_via_stream(2)
        assert [c async for c in chunks] == [b"pha\n"]
        assert await done == Ok()
        chunks, done = d.read_via_stream(0)
        assert list(chunks) == [] and await done == Err(Variant("is-directory", None))
        # write-via-stream pumps a stream into the file
        out = (await d.open_at(NOFOLLOW, "w.txt", CREATE, W)).value
        w, rd = wasmloop.stream(U8)
        result = asyncio.ensure_future(out.write_via_stream(rd, 3))
        await w.write(b"hello")
        w.close()
        assert await result == Ok()
        assert (sb.root / "w.txt").read_bytes() == b"\0\0\0hello"
        w, rd = wasmloop.stream(U8)
        result = asyncio.ensure_future(out.append_via_stream(rd))
        await w.write(b"!")
        w.close()
        assert await result == Ok()
        assert (sb.root / "w.txt").read_bytes() == b"\0\0\0hello!"
        w, rd = wasmloop.stream(U8)  # f was opened for reading only: the OS refuses
        result = asyncio.ensure_future(f.write_via_stream(rd, 0))
        await w.write(b"x")
        assert await result == Err(Variant("bad-descriptor", None))
        with pytest.raises(wasmloop.BrokenResourceError):
            await w.write(b"more")  # the pump dropped its end
        w, rd = wasmloop.stream(U8)
        assert await d.write_via_stream(rd, 0) == Err(Variant("bad-descriptor", None))
        entries, done = d.read_directory()
        listed = [e async for chunk in entries for e in chunk]
        assert await done == Ok()
        assert {"type": Variant("regular-file", None), "name": "a.txt"} in listed
        assert {"type": Variant("symbolic-link", None), "name": "out-link"} in listed
        entries, done = f.read_directory()
        assert await done == Err(Variant("not-directory", None))
        ts = Variant("timestamp", {"seconds": 10, "nanoseconds": 5})
        assert await d.set_times_at(NOFOLLOW, "a.txt", Variant("no-change"), ts) == Ok()
        assert os.stat(sb.root / "a.txt").st_mtime_ns == 10_000_000_005
        h = (await f.metadata_hash()).value
        assert set(h) == {"lower", "upper"} and h["lower"] ^ h["upper"] == 4614256656552045848
        assert await f.is_same_object(f) is True
        assert await d.open_at(NOFOLLOW, "../x", NONE, R) == Err(Variant("not-permitted", None))
        f.drop()
        d.drop()
        # dropping a preopen handle leaves the preopen open for the next get-directories
        again = p3.Preopens(sb.fs).get_directories()[0][0]
        assert isinstance(await again.stat(), Ok)

    run(main())


def test_p3_read_stream_dropped_early_resolves_ok(sb: Sandbox) -> None:
    from wasmloop.wasi.p3 import filesystem as p3

    async def main() -> None:
        (sb.root / "big").write_bytes(b"z" * (3 * p3.CHUNK + 1))
        d = p3.Descriptor(sb.d.dup())
        f = (await d.open_at(NOFOLLOW, "big", NONE, R)).value
        chunks, done = f.read_via_stream(0)
        first = await chunks.__anext__()
        assert len(first) == p3.CHUNK
        await chunks.aclose()
        assert await done == Ok()
        chunks, done = f.read_via_stream(0)
        await chunks.aclose()  # never started
        assert await done == Ok()

    run(main())


# --- the 0.2 front end ---------------------------------------------------------------------


def test_p2_methods_streams_and_error_codes(sb: Sandbox) -> None:
    from wasmloop.wasi.p2 import filesystem as p2
    from wasmloop.wasi.p2.io import Error

    async def main() -> None:
        d = p2.Preopens(sb.fs).get_directories()[0][0]
        assert await d.open_at(NOFOLLOW, "missing", NONE, R) == Err("no-entry")
        assert await d.get_type() == Ok("directory")
        st = (await d.stat_at(NOFOLLOW, "a.txt")).value
        assert st["type"] == "regular-file" and st["link-count"] == 1
        f = (await d.open_at(NOFOLLOW, "a.txt", NONE, RW)).value
        assert await f.read(3, 0) == Ok((b"alp", False))
        assert await f.read(3, 6) == Ok((b"", True))
        assert await f.write(b"AL", 0) == Ok(2)
        inp = f.read_via_stream(0).value
        got = b""
        while True:
            r = await inp.blocking_read(4)
            if isinstance(r, Err):
                assert r.value == Variant("closed")
                break
            got += r.value
        assert got == b"ALpha\n"
        inp.drop()
        assert d.read_via_stream(0) == Err("is-directory")
        assert d.write_via_stream(0) == Err("bad-descriptor")
        ro = p2.Preopens(sb.fs).get_directories()[1][0]
        rf = (await ro.open_at(NOFOLLOW, "x.txt", NONE, R)).value
        assert rf.write_via_stream(0) == Err("not-permitted")
        assert await rf.write(b"x", 0) == Err("not-permitted")
        stream = (await d.read_directory()).value
        names = []
        while (e := stream.read_directory_entry()) != Ok(None):
            names.append((e.value["name"], e.value["type"]))
        assert ("dir", "directory") in names and ("out-link", "symbolic-link") in names
        assert await f.read_directory() == Err("not-directory")
        ts = Variant("timestamp", {"seconds": 20, "nanoseconds": 0})
        assert await d.set_times_at(NOFOLLOW, "a.txt", ts, Variant("now")) == Ok()
        assert os.stat(sb.root / "a.txt").st_atime_ns == 20 * 10**9
        types = p2.Types()
        assert types.filesystem_error_code(Error(FsError("no-entry"))) == "no-entry"
        assert types.filesystem_error_code(Error(OSError(errno.EPIPE, "x"))) == "pipe"
        assert types.filesystem_error_code(Error(ValueError("x"))) is None
        assert await d.open_at(NOFOLLOW, "/etc", NONE, R) == Err("not-permitted")

    run(main())


def test_p2_stat_leaves_out_times_before_the_epoch(sb: Sandbox) -> None:
    from wasmloop.wasi.p2 import filesystem as p2

    os.utime(sb.root / "a.txt", ns=(-5 * 10**9, 7 * 10**9))
    d = p2.Descriptor(sb.d.dup())
    st = run(d.stat_at(NOFOLLOW, "a.txt")).value
    assert st["data-access-timestamp"] is None
    assert st["data-modification-timestamp"] == {"seconds": 7, "nanoseconds": 0}


def test_p2_output_stream_writes_and_appends(sb: Sandbox) -> None:
    from wasmloop.wasi.p2 import filesystem as p2

    async def main() -> None:
        d = p2.Descriptor(sb.d.dup())
        f = (await d.open_at(NOFOLLOW, "o.txt", CREATE, W)).value
        out = f.write_via_stream(2).value
        assert isinstance(await out.blocking_write_and_flush(b"abc"), Ok)
        app = f.append_via_stream().value
        assert isinstance(await app.blocking_write_and_flush(b"Z"), Ok)
        out.drop()
        app.drop()
        assert (sb.root / "o.txt").read_bytes() == b"\0\0abcZ"

    run(main())


# --- a real guest: componentize-py doing its file work through wasi-libc (0.2) ---------------

GUEST = r'''
import errno
import hashlib
import os

from wit_world import exports


def attempt(fn):
    try:
        return "ok " + repr(fn())
    except OSError as e:
        return "err " + errno.errorcode.get(e.errno, str(e.errno))


def rw(p):
    with open(p, "r+b") as f:
        f.seek(2)
        f.write(b"XY")
        f.seek(0)
        return f.read()


def big(p):
    data = bytes(range(256)) * 5000
    with open(p, "wb") as f:
        f.write(data)
    with open(p, "rb") as f:
        back = f.read()
    return len(back), hashlib.sha256(back).hexdigest()[:16]


B = "/data"
STEPS = [
    ("listdir", lambda: sorted(os.listdir(B))),
    ("read", lambda: open(B + "/a.txt").read()),
    ("escape ..", lambda: open(B + "/../outside/secret.txt").read()),
    ("escape via link", lambda: open(B + "/out-link/secret.txt").read()),
    ("escape abs link", lambda: open(B + "/abs-link").read()),
    ("escape create via link", lambda: open(B + "/out-link/new.txt", "w").write("x")),
    ("escape mkdir", lambda: os.mkdir(B + "/out-link/made")),
    ("stat", lambda: (os.stat(B + "/a.txt").st_size, os.stat(B + "/a.txt").st_nlink)),
    ("lstat link", lambda: os.lstat(B + "/out-link").st_size),
    ("stat link out", lambda: os.stat(B + "/out-link").st_size),
    ("write", lambda: open(B + "/new.txt", "w").write("hello")),
    ("append", lambda: open(B + "/new.txt", "a").write(" world")),
    ("read back", lambda: open(B + "/new.txt").read()),
    ("seek and write", lambda: rw(B + "/new.txt")),
    ("exclusive create existing", lambda: open(B + "/new.txt", "x")),
    ("mkdir", lambda: os.mkdir(B + "/m")),
    ("mkdir again", lambda: os.mkdir(B + "/m")),
    ("makedirs", lambda: os.makedirs(B + "/m/n/o")),
    ("rmdir non-empty", lambda: os.rmdir(B + "/m")),
    ("unlink missing", lambda: os.unlink(B + "/nope")),
    ("unlink dir", lambda: os.unlink(B + "/dir")),
    ("rename", lambda: os.rename(B + "/new.txt", B + "/new2.txt")),
    ("replace", lambda: os.replace(B + "/new2.txt", B + "/a-copy.txt")),
    ("link", lambda: os.link(B + "/a-copy.txt", B + "/hard.txt")),
    ("nlink", lambda: os.stat(B + "/hard.txt").st_nlink),
    ("symlink", lambda: os.symlink("a-copy.txt", B + "/sl")),
    ("readlink", lambda: os.readlink(B + "/sl")),
    ("read via symlink", lambda: open(B + "/sl").read()),
    ("utime", lambda: os.utime(B + "/a.txt", (100, 200))),
    ("times", lambda: (os.stat(B + "/a.txt").st_atime, os.stat(B + "/a.txt").st_mtime)),
    ("walk", lambda: sorted((p, sorted(d), sorted(f)) for p, d, f in os.walk(B + "/dir"))),
    ("scandir", lambda: sorted((e.name, e.is_dir(), e.is_file(), e.is_symlink())
                               for e in os.scandir(B + "/dir"))),
    ("truncate", lambda: os.truncate(B + "/a-copy.txt", 2)),
    ("read truncated", lambda: open(B + "/a-copy.txt", "rb").read()),
    ("open dir as file", lambda: open(B + "/dir").read()),
    ("listdir file", lambda: os.listdir(B + "/a.txt")),
    ("big file", lambda: big(B + "/big.bin")),
    ("remove big", lambda: os.remove(B + "/big.bin")),
]


class Run(exports.Run):
    async def run(self) -> None:
        for name, fn in STEPS:
            print(name, attempt(fn))
'''


def test_guest_files_through_wasi_libc_match_wasmtime(tmp_path: Path) -> None:
    from difftest import compare, run_reference, run_wasmloop
    from guests import build_python, wasi_wit

    wasm = build_python(GUEST, "local:app/app", wasi_wit("0.3.0"))
    data = tmp_path / "data"
    (data / "dir" / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha\n")
    (data / "dir" / "b.txt").write_text("beta\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    os.symlink("../outside", data / "out-link")
    os.symlink("/etc/passwd", data / "abs-link")
    ref = run_reference(wasm, [], dirs={data: "/data"})
    assert ref.code == 0, ref.err()
    lines = ref.lines()
    assert "escape .. err EPERM" in lines
    assert "escape create via link err EPERM" in lines
    assert "read back ok 'hello world'" in lines
    assert "big file ok (1280000, " in ref.out()
    assert ref.files["/data"]["sl"] == ("symlink", "a-copy.txt")
    got = run_wasmloop(wasm, [], dirs={data: "/data"})
    compare(ref, got)
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["secret.txt"]


def test_preopens_are_dir_instances(sb: Sandbox) -> None:
    assert all(isinstance(d, Dir) for d, _ in sb.fs.preopens)
    assert fsb.filesystem(sb.ctx) is sb.fs  # one per context, shared by both front ends


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_no_descriptor_leaks_once_handles_and_streams_are_done(sb: Sandbox) -> None:
    from wasmloop.wasi.p2 import filesystem as p2
    from wasmloop.wasi.p3 import filesystem as p3

    async def main() -> None:
        for _ in range(20):
            d = p3.Preopens(sb.fs).get_directories()[0][0]
            f = (await d.open_at(NOFOLLOW, "a.txt", NONE, R)).value
            chunks, done = f.read_via_stream(0)
            f.drop()  # the stream holds the file open until it ends
            assert [c async for c in chunks] == [b"alpha\n"]
            assert await done == Ok()
            entries, done = d.read_directory()
            assert [e async for chunk in entries for e in chunk]
            assert await done == Ok()
            assert isinstance(await d.stat_at(FOLLOW, "selfdir/dir/b.txt"), Ok)
            assert isinstance(await d.open_at(NOFOLLOW, "../x", NONE, R), Err)
            d.drop()
            q = p2.Descriptor(sb.d.dup())
            g = (await q.open_at(NOFOLLOW, "a.txt", NONE, R)).value
            inp = g.read_via_stream(0).value
            g.drop()
            assert (await inp.blocking_read(100)).value == b"alpha\n"
            inp.drop()
            q.drop()
        await asyncio.sleep(0)

    before = _open_fds()
    run(main())
    assert _open_fds() == before


def test_p3_read_directory_streams_big_directories_in_batches(sb: Sandbox) -> None:
    from wasmloop.wasi.p3 import filesystem as p3

    big = sb.root / "big"
    big.mkdir()
    for i in range(1000):
        (big / f"f{i:04}").touch()

    async def main() -> None:
        d = p3.Descriptor(sb.d.dup())
        sub = (await d.open_at(NOFOLLOW, "big", DIRECTORY, R)).value
        entries, done = sub.read_directory()
        sizes = [len(chunk) async for chunk in entries]
        assert await done == Ok()
        assert sum(sizes) == 1000 and max(sizes) <= p3.DIR_BATCH
        entries, done = sub.read_directory()
        first = await entries.__anext__()
        await entries.aclose()  # the guest dropped the stream after one batch
        assert len(first) == p3.DIR_BATCH and await done == Ok()
        listing = sb.d.listing()
        got, err, over = await listing.next(3)
        assert len(got) == 3 and err is None and not over
        listing.close()
        assert await listing.next(3) == ([], None, True)

    before = _open_fds()
    run(main())
    assert _open_fds() == before

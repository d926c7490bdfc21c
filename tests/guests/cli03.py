# A componentize-py guest for `wasi:cli/command@0.3.0`: one component, many scenarios.
# `args[1]` names the scenario; the rest are its arguments. It prints through the 0.3 stdout
# stream (not `print`, which goes through componentize-py's wasi 0.2 libc), except the
# `print` scenario. Facts are printed, never timings, so both hosts must print the same.

import asyncio
import hashlib
import json

import componentize_py_async_support
import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import (
    environment,
    exit,
    insecure,
    ip_name_lookup,
    monotonic_clock,
    preopens,
    random,
    stderr,
    stdin,
    stdout,
)
from wit_world.imports import (
    wasi_filesystem_types as fs,
)
from wit_world.imports import (
    wasi_sockets_types as net,
)

MS = 1_000_000
NOFOLLOW = fs.PathFlags(0)


class Out:
    """Lines written through one `wasi:cli/stdout` (or stderr) 0.3 stream."""

    def __init__(self, iface) -> None:
        self.tx, rx = wit_world.byte_stream()
        self.done = iface.write_via_stream(rx)

    async def line(self, *parts: object) -> None:
        await self.tx.write_all((" ".join(str(p) for p in parts) + "\n").encode())

    async def close(self) -> None:
        self.tx.__exit__(None, None, None)
        await self.done.read()


def code(e: Err) -> str:
    """The name of an error case: `ErrorCode_NoEntry` → `no-entry`."""
    v = e.value
    name = type(v).__name__.split("_", 1)[-1]
    out = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    if getattr(v, "value", None) is not None and not isinstance(v, (int, str)):
        out += f"({v.value})"
    return out


async def attempt(coro_or_fn):
    """`ok` / `ok VALUE` or `err CODE`, for printing what a call gave."""
    try:
        r = coro_or_fn() if callable(coro_or_fn) else await coro_or_fn
        if asyncio.iscoroutine(r):
            r = await r
        return "ok"
    except Err as e:
        return "err " + code(e)


# --- scenarios -----------------------------------------------------------------------------


async def s_args(out: Out, argv: list[str]) -> None:
    await out.line("args", json.dumps(argv))
    await out.line("count", len(argv))


async def s_env(out: Out, argv: list[str]) -> None:
    env = dict(environment.get_environment())
    await out.line("env", json.dumps(sorted(env.items())))
    for name in argv:
        await out.line(name, json.dumps(env.get(name)))
    await out.line("cwd", json.dumps(environment.get_initial_cwd()))


async def s_stdin(out: Out, argv: list[str]) -> None:
    rx, done = stdin.read_via_stream()
    h = hashlib.sha256()
    n = 0
    with rx:
        while not rx.writer_dropped:
            chunk = await rx.read(65536)
            n += len(chunk)
            h.update(chunk)
    res = await done.read()
    await out.line("stdin", n, h.hexdigest(), type(res).__name__)


async def s_echo_stdin(out: Out, argv: list[str]) -> None:
    rx, done = stdin.read_via_stream()
    with rx:
        while not rx.writer_dropped:
            chunk = await rx.read(1 << 20)
            if chunk:
                await out.tx.write_all(chunk)
    await done.read()


async def s_print(out: Out, argv: list[str]) -> None:
    import sys

    print("print via libc:", " ".join(argv))
    sys.stdout.flush()
    sys.stderr.write("stderr via libc\n")
    sys.stderr.flush()
    err = Out(stderr)
    await err.line("stderr via 0.3 stream")
    await err.close()


def dir_of(name: str) -> fs.Descriptor:
    for d, path in preopens.get_directories():
        if path == name:
            return d
    raise Exception(f"no preopen {name}")


async def write_file(d: fs.Descriptor, path: str, data: bytes, flags=fs.OpenFlags.CREATE | fs.OpenFlags.TRUNCATE) -> None:
    f = await d.open_at(fs.PathFlags(0), path, flags, fs.DescriptorFlags.WRITE)
    tx, rx = wit_world.byte_stream()
    done = f.write_via_stream(rx, 0)
    with tx:
        await tx.write_all(data)
    res = await done.read()
    if isinstance(res, Err):
        raise res


async def read_file(d: fs.Descriptor, path: str, pf: fs.PathFlags = NOFOLLOW) -> bytes:
    f = await d.open_at(pf, path, fs.OpenFlags(0), fs.DescriptorFlags.READ)
    rx, done = f.read_via_stream(0)
    data = b""
    with rx:
        while not rx.writer_dropped:
            data += await rx.read(65536)
    res = await done.read()
    if isinstance(res, Err):
        raise res
    return data


async def list_dir(d: fs.Descriptor) -> list[tuple[str, str]]:
    rx, done = d.read_directory()
    entries = []
    with rx:
        while not rx.writer_dropped:
            for e in await rx.read(64):
                entries.append((e.name, type(e.type).__name__.split("_", 1)[-1]))
    res = await done.read()
    if isinstance(res, Err):
        raise res
    return entries


def stat_text(st: fs.DescriptorStat) -> str:
    kind = type(st.type).__name__.split("_", 1)[-1]
    return f"type={kind} size={st.size} mtime={'yes' if st.data_modification_timestamp else 'no'}"


async def s_fs(out: Out, argv: list[str]) -> None:
    await out.line("preopens", json.dumps(sorted(p for _, p in preopens.get_directories())))
    d = dir_of("/data")
    await out.line("read a.txt", json.dumps((await read_file(d, "a.txt")).decode()))
    body = b"".join(b"line %d\n" % i for i in range(5000))
    await write_file(d, "out.txt", body)
    back = await read_file(d, "out.txt")
    await out.line("wrote out.txt", len(body), "read back equal", back == body)
    await out.line("stat out.txt", stat_text(await d.stat_at(fs.PathFlags(0), "out.txt")))
    await out.line("stat .", stat_text(await d.stat()).split(" size=")[0])
    f = await d.open_at(fs.PathFlags(0), "a.txt", fs.OpenFlags(0), fs.DescriptorFlags.READ)
    await out.line("fstat a.txt", stat_text(await f.stat()))
    await out.line("type a.txt", type(await f.get_type()).__name__)
    # Appending, at an offset, truncating.
    a = await d.open_at(fs.PathFlags(0), "out.txt", fs.OpenFlags(0), fs.DescriptorFlags.WRITE)
    tx, rx = wit_world.byte_stream()
    done = a.append_via_stream(rx)
    with tx:
        await tx.write_all(b"appended\n")
    await done.read()
    await a.set_size(20)
    await out.line("after append+set-size", json.dumps((await read_file(d, "out.txt")).decode()))
    await d.create_directory_at("sub")
    await write_file(d, "sub/new.txt", b"in sub\n")
    await d.create_directory_at("sub/deeper")
    sub = await d.open_at(fs.PathFlags(0), "sub", fs.OpenFlags.DIRECTORY, fs.DescriptorFlags.READ)
    await out.line("sub entries sorted", json.dumps(sorted(await list_dir(sub))))
    root = await list_dir(d)
    await out.line("root entries os order", json.dumps(root))
    await out.line("root entries sorted", json.dumps(sorted(root)))
    await d.rename_at("sub/new.txt", d, "renamed.txt")
    await d.symlink_at("renamed.txt", "link-to-renamed")
    await out.line("readlink", json.dumps(await d.readlink_at("link-to-renamed")))
    await out.line("via link", json.dumps((await read_file(d, "link-to-renamed", fs.PathFlags.SYMLINK_FOLLOW)).decode()))
    st = await d.stat_at(fs.PathFlags(0), "link-to-renamed")
    await out.line("lstat link", stat_text(st).split(" size=")[0])
    await d.unlink_file_at("a.txt")
    # Errors.
    tests = [
        ("open missing", lambda: d.open_at(fs.PathFlags(0), "missing.txt", fs.OpenFlags(0), fs.DescriptorFlags.READ)),
        ("stat missing", lambda: d.stat_at(fs.PathFlags(0), "missing/x")),
        ("mkdir existing", lambda: d.create_directory_at("sub")),
        ("create exclusive existing", lambda: d.open_at(fs.PathFlags(0), "renamed.txt", fs.OpenFlags.CREATE | fs.OpenFlags.EXCLUSIVE, fs.DescriptorFlags.WRITE)),
        ("open file as directory", lambda: d.open_at(fs.PathFlags(0), "renamed.txt", fs.OpenFlags.DIRECTORY, fs.DescriptorFlags.READ)),
        ("rmdir non-empty", lambda: d.remove_directory_at("sub")),
        ("unlink directory", lambda: d.unlink_file_at("sub")),
        ("unlink missing", lambda: d.unlink_file_at("a.txt")),
        ("readlink regular file", lambda: d.readlink_at("renamed.txt")),
        ("open symlink without follow", lambda: read_file(d, "link-to-renamed")),
        ("write in the second preopen", lambda: write_file(dir_of("/ro"), "x.txt", b"x")),
    ]
    for name, fn in tests:
        await out.line(name, await attempt(fn))
    await d.remove_directory_at("sub/deeper")


async def s_escape(out: Out, argv: list[str]) -> None:
    d = dir_of("/data")
    R, N = fs.DescriptorFlags.READ, fs.OpenFlags(0)
    follow = fs.PathFlags.SYMLINK_FOLLOW
    tests = [
        ("open ..", lambda: d.open_at(fs.PathFlags(0), "..", fs.OpenFlags.DIRECTORY, R)),
        ("open ../x", lambda: d.open_at(fs.PathFlags(0), "../x", N, R)),
        ("open sub/../../x", lambda: d.open_at(fs.PathFlags(0), "dir/../../x", N, R)),
        ("open dir/../a.txt", lambda: d.open_at(fs.PathFlags(0), "dir/../a.txt", N, R)),
        ("open absolute", lambda: d.open_at(fs.PathFlags(0), "/etc/passwd", N, R)),
        ("stat absolute", lambda: d.stat_at(fs.PathFlags(0), "/")),
        ("open symlink out (follow)", lambda: d.open_at(follow, "out-link/secret.txt", N, R)),
        ("open symlink out itself", lambda: d.open_at(follow, "out-link", fs.OpenFlags.DIRECTORY, R)),
        ("open abs symlink", lambda: d.open_at(follow, "abs-link", N, R)),
        ("stat symlink out (follow)", lambda: d.stat_at(follow, "out-link")),
        ("stat symlink out (nofollow)", lambda: d.stat_at(fs.PathFlags(0), "out-link")),
        ("create through symlink out", lambda: write_file(d, "out-link/new.txt", b"x")),
        ("mkdir ..", lambda: d.create_directory_at("../escaped")),
        ("symlink-at absolute target", lambda: d.symlink_at("/etc/passwd", "new-abs-link")),
        ("rename out", lambda: d.rename_at("a.txt", d, "../a.txt")),
    ]
    for name, fn in tests:
        await out.line(name, await attempt(fn))


async def s_clocks(out: Out, argv: list[str]) -> None:
    t0 = monotonic_clock.now()
    await asyncio.gather(*(monotonic_clock.wait_for(50 * MS) for _ in range(10)))
    t1 = monotonic_clock.now()
    await out.line("ten waits of 50ms: at least 50ms", t1 - t0 >= 50 * MS, "under 400ms", t1 - t0 < 400 * MS)
    target = monotonic_clock.now() + 20 * MS
    await monotonic_clock.wait_until(target)
    await out.line("wait-until reached", monotonic_clock.now() >= target)
    await monotonic_clock.wait_until(0)
    await out.line("wait-until in the past returns", True)
    await out.line("resolution > 0", monotonic_clock.get_resolution() > 0)
    for n in (0, 1, 16, 1000, 65536):
        await out.line("random bytes", n, len(random.get_random_bytes(n)), len(insecure.get_insecure_random_bytes(n)))
    a, b = random.get_random_u64(), random.get_random_u64()
    await out.line("random u64 in range", 0 <= a < 2**64, "differ", a != b)


def v4(port: int, addr=(127, 0, 0, 1)) -> net.IpSocketAddress:
    return net.IpSocketAddress_Ipv4(net.Ipv4SocketAddress(port=port, address=addr))


async def send_all(sock: net.TcpSocket, data: bytes) -> None:
    tx, rx = wit_world.byte_stream()
    done = sock.send(rx)
    with tx:
        await tx.write_all(data)
    await done.read()


async def recv_all(rx) -> bytes:
    data = b""
    with rx:
        while not rx.writer_dropped:
            data += await rx.read(65536)
    return data


async def s_tcp(out: Out, argv: list[str]) -> None:
    clients = int(argv[0]) if argv else 5
    server = net.TcpSocket.create(net.IpAddressFamily.IPV4)
    server.bind(v4(0))
    conns = server.listen()
    port = server.get_local_address().value.port
    await out.line("listening", port > 0, server.get_is_listening())

    async def serve_one(sock: net.TcpSocket) -> None:
        rx, _ = sock.receive()
        data = await recv_all(rx)
        await send_all(sock, b"echo:" + data)

    async def serve() -> None:
        served = 0
        tasks = []
        with conns:
            while served < clients:
                for sock in await conns.read(clients - served):
                    tasks.append(asyncio.ensure_future(serve_one(sock)))
                    served += 1
        await asyncio.gather(*tasks)

    async def client(i: int) -> bytes:
        c = net.TcpSocket.create(net.IpAddressFamily.IPV4)
        await c.connect(v4(port))
        rx, _ = c.receive()
        await send_all(c, b"client %d " % i * 100)
        return await recv_all(rx)

    results = await asyncio.gather(serve(), *(client(i) for i in range(clients)))
    for i, r in enumerate(results[1:]):
        await out.line("client", i, "got", len(r), r == b"echo:" + b"client %d " % i * 100)


async def s_udp(out: Out, argv: list[str]) -> None:
    a = net.UdpSocket.create(net.IpAddressFamily.IPV4)
    b = net.UdpSocket.create(net.IpAddressFamily.IPV4)
    a.bind(v4(0))
    b.bind(v4(0))
    pa = a.get_local_address().value.port
    pb = b.get_local_address().value.port
    await a.send(b"ping", v4(pb))
    data, src = await b.receive()
    await out.line("b got", data, "from a", src.value.port == pa, src.value.address)
    b.connect(v4(pa))
    await b.send(b"pong", None)
    data, src = await a.receive()
    await out.line("a got", data, "from b", src.value.port == pb)
    await out.line("send to other than connected", await attempt(b.send(b"x", v4(pa + 1 if pa < 65535 else 1))))


async def s_lookup(out: Out, argv: list[str]) -> None:
    for name in argv or ["localhost"]:
        try:
            addrs = await ip_name_lookup.resolve_addresses(name)
            shown = sorted({(type(a).__name__, a.value) for a in addrs})
            await out.line("lookup", json.dumps(name), "ok", json.dumps(shown))
        except Err as e:
            await out.line("lookup", json.dumps(name), "err", code(e))


async def s_net_denied(out: Out, argv: list[str]) -> None:
    """Every network op, for running without (or with some of) the grants."""

    def tcp_bind():
        s = net.TcpSocket.create(net.IpAddressFamily.IPV4)
        s.bind(v4(0))

    async def tcp_connect():
        s = net.TcpSocket.create(net.IpAddressFamily.IPV4)
        await s.connect(v4(9))

    def udp_bind():
        s = net.UdpSocket.create(net.IpAddressFamily.IPV4)
        s.bind(v4(0))

    async def udp_send():
        s = net.UdpSocket.create(net.IpAddressFamily.IPV4)
        await s.send(b"x", v4(9))

    await out.line("tcp create", await attempt(lambda: net.TcpSocket.create(net.IpAddressFamily.IPV4)))
    await out.line("tcp bind", await attempt(tcp_bind))
    await out.line("tcp connect", await attempt(tcp_connect))
    await out.line("udp create", await attempt(lambda: net.UdpSocket.create(net.IpAddressFamily.IPV4)))
    await out.line("udp bind", await attempt(udp_bind))
    await out.line("udp send", await attempt(udp_send))
    await out.line("lookup localhost", await attempt(ip_name_lookup.resolve_addresses("localhost")))


SCENARIOS = {
    "args": s_args,
    "env": s_env,
    "stdin": s_stdin,
    "echo-stdin": s_echo_stdin,
    "print": s_print,
    "fs": s_fs,
    "escape": s_escape,
    "clocks": s_clocks,
    "tcp": s_tcp,
    "udp": s_udp,
    "lookup": s_lookup,
    "net": s_net_denied,
}


class Run(exports.Run):
    async def run(self) -> None:
        argv = environment.get_arguments()
        what = argv[1] if len(argv) > 1 else "args"
        rest = argv[2:]
        out = Out(stdout)
        if what == "exit":
            await out.line("exiting with", rest[0])
            await out.close()
            exit.exit_with_code(int(rest[0]))
        if what == "exit-err":
            await out.close()
            exit.exit(Err(None))
        if what == "err":
            await out.line("returning err")
            await out.close()
            raise Err(None)
        if what == "trap":
            await out.close()
            raise ValueError("guest raised")
        await SCENARIOS[what](out, rest)
        await out.line("done", what)
        await out.close()


_ = componentize_py_async_support

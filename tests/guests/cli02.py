# A componentize-py guest for `wasi:cli/command@0.2.12`, pure WASI 0.2: output through the
# 0.2 stdout output-stream, waits and sockets through pollables, files through Python's own
# os/open (componentize-py's wasi-libc). `args[1]` names the scenario. Facts are printed,
# never timings, so both hosts must print the same.

import errno
import hashlib
import json
import os
import sys

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import (
    environment,
    exit,
    insecure,
    instance_network,
    ip_name_lookup,
    monotonic_clock,
    network,
    poll,
    random,
    stderr,
    stdin,
    stdout,
    streams,
    tcp,
    tcp_create_socket,
    udp,
    udp_create_socket,
)

MS = 1_000_000
_out: list[streams.OutputStream] = []  # made at run time, not while componentize-py pre-initializes


def line(*parts: object) -> None:
    if not _out:
        _out.append(stdout.get_stdout())
    data = (" ".join(str(p) for p in parts) + "\n").encode()
    for i in range(0, len(data), 4096):
        _out[0].blocking_write_and_flush(data[i:i + 4096])


def code(e: BaseException) -> str:
    if isinstance(e, Err):
        v = e.value
        return v.name.lower().replace("_", "-") if hasattr(v, "name") else type(v).__name__
    if isinstance(e, OSError):
        return errno.errorcode.get(e.errno or 0, str(e.errno))
    return type(e).__name__


def attempt(fn) -> str:
    try:
        fn()
        return "ok"
    except (Err, OSError) as e:
        return "err " + code(e)


def drop(*resources) -> None:
    for r in resources:
        r.__exit__(None, None, None)


# --- a tiny scheduler: generators yield pollables (or ("spawn", generator)) ------------------


def run_all(gens: list) -> list:
    results: dict = {}
    waiting: dict = {}
    order = list(gens)

    def step(g, first: bool = False) -> None:
        try:
            item = next(g)
            while isinstance(item, tuple):
                order.append(item[1])
                step(item[1])
                item = next(g)
            waiting[g] = item
        except StopIteration as s:
            results[g] = s.value

    for g in gens:
        step(g)
    while waiting:
        items = list(waiting.items())
        for i in poll.poll([p for _, p in items]):
            g, p = items[i]
            del waiting[g]
            drop(p)
            step(g)
    return [results.get(g) for g in gens]


def would_block(fn):
    """Call a start/finish style function until it stops answering would-block."""
    while True:
        try:
            return fn()
        except Err as e:
            if e.value != network.ErrorCode.WOULD_BLOCK:
                raise
            yield None


def finish(sock, fn):
    g = would_block(fn)
    while True:
        try:
            next(g)
        except StopIteration as s:
            return s.value
        yield sock.subscribe()


def read_to_end(ins: streams.InputStream):
    data = b""
    while True:
        try:
            chunk = ins.read(65536)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                return data
            raise
        if chunk:
            data += chunk
        else:
            yield ins.subscribe()


def write_all(outs: streams.OutputStream, data: bytes):
    while data:
        n = outs.check_write()
        if n == 0:
            yield outs.subscribe()
            continue
        outs.write(data[:n])
        data = data[n:]
    outs.flush()
    while outs.check_write() == 0:
        yield outs.subscribe()


def v4(port: int, addr=(127, 0, 0, 1)) -> network.IpSocketAddress:
    return network.IpSocketAddress_Ipv4(network.Ipv4SocketAddress(port=port, address=addr))


# --- scenarios -----------------------------------------------------------------------------


def s_args(argv: list[str]) -> None:
    line("args", json.dumps(argv))
    line("sys.argv", json.dumps(sys.argv[2:]))


def s_env(argv: list[str]) -> None:
    env = dict(environment.get_environment())
    line("env", json.dumps(sorted(env.items())))
    for name in argv:
        line(name, json.dumps(env.get(name)), json.dumps(os.environ.get(name)))


def s_stdin(argv: list[str]) -> None:
    ins = stdin.get_stdin()
    h = hashlib.sha256()
    n = 0
    while True:
        try:
            chunk = ins.blocking_read(65536)
        except Err:
            break
        n += len(chunk)
        h.update(chunk)
    line("stdin", n, h.hexdigest())


def s_print(argv: list[str]) -> None:
    print("print via libc:", " ".join(argv), flush=True)
    err = stderr.get_stderr()
    err.blocking_write_and_flush(b"stderr via 0.2 stream\n")


def s_fs(argv: list[str]) -> None:
    with open("/data/a.txt") as f:
        line("read a.txt", json.dumps(f.read()))
    body = "".join(f"line {i}\n" for i in range(3000))
    with open("/data/out.txt", "w") as f:
        f.write(body)
    with open("/data/out.txt") as f:
        line("read back equal", f.read() == body)
    st = os.stat("/data/out.txt")
    line("stat out.txt size", st.st_size, "is file", os.path.isfile("/data/out.txt"))
    with open("/data/out.txt", "a") as f:
        f.write("appended\n")
    with open("/data/out.txt", "rb") as f:
        f.seek(-9, 2)
        line("tail", f.read())
    os.mkdir("/data/sub")
    with open("/data/sub/n.txt", "wb") as f:
        f.write(b"nested\n")
    line("listdir os order", json.dumps(os.listdir("/data")))
    line("listdir sorted", json.dumps(sorted(os.listdir("/data"))))
    line("isdir sub", os.path.isdir("/data/sub"), "exists missing", os.path.exists("/data/nope"))
    os.rename("/data/sub/n.txt", "/data/renamed.txt")
    os.symlink("renamed.txt", "/data/link")
    line("readlink", os.readlink("/data/link"), "via link", open("/data/link").read().strip())
    os.remove("/data/a.txt")
    tests = [
        ("open missing", lambda: open("/data/missing.txt")),
        ("mkdir existing", lambda: os.mkdir("/data/sub")),
        ("rmdir non-empty", lambda: os.rmdir("/data/dir")),
        ("open dir for writing", lambda: open("/data/dir", "w")),
        ("listdir file", lambda: os.listdir("/data/renamed.txt")),
        ("exclusive create existing", lambda: open("/data/renamed.txt", "x")),
    ]
    for name, fn in tests:
        line(name, attempt(fn))


def s_escape(argv: list[str]) -> None:
    tests = [
        ("open ..", lambda: os.listdir("/data/..")),
        ("open ../x", lambda: open("/data/../x")),
        ("open absolute outside", lambda: open("/etc/passwd")),
        ("open symlink out", lambda: open("/data/out-link/secret.txt")),
        ("open abs symlink", lambda: open("/data/abs-link")),
        ("write through symlink out", lambda: open("/data/out-link/new.txt", "w")),
        ("mkdir ..", lambda: os.mkdir("/data/../escaped")),
        ("open dir/../a.txt", lambda: open("/data/dir/../a.txt")),
    ]
    for name, fn in tests:
        line(name, attempt(fn))


def s_clocks(argv: list[str]) -> None:
    t0 = monotonic_clock.now()
    pollables = [monotonic_clock.subscribe_duration(50 * MS) for _ in range(10)]
    pending = list(pollables)
    while pending:
        ready = set(poll.poll(pending))
        pending = [p for i, p in enumerate(pending) if i not in ready]
    elapsed = monotonic_clock.now() - t0
    line("ten waits of 50ms: at least 50ms", elapsed >= 50 * MS, "under 400ms", elapsed < 400 * MS)
    drop(*pollables)
    target = monotonic_clock.now() + 20 * MS
    p = monotonic_clock.subscribe_instant(target)
    p.block()
    drop(p)
    line("subscribe-instant reached", monotonic_clock.now() >= target)
    for n in (0, 1, 16, 1000, 65536):
        line("random bytes", n, len(random.get_random_bytes(n)), len(insecure.get_insecure_random_bytes(n)))


def s_tcp(argv: list[str]) -> None:
    clients = int(argv[0]) if argv else 4
    net = instance_network.instance_network()
    server = tcp_create_socket.create_tcp_socket(network.IpAddressFamily.IPV4)

    def setup():
        server.start_bind(net, v4(0))
        yield from finish(server, server.finish_bind)
        server.start_listen()
        yield from finish(server, server.finish_listen)

    run_all([setup()])
    port = server.local_address().value.port
    line("listening", port > 0, server.is_listening())

    def handle(sock, ins, outs):
        data = yield from read_to_end(ins)
        yield from write_all(outs, b"echo:" + data)
        drop(ins, outs, sock)

    def serve():
        for _ in range(clients):
            sock, ins, outs = yield from finish(server, server.accept)
            yield ("spawn", handle(sock, ins, outs))

    def client(i: int):
        c = tcp_create_socket.create_tcp_socket(network.IpAddressFamily.IPV4)
        c.start_connect(net, v4(port))
        ins, outs = yield from finish(c, c.finish_connect)
        yield from write_all(outs, b"client %d " % i * 100)
        c.shutdown(tcp.ShutdownType.SEND)
        data = yield from read_to_end(ins)
        drop(ins, outs, c)
        return data

    results = run_all([serve(), *(client(i) for i in range(clients))])
    for i, r in enumerate(results[1:]):
        line("client", i, "got", len(r), r == b"echo:" + b"client %d " % i * 100)
    drop(server, net)


def s_udp(argv: list[str]) -> None:
    net = instance_network.instance_network()
    a = udp_create_socket.create_udp_socket(network.IpAddressFamily.IPV4)
    b = udp_create_socket.create_udp_socket(network.IpAddressFamily.IPV4)

    def bind(s):
        s.start_bind(net, v4(0))
        yield from finish(s, s.finish_bind)

    run_all([bind(a), bind(b)])
    pa, pb = a.local_address().value.port, b.local_address().value.port
    a_in, a_out = a.stream(None)
    b_in, b_out = b.stream(None)

    def send(out, data, to):
        while out.check_send() == 0:
            yield out.subscribe()
        return out.send([udp.OutgoingDatagram(data=data, remote_address=to)])

    def recv(ins):
        while True:
            got = ins.receive(1)
            if got:
                return got[0]
            yield ins.subscribe()

    sent, got = run_all([send(a_out, b"ping", v4(pb)), recv(b_in)])
    line("sent", sent, "b got", got.data, "from a", got.remote_address.value.port == pa)
    drop(a_in, a_out, b_in, b_out, a, b, net)


def s_lookup(argv: list[str]) -> None:
    net = instance_network.instance_network()
    for name in argv or ["localhost"]:
        def resolve(name=name):
            stream = ip_name_lookup.resolve_addresses(net, name)
            addrs = []
            while True:
                try:
                    a = stream.resolve_next_address()
                except Err as e:
                    if e.value != network.ErrorCode.WOULD_BLOCK:
                        drop(stream)
                        raise
                    yield stream.subscribe()
                    continue
                if a is None:
                    drop(stream)
                    return addrs
                addrs.append((type(a).__name__, a.value))
        try:
            (addrs,) = run_all([resolve()])
            line("lookup", json.dumps(name), "ok", json.dumps(sorted(set(addrs))))
        except Err as e:
            line("lookup", json.dumps(name), "err", code(e))
    drop(net)


def s_net(argv: list[str]) -> None:
    net = instance_network.instance_network()

    def tcp_bind():
        s = tcp_create_socket.create_tcp_socket(network.IpAddressFamily.IPV4)
        s.start_bind(net, v4(0))
        run_all([finish(s, s.finish_bind)])

    def tcp_connect():
        s = tcp_create_socket.create_tcp_socket(network.IpAddressFamily.IPV4)
        s.start_connect(net, v4(9))
        run_all([finish(s, s.finish_connect)])

    def udp_bind():
        s = udp_create_socket.create_udp_socket(network.IpAddressFamily.IPV4)
        s.start_bind(net, v4(0))
        run_all([finish(s, s.finish_bind)])

    def lookup():
        stream = ip_name_lookup.resolve_addresses(net, "localhost")
        run_all([finish(stream, stream.resolve_next_address)])

    line("tcp create", attempt(lambda: tcp_create_socket.create_tcp_socket(network.IpAddressFamily.IPV4)))
    line("tcp bind", attempt(tcp_bind))
    line("tcp connect", attempt(tcp_connect))
    line("udp create", attempt(lambda: udp_create_socket.create_udp_socket(network.IpAddressFamily.IPV4)))
    line("udp bind", attempt(udp_bind))
    line("lookup localhost", attempt(lookup))


SCENARIOS = {
    "args": s_args,
    "env": s_env,
    "stdin": s_stdin,
    "print": s_print,
    "fs": s_fs,
    "escape": s_escape,
    "clocks": s_clocks,
    "tcp": s_tcp,
    "udp": s_udp,
    "lookup": s_lookup,
    "net": s_net,
}


class Run(exports.Run):
    def run(self) -> None:
        argv = environment.get_arguments()
        what = argv[1] if len(argv) > 1 else "args"
        rest = argv[2:]
        if what == "exit":
            line("exiting with", rest[0])
            exit.exit_with_code(int(rest[0]))
        if what == "exit-err":
            exit.exit(Err(None))
        if what == "err":
            line("returning err")
            raise Err(None)
        SCENARIOS[what](rest)
        line("done", what)

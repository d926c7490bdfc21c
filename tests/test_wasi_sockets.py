"""WASI sockets: the policy-checked backend (TCP, UDP, name lookup), the 0.3 and 0.2 front ends
called as a guest's bindings would call them, and a real guest through ``wasmloop.wasi.run``.

Everything listens on 127.0.0.1 only; every loop is bounded and every wait has a timeout (a
hang fails, it never blocks the suite), but nothing asserts on timing.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import wasmloop
from wasmloop import Err, Ok, Record, Variant
from wasmloop.wasi.ctx import NetworkPolicy
from wasmloop.wasi.p2 import sockets as p2
from wasmloop.wasi.p2.io import Error, InputStream, OutputStream, StreamTrap
from wasmloop.wasi.p3 import sockets as p3
from wasmloop.wasi.sockets import (
    SocketAddress,
    SocketError,
    TcpSocket,
    UdpSocket,
    address_from_wit,
    address_to_wit,
    from_os_error,
    resolve_addresses,
)

LO = ipaddress.ip_address("127.0.0.1")
LIMIT = 10.0  # seconds: a safety net against hangs, never an assertion
T = TypeVar("T")

ALL = NetworkPolicy.inherit()


def lo(port: int = 0) -> SocketAddress:
    return SocketAddress(LO, port)


def wit4(port: int, addr: tuple[int, int, int, int] = (127, 0, 0, 1)) -> Variant:
    return Variant("ipv4", Record({"port": port, "address": addr}))


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(), LIMIT)
    return asyncio.run(bounded())


def code_of(fn: Callable[[], Any]) -> str:
    with pytest.raises(SocketError) as info:
        fn()
    return info.value.code


async def acode_of(aw: Awaitable[Any]) -> str:
    try:
        await aw
    except SocketError as e:
        return e.code
    raise AssertionError("no SocketError raised")


async def read_all(reader: Any) -> bytes:
    out = b""
    for _ in range(10_000):
        chunk = await reader.read(65536)
        if not chunk:
            return out
        out += chunk
    raise AssertionError("the stream did not end")


# --- backend: TCP -----------------------------------------------------------------------------


def test_tcp_echo_with_concurrent_clients() -> None:
    n = 6

    async def main() -> list[bytes]:
        server = TcpSocket.create(ALL, "ipv4")
        server.bind(lo())
        server.listen()
        port = server.local_address().port
        assert port > 0 and server.is_listening()

        async def echo(conn: TcpSocket) -> None:
            r, w = conn.take_receive(), conn.take_send()
            data = await read_all(r)
            await w.write(b"echo:" + data)
            w.close()
            r.close()
            conn.close()

        async def serve() -> None:
            tasks = [asyncio.ensure_future(echo(await server.accept())) for _ in range(n)]
            await asyncio.gather(*tasks)

        async def client(i: int) -> bytes:
            c = TcpSocket.create(ALL, "ipv4")
            await c.connect(lo(port))
            assert c.remote_address() == lo(port)
            assert c.local_address().ip == LO
            r, w = c.take_receive(), c.take_send()
            await w.write(b"%d;" % i * 5000)  # more than one segment
            w.close()
            got = await read_all(r)
            r.close()
            c.close()
            return got

        serving = asyncio.ensure_future(serve())
        results = await asyncio.gather(*(client(i) for i in range(n)))
        await serving
        server.close()
        return results

    for i, got in enumerate(run(main)):
        assert got == b"echo:" + b"%d;" % i * 5000


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_tcp_and_udp_over_ipv6_loopback() -> None:
    v6lo = ipaddress.ip_address("::1")

    async def main() -> tuple[bytes, bytes]:
        server = TcpSocket.create(ALL, "ipv6")
        server.bind(SocketAddress(v6lo, 0))
        server.listen()
        addr = server.local_address()
        assert addr.ip == v6lo and addr.family == "ipv6"
        c = TcpSocket.create(ALL, "ipv6")
        accepting = asyncio.ensure_future(server.accept())
        await c.connect(addr)
        peer = await accepting
        w = c.take_send()
        await w.write(b"six")
        w.close()
        got = await read_all(peer.take_receive())
        assert code_of(lambda: TcpSocket.create(ALL, "ipv6").start_connect(lo(addr.port))) == \
            "invalid-argument"  # an IPv4 address on an IPv6 socket
        u1, u2 = UdpSocket.create(ALL, "ipv6"), UdpSocket.create(ALL, "ipv6")
        u1.bind(SocketAddress(v6lo, 0))
        u2.bind(SocketAddress(v6lo, 0))
        await u1.send(b"dgram6", u2.local_address())
        data, src = await u2.receive()
        assert src == u1.local_address()
        for x in (c, peer, server, u1, u2):
            x.close()
        return got, data

    assert run(main) == (b"six", b"dgram6")


def test_tcp_state_machine_errors() -> None:
    async def main() -> None:
        s = TcpSocket.create(ALL, "ipv4")
        assert code_of(s.local_address) == "invalid-state"
        assert code_of(s.remote_address) == "invalid-state"
        assert code_of(s.take_receive) == "invalid-state"
        assert code_of(lambda: s.bind(SocketAddress(ipaddress.ip_address("::1"), 0))) == \
            "invalid-argument"
        assert code_of(lambda: s.bind(SocketAddress(ipaddress.ip_address("224.0.0.1"), 0))) == \
            "invalid-argument"
        s.bind(lo())
        assert code_of(lambda: s.bind(lo())) == "invalid-state"
        assert code_of(lambda: s.start_connect(lo(0))) == "invalid-argument"  # port 0
        assert code_of(lambda: s.start_connect(SocketAddress(ipaddress.ip_address("0.0.0.0"), 80))) \
            == "invalid-argument"
        s.listen()
        assert code_of(s.listen) == "invalid-state"
        assert code_of(lambda: s.start_connect(lo(s.local_address().port))) == "invalid-state"
        assert s.accept_nowait() is None
        s.close()

        v6 = TcpSocket.create(ALL, "ipv6")
        mapped = SocketAddress(ipaddress.ip_address("::ffff:127.0.0.1"), 0)
        compatible = SocketAddress(ipaddress.ip_address("::127.0.0.1"), 0)
        assert code_of(lambda: v6.bind(mapped)) == "invalid-argument"
        assert code_of(lambda: v6.bind(compatible)) == "invalid-argument"
        assert code_of(lambda: v6.bind(lo())) == "invalid-argument"
        v6.close()

        # A refused connection leaves the socket closed with that error.
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
        probe.close()  # nothing listens there now
        c = TcpSocket.create(ALL, "ipv4")
        assert await acode_of(c.connect(lo(free_port))) == "connection-refused"
        assert code_of(c.local_address) == "connection-refused"
        assert code_of(c.take_send) == "connection-refused"
        c.close()

    run(main)


def test_a_failed_accept_gives_a_closed_socket_and_spares_the_listener() -> None:
    async def main() -> None:
        server = TcpSocket.create(ALL, "ipv4")
        server.bind(lo())
        server.listen()
        dead = server._dead(SocketError("connection-aborted"))
        assert code_of(dead.take_receive) == "connection-aborted"
        assert code_of(dead.local_address) == "connection-aborted"
        assert code_of(dead.keep_alive_enabled) == "connection-aborted"
        dead.close()
        assert server.sock.fileno() >= 0 and server.is_listening()  # still open
        server.close()
        assert server.sock.fileno() == -1

    run(main)


def test_tcp_finish_connect_would_block_until_done() -> None:
    async def main() -> None:
        server = TcpSocket.create(ALL, "ipv4")
        server.bind(lo())
        server.listen()
        c = TcpSocket.create(ALL, "ipv4")
        c.start_connect(lo(server.local_address().port))
        assert c.state == "connecting"
        assert code_of(c.finish_connect) == "would-block"  # the connect task has not run yet
        assert code_of(c.keep_alive_enabled) == "invalid-state"  # no options while connecting
        await c.wait_connect()
        c.finish_connect()
        assert c.state == "connected"
        c.close()
        server.close()

    run(main)


def test_tcp_options() -> None:
    async def main() -> None:
        s = TcpSocket.create(ALL, "ipv4")
        s.set_keep_alive_enabled(True)
        assert s.keep_alive_enabled() is True
        s.set_keep_alive_idle_time(10 * 10**9)
        assert s.keep_alive_idle_time() == 10 * 10**9
        s.set_keep_alive_idle_time(1)  # rounded up to 1 s, never to 0
        assert s.keep_alive_idle_time() == 10**9
        s.set_keep_alive_interval(3 * 10**9)
        assert s.keep_alive_interval() == 3 * 10**9
        s.set_keep_alive_count(5)
        assert s.keep_alive_count() == 5
        s.set_hop_limit(42)
        assert s.hop_limit() == 42
        s.set_receive_buffer_size(1 << 16)
        assert s.receive_buffer_size() > 0
        s.set_send_buffer_size(1 << 16)
        assert s.send_buffer_size() > 0
        setters: list[Callable[[int], None]] = [
            s.set_keep_alive_idle_time, s.set_keep_alive_interval, s.set_keep_alive_count,
            s.set_hop_limit, s.set_receive_buffer_size, s.set_send_buffer_size,
            s.set_listen_backlog_size]
        for setter in setters:
            assert code_of(lambda f=setter: f(0)) == "invalid-argument", setter  # type: ignore[misc]
        s.set_listen_backlog_size(10)
        assert s.backlog == 10
        s.bind(lo())
        s.listen()
        s.set_listen_backlog_size(20)  # Linux lets a listener change it
        s.close()
        assert code_of(s.keep_alive_enabled) == "other"  # dropped

    run(main)


def test_tcp_shutdown_send_ends_the_peers_stream() -> None:
    async def main() -> tuple[bytes, bytes]:
        server = TcpSocket.create(ALL, "ipv4")
        server.bind(lo())
        server.listen()
        c = TcpSocket.create(ALL, "ipv4")
        accepting = asyncio.ensure_future(server.accept())
        await c.connect(lo(server.local_address().port))
        peer = await accepting
        cw = c.take_send()
        await cw.write(b"one")
        cw.close()  # shutdown(SHUT_WR): the peer reads the end
        pr, pw = peer.take_receive(), peer.take_send()
        got = await read_all(pr)
        await pw.write(b"two")  # c can still receive
        pw.close()
        back = await read_all(c.take_receive())
        for x in (c, peer, server):
            x.close()
        return got, back

    assert run(main) == (b"one", b"two")


def test_tcp_broken_pipe_is_connection_broken_or_closed_in_p2() -> None:
    async def main() -> Any:
        server = TcpSocket.create(ALL, "ipv4")
        server.bind(lo())
        server.listen()
        c = TcpSocket.create(ALL, "ipv4")
        accepting = asyncio.ensure_future(server.accept())
        await c.connect(lo(server.local_address().port))
        peer = await accepting
        w = c.take_send()
        c.sock.shutdown(socket.SHUT_WR)  # the OS refuses further sends: EPIPE
        assert await acode_of(w.write(b"x")) == "connection-broken"  # 0.3: the send future's error
        out = OutputStream(w)  # 0.2: the output-stream reads as closed, as in Wasmtime
        w.on_broken = out.end
        assert out.write(b"y") == Ok()
        await out.drained()
        status = out.check_write()
        out.drop()
        for x in (c, peer, server):
            x.close()
        return status

    assert run(main) == Err(Variant("closed"))


# --- backend: UDP -----------------------------------------------------------------------------


def test_udp_send_receive_connect_disconnect() -> None:
    async def main() -> None:
        a = UdpSocket.create(ALL, "ipv4")
        b = UdpSocket.create(ALL, "ipv4")
        assert code_of(a.local_address) == "invalid-state"
        assert await acode_of(a.receive()) == "invalid-state"  # not bound
        a.bind(lo())
        b.bind(lo())
        assert code_of(lambda: a.bind(lo())) == "invalid-state"
        pa, pb = a.local_address(), b.local_address()
        await a.send(b"ping", pb)
        assert await b.receive() == (b"ping", pa)
        assert await acode_of(a.send(b"x", None)) == "invalid-argument"  # nowhere to send
        assert await acode_of(a.send(b"x" * 65536, pb)) == "datagram-too-large"
        assert await acode_of(a.send(b"x", lo(0))) == "invalid-argument"
        b.connect(pa)
        assert b.remote_address() == pa
        await b.send(b"pong", None)
        assert await a.receive() == (b"pong", pb)
        assert await acode_of(b.send(b"x", lo(pa.port ^ 1))) == "invalid-argument"
        b.disconnect()
        assert not b.is_connected() and b.is_bound()
        assert code_of(b.disconnect) == "invalid-state"
        assert code_of(b.remote_address) == "invalid-state"
        await b.send(b"again", pa)
        data, src = await a.receive()  # Linux may have given b a new port (as under Wasmtime)
        assert data == b"again" and src.ip == LO
        a.set_unicast_hop_limit(7)
        assert a.unicast_hop_limit() == 7
        assert code_of(lambda: a.set_unicast_hop_limit(0)) == "invalid-argument"
        v6 = UdpSocket.create(ALL, "ipv6")
        assert code_of(lambda: v6.bind(lo())) == "invalid-argument"
        for s in (a, b, v6):
            s.close()

    run(main)


# --- backend: name lookup -----------------------------------------------------------------------


def test_lookup() -> None:
    async def main() -> None:
        got = await resolve_addresses(ALL, "localhost")
        assert got and all(a.is_loopback for a in got)
        assert await resolve_addresses(ALL, "127.0.0.1") == [LO]
        assert await resolve_addresses(ALL, "::1") == [ipaddress.ip_address("::1")]
        assert await resolve_addresses(ALL, "[::1]") == [ipaddress.ip_address("::1")]
        for bad in ("", "a b", "x/y", "[::1", "1.2.3.999"):
            assert await acode_of(resolve_addresses(ALL, bad)) == "invalid-argument", bad
        assert await acode_of(resolve_addresses(ALL, "name.invalid")) == "name-unresolvable"
        no_lookup = NetworkPolicy(tcp=True, udp=True)
        assert await acode_of(resolve_addresses(no_lookup, "localhost")) == \
            "permanent-resolver-failure"  # Wasmtime's code for a refused lookup

    run(main)


# --- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", [NetworkPolicy(), NetworkPolicy(ip_name_lookup=True)],
                         ids=["nothing", "lookup-only"])
def test_every_operation_needs_its_grant(policy: NetworkPolicy) -> None:
    assert code_of(lambda: TcpSocket.create(policy, "ipv4")) == "access-denied"
    assert code_of(lambda: UdpSocket.create(policy, "ipv6")) == "access-denied"
    if not policy.ip_name_lookup:
        assert run(lambda: acode_of(resolve_addresses(policy, "localhost"))) == \
            "permanent-resolver-failure"


def test_allow_list_checks_bind_connect_listen_and_send() -> None:
    async def main() -> None:
        target = TcpSocket.create(ALL, "ipv4")
        target.bind(lo())
        target.listen()
        port = target.local_address().port
        pol = NetworkPolicy(tcp=True, udp=True, allow=[f"127.0.0.1:{port}"])

        s = TcpSocket.create(pol, "ipv4")
        assert code_of(lambda: s.bind(lo(0))) == "access-denied"  # port 0 is not allowed
        assert code_of(s.listen) == "access-denied"  # the wildcard is not allowed
        assert code_of(s.local_address) == "other"  # as Wasmtime: a refused listen closes it
        s.close()

        ok = TcpSocket.create(pol, "ipv4")
        await ok.connect(lo(port))  # the implicit bind needs only the grant
        assert ok.state == "connected"
        ok.close()
        other = TcpSocket.create(pol, "ipv4")
        assert await acode_of(other.connect(lo(port ^ 1))) == "access-denied"
        assert code_of(other.local_address) == "access-denied"
        other.close()

        u = UdpSocket.create(pol, "ipv4")
        assert code_of(lambda: u.bind(lo(0))) == "access-denied"
        assert await acode_of(u.send(b"x", lo(port ^ 1))) == "access-denied"
        assert code_of(lambda: u.connect(lo(port ^ 1))) == "access-denied"
        await u.send(b"x", lo(port))  # allowed (nobody reads it)
        u.close()
        while (c := target.accept_nowait()) is None:
            await target.watch.wait()
        c.close()
        target.close()

    run(main)


def test_policy_permits_and_peers() -> None:
    pol = NetworkPolicy(tcp=True, allow=["127.0.0.0/8:1000-2000", "[::1]:80"])
    assert pol.permits("tcp", "127.1.2.3", 1500)
    assert not pol.permits("tcp", "127.1.2.3", 999)
    assert not pol.permits("udp", "127.1.2.3", 1500)  # no UDP grant
    assert pol.permits("tcp", "::1", 80) and not pol.permits("tcp", "::1", 81)
    assert pol.permits_peer("tcp", "127.9.9.9") and pol.permits_peer("tcp", "::ffff:127.0.0.1")
    assert not pol.permits_peer("tcp", "10.0.0.1")
    assert not pol.permits_peer("udp", "127.0.0.1")
    assert NetworkPolicy(udp=True).permits_peer("udp", "192.0.2.1")


def test_errno_mapping_is_wasmtimes() -> None:
    cases = {errno.EACCES: "access-denied", errno.EADDRINUSE: "address-in-use",
             errno.EADDRNOTAVAIL: "address-not-bindable", errno.ECONNREFUSED: "connection-refused",
             errno.ECONNRESET: "connection-reset", errno.EPIPE: "connection-broken",
             errno.EMSGSIZE: "datagram-too-large", errno.ENOTCONN: "invalid-state",
             errno.ENETUNREACH: "remote-unreachable", errno.ENOBUFS: "out-of-memory",
             errno.EAFNOSUPPORT: "not-supported", errno.ENOENT: "other"}
    for num, code in cases.items():
        assert from_os_error(OSError(num, "x")).code == code, errno.errorcode[num]


def test_wit_addresses_round_trip() -> None:
    v6 = SocketAddress(ipaddress.ip_address("fe80::1:2"), 8080, 3, 4)
    w = address_to_wit(v6)
    assert w.case == "ipv6" and w.value["address"] == (0xfe80, 0, 0, 0, 0, 0, 1, 2)
    assert address_from_wit(w) == v6
    assert address_from_wit(wit4(53, (10, 1, 2, 3))) == SocketAddress(
        ipaddress.ip_address("10.1.2.3"), 53)
    assert code_of(lambda: address_from_wit("nope")) == "invalid-argument"


# --- the 0.3 front end --------------------------------------------------------------------------


def test_p3_tcp_listen_send_receive() -> None:
    types = p3.Types(ALL)

    async def main() -> tuple[bytes, Any]:
        server = types.TcpSocket.create("ipv4").value
        assert server.bind(wit4(0)) == Ok()
        listening = server.listen()
        assert isinstance(listening, Ok)
        port = server.get_local_address().value.value["port"]
        assert server.get_is_listening() and server.get_address_family() == "ipv4"

        client = types.TcpSocket.create("ipv4").value
        assert await client.connect(wit4(port)) == Ok()
        assert client.get_remote_address() == Ok(wit4(port))
        accepted = listening.value.__aiter__()
        (peer,) = await accepted.__anext__()
        assert isinstance(peer, types.TcpSocket)

        w, r = wasmloop.stream(wasmloop.types.U8)
        sent = client.send(r)
        sending = asyncio.ensure_future(sent)
        await w.write(b"hello over tcp")
        w.close()
        assert await sending == Ok()
        stream, done = peer.receive()
        got = b"".join([c async for c in stream])
        assert await done == Ok()
        # Each stream is taken once.
        w2, r2 = wasmloop.stream(wasmloop.types.U8)
        assert await client.send(r2) == Err("invalid-state")
        await accepted.aclose()
        for x in (client, peer, server):
            x.drop()
        return got, types.TcpSocket.create("ipv4").value.listen()

    got, second = run(main)
    assert got == b"hello over tcp"
    assert isinstance(second, Ok)  # an unbound socket listens on the wildcard (granted)


def test_p3_errors_are_wit_values() -> None:
    denied = p3.Types(NetworkPolicy())
    assert denied.TcpSocket.create("ipv4") == Err("access-denied")
    assert denied.UdpSocket.create("ipv6") == Err("access-denied")
    assert p3.error_code(SocketError("other", "why")) == Variant("other", None)
    assert p3.error_code(SocketError("would-block")) == Variant("other", None)  # not a 0.3 case
    s = p3.Types(ALL).TcpSocket.create("ipv4").value
    assert s.get_local_address() == Err("invalid-state")
    assert s.set_hop_limit(0) == Err("invalid-argument")
    assert s.get_keep_alive_enabled() == Ok(False)
    s.drop()

    async def lookups() -> list[Any]:
        ok = p3.IpNameLookup(ALL)
        no = p3.IpNameLookup(NetworkPolicy())
        return [await ok.resolve_addresses("127.0.0.1"), await ok.resolve_addresses(""),
                await no.resolve_addresses("localhost")]

    assert run(lookups) == [Ok([Variant("ipv4", (127, 0, 0, 1))]), Err("invalid-argument"),
                            Err("permanent-resolver-failure")]


def test_p3_udp() -> None:
    types = p3.Types(ALL)

    async def main() -> Any:
        a = types.UdpSocket.create("ipv4").value
        b = types.UdpSocket.create("ipv4").value
        assert a.bind(wit4(0)) == Ok() and b.bind(wit4(0)) == Ok()
        pa = a.get_local_address().value
        pb = b.get_local_address().value
        assert await a.send(b"dgram", pb) == Ok()
        got = await b.receive()
        assert b.connect(pa) == Ok() and b.get_remote_address() == Ok(pa)
        assert await b.send(b"x", None) == Ok()
        assert await a.receive() == Ok((b"x", pb))
        assert b.disconnect() == Ok() and b.disconnect() == Err("invalid-state")
        for s in (a, b):
            s.drop()
        return got, pa

    got, pa = run(main)
    assert got == Ok((b"dgram", pa))


# --- the 0.2 front end --------------------------------------------------------------------------


def _p2_classes(policy: NetworkPolicy) -> tuple[type[p2.TcpSocket], type[p2.UdpSocket]]:
    tcp = type("TcpSocket", (p2.TcpSocket,), {"_policy": policy, "__slots__": ()})
    udp = type("UdpSocket", (p2.UdpSocket,), {"_policy": policy, "__slots__": ()})
    return tcp, udp


def test_p2_tcp_start_finish_accept_and_streams() -> None:
    tcp_cls, _ = _p2_classes(ALL)
    create = p2.TcpCreateSocket(tcp_cls).create_tcp_socket
    net = p2.InstanceNetwork.instance_network()

    async def main() -> bytes:
        server = create("ipv4").value
        assert server.finish_bind() == Err("not-in-progress")
        assert server.start_listen() == Err("invalid-state")  # 0.2 wants a bind first
        assert server.start_bind(net, wit4(0)) == Ok()
        assert server.start_bind(net, wit4(0)) == Err("concurrency-conflict")
        assert server.finish_bind() == Ok()
        assert server.start_listen() == Ok() and server.finish_listen() == Ok()
        assert server.accept() == Err("would-block")
        port = server.local_address().value.value["port"]

        client = create("ipv4").value
        assert client.shutdown("both") == Err("invalid-state")
        assert client.start_connect(net, wit4(port)) == Ok()
        assert client.finish_connect() == Err("would-block")
        await client.subscribe().block()
        streams = client.finish_connect()
        assert isinstance(streams, Ok)
        cin, cout = streams.value
        assert isinstance(cin, InputStream) and isinstance(cout, OutputStream)
        assert client.finish_connect() == Err("not-in-progress")

        await server.subscribe().block()
        accepted = server.accept()
        assert isinstance(accepted, Ok)
        peer, pin, pout = accepted.value
        assert isinstance(peer, tcp_cls) and peer.remote_address() == client.local_address()

        assert await cout.blocking_write_and_flush(b"ping") == Ok()
        assert client.shutdown("send") == Ok()
        assert cout.check_write() == Err(Variant("closed"))  # as in Wasmtime
        got = b""
        for _ in range(100):
            r = await pin.blocking_read(100)
            if isinstance(r, Err):
                assert r.value == Variant("closed")
                break
            got += r.value
        for x in (cin, cout, pin, pout):
            x.drop()
        for s in (client, peer, server):
            s.drop()
        return got

    assert run(main) == b"ping"


def test_p2_udp_streams() -> None:
    _, udp_cls = _p2_classes(ALL)
    create = p2.UdpCreateSocket(udp_cls).create_udp_socket
    net = p2.Network()

    async def main() -> Any:
        a, b = create("ipv4").value, create("ipv4").value
        assert a.stream(None) == Err("invalid-state")  # not bound
        for s in (a, b):
            assert s.start_bind(net, wit4(0)) == Ok() and s.finish_bind() == Ok()
        pa, pb = a.local_address().value, b.local_address().value
        ain, aout = a.stream(None).value
        with pytest.raises(StreamTrap):
            a.stream(None)
        bin_, bout = b.stream(pa).value  # connected to a
        assert b.remote_address() == Ok(pa)
        assert aout.check_send() == Ok(16)
        assert aout.send([{"data": b"one", "remote-address": pb},
                          {"data": b"two", "remote-address": pb}]) == Ok(2)
        with pytest.raises(StreamTrap):
            aout.send([{"data": b"x", "remote-address": pb}])  # no check-send first
        await bin_.subscribe().block()
        got: list[Any] = []
        for _ in range(100):
            r = bin_.receive(10)
            got += r.value
            if len(got) == 2:
                break
            await bin_.subscribe().block()
        assert bout.check_send() == Ok(16)
        assert bout.send([{"data": b"x", "remote-address": wit4(1)}]) == \
            Err("invalid-argument")  # not the connected address
        for x in (ain, aout, bin_, bout):
            x.drop()
        assert a.stream(None).value is not None  # streams dropped: a new pair
        for s in (a, b):
            s.drop()
        return [(d["data"], d["remote-address"]) for d in got], pa

    got, pa = run(main)
    assert got == [(b"one", pa), (b"two", pa)]


def test_p2_name_lookup_and_error_codes() -> None:
    async def main() -> list[Any]:
        lookup = p2.IpNameLookup(ALL)
        net = p2.Network()
        stream = lookup.resolve_addresses(net, "localhost").value
        await stream.subscribe().block()
        addrs = []
        for _ in range(100):
            r = stream.resolve_next_address()
            assert isinstance(r, Ok)
            if r.value is None:
                break
            addrs.append(r.value)
        literal = lookup.resolve_addresses(net, "127.0.0.1").value
        return [addrs, literal.resolve_next_address(), literal.resolve_next_address(),
                lookup.resolve_addresses(net, ""),
                p2.IpNameLookup(NetworkPolicy()).resolve_addresses(net, "localhost")]

    addrs, first, end, bad, denied = run(main)
    assert addrs and all(a.case in ("ipv4", "ipv6") for a in addrs)
    assert first == Ok(Variant("ipv4", (127, 0, 0, 1))) and end == Ok(None)
    assert bad == Err("invalid-argument")
    assert denied == Err("permanent-resolver-failure")
    code = p2.NetworkInterface.network_error_code
    assert code(Error(SocketError("connection-reset"))) == "connection-reset"
    assert code(Error(SocketError("connection-broken"))) == "unknown"
    assert code(Error(ConnectionRefusedError(errno.ECONNREFUSED, "x"))) == "connection-refused"
    assert code(Error(OSError(errno.EWOULDBLOCK, "x"))) == "would-block"
    assert code(Error(ValueError("not a network error"))) is None
    assert p2.error_code(SocketError("other")) == "unknown"


# --- real guests: the allow-list (which `wasmtime run` has no flag for) ------------------------


def _run_guest(wasm: Any, args: list[str], policy: NetworkPolicy) -> tuple[int, list[str]]:
    from wasmloop import wasi
    from wasmloop.wasi.ctx import WasiConfig, WasiCtx

    engine = wasmloop.Engine()
    comp = wasmloop.Component(engine, wasm.read_bytes())
    ctx = WasiCtx(WasiConfig(args=["app", *args], stdout="capture", stderr="capture",
                             network=policy))
    code = run(lambda: wasi.run(comp, ctx))
    return code, ctx.captured("stdout").decode().splitlines()


@pytest.fixture(scope="module", params=["0.3", "0.2"])
def net_guest(request: pytest.FixtureRequest) -> Any:
    import guests
    return guests.py_cli03() if request.param == "0.3" else guests.py_cli02()


def test_guest_allow_list_selects_addresses(net_guest: Any) -> None:
    # Only 127.0.0.1:9 may be used: binding :0 is refused, connecting to :9 is let through (and
    # refused by the OS: nothing listens there), sending to :9 goes out.
    pol = NetworkPolicy(tcp=True, udp=True, allow=["127.0.0.1:9"])
    code, lines = _run_guest(net_guest, ["net"], pol)
    assert code == 0, lines
    assert "tcp create ok" in lines
    assert "tcp bind err access-denied" in lines
    assert "tcp connect err connection-refused" in lines
    assert "udp bind err access-denied" in lines
    assert "lookup localhost err permanent-resolver-failure" in lines
    if "udp send ok" not in lines:  # the 0.2 guest has no udp-send step
        assert not any(line.startswith("udp send") for line in lines), lines

    elsewhere = NetworkPolicy(tcp=True, udp=True, ip_name_lookup=True, allow=["10.0.0.0/8"])
    code, lines = _run_guest(net_guest, ["net"], elsewhere)
    assert code == 0, lines
    assert "tcp connect err access-denied" in lines
    assert any(line.startswith("lookup localhost ok") for line in lines)


def test_guest_tcp_echo_within_the_allow_list(net_guest: Any) -> None:
    code, lines = _run_guest(net_guest, ["tcp", "3"],
                             NetworkPolicy(tcp=True, allow=["127.0.0.1"]))
    assert code == 0, lines
    assert sum(1 for line in lines if line.startswith("client ") and line.endswith("True")) == 3


# --- a state-machine guest, against `wasmtime run` ----------------------------------------------

SOCKETS03_GUEST = r'''
# wasi:sockets@0.3.0 state machine, checks and options, printed as facts (never timings).
import asyncio

import componentize_py_async_support
import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import stdout
from wit_world.imports import wasi_sockets_types as net

V4, V6 = net.IpAddressFamily.IPV4, net.IpAddressFamily.IPV6
S = 10**9


def v4(port, addr=(127, 0, 0, 1)):
    return net.IpSocketAddress_Ipv4(net.Ipv4SocketAddress(port=port, address=addr))


def v6(port, addr=(0, 0, 0, 0, 0, 0, 0, 1)):
    return net.IpSocketAddress_Ipv6(net.Ipv6SocketAddress(port=port, flow_info=0, address=addr,
                                                          scope_id=0))


def code(e):
    v = e.value
    name = type(v).__name__.split("_", 1)[-1]
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


class Out:
    def __init__(self):
        self.tx, rx = wit_world.byte_stream()
        self.done = stdout.write_via_stream(rx)

    async def line(self, *parts):
        await self.tx.write_all((" ".join(str(p) for p in parts) + "\n").encode())

    async def close(self):
        self.tx.__exit__(None, None, None)
        await self.done.read()


async def attempt(f):
    try:
        r = f()
        if asyncio.iscoroutine(r):
            r = await r
    except Err as e:
        return "err " + code(e)
    if isinstance(r, Err):  # a result read from a future
        return "err " + code(r)
    if isinstance(r, (bool, int)):
        return f"ok {r}"
    return "ok"


async def tcp(out):
    s = net.TcpSocket.create(V4)
    await out.line("family", s.get_address_family() == V4, "listening", s.get_is_listening())
    await out.line("local unbound", await attempt(s.get_local_address))
    await out.line("remote unbound", await attempt(s.get_remote_address))
    await out.line("bind v6 on v4", await attempt(lambda: s.bind(v6(0))))
    await out.line("bind multicast", await attempt(lambda: s.bind(v4(0, (224, 0, 0, 1)))))
    await out.line("connect port 0", await attempt(lambda: s.connect(v4(0))))
    await out.line("connect unspecified", await attempt(lambda: s.connect(v4(80, (0, 0, 0, 0)))))
    await out.line("bind", await attempt(lambda: s.bind(v4(0))))
    await out.line("bind again", await attempt(lambda: s.bind(v4(0))))
    await out.line("backlog 0", await attempt(lambda: s.set_listen_backlog_size(0)))
    await out.line("backlog 5", await attempt(lambda: s.set_listen_backlog_size(5)))
    for name, setter, value, getter in [
        ("keep-alive", s.set_keep_alive_enabled, True, s.get_keep_alive_enabled),
        ("idle", s.set_keep_alive_idle_time, 10 * S, s.get_keep_alive_idle_time),
        ("idle 1ns", s.set_keep_alive_idle_time, 1, s.get_keep_alive_idle_time),
        ("interval", s.set_keep_alive_interval, 3 * S, s.get_keep_alive_interval),
        ("count", s.set_keep_alive_count, 5, s.get_keep_alive_count),
        ("count 1000", s.set_keep_alive_count, 1000, s.get_keep_alive_count),
        ("hop", s.set_hop_limit, 42, s.get_hop_limit),
        ("rcvbuf", s.set_receive_buffer_size, 65536, s.get_receive_buffer_size),
        ("sndbuf", s.set_send_buffer_size, 65536, s.get_send_buffer_size),
    ]:
        await out.line("set", name, await attempt(lambda: setter(value)), "get",
                       await attempt(getter))
    for name, setter in [("idle", s.set_keep_alive_idle_time), ("interval", s.set_keep_alive_interval),
                         ("count", s.set_keep_alive_count), ("hop", s.set_hop_limit),
                         ("rcvbuf", s.set_receive_buffer_size), ("sndbuf", s.set_send_buffer_size)]:
        await out.line("set", name, "0", await attempt(lambda: setter(0)))
    rx, fut = s.receive()
    with rx:
        await out.line("receive unconnected", await attempt(lambda: fut.read()))
    tx, data = wit_world.byte_stream()
    done = s.send(data)
    tx.__exit__(None, None, None)
    await out.line("send unconnected", await attempt(lambda: done.read()))
    conns = s.listen()
    port = s.get_local_address().value.port
    await out.line("listening", s.get_is_listening(), port > 0)
    await out.line("listen again", await attempt(s.listen))
    await out.line("bind listening", await attempt(lambda: s.bind(v4(0))))
    await out.line("connect listening", await attempt(lambda: s.connect(v4(port))))
    await out.line("backlog listening", await attempt(lambda: s.set_listen_backlog_size(20)))

    c = net.TcpSocket.create(V4)
    await out.line("connect", await attempt(lambda: c.connect(v4(port))))
    await out.line("connect again", await attempt(lambda: c.connect(v4(port))))
    await out.line("bind connected", await attempt(lambda: c.bind(v4(0))))
    await out.line("listen connected", await attempt(c.listen))
    await out.line("remote is server", c.get_remote_address().value.port == port)
    with conns:
        (peer,) = await conns.read(1)
    await out.line("peer remote is client",
                   peer.get_remote_address().value.port == c.get_local_address().value.port)
    await out.line("peer listening", peer.get_is_listening())
    rx1, _ = c.receive()
    rx2, fut2 = c.receive()
    with rx2:
        await out.line("receive twice", await attempt(lambda: fut2.read()))
    rx1.__exit__(None, None, None)

    closed = net.TcpSocket.create(V4)
    closed.bind(v4(0))
    free = closed.get_local_address().value.port
    closed.__exit__(None, None, None)
    r = net.TcpSocket.create(V4)
    await out.line("connect refused", await attempt(lambda: r.connect(v4(free))))
    await out.line("local after refused", await attempt(r.get_local_address))
    await out.line("options after refused", await attempt(r.get_keep_alive_enabled))
    await out.line("connect after refused", await attempt(lambda: r.connect(v4(port))))

    s6 = net.TcpSocket.create(V6)
    await out.line("v6 bind mapped", await attempt(lambda: s6.bind(v6(0, (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)))))
    await out.line("v6 bind compatible", await attempt(lambda: s6.bind(v6(0, (0, 0, 0, 0, 0, 0, 0x7f00, 1)))))
    await out.line("v6 bind v4", await attempt(lambda: s6.bind(v4(0))))
    await out.line("v6 connect mapped", await attempt(lambda: s6.connect(v6(port, (0, 0, 0, 0, 0, 0xffff, 0x7f00, 1)))))


async def udp(out):
    u = net.UdpSocket.create(V4)
    await out.line("local unbound", await attempt(u.get_local_address))
    await out.line("remote unconnected", await attempt(u.get_remote_address))
    await out.line("receive unbound", await attempt(u.receive))
    await out.line("send nowhere", await attempt(lambda: u.send(b"x", None)))
    await out.line("send too large", await attempt(lambda: u.send(b"x" * 65536, v4(9))))
    await out.line("send port 0", await attempt(lambda: u.send(b"x", v4(0))))
    await out.line("disconnect unconnected", await attempt(u.disconnect))
    await out.line("bind v6 on v4", await attempt(lambda: u.bind(v6(0))))
    await out.line("bind", await attempt(lambda: u.bind(v4(0))))
    await out.line("bind again", await attempt(lambda: u.bind(v4(0))))
    await out.line("connect port 0", await attempt(lambda: u.connect(v4(0))))
    await out.line("connect", await attempt(lambda: u.connect(v4(9))))
    await out.line("remote port", u.get_remote_address().value.port)
    await out.line("send other", await attempt(lambda: u.send(b"x", v4(10))))
    await out.line("disconnect", await attempt(u.disconnect))
    await out.line("remote after disconnect", await attempt(u.get_remote_address))
    await out.line("hop 0", await attempt(lambda: u.set_unicast_hop_limit(0)))
    await out.line("hop 9", await attempt(lambda: u.set_unicast_hop_limit(9)),
                   await attempt(u.get_unicast_hop_limit))
    await out.line("rcvbuf", await attempt(lambda: u.set_receive_buffer_size(65536)),
                   await attempt(u.get_receive_buffer_size))


class Run(exports.Run):
    async def run(self) -> None:
        out = Out()
        await out.line("== tcp")
        await tcp(out)
        await out.line("== udp")
        await udp(out)
        await out.line("done")
        await out.close()


_ = componentize_py_async_support
'''


def test_guest_state_machine_matches_wasmtime() -> None:
    from difftest import compare, run_reference, run_wasmloop
    from guests import build_python, wasi_wit

    wasm = build_python(SOCKETS03_GUEST, "local:app/app", wasi_wit("0.3.0"))
    ref = run_reference(wasm, [], flags=["-S", "inherit-network"])
    assert ref.code == 0, ref.err()
    lines = ref.lines()
    # A few facts first, so two hosts that agree but are both wrong fail.
    assert "bind again err invalid-state" in lines
    assert "connect refused err connection-refused" in lines
    assert "v6 bind mapped err invalid-argument" in lines
    assert "send too large err datagram-too-large" in lines
    assert "receive twice err invalid-state" in lines
    assert "send unconnected err invalid-state" in lines
    compare(ref, run_wasmloop(wasm, [], flags=["-S", "inherit-network"]))


SOCKETS02_GUEST = r'''
# wasi:sockets@0.2.12 start/finish state machine, streams and UDP, printed as facts.
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import (
    instance_network,
    ip_name_lookup,
    network,
    poll,
    stdout,
    streams,
    tcp,
    tcp_create_socket,
    udp,
    udp_create_socket,
)

V4 = network.IpAddressFamily.IPV4
_out = []


def line(*parts):
    if not _out:
        _out.append(stdout.get_stdout())
    _out[0].blocking_write_and_flush((" ".join(str(p) for p in parts) + "\n").encode())


def code(e):
    v = e.value
    if hasattr(v, "name"):
        return v.name.lower().replace("_", "-")
    return type(v).__name__.split("_", 1)[-1].lower()


def attempt(fn):
    try:
        r = fn()
    except Err as e:
        return "err " + code(e)
    if isinstance(r, (bool, int)):
        return f"ok {r}"
    return "ok"


def wait(p):
    poll.poll([p])
    p.__exit__(None, None, None)


def v4(port, addr=(127, 0, 0, 1)):
    return network.IpSocketAddress_Ipv4(network.Ipv4SocketAddress(port=port, address=addr))


def read_to_end(ins):
    data = b""
    for _ in range(1000):
        try:
            data += ins.blocking_read(65536)
        except Err as e:
            return data, code(e)
    return data, "no end"


def s_tcp(net):
    s = tcp_create_socket.create_tcp_socket(V4)
    line("finish bind unstarted", attempt(s.finish_bind))
    line("finish connect unstarted", attempt(s.finish_connect))
    line("finish listen unstarted", attempt(s.finish_listen))
    line("listen unbound", attempt(s.start_listen))
    line("accept unlistening", attempt(s.accept))
    line("shutdown unconnected", attempt(lambda: s.shutdown(tcp.ShutdownType.BOTH)))
    line("start bind", attempt(lambda: s.start_bind(net, v4(0))))
    line("start bind again", attempt(lambda: s.start_bind(net, v4(0))))
    line("start connect during bind", attempt(lambda: s.start_connect(net, v4(9))))
    line("start listen during bind", attempt(s.start_listen))
    line("finish bind", attempt(s.finish_bind))
    line("finish bind again", attempt(s.finish_bind))
    line("start bind bound", attempt(lambda: s.start_bind(net, v4(0))))
    line("start listen", attempt(s.start_listen))
    line("listening", s.is_listening())
    line("finish listen", attempt(s.finish_listen))
    line("start listen again", attempt(s.start_listen))
    line("accept none", attempt(s.accept))
    port = s.local_address().value.port

    c = tcp_create_socket.create_tcp_socket(V4)
    line("start connect port 0", attempt(lambda: c.start_connect(net, v4(0))))
    line("start connect", attempt(lambda: c.start_connect(net, v4(port))))
    line("start connect again", attempt(lambda: c.start_connect(net, v4(port))))
    line("options connecting", attempt(c.keep_alive_enabled))
    wait(c.subscribe())
    ins, outs = c.finish_connect()
    line("finish connect again", attempt(c.finish_connect))
    line("start connect connected", attempt(lambda: c.start_connect(net, v4(port))))
    wait(s.subscribe())
    peer, pins, pouts = s.accept()
    line("peer remote is client",
         peer.remote_address().value.port == c.local_address().value.port)
    outs.blocking_write_and_flush(b"hello")
    line("shutdown send", attempt(lambda: c.shutdown(tcp.ShutdownType.SEND)))
    data, end = read_to_end(pins)
    line("check-write after shutdown", attempt(outs.check_write))
    line("peer got", data, "then", end)
    pouts.blocking_write_and_flush(b"back")
    line("shutdown peer both", attempt(lambda: peer.shutdown(tcp.ShutdownType.BOTH)))
    data, end = read_to_end(ins)
    line("client got", data, "then", end)
    for r in (ins, outs, pins, pouts, peer, c):
        r.__exit__(None, None, None)

    closed = tcp_create_socket.create_tcp_socket(V4)
    closed.start_bind(net, v4(0))
    closed.finish_bind()
    free = closed.local_address().value.port
    closed.__exit__(None, None, None)
    r = tcp_create_socket.create_tcp_socket(V4)
    r.start_connect(net, v4(free))
    wait(r.subscribe())
    line("finish refused", attempt(r.finish_connect))
    line("finish refused again", attempt(r.finish_connect))
    line("local after refused", attempt(r.local_address))
    line("start connect after refused", attempt(lambda: r.start_connect(net, v4(port))))


def dgram(data, addr):
    return udp.OutgoingDatagram(data=data, remote_address=addr)


def s_udp(net):
    a = udp_create_socket.create_udp_socket(V4)
    line("stream unbound", attempt(lambda: a.stream(None)))
    line("finish bind unstarted", attempt(a.finish_bind))
    a.start_bind(net, v4(0))
    line("start bind again", attempt(lambda: a.start_bind(net, v4(0))))
    a.finish_bind()
    pa = a.local_address().value.port
    ain, aout = a.stream(None)
    line("check send", attempt(aout.check_send))
    line("send no address", attempt(lambda: aout.send([dgram(b"x", None)])))
    b = udp_create_socket.create_udp_socket(V4)
    b.start_bind(net, v4(0))
    b.finish_bind()
    pb = b.local_address().value.port
    bin_, bout = b.stream(v4(pa))
    line("b remote is a", b.remote_address().value.port == pa)
    bout.check_send()
    line("b sends", attempt(lambda: bout.send([dgram(b"one", None), dgram(b"two", v4(pa))])))
    bout.check_send()
    line("b sends elsewhere", attempt(lambda: bout.send([dgram(b"x", v4(pa ^ 1))])))
    got = []
    for _ in range(100):
        if len(got) >= 2:
            break
        wait(ain.subscribe())
        got += ain.receive(10)
    line("a got", [d.data for d in got], all(d.remote_address.value.port == pb for d in got))
    line("receive 0", len(ain.receive(0)))
    for r in (ain, aout, bin_, bout):
        r.__exit__(None, None, None)
    line("stream again", attempt(lambda: b.stream(None)))
    line("b remote after", attempt(b.remote_address))


def s_lookup(net):
    line("lookup empty", attempt(lambda: ip_name_lookup.resolve_addresses(net, "")))
    for name in ("localhost", "127.0.0.1", "[::1]", "name.invalid"):
        st = ip_name_lookup.resolve_addresses(net, name)
        wait(st.subscribe())
        addrs = []
        try:
            while (a := st.resolve_next_address()) is not None:
                addrs.append(list(a.value))
            line("lookup", name, "ok", addrs)
        except Err as e:
            line("lookup", name, "err", code(e))


class Run(exports.Run):
    def run(self) -> None:
        net = instance_network.instance_network()
        line("== tcp")
        s_tcp(net)
        line("== udp")
        s_udp(net)
        line("== lookup")
        s_lookup(net)
        line("done")
'''


def test_guest_p2_state_machine_matches_wasmtime() -> None:
    from difftest import compare, run_reference, run_wasmloop
    from guests import build_python, wasi_wit

    wasm = build_python(SOCKETS02_GUEST, "local:app/app", wasi_wit("0.2.12"))
    flags = ["-S", "inherit-network", "-S", "allow-ip-name-lookup"]
    ref = run_reference(wasm, [], flags=flags)
    assert ref.code == 0, ref.err()
    lines = ref.lines()
    assert "start bind again err concurrency-conflict" in lines
    assert "finish bind again err not-in-progress" in lines
    assert "listen unbound err invalid-state" in lines
    assert "accept none err would-block" in lines
    compare(ref, run_wasmloop(wasm, [], flags=flags))

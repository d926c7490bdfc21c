"""``wasi:sockets@0.2.12``: ``network``, ``instance-network``, ``tcp``, ``tcp-create-socket``,
``udp``, ``udp-create-socket`` and ``ip-name-lookup`` over the same policy-checked backend as
0.3 (``wasmloop.wasi.sockets``), with ``wasi:io`` pollables and streams from
``wasmloop.wasi.p2.io``.

The 0.2 shape is Wasmtime's (crates/wasi/src/p2/host/{tcp,udp,network}.rs): ``start-*`` /
``finish-*`` pairs with ``concurrency-conflict`` and ``not-in-progress``; ``finish-connect``,
``accept`` and ``resolve-next-address`` are ``would-block`` until ``subscribe()``'s pollable is
ready; a connected socket's input and output streams shut the socket down for reading/writing
when dropped; ``udp-socket.stream`` while its previous streams live traps. The ``network``
resource is only a token: every check is made against the context's ``NetworkPolicy``.
``network-error-code`` gives the code of a stream error a socket caused (Wasmtime gives
``none`` there) or of an ``OSError``.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any, ClassVar

from ...host import Linker
from ...values import Err, Ok, Record
from ..ctx import NetworkPolicy, WasiCtx
from ..sockets import tcp as _tcp
from ..sockets import udp as _udp
from ..sockets.addr import address_from_wit, address_to_wit, family_from_wit, ip_to_wit
from ..sockets.errors import SocketError, code_of_errno
from ..sockets.ip_name_lookup import check as lookup_check
from ..sockets.ip_name_lookup import resolve_addresses
from .io import Error, InputStream, OutputStream, Pollable, StreamTrap

__all__ = ["register", "error_code", "Network", "TcpSocket", "UdpSocket",
           "IncomingDatagramStream", "OutgoingDatagramStream", "ResolveAddressStream"]

VERSION = "0.2.12"

#: Datagrams one ``receive`` / ``check-send`` handles at most (Wasmtime's).
MAX_DATAGRAMS = 16
#: Bytes one ``receive`` gathers at most before returning.
MAX_RECEIVE_BYTES = 64 * 1024

_P2_CODES = frozenset({
    "unknown", "access-denied", "not-supported", "invalid-argument", "out-of-memory", "timeout",
    "concurrency-conflict", "not-in-progress", "would-block", "invalid-state",
    "new-socket-limit", "address-not-bindable", "address-in-use", "remote-unreachable",
    "connection-refused", "connection-reset", "connection-aborted", "datagram-too-large",
    "name-unresolvable", "temporary-resolver-failure", "permanent-resolver-failure",
})


def error_code(e: SocketError) -> str:
    """The 0.2 ``error-code`` enum case for a backend error (``other`` and
    ``connection-broken`` are ``unknown`` in 0.2)."""
    return e.code if e.code in _P2_CODES else "unknown"


def _err(e: SocketError) -> Err[str]:
    return Err(error_code(e))


def _errno_code(num: int | None) -> str:
    if num in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EINTR):
        return "would-block"
    if num == errno.EALREADY:
        return "concurrency-conflict"
    if num in (errno.EMFILE, errno.ENFILE):
        return "new-socket-limit"
    code = code_of_errno(num)
    return code if code in _P2_CODES else "unknown"


class Network:
    """The ``network`` resource: a capability token (the policy is the context's)."""

    __slots__ = ()


class NetworkInterface:
    """``wasi:sockets/network``."""

    Network = Network

    @staticmethod
    def network_error_code(err: Error) -> str | None:
        exc: BaseException | None = getattr(err, "exc", None)
        while exc is not None:
            if isinstance(exc, SocketError):
                return error_code(exc)
            if isinstance(exc, OSError):
                return _errno_code(exc.errno)
            exc = exc.__cause__
        return None


class InstanceNetwork:
    """``wasi:sockets/instance-network``."""

    @staticmethod
    def instance_network() -> Network:
        return Network()


def _result(op: Any, *args: Any) -> Any:
    try:
        return Ok(op(*args))
    except SocketError as e:
        return _err(e)


# --- TCP ----------------------------------------------------------------------------------------


class TcpSocket:
    """``tcp-socket`` (0.2): a backend socket plus the start/finish bookkeeping."""

    _policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    __slots__ = ("inner", "in_progress", "listening", "reader", "writer", "output")

    def __init__(self, inner: _tcp.TcpSocket) -> None:
        self.inner = inner
        self.in_progress: str | None = None
        self.listening = False
        self.reader: _tcp.TcpReader | None = None
        self.writer: _tcp.TcpWriter | None = None
        self.output: OutputStream | None = None

    def _take_streams(self) -> tuple[InputStream, OutputStream]:
        reader = self.inner.take_receive()
        writer = self.inner.take_send()
        self.reader, self.writer = reader, writer
        self.output = output = OutputStream(writer)
        writer.on_broken = output.end
        return InputStream(reader), output

    def start_bind(self, network: Network, local_address: Any) -> Any:
        if self.in_progress is not None:
            return Err("concurrency-conflict")
        try:
            self.inner.bind(address_from_wit(local_address))
        except SocketError as e:
            return _err(e)
        self.in_progress = "bind"
        return Ok()

    def finish_bind(self) -> Any:
        if self.in_progress != "bind":
            return Err("not-in-progress")
        self.in_progress = None
        return Ok()

    def start_connect(self, network: Network, remote_address: Any) -> Any:
        if self.in_progress is not None:
            return Err("concurrency-conflict")
        try:
            self.inner.start_connect(address_from_wit(remote_address))
        except SocketError as e:
            return _err(e)
        self.in_progress = "connect"
        return Ok()

    def finish_connect(self) -> Any:
        if self.in_progress != "connect":
            return Err("not-in-progress")
        if not self.inner.connect_done():
            return Err("would-block")
        self.in_progress = None
        try:
            self.inner.finish_connect()
            return Ok(self._take_streams())
        except SocketError as e:
            return _err(e)

    def start_listen(self) -> Any:
        if self.in_progress is not None:
            return Err("concurrency-conflict")
        if not self.inner.is_bound():
            return Err("invalid-state")
        try:
            self.inner.listen()
        except SocketError as e:
            return _err(e)
        self.in_progress = "listen"
        self.listening = True
        return Ok()

    def finish_listen(self) -> Any:
        if self.in_progress != "listen":
            return Err("not-in-progress")
        self.in_progress = None
        return Ok()

    def accept(self) -> Any:
        if not self.listening:
            return Err("invalid-state")
        try:
            client = self.inner.accept_nowait()
        except SocketError as e:
            return _err(e)
        if client is None:
            return Err("would-block")
        sock = type(self)(client)
        try:
            inp, out = sock._take_streams()
        except SocketError as e:
            return _err(e)
        return Ok((sock, inp, out))

    def local_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.local_address()))
        except SocketError as e:
            return _err(e)

    def remote_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.remote_address()))
        except SocketError as e:
            return _err(e)

    def is_listening(self) -> bool:
        return self.inner.is_listening()

    def address_family(self) -> str:
        return self.inner.family

    def set_listen_backlog_size(self, value: int) -> Any:
        return _result(self.inner.set_listen_backlog_size, value)

    def keep_alive_enabled(self) -> Any:
        return _result(self.inner.keep_alive_enabled)

    def set_keep_alive_enabled(self, value: bool) -> Any:
        return _result(self.inner.set_keep_alive_enabled, value)

    def keep_alive_idle_time(self) -> Any:
        return _result(self.inner.keep_alive_idle_time)

    def set_keep_alive_idle_time(self, value: int) -> Any:
        return _result(self.inner.set_keep_alive_idle_time, value)

    def keep_alive_interval(self) -> Any:
        return _result(self.inner.keep_alive_interval)

    def set_keep_alive_interval(self, value: int) -> Any:
        return _result(self.inner.set_keep_alive_interval, value)

    def keep_alive_count(self) -> Any:
        return _result(self.inner.keep_alive_count)

    def set_keep_alive_count(self, value: int) -> Any:
        return _result(self.inner.set_keep_alive_count, value)

    def hop_limit(self) -> Any:
        return _result(self.inner.hop_limit)

    def set_hop_limit(self, value: int) -> Any:
        return _result(self.inner.set_hop_limit, value)

    def receive_buffer_size(self) -> Any:
        return _result(self.inner.receive_buffer_size)

    def set_receive_buffer_size(self, value: int) -> Any:
        return _result(self.inner.set_receive_buffer_size, value)

    def send_buffer_size(self) -> Any:
        return _result(self.inner.send_buffer_size)

    def set_send_buffer_size(self, value: int) -> Any:
        return _result(self.inner.set_send_buffer_size, value)

    def _ready(self) -> bool:
        if self.in_progress == "connect":
            return self.inner.connect_done()
        if self.in_progress is None and self.listening:
            return self.inner.accept_ready()
        return True

    async def _wait(self) -> None:
        if self.in_progress == "connect":
            await self.inner.wait_connect()
        elif self.in_progress is None and self.listening:
            await self.inner.watch.wait()

    def subscribe(self) -> Pollable:
        return Pollable(self._ready, self._wait)

    def shutdown(self, shutdown_type: str) -> Any:
        if self.reader is None or self.writer is None:
            return Err("invalid-state")
        how = str(shutdown_type)
        if how in ("receive", "both"):
            self.reader.close()
        if how in ("send", "both"):
            if self.output is None:
                self.writer.close()
            else:  # what was written already goes out first, then the socket shuts down
                self.output.end()
        return Ok()

    def drop(self) -> None:
        self.inner.close()


class TcpCreateSocket:
    """``wasi:sockets/tcp-create-socket``."""

    def __init__(self, cls: type[TcpSocket]) -> None:
        self.cls = cls

    def create_tcp_socket(self, address_family: Any) -> Any:
        cls = self.cls
        try:
            return Ok(cls(_tcp.TcpSocket.create(cls._policy, family_from_wit(address_family))))
        except SocketError as e:
            return _err(e)


class TcpInterface:
    """``wasi:sockets/tcp``."""

    def __init__(self, cls: type[TcpSocket]) -> None:
        self.TcpSocket = cls


# --- UDP ----------------------------------------------------------------------------------------


class UdpSocket:
    """``udp-socket`` (0.2)."""

    _policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    __slots__ = ("inner", "in_progress", "streams")

    def __init__(self, inner: _udp.UdpSocket) -> None:
        self.inner = inner
        self.in_progress: str | None = None
        self.streams = 0  # datagram streams alive

    def start_bind(self, network: Network, local_address: Any) -> Any:
        if self.in_progress is not None:
            return Err("concurrency-conflict")
        try:
            self.inner.bind(address_from_wit(local_address))
        except SocketError as e:
            return _err(e)
        self.in_progress = "bind"
        return Ok()

    def finish_bind(self) -> Any:
        if self.in_progress != "bind":
            return Err("not-in-progress")
        self.in_progress = None
        return Ok()

    def stream(self, remote_address: Any) -> Any:
        if self.streams:
            raise StreamTrap("UDP streams not dropped yet")
        inner = self.inner
        if not inner.is_bound():
            return Err("invalid-state")
        try:
            if remote_address is not None:
                inner.connect(address_from_wit(remote_address))
            elif inner.is_connected():
                inner.disconnect()
        except SocketError as e:
            return _err(e)
        return Ok((IncomingDatagramStream(self), OutgoingDatagramStream(self)))

    def local_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.local_address()))
        except SocketError as e:
            return _err(e)

    def remote_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.remote_address()))
        except SocketError as e:
            return _err(e)

    def address_family(self) -> str:
        return self.inner.family

    def unicast_hop_limit(self) -> Any:
        return _result(self.inner.unicast_hop_limit)

    def set_unicast_hop_limit(self, value: int) -> Any:
        return _result(self.inner.set_unicast_hop_limit, value)

    def receive_buffer_size(self) -> Any:
        return _result(self.inner.receive_buffer_size)

    def set_receive_buffer_size(self, value: int) -> Any:
        return _result(self.inner.set_receive_buffer_size, value)

    def send_buffer_size(self) -> Any:
        return _result(self.inner.send_buffer_size)

    def set_send_buffer_size(self, value: int) -> Any:
        return _result(self.inner.set_send_buffer_size, value)

    def subscribe(self) -> Pollable:
        return Pollable.ready_now()

    def drop(self) -> None:
        self.inner.close()


class IncomingDatagramStream:
    """``incoming-datagram-stream``: datagrams from the connected address (if any)."""

    __slots__ = ("owner", "connected", "dropped")

    def __init__(self, owner: UdpSocket) -> None:
        self.owner = owner
        self.connected = owner.inner.remote
        self.dropped = False
        owner.streams += 1

    def receive(self, max_results: int) -> Any:
        n = min(max_results, MAX_DATAGRAMS)
        out: list[Record] = []
        total = 0
        inner = self.owner.inner
        while len(out) < n and total < MAX_RECEIVE_BYTES:
            try:
                got = inner.receive_nowait()
            except SocketError as e:
                if out:
                    break
                return _err(e)
            if got is None:
                break
            data, addr = got
            if self.connected is not None and addr != self.connected:
                continue
            total += 1 + len(data)
            out.append(Record({"data": data, "remote-address": address_to_wit(addr)}))
        return Ok(out)

    def subscribe(self) -> Pollable:
        inner = self.owner.inner
        return Pollable(inner.receive_ready, inner.watch.wait)

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self.owner.streams -= 1


class OutgoingDatagramStream:
    """``outgoing-datagram-stream``: ``check-send`` grants up to 16 datagrams when the socket
    can take them; ``send`` sends at most what was granted."""

    __slots__ = ("owner", "permit", "dropped")

    def __init__(self, owner: UdpSocket) -> None:
        self.owner = owner
        self.permit = 0
        self.dropped = False
        owner.streams += 1

    def check_send(self) -> Any:
        self.permit = MAX_DATAGRAMS if self.owner.inner.send_ready() else 0
        return Ok(self.permit)

    def send(self, datagrams: list[Any]) -> Any:
        if not datagrams:
            return Ok(0)
        if len(datagrams) > self.permit:
            raise StreamTrap("unpermitted: argument exceeds permitted size")
        self.permit = 0
        inner = self.owner.inner
        count = 0
        for d in datagrams:
            try:
                addr = d["remote-address"]
                sent = inner.send_nowait(bytes(d["data"]),
                                         None if addr is None else address_from_wit(addr))
            except SocketError as e:
                if count:
                    break
                return _err(e)
            if not sent:
                break
            count += 1
        return Ok(count)

    def subscribe(self) -> Pollable:
        inner = self.owner.inner
        return Pollable(inner.send_ready, lambda: inner.watch.wait(write=True))

    def drop(self) -> None:
        if not self.dropped:
            self.dropped = True
            self.owner.streams -= 1


class UdpCreateSocket:
    """``wasi:sockets/udp-create-socket``."""

    def __init__(self, cls: type[UdpSocket]) -> None:
        self.cls = cls

    def create_udp_socket(self, address_family: Any) -> Any:
        cls = self.cls
        try:
            return Ok(cls(_udp.UdpSocket.create(cls._policy, family_from_wit(address_family))))
        except SocketError as e:
            return _err(e)


class UdpInterface:
    """``wasi:sockets/udp``."""

    IncomingDatagramStream = IncomingDatagramStream
    OutgoingDatagramStream = OutgoingDatagramStream

    def __init__(self, cls: type[UdpSocket]) -> None:
        self.UdpSocket = cls


# --- name lookup --------------------------------------------------------------------------------


class ResolveAddressStream:
    """``resolve-address-stream``: the addresses of one lookup, one at a time."""

    __slots__ = ("task", "addrs", "error")

    def __init__(self, task: asyncio.Future[Any] | None, addrs: list[Any] | None = None) -> None:
        self.task = task
        self.addrs = addrs
        self.error: SocketError | None = None

    def _settle(self) -> bool:
        if self.addrs is not None or self.error is not None:
            return True
        task = self.task
        if task is None or not task.done():
            return False
        exc = None if task.cancelled() else task.exception()
        if exc is None and not task.cancelled():
            self.addrs = list(task.result())
        else:
            self.error = (exc if isinstance(exc, SocketError)
                          else SocketError("other", str(exc)))
        return True

    def resolve_next_address(self) -> Any:
        if not self._settle():
            return Err("would-block")
        if self.error is not None:
            return _err(self.error)
        assert self.addrs is not None
        if not self.addrs:
            return Ok(None)
        return Ok(ip_to_wit(self.addrs.pop(0)))

    def subscribe(self) -> Pollable:
        if self.task is None:
            return Pollable.ready_now()
        return Pollable.of_future(self.task)

    def drop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class IpNameLookup:
    """``wasi:sockets/ip-name-lookup``."""

    ResolveAddressStream = ResolveAddressStream

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy

    def resolve_addresses(self, network: Network, name: str) -> Any:
        try:
            host = lookup_check(self.policy, name)  # these errors surface at once (Wasmtime)
        except SocketError as e:
            return _err(e)
        if not isinstance(host, str):
            return Ok(ResolveAddressStream(None, [host]))
        task = asyncio.ensure_future(resolve_addresses(self.policy, name))
        task.add_done_callback(lambda t: None if t.cancelled() else t.exception())
        return Ok(ResolveAddressStream(task))


def register(linker: Linker, ctx: WasiCtx) -> None:
    policy = ctx.network
    tcp_cls: type[TcpSocket] = type("TcpSocket", (TcpSocket,), {"_policy": policy, "__slots__": ()})
    udp_cls: type[UdpSocket] = type("UdpSocket", (UdpSocket,), {"_policy": policy, "__slots__": ()})
    v = VERSION
    linker.define_interface(f"wasi:sockets/network@{v}", NetworkInterface())
    linker.define_interface(f"wasi:sockets/instance-network@{v}", InstanceNetwork())
    linker.define_interface(f"wasi:sockets/tcp@{v}", TcpInterface(tcp_cls))
    linker.define_interface(f"wasi:sockets/tcp-create-socket@{v}", TcpCreateSocket(tcp_cls))
    linker.define_interface(f"wasi:sockets/udp@{v}", UdpInterface(udp_cls))
    linker.define_interface(f"wasi:sockets/udp-create-socket@{v}", UdpCreateSocket(udp_cls))
    linker.define_interface(f"wasi:sockets/ip-name-lookup@{v}", IpNameLookup(policy))

"""TCP sockets on the asyncio loop, checked against the guest's ``NetworkPolicy``.

The state machine and the checks are Wasmtime's (crates/wasi/src/sockets/tcp.rs): a socket is
created unbound (``default``); ``bind`` binds it (still ``default``); ``start_connect`` moves
it to ``connecting`` and ``finish_connect`` to ``connected`` (or ``closed`` with the error);
``listen`` to ``listening``. Anything else is ``invalid-state``. IPv6 sockets are IPv6-only.

Policy: creating needs the TCP grant; an explicit ``bind`` needs the bind address allowed; a
connect needs the remote address allowed (the OS's implicit bind needs only the grant);
``listen`` on an unbound socket binds the wildcard address, which must be allowed; accepted
clients whose address no allow-list entry covers are reset and never reach the guest.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import sys
from collections.abc import Callable
from typing import Literal

from ..ctx import NetworkPolicy
from ._io import FdWatch, ready_now
from .addr import (
    AF,
    Family,
    SocketAddress,
    is_valid_family,
    is_valid_remote,
    is_valid_unicast,
    unspecified,
)
from .errors import SocketError, code_of_errno, from_os_error

__all__ = ["TcpSocket", "TcpReader", "TcpWriter", "DEFAULT_BACKLOG", "READ_CHUNK"]

DEFAULT_BACKLOG = 128
#: The most one read returns.
READ_CHUNK = 64 * 1024
_NS = 1_000_000_000
_I32_MAX = 2**31 - 1

State = Literal["default", "connecting", "connected", "listening", "closed"]

_IN_PROGRESS = {errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY}
_ACCEPT_ABORTED = {getattr(errno, n) for n in (
    "ECONNRESET", "ENETRESET", "EHOSTUNREACH", "EHOSTDOWN", "ENETDOWN", "ENETUNREACH",
    "EPROTO", "ENOPROTOOPT", "ENONET", "EOPNOTSUPP") if hasattr(errno, n)}
_KEEPIDLE = getattr(socket, "TCP_KEEPIDLE", getattr(socket, "TCP_KEEPALIVE", None))


def new_socket(family: Family, kind: socket.SocketKind) -> socket.socket:
    """A non-blocking socket; IPv6 ones are IPv6-only (WASI: not configurable)."""
    try:
        sock = socket.socket(AF[family], kind)
    except OSError as e:
        raise from_os_error(e) from e
    sock.setblocking(False)
    if family == "ipv6":
        try:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        except OSError as e:
            sock.close()
            raise from_os_error(e) from e
    return sock


def _os(e: OSError) -> SocketError:
    return from_os_error(e)


# --- options shared with UDP --------------------------------------------------------------------


def get_hop_limit(sock: socket.socket, family: Family) -> int:
    try:
        if family == "ipv4":
            v = sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)
        else:
            v = sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
    except OSError as e:
        raise _os(e) from e
    if not 0 <= v <= 255:
        raise SocketError("not-supported", f"hop limit {v} is out of range")
    return v


def set_hop_limit(sock: socket.socket, family: Family, value: int) -> None:
    if value == 0:
        raise SocketError("invalid-argument", "the hop limit must not be 0")
    try:
        if family == "ipv4":
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, value)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, value)
    except OSError as e:
        raise _os(e) from e


def get_buffer_size(sock: socket.socket, opt: int) -> int:
    try:
        v = sock.getsockopt(socket.SOL_SOCKET, opt)
    except OSError as e:
        raise _os(e) from e
    # Linux doubles the value set (bookkeeping); halve it, as Wasmtime does.
    return v // 2 if sys.platform.startswith("linux") else v


def set_buffer_size(sock: socket.socket, opt: int, value: int) -> int:
    if value == 0:
        raise SocketError("invalid-argument", "the buffer size must not be 0")
    value = max(1, min(value, _I32_MAX))
    try:
        sock.setsockopt(socket.SOL_SOCKET, opt, value)
    except OSError as e:
        if e.errno != errno.ENOBUFS:  # a hint everywhere but BSD: normalised as Wasmtime does
            raise _os(e) from e
    return value


def _local(sock: socket.socket) -> SocketAddress | None:
    try:
        return SocketAddress.from_python(sock.getsockname())
    except (OSError, ValueError):
        return None


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TcpSocket:
    """A TCP socket of one guest (see the module docs for states and checks)."""

    def __init__(self, policy: NetworkPolicy, family: Family, sock: socket.socket,
                 state: State = "default", error: SocketError | None = None) -> None:
        self.policy = policy
        self.family: Family = family
        self.sock = sock
        self.watch = FdWatch(sock)
        self.state: State = state
        self.error = error
        self.backlog = DEFAULT_BACKLOG
        self._bound = state != "default"
        self._connect_task: asyncio.Task[None] | None = None
        self._receive_taken = False
        self._send_taken = False
        self._refs = 1  # the guest's handle, plus each stream taken
        self._closed = False

    # --- creation and state ---------------------------------------------------------------

    @classmethod
    def create(cls, policy: NetworkPolicy, family: Family) -> TcpSocket:
        if not policy.tcp:
            raise SocketError("access-denied", "TCP is not allowed")
        return cls(policy, family, new_socket(family, socket.SOCK_STREAM))

    def _fail(self) -> SocketError:
        return self.error or SocketError("other")

    def _usable(self) -> socket.socket:
        """The socket for an option call: not while connecting, not once closed."""
        if self.state == "connecting":
            raise SocketError("invalid-state", "the socket is connecting")
        if self.state == "closed" or self._closed:
            raise self._fail()
        return self.sock

    def is_bound(self) -> bool:
        if not self._bound:
            if self.state == "default":
                local = _local(self.sock)
                self._bound = local is not None and local != unspecified(self.family)
            else:
                self._bound = True
        return self._bound

    # --- bind, connect, listen, accept ------------------------------------------------------

    def bind(self, addr: SocketAddress) -> None:
        if self.is_bound() or self.state != "default":
            raise SocketError("invalid-state", "the socket is already bound")
        if not is_valid_unicast(addr.ip) or not is_valid_family(addr.ip, self.family):
            raise SocketError("invalid-argument", f"cannot bind an {self.family} socket to {addr}")
        if not self.policy.permits("tcp", str(addr.ip), addr.port):
            raise SocketError("access-denied", f"binding to {addr} is not allowed")
        self._os_bind(addr)

    def _os_bind(self, addr: SocketAddress) -> None:
        if sys.platform != "win32":
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            except OSError:
                pass
        try:
            self.sock.bind(addr.to_python())
        except OSError as e:
            if e.errno == errno.EAFNOSUPPORT:
                raise SocketError("invalid-argument", str(e)) from e
            raise _os(e) from e

    def start_connect(self, addr: SocketAddress) -> None:
        """Checks the address and starts connecting in the background (``finish_connect``
        takes the result)."""
        if self.state != "default":
            raise SocketError("invalid-state", f"cannot connect a socket that is {self.state}")
        if (not is_valid_unicast(addr.ip) or not is_valid_remote(addr)
                or not is_valid_family(addr.ip, self.family)):
            raise SocketError("invalid-argument", f"cannot connect an {self.family} socket to {addr}")
        self.state = "connecting"
        self._connect_task = asyncio.ensure_future(self._connect(addr))
        # Its outcome is read by finish_connect; never "exception was never retrieved".
        self._connect_task.add_done_callback(
            lambda t: None if t.cancelled() else t.exception())

    async def _connect(self, addr: SocketAddress) -> None:
        if not self.policy.tcp:
            raise SocketError("access-denied", "TCP is not allowed")
        if not self.policy.permits("tcp", str(addr.ip), addr.port):
            raise SocketError("access-denied", f"connecting to {addr} is not allowed")
        try:
            err = self.sock.connect_ex(addr.to_python())
        except OSError as e:
            raise _os(e) from e
        while err in _IN_PROGRESS:
            await self.watch.wait(write=True)
            if self._closed:
                raise SocketError("other", "the socket was closed")
            if not ready_now(self.sock, write=True):
                continue
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise SocketError(code_of_errno(err), errno.errorcode.get(err, str(err)))

    def connect_done(self) -> bool:
        return self._connect_task is None or self._connect_task.done()

    async def wait_connect(self) -> None:
        """Returns once a connect started by ``start_connect`` has its outcome."""
        task = self._connect_task
        if task is not None and not task.done():
            await asyncio.wait([task])

    def finish_connect(self) -> None:
        """Takes a finished connect's outcome: connected, or raises its error (then the socket
        is closed). ``would-block`` while it runs."""
        if self.state == "connected":
            return
        if self.state == "closed":
            raise self._fail()
        if self.state != "connecting" or self._connect_task is None:
            raise SocketError("invalid-state", "the socket is not connecting")
        task = self._connect_task
        if not task.done():
            raise SocketError("would-block", "the connection is still being made")
        self._connect_task = None
        exc = None if task.cancelled() else task.exception()
        if task.cancelled() or exc is not None:
            self.state = "closed"
            self.error = from_os_error(exc) if exc is not None else SocketError("other")
            raise self.error
        self.state = "connected"
        self._bound = True

    async def connect(self, addr: SocketAddress) -> None:
        self.start_connect(addr)
        await self.wait_connect()
        self.finish_connect()

    def listen(self) -> None:
        already_bound = self.is_bound()
        if self.state != "default":
            raise SocketError("invalid-state", f"cannot listen on a socket that is {self.state}")
        # Wasmtime takes the socket out of its state before its checks: a refused listen
        # leaves it closed.
        self.state = "closed"
        self.error = SocketError("other")
        if already_bound:
            local = _local(self.sock)
            if local is None or not self.policy.permits("tcp", str(local.ip), local.port):
                raise SocketError("access-denied", f"listening on {local} is not allowed")
        else:
            wild = unspecified(self.family)
            if not self.policy.permits("tcp", str(wild.ip), 0):
                raise SocketError("access-denied", "listening on the wildcard address is not allowed")
            self._os_bind(wild)
        try:
            self.sock.listen(self.backlog)
        except OSError as e:
            raise _os(e) from e
        self.state = "listening"
        self.error = None

    def accept_nowait(self) -> TcpSocket | None:
        """An accepted client (in ``connected`` state, or ``closed`` with the error accept
        returned), or None when none is waiting."""
        if self.state != "listening":
            raise SocketError("invalid-state", "the socket is not listening")
        while True:
            try:
                conn, peer = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                if e.errno in _ACCEPT_ABORTED and sys.platform.startswith("linux"):
                    err = SocketError("connection-aborted", str(e))
                else:
                    err = _os(e)
                return self._dead(err)
            remote = SocketAddress.from_python(peer)
            if not self.policy.permits_peer("tcp", str(remote.ip)):
                _reset(conn)
                continue
            conn.setblocking(False)
            return TcpSocket(self.policy, self.family, conn, state="connected")

    def _dead(self, err: SocketError) -> TcpSocket:
        """A client socket that failed to be accepted: ``closed`` with ``err`` (it has no
        socket of its own; it never touches the listener's, which it only names)."""
        dead = TcpSocket(self.policy, self.family, self.sock, state="closed", error=err)
        dead.watch.fd = -1
        dead._closed = True
        dead._refs = 0
        return dead

    def accept_ready(self) -> bool:
        return self.state != "listening" or ready_now(self.sock)

    async def accept(self) -> TcpSocket:
        while True:
            client = self.accept_nowait()
            if client is not None:
                return client
            await self.watch.wait()
            if self._closed:
                raise SocketError("other", "the socket was closed")

    # --- the byte streams -----------------------------------------------------------------

    def take_receive(self) -> TcpReader:
        if self.state == "connected" and not self._receive_taken and not self._closed:
            self._receive_taken = True
            self._refs += 1
            return TcpReader(self)
        if self.state == "closed":
            raise self._fail()
        raise SocketError("invalid-state", "the socket is not connected, or its receive "
                          "stream was already taken")

    def take_send(self) -> TcpWriter:
        if self.state == "connected" and not self._send_taken and not self._closed:
            self._send_taken = True
            self._refs += 1
            return TcpWriter(self)
        if self.state == "closed":
            raise self._fail()
        raise SocketError("invalid-state", "the socket is not connected, or its send "
                          "stream was already taken")

    def acquire(self) -> None:
        """Keeps the socket open past the guest's drop until a matching ``release()`` (what
        a listen stream does: the listener lives as long as the stream)."""
        self._refs += 1

    def release(self) -> None:
        self._release()

    def _release(self) -> None:
        self._refs -= 1
        if self._refs <= 0 and not self._closed:
            self._closed = True
            if self._connect_task is not None and not self._connect_task.done():
                self._connect_task.cancel()
            self.watch.close()
            self.sock.close()

    def close(self) -> None:
        """The guest dropped its handle: the socket closes once its streams are done too."""
        self._release()

    # --- addresses and options -------------------------------------------------------------

    def local_address(self) -> SocketAddress:
        if not self.is_bound():
            raise SocketError("invalid-state", "the socket is not bound")
        if self.state == "connecting":
            raise SocketError("invalid-state", "the socket is connecting")
        if self.state == "closed":
            raise self._fail()
        try:
            return SocketAddress.from_python(self.sock.getsockname())
        except OSError as e:
            raise _os(e) from e

    def remote_address(self) -> SocketAddress:
        if self.state == "connected" and not self._closed:
            try:
                return SocketAddress.from_python(self.sock.getpeername())
            except OSError as e:
                raise _os(e) from e
        if self.state == "closed":
            raise self._fail()
        raise SocketError("invalid-state", "the socket is not connected")

    def is_listening(self) -> bool:
        return self.state == "listening"

    def set_listen_backlog_size(self, value: int) -> None:
        if value == 0:
            raise SocketError("invalid-argument", "the backlog must not be 0")
        value = max(1, min(value, _I32_MAX))
        if self.state == "default":
            self.backlog = value
        elif self.state == "listening":
            try:
                self.sock.listen(value)
            except OSError as e:
                raise SocketError("not-supported", str(e)) from e
            self.backlog = value
        elif self.state == "closed":
            raise self._fail()
        else:
            raise SocketError("invalid-state", f"the socket is {self.state}")

    def _get(self, level: int, opt: int | None) -> int:
        sock = self._usable()
        if opt is None:
            raise SocketError("not-supported", "this option is not supported here")
        try:
            return sock.getsockopt(level, opt)
        except OSError as e:
            raise _os(e) from e

    def _set(self, level: int, opt: int | None, value: int) -> None:
        sock = self._usable()
        if opt is None:
            raise SocketError("not-supported", "this option is not supported here")
        try:
            sock.setsockopt(level, opt, value)
        except OSError as e:
            raise _os(e) from e

    def keep_alive_enabled(self) -> bool:
        return bool(self._get(socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    def set_keep_alive_enabled(self, value: bool) -> None:
        self._set(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1 if value else 0)

    def keep_alive_idle_time(self) -> int:
        return self._get(socket.IPPROTO_TCP, _KEEPIDLE) * _NS

    def set_keep_alive_idle_time(self, ns: int) -> None:
        if ns == 0:
            raise SocketError("invalid-argument", "the idle time must not be 0")
        self._usable()
        self._set(socket.IPPROTO_TCP, _KEEPIDLE, _keep_alive_seconds(ns))

    def keep_alive_interval(self) -> int:
        return self._get(socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None)) * _NS

    def set_keep_alive_interval(self, ns: int) -> None:
        if ns == 0:
            raise SocketError("invalid-argument", "the interval must not be 0")
        self._usable()
        self._set(socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None),
                  _keep_alive_seconds(ns))

    def keep_alive_count(self) -> int:
        return self._get(socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None))

    def set_keep_alive_count(self, value: int) -> None:
        if value == 0:
            raise SocketError("invalid-argument", "the count must not be 0")
        self._set(socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPCNT", None), max(1, min(value, 127)))

    def hop_limit(self) -> int:
        return get_hop_limit(self._usable(), self.family)

    def set_hop_limit(self, value: int) -> None:
        set_hop_limit(self._usable(), self.family, value)

    def receive_buffer_size(self) -> int:
        return get_buffer_size(self._usable(), socket.SO_RCVBUF)

    def set_receive_buffer_size(self, value: int) -> None:
        set_buffer_size(self._usable(), socket.SO_RCVBUF, value)

    def send_buffer_size(self) -> int:
        return get_buffer_size(self._usable(), socket.SO_SNDBUF)

    def set_send_buffer_size(self, value: int) -> None:
        set_buffer_size(self._usable(), socket.SO_SNDBUF, value)


def _keep_alive_seconds(ns: int) -> int:
    # At least 1 s (never rounded down to 0), at most Linux's limit.
    return max(1, min(ns, 32767 * _NS) // _NS)


class TcpReader:
    """The receiving half of a connected socket: ``await read(n)`` → bytes, ``b""`` at the
    end; ``close()`` shuts the socket down for reading."""

    def __init__(self, owner: TcpSocket) -> None:
        self.owner = owner
        self.closed = False

    def read_nowait(self, n: int = READ_CHUNK) -> bytes | None:
        """What is there (``b""``: the end), or None when nothing is yet; raises
        ``SocketError``."""
        if self.closed:
            return b""
        if n <= 0:
            return b""
        try:
            return self.owner.sock.recv(min(n, READ_CHUNK))
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            raise _os(e) from e

    def ready(self) -> bool:
        return self.closed or ready_now(self.owner.sock)

    async def wait(self) -> None:
        if not self.closed:
            await self.owner.watch.wait()

    async def read(self, n: int = READ_CHUNK) -> bytes:
        while True:
            data = self.read_nowait(n)
            if data is not None:
                return data
            await self.owner.watch.wait()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.owner.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        self.owner._release()


class TcpWriter:
    """The sending half of a connected socket: ``await write(data)`` sends all of it;
    ``close()`` shuts the socket down for writing (the peer reads the end)."""

    def __init__(self, owner: TcpSocket) -> None:
        self.owner = owner
        self.closed = False
        #: Called instead of raising when the peer is gone (``connection-broken``): the 0.2
        #: front end ends its output-stream then (the guest sees ``closed``, as in Wasmtime).
        self.on_broken: Callable[[], None] | None = None

    def write_nowait(self, data: bytes | memoryview) -> int:
        """How much of ``data`` the socket took now (0: full); raises ``SocketError``."""
        if self.closed:
            raise SocketError("connection-broken", "the send stream is closed")
        try:
            return self.owner.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise SocketError("connection-broken", str(e)) from e
            raise _os(e) from e

    def ready(self) -> bool:
        return self.closed or ready_now(self.owner.sock, write=True)

    async def wait(self) -> None:
        if not self.closed:
            await self.owner.watch.wait(write=True)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.write_nowait(view)
            except SocketError as e:
                if e.code == "connection-broken" and self.on_broken is not None:
                    self.on_broken()
                    return
                raise
            if n:
                view = view[n:]
            else:
                await self.owner.watch.wait(write=True)

    async def flush(self) -> None:
        return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.owner.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.owner._release()

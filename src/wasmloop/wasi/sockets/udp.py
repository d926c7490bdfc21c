"""UDP sockets on the asyncio loop, checked against the guest's ``NetworkPolicy``.

As Wasmtime (crates/wasi/src/sockets/udp.rs): creating needs the UDP grant; an explicit ``bind``
needs the address allowed; ``connect`` and every ``send`` need the remote address allowed (the
OS's implicit bind needs only the grant); datagrams from addresses no allow-list entry covers
are dropped on receipt. IPv6 sockets are IPv6-only. Datagrams are at most 65535 bytes.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import sys

from ..ctx import NetworkPolicy
from ._io import FdWatch, ready_now
from .addr import Family, SocketAddress, is_valid_family, is_valid_remote, unspecified
from .errors import SocketError, from_os_error
from .tcp import get_buffer_size, get_hop_limit, new_socket, set_buffer_size, set_hop_limit

__all__ = ["UdpSocket", "MAX_DATAGRAM_SIZE"]

MAX_DATAGRAM_SIZE = 65535


def _os(e: OSError) -> SocketError:
    return from_os_error(e)


def _disconnect(sock: socket.socket) -> None:
    """``connect`` with an ``AF_UNSPEC`` address: dissolves a UDP association (Python's socket
    module has no spelling for it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    unspec = ctypes.create_string_buffer(16)  # all zero: sa_family = AF_UNSPEC on every layout
    if libc.connect(sock.fileno(), unspec, ctypes.c_uint(16)) != 0:
        err = ctypes.get_errno()
        if sys.platform == "darwin" and err in (errno.EINVAL, errno.EAFNOSUPPORT):
            return
        raise OSError(err, errno.errorcode.get(err, str(err)))


class UdpSocket:
    """A UDP socket of one guest."""

    def __init__(self, policy: NetworkPolicy, family: Family, sock: socket.socket) -> None:
        self.policy = policy
        self.family: Family = family
        self.sock = sock
        self.watch = FdWatch(sock)
        self._bound = False
        self.remote: SocketAddress | None = None
        self.closed = False

    @classmethod
    def create(cls, policy: NetworkPolicy, family: Family) -> UdpSocket:
        if not policy.udp:
            raise SocketError("access-denied", "UDP is not allowed")
        return cls(policy, family, new_socket(family, socket.SOCK_DGRAM))

    def _sock(self) -> socket.socket:
        if self.closed:
            raise SocketError("other", "the socket is closed")
        return self.sock

    def is_bound(self) -> bool:
        if not self._bound and not self.closed:
            try:
                local = SocketAddress.from_python(self.sock.getsockname())
            except (OSError, ValueError):
                return False
            self._bound = local != unspecified(self.family)
        return self._bound

    def is_connected(self) -> bool:
        return self.remote is not None

    def local_address(self) -> SocketAddress:
        if not self.is_bound():
            raise SocketError("invalid-state", "the socket is not bound")
        try:
            return SocketAddress.from_python(self._sock().getsockname())
        except OSError as e:
            raise _os(e) from e

    def remote_address(self) -> SocketAddress:
        if self.remote is None:
            raise SocketError("invalid-state", "the socket is not connected")
        return self.remote

    def bind(self, addr: SocketAddress) -> None:
        if self.is_bound():
            raise SocketError("invalid-state", "the socket is already bound")
        if not is_valid_family(addr.ip, self.family):
            raise SocketError("invalid-argument", f"cannot bind an {self.family} socket to {addr}")
        if not self.policy.permits("udp", str(addr.ip), addr.port):
            raise SocketError("access-denied", f"binding to {addr} is not allowed")
        try:
            self._sock().bind(addr.to_python())
        except OSError as e:
            if e.errno == errno.EAFNOSUPPORT:
                raise SocketError("invalid-argument", str(e)) from e
            raise _os(e) from e

    def connect(self, addr: SocketAddress) -> None:
        if not is_valid_family(addr.ip, self.family) or not is_valid_remote(addr):
            raise SocketError("invalid-argument", f"cannot connect an {self.family} socket to {addr}")
        if not self.policy.udp:
            raise SocketError("access-denied", "UDP is not allowed")
        if not self.policy.permits("udp", str(addr.ip), addr.port):
            raise SocketError("access-denied", f"connecting to {addr} is not allowed")
        sock = self._sock()
        try:
            try:
                sock.connect(addr.to_python())
            except OSError as e:
                if e.errno == errno.EINVAL and sys.platform.startswith("linux"):
                    # Linux keeps the old route's local address: dissolve, then connect again.
                    try:
                        _disconnect(sock)
                    except OSError:
                        pass
                    sock.connect(addr.to_python())
                elif e.errno == errno.EAFNOSUPPORT:
                    raise OSError(errno.EINVAL, str(e)) from e
                elif e.errno != errno.EINPROGRESS:
                    raise
        except OSError as e:
            self._update_remote()
            raise _os(e) from e
        self._update_remote()

    def disconnect(self) -> None:
        if not self.is_connected():
            raise SocketError("invalid-state", "the socket is not connected")
        # Linux may give up the local port: it is still bound, as far as the guest knows.
        self._bound = True
        try:
            _disconnect(self._sock())
        except OSError as e:
            self._update_remote()
            raise _os(e) from e
        self._update_remote()

    def _update_remote(self) -> None:
        try:
            peer = SocketAddress.from_python(self.sock.getpeername())
        except (OSError, ValueError):
            self.remote = None
            return
        self.remote = None if peer == unspecified(self.family) else peer

    # --- datagrams --------------------------------------------------------------------------

    def _send_target(self, data: bytes, addr: SocketAddress | None) -> SocketAddress:
        if len(data) > MAX_DATAGRAM_SIZE:
            raise SocketError("datagram-too-large", f"{len(data)} bytes is more than a datagram")
        if addr is not None:
            if not is_valid_remote(addr) or not is_valid_family(addr.ip, self.family):
                raise SocketError("invalid-argument", f"cannot send from an {self.family} "
                                  f"socket to {addr}")
            if self.remote is not None and self.remote != addr:
                raise SocketError("invalid-argument", f"the socket is connected to {self.remote}, "
                                  f"not {addr}")
            target = addr
        elif self.remote is not None:
            target = self.remote
        else:
            raise SocketError("invalid-argument", "no address to send to")
        if not self.policy.udp:
            raise SocketError("access-denied", "UDP is not allowed")
        if not self.policy.permits("udp", str(target.ip), target.port):
            raise SocketError("access-denied", f"sending to {target} is not allowed")
        return target

    def send_nowait(self, data: bytes, addr: SocketAddress | None) -> bool:
        """Sends one datagram if the socket takes it now (False: it would block)."""
        target = self._send_target(data, addr)
        sock = self._sock()
        try:
            if self.remote is not None and target == self.remote:
                sock.send(data)
            else:
                sock.sendto(data, target.to_python())
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as e:
            raise _os(e) from e
        return True

    async def send(self, data: bytes, addr: SocketAddress | None) -> None:
        self._send_target(data, addr)
        while not self.send_nowait(data, addr):
            await self.watch.wait(write=True)

    def send_ready(self) -> bool:
        return self.closed or ready_now(self.sock, write=True)

    def receive_nowait(self) -> tuple[bytes, SocketAddress] | None:
        """The next datagram the policy lets through, or None when none is waiting."""
        if not self.is_bound():
            raise SocketError("invalid-state", "the socket is not bound")
        sock = self._sock()
        while True:
            try:
                data, peer = sock.recvfrom(MAX_DATAGRAM_SIZE)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as e:
                raise _os(e) from e
            remote = SocketAddress.from_python(peer)
            if self.policy.permits_peer("udp", str(remote.ip)):
                return data, remote

    async def receive(self) -> tuple[bytes, SocketAddress]:
        while True:
            got = self.receive_nowait()
            if got is not None:
                return got
            await self.watch.wait()

    def receive_ready(self) -> bool:
        return self.closed or ready_now(self.sock)

    # --- options ----------------------------------------------------------------------------

    def unicast_hop_limit(self) -> int:
        return get_hop_limit(self._sock(), self.family)

    def set_unicast_hop_limit(self, value: int) -> None:
        set_hop_limit(self._sock(), self.family, value)

    def receive_buffer_size(self) -> int:
        return get_buffer_size(self._sock(), socket.SO_RCVBUF)

    def set_receive_buffer_size(self, value: int) -> None:
        set_buffer_size(self._sock(), socket.SO_RCVBUF, value)

    def send_buffer_size(self) -> int:
        return get_buffer_size(self._sock(), socket.SO_SNDBUF)

    def set_send_buffer_size(self, value: int) -> None:
        set_buffer_size(self._sock(), socket.SO_SNDBUF, value)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.watch.close()
            self.sock.close()

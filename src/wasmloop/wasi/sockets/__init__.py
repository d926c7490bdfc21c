"""The WASI sockets backend both front ends serve from: TCP and UDP sockets on the asyncio loop
and name lookup, every operation checked against the guest's ``NetworkPolicy`` (nothing is
allowed unless granted), errors as ``SocketError`` with WIT error-code case names.

``wasmloop.wasi.p3.sockets`` (``wasi:sockets@0.3.0``) and ``wasmloop.wasi.p2.sockets``
(``wasi:sockets@0.2.x``) are thin front ends over it; it can be used directly too::

    sock = TcpSocket.create(ctx.network, "ipv4")
    sock.bind(SocketAddress(ipaddress.ip_address("127.0.0.1"), 0))
    sock.listen()
    client = await sock.accept()
"""

from __future__ import annotations

from .addr import Family, IpAddress, SocketAddress, address_from_wit, address_to_wit, ip_to_wit
from .errors import SocketError, from_os_error
from .ip_name_lookup import resolve_addresses
from .tcp import TcpReader, TcpSocket, TcpWriter
from .udp import MAX_DATAGRAM_SIZE, UdpSocket

__all__ = [
    "Family",
    "IpAddress",
    "SocketAddress",
    "SocketError",
    "from_os_error",
    "TcpSocket",
    "TcpReader",
    "TcpWriter",
    "UdpSocket",
    "MAX_DATAGRAM_SIZE",
    "resolve_addresses",
    "address_from_wit",
    "address_to_wit",
    "ip_to_wit",
]

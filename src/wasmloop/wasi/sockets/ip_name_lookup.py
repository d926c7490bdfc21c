"""Name lookup for guests: ``loop.getaddrinfo`` (in asyncio's executor, never on the loop).

As Wasmtime (crates/wasi/src/sockets/ip_name_lookup.rs): without the ``ip_name_lookup`` grant
every lookup fails with ``permanent-resolver-failure``; IP literals (``127.0.0.1``, ``::1``,
``[::1]``) resolve to themselves without a lookup; names that are not valid hosts are
``invalid-argument``; a failed lookup is ``name-unresolvable``. IPv4-mapped IPv6 results are
given as IPv4.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from ..ctx import NetworkPolicy
from .addr import IpAddress
from .errors import SocketError

__all__ = ["resolve_addresses", "parse_host"]

# WHATWG URL "forbidden host code points" (url::Host::parse refuses them).
_FORBIDDEN = set("\x00\t\n\r #/:<>?@[\\]^|%")


def _ipv4_literal(name: str) -> ipaddress.IPv4Address | None:
    last = name.rstrip(".").rpartition(".")[2].lower()
    numeric = last.isdigit() or (last.startswith("0x") and all(
        c in "0123456789abcdef" for c in last[2:]))
    if not numeric:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(name.rstrip(".")))
    except OSError:
        raise SocketError("invalid-argument", f"{name!r} is not a valid IPv4 address") from None


def parse_host(name: str) -> IpAddress | str:
    """An IP literal, or the ASCII (punycode) domain name to look up; ``invalid-argument`` for
    anything else."""
    if name.startswith("["):
        if not name.endswith("]"):
            raise SocketError("invalid-argument", f"{name!r} is not a valid host")
        try:
            return ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            raise SocketError("invalid-argument", f"{name!r} is not a valid IPv6 address") from None
    try:
        return ipaddress.IPv6Address(name)
    except ValueError:
        pass
    if not name or any(c in _FORBIDDEN for c in name):
        raise SocketError("invalid-argument", f"{name!r} is not a valid host name")
    if name.isascii():
        domain = name.lower()
    else:
        try:
            domain = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise SocketError("invalid-argument", f"{name!r} is not a valid host name") from None
    v4 = _ipv4_literal(domain)
    if v4 is not None:
        return v4
    return domain


def _canonical(ip: IpAddress) -> IpAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def check(policy: NetworkPolicy, name: str) -> IpAddress | str:
    """The synchronous part of a lookup: the grant and the name (raises ``SocketError``)."""
    if not policy.ip_name_lookup:
        raise SocketError("permanent-resolver-failure", "name lookup is not allowed")
    return parse_host(name)


async def resolve_addresses(policy: NetworkPolicy, name: str) -> list[IpAddress]:
    """The addresses ``name`` resolves to; raises ``SocketError`` with a lookup error code."""
    host = check(policy, name)
    if not isinstance(host, str):
        return [host]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        raise SocketError("name-unresolvable", f"{host}: {e}") from e
    out: list[IpAddress] = []
    for fam, _, _, _, sockaddr in infos:
        if fam not in (socket.AF_INET, socket.AF_INET6):
            continue
        out.append(_canonical(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])))
    return out

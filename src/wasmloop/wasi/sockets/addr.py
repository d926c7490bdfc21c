"""Socket addresses: the backend's ``SocketAddress``, the address checks Wasmtime makes, and the
conversion from and to the WIT ``ip-socket-address`` / ``ip-address`` values (the same shape in
0.2 and 0.3, so both front ends use these)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...values import Record, Variant
from .errors import SocketError

__all__ = [
    "Family",
    "IpAddress",
    "SocketAddress",
    "unspecified",
    "is_valid_family",
    "is_valid_remote",
    "is_valid_unicast",
    "address_from_wit",
    "address_to_wit",
    "ip_to_wit",
    "family_from_wit",
    "AF",
]

Family = Literal["ipv4", "ipv6"]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

AF: dict[str, socket.AddressFamily] = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


@dataclass(frozen=True)
class SocketAddress:
    """An IP socket address (``flow_info`` and ``scope_id`` only mean something for IPv6)."""

    ip: IpAddress
    port: int
    flow_info: int = 0
    scope_id: int = 0

    @property
    def family(self) -> Family:
        return "ipv4" if self.ip.version == 4 else "ipv6"

    def to_python(self) -> tuple[Any, ...]:
        """The address as the ``socket`` module takes it."""
        if self.ip.version == 4:
            return (str(self.ip), self.port)
        return (str(self.ip), self.port, self.flow_info, self.scope_id)

    @classmethod
    def from_python(cls, addr: Any) -> SocketAddress:
        """From what ``getsockname``/``recvfrom``/``accept`` return."""
        host = str(addr[0]).split("%", 1)[0]
        ip = ipaddress.ip_address(host)
        if ip.version == 6 and len(addr) >= 4:
            return cls(ip, int(addr[1]), int(addr[2]), int(addr[3]))
        return cls(ip, int(addr[1]))

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}" if self.ip.version == 4 else f"[{self.ip}]:{self.port}"


def unspecified(family: Family) -> SocketAddress:
    """``0.0.0.0:0`` or ``[::]:0``."""
    ip: IpAddress = (ipaddress.IPv4Address(0) if family == "ipv4" else ipaddress.IPv6Address(0))
    return SocketAddress(ip, 0)


def _canonical(ip: IpAddress) -> IpAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_valid_family(ip: IpAddress, family: Family) -> bool:
    """As Wasmtime: the address is of the socket's family; IPv6 sockets take neither
    IPv4-mapped nor (deprecated) IPv4-compatible addresses."""
    if family == "ipv4":
        return ip.version == 4
    if ip.version != 6:
        return False
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return False
    packed = ip.packed
    ipv4_compatible = packed[:12] == bytes(12) and ip not in (
        ipaddress.IPv6Address(0), ipaddress.IPv6Address(1))
    return not ipv4_compatible


def is_valid_remote(addr: SocketAddress) -> bool:
    """Not the unspecified address and not port 0."""
    return not _canonical(addr.ip).is_unspecified and addr.port != 0


def is_valid_unicast(ip: IpAddress) -> bool:
    """Not multicast, not the IPv4 broadcast address."""
    c = _canonical(ip)
    if c.is_multicast:
        return False
    return not (c.version == 4 and c == ipaddress.IPv4Address("255.255.255.255"))


def _field(v: Any, name: str) -> Any:
    if isinstance(v, Mapping):
        if name in v:
            return v[name]
        return v[name.replace("-", "_")]
    return getattr(v, name.replace("-", "_"))


def address_from_wit(v: Any) -> SocketAddress:
    """From an ``ip-socket-address`` value (``Variant("ipv4", Record(port=…, address=…))``)."""
    if not isinstance(v, Variant) or v.case not in ("ipv4", "ipv6"):
        raise SocketError("invalid-argument", f"not an ip-socket-address: {v!r}")
    rec = v.value
    port = int(_field(rec, "port"))
    parts = tuple(int(x) for x in _field(rec, "address"))
    if v.case == "ipv4":
        return SocketAddress(ipaddress.IPv4Address(bytes(parts)), port)
    packed = b"".join(p.to_bytes(2, "big") for p in parts)
    return SocketAddress(ipaddress.IPv6Address(packed), port,
                         int(_field(rec, "flow-info")), int(_field(rec, "scope-id")))


def ip_to_wit(ip: IpAddress) -> Variant:
    """To an ``ip-address`` value."""
    if ip.version == 4:
        return Variant("ipv4", tuple(ip.packed))
    p = ip.packed
    return Variant("ipv6", tuple(int.from_bytes(p[i:i + 2], "big") for i in range(0, 16, 2)))


def address_to_wit(addr: SocketAddress) -> Variant:
    """To an ``ip-socket-address`` value."""
    ipv = ip_to_wit(addr.ip)
    if addr.ip.version == 4:
        return Variant("ipv4", Record({"port": addr.port, "address": ipv.value}))
    return Variant("ipv6", Record({"port": addr.port, "flow-info": addr.flow_info,
                                   "address": ipv.value, "scope-id": addr.scope_id}))


def family_from_wit(v: Any) -> Family:
    """From an ``ip-address-family`` enum value."""
    name = str(v).replace("_", "-")
    if name not in ("ipv4", "ipv6"):
        raise SocketError("invalid-argument", f"not an ip-address-family: {v!r}")
    return name  # type: ignore[return-value]

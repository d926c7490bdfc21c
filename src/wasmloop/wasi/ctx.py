"""What a guest was granted: ``WasiConfig`` (given by the embedder) and ``WasiCtx`` (the one
backend both WASI front ends, 0.2 and 0.3, serve from).

Nothing from the host is visible unless the config asks for it: no arguments but those given,
no environment variables, no directories, no network, stdin empty, stdout and stderr
discarded (``WasiConfig.inherit_stdio()`` or the fields below change that).
"""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .cli import InputStream, OutputStream, make_input, make_output

__all__ = ["WasiConfig", "WasiCtx", "Preopen", "NetworkPolicy", "Exit"]


class Exit(Exception):  # noqa: N818 - it is how a guest exits, not an error
    """Raised by ``wasi:cli/exit``: the guest asked to end with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the guest exited with status {code}")
        self.code = code


@dataclass(frozen=True)
class Preopen:
    """A host directory the guest sees as ``guest_path``; ``read_only`` refuses every write."""

    host_path: str
    guest_path: str
    read_only: bool = False


Protocol = Literal["tcp", "udp"]


@dataclass
class NetworkPolicy:
    """Which network operations a guest may make.

    ``tcp``, ``udp`` and ``ip_name_lookup`` are separate grants, all off by default. ``allow``
    narrows the granted protocols to some addresses: entries are ``"CIDR"`` or
    ``"CIDR:PORT"`` or ``"CIDR:LO-HI"`` (IPv6 in brackets: ``"[::1]:8080"``); ``None`` means
    any address. Bind, connect and send addresses are all checked; the OS's implicit bind
    before a connect or send needs only the grant, while ``listen`` on an unbound socket binds
    the wildcard address, which the list must allow. Accepted connections and datagrams from
    peers no entry covers (whatever the port) are dropped (``permits_peer``).
    """

    tcp: bool = False
    udp: bool = False
    ip_name_lookup: bool = False
    allow: Sequence[str] | None = None
    _rules: list[tuple[Any, int, int]] | None = field(default=None, init=False, repr=False)

    @classmethod
    def inherit(cls) -> NetworkPolicy:
        """Everything: TCP, UDP and name lookup, to any address."""
        return cls(tcp=True, udp=True, ip_name_lookup=True)

    def _parsed(self) -> list[tuple[Any, int, int]]:
        if self._rules is None:
            self._rules = [_parse_rule(r) for r in (self.allow or ())]
        return self._rules

    def permits(self, protocol: Protocol, ip: str, port: int) -> bool:
        if not (self.tcp if protocol == "tcp" else self.udp):
            return False
        if self.allow is None:
            return True
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        for net, lo, hi in self._parsed():
            if addr.version == net.version and addr in net and lo <= port <= hi:
                return True
        return False

    def permits_peer(self, protocol: Protocol, ip: str) -> bool:
        """Whether a peer at ``ip`` (any port) may reach the guest: accepted connections and
        received datagrams from addresses no ``allow`` entry covers are dropped."""
        if not (self.tcp if protocol == "tcp" else self.udp):
            return False
        if self.allow is None:
            return True
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == net.version and addr in net for net, _, _ in self._parsed())


def _parse_rule(rule: str) -> tuple[Any, int, int]:
    text = rule.strip()
    port_part = ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_part = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_part = text.partition(":")
    else:
        host = text
    net = ipaddress.ip_network(host, strict=False)
    if not port_part:
        return net, 0, 65535
    lo_s, _, hi_s = port_part.partition("-")
    lo, hi = int(lo_s), int(hi_s or lo_s)
    if not 0 <= lo <= hi <= 65535:
        raise ValueError(f"bad port range in network rule {rule!r}")
    return net, lo, hi


StdioSpec = Any
"""``None`` (nothing: empty stdin, discarded output), ``"inherit"`` (this process's own fd),
``"capture"`` (outputs only: kept in memory, see ``WasiCtx.captured``), ``bytes`` (stdin
only), a file object, or an async iterable of ``bytes`` (stdin only)."""


@dataclass
class WasiConfig:
    """Everything a guest may see of the host. Defaults grant nothing."""

    args: Sequence[str] = ()
    env: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    cwd: str | None = None
    preopens: Sequence[Preopen] = ()
    stdin: StdioSpec = None
    stdout: StdioSpec = None
    stderr: StdioSpec = None
    network: NetworkPolicy = field(default_factory=NetworkPolicy)
    #: Seed for ``wasi:random/insecure-seed`` (random per context when None).
    insecure_seed: tuple[int, int] | None = None

    def inherit_stdio(self) -> WasiConfig:
        self.stdin = self.stdout = self.stderr = "inherit"
        return self

    def inherit_env(self) -> WasiConfig:
        self.env = dict(os.environ)
        return self

    def preopen(self, host_path: str | os.PathLike[str], guest_path: str,
                read_only: bool = False) -> WasiConfig:
        self.preopens = [*self.preopens, Preopen(os.fspath(host_path), guest_path, read_only)]
        return self


class WasiCtx:
    """The state of one WASI guest (or several sharing it): made from a ``WasiConfig``.

    Both front ends read it: ``args``, ``env``, ``cwd``, ``preopens``, ``stdin``/``stdout``/
    ``stderr`` (``InputStream``/``OutputStream`` backends), ``network``, ``secure_random``/
    ``insecure_random``/``insecure_seed``, and ``exit_code`` once the guest called exit.
    """

    def __init__(self, config: WasiConfig) -> None:
        self.config = config
        self.args: list[str] = [str(a) for a in config.args]
        env = config.env.items() if isinstance(config.env, Mapping) else config.env
        self.env: list[tuple[str, str]] = [(str(k), str(v)) for k, v in env]
        self.cwd = config.cwd
        self.preopens: list[Preopen] = list(config.preopens)
        self.stdin: InputStream = make_input(config.stdin)
        self.stdout: OutputStream = make_output(config.stdout, 1)
        self.stderr: OutputStream = make_output(config.stderr, 2)
        self.network = config.network
        self.insecure_random = random.Random()
        seed = config.insecure_seed
        if seed is None:
            seed = (random.getrandbits(64), random.getrandbits(64))
        self.insecure_seed: tuple[int, int] = seed
        self.exit_code: int | None = None

    @staticmethod
    def secure_random(n: int) -> bytes:
        return os.urandom(n)

    def captured(self, which: Literal["stdout", "stderr"]) -> bytes:
        """What a ``"capture"`` output received."""
        out = self.stdout if which == "stdout" else self.stderr
        return out.getvalue()

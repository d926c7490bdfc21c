"""Command-line grants, spelled as Wasmtime's (``--dir``, ``--env``, ``-S``), as a ``WasiConfig``.

``-S`` names wasmloop does not implement are refused by name (unless turned off with ``=n``);
names that only select Wasmtime implementations wasmloop always has (``cli``, ``p3``,
``preview2``, ``cli-exit-with-code``, …) are accepted and change nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .ctx import NetworkPolicy, Preopen, WasiConfig

__all__ = ["WasiOptions", "parse_s_flags", "parse_dir", "config_from_options", "OptionError"]


class OptionError(ValueError):
    """A bad ``--dir``/``--env``/``-S`` flag."""


#: ``-S`` flags that are booleans wasmloop implements.
_BOOL_FLAGS = {
    "inherit-network", "allow-ip-name-lookup", "tcp", "udp", "inherit-env",
    "inherit-stdin", "inherit-stdout", "inherit-stderr",
}
#: Accepted, no effect: wasmloop always provides these.
_ALWAYS = {"cli", "common", "p3", "preview2", "cli-exit-with-code", "network-error-code",
           "http"}
#: Flags with a value handled elsewhere (limits) or here.
_VALUED = {"cwd", "max-component-handles", "max-random-size"}
#: Wasmtime's, not implemented by wasmloop.
_UNSUPPORTED = {"nn", "threads", "config", "keyvalue", "listenfd", "tcplisten", "tls",
                "preview0", "nn-graph", "config-var", "keyvalue-in-memory-data",
                "max-resources", "hostcall-fuel", "http-outgoing-body-buffer-chunks",
                "http-outgoing-body-chunk-size", "max-http-fields-size"}

_TRUE = {"", "y", "yes", "true", "on", "1"}
_FALSE = {"n", "no", "false", "off", "0"}


@dataclass
class WasiOptions:
    bools: dict[str, bool] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)


def parse_s_flags(flags: Iterable[str]) -> WasiOptions:
    """``-S NAME[=VALUE]`` flags (each may hold several, comma-separated, as Wasmtime's)."""
    out = WasiOptions()
    for flag in flags:
        for part in flag.split(","):
            name, eq, value = part.strip().partition("=")
            if not name:
                continue
            if name in _BOOL_FLAGS or name in _ALWAYS:
                v = value.lower()
                if v in _TRUE:
                    out.bools[name] = True
                elif v in _FALSE:
                    out.bools[name] = False
                else:
                    raise OptionError(f"-S {name}: expected y or n, got {value!r}")
            elif name in _VALUED:
                if not eq:
                    raise OptionError(f"-S {name} needs a value (-S {name}=…)")
                out.values[name] = value
            elif name in _UNSUPPORTED:
                if value.lower() not in _FALSE:
                    raise OptionError(f"-S {name} is not supported by wasmloop")
            else:
                raise OptionError(f"unknown -S option `{name}` (see `wasmtime run -S help` for "
                                  "the names wasmloop accepts)")
    return out


def parse_dir(spec: str, read_only: bool = False) -> Preopen:
    """``HOST[::GUEST]`` (the guest path defaults to the host path, as in Wasmtime)."""
    host, sep, guest = spec.partition("::")
    if not host:
        raise OptionError(f"--dir {spec!r}: no host directory")
    if not sep:
        guest = host
    if not os.path.isdir(host):
        raise OptionError(f"--dir {spec!r}: `{host}` is not a directory")
    return Preopen(host, guest, read_only)


def _env(specs: Iterable[str], inherit: bool) -> list[tuple[str, str]]:
    env: dict[str, str] = dict(os.environ) if inherit else {}
    for spec in specs:
        name, eq, value = spec.partition("=")
        if not name:
            raise OptionError(f"--env {spec!r}: no variable name")
        if eq:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return list(env.items())


def config_from_options(
    *,
    args: Sequence[str],
    dirs: Iterable[str] = (),
    readonly_dirs: Iterable[str] = (),
    envs: Iterable[str] = (),
    s_flags: Iterable[str] = (),
    inherit_env: bool = False,
    allow_tcp: bool = False,
    allow_udp: bool = False,
    allow_ip_name_lookup: bool = False,
) -> WasiConfig:
    """The ``WasiConfig`` a ``wasmloop run`` command line asks for.

    Network: ``-S inherit-network`` grants TCP and UDP to every address (``-S tcp=n`` /
    ``-S udp=n`` take one back), as Wasmtime's defaults do; ``-S tcp``, ``-S udp`` and
    ``--allow-tcp``/``--allow-udp`` grant one protocol on their own; name lookup needs
    ``-S allow-ip-name-lookup`` (or ``--allow-ip-name-lookup``)."""
    opts = parse_s_flags(s_flags)
    b = opts.bools
    inherit_net = b.get("inherit-network", False)
    tcp = allow_tcp or b.get("tcp", inherit_net)
    udp = allow_udp or b.get("udp", inherit_net)
    if b.get("tcp") is False:
        tcp = False
    if b.get("udp") is False:
        udp = False
    network = NetworkPolicy(tcp=tcp, udp=udp,
                            ip_name_lookup=allow_ip_name_lookup or b.get("allow-ip-name-lookup",
                                                                         False))
    preopens = [parse_dir(d) for d in dirs] + [parse_dir(d, True) for d in readonly_dirs]
    return WasiConfig(
        args=list(args),
        env=_env(envs, inherit_env or b.get("inherit-env", False)),
        cwd=opts.values.get("cwd"),
        preopens=preopens,
        stdin="inherit" if b.get("inherit-stdin", True) else None,
        stdout="inherit" if b.get("inherit-stdout", True) else None,
        stderr="inherit" if b.get("inherit-stderr", True) else None,
        network=network,
    )

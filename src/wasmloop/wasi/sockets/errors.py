"""``SocketError``: a WASI sockets error code, and the mapping from OS errors to codes.

Codes are the case names of ``wasi:sockets/types@0.3.0`` ``error-code`` (``access-denied``,
``invalid-state``, …, ``other``) and, for name lookup, of ``ip-name-lookup`` ``error-code``
(``name-unresolvable``, ``permanent-resolver-failure``, …). The 0.2 front end renames the few
that 0.2 spells differently (``other`` is ``unknown`` there). The errno mapping is Wasmtime's
(crates/wasi/src/sockets/mod.rs), so guests see the same codes under both hosts.
"""

from __future__ import annotations

import errno

__all__ = ["SocketError", "from_os_error", "code_of_errno", "ERROR_CODES", "LOOKUP_ERROR_CODES"]

#: ``wasi:sockets/types`` ``error-code`` cases (0.3).
ERROR_CODES = frozenset({
    "access-denied", "not-supported", "invalid-argument", "out-of-memory", "timeout",
    "invalid-state", "address-not-bindable", "address-in-use", "remote-unreachable",
    "connection-refused", "connection-broken", "connection-reset", "connection-aborted",
    "datagram-too-large", "other",
})

#: ``wasi:sockets/ip-name-lookup`` ``error-code`` cases (0.3).
LOOKUP_ERROR_CODES = frozenset({
    "access-denied", "invalid-argument", "name-unresolvable", "temporary-resolver-failure",
    "permanent-resolver-failure", "other",
})


class SocketError(Exception):
    """A sockets operation failed with WIT error code ``code`` (a case name, see the module
    docs); ``detail`` says what happened, for people (``other`` carries it to the guest)."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def _errno_table() -> dict[int, str]:
    pairs = [
        ("EPERM", "access-denied"), ("EACCES", "access-denied"),
        ("EADDRINUSE", "address-in-use"), ("EADDRNOTAVAIL", "address-not-bindable"),
        ("ETIMEDOUT", "timeout"), ("EPIPE", "connection-broken"),
        ("ECONNREFUSED", "connection-refused"), ("ECONNRESET", "connection-reset"),
        ("ECONNABORTED", "connection-aborted"), ("EINVAL", "invalid-argument"),
        ("EHOSTUNREACH", "remote-unreachable"), ("EHOSTDOWN", "remote-unreachable"),
        ("ENETDOWN", "remote-unreachable"), ("ENETUNREACH", "remote-unreachable"),
        ("ENONET", "remote-unreachable"), ("EISCONN", "invalid-state"),
        ("ENOTCONN", "invalid-state"), ("EDESTADDRREQ", "invalid-state"),
        ("EMSGSIZE", "datagram-too-large"), ("ENOMEM", "out-of-memory"),
        ("ENOBUFS", "out-of-memory"), ("EOPNOTSUPP", "not-supported"),
        ("ENOPROTOOPT", "not-supported"), ("EPFNOSUPPORT", "not-supported"),
        ("EPROTONOSUPPORT", "not-supported"), ("EPROTOTYPE", "not-supported"),
        ("ESOCKTNOSUPPORT", "not-supported"), ("EAFNOSUPPORT", "not-supported"),
    ]
    table: dict[int, str] = {}
    for name, code in pairs:
        num = getattr(errno, name, None)
        if num is not None:
            table.setdefault(num, code)
    return table


_ERRNO = _errno_table()


def code_of_errno(num: int | None) -> str:
    """The 0.3 error code for an errno (``other`` when there is none)."""
    if num is None:
        return "other"
    return _ERRNO.get(num, "other")


def from_os_error(exc: BaseException) -> SocketError:
    """The ``SocketError`` for an exception raised by a socket call."""
    if isinstance(exc, SocketError):
        return exc
    if isinstance(exc, OSError):
        code = code_of_errno(exc.errno)
        if code == "other" and isinstance(exc, PermissionError):
            code = "access-denied"
        return SocketError(code, exc.strerror or str(exc))
    return SocketError("other", str(exc) or type(exc).__name__)

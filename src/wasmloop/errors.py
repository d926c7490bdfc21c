"""Errors raised by wasmloop.

Every failure a user can cause (bad bytes, a bad link, a guest trap) surfaces as one of these,
never as an IndexError or a crashed process.
"""

from __future__ import annotations


class WasmloopError(Exception):
    """Base class of every error wasmloop raises on purpose."""


class DecodeError(WasmloopError):
    """The bytes are not a well-formed component or module.

    ``offset`` is the byte offset at which decoding failed.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.reason = message
        if offset is not None:
            message = f"{message} (at offset 0x{offset:x})"
        super().__init__(message)


class ValidationError(WasmloopError):
    """The component decodes but breaks a validation rule of the spec."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.offset = offset
        self.reason = message
        if offset is not None:
            message = f"{message} (at offset 0x{offset:x})"
        super().__init__(message)


class LinkError(WasmloopError):
    """An import could not be satisfied, or was satisfied with a value of the wrong type."""


class Trap(WasmloopError):
    """A guest (or the canonical ABI on its behalf) trapped.

    The component instance the trap happened in is poisoned: later calls into it raise
    ``Trap`` with "cannot enter component instance".
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InstantiationError(WasmloopError):
    """Instantiation failed for a reason other than a trap or a link error."""


class Cancelled(WasmloopError):
    """A call was cancelled before the callee produced a result."""

"""Error contexts (CanonicalABI.md 📝 ``canon error-context.*``).

An ``ErrorContext`` is an immutable value with a debug message. Handles to it live in a
component instance's table; lifting one out of a table leaves the handle in place (the value
is shared, not moved), lowering one adds a new handle. The host sees ``ErrorContext`` objects
and may make its own (``ErrorContext("message")``) to pass into components.

The spec lets ``error-context.new`` drop the message nondeterministically; like Wasmtime 49 we
always keep it.
"""

from __future__ import annotations

import struct
from typing import Any

from ..abi.strings import string_loader, string_storer
from ..errors import Trap
from .copy import make_context

__all__ = [
    "ErrorContext",
    "error_context_new",
    "error_context_debug_message",
    "error_context_drop",
    "lift_error_context",
    "lower_error_context",
]

_stPAIR = struct.Struct("<II").pack_into


class ErrorContext:
    """An error-context value: ``debug_message`` is what the component (or host) said."""

    __slots__ = ("debug_message",)

    def __init__(self, debug_message: str = "") -> None:
        self.debug_message = debug_message

    def __repr__(self) -> str:
        return f"ErrorContext({self.debug_message!r})"


def _get(inst: Any, i: int) -> ErrorContext:
    e = inst.handles.get(i)
    if type(e) is not ErrorContext:
        raise Trap("handle is not an error-context")
    return e


def error_context_new(inst: Any, memory: Any, string_encoding: str = "utf8") -> tuple[Any, bool]:
    """``canon error-context.new``: ``(i32 ptr, i32 tagged_code_units) -> i32``."""
    load = string_loader(string_encoding)

    def handler(_caller: Any, ptr: int, units: int) -> int:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        if memory is None:
            raise Trap("canonical ABI needs a memory but none was given")
        msg = load(memory.view(), ptr, units)
        return inst.handles.add(ErrorContext(msg))

    return handler, False


def error_context_debug_message(inst: Any, memory: Any, realloc: Any,
                                string_encoding: str = "utf8") -> tuple[Any, bool]:
    """``canon error-context.debug-message``: ``(i32 handle, i32 ptr) -> ()``; stores the
    message as a string (pointer, length) at ``ptr``, allocated with ``realloc``."""
    store = string_storer(string_encoding)
    cx = make_context(inst, memory, realloc)

    def handler(_caller: Any, i: int, ptr: int) -> None:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        e = _get(inst, i)
        ptr &= 0xFFFF_FFFF
        if ptr + 8 > len(cx.view()):
            raise Trap("invalid debug message pointer: out of bounds")
        sp, n = store(cx, e.debug_message)
        _stPAIR(cx.view(), ptr, sp, n)

    return handler, False


def error_context_drop(inst: Any) -> tuple[Any, bool]:
    """``canon error-context.drop``: ``(i32) -> ()``."""
    handles = inst.handles

    def handler(_caller: Any, i: int) -> None:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        _get(inst, i)
        handles.remove(i)

    return handler, False


def lift_error_context(cx: Any, i: int) -> ErrorContext:
    return _get(cx.inst, i)


def lower_error_context(cx: Any, v: Any) -> int:
    if not isinstance(v, ErrorContext):
        raise TypeError(f"expected a wasmloop.ErrorContext, got {type(v).__name__}")
    return cx.inst.handles.add(v)


#: op name → factory over a ``canon.BuiltinEnv`` (see ``stream.BUILTINS``).
BUILTINS: dict[str, Any] = {
    "error-context.new": lambda env: error_context_new(env.inst, env.memory,
                                                       env.string_encoding),
    "error-context.debug-message": lambda env: error_context_debug_message(
        env.inst, env.memory, env.realloc, env.string_encoding),
    "error-context.drop": lambda env: error_context_drop(env.inst),
}

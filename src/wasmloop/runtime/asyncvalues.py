"""Streams, futures and error contexts as the rest of the runtime sees them: the ABI's
lift/lower hooks and the canon built-in factories, gathered from the modules that implement
them (``stream``, ``future``, ``error_context``)."""

from __future__ import annotations

from typing import Any

from .error_context import BUILTINS as _EC_BUILTINS
from .error_context import lift_error_context, lower_error_context
from .future import BUILTINS as _FUTURE_BUILTINS
from .future import lift_future, lower_future
from .stream import BUILTINS as _STREAM_BUILTINS
from .stream import lift_stream, lower_stream

__all__ = [
    "BUILTINS",
    "lift_stream",
    "lower_stream",
    "lift_future",
    "lower_future",
    "lift_error_context",
    "lower_error_context",
]

#: op name → built-in factory (see ``canon.BUILTINS``), for streams, futures, error contexts.
BUILTINS: dict[str, Any] = {**_STREAM_BUILTINS, **_FUTURE_BUILTINS, **_EC_BUILTINS}

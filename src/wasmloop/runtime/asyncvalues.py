"""Lifting and lowering of streams, futures and error contexts (the ABI's hooks), delegated to
the modules that implement them."""

from __future__ import annotations

from typing import Any

from ..errors import Trap


def _unsupported(*_: Any) -> Any:
    raise Trap("streams, futures and error contexts are not supported yet")


lift_stream = lower_stream = lift_future = lower_future = _unsupported
lift_error_context = lower_error_context = _unsupported

#: op name → built-in factory (see ``canon.BUILTINS``), for streams, futures, error contexts.
BUILTINS: dict[str, Any] = {}

"""Comparing value types across component instances.

Value types compare structurally, except resource types, which each component names by its own
static ``ResourceType``: the same runtime resource is ``r`` in the component that defines it
and a different static type in one that imports it. ``runtime_type_key(t, inst)`` replaces
every resource in ``t`` by the runtime resource it denotes in ``inst``, so that keys of two
instances' types are equal exactly when the types are the same at run time (what the spec's
type checks of stream and future ends compare).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from ..types import BorrowType, OwnType, ResourceType

__all__ = ["runtime_type_key"]


@lru_cache(maxsize=4096)
def _has_resource(t: Any) -> bool:
    if isinstance(t, OwnType | BorrowType | ResourceType):
        return True
    if isinstance(t, tuple):
        return any(_has_resource(x) for x in t)
    fields = getattr(type(t), "__dataclass_fields__", None)
    if not fields:
        return False
    return any(_has_resource(getattr(t, f)) for f in fields)


def runtime_type_key(t: Any, inst: Any) -> Any:
    """``t`` with its resource types replaced by ``inst``'s runtime resources (``t`` itself
    when it has none, which is the common case)."""
    if t is None or inst is None or not _has_resource(t):
        return t
    return _map(t, inst)


def _map(t: Any, inst: Any) -> Any:
    if isinstance(t, ResourceType):
        return inst.resources.get(t, t)
    if isinstance(t, tuple):
        return tuple(_map(x, inst) for x in t)
    fields = getattr(type(t), "__dataclass_fields__", None)
    if not fields or not _has_resource(t):
        return t
    return dataclasses.replace(t, **{f: _map(getattr(t, f), inst) for f in fields})

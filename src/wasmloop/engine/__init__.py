"""The engine layer: the only part of wasmloop that touches wasmtime.

wasmtime runs core modules only. Every guest call is a wasmtime async call future (a fiber):
a host import defined with ``can_suspend=True`` may return a :class:`Pending`, which suspends
the guest's fiber until a later ``CallFuture.poll()`` finds it ready.

Conventions: i32/i64 values given to Python (call results, host-function arguments) are
unsigned; values from Python may be signed or unsigned. f32/f64 are Python floats.
"""

from ._engine import CoreEngine, CoreModule, default_cache_dir
from ._store import (
    CallFuture,
    CoreFunc,
    CoreInstance,
    Extern,
    Global,
    HostFunc,
    InstanceFuture,
    Memory,
    Pending,
    Store,
    Table,
    Tag,
)
from ._types import FuncType, GlobalType, MemoryType, TableType, TagType, ValKind

__all__ = [
    "CallFuture",
    "CoreEngine",
    "CoreFunc",
    "CoreInstance",
    "CoreModule",
    "Extern",
    "FuncType",
    "Global",
    "GlobalType",
    "HostFunc",
    "InstanceFuture",
    "Memory",
    "MemoryType",
    "Pending",
    "Store",
    "Table",
    "TableType",
    "Tag",
    "TagType",
    "ValKind",
    "default_cache_dir",
]

"""The canonical ABI: layout, lifting and lowering, string transcoding.

Everything here is compiled once per type (or function type) and static options; the
returned closures do no type dispatch at call time. See ``func.FuncABI`` for the per-call
entry points, ``layout`` for sizes/alignment/flattening and ``strings`` for transcoding.

The runtime supplies a context ``cx`` with ``view() -> memoryview`` (the guest memory, current),
``realloc(old_ptr, old_size, align, new_size) -> int`` and the resource/stream/future/
error-context hooks ``lift_own(rt, i)``, ``lift_borrow(rt, i)``, ``lower_own(rt, obj)``,
``lower_borrow(rt, obj)``, ``lift_stream(t, i)``, ``lower_stream(t, obj)``, ``lift_future(t, i)``,
``lower_future(t, obj)``, ``lift_error_context(i)``, ``lower_error_context(obj)``.

Python value mapping: see ``wasmloop.values``; in addition 🗺️ ``map<K, V>`` lifts to a ``dict``
and lowers from any ``Mapping`` (or an iterable of pairs), and 🔧 ``list<T, N>`` is a ``list``
(``bytes`` for ``u8``) of exactly N elements.
"""

from __future__ import annotations

from . import layout, strings
from .func import (
    CanonOpts,
    FuncABI,
    compile_lift_flat,
    compile_load,
    compile_lower_flat,
    compile_store,
)
from .strings import EncodedStr

__all__ = [
    "layout",
    "strings",
    "CanonOpts",
    "FuncABI",
    "EncodedStr",
    "compile_load",
    "compile_store",
    "compile_lift_flat",
    "compile_lower_flat",
]

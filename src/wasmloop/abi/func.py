"""Per-function ABI: the core signatures of ``canon lift``/``canon lower`` (and the async
variants and ``task.return``), and the compiled code that moves a call's arguments and results
across the boundary (the spec's ``flatten_functype``, ``lift_flat_values`` and
``lower_flat_values``).

A ``FuncABI`` is built once per (function type, static options) when a component is loaded. Its
call-time entry points are plain closures stored on the instance, generated (on first use) for
the exact number of parameters, so a call costs a few attribute loads and the per-type
lifters/lowerers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any

from wasmloop import types as T
from wasmloop.errors import Trap

from .._dataclass import dataclass
from . import layout
from .lift import lifter
from .lower import lowerer
from .strings import ENCODINGS, realloc_checked

__all__ = [
    "CanonOpts",
    "FuncABI",
    "compile_load",
    "compile_store",
    "compile_lift_flat",
    "compile_lower_flat",
]

_M32 = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class CanonOpts:
    """The static canon options that shape the ABI. The memory and the realloc function
    themselves are reached through the context at call time."""

    string_encoding: str = "utf8"
    memory: bool = False
    realloc: bool = False

    def __post_init__(self) -> None:
        if self.string_encoding not in ENCODINGS:
            raise ValueError(f"unknown string encoding {self.string_encoding!r}")


_DEFAULT = CanonOpts()


def _checker(size: int, align: int, what: str) -> Callable[[memoryview, int], None]:
    amask = align - 1

    def check(mem: memoryview, ptr: int) -> None:
        if ptr & amask:
            raise Trap(f"unaligned pointer: {what} pointer not aligned")
        if ptr + size > len(mem):
            raise Trap(f"out of bounds memory access: {what} pointer out of bounds of memory")

    return check


def compile_load(
    t: T.ValType, opts: CanonOpts = _DEFAULT, *, keep_string_encoding: bool = False
) -> Callable[[Any, int], Any]:
    """``(cx, ptr) -> value``: load a ``t`` at ``ptr`` (traps if misaligned or out of bounds)."""
    lf = lifter(t, opts.string_encoding, keep_string_encoding)
    load, size, amask = lf.load, lf.size, lf.align - 1

    def load_at(cx: Any, ptr: int) -> Any:
        ptr &= _M32
        mem = cx.view()
        if ptr & amask:
            raise Trap("unaligned pointer: load pointer not aligned")
        if ptr + size > len(mem):
            raise Trap("out of bounds memory access: load pointer out of bounds of memory")
        return load(cx, mem, ptr)

    return load_at


def compile_store(t: T.ValType, opts: CanonOpts = _DEFAULT) -> Callable[[Any, Any, int], None]:
    """``(cx, value, ptr) -> None``: store a ``t`` at ``ptr`` (traps if misaligned or out of
    bounds; TypeError/ValueError if the value does not fit ``t``)."""
    lw = lowerer(t, opts.string_encoding)
    store, size, amask = lw.store, lw.size, lw.align - 1

    def store_at(cx: Any, v: Any, ptr: int) -> None:
        ptr &= _M32
        mem = cx.view()
        if ptr & amask:
            raise Trap("unaligned pointer: store pointer not aligned")
        if ptr + size > len(mem):
            raise Trap("out of bounds memory access: store pointer out of bounds of memory")
        store(cx, mem, v, ptr)

    return store_at


def compile_lift_flat(
    t: T.ValType, opts: CanonOpts = _DEFAULT, *, keep_string_encoding: bool = False
) -> Callable[[Any, Sequence[Any], int], tuple[Any, int]]:
    """``(cx, core_values, start) -> (value, next_index)``."""
    lf = lifter(t, opts.string_encoding, keep_string_encoding)
    flat, width = lf.flat, lf.width

    def lift_flat(cx: Any, vals: Sequence[Any], i: int = 0) -> tuple[Any, int]:
        if i + width > len(vals):
            raise TypeError(f"expected {width} core values from index {i}, got {len(vals) - i}")
        return flat(cx, vals, i), i + width

    return lift_flat


def compile_lower_flat(t: T.ValType, opts: CanonOpts = _DEFAULT) -> Callable[[Any, Any], list[Any]]:
    """``(cx, value) -> [core values]``."""
    flat = lowerer(t, opts.string_encoding).flat

    def lower_flat(cx: Any, v: Any) -> list[Any]:
        out: list[Any] = []
        flat(cx, v, out)
        return out

    return lower_flat


# --- lists of values (params, results) -----------------------------------------------------


def _arity_error(what: str, n: int, got: Sequence[Any]) -> TypeError:
    return TypeError(f"expected {n} {what}, got {len(got)}")


#: Compiled sources by text: a component's functions share a few dozen shapes (one code
#: object each; every function made from it has its own namespace).
_CODE: dict[str, CodeType] = {}


def _gen(name: str, src: str, ns: dict[str, Any]) -> Callable[..., Any]:
    code = _CODE.get(src)
    if code is None:
        code = _CODE[src] = compile(src, f"<wasmloop.abi {name}>", "exec")
    exec(code, ns)  # noqa: S102
    return ns[name]  # type: ignore[no-any-return]


def _values_lowerer(
    ts: tuple[T.ValType, ...], max_flat: int, enc: str
) -> Callable[[Any, Sequence[Any]], list[Any]]:
    """``(cx, values) -> core values``; spills to a fresh allocation past ``max_flat``."""
    n = len(ts)
    lws = [lowerer(t, enc) for t in ts]
    width = sum(lw.width for lw in lws)
    ns: dict[str, Any] = {"_arity": _arity_error, "_realloc": realloc_checked}
    names = ", ".join(f"a{k}" for k in range(n))
    unpack = f"    {names}, = args\n" if n else ""
    if width <= max_flat:
        body = "".join(f"    f{k}(cx, a{k}, out)\n" for k in range(n))
        for k, lw in enumerate(lws):
            ns[f"f{k}"] = lw.flat
        src = (
            "def lower_values(cx, args):\n"
            f"    if len(args) != {n}:\n        raise _arity('arguments', {n}, args)\n"
            f"{unpack}    out = []\n{body}    return out\n"
        )
        return _gen("lower_values", src, ns)
    tt = T.TupleType(ts)
    size, align = layout.elem_size(tt), layout.alignment(tt)
    offs = layout.field_offsets(T.despecialize(tt))
    body = ""
    for k, (lw, off) in enumerate(zip(lws, offs, strict=True)):
        ns[f"s{k}"] = lw.store
        body += f"    s{k}(cx, mem, a{k}, ptr + {off})\n"
        if lw.calls_out and k < n - 1:
            body += "    mem = cx.view()\n"
    src = (
        "def lower_values(cx, args):\n"
        f"    if len(args) != {n}:\n        raise _arity('arguments', {n}, args)\n"
        f"{unpack}    ptr = _realloc(cx, 0, 0, {align}, {size})\n    mem = cx.view()\n"
        f"{body}    return [ptr]\n"
    )
    return _gen("lower_values", src, ns)


def _values_lifter(
    ts: tuple[T.ValType, ...], max_flat: int, enc: str, keep: bool, what: str
) -> Callable[[Any, Sequence[Any]], list[Any]]:
    """``(cx, core values) -> values``; loads through a pointer past ``max_flat``."""
    n = len(ts)
    lfs = [lifter(t, enc, keep) for t in ts]
    width = sum(lf.width for lf in lfs)
    ns: dict[str, Any] = {"_Trap": Trap}
    if width <= max_flat:
        items = []
        i = 0
        for k, lf in enumerate(lfs):
            ns[f"f{k}"] = lf.flat
            items.append(f"f{k}(cx, core, {i})")
            i += lf.width
        src = (
            "def lift_values(cx, core):\n"
            f"    if len(core) < {width}:\n"
            f"        raise TypeError('expected {width} core values, got %d' % len(core))\n"
            f"    return [{', '.join(items)}]\n"
        )
        return _gen("lift_values", src, ns)
    tt = T.TupleType(ts)
    size, align = layout.elem_size(tt), layout.alignment(tt)
    offs = layout.field_offsets(T.despecialize(tt))
    body = ""
    for k, (lf, off) in enumerate(zip(lfs, offs, strict=True)):
        ns[f"l{k}"] = lf.load
        body += f"    v{k} = l{k}(cx, mem, ptr + {off})\n"
        if lf.calls_out and k < n - 1:
            body += "    mem = cx.view()\n"
    src = (
        "def lift_values(cx, core):\n"
        "    ptr = core[0] & 0xFFFFFFFF\n    mem = cx.view()\n"
        f"    if ptr & {align - 1}:\n"
        f"        raise _Trap('unaligned pointer: {what} pointer not aligned')\n"
        f"    if ptr + {size} > len(mem):\n        raise _Trap('out of bounds memory access: "
        f"{what} pointer out of bounds of memory')\n"
        f"{body}    return [{', '.join(f'v{k}' for k in range(n))}]\n"
    )
    return _gen("lift_values", src, ns)


def _result_storer(
    t: T.ValType, enc: str, what: str
) -> Callable[[Any, Any, int], None]:
    """``(cx, value, ptr)``: store a result through a guest-provided pointer (checked)."""
    lw = lowerer(t, enc)
    store, size, amask = lw.store, lw.size, lw.align - 1

    def store_result(cx: Any, v: Any, ptr: int) -> None:
        ptr &= _M32
        mem = cx.view()
        if ptr & amask:
            raise Trap(f"unaligned pointer: {what} pointer not aligned")
        if ptr + size > len(mem):
            raise Trap(f"out of bounds memory access: {what} pointer out of bounds of memory")
        store(cx, mem, v, ptr)

    return store_result


class FuncABI:
    """The canonical ABI of one component function type under one set of static options.

    Export side (the host calls a ``canon lift``-ed guest function):
      ``lower_params(cx, args) -> core args`` and ``lift_results(cx, core results) -> value``.
    Import side (the guest calls a ``canon lower``-ed import):
      ``lift_params(cx, core args) -> [values]`` and
      ``lower_results(cx, value, core args) -> core results``.
    Async (🔀): ``lift_params_async(cx, core args)`` (an async-lowered call's params, at most 4
      flat), ``store_result_async(cx, value, core args)`` (writes the result through the
      out-pointer that follows the params) and ``lift_task_return(cx, core args) -> value``.

    Results are the function's single result value (``None`` when it has none).
    """

    MAX_FLAT_PARAMS = layout.MAX_FLAT_PARAMS
    MAX_FLAT_RESULTS = layout.MAX_FLAT_RESULTS
    MAX_FLAT_ASYNC_PARAMS = layout.MAX_FLAT_ASYNC_PARAMS

    def __init__(
        self, ft: T.FuncType, opts: CanonOpts = _DEFAULT, *, keep_string_encoding: bool = False
    ) -> None:
        self.ft = ft
        self.opts = opts
        enc = opts.string_encoding
        ps = ft.param_types
        rs = ft.result_types
        fp = layout.flatten_types(ps)
        fr = layout.flatten_types(rs)
        self.flat_params: tuple[str, ...] = fp
        self.flat_results: tuple[str, ...] = fr
        self.params_spilled = len(fp) > layout.MAX_FLAT_PARAMS
        self.results_spilled = len(fr) > layout.MAX_FLAT_RESULTS
        self.async_params_spilled = len(fp) > layout.MAX_FLAT_ASYNC_PARAMS

        lift_params = fp if not self.params_spilled else ("i32",)
        self.core_type_lift = T.CoreFuncType(
            lift_params, fr if not self.results_spilled else ("i32",)
        )
        if self.results_spilled:
            self.core_type_lower = T.CoreFuncType((*lift_params, "i32"), ())
        else:
            self.core_type_lower = T.CoreFuncType(lift_params, fr)
        self.core_type_lift_async_callback = T.CoreFuncType(lift_params, ("i32",))
        self.core_type_lift_async_stackful = T.CoreFuncType(lift_params, ())
        async_params = fp if not self.async_params_spilled else ("i32",)
        self.core_type_lower_async = T.CoreFuncType(
            (*async_params, "i32") if fr else async_params, ("i32",)
        )
        self.core_type_task_return = T.CoreFuncType(
            fr if len(fr) <= layout.MAX_FLAT_PARAMS else ("i32",), ()
        )

        # The call-time entry points (and the per-type lifters and lowerers they use) are
        # made on first use (``__getattr__``): most functions are only ever lowered or only
        # lifted, and generating code costs more than the rest of instantiating a component.
        # A type the ABI cannot handle has already failed in ``flatten_types`` above.
        self._enc = enc
        self._keep = keep_string_encoding

    lower_params: Callable[[Any, Sequence[Any]], list[Any]]
    lift_params: Callable[[Any, Sequence[Any]], list[Any]]
    lift_params_async: Callable[[Any, Sequence[Any]], list[Any]]
    lift_results: Callable[[Any, Sequence[Any]], Any]
    lower_results: Callable[[Any, Any, Sequence[Any]], list[Any]]
    store_result_async: Callable[[Any, Any, Sequence[Any]], list[Any]]
    lift_task_return: Callable[[Any, Sequence[Any]], Any]

    def __getattr__(self, name: str) -> Any:
        # Only called for a missing attribute: a call-time entry point not made yet.
        make = _MAKERS.get(name)
        if make is None:
            raise AttributeError(f"'FuncABI' object has no attribute {name!r}")
        value = make(self)
        setattr(self, name, value)
        return value

    def _make_lower_params(self) -> Callable[[Any, Sequence[Any]], list[Any]]:
        return _values_lowerer(self.ft.param_types, layout.MAX_FLAT_PARAMS, self._enc)

    def _make_lift_params(self) -> Callable[[Any, Sequence[Any]], list[Any]]:
        return _values_lifter(self.ft.param_types, layout.MAX_FLAT_PARAMS, self._enc,
                              self._keep, "params")

    def _make_lift_params_async(self) -> Callable[[Any, Sequence[Any]], list[Any]]:
        return _values_lifter(self.ft.param_types, layout.MAX_FLAT_ASYNC_PARAMS, self._enc,
                              self._keep, "params")

    def _make_lift_results(self) -> Callable[[Any, Sequence[Any]], Any]:
        rt = self.ft.result
        if rt is None:
            return _no_result
        if not self.results_spilled:
            lf = lifter(rt, self._enc, self._keep)
            rflat = lf.flat
            rwidth = lf.width

            def lift_results(cx: Any, core: Sequence[Any]) -> Any:
                if len(core) != rwidth:
                    raise TypeError(f"expected {rwidth} core results, got {len(core)}")
                return rflat(cx, core, 0)

            return lift_results
        load_result = _values_lifter((rt,), layout.MAX_FLAT_RESULTS, self._enc, self._keep,
                                     "return")

        def lift_results_spilled(cx: Any, core: Sequence[Any]) -> Any:
            return load_result(cx, core)[0]

        return lift_results_spilled

    def _make_lower_results(self) -> Callable[[Any, Any, Sequence[Any]], list[Any]]:
        rt = self.ft.result
        if rt is None:
            return _lower_no_result
        if not self.results_spilled:
            rlower = lowerer(rt, self._enc).flat

            def lower_results(cx: Any, v: Any, core_args: Sequence[Any]) -> list[Any]:
                out: list[Any] = []
                rlower(cx, v, out)
                return out

            return lower_results
        store_out = _result_storer(rt, self._enc, "return")

        def lower_results_spilled(cx: Any, v: Any, core_args: Sequence[Any]) -> list[Any]:
            store_out(cx, v, core_args[-1])
            return []

        return lower_results_spilled

    def _make_store_result_async(self) -> Callable[[Any, Any, Sequence[Any]], list[Any]]:
        rt = self.ft.result
        if rt is None:
            return _lower_no_result
        store_async = _result_storer(rt, self._enc, "return")
        out_index = 1 if self.async_params_spilled else len(self.flat_params)

        def store_result_async(cx: Any, v: Any, core_args: Sequence[Any]) -> list[Any]:
            store_async(cx, v, core_args[out_index])
            return []

        return store_result_async

    def _make_lift_task_return(self) -> Callable[[Any, Sequence[Any]], Any]:
        rt = self.ft.result
        if rt is None:
            return _no_result
        task_return = _values_lifter((rt,), layout.MAX_FLAT_PARAMS, self._enc, self._keep,
                                     "task.return")

        def lift_task_return(cx: Any, core: Sequence[Any]) -> Any:
            return task_return(cx, core)[0]

        return lift_task_return

    def __repr__(self) -> str:
        return f"FuncABI({self.ft!r}, {self.opts!r})"


_MAKERS: dict[str, Callable[[FuncABI], Any]] = {
    "lower_params": FuncABI._make_lower_params,
    "lift_params": FuncABI._make_lift_params,
    "lift_params_async": FuncABI._make_lift_params_async,
    "lift_results": FuncABI._make_lift_results,
    "lower_results": FuncABI._make_lower_results,
    "store_result_async": FuncABI._make_store_result_async,
    "lift_task_return": FuncABI._make_lift_task_return,
}


def _no_result(cx: Any, core: Sequence[Any]) -> None:
    return None


def _lower_no_result(cx: Any, v: Any, core_args: Sequence[Any]) -> list[Any]:
    return []

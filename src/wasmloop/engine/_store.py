"""Stores, instances, externs, host functions and call futures (fibers)."""

from __future__ import annotations

import functools
import struct
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .. import errors
from . import _capi
from ._engine import CoreEngine, CoreModule
from ._types import (
    TO_WASM,
    TO_WASMTIME,
    FuncType,
    GlobalType,
    MemoryType,
    TableType,
    ValKind,
    codec,
)

_PRIVATE_MODULE = b"wasmloop:private"
#: Epoch ticks beyond now for "no deadline" (centuries of ticks; no overflow when added).
_NO_DEADLINE = 1 << 62
_UNLIMITED_FUEL = (1 << 63) - 1


class Pending:
    """Returned by a ``can_suspend`` host function that cannot finish at once.

    ``poll()`` is called on the guest's fiber each time the outer call future is polled; it
    returns ``Pending.NOT_READY`` to keep the guest suspended, or the host function's results
    (``None``, a value, or a tuple) to resume it. An exception raised by ``poll`` traps the
    guest. ``cancel()`` (optional) is called if the call future is closed while this is still
    pending. Either pass callables (``Pending(poll, cancel)``) or subclass and override.
    """

    NOT_READY = _capi.NOT_READY

    def __init__(
        self, poll: Callable[[], Any] | None = None, cancel: Callable[[], Any] | None = None
    ):
        if poll is not None:
            self.poll = poll  # type: ignore[method-assign]
        if cancel is not None:
            self.cancel = cancel  # type: ignore[method-assign]

    def poll(self) -> Any:
        raise NotImplementedError

    def cancel(self) -> None:
        return None


HostFunc = Callable[..., Any]
"""A host function handler: ``handler(caller, *args) -> None | value | tuple | Pending``."""


def _dead(*_a: Any) -> Any:
    raise RuntimeError("store is closed")


class Store:
    """A wasmtime store: owns everything created in it; ``close()`` frees it."""

    def __init__(self, engine: CoreEngine) -> None:
        self.engine = engine
        self._ptr, self._ctx = _capi.store_new(engine._ptr)
        self._vctx = _capi.vp(self._ctx)
        self._linker = _capi.linker_new(engine._ptr)
        self._entries: list[_capi.HostEntry] = []
        self._envs: list[int] = []
        self._futures: set[_Future] = set()
        self._memories: list[Memory] = []
        self._proxy = weakref.proxy(self)
        self.closed = False
        self._ticking = False
        if engine.epoch_interruption:
            # wasmtime's default deadline is the current epoch: every call would trap at once.
            _capi.wasmtime_context_set_epoch_deadline(self._ctx, _NO_DEADLINE)
        if engine.consume_fuel:
            _capi.check(_capi.wasmtime_context_set_fuel(self._ctx, _UNLIMITED_FUEL))

    # -- limits ------------------------------------------------------------------------------
    def set_deadline(self, seconds: float | None) -> None:
        """Wasm code in this store traps ``wasm trap: interrupt`` once ``seconds`` have passed
        (``None``: never). Needs an engine made with ``epoch_interruption=True``."""
        self._check_open()
        ticker = self.engine.ticker
        if ticker is None:
            raise ValueError("a deadline needs an engine with epoch_interruption=True")
        if seconds is None:
            _capi.wasmtime_context_set_epoch_deadline(self._ctx, _NO_DEADLINE)
            if self._ticking:
                self._ticking = False
                ticker.release()
            return
        _capi.wasmtime_context_set_epoch_deadline(self._ctx, ticker.ticks_for(max(0.0, seconds)))
        if not self._ticking:
            self._ticking = True
            ticker.acquire()

    def set_fuel(self, fuel: int) -> None:
        """Gives the store ``fuel`` units (about one per wasm instruction); running out traps
        ``wasm trap: all fuel consumed by WebAssembly``. Needs ``consume_fuel=True``."""
        self._check_open()
        if not self.engine.consume_fuel:
            raise ValueError("fuel needs an engine with consume_fuel=True")
        if fuel < 0:
            raise ValueError("fuel must not be negative")
        _capi.check(_capi.wasmtime_context_set_fuel(self._ctx, min(int(fuel), _UNLIMITED_FUEL)))

    def get_fuel(self) -> int:
        self._check_open()
        out = _capi.Buffer(8)
        _capi.check(_capi.wasmtime_context_get_fuel(self._ctx, out.addr))
        return _capi.read_u64(out.addr)

    def set_limits(
        self,
        *,
        memory_size: int | None = None,
        table_elements: int | None = None,
        instances: int | None = None,
        tables: int | None = None,
        memories: int | None = None,
    ) -> None:
        """wasmtime's store limiter: ``memory_size`` bytes per linear memory (``memory.grow``
        past it returns -1; a larger minimum fails instantiation), ``table_elements`` per
        table, and counts of core instances, tables and memories (``None``: wasmtime's
        default). Call before instantiating anything in the store."""
        self._check_open()

        def v(x: int | None) -> int:
            if x is None:
                return -1
            if x < 0:
                raise ValueError("store limits must not be negative")
            return min(int(x), (1 << 63) - 1)

        _capi.wasmtime_store_limiter(
            self._ptr, v(memory_size), v(table_elements), v(instances), v(tables), v(memories)
        )

    # ----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self.closed:
            return
        for fut in list(self._futures):
            if fut._state == 1:
                raise RuntimeError("cannot close a store while one of its calls is running")
        self.closed = True
        if self._ticking:
            self._ticking = False
            self.engine.ticker.release()  # type: ignore[union-attr]
        for fut in list(self._futures):
            fut.close()
        self._futures.clear()
        for mem in self._memories:
            mem._release()
        self._memories.clear()
        _capi.wasmtime_linker_delete(self._linker)
        _capi.wasmtime_store_delete(self._ptr)
        self._linker = self._ptr = self._ctx = 0
        for env in self._envs:
            _capi.host_entries.pop(env, None)
        self._envs.clear()
        self._entries.clear()

    def __del__(self) -> None:
        try:
            if not getattr(self, "closed", True):
                self.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("store is closed")

    # ----------------------------------------------------------------------------------------
    def host_func(self, functype: FuncType, handler: HostFunc, *, can_suspend: bool) -> CoreFunc:
        """Wraps ``handler(caller, *args)`` as a core function of this store.

        ``caller`` is a weak proxy of this Store. Integer arguments arrive unsigned."""
        self._check_open()
        c = codec(functype)
        call = functools.partial(handler, self._proxy)
        wasm_ft = self.engine._functypes.get(functype)
        if wasm_ft is None:
            wasm_ft = self.engine._functypes[functype] = _capi.functype_ptr(
                self.engine._ptr, tuple(TO_WASM[k] for k in functype.params),
                tuple(TO_WASM[k] for k in functype.results))
        if can_suspend:
            entry = _capi.HostEntry(
                call,
                c.val_unpack_params,
                c.val_params_size,
                c.val_pack_results,
                c.val_results_size,
                Pending,
            )
        else:
            entry = _capi.HostEntry(
                call,
                c.raw_unpack_params,
                c.raw_params_size,
                c.raw_pack_results,
                c.raw_results_size,
                Pending,
            )
        env = _capi.register_host(entry)
        self._entries.append(entry)
        self._envs.append(env)
        ext = _capi.Buffer(_capi.EXTERN_SIZE)
        ext.mv[0] = _capi.EXT_FUNC
        if can_suspend:
            name = f"f{env}".encode()
            _capi.define_async_func(self._linker, _PRIVATE_MODULE, name, wasm_ft, env)
            if not _capi.linker_get_func(self._linker, self._ctx, _PRIVATE_MODULE, name, ext.addr):
                raise errors.WasmloopError("could not create an async host function")
        else:
            _capi.new_sync_func(self._ctx, wasm_ft, env, ext.addr + _capi.EXTERN_PAYLOAD)
        return CoreFunc(self, ext, functype)

    # ----------------------------------------------------------------------------------------
    def call_async(self, func: CoreFunc, args: Sequence[int | float] = ()) -> CallFuture:
        """Starts a call on a new fiber; nothing runs until the first ``poll()``."""
        if func._store is not self:
            raise ValueError("function belongs to another store")
        if self.closed:
            raise RuntimeError("store is closed")
        c = func._codec or func._make_codec()
        pool = c.frames
        frame = pool.pop() if pool else _Frame(c)
        c.pack_args(frame.mv, args)
        frame.func = func  # wasmtime reads the function at the first poll
        f = CallFuture(
            self,
            _fast_call_async(
                self._vctx,
                func._vaddr or func._make_vaddr(),
                frame.args,
                c.vnparams,
                frame.results,
                c.vnresults,
                frame.trap,
                frame.err,
            ),
            frame,
        )
        self._futures.add(f)
        return f

    def call(
        self, func: CoreFunc, args: Sequence[int | float] = (), *, max_polls: int = 100
    ) -> tuple:
        """Runs a call to completion; raises RuntimeError if it stays suspended."""
        fut = self.call_async(func, args)
        for _ in range(max_polls):
            if fut.poll():
                return fut.result()
        fut.close()
        raise RuntimeError(f"call suspended and was not resumed after {max_polls} polls")

    # ----------------------------------------------------------------------------------------
    def instantiate_async(
        self, module: CoreModule, imports: Sequence[Extern] = ()
    ) -> InstanceFuture:
        self._check_open()
        if module.engine is not self.engine:
            raise errors.LinkError("module was compiled by another engine")
        if len(imports) != len(module.imports):
            raise errors.LinkError(
                f"module expects {len(module.imports)} imports, got {len(imports)}"
            )
        define, linker, ctx = _capi.wasmtime_linker_define, self._linker, self._ctx
        for key, ext in zip(module.import_keys(), imports, strict=True):
            if ext.__class__ not in _EXTERN_TYPES and not isinstance(ext, Extern) \
                    or ext._store is not self:
                self._bad_import(module, key, ext)
            err = define(linker, ctx, key[0], key[1], key[2], key[3], ext._addr - _PAYLOAD)
            if err:
                raise errors.LinkError(_capi.take_error_message(err))
        cells = _capi.Buffer(16 + _capi.INSTANCE_SIZE)
        fut = _capi.wasmtime_linker_instantiate_async(
            self._linker, self._ctx, module._ptr, cells.addr + 16, cells.addr, cells.addr + 8
        )
        f = InstanceFuture(self, fut, cells, module)
        self._futures.add(f)
        return f

    def _bad_import(self, module: CoreModule, key: tuple[bytes, int, bytes, int],
                    ext: Any) -> None:
        i = module.import_keys().index(key)
        mod, name, kind, _ty = module.imports[i]
        if not isinstance(ext, Extern):
            raise errors.LinkError(f"import {mod}::{name}: expected a {kind}, got {ext!r}")
        raise errors.LinkError(f"import {mod}::{name}: value belongs to another store")

    def instantiate(
        self, module: CoreModule, imports: Sequence[Extern] = (), *, max_polls: int = 100
    ) -> CoreInstance:
        fut = self.instantiate_async(module, imports)
        for _ in range(max_polls):
            if fut.poll():
                return fut.result()
        fut.close()
        raise RuntimeError("instantiation suspended (a start function waited) and was not resumed")


# --------------------------------------------------------------------------------------------
# Futures

_fast_call_async = _capi.fast_call_async
_fast_poll = _capi.fast_poll
_fast_delete = _capi.fast_delete
_fast_memory_data_size = _capi.fast_memory_data_size


class _Frame:
    """Argument/result cells of one in-flight call: [args][trap*, error*][results]."""

    __slots__ = ("buf", "mv", "args", "trap", "err", "results", "codec", "pool", "func")

    def __init__(self, c: Any) -> None:
        self.codec = c
        self.pool = c.frames
        self.func = None
        if c.vnparams is None:
            c.vnparams = _capi.sz(c.nparams)
            c.vnresults = _capi.sz(c.nresults)
        self.buf = b = _capi.Buffer(c.args_size + 16 + c.results_size)
        self.mv = b.mv
        self.args = _capi.vp(b.addr)
        self.trap = _capi.vp(b.addr + c.args_size)
        self.err = _capi.vp(b.addr + c.args_size + 8)
        self.results = _capi.vp(b.addr + c.args_size + 16)


_PENDING, _POLLING, _DONE = 0, 1, 2


#: Wasmtime's message for a wasm stack overflow.
STACK_EXHAUSTED = "wasm trap: call stack exhausted"
#: Fibers that may be running one inside another (guest → host → guest …).
MAX_NESTED_CALLS = 48
_nested = 0


class _Future:
    __slots__ = ("_store", "_fut", "_state", "_result", "_exc", "__weakref__")

    def poll(self) -> bool:
        """Runs the fiber until it suspends or finishes; True when finished.

        A poll from inside another fiber (a host function that calls a guest) nests; past
        ``MAX_NESTED_CALLS`` the call ends at once with ``wasm trap: call stack exhausted``
        (each level holds Python frames: Python's recursion limit must not be what stops it).
        """
        global _nested
        state = self._state
        if state == 0:
            if _nested >= MAX_NESTED_CALLS:
                self.close()
                self._exc = errors.Trap(STACK_EXHAUSTED)
                return True
            self._state = 1
            _nested += 1
            try:
                done = _fast_poll(self._fut)
            finally:
                _nested -= 1
            if done:
                self._finish()
                return True
            self._state = 0
            return False
        if state == 2:
            return True
        raise RuntimeError("call future polled re-entrantly (from inside its own fiber)")

    @property
    def done(self) -> bool:
        return self._state == 2

    def result(self) -> Any:
        if self._state != 2:
            raise RuntimeError("call has not finished")
        if self._exc is not None:
            raise self._exc
        return self._result

    def close(self) -> None:
        """Cancels an unfinished call: its fiber unwinds; the store stays usable."""
        if self._state == 2:
            return
        if self._state == 1:
            raise RuntimeError("cannot close a call future while it is being polled")
        fut, self._fut = self._fut, None
        self._state = 2
        self._exc = errors.Cancelled("call was cancelled")
        _fast_delete(fut)
        self._store._futures.discard(self)
        self._release()

    def _release(self) -> None:
        pass

    def _finish(self) -> None:
        raise NotImplementedError


class CallFuture(_Future):
    """A guest call running on a fiber. ``poll()``, then ``result()`` (tuple or Trap)."""

    __slots__ = ("_frame",)

    def __init__(self, store: Store, fut: Any, frame: _Frame) -> None:
        self._store = store
        self._fut = fut
        self._frame = frame
        self._state = 0
        self._exc = None

    def _finish(self) -> None:
        frame = self._frame
        c = frame.codec
        vals = c.unpack_results(frame.mv, c.args_size)
        _fast_delete(self._fut)
        self._fut = None
        self._state = 2
        self._store._futures.discard(self)
        frame.func = None
        frame.pool.append(frame)
        self._frame = None
        if vals[0]:
            self._exc = _trap(_capi.take_trap_message(vals[0]))
        elif vals[1]:
            self._exc = _trap(_capi.take_error_message(vals[1]))
        else:
            self._result = vals[2:]

    def _release(self) -> None:
        frame = self._frame
        frame.func = None
        frame.pool.append(frame)
        self._frame = None


class InstanceFuture(_Future):
    """An instantiation running on a fiber (its start function may suspend)."""

    __slots__ = ("_cells", "_module")

    def __init__(self, store: Store, fut: int, cells: _capi.Buffer, module: CoreModule) -> None:
        self._store = store
        self._fut = fut
        self._cells = cells
        self._module = module
        self._state = 0
        self._result = None
        self._exc = None

    def _finish(self) -> None:
        trap, err = struct.unpack_from("<QQ", self._cells.mv)
        _fast_delete(self._fut)
        self._fut = None
        self._state = 2
        self._store._futures.discard(self)
        if trap:
            self._exc = _trap(_capi.take_trap_message(trap))
        elif err:
            msg = _capi.take_error_message(err)
            cls = errors.LinkError if "import" in msg else errors.InstantiationError
            self._exc = cls(msg)
        else:
            self._result = CoreInstance(self._store, self._module, self._cells)


# --------------------------------------------------------------------------------------------
# Instances and externs


class Extern:
    """Base of CoreFunc, Memory, Table, Global: a store item backed by a wasmtime_extern_t."""

    __slots__ = ("_store", "_ext", "_addr", "_vaddr", "__weakref__")

    def __init__(self, store: Store, ext: Any, ext_addr: int | None = None) -> None:
        """``ext`` holds the ``wasmtime_extern_t`` at ``ext_addr`` (a Buffer of its own, or
        one shared by a core instance's exports; ``ext.addr`` if not given)."""
        self._store = store
        self._ext = ext
        self._addr = (ext.addr if ext_addr is None else ext_addr) + _capi.EXTERN_PAYLOAD
        self._vaddr: Any = None  # a c_void_p of _addr, made at the first use

    def _make_vaddr(self) -> Any:
        self._vaddr = _capi.vp(self._addr)
        return self._vaddr

    @property
    def store(self) -> Store:
        return self._store


class CoreFunc(Extern):
    """A core function (guest export, host function, or table element)."""

    __slots__ = ("type", "_codec")

    def __init__(self, store: Store, ext: Any, functype: FuncType | None = None,
                 ext_addr: int | None = None) -> None:
        super().__init__(store, ext, ext_addr)
        if functype is None:
            functype = FuncType._from_wasm(_capi.func_type_kinds(store._ctx, self._addr))
        self.type = functype
        self._codec = None

    def _make_codec(self) -> Any:
        self._codec = codec(self.type)
        return self._codec

    def _raw(self) -> bytes:
        return _capi.string_at(self._addr, _capi.FUNC_SIZE)

    def __repr__(self) -> str:
        return f"<CoreFunc {self.type}>"


class Memory(Extern):
    """A linear memory. ``view()`` is a zero-copy memoryview (format 'B') of all of it."""

    __slots__ = ("data_ptr", "_len", "_view", "_ctx", "_old", "type")

    def __init__(self, store: Store, ext: _capi.Buffer) -> None:
        super().__init__(store, ext)
        self._ctx = store._ctx
        self.data_ptr: int = _capi.wasmtime_memory_data(self._ctx, self._addr) or 0
        self.type = MemoryType(*_capi.memory_type_info(self._ctx, self._addr))
        self._len = -1
        self._view: memoryview = memoryview(b"")
        self._old: list[memoryview] = []
        store._memories.append(self)

    @property
    def data_len(self) -> int:
        if not self._ctx:
            raise RuntimeError("store is closed")
        return _capi.memory_data_size(self._ctx, self._addr)

    @property
    def size_pages(self) -> int:
        if not self._ctx:
            raise RuntimeError("store is closed")
        return _capi.wasmtime_memory_size(self._ctx, self._addr)

    def view(self) -> memoryview:
        """The whole memory; the same object while the memory has not grown."""
        if not self._ctx:
            raise RuntimeError("store is closed")
        n = _fast_memory_data_size(self._store._vctx, self._vaddr or self._make_vaddr())
        if n != self._len:
            self._refresh(n)
        return self._view

    def ensure(self, n: int) -> memoryview:
        """A view covering at least ``n`` bytes (no C call when the cached one does)."""
        if n <= self._len:
            return self._view
        v = self.view()
        if n > self._len:
            raise errors.Trap(f"memory access out of bounds ({n} > {self._len})")
        return v

    def _refresh(self, n: int) -> None:
        # The base never moves (memory_may_move=False): old views stay valid, only shorter.
        if self._len >= 0:
            self._old.append(self._view)
        self._view = _capi.view_at(self.data_ptr, n) if n else memoryview(bytearray())
        self._len = n

    def grow(self, pages: int) -> int:
        """Grows by ``pages``; returns the previous size in pages."""
        if not self._ctx:
            raise RuntimeError("store is closed")
        out = _capi.Buffer(8)
        _capi.check(_capi.wasmtime_memory_grow(self._ctx, self._addr, pages, out.addr), errors.Trap)
        return _capi.read_u64(out.addr)

    def _release(self) -> None:
        self._ctx = 0
        for v in [*self._old, self._view]:
            try:
                v.release()
            except (BufferError, ValueError):
                pass
        self._old = []
        self._view = memoryview(b"")
        self._len = -1


def _val_buffer() -> _capi.Buffer:
    return _capi.Buffer(_capi.VAL_SIZE)


_NUM_CODE = {ValKind.I32: "<I", ValKind.I64: "<Q", ValKind.F32: "<f", ValKind.F64: "<d"}
_NUM_MASK = {ValKind.I32: 0xFFFFFFFF, ValKind.I64: 0xFFFFFFFFFFFFFFFF}


def _read_val(store: Store, kind: ValKind, buf: _capi.Buffer) -> Any:
    if kind in _NUM_CODE:
        return struct.unpack_from(_NUM_CODE[kind], buf.mv, _capi.VAL_PAYLOAD)[0]
    if kind is ValKind.FUNCREF:
        store_id = struct.unpack_from("<Q", buf.mv, _capi.VAL_PAYLOAD)[0]
        if store_id == 0:
            return None
        ext = _capi.Buffer(_capi.EXTERN_SIZE)
        ext.mv[0] = _capi.EXT_FUNC
        p = _capi.EXTERN_PAYLOAD
        ext.mv[p : p + _capi.FUNC_SIZE] = buf.mv[
            _capi.VAL_PAYLOAD : _capi.VAL_PAYLOAD + _capi.FUNC_SIZE
        ]
        return CoreFunc(store, ext)
    raise NotImplementedError(f"values of type {kind} are not supported yet")


def _write_val(store: Store, kind: ValKind, value: Any, buf: _capi.Buffer) -> None:
    buf.mv[0] = TO_WASMTIME[kind]
    if kind in _NUM_CODE:
        if kind in _NUM_MASK:
            value = int(value) & _NUM_MASK[kind]
        struct.pack_into(_NUM_CODE[kind], buf.mv, _capi.VAL_PAYLOAD, value)
    elif kind is ValKind.FUNCREF:
        p = _capi.VAL_PAYLOAD
        if value is None:
            buf.mv[p : p + _capi.FUNC_SIZE] = bytes(_capi.FUNC_SIZE)
        elif isinstance(value, CoreFunc) and value._store is store:
            buf.mv[p : p + _capi.FUNC_SIZE] = value._raw()
        else:
            raise TypeError(f"expected a CoreFunc of this store or None, got {value!r}")
    else:
        raise NotImplementedError(f"values of type {kind} are not supported yet")


class Table(Extern):
    """A table (funcref elements supported)."""

    __slots__ = ("type",)

    def __init__(self, store: Store, ext: _capi.Buffer) -> None:
        super().__init__(store, ext)
        elem, lo, hi = _capi.table_type_info(store._ctx, self._addr)
        from ._types import valkind_from_wasm

        self.type = TableType(valkind_from_wasm(elem), lo, hi)

    def size(self) -> int:
        self._store._check_open()
        return _capi.wasmtime_table_size(self._store._ctx, self._addr)

    def get(self, index: int) -> Any:
        self._store._check_open()
        buf = _val_buffer()
        if not _capi.wasmtime_table_get(self._store._ctx, self._addr, index, buf.addr):
            raise IndexError(f"table index {index} out of bounds")
        return _read_val(self._store, self.type.element, buf)

    def set(self, index: int, value: Any) -> None:
        self._store._check_open()
        buf = _val_buffer()
        _write_val(self._store, self.type.element, value, buf)
        _capi.check(
            _capi.wasmtime_table_set(self._store._ctx, self._addr, index, buf.addr), IndexError
        )

    def grow(self, delta: int, init: Any = None) -> int:
        self._store._check_open()
        buf = _val_buffer()
        _write_val(self._store, self.type.element, init, buf)
        out = _capi.Buffer(8)
        _capi.check(
            _capi.wasmtime_table_grow(self._store._ctx, self._addr, delta, buf.addr, out.addr),
            errors.Trap,
        )
        return _capi.read_u64(out.addr)


class Global(Extern):
    __slots__ = ("type",)

    def __init__(self, store: Store, ext: Any, type: GlobalType | None = None,
                 ext_addr: int | None = None) -> None:
        super().__init__(store, ext, ext_addr)
        if type is None:
            kind, mutable = _capi.global_type_info(store._ctx, self._addr)
            from ._types import valkind_from_wasm

            type = GlobalType(valkind_from_wasm(kind), mutable)
        self.type = type

    def get(self) -> Any:
        self._store._check_open()
        buf = _val_buffer()
        _capi.wasmtime_global_get(self._store._ctx, self._addr, buf.addr)
        return _read_val(self._store, self.type.content, buf)

    def set(self, value: Any) -> None:
        self._store._check_open()
        if not self.type.mutable:
            raise errors.WasmloopError("global is immutable")
        buf = _val_buffer()
        _write_val(self._store, self.type.content, value, buf)
        _capi.check(_capi.wasmtime_global_set(self._store._ctx, self._addr, buf.addr))


class Tag(Extern):
    __slots__ = ()


_export_get = _capi.wasmtime_instance_export_get
_PAYLOAD = _capi.EXTERN_PAYLOAD
_EXTERN_SIZE = _capi.EXTERN_SIZE

_EXTERN_CLASSES: dict[int, type[Extern]] = {
    _capi.EXT_FUNC: CoreFunc,
    _capi.EXT_MEMORY: Memory,
    _capi.EXT_TABLE: Table,
    _capi.EXT_GLOBAL: Global,
    _capi.EXT_TAG: Tag,
}


#: The classes of extern values (a fast membership test before the isinstance fallback).
_EXTERN_TYPES = frozenset(_EXTERN_CLASSES.values())


class CoreInstance:
    """An instance of a core module in a store.

    ``exports`` is a mapping whose values are fetched from wasmtime on first use: a module
    such as an interpreter's may export thousands of functions of which a component uses a
    few, and wrapping every one at instantiation would cost more than the instantiation."""

    def __init__(self, store: Store, module: CoreModule, cells: _capi.Buffer) -> None:
        self.store = store
        self.module = module
        self._cells = cells  # holds the wasmtime_instance_t at offset 16
        self._slab: _capi.Buffer | None = None
        self.exports = CoreExports(self)

    def _fetch(self, name: str) -> Extern | None:
        module = self.module
        nb = module._export_keys.get(name)
        if nb is None:
            nb = module._export_keys[name] = name.encode()
        slab = self._slab
        if slab is None:
            # one buffer for the wasmtime_extern_t of every export (an interpreter's module
            # has thousands): no buffer object per export
            slab = self._slab = _capi.Buffer(_EXTERN_SIZE * len(module._export_kinds))
        at = module.export_index(name) * _EXTERN_SIZE
        if not _export_get(self.store._ctx, self._cells.addr + 16, nb, len(nb), slab.addr + at):
            return None
        kind = slab.mv[at]
        if kind == _capi.EXT_FUNC:
            return CoreFunc(self.store, slab, module.export_type(name), slab.addr + at)
        if kind == _capi.EXT_GLOBAL:
            return Global(self.store, slab, module.export_type(name), slab.addr + at)
        cls = _EXTERN_CLASSES.get(kind)
        if cls is None:
            return None  # shared memories: not supported yet
        ext = _capi.Buffer(_EXTERN_SIZE)
        ext.mv[:] = slab.mv[at:at + _EXTERN_SIZE]
        return cls(self.store, ext)

    def export(self, name: str) -> Extern:
        try:
            return self.exports[name]
        except KeyError:
            raise KeyError(f"instance has no export named {name!r}") from None

    def __repr__(self) -> str:
        return f"<CoreInstance exports={list(self.exports)}>"


class CoreExports(Mapping[str, "Extern"]):
    """The exports of a ``CoreInstance`` by name, wrapped on first use."""

    __slots__ = ("_inst", "_cache", "_names")

    def __init__(self, inst: CoreInstance) -> None:
        self._inst = inst
        self._cache: dict[str, Extern] = {}
        self._names = inst.module._export_kinds

    def __getitem__(self, name: str) -> Extern:
        v = self._cache.get(name)
        if v is None:
            if name not in self._names:
                raise KeyError(name)
            v = self._inst._fetch(name)
            if v is None:
                raise KeyError(name)
            self._cache[name] = v
        return v

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _trap(message: str) -> errors.Trap:
    """A call's ``Trap``, chained to the host exception that caused it, if any."""
    if "thrown Wasm exception" in message:
        # a core exception nobody caught: it must not unwind past the component (Wasmtime 49)
        message = f"uncaught exception propagated out of component\n\nCaused by:\n{message}"
    trap = errors.Trap(message)
    cause = _capi.host_error_for(message)
    if cause is not None:
        trap.__cause__ = cause
    return trap

"""Component functions and calls: ``canon lift``, ``canon lower``, host functions.

A component-level function value (the ``func`` sort) is a ``ComponentFunc``. Calling one
produces a ``Call``: a small state machine polled by whoever drives the guest thread (the host
coroutine at the top, or the fiber of a calling guest). ``poll()`` returns True once the call
has finished; ``result`` then holds its value. A call that cannot finish yet has recorded what
it waits on in the current ``GuestThread``.

Values cross every function boundary as Python values (``wasmloop.values``): a call from
component A into component B lifts from A's memory and lowers into B's, as the spec's
``canon_lower``/``canon_lift`` pair does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..engine import CoreFunc, Memory, Pending
from ..errors import Trap
from ..types import FuncType, ResourceType, contains_borrow
from . import thread as _thread
from .resource import Resource, ResourceHandle, RuntimeResource, check_rt
from .task import Subtask, Task

if TYPE_CHECKING:
    from ..abi import FuncABI
    from .instance import ComponentInstance

__all__ = [
    "ComponentFunc",
    "LiftedFunc",
    "HostFunc",
    "Call",
    "CallContext",
    "lower_import",
    "run_destructor",
]

NOT_READY = Pending.NOT_READY


# ---------------------------------------------------------------------------------------------
# The lift/lower context the ABI layer calls back into


class CallContext:
    """``LiftLowerContext``: the memory, realloc, instance and borrow scope of one side of a
    call, plus the resource hooks the ABI's own/borrow lifters and lowerers delegate to."""

    __slots__ = ("inst", "memory", "realloc_func", "borrow_scope")

    def __init__(
        self,
        inst: ComponentInstance,
        memory: Memory | None,
        realloc_func: CoreFunc | None,
        borrow_scope: Task | Subtask | None,
    ) -> None:
        self.inst = inst
        self.memory = memory
        self.realloc_func = realloc_func
        self.borrow_scope = borrow_scope

    def view(self) -> memoryview:
        mem = self.memory
        if mem is None:
            raise Trap("canonical ABI needs a memory but none was given")
        return mem.view()

    def realloc(self, old_ptr: int, old_size: int, align: int, new_size: int) -> int:
        f = self.realloc_func
        if f is None:
            raise Trap("canonical ABI needs a realloc function but none was given")
        inst = self.inst
        inst.may_leave = False
        try:
            (ptr,) = call_core_sync(inst, f, (old_ptr, old_size, align, new_size))
        finally:
            inst.may_leave = True
        return ptr & 0xFFFFFFFF

    # -- resources ------------------------------------------------------------------------

    def lift_own(self, rt: ResourceType, i: int) -> Any:
        inst = self.inst
        rrt = inst.runtime_resource(rt)
        h = check_rt(inst.handles.remove(i), rrt, i)
        if h.num_lends != 0:
            raise Trap("cannot remove owned resource while borrowed")
        if not h.own:
            raise Trap("cannot lift own resource from a borrow")
        return h.rep if rrt.impl is None else Resource(rrt, h.rep, True)

    def lift_borrow(self, rt: ResourceType, i: int) -> Any:
        inst = self.inst
        rrt = inst.runtime_resource(rt)
        h = check_rt(inst.handles.get(i), rrt, i)
        scope = self.borrow_scope
        if isinstance(scope, Subtask):
            scope.add_lender(h)
        return h.rep if rrt.impl is None else Resource(rrt, h.rep, False)

    def lower_own(self, rt: ResourceType, value: Any) -> int:
        inst = self.inst
        rrt = inst.runtime_resource(rt)
        rep = _unwrap(rrt, value, take=True)
        return inst.handles.add(ResourceHandle(rrt, rep, True))

    def lower_borrow(self, rt: ResourceType, value: Any) -> int:
        inst = self.inst
        rrt = inst.runtime_resource(rt)
        rep = _unwrap(rrt, value, take=False)
        if rrt.impl is inst:
            return rep
        scope = self.borrow_scope
        h = ResourceHandle(rrt, rep, False, scope if isinstance(scope, Task) else None)
        if isinstance(scope, Task):
            scope.num_borrows += 1
        return inst.handles.add(h)

    # -- async values: the next layer ---------------------------------------------------------

    def _no_async(self, *_: Any) -> Any:
        raise Trap("streams, futures and error contexts are not supported yet")

    lift_stream = lower_stream = lift_future = lower_future = _no_async
    lift_error_context = lower_error_context = _no_async


def _unwrap(rrt: RuntimeResource, value: Any, take: bool) -> Any:
    if isinstance(value, Resource):
        if value.rt is not rrt:
            raise TypeError(f"expected a resource of type {rrt.name!r}, got {value!r}")
        return value._take() if take else value._check()
    if rrt.impl is None:
        return value
    raise TypeError(
        f"expected a wasmloop.Resource of type {rrt.name!r} (a guest-defined resource), "
        f"got {type(value).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# Calls


class Call:
    """One call in progress. ``poll()`` → True when finished; then ``result`` is set.

    (Subclasses declare the ``result`` slot, so one can also derive from ``CallContext``.)"""

    __slots__ = ()

    result: Any

    def poll(self) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Abandon the call (the caller was cancelled or trapped)."""


class _Done(Call):
    __slots__ = ("result",)

    def __init__(self, result: Any) -> None:
        self.result = result

    def poll(self) -> bool:
        return True


class _CoroCall(Call):
    """A host ``async def`` stepped in place (see ``thread.CoroutineStep``)."""

    __slots__ = ("step", "result")

    def __init__(self, coro: Any) -> None:
        self.step = _thread.CoroutineStep(coro, _identity)

    def poll(self) -> bool:
        r = self.step.poll()
        if r is NOT_READY:
            return False
        self.result = r
        return True

    def close(self) -> None:
        self.step.close()


def _identity(x: Any) -> Any:
    return x


class ComponentFunc:
    """A function value of the component model (the ``func`` sort)."""

    __slots__ = ("type", "name")

    type: FuncType
    name: str

    def start(self, args: Sequence[Any]) -> Call:
        raise NotImplementedError

    #: True if a call can never suspend the calling guest (lets ``canon lower`` use the
    #: engine's cheaper non-suspending import path).
    never_suspends: bool = False


class HostFunc(ComponentFunc):
    """A Python function (``def`` or ``async def``) given to a component as an import."""

    __slots__ = ("fn", "is_async_def")

    def __init__(self, ft: FuncType, fn: Callable[..., Any], name: str = "") -> None:
        self.type = ft
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", "host function")
        self.is_async_def = inspect.iscoroutinefunction(fn)

    @property
    def never_suspends(self) -> bool:  # type: ignore[override]
        return not self.is_async_def

    def start(self, args: Sequence[Any]) -> Call:
        r = self.fn(*args)
        if inspect.iscoroutine(r):
            return _CoroCall(r)
        return _Done(r)


class LiftedFunc(ComponentFunc):
    """``canon lift``: a core function of a component instance, callable as a component
    function. Synchronous lifts only in this layer."""

    __slots__ = (
        "inst", "core_func", "abi", "memory", "realloc_func", "post_return", "_needs_task",
        "_lower_params", "_call_async",
    )

    def __init__(
        self,
        inst: ComponentInstance,
        core_func: CoreFunc,
        ft: FuncType,
        abi: FuncABI,
        memory: Memory | None,
        realloc_func: CoreFunc | None,
        post_return: CoreFunc | None,
        name: str = "",
    ) -> None:
        self.inst = inst
        self.core_func = core_func
        self.type = ft
        self.abi = abi
        self.memory = memory
        self.realloc_func = realloc_func
        self.post_return = post_return
        self.name = name
        # The task only counts the borrows lent to the callee through its parameters: with no
        # borrow in the parameter types nothing can ever reach it, so calls skip making one.
        self._needs_task = any(contains_borrow(t) for _, t in ft.params)
        self._lower_params = abi.lower_params
        self._call_async = inst.store.call_async

    def start(self, args: Sequence[Any]) -> Call:
        self.inst.check_enter()
        return _LiftedCall(self, args)


class _LiftedCall(CallContext, Call):
    """A call of a lifted function; also the callee side's lift/lower context (the borrow
    scope is the call's task), which saves making a second object per call.

    The call enters the instance on its first poll (waiting its turn if another thread's
    call is inside, see ``ComponentInstance.enter``), then lowers the arguments and starts the
    core function on a fiber."""

    __slots__ = ("func", "fut", "task", "result", "args", "thread")

    def __init__(self, func: LiftedFunc, args: Sequence[Any]) -> None:
        self.inst = func.inst
        self.memory = func.memory
        self.realloc_func = func.realloc_func
        self.task = self.borrow_scope = Task() if func._needs_task else None
        self.func = func
        self.args = args
        self.fut: Any = None
        self.thread: Any = None

    def _start(self) -> bool:
        inst = self.inst
        thread = self.thread = _thread.current()
        if not inst.enter(thread):
            return False
        try:
            inst.check_enter()
            flat = self.func._lower_params(self, self.args)
            self.args = ()
            self.fut = self.func._call_async(self.func.core_func, flat)
        except BaseException:
            self.thread = None
            inst.leave()
            if not inst.poisoned:
                inst.poison()
            raise
        return True

    def poll(self) -> bool:
        fut = self.fut
        if fut is None:
            if not self._start():
                return False
            fut = self.fut
        try:
            if not fut.poll():
                return False
            func = self.func
            flat_results = fut.result()
            self.result = func.abi.lift_results(self, flat_results)
            task = self.task
            if task is not None:
                task.return_()
            post_return = func.post_return
            if post_return is not None:
                inst = func.inst
                inst.may_leave = False
                try:
                    call_core_sync(inst, post_return, flat_results)
                finally:
                    inst.may_leave = True
        except BaseException as e:
            if isinstance(e, Trap):
                self.inst.poison()
            self._leave()
            raise
        self._leave()
        return True

    def _leave(self) -> None:
        if self.thread is not None:
            self.thread = None
            self.inst.leave()

    def close(self) -> None:
        fut = self.fut
        if fut is None:
            if self.thread is not None:
                self.inst.forget(self.thread)
                self.thread = None
            return
        if not fut.done:
            fut.close()
            # The guest's stack was unwound mid-call: its state can no longer be trusted.
            self.inst.poison()
        self._leave()


def call_core_sync(inst: ComponentInstance, f: CoreFunc, args: Sequence[Any]) -> tuple:
    """Run a core function that must not suspend (realloc, post-return, a destructor called
    from the host side), to completion."""
    fut = inst.store.call_async(f, args)
    try:
        done = fut.poll()
    except BaseException:
        if not fut.done:
            fut.close()
        raise
    if not done:
        fut.close()
        raise Trap("a guest function that must not block tried to block")
    return fut.result()


# ---------------------------------------------------------------------------------------------
# canon lower


def lower_import(
    inst: ComponentInstance,
    callee: ComponentFunc,
    abi: FuncABI,
    memory: Memory | None,
    realloc_func: CoreFunc | None,
) -> tuple[Callable[..., Any], bool]:
    """Build the core host function of ``canon lower callee``: returns ``(handler,
    can_suspend)`` for ``Store.host_func``."""
    lift_params = abi.lift_params
    lower_results = abi.lower_results
    # The subtask only records the caller's handles lent through borrow parameters: with no
    # borrow in the parameter types it stays empty, and the context (whose other fields are
    # fixed per import) can be made once and shared by every call.
    shared_cx = None
    if not any(contains_borrow(t) for _, t in abi.ft.params):
        shared_cx = CallContext(inst, memory, realloc_func, None)

    if isinstance(callee, HostFunc) and callee.never_suspends:
        fn = callee.fn

        if shared_cx is not None:
            cx0 = shared_cx

            def sync_handler_plain(_caller: Any, *core_args: Any) -> Any:
                if not inst.may_leave:
                    raise Trap("cannot leave component instance")
                result = fn(*lift_params(cx0, core_args))
                out = lower_results(cx0, result, core_args)
                return out[0] if out else None

            return sync_handler_plain, False

        def sync_handler(_caller: Any, *core_args: Any) -> Any:
            if not inst.may_leave:
                raise Trap("cannot leave component instance")
            subtask = Subtask()
            cx = CallContext(inst, memory, realloc_func, subtask)
            result = fn(*lift_params(cx, core_args))
            subtask.deliver_resolve()
            out = lower_results(cx, result, core_args)
            return out[0] if out else None

        return sync_handler, False

    def handler(_caller: Any, *core_args: Any) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        if shared_cx is None:
            subtask: Subtask | None = Subtask()
            cx = CallContext(inst, memory, realloc_func, subtask)
        else:
            subtask = None
            cx = shared_cx
        call = callee.start(lift_params(cx, core_args))

        def finish() -> Any:
            if subtask is not None:
                subtask.deliver_resolve()
            out = lower_results(cx, call.result, core_args)
            return out[0] if out else None

        if call.poll():
            return finish()

        def poll() -> Any:
            return finish() if call.poll() else NOT_READY

        return Pending(poll, call.close)

    return handler, True


# ---------------------------------------------------------------------------------------------
# Resource destructors


def destructor_call(rt: RuntimeResource, rep: Any) -> Call:
    """The call of ``rt``'s destructor on ``rep`` (a no-op call if it has none)."""
    impl = rt.impl
    if impl is None:
        if rt.host_dtor is None:
            return _Done(None)
        r = rt.host_dtor(rep)
        return _CoroCall(r) if inspect.iscoroutine(r) else _Done(None)
    if rt.dtor is None:
        return _Done(None)
    impl.check_enter()
    return _CoreCall(impl, rt.dtor, (rep,))


class _CoreCall(Call):
    """A core function of an instance called as a whole guest call (a destructor): enters
    the instance like a lifted call does."""

    __slots__ = ("inst", "func", "args", "fut", "thread", "result")

    def __init__(self, inst: ComponentInstance, func: CoreFunc, args: Sequence[Any]) -> None:
        self.inst = inst
        self.func = func
        self.args = args
        self.fut: Any = None
        self.thread: Any = None

    def poll(self) -> bool:
        inst = self.inst
        if self.fut is None:
            self.thread = _thread.current()
            if not inst.enter(self.thread):
                return False
            try:
                inst.check_enter()
                self.fut = inst.store.call_async(self.func, self.args)
            except BaseException:
                self._leave()
                raise
        try:
            if not self.fut.poll():
                return False
            self.result = self.fut.result()
        except BaseException as e:
            if isinstance(e, Trap):
                inst.poison()
            self._leave()
            raise
        self._leave()
        return True

    def _leave(self) -> None:
        if self.thread is not None:
            self.thread = None
            self.inst.leave()

    def close(self) -> None:
        if self.fut is None:
            if self.thread is not None:
                self.inst.forget(self.thread)
                self.thread = None
            return
        if not self.fut.done:
            self.fut.close()
            self.inst.poison()
        self._leave()


async def run_destructor(rt: RuntimeResource, rep: Any) -> None:
    call = destructor_call(rt, rep)
    try:
        await _thread.drive(_thread._current or _thread.GuestThread(), call.poll)
    except BaseException:
        call.close()
        raise

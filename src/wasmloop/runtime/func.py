"""Component functions: ``canon lift``, ``canon lower``, host functions (CanonicalABI.md
"canon lift", "canon lower").

A component-level function value (the ``func`` sort) is a ``ComponentFunc``. Calling one follows
the spec's ``FuncInst`` protocol: ``call(on_start, on_resolve, on_fail, caller, sync)`` starts
the callee — running it eagerly until it finishes or blocks — and returns its ``on_cancel``.
The callee pulls its arguments with ``on_start()`` and reports its result with
``on_resolve(result)`` (``CANCELLED`` if it was cancelled) or a trap with ``on_fail(exc)``.

Values cross every function boundary as Python values (``wasmloop.values``): a call from
component A into component B lifts from A's memory and lowers into B's, as the spec's
``canon_lower``/``canon_lift`` pair does.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any

from ..engine import CoreFunc, Memory
from ..errors import Trap
from ..types import FuncType, ResourceType, contains_borrow
from . import deadlock
from . import thread as _thread
from .resource import Resource, ResourceHandle, RuntimeResource, check_rt
from .task import CANCELLED, BadArgument, OnCancel, OnFail, OnResolve, OnStart, Subtask, Task
from .thread import HostCoroutine, Thread, block
from .waitable import EventCode, WaitableSet

if TYPE_CHECKING:
    from ..abi import FuncABI
    from .instance import ComponentInstance

__all__ = [
    "CANCELLED",
    "ComponentFunc",
    "LiftedFunc",
    "HostFunc",
    "CallContext",
    "lower_import",
    "lower_import_async",
    "call_core_sync",
]


def _noop() -> None:
    return None


def _raise(e: BaseException) -> None:
    raise e


def _no_start() -> list[Any]:
    raise AssertionError("arguments were already lowered")


def _noop_resolve(_result: Any) -> None:
    return None


_STARTED = Task.State.STARTED
_RESOLVED = Task.State.RESOLVED


_NOT_INLINE = (False, None)


# ---------------------------------------------------------------------------------------------
# The lift/lower context the ABI layer calls back into


class CallContext:
    """``LiftLowerContext``: the memory, realloc, instance and borrow scope of one side of a
    call, plus the resource and async-value hooks the ABI's lifters and lowerers delegate to."""

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
        # realloc runs with fresh context slots (Wasmtime 49): it neither sees nor changes
        # those of the task whose values it stores
        t = _thread._current
        saved = t.storage if t is not None else None
        if t is not None:
            t.storage = None
        try:
            (ptr,) = call_core_sync(inst, f, (old_ptr, old_size, align, new_size))
        finally:
            inst.may_leave = True
            if t is not None:
                t.storage = saved
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

    # -- streams, futures, error contexts -----------------------------------------------------

    def lift_stream(self, t: Any, i: int) -> Any:
        return _async_values().lift_stream(self, t, i)

    def lower_stream(self, t: Any, v: Any) -> int:
        return _async_values().lower_stream(self, t, v)

    def lift_future(self, t: Any, i: int) -> Any:
        return _async_values().lift_future(self, t, i)

    def lower_future(self, t: Any, v: Any) -> int:
        return _async_values().lower_future(self, t, v)

    def lift_error_context(self, i: int) -> Any:
        return _async_values().lift_error_context(self, i)

    def lower_error_context(self, v: Any) -> int:
        return _async_values().lower_error_context(self, v)


def _async_values() -> Any:
    from . import asyncvalues

    return asyncvalues


def _unwrap(rrt: RuntimeResource, value: Any, take: bool) -> Any:
    if isinstance(value, Resource):
        if value.rt is not rrt:
            raise TypeError(f"expected a resource of type {rrt.name!r}, got {value!r}")
        return value._take() if take else value._check()
    if rrt.impl is None:
        cls = getattr(rrt, "cls", None)
        if cls is not None and not isinstance(value, cls):
            raise TypeError(f"expected a {cls.__name__} for resource {rrt.name!r}, got "
                            f"{type(value).__name__}")
        return value
    raise TypeError(
        f"expected a wasmloop.Resource of type {rrt.name!r} (a guest-defined resource), "
        f"got {type(value).__name__}"
    )


def call_core_sync(inst: ComponentInstance, f: CoreFunc, args: Sequence[Any]) -> tuple:
    """Run a core function that must not block (realloc, post-return), to completion."""
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
# Function values


class ComponentFunc:
    """A function value of the component model (the ``func`` sort)."""

    __slots__ = ("type", "name")

    type: FuncType
    name: str

    def call(
        self,
        on_start: OnStart,
        on_resolve: OnResolve,
        on_fail: OnFail,
        caller: Thread | None,
        sync: bool,
        from_guest: bool = False,
    ) -> OnCancel:
        """Start a call; ``from_guest``: the caller is a component's ``canon lower`` (which
        stores string results as the spec transcodes them from this function's encoding)."""
        raise NotImplementedError

    #: True if a call can never block the calling guest (lets ``canon lower`` use the engine's
    #: cheaper non-suspending import path).
    never_suspends: bool = False


class HostFunc(ComponentFunc):
    """A Python function (``def`` or ``async def``) given to a component as an import.

    An ``async def`` runs as its own subtask: its first step runs at once, on the caller's
    fiber; if it awaits, the caller continues (async lower) or blocks (sync lower) until it
    returns. Cancelling the subtask cancels what the coroutine awaits.
    """

    __slots__ = ("fn", "is_async_def")

    def __init__(self, ft: FuncType, fn: Callable[..., Any], name: str = "") -> None:
        self.type = ft
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", "host function")
        self.is_async_def = inspect.iscoroutinefunction(fn)

    @property
    def never_suspends(self) -> bool:  # type: ignore[override]
        return not self.is_async_def

    def call(
        self,
        on_start: OnStart,
        on_resolve: OnResolve,
        on_fail: OnFail,
        caller: Thread | None,
        sync: bool,
        from_guest: bool = False,
    ) -> OnCancel:
        r = self.fn(*on_start())
        if not inspect.iscoroutine(r):
            on_resolve(r)
            return _noop
        cancel_requested = False

        def on_error(e: BaseException) -> None:
            if cancel_requested and isinstance(e, asyncio.CancelledError):
                on_resolve(CANCELLED)
            else:
                on_fail(e)

        hc = HostCoroutine(r, on_resolve, on_error)
        hc.step()

        def on_cancel() -> None:
            nonlocal cancel_requested
            cancel_requested = True
            hc.cancel()

        return on_cancel


class LiftedFunc(ComponentFunc):
    """``canon lift``: a core function of a component instance, callable as a component
    function — synchronously lifted, async with a callback, or async stackful."""

    __slots__ = (
        "inst",
        "core_func",
        "abi",
        "abi_keep",
        "memory",
        "realloc_func",
        "post_return",
        "is_async_lift",
        "callback",
        "needs_exclusive",
        "sync_fast_path",
        "_shared_cx",
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
        *,
        is_async_lift: bool = False,
        callback: CoreFunc | None = None,
        abi_keep: FuncABI | None = None,
    ) -> None:
        self.inst = inst
        self.core_func = core_func
        self.type = ft
        self.abi = abi
        #: ``abi`` lifting strings as ``EncodedStr`` (results for a guest caller; None when
        #: no result holds a string).
        self.abi_keep = abi_keep
        self.memory = memory
        self.realloc_func = realloc_func
        self.post_return = post_return
        self.name = name
        self.is_async_lift = is_async_lift
        self.callback = callback
        # The spec's exclusive lock (async-typed functions lifted without `async`, or with a
        # callback); synchronous functions hold the instance for their whole call instead.
        self.needs_exclusive = not is_async_lift or callback is not None
        #: A synchronous function lifted synchronously: calls run inline when they can enter.
        self.sync_fast_path = not is_async_lift and not ft.is_async
        # The callee-side context only needs the task for borrowed parameters; without any it
        # is the same for every call.
        self._shared_cx = (None if any(contains_borrow(t) for _, t in ft.params)
                           else CallContext(inst, memory, realloc_func, None))

    def call(
        self,
        on_start: OnStart,
        on_resolve: OnResolve,
        on_fail: OnFail,
        caller: Thread | None,
        sync: bool,
        from_guest: bool = False,
    ) -> OnCancel:
        inst = self.inst
        if inst._poison[0]:
            inst.check_enter()
        task = Task(
            self.type, inst, self.is_async_lift, self.needs_exclusive, on_start, on_resolve, on_fail
        )
        task.func = self
        if from_guest and self.abi_keep is not None:
            task.keep_strings = True
        thread = Thread(task, inst, caller.chain if (sync and caller is not None) else None)
        task.implicit_thread = thread
        if self.sync_fast_path:
            holder = inst.exclusive_thread
            if holder is None or holder.chain is thread.chain:
                self._call_sync_inline(task, thread)
                return task.request_cancellation
        elif (self.callback is not None and inst.backpressure == 0
              and not inst.num_waiting_to_enter and inst.may_take_exclusive(thread)):
            self._call_callback_inline(task, thread)
            return task.request_cancellation
        thread.body = self._body(task, thread)
        try:
            thread.step()
        except BaseException as e:  # noqa: BLE001 - the trap fails the task, not the caller
            thread.done = True
            task.fail(e)
        return task.request_cancellation

    def call_from_host_inline(self, args: Sequence[Any], caller: Thread | None) -> Any:
        """The host's fast path for a synchronous call: ``(True, result)`` when it finished
        at once; ``(False, task)`` when it started but blocked (the task's ``on_resolve`` /
        ``on_fail`` must then be set by the caller); ``(False, None)`` when it cannot enter
        now (use ``call``).

        The same steps as ``call`` → ``_prologue`` → ``_epilogue_sync`` with the bookkeeping
        inlined: this is the path every trivial export call takes.
        """
        inst = self.inst
        if inst._poison[0]:
            inst.check_enter()
        if caller is not None:
            _check_host_reentry(inst, caller)
        holder = inst.exclusive_thread
        chain = caller.chain if caller is not None else None
        if holder is not None and (chain is None or holder.chain is not chain):
            return _NOT_INLINE
        task = Task(self.type, inst, False, True, _no_start, _noop_resolve, _raise)
        task.func = self
        task.state = _STARTED
        thread = Thread(task, inst, chain)
        task.implicit_thread = thread
        if holder is None:
            inst.exclusive_thread = thread
        inst.exclusive_depth += 1
        task.threads.append(thread)
        thread.index = index = inst.threads.add(thread)
        prev = _thread._current
        _thread._current = thread
        thread.resumer = prev
        try:
            cx = self._shared_cx or CallContext(inst, self.memory, self.realloc_func, task)
            try:
                flat_args = self.abi.lower_params(cx, args)
            except (TypeError, ValueError) as e:
                raise BadArgument(e) from e
            fut = inst.store.call_async(self.core_func, flat_args)
            if not fut.poll():
                # It blocked: hand the rest to a thread body like any other call.
                thread.body = self._finish_sync_later(task, thread, cx, fut)
                return (False, task)
            result = self._lift_results(cx, fut.result(), task)
            if task.num_borrows:
                raise Trap("borrow handles still remain at the end of the call")
        except BaseException as e:
            self._abort(task, thread)
            if not isinstance(e, BadArgument):
                inst.poison(e)
                raise
            raise e.error from None
        finally:
            _thread._current = prev
        task.state = _RESOLVED
        task.has_result = True
        inst.exclusive_depth -= 1
        if inst.exclusive_depth == 0:
            inst.exclusive_thread = None
            if inst.entry_waiters:
                inst.wake_entry_waiters()
        task.threads.clear()
        inst.threads.remove(index)
        thread.index = None
        thread.done = True
        task.exited = True
        return (True, result)

    def _call_callback_inline(self, task: Task, thread: Thread) -> None:
        """An async call with a callback that can enter at once: run its first core call
        inline; a generator takes over only if it waits (the callback loop)."""
        inst = self.inst
        prev = _thread._current
        _thread._current = thread
        thread.resumer = prev
        try:
            cx, fut = self._prologue(task, thread)
            if not fut.poll():
                thread.body = self._callback_rest(task, thread, fut, 0)
                return
            packed = fut.result()[0]
            if packed & 0xF == 0:  # EXIT at once
                inst.release_exclusive()
                thread.done = True
                task.unregister_thread(thread)
                return
            _unpack_callback_result(packed)
            thread.body = self._callback_rest(task, thread, None, packed)
            thread.step()
        except BaseException as e:  # noqa: BLE001 - the trap fails the task, not the caller
            self._abort(task, thread)
            thread.done = True
            task.fail(e)
        finally:
            _thread._current = prev

    def _callback_rest(self, task: Task, thread: Thread, fut: Any,
                       packed: int) -> Generator[None, None, None]:
        inst = self.inst
        try:
            if fut is not None:
                while not fut.poll():
                    yield
                packed = fut.result()[0]
            yield from self._callback_loop(task, thread, packed)
        except BaseException:
            self._abort(task, thread)
            raise
        if inst.exclusive_thread is thread:
            inst.release_exclusive()
        task.unregister_thread(thread)

    def _call_sync_inline(self, task: Task, thread: Thread) -> None:
        """A synchronous call that can enter at once: run it without a generator, and make
        one only if the fiber blocks."""
        inst = self.inst
        prev = _thread._current
        _thread._current = thread
        thread.resumer = prev
        try:
            cx, fut = self._prologue(task, thread)
            if fut.poll():
                self._epilogue_sync(task, thread, cx, fut)
                thread.done = True
                return
            thread.body = self._finish_sync_later(task, thread, cx, fut)
        except BaseException as e:  # noqa: BLE001 - the trap fails the task, not the caller
            self._abort(task, thread)
            thread.done = True
            task.fail(e)
        finally:
            _thread._current = prev
        _ = inst

    def _finish_sync_later(self, task: Task, thread: Thread, cx: CallContext,
                           fut: Any) -> Generator[None, None, None]:
        try:
            while not fut.poll():
                yield
            self._epilogue_sync(task, thread, cx, fut)
        except BaseException:
            self._abort(task, thread)
            raise

    def _prologue(self, task: Task, thread: Thread) -> tuple[CallContext, Any]:
        """Take the instance (synchronous functions), register the thread, lower the
        arguments and start the core function on a fiber."""
        inst = self.inst
        if inst.exclusive_thread is None:
            inst.exclusive_thread = thread
        inst.exclusive_depth += 1
        task.threads.append(thread)
        thread.index = inst.threads.add(thread)
        cx = self._shared_cx or CallContext(inst, self.memory, self.realloc_func, task)
        try:
            flat_args = self.abi.lower_params(cx, task.start())
        except (TypeError, ValueError) as e:
            raise BadArgument(e) from e
        return cx, inst.store.call_async(self.core_func, flat_args)

    def _epilogue_sync(self, task: Task, thread: Thread, cx: CallContext, fut: Any) -> None:
        inst = self.inst
        task.return_(self._lift_results(cx, fut.result(), task))
        inst.release_exclusive()
        task.unregister_thread(thread)

    def results_abi(self, task: Task) -> FuncABI:
        """The ABI that lifts ``task``'s results: keeping string encodings for a guest
        caller."""
        keep = self.abi_keep
        return keep if keep is not None and task.keep_strings else self.abi

    def _lift_results(self, cx: CallContext, flat_results: Sequence[Any], task: Task) -> Any:
        """Lift a synchronous lift's results, then run post-return — before the result is
        delivered, so a trap in post-return fails the call (as in Wasmtime) rather than
        arriving after the caller has moved on."""
        result = self.results_abi(task).lift_results(cx, flat_results)
        post_return = self.post_return
        if post_return is not None:
            inst = self.inst
            inst.may_leave = False
            try:
                call_core_sync(inst, post_return, flat_results)
            finally:
                inst.may_leave = True
        return result

    def _abort(self, task: Task, thread: Thread) -> None:
        """Undo the prologue after a trap (the instance is poisoned by the caller)."""
        inst = self.inst
        if inst.exclusive_thread is thread:
            inst.release_exclusive()
        if thread in task.threads:
            task.threads.remove(thread)
        if thread.index is not None:
            inst.threads.remove(thread.index)
            thread.index = None

    # -- the implicit thread ------------------------------------------------------------------

    def _body(self, task: Task, thread: Thread) -> Generator[None, None, None]:
        inst = self.inst
        ft = self.type
        holds_exclusive = False
        if not ft.is_async:
            if not inst.may_take_exclusive(thread):
                yield from _wait_to_enter(inst, thread, lambda: inst.may_take_exclusive(thread),
                                          cancellable=False)
            inst.check_enter()
            inst.take_exclusive(thread)
            holds_exclusive = True
        else:
            needs_excl = task.needs_exclusive

            def no_backpressure() -> bool:
                return inst.backpressure == 0 and (
                    not needs_excl or inst.may_take_exclusive(thread))

            if not no_backpressure() or inst.num_waiting_to_enter > 0:
                inst.num_waiting_to_enter += 1
                try:
                    cancelled = yield from _wait_to_enter(inst, thread, no_backpressure,
                                                          cancellable=True)
                finally:
                    inst.num_waiting_to_enter -= 1
                if cancelled:
                    task.cancel()
                    return
            inst.check_enter()
            if needs_excl:
                inst.take_exclusive(thread)
                holds_exclusive = True
        task.register_thread(thread)
        try:
            cx = CallContext(inst, self.memory, self.realloc_func, task)
            try:
                flat_args = self.abi.lower_params(cx, task.start())
            except (TypeError, ValueError) as e:
                raise BadArgument(e) from e
            fut = inst.store.call_async(self.core_func, flat_args)
            while not fut.poll():
                yield
            flat_results = fut.result()
            if not self.is_async_lift:
                task.return_(self._lift_results(cx, flat_results, task))
            elif self.callback is not None:
                yield from self._callback_loop(task, thread, flat_results[0])
                holds_exclusive = inst.exclusive_thread is thread
        except BaseException:
            if holds_exclusive and inst.exclusive_thread is thread:
                inst.release_exclusive()
            if thread in task.threads:
                task.threads.remove(thread)
            if thread.index is not None:
                inst.threads.remove(thread.index)
                thread.index = None
            raise
        if holds_exclusive:
            inst.release_exclusive()
        task.unregister_thread(thread)

    def _callback_loop(
        self, task: Task, thread: Thread, packed: int
    ) -> Generator[None, None, None]:
        inst = self.inst
        callback = self.callback
        assert callback is not None
        code, si = _unpack_callback_result(packed)
        while code != 0:  # EXIT
            inst.release_exclusive()

            def exclusive_free() -> bool:
                return inst.may_take_exclusive(thread)

            if code == 1:  # YIELD
                cancelled = yield from _yield_thread(inst, thread, exclusive_free)
                event = (EventCode.TASK_CANCELLED, 0, 0) if cancelled else (EventCode.NONE, 0, 0)
            else:  # WAIT
                wset = inst.handles.get(si)
                if not isinstance(wset, WaitableSet):
                    raise Trap(f"handle is not an waitable-set (index {si})")
                event = yield from wait_for_event(inst, thread, wset, exclusive_free, True)
            inst.check_enter()
            inst.take_exclusive(thread)
            fut = inst.store.call_async(callback, event)
            while not fut.poll():
                yield
            code, si = _unpack_callback_result(fut.result()[0])


def _unpack_callback_result(packed: int) -> tuple[int, int]:
    code = packed & 0xF
    if code > 2:
        raise Trap(f"unsupported callback code: {code}")
    return code, packed >> 4


def _wait_to_enter(
    inst: ComponentInstance, thread: Thread, ready: Callable[[], bool], cancellable: bool
) -> Generator[None, None, bool]:
    """Wait to enter the instance (backpressure, the exclusive lock): the thread stays in
    ``entry_waiters`` for the whole wait, since only their release can make it ready."""
    inst.entry_waiters[thread] = None
    thread.start_waiting(ready, cancellable)
    try:
        yield
    finally:
        inst.entry_waiters.pop(thread, None)
    cancelled = thread.stop_waiting()
    if inst.poisoned:
        inst.raise_poisoned()
    return cancelled


def _lock_gated(inst: ComponentInstance, thread: Thread, other: Callable[[], bool],
                lock_free: Callable[[], bool]) -> Callable[[], bool]:
    """A ready function for "``other()`` and the instance's lock is free" that puts the thread
    in ``entry_waiters`` only when it is otherwise ready but the lock is taken. A thread waiting
    for an event is thus not woken at every release of the lock: waking everyone would make
    n calls in flight cost O(n²)."""

    def ready() -> bool:
        if not other():
            return False
        if lock_free():
            return True
        inst.entry_waiters[thread] = None
        return False

    return ready


def _yield_thread(
    inst: ComponentInstance, thread: Thread, ready: Callable[[], bool]
) -> Generator[None, None, bool]:
    """Let other work run, then wait until ``ready()`` (the lock is free); True if cancelled
    meanwhile."""
    task = thread.task
    if task is not None and task.deliver_pending_cancel(True):
        return True
    thread.start_waiting(_lock_gated(inst, thread, _always_true, ready), True)
    _thread.scheduler.schedule(thread)
    try:
        yield
    finally:
        inst.entry_waiters.pop(thread, None)
    cancelled = thread.stop_waiting()
    if inst.poisoned:
        inst.raise_poisoned()
    return cancelled


def _always_true() -> bool:
    return True


def wait_for_event(
    inst: ComponentInstance,
    thread: Thread,
    wset: WaitableSet,
    ready: Callable[[], bool],
    cancellable: bool,
) -> Generator[None, None, tuple[int, int, int]]:
    """``WaitableSet.wait_for_event_and`` for a thread body (not on a fiber)."""
    task = thread.task
    if task is not None and task.deliver_pending_cancel(cancellable):
        return (EventCode.TASK_CANCELLED, 0, 0)
    if not (wset.pending and ready()):
        wset.waiters.append(thread)
        thread.start_waiting(_lock_gated(inst, thread, wset.has_pending_event, ready),
                             cancellable)
        try:
            yield
        finally:
            wset.waiters.remove(thread)
            inst.entry_waiters.pop(thread, None)
        if thread.stop_waiting():
            return (EventCode.TASK_CANCELLED, 0, 0)
        if inst.poisoned:
            inst.raise_poisoned()
    return wset.get_pending_event()


# ---------------------------------------------------------------------------------------------
# canon lower


def lower_import(
    inst: ComponentInstance,
    callee: ComponentFunc,
    abi: FuncABI,
    memory: Memory | None,
    realloc_func: CoreFunc | None,
) -> tuple[Callable[..., Any], bool]:
    """The core host function of a synchronous ``canon lower callee``: ``(handler,
    can_suspend)`` for ``Store.host_func``."""
    lift_params = abi.lift_params
    lower_results = abi.lower_results
    # With no borrow among the parameters the subtask never records a lender, and the
    # context (whose other fields are fixed per import) can be made once and shared.
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
        thread = _thread.current()
        subtask = Subtask()
        cx = shared_cx if shared_cx is not None else CallContext(inst, memory, realloc_func,
                                                                 subtask)

        def on_start() -> list[Any]:
            subtask.state = Subtask.State.STARTED
            return lift_params(cx, core_args)

        def on_fail(e: BaseException) -> None:
            subtask.error = e
            if subtask.waiter is not None:
                subtask.waiter.wake()

        def on_resolve(result: Any) -> None:
            try:
                flat = lower_results(cx, result, core_args)
            except Exception as e:  # e.g. a bad return pointer of the caller: its trap
                on_fail(e)
                return
            subtask.resolve(Subtask.State.RETURNED, flat)

        subtask.on_cancel = callee.call(on_start, on_resolve, on_fail, thread, True, True)

        def finish(_cancelled: bool) -> Any:
            subtask.waiter = None
            if subtask.error is not None:
                raise _as_trap(subtask.error)
            subtask.deliver_resolve()
            out = subtask.flat_results
            return out[0] if out else None

        if subtask.resolved() or subtask.error is not None:
            return finish(False)
        subtask.waiter = thread
        return block(thread, subtask.resolved, finish, on_host=on_host)

    on_host = isinstance(callee, HostFunc)
    return handler, True


def _as_trap(e: BaseException) -> Trap:
    """A callee's failure as a trap of its caller (keeping what caused it)."""
    if isinstance(e, Trap):
        t = Trap(e.message)
        t.__cause__ = e.__cause__
    else:
        t = Trap(f"{type(e).__name__}: {e}")
        t.__cause__ = e
    return t


def lower_import_async(
    inst: ComponentInstance,
    callee: ComponentFunc,
    abi: FuncABI,
    memory: Memory | None,
    realloc_func: CoreFunc | None,
) -> Callable[..., Any]:
    """The core host function of ``canon lower callee async``: returns ``state | index << 4``
    (just RETURNED when the callee finished at once)."""
    lift_params = abi.lift_params_async
    store_result = abi.store_result_async

    def handler(_caller: Any, *core_args: Any) -> int:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        thread = _thread.current()
        subtask = Subtask()
        cx = CallContext(inst, memory, realloc_func, subtask)
        progress: list[Callable[[], None]] = []

        def on_start() -> list[Any]:
            subtask.state = Subtask.State.STARTED
            if progress:
                progress[0]()
            return lift_params(cx, core_args)

        def on_resolve(result: Any) -> None:
            if result is CANCELLED:
                state = (Subtask.State.CANCELLED_BEFORE_STARTED
                         if subtask.state == Subtask.State.STARTING
                         else Subtask.State.CANCELLED_BEFORE_RETURNED)
                subtask.resolve(state, [])
            else:
                store_result(cx, result, core_args)
                subtask.resolve(Subtask.State.RETURNED, [])
            if progress:
                progress[0]()

        def on_fail(e: BaseException) -> None:
            # The callee trapped: the caller cannot trust its own state either.
            subtask.error = e
            inst.poison(e)

        subtask.on_cancel = callee.call(on_start, on_resolve, on_fail, thread, False, True)
        if subtask.error is not None:
            raise _as_trap(subtask.error)
        if subtask.resolved():
            subtask.deliver_resolve()
            return int(Subtask.State.RETURNED)
        i = inst.handles.add(subtask)
        subtask.index = i
        progress.append(subtask.set_progress_event)
        return int(subtask.state) | (i << 4)

    return handler


# ---------------------------------------------------------------------------------------------
# Calls made by the runtime itself (destructors) and by the host


def call_from_guest(thread: Thread, callee: ComponentFunc, args: Sequence[Any],
                    finish: Callable[[Any], Any]) -> Any:
    """Call ``callee`` synchronously from a built-in running on ``thread``'s fiber: returns
    ``finish(result)`` at once, or a ``Pending`` that completes with it."""
    sub = Subtask()
    result: list[Any] = []

    def on_resolve(r: Any) -> None:
        result.append(r)
        sub.resolve(Subtask.State.RETURNED, [])

    def on_fail(e: BaseException) -> None:
        sub.error = e
        if sub.waiter is not None:
            sub.waiter.wake()

    callee.call(lambda: list(args), on_resolve, on_fail, thread, True)

    def done(_cancelled: bool) -> Any:
        sub.waiter = None
        if sub.error is not None:
            raise _as_trap(sub.error)
        return finish(result[0])

    if sub.resolved():
        return done(False)
    sub.waiter = thread
    return block(thread, sub.resolved, done)


def _check_host_reentry(inst: ComponentInstance, caller: Thread) -> None:
    """A host function called synchronously from guest code calls into ``inst``: the spec's
    entering set (from the host) is ``inst`` and its ancestors, and none of them may be on the
    native call stack (every instance of a tree shares the root, so: no thread of ``inst``'s
    tree may be on the stack)."""
    cell = inst._poison
    t: Thread | None = caller
    while t is not None:
        if t.inst._poison is cell:
            raise Trap(f"cannot enter component instance {inst.name!r}: a host function "
                       "called from it (or from an instance of its tree) calls back in "
                       "synchronously")
        t = t.resumer
    return


class HostCall:
    """One call of a component function by the host: ``await HostCall(f, args).run()``.

    The callee runs eagerly; if it blocks, the coroutine awaits its resolution. Cancelling the
    awaiting asyncio task requests cancellation of the callee's task: an async callee can then
    return its result anyway, or resolve as cancelled (``wasmloop.Cancelled``). A synchronous
    callee cannot be cancelled: it is abandoned and its instance poisoned.
    """

    __slots__ = ("func", "args", "done", "result", "error", "waiter", "on_cancel", "task")

    def __init__(self, func: ComponentFunc, args: Sequence[Any]) -> None:
        self.func = func
        self.args = args
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.on_cancel: OnCancel = _noop
        self.task: Task | None = None

    def _on_start(self) -> list[Any]:
        args = self.args
        self.args = ()
        return list(args)

    def _on_resolve(self, result: Any) -> None:
        self.done = True
        self.result = result
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _on_fail(self, e: BaseException) -> None:
        self.done = True
        self.error = e
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def start(self) -> None:
        # A host function calling back into a component runs on the calling thread's chain.
        caller = _thread._current
        func = self.func
        if isinstance(func, LiftedFunc) and func.sync_fast_path:
            done, value = func.call_from_host_inline(self.args, caller)
            if done:
                self.done = True
                self.result = value
                return
            if value is not None:
                self.adopt(value)
                return
        elif caller is not None and isinstance(func, LiftedFunc):
            _check_host_reentry(func.inst, caller)
        self.on_cancel = self.func.call(
            self._on_start, self._on_resolve, self._on_fail, caller, True
        )
        task = getattr(self.on_cancel, "__self__", None)
        self.task = task if isinstance(task, Task) else None

    def adopt(self, task: Task) -> None:
        """Follow a task that started inline and blocked, as if ``call`` had started it."""
        task.on_resolve = self._on_resolve
        task.on_fail = self._on_fail
        self.on_cancel = task.request_cancellation
        self.task = task

    async def wait_exit(self) -> None:
        """Wait until the callee task has ended entirely (an async task may go on running
        after it returned its result); raise its trap if it trapped after returning."""
        task = self.task
        if task is None:
            return
        if not task.exited:
            fut = asyncio.get_running_loop().create_future()

            def done(_t: Task) -> None:
                if not fut.done():
                    fut.set_result(None)

            task.add_exit_callback(done)
            _thread.scheduler.arm()
            deadlock.register_waiter(fut, self)
            try:
                await fut
            finally:
                deadlock.unregister_waiter(fut)
        if task.error is not None and self.error is None:
            self.error = task.error
            self.outcome()

    def outcome(self) -> Any:
        if self.error is not None:
            e = self.error
            if isinstance(e, Trap | TypeError | ValueError):
                raise e
            raise Trap(f"{type(e).__name__}: {e}") from e
        if self.result is CANCELLED:
            from ..errors import Cancelled

            raise Cancelled("the call was cancelled before it produced a result")
        return self.result

    async def run(self) -> Any:
        self.start()
        if not self.done:
            await self.wait()
        return self.outcome()

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        _thread.scheduler.arm()
        cancelled_once = False
        while not self.done:
            self.waiter = fut = loop.create_future()
            deadlock.register_waiter(fut, self)
            try:
                await fut
            except asyncio.CancelledError:
                if self.done:
                    return
                if not cancelled_once and isinstance(self.func, LiftedFunc) and (
                    self.func.type.is_async or self.func.is_async_lift
                ):
                    # Deliver the cancellation to the guest, then wait for how it resolves.
                    cancelled_once = True
                    self.on_cancel()
                    continue
                self._abandon()
                raise
            finally:
                deadlock.unregister_waiter(fut)
                self.waiter = None

    def describe(self) -> str:
        inst = getattr(self.func, "inst", None)
        where = f" in component instance {inst.name!r}" if inst is not None else ""
        return f"a call of `{self.func.name or '?'}`{where}"

    def fail_deadlock(self, trap: Trap) -> None:
        task = self.task
        if task is not None:
            task.fail(trap)  # poisons the instance, reports to us
        else:
            self._on_fail(trap)

    def _abandon(self) -> None:
        if isinstance(self.func, LiftedFunc):
            self.func.inst.poison()


def run_destructor_from_guest(thread: Thread, rt: RuntimeResource, rep: Any) -> Any:
    dtor = rt.dtor
    if dtor is None:
        return None
    return call_from_guest(thread, dtor, (rep,), lambda _r: None)


async def run_destructor(rt: RuntimeResource, rep: Any) -> None:
    dtor = rt.dtor
    if dtor is not None:
        await HostCall(dtor, (rep,)).run()

"""The canonical built-ins other than streams, futures and error contexts (CanonicalABI.md
"Canonical Built-ins"): resources, context slots, backpressure, task.return/cancel, waitable
sets, subtasks, thread.yield and the 🧵 cooperative thread built-ins.

Each factory takes a ``BuiltinEnv`` and returns ``(handler, can_suspend)``, where ``handler``
is the engine host function. Guards come first and in the spec's order, one line per rule.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine import Pending
from ..errors import Trap
from . import thread as _thread
from .func import CallContext, run_destructor_from_guest
from .resource import ResourceHandle, RuntimeResource, check_rt
from .task import Subtask, Task
from .thread import NOT_READY, Thread, block
from .waitable import BLOCKED, EventCode, Waitable, WaitableSet

if TYPE_CHECKING:
    from ..engine import CoreFunc, Memory, Table
    from .instance import ComponentInstance

Handler = Callable[..., Any]
Built = tuple[Handler, bool]

_EVENT = struct.Struct("<II")


@dataclass
class BuiltinEnv:
    """What a built-in needs from its definition site, resolved at instantiation."""

    inst: ComponentInstance
    op: str
    static_type: Any = None  # the resolved type immediate (resource, stream, future …)
    runtime_resource: RuntimeResource | None = None
    memory: Memory | None = None
    realloc: CoreFunc | None = None
    string_encoding: str = "utf8"
    is_async: bool = False
    cancellable: bool = False
    index: int = 0
    core_valtype: str = "i32"
    table: Table | None = None
    result_type: Any = None


def _leave_check(inst: ComponentInstance) -> None:
    if not inst.may_leave:
        raise Trap("cannot leave component instance")


def _current_task(inst: ComponentInstance) -> tuple[Thread, Task]:
    thread = _thread.current()
    task = thread.task
    if task is None or thread.inst is not inst:
        raise Trap("this built-in can only be called from a task of its own component instance")
    return thread, task


# -- resources --------------------------------------------------------------------------------


def resource_new(env: BuiltinEnv) -> Built:
    inst, rt = env.inst, env.runtime_resource
    handles = inst.handles

    def handler(_caller: Any, rep: int) -> int:
        _leave_check(inst)
        return handles.add(ResourceHandle(rt, rep, True))  # type: ignore[arg-type]

    return handler, False


def resource_rep(env: BuiltinEnv) -> Built:
    handles, rt = env.inst.handles, env.runtime_resource

    def handler(_caller: Any, i: int) -> int:
        return check_rt(handles.get(i), rt, i).rep  # type: ignore[arg-type]

    return handler, False


def resource_drop(env: BuiltinEnv) -> Built:
    inst, rt = env.inst, env.runtime_resource
    assert rt is not None
    handles = inst.handles

    def handler(_caller: Any, i: int) -> Any:
        _leave_check(inst)
        h = check_rt(handles.remove(i), rt, i)
        if h.num_lends != 0:
            raise Trap("cannot remove owned resource while borrowed")
        if not h.own:
            if h.borrow_scope is not None:
                h.borrow_scope.num_borrows -= 1
            return None
        if rt.dtor is None:
            return None
        return run_destructor_from_guest(_thread.current(), rt, h.rep)

    return handler, rt.dtor is not None


# -- context, backpressure, task.return / task.cancel ----------------------------------------


def context_get(env: BuiltinEnv) -> Built:
    i = env.index

    def handler(_caller: Any) -> int:
        st = _thread.current().storage
        return st[i] if st is not None else 0

    return handler, False


def context_set(env: BuiltinEnv) -> Built:
    i = env.index

    def handler(_caller: Any, v: int) -> None:
        t = _thread.current()
        if t.storage is None:
            t.storage = [0, 0]
        t.storage[i] = v

    return handler, False


def backpressure_inc(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any) -> None:
        # No may_leave check (the spec's, Wasmtime 49's): realloc and post-return may.
        if inst.backpressure == 0xFFFF:
            raise Trap("backpressure counter overflow")
        inst.backpressure += 1

    return handler, False


def backpressure_dec(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any) -> None:
        # No may_leave check (the spec's, Wasmtime 49's): realloc and post-return may.
        if inst.backpressure == 0:
            raise Trap("backpressure counter overflow (decremented below zero)")
        inst.backpressure -= 1
        if inst.backpressure == 0:
            inst.wake_entry_waiters()

    return handler, False


def task_return(env: BuiltinEnv) -> Built:
    inst, result_type = env.inst, env.result_type
    memory, encoding = env.memory, env.string_encoding

    def handler(_caller: Any, *core_args: Any) -> None:
        _thread_, task = _current_task(inst)
        _leave_check(inst)
        func = task.func
        if func is None or not func.is_async_lift:
            raise Trap("invalid `task.return` signature and/or options for current task "
                       "(it is not async-lifted)")
        if result_type != task.ft.result:
            raise Trap("invalid `task.return` signature and/or options for current task")
        # Wasmtime 49: a task.return without `memory` (validation did not need one) matches
        # any lift's memory; with one, it must be the lift's.
        if (memory is not None and memory is not func.memory) \
                or encoding != func.abi.opts.string_encoding:
            raise Trap("invalid `task.return` signature and/or options for current task")
        cx = CallContext(inst, memory, func.realloc_func, task)
        task.return_(func.results_abi(task).lift_task_return(cx, core_args))

    return handler, False


def task_cancel(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any) -> None:
        _thread_, task = _current_task(inst)
        _leave_check(inst)
        if task.func is None or not task.func.is_async_lift:
            raise Trap("invalid task.cancel: the current task is not async-lifted")
        task.cancel()

    return handler, False


# -- waitable sets ----------------------------------------------------------------------------


def waitable_set_new(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any) -> int:
        _leave_check(inst)
        return inst.handles.add(WaitableSet())

    return handler, False


def _get_wset(inst: ComponentInstance, si: int) -> WaitableSet:
    wset = inst.handles.get(si)
    if not isinstance(wset, WaitableSet):
        raise Trap(f"handle is not an waitable-set (index {si})")
    return wset


def _store_event(memory: Memory | None, ptr: int, event: tuple[int, int, int]) -> int:
    code, p1, p2 = event
    if memory is None:
        raise Trap("waitable-set built-in needs a memory")
    view = memory.view()
    if ptr & 3:
        raise Trap("event pointer not aligned")
    if ptr + 8 > len(view):
        raise Trap("event pointer out of bounds of memory")
    _EVENT.pack_into(view, ptr, p1 & 0xFFFFFFFF, p2 & 0xFFFFFFFF)
    return int(code)


def waitable_set_wait(env: BuiltinEnv) -> Built:
    inst, memory, cancellable = env.inst, env.memory, env.cancellable

    def handler(_caller: Any, si: int, ptr: int) -> Any:
        thread = _thread.current()
        _leave_check(inst)
        wset = _get_wset(inst, si)
        wset.waiters.append(thread)

        def finish(cancelled: bool) -> int:
            wset.waiters.remove(thread)
            if cancelled:
                return _store_event(memory, ptr, (EventCode.TASK_CANCELLED, 0, 0))
            return _store_event(memory, ptr, wset.get_pending_event())

        return block(thread, wset.has_pending_event, finish, cancellable)

    return handler, True


def waitable_set_poll(env: BuiltinEnv) -> Built:
    inst, memory, cancellable = env.inst, env.memory, env.cancellable

    def handler(_caller: Any, si: int, ptr: int) -> int:
        thread = _thread.current()
        _leave_check(inst)
        wset = _get_wset(inst, si)
        task = thread.task
        if task is not None and task.deliver_pending_cancel(cancellable):
            return _store_event(memory, ptr, (EventCode.TASK_CANCELLED, 0, 0))
        if not wset.pending:
            return _store_event(memory, ptr, (EventCode.NONE, 0, 0))
        return _store_event(memory, ptr, wset.get_pending_event())

    return handler, False


def waitable_set_drop(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any, si: int) -> None:
        _leave_check(inst)
        wset = inst.handles.remove(si)
        if not isinstance(wset, WaitableSet):
            raise Trap(f"handle is not an waitable-set (index {si})")
        wset.drop()

    return handler, False


def waitable_join(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any, wi: int, si: int) -> None:
        _leave_check(inst)
        w = inst.handles.get(wi)
        if not isinstance(w, Waitable):
            raise Trap(f"handle is not a waitable (index {wi})")
        if w.sync_waiter is not None:
            # Wasmtime 49's words: the synchronous operation waits through a set of its own
            raise Trap("waitable cannot be used synchronously while added to a waitable set "
                       "(it cannot join a set while a synchronous operation waits on it)")
        w.join(None if si == 0 else _get_wset(inst, si))

    return handler, False


# -- subtasks ---------------------------------------------------------------------------------


def subtask_cancel(env: BuiltinEnv) -> Built:
    inst, is_async = env.inst, env.is_async

    def handler(_caller: Any, i: int) -> Any:
        thread = _thread.current()
        _leave_check(inst)
        subtask = inst.handles.get(i)
        if not isinstance(subtask, Subtask):
            raise Trap(f"handle is not a subtask (index {i})")
        if subtask.resolve_delivered():
            raise Trap("`subtask.cancel` called after terminal status delivered")
        if subtask.in_waitable_set():
            # Wasmtime 49 traps for `async` too; the spec only for the synchronous form.
            raise Trap("waitable cannot be used synchronously while added to a waitable set")
        if subtask.cancellation_requested and not is_async:
            raise Trap("`subtask.cancel` called after terminal status delivered")

        def finish(_cancelled: bool = False) -> int:
            subtask.sync_waiter = None
            if subtask.error is not None:
                raise Trap(str(subtask.error))
            subtask.get_pending_event()
            return int(subtask.state)

        if not subtask.resolved():
            # Wasmtime 49: a second `subtask.cancel async` while the first is BLOCKED asks
            # again (the spec traps).
            subtask.cancellation_requested = True
            if subtask.on_cancel is not None:
                subtask.on_cancel()
            if not subtask.resolved():
                if is_async:
                    return BLOCKED
                subtask.sync_waiter = thread
                return block(thread, subtask.has_pending_event, finish)
        return finish()

    return handler, not is_async


def subtask_drop(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any, i: int) -> None:
        _leave_check(inst)
        s = inst.handles.remove(i)
        if not isinstance(s, Subtask):
            raise Trap(f"handle index {i} is not a subtask")
        s.drop()

    return handler, False


# -- threads ----------------------------------------------------------------------------------


def _yield_pending(thread: Thread, cancellable: bool, then: Callable[[bool], Any]) -> Any:
    """Suspend ``thread`` until the scheduler has run what was ready before it."""
    task = thread.task
    if task is not None and task.deliver_pending_cancel(cancellable):
        return then(True)
    thread.start_waiting(_always, cancellable)
    _thread.scheduler.schedule(thread)

    def poll() -> Any:
        if thread.scheduled:
            return NOT_READY
        return then(thread.stop_waiting())

    return Pending(poll, thread.stop_waiting)


def _always() -> bool:
    return True


def thread_yield(env: BuiltinEnv) -> Built:
    inst, cancellable = env.inst, env.cancellable

    def handler(_caller: Any) -> Any:
        thread = _thread.current()
        _leave_check(inst)
        return _yield_pending(thread, cancellable, int)

    return handler, True


def thread_index(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any) -> int:
        thread = _thread.current()
        _leave_check(inst)
        assert thread.index is not None
        return thread.index

    return handler, False


def thread_new_indirect(env: BuiltinEnv) -> Built:
    inst, table = env.inst, env.table

    def handler(_caller: Any, fi: int, c: int) -> int:
        _thread_, task = _current_task(inst)
        _leave_check(inst)
        assert table is not None
        if fi >= table.size():
            raise Trap("thread.new-indirect: out of bounds table access")
        f = table.get(fi)
        if f is None:
            raise Trap("thread.new-indirect: uninitialized table element")
        if tuple(f.type.params) != ("i32",) or f.type.results:
            raise Trap("thread.new-indirect: start function does not match expected type")
        new = Thread(task, inst)
        new.suspended_explicitly = True

        def body() -> Any:
            fut = inst.store.call_async(f, (c,))
            while not fut.poll():
                yield
            fut.result()
            task.unregister_thread(new)

        new.body = body()
        task.register_thread(new)
        return new.index

    return handler, False


def _get_thread(inst: ComponentInstance, i: int) -> Thread:
    t = inst.threads.get(i)
    if not isinstance(t, Thread):
        raise Trap(f"thread index {i} is not a thread")
    return t


def _resume_soon(t: Thread, front: bool = False) -> None:
    t.suspended_explicitly = False
    t.ready_func = _always
    t.scheduled = True
    if front:
        _thread.scheduler.ready.appendleft(t)
        _thread.scheduler.arm()
    else:
        _thread.scheduler.ready.append(t)
        _thread.scheduler.arm()


def thread_resume_later(env: BuiltinEnv) -> Built:
    inst = env.inst

    def handler(_caller: Any, i: int) -> None:
        _leave_check(inst)
        other = _get_thread(inst, i)
        if not other.suspended_explicitly:
            raise Trap("cannot resume thread which is not suspended")
        _resume_soon(other)

    return handler, False


def _suspend(thread: Thread, cancellable: bool) -> Any:
    task = thread.task
    if task is not None and task.deliver_pending_cancel(cancellable):
        return 1
    thread.suspended_explicitly = True
    thread.start_waiting(lambda: not thread.suspended_explicitly, cancellable)

    def poll() -> Any:
        if thread.cancelled or not thread.suspended_explicitly:
            thread.suspended_explicitly = False
            return int(thread.stop_waiting())
        return NOT_READY

    return Pending(poll, thread.stop_waiting)


def thread_suspend(env: BuiltinEnv) -> Built:
    inst, cancellable = env.inst, env.cancellable

    def handler(_caller: Any) -> Any:
        thread = _thread.current()
        _leave_check(inst)
        return _suspend(thread, cancellable)

    return handler, True


def _switch(env: BuiltinEnv, yield_first: bool, promote: bool) -> Built:
    inst, cancellable = env.inst, env.cancellable

    def handler(_caller: Any, i: int) -> Any:
        thread = _thread.current()
        _leave_check(inst)
        other = _get_thread(inst, i)
        if promote:
            if not (other.ready_func is not None and other.ready()):
                return (_yield_pending(thread, cancellable, int) if yield_first
                        else _suspend(thread, cancellable))
        elif not other.suspended_explicitly:
            raise Trap("cannot resume thread which is not suspended")
        task = thread.task
        if task is not None and task.deliver_pending_cancel(cancellable):
            return 1
        _resume_soon(other, front=True)
        if yield_first:
            return _yield_pending(thread, cancellable, int)
        return _suspend(thread, cancellable)

    return handler, True


def thread_suspend_then_resume(env: BuiltinEnv) -> Built:
    return _switch(env, yield_first=False, promote=False)


def thread_yield_then_resume(env: BuiltinEnv) -> Built:
    return _switch(env, yield_first=True, promote=False)


def thread_suspend_then_promote(env: BuiltinEnv) -> Built:
    return _switch(env, yield_first=False, promote=True)


def thread_yield_then_promote(env: BuiltinEnv) -> Built:
    return _switch(env, yield_first=True, promote=True)


#: op name → factory, for the built-ins this module implements.
BUILTINS: dict[str, Callable[[BuiltinEnv], Built]] = {
    "resource.new": resource_new,
    "resource.rep": resource_rep,
    "resource.drop": resource_drop,
    "context.get": context_get,
    "context.set": context_set,
    "backpressure.inc": backpressure_inc,
    "backpressure.dec": backpressure_dec,
    "task.return": task_return,
    "task.cancel": task_cancel,
    "waitable-set.new": waitable_set_new,
    "waitable-set.wait": waitable_set_wait,
    "waitable-set.poll": waitable_set_poll,
    "waitable-set.drop": waitable_set_drop,
    "waitable.join": waitable_join,
    "subtask.cancel": subtask_cancel,
    "subtask.drop": subtask_drop,
    "thread.yield": thread_yield,
    "thread.index": thread_index,
    "thread.new-indirect": thread_new_indirect,
    "thread.resume-later": thread_resume_later,
    "thread.suspend": thread_suspend,
    "thread.suspend-then-resume": thread_suspend_then_resume,
    "thread.yield-then-resume": thread_yield_then_resume,
    "thread.suspend-then-promote": thread_suspend_then_promote,
    "thread.yield-then-promote": thread_yield_then_promote,
}


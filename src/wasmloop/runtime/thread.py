"""Threads and the scheduler (CanonicalABI.md "Thread State", "Stack Switching").

A ``Thread`` is the spec's thread: the implicit thread of a task, or one made by
``thread.new-indirect``. Its body is a Python generator that drives the thread's wasmtime fiber
(``CallFuture``): each ``step()`` advances it until the fiber suspends in a blocking built-in or
the body finishes. A blocking built-in puts the thread in the *waiting* state with a
``ready_func`` and returns an engine ``Pending`` that completes once the thread is resumed.

The scheduler is the asyncio loop: a waiting thread costs nothing until something that could
make it ready (an event on a waitable, a subtask resolving, a lock released, a host future
completing) *wakes* it; a woken thread whose ``ready_func`` holds is queued, and the queue is
run from one ``loop.call_soon`` callback, first in first out. Nothing polls.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..engine import Pending
from ..errors import Trap
from . import deadlock

if TYPE_CHECKING:
    from .instance import ComponentInstance
    from .task import Task

__all__ = [
    "NOT_READY",
    "Thread",
    "Scheduler",
    "scheduler",
    "current",
    "block",
    "HostCoroutine",
]

#: Returned by a poll that cannot finish yet (the engine's sentinel).
NOT_READY: Any = Pending.NOT_READY

Body = Generator[None, None, None]


class Thread:
    """A thread of a task in a component instance."""

    # No __slots__: a thread is made for every call, and most fields keep their class default
    # for its whole life; leaving them unset makes that cheaper.
    index: int | None = None
    #: The two context slots (``context.get/set``), made on first set.
    storage: list[int] | None = None
    cancellable = False
    #: Set while waiting: the thread may run again once this returns True.
    ready_func: Callable[[], bool] | None = None
    #: Set when the thread is resumed because its task was cancelled.
    cancelled = False
    body: Body | None = None
    done = False
    scheduled = False
    #: True while suspended by ``thread.suspend`` (no ready_func: only an explicit resume).
    suspended_explicitly = False
    #: The thread that was running when this one was last resumed: while this thread runs,
    #: following ``resumer`` walks the native call stack (host re-entrance checks).
    resumer: Thread | None = None

    def __init__(self, task: Task | None, inst: ComponentInstance, chain: Any = None) -> None:
        self.task = task
        self.inst = inst
        #: Identity of the synchronous call chain this thread belongs to: a thread made for a
        #: synchronous call shares its caller's chain and may re-enter instances the chain is
        #: already in (see ``ComponentInstance.may_take_exclusive``).
        self.chain = chain if chain is not None else self

    # -- states -------------------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        return self.ready_func is not None

    def ready(self) -> bool:
        f = self.ready_func
        return f is not None and f()

    def start_waiting(self, ready_func: Callable[[], bool], cancellable: bool) -> None:
        self.ready_func = ready_func
        self.cancellable = cancellable
        self.cancelled = False

    def stop_waiting(self) -> bool:
        """Leave the waiting state; returns whether the wait ended by cancellation."""
        self.ready_func = None
        c = self.cancelled
        self.cancelled = False
        return c

    def wake(self) -> None:
        """Something this thread may wait for happened: queue it if it is now ready."""
        if self.ready_func is not None and not self.scheduled and self.ready_func():
            scheduler.schedule(self)

    def resume_cancelled(self) -> None:
        """Resume a cancellable waiting thread with ``cancelled`` (task cancellation), at once,
        as the spec does: whoever cancels sees the outcome if the thread resolves now."""
        self.cancelled = True
        self.ready_func = _always
        if self is _current or self.body is None:
            scheduler.schedule(self)
        else:
            run_thread(self)

    # -- running ------------------------------------------------------------------------------

    def step(self) -> bool:
        """Run the body until it blocks or ends; True once it has ended.

        Exceptions (traps) propagate; the caller decides who they fail.
        """
        global _current
        prev = _current
        _current = self
        self.resumer = prev
        try:
            next(self.body)  # type: ignore[arg-type]
        except StopIteration:
            self.done = True
            return True
        finally:
            _current = prev
        return False

    def __repr__(self) -> str:
        state = "done" if self.done else "waiting" if self.ready_func else "running"
        return f"<Thread {self.index} of {self.inst.name!r} {state}>"


def _always() -> bool:
    return True


_current: Thread | None = None


def current() -> Thread:
    """The thread whose fiber is running right now."""
    t = _current
    if t is None:
        raise Trap("no component thread is running")
    return t


def block(thread: Thread, ready_func: Callable[[], bool], finish: Callable[[bool], Any],
          cancellable: bool = False, on_host: bool = False) -> Any:
    """Block ``thread`` (inside a built-in running on its fiber) until ``ready_func()``.

    Returns ``finish(cancelled)`` at once if the thread need not wait (``ready_func()`` already
    holds, or a pending cancellation is delivered now), else a ``Pending`` that completes with
    ``finish(cancelled)`` when the thread is resumed. Whoever makes ``ready_func`` true must
    call ``thread.wake()``. ``on_host``: the wait is for host work (an async host import),
    which a synchronous task may do; waiting for guest work traps in a synchronous task.
    """
    task = thread.task
    if task is not None and task.deliver_pending_cancel(cancellable):
        return finish(True)
    if ready_func():
        return finish(False)
    if not on_host and task is not None and not task.ft.is_async:
        # Wasmtime 49: a synchronous task may wait for the host (an async host import) but
        # not for other guest work (the spec's `simplify` branch: checked only when it would
        # really block).
        raise Trap("cannot block a synchronous task before returning")
    thread.start_waiting(ready_func, cancellable)
    inst = thread.inst

    def poll() -> Any:
        if inst.poisoned:
            thread.stop_waiting()
            inst.raise_poisoned()
        if thread.cancelled or ready_func():
            return finish(thread.stop_waiting())
        return NOT_READY

    return Pending(poll, thread.stop_waiting)


class Scheduler:
    """Runs ready threads from the asyncio loop, first in first out."""

    __slots__ = ("ready", "armed_loop")

    def __init__(self) -> None:
        self.ready: deque[Thread] = deque()
        self.armed_loop: asyncio.AbstractEventLoop | None = None

    def schedule(self, thread: Thread) -> None:
        thread.scheduled = True
        self.ready.append(thread)
        self.arm()

    def arm(self) -> None:
        if self.armed_loop is not None or not self.ready:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # armed by the next driver that awaits (see ``Scheduler.kick``)
        self.armed_loop = loop
        loop.call_soon(self.run)

    #: Thread steps one scheduler run may take, beyond the threads ready when it started,
    #: before yielding to the asyncio loop: threads that become ready while it runs (a writer
    #: wakes its reader) go on in the same run,
    #: which saves a loop iteration (and a ``select``) per hand-off, while other asyncio work
    #: still gets its turn.
    BUDGET = 64

    def run(self) -> None:
        self.armed_loop = None
        ready = self.ready
        for _ in range(len(ready) + self.BUDGET):
            if not ready:
                break
            t = ready.popleft()
            t.scheduled = False
            if t.done or t.body is None:
                continue
            if t.ready_func is not None and not t.ready_func():
                continue  # no longer ready; whoever makes it ready wakes it again
            run_thread(t)
        if ready:
            self.arm()
        else:
            deadlock.request_check()


scheduler = Scheduler()


def run_thread(t: Thread) -> None:
    """Step ``t`` from the scheduler: a trap fails its task (and poisons its instance)."""
    try:
        t.step()
    except BaseException as e:  # noqa: BLE001 - a trap ends the thread, not the loop
        t.done = True
        fail = t.task.fail if t.task is not None else None
        if fail is not None:
            fail(e)
        elif not isinstance(e, Exception):
            raise


class HostCoroutine:
    """Drives a host ``async def`` for a subtask, like a light ``asyncio.Task``.

    The first step runs at once (on the calling guest's fiber); later steps run from the loop
    when the awaited future completes. ``on_done(result)`` / ``on_error(exc)`` report the end.
    """

    __slots__ = ("coro", "on_done", "on_error", "awaiting", "finished", "__weakref__")

    def __init__(self, coro: Any, on_done: Callable[[Any], None],
                 on_error: Callable[[BaseException], None]) -> None:
        self.coro = coro
        self.on_done = on_done
        self.on_error = on_error
        self.awaiting: Any = None
        self.finished = False
        deadlock.track_host_coroutine(self)

    def step(self, exc: BaseException | None = None) -> None:
        self.awaiting = None
        try:
            y = self.coro.send(None) if exc is None else self.coro.throw(exc)
        except StopIteration as stop:
            self.finished = True
            self.on_done(stop.value)
            return
        except BaseException as e:  # noqa: BLE001 - reported to the subtask
            self.finished = True
            self.on_error(e)
            return
        if y is None:
            asyncio.get_running_loop().call_soon(self.step)
            return
        if getattr(y, "_asyncio_future_blocking", None) is None:
            self.step(TypeError(f"host coroutine awaited {y!r}, which is not an asyncio future"))
            return
        y._asyncio_future_blocking = False
        self.awaiting = y
        y.add_done_callback(self._wakeup)

    def _wakeup(self, _fut: Any) -> None:
        if not self.finished:
            self.step()

    def cancel(self) -> None:
        """Deliver cancellation: the awaited future is cancelled, so the coroutine sees
        ``CancelledError`` where it waits (it may catch it and still return a value)."""
        w = self.awaiting
        if w is not None and not w.done():
            w.cancel()

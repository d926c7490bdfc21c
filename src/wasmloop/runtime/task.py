"""Tasks and subtasks (CanonicalABI.md "Task State", "Subtask State").

A ``Task`` is the callee side of one call of a lifted function: its state machine
(INITIAL → STARTED → PENDING_CANCEL → CANCEL_DELIVERED → RESOLVED), its threads, and the count
of borrowed handles lent to it, which must be zero when it returns. A ``Subtask`` is the caller
side of one call through a lowered import: a waitable whose SUBTASK events report the callee's
progress, and the record of the caller's handles it lent out.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from ..errors import Trap
from .waitable import EventCode, Waitable

if TYPE_CHECKING:
    from ..types import FuncType
    from .instance import ComponentInstance
    from .resource import ResourceHandle
    from .thread import Thread

class _Cancelled:
    __slots__ = ()

    def __repr__(self) -> str:
        return "CANCELLED"


#: Passed to ``on_resolve`` when the callee was cancelled before producing a result.
CANCELLED: Any = _Cancelled()


class BadArgument(Exception):
    """Wraps the TypeError/ValueError raised while lowering a host-supplied argument."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


__all__ = ["BadArgument", "Task", "Subtask", "OnStart", "OnResolve", "OnFail", "OnCancel"]

OnStart = Callable[[], list[Any]]
OnResolve = Callable[[Any], None]  # the result, or CANCELLED if the task was cancelled
OnFail = Callable[[BaseException], None]
OnCancel = Callable[[], None]


class Task:
    class State(IntEnum):
        INITIAL = 1
        STARTED = 2
        PENDING_CANCEL = 3
        CANCEL_DELIVERED = 4
        RESOLVED = 5

    # No __slots__: most fields keep their class default for the whole life of a task, and
    # leaving them unset makes creating one (once per call) cheaper.
    num_borrows = 0
    implicit_thread: Thread | None = None
    has_result = False
    #: The lifted function this task runs (task.return checks its options).
    func: Any = None
    #: True once every thread of the task has ended (``error`` set if one trapped).
    exited = False
    error: BaseException | None = None
    exit_callbacks: list[Callable[[Task], None]] | tuple[()] = ()
    #: The caller is another component: strings in the results keep their source encoding
    #: (``abi.strings.EncodedStr``), so the caller stores them as the spec transcodes.
    keep_strings = False

    def __init__(
        self,
        ft: FuncType,
        inst: ComponentInstance,
        is_async_lift: bool,
        needs_exclusive: bool,
        on_start: OnStart,
        on_resolve: OnResolve,
        on_fail: OnFail,
    ) -> None:
        self.ft = ft
        self.inst = inst
        self.is_async_lift = is_async_lift
        self.needs_exclusive = needs_exclusive
        self.on_start = on_start
        self.on_resolve = on_resolve
        self.on_fail = on_fail
        self.state = Task.State.INITIAL
        self.threads: list[Thread] = []

    def add_exit_callback(self, cb: Callable[[Task], None]) -> None:
        if not self.exit_callbacks:
            self.exit_callbacks = []
        self.exit_callbacks.append(cb)  # type: ignore[union-attr]

    def register_thread(self, thread: Thread) -> None:
        self.threads.append(thread)
        thread.index = self.inst.threads.add(thread)

    def unregister_thread(self, thread: Thread) -> None:
        self.threads.remove(thread)
        if thread.index is not None:
            self.inst.threads.remove(thread.index)
            thread.index = None
        if not self.threads:
            if self.state != Task.State.RESOLVED:
                raise Trap("wasm trap: async-lifted export failed to produce a result")
            self._exit()

    def _exit(self) -> None:
        if self.exited:
            return
        self.exited = True
        callbacks = self.exit_callbacks
        if callbacks:
            self.exit_callbacks = ()
            for cb in callbacks:
                cb(self)

    def start(self) -> list[Any]:
        self.state = Task.State.STARTED
        return self.on_start()

    def request_cancellation(self) -> None:
        """The caller wants this task cancelled (``subtask.cancel`` or the host)."""
        s = self.state
        if s == Task.State.INITIAL:
            self.state = Task.State.CANCEL_DELIVERED
            t = self.implicit_thread
            if t is not None:
                t.resume_cancelled()
            return
        if s not in (Task.State.STARTED, Task.State.CANCEL_DELIVERED):
            return  # a cancel already pending, or resolved
        if not self.is_async_lift and not self.ft.is_async:
            self.state = Task.State.PENDING_CANCEL
            return
        for t in self.threads:
            if t.ready_func is not None and t.cancellable:
                if self.needs_exclusive and t is self.implicit_thread:
                    excl = self.inst.exclusive_thread
                    if excl is not None and excl is not t:
                        continue
                self.state = Task.State.CANCEL_DELIVERED
                t.resume_cancelled()
                return
        self.state = Task.State.PENDING_CANCEL

    def deliver_pending_cancel(self, cancellable: bool) -> bool:
        if cancellable and self.state == Task.State.PENDING_CANCEL:
            self.state = Task.State.CANCEL_DELIVERED
            return True
        return False

    def return_(self, result: Any) -> None:
        if self.state == Task.State.RESOLVED:
            raise Trap("`task.return` or `task.cancel` called more than once for current task")
        if self.num_borrows > 0:
            raise Trap("borrow handles still remain at the end of the call")
        self.state = Task.State.RESOLVED
        self.has_result = True
        self.on_resolve(result)

    def cancel(self) -> None:
        if self.state != Task.State.CANCEL_DELIVERED:
            raise Trap("`task.cancel` called by task which has not been cancelled")
        if self.num_borrows > 0:
            raise Trap("borrow handles still remain at the end of the call")
        self.state = Task.State.RESOLVED
        self.on_resolve(CANCELLED)

    def fail(self, exc: BaseException) -> None:
        """A thread of this task trapped: the instance is poisoned and the caller is told.

        A ``BadArgument`` (the host passed a value that does not fit the parameter types) fails
        the call without poisoning: no guest code ran on the bad value.
        """
        if self.error is not None:
            return  # already failed (a second thread of the task woke up to the poison)
        if isinstance(exc, BadArgument):
            exc = exc.error
        else:
            self.inst.poison(exc)
        self.error = exc
        if self.state != Task.State.RESOLVED or not self.has_result:
            self.state = Task.State.RESOLVED
            self.on_fail(exc)
        self._exit()


class Subtask(Waitable):
    class State(IntEnum):
        STARTING = 0
        STARTED = 1
        RETURNED = 2
        CANCELLED_BEFORE_STARTED = 3
        CANCELLED_BEFORE_RETURNED = 4

    __slots__ = (
        "state",
        "on_cancel",
        "lenders",
        "cancellation_requested",
        "flat_results",
        "waiter",
        "error",
        "index",
    )

    def __init__(self) -> None:
        Waitable.__init__(self)
        self.state = Subtask.State.STARTING
        self.on_cancel: OnCancel | None = None
        self.lenders: list[ResourceHandle] | None = []
        self.cancellation_requested = False
        self.flat_results: list[Any] = []
        #: The caller's thread while it waits synchronously for this subtask.
        self.waiter: Thread | None = None
        #: Set if the callee trapped: the caller traps too when it next looks.
        self.error: BaseException | None = None
        self.index = 0

    def resolved(self) -> bool:
        return self.state >= Subtask.State.RETURNED or self.error is not None

    def add_lender(self, h: ResourceHandle) -> None:
        h.num_lends += 1
        assert self.lenders is not None
        self.lenders.append(h)

    def resolve(self, state: Subtask.State, flat_results: list[Any]) -> None:
        self.state = state
        self.flat_results = flat_results
        if self.waiter is not None:
            self.waiter.wake()

    def deliver_resolve(self) -> None:
        if self.lenders is not None:
            for h in self.lenders:
                h.num_lends -= 1
            self.lenders = None

    def resolve_delivered(self) -> bool:
        return self.lenders is None

    def set_progress_event(self) -> None:
        """Queue a SUBTASK event reporting the current state (async lower)."""
        i = self.index

        def subtask_event() -> tuple[int, int, int]:
            if self.resolved():
                self.deliver_resolve()
            return (EventCode.SUBTASK, i, int(self.state))

        self.set_pending_event(subtask_event)

    def drop(self) -> None:
        if not self.resolve_delivered():
            raise Trap("cannot drop a subtask which has not yet resolved")
        Waitable.drop(self)

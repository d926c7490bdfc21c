"""Component instances at run time (CanonicalABI.md "Component Instances")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Trap
from .table import Table, budget_of

if TYPE_CHECKING:
    from ..engine import Store
    from ..types import ResourceType
    from .resource import RuntimeResource

__all__ = ["ComponentInstance"]


class ComponentInstance:
    """One instantiation of a component (nested components get their own).

    Holds the handle table, the ``may_leave`` flag the canonical built-ins check, the mapping
    from the component's static resource types to runtime resources, and whether a trap has
    poisoned it.
    """

    __slots__ = (
        "name",
        "store",
        "parent",
        "handles",
        "may_leave",
        "_poison",
        "children",
        "resources",
        "exports",
        "threads",
        "backpressure",
        "num_waiting_to_enter",
        "exclusive_thread",
        "exclusive_depth",
        "entry_waiters",
        "__weakref__",
    )

    def __init__(self, name: str, store: Store, parent: ComponentInstance | None = None) -> None:
        self.name = name
        self.store = store
        self.parent = parent
        budget = parent.handles.budget if parent is not None else budget_of(store)
        self.handles: Table = Table(budget)
        self.may_leave = True
        # A trap anywhere in an instance tree (a top-level instantiation and its nested
        # component instances) poisons the whole tree: one shared cell.
        self._poison: list[Any] = parent._poison if parent is not None else [False, None]
        self.children: list[ComponentInstance] = []
        if parent is not None:
            parent.children.append(self)
        self.resources: dict[ResourceType, RuntimeResource] = {}
        self.exports: dict[str, Any] = {}
        self.threads: Table = Table(budget)
        self.backpressure = 0
        self.num_waiting_to_enter = 0
        self.exclusive_thread: Any = None
        self.exclusive_depth = 0
        #: Threads that can run as soon as the instance's lock is released or backpressure
        #: drops (insertion-ordered; see ``func._lock_gated``).
        self.entry_waiters: dict[Any, None] = {}

    @property
    def poisoned(self) -> bool:
        return self._poison[0]

    def check_enter(self) -> None:
        if self._poison[0]:
            raise Trap(
                f"cannot enter component instance {self.name!r}: "
                "it trapped earlier and may be in an inconsistent state"
            )

    @property
    def poison_error(self) -> BaseException | None:
        """The trap that poisoned the tree, if known."""
        return self._poison[1]

    def raise_poisoned(self) -> None:
        """For a thread of this tree woken by poisoning: end it with the original trap."""
        e = self._poison[1]
        if isinstance(e, Trap):
            raise Trap(e.message)
        self.check_enter()

    def poison(self, error: BaseException | None = None) -> None:
        """Poison the instance tree; its waiting threads are woken so they trap too (with
        ``error``, the trap that caused it, when given)."""
        if self._poison[0]:
            return
        self._poison[0] = True
        self._poison[1] = error
        root = self
        while root.parent is not None:
            root = root.parent
        root._wake_all()
        from .copy import break_ends

        first = str(error).splitlines()[0] if error is not None and str(error) else "a trap"
        break_ends(root, f"component instance {root.name!r} trapped: {first}")

    def _wake_all(self) -> None:
        for t in list(self.threads):
            if t.ready_func is not None:
                t.ready_func = _always
                t.wake()
        for child in self.children:
            child._wake_all()

    # -- entering -------------------------------------------------------------------------------
    #
    # Guest code compiled by real toolchains keeps per-instance state outside the wasm stack (a
    # shadow stack pointer in a global, allocator state): code that runs on the instance's
    # shared stack must never interleave with other such code. ``exclusive_thread`` is held by
    # the thread running such code: a synchronous task for its whole duration, an async task
    # lifted with a callback (or without ``async``) while its core code runs (the spec's
    # exclusive lock). A synchronous call chain may re-enter an instance it already holds (last
    # in first out is safe); anyone else waits in ``entry_waiters`` until it is released.

    def may_take_exclusive(self, thread: Any) -> bool:
        holder = self.exclusive_thread
        return holder is None or holder.chain is thread.chain

    def take_exclusive(self, thread: Any) -> None:
        if self.exclusive_thread is None:
            self.exclusive_thread = thread
        self.exclusive_depth += 1

    def release_exclusive(self) -> None:
        self.exclusive_depth -= 1
        if self.exclusive_depth == 0:
            self.exclusive_thread = None
            self.wake_entry_waiters()

    def wake_entry_waiters(self) -> None:
        waiters = self.entry_waiters
        if waiters:
            for t in list(waiters):
                t.wake()

    def runtime_resource(self, rt: ResourceType) -> RuntimeResource:
        try:
            return self.resources[rt]
        except KeyError:
            raise Trap(f"resource type {rt!r} is not bound in component instance "
                       f"{self.name!r}") from None

    def __repr__(self) -> str:
        return f"<ComponentInstance {self.name!r}>"


def _always() -> bool:
    return True

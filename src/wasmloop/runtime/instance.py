"""Component instances at run time (CanonicalABI.md "Component Instances")."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import Trap
from .table import Table

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
        "resources",
        "exports",
        "occupant",
        "depth",
        "entry_queue",
        "__weakref__",
    )

    def __init__(self, name: str, store: Store, parent: ComponentInstance | None = None) -> None:
        self.name = name
        self.store = store
        self.parent = parent
        self.handles = Table()
        self.may_leave = True
        # A trap anywhere in an instance tree (a top-level instantiation and its nested
        # component instances) poisons the whole tree: one shared cell.
        self._poison: list[bool] = parent._poison if parent is not None else [False]
        self.resources: dict[ResourceType, RuntimeResource] = {}
        self.exports: dict[str, Any] = {}
        #: The guest thread whose synchronous call is inside this instance, and how deeply it
        #: has (re)entered it. Other threads queue in ``entry_queue`` (see ``enter``).
        self.occupant: Any = None
        self.depth = 0
        self.entry_queue: deque[tuple[Any, asyncio.Future[None]]] = deque()

    @property
    def poisoned(self) -> bool:
        return self._poison[0]

    def check_enter(self) -> None:
        if self._poison[0]:
            raise Trap(
                f"cannot enter component instance {self.name!r}: "
                "it trapped earlier and may be in an inconsistent state"
            )

    def poison(self) -> None:
        self._poison[0] = True

    # -- entering and leaving -------------------------------------------------------------------
    #
    # Guest code compiled by real toolchains keeps per-instance state outside the wasm stack (a
    # shadow stack pointer in a global, heap allocator state): two synchronous calls must never
    # interleave inside one instance. A thread may re-enter an instance it is already in (a
    # nested call, last in first out, is safe); any other thread waits its turn, first come
    # first served, while its call is suspended.

    def enter(self, thread: Any) -> bool:
        """Enter for ``thread``; if another thread is inside, queue and return False with
        ``thread.wait`` set to the future that resolves when it is this thread's turn."""
        occ = self.occupant
        if occ is thread or (occ is None and not self.entry_queue):
            self.occupant = thread
            self.depth += 1
            return True
        for t, fut in self.entry_queue:
            if t is thread:
                thread.wait = fut
                return False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise Trap(
                f"component instance {self.name!r} is in use by a suspended call and there is "
                "no running event loop to wait on"
            ) from None
        fut = loop.create_future()
        self.entry_queue.append((thread, fut))
        thread.wait = fut
        return False

    def leave(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            self._hand_over()

    def forget(self, thread: Any) -> None:
        """``thread`` gave up waiting (its call was cancelled)."""
        for entry in self.entry_queue:
            if entry[0] is thread:
                self.entry_queue.remove(entry)
                entry[1].cancel()
                break
        if self.occupant is thread and self.depth == 0:
            self._hand_over()

    def _hand_over(self) -> None:
        self.occupant = None
        while self.entry_queue:
            thread, fut = self.entry_queue.popleft()
            if not fut.done():
                self.occupant = thread  # reserved: depth stays 0 until it enters
                fut.set_result(None)
                return

    def runtime_resource(self, rt: ResourceType) -> RuntimeResource:
        try:
            return self.resources[rt]
        except KeyError:
            raise Trap(f"resource type {rt!r} is not bound in component instance "
                       f"{self.name!r}") from None

    def __repr__(self) -> str:
        return f"<ComponentInstance {self.name!r}>"

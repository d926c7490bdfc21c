"""Tasks and subtasks, the synchronous part (CanonicalABI.md "Task State", "Subtask State").

A ``Task`` is the callee side of one call into a lifted function: it counts the borrowed
handles lent to the callee, which must all be dropped before it returns. A ``Subtask`` is the
caller side of one call through a lowered import: it records the caller's handles it lent out
so they cannot be dropped while the callee holds them.
"""

from __future__ import annotations

from ..errors import Trap
from .resource import ResourceHandle

__all__ = ["Task", "Subtask"]


class Task:
    __slots__ = ("num_borrows", "resolved")

    def __init__(self) -> None:
        self.num_borrows = 0
        self.resolved = False

    def return_(self) -> None:
        if self.resolved:
            raise Trap("task already returned a result")
        if self.num_borrows > 0:
            raise Trap("borrow handles still remain at the end of the call")
        self.resolved = True


class Subtask:
    __slots__ = ("lenders",)

    def __init__(self) -> None:
        self.lenders: list[ResourceHandle] = []

    def add_lender(self, h: ResourceHandle) -> None:
        h.num_lends += 1
        self.lenders.append(h)

    def deliver_resolve(self) -> None:
        for h in self.lenders:
            h.num_lends -= 1
        self.lenders = []

"""The handle table of a component instance (CanonicalABI.md "Table State").

One table per component instance holds resource handles, waitables, waitable sets and error
contexts. Index 0 is reserved; freed slots are reused last-in-first-out, so handle indices are
deterministic and tests can assert them exactly.
"""

from __future__ import annotations

from typing import Any

from ..errors import Trap

MAX_LENGTH = 2**28 - 1

#: Handles (resources, waitables, waitable sets, error contexts, threads) a store's component
#: instances may hold together, unless configured otherwise (``Limits.max_handles``).
DEFAULT_MAX_HANDLES = 100_000


class HandleBudget:
    """The handle count shared by every table of a store's component instances."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int = DEFAULT_MAX_HANDLES) -> None:
        if limit < 0:
            raise ValueError("the handle limit must not be negative")
        self.count = 0
        self.limit = limit

    def exceeded(self) -> Trap:
        return Trap(
            f"component handle limit reached: the instances of this store hold {self.limit} "
            "handles (raise it with `-S max-component-handles=N` or "
            "`wasmloop.Limits(max_handles=N)`)"
        )


def budget_of(store: Any) -> HandleBudget:
    """The store's handle budget (made with the default limit on first use)."""
    b = getattr(store, "handle_budget", None)
    if b is None:
        b = HandleBudget()
        try:
            store.handle_budget = b
        except AttributeError:
            pass
    return b


class Table:
    __slots__ = ("array", "free", "budget")

    def __init__(self, budget: HandleBudget | None = None) -> None:
        self.array: list[Any] = [None]
        self.free: list[int] = []
        self.budget = budget if budget is not None else HandleBudget()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (e for e in self.array if e is not None)

    def __len__(self) -> int:
        return len(self.array) - 1 - len(self.free)

    def get(self, i: int) -> Any:
        array = self.array
        if i <= 0 or i >= len(array):
            raise Trap(f"unknown handle index {i}")
        e = array[i]
        if e is None:
            raise Trap(f"unknown handle index {i}")
        return e

    def add(self, e: Any) -> int:
        b = self.budget
        if b.count >= b.limit:
            raise b.exceeded()
        if self.free:
            i = self.free.pop()
            self.array[i] = e
            b.count += 1
            return i
        i = len(self.array)
        if i > MAX_LENGTH:
            raise Trap("handle table is full")
        self.array.append(e)
        b.count += 1
        return i

    def remove(self, i: int) -> Any:
        e = self.get(i)
        self.array[i] = None
        self.free.append(i)
        self.budget.count -= 1
        return e

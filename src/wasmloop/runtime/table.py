"""The handle table of a component instance (CanonicalABI.md "Table State").

One table per component instance holds resource handles, waitables, waitable sets and error
contexts. Index 0 is reserved; freed slots are reused last-in-first-out, so handle indices are
deterministic and tests can assert them exactly.
"""

from __future__ import annotations

from typing import Any

from ..errors import Trap

MAX_LENGTH = 2**28 - 1


class Table:
    __slots__ = ("array", "free")

    def __init__(self) -> None:
        self.array: list[Any] = [None]
        self.free: list[int] = []

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
        if self.free:
            i = self.free.pop()
            self.array[i] = e
            return i
        i = len(self.array)
        if i > MAX_LENGTH:
            raise Trap("handle table is full")
        self.array.append(e)
        return i

    def remove(self, i: int) -> Any:
        e = self.get(i)
        self.array[i] = None
        self.free.append(i)
        return e

"""Waitables and waitable sets (CanonicalABI.md "Waitable State").

A waitable (a subtask, or an end of a stream or future) has at most one pending event, made
lazily: ``set_pending_event(f)`` stores a function that produces ``(code, p1, p2)`` when the
event is delivered. Setting an event wakes whoever waits for it: the threads waiting on the
waitable's set, or the one thread waiting on the waitable itself (a synchronous operation).

Each set keeps its waitables with pending events in arrival order, so finding an event is O(1)
even with thousands of members.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING

from ..errors import Trap

if TYPE_CHECKING:
    from .thread import Thread

__all__ = ["EventCode", "Event", "Waitable", "WaitableSet", "BLOCKED"]

#: Returned by a built-in that started something it could not finish at once.
BLOCKED = 0xFFFF_FFFF


class EventCode(IntEnum):
    NONE = 0
    SUBTASK = 1
    STREAM_READ = 2
    STREAM_WRITE = 3
    FUTURE_READ = 4
    FUTURE_WRITE = 5
    TASK_CANCELLED = 6


Event = tuple[int, int, int]


class Waitable:
    __slots__ = ("pending_event", "wset", "sync_waiter")

    def __init__(self) -> None:
        self.pending_event: Callable[[], Event] | None = None
        self.wset: WaitableSet | None = None
        #: The thread blocked in a synchronous operation on this waitable, if any.
        self.sync_waiter: Thread | None = None

    def set_pending_event(self, pending_event: Callable[[], Event]) -> None:
        self.pending_event = pending_event
        wset = self.wset
        if wset is not None:
            wset.pending[self] = None
            for t in wset.waiters:
                t.wake()
        if self.sync_waiter is not None:
            self.sync_waiter.wake()

    def has_pending_event(self) -> bool:
        return self.pending_event is not None

    def in_waitable_set(self) -> bool:
        return self.wset is not None

    def get_pending_event(self) -> Event:
        f = self.pending_event
        assert f is not None
        self.pending_event = None
        if self.wset is not None:
            self.wset.pending.pop(self, None)
        return f()

    def join(self, wset: WaitableSet | None) -> None:
        old = self.wset
        if old is not None:
            old.elems.pop(self, None)
            old.pending.pop(self, None)
        self.wset = wset
        if wset is not None:
            wset.elems[self] = None
            if self.pending_event is not None:
                wset.pending[self] = None
                for t in wset.waiters:
                    t.wake()

    def drop(self) -> None:
        self.join(None)


class WaitableSet:
    __slots__ = ("elems", "pending", "waiters")

    def __init__(self) -> None:
        self.elems: dict[Waitable, None] = {}
        #: Members with a pending event, in the order the events arrived.
        self.pending: dict[Waitable, None] = {}
        self.waiters: list[Thread] = []

    def has_pending_event(self) -> bool:
        return bool(self.pending)

    def get_pending_event(self) -> Event:
        w = next(iter(self.pending))
        return w.get_pending_event()

    def drop(self) -> None:
        if self.elems:
            raise Trap("cannot drop a waitable set that still has members (resource has children)")
        if self.waiters:
            raise Trap("cannot drop waitable set with waiters")

"""Deadlock detection.

When every guest thread is blocked and the host has nothing pending, the host's calls would
wait forever. Like Wasmtime, we trap them instead ("deadlock detected: event loop cannot make
further progress"), naming what was waiting.

"The host has nothing pending" is decided conservatively, so that a program that is merely
slow is never trapped: the check runs only when the asyncio loop has no other callback ready
and no timer scheduled, no host ``async def`` import is in flight, the host holds no open end
of a stream or future, and every asyncio task of the loop is blocked — directly, or through
tasks and ``gather`` it awaits — on a wasmloop call. Anything else (a task waiting on a
socket, a timer) might still unblock the guests, so no trap.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from ..errors import Trap

__all__ = ["register_waiter", "unregister_waiter", "track_host_coroutine", "track_host_end",
           "request_check"]

MESSAGE = "wasm trap: deadlock detected: event loop cannot make further progress"

#: asyncio future a host call awaits → the call (it has ``fail_deadlock(trap)`` and
#: ``describe()``).
_waiters: dict[asyncio.Future[Any], Any] = {}
_host_coroutines: weakref.WeakSet[Any] = weakref.WeakSet()
_host_ends: weakref.WeakSet[Any] = weakref.WeakSet()
_check_pending: set[asyncio.AbstractEventLoop] = set()


def register_waiter(fut: asyncio.Future[Any], call: Any) -> None:
    _waiters[fut] = call
    request_check()


def unregister_waiter(fut: asyncio.Future[Any]) -> None:
    _waiters.pop(fut, None)


def track_host_coroutine(hc: Any) -> None:
    _host_coroutines.add(hc)


def track_host_end(end: Any) -> None:
    _host_ends.add(end)


def request_check() -> None:
    """Something went idle: check for a deadlock once the loop has run what is ready."""
    if not _waiters:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if loop in _check_pending:
        return
    _check_pending.add(loop)
    loop.call_soon(_check, loop, 8)


def _check(loop: asyncio.AbstractEventLoop, retries: int) -> None:
    _check_pending.discard(loop)
    if getattr(loop, "_ready", None):
        if retries > 0:  # other callbacks still to run: look again after them
            _check_pending.add(loop)
            loop.call_soon(_check, loop, retries - 1)
        return
    if not _deadlocked(loop):
        return
    calls = [c for f, c in list(_waiters.items()) if not f.done() and f.get_loop() is loop]
    if not calls:
        return
    waiting = "; ".join(c.describe() for c in calls)
    for c in calls:
        c.fail_deadlock(Trap(f"{MESSAGE} (waiting: {waiting})"))


def _deadlocked(loop: asyncio.AbstractEventLoop) -> bool:
    from .thread import scheduler

    if scheduler.ready:
        return False
    scheduled = getattr(loop, "_scheduled", None)
    if scheduled is None or any(not h.cancelled() for h in scheduled):
        return False
    for hc in _host_coroutines:
        if hc.finished:
            continue
        w = hc.awaiting
        if w is None or (not w.done() and w.get_loop() is loop):
            return False  # host work in flight on this loop (or about to step)
    from .copy import drop_abandoned

    drop_abandoned()
    if any(end.shared is not None for end in _host_ends):
        return False
    ours = {f for f in _waiters if not f.done()}
    if not ours:
        return False
    for task in asyncio.all_tasks(loop):
        if not _blocked_on_us(task, ours, 0):
            return False
    return True


def _blocked_on_us(fut: Any, ours: set[Any], depth: int) -> bool:
    if depth > 50:
        return False
    if fut in ours:
        return True
    if isinstance(fut, asyncio.Task):
        if fut.done():
            return True
        inner = getattr(fut, "_fut_waiter", None)
        return inner is not None and _blocked_on_us(inner, ours, depth + 1)
    children = getattr(fut, "_children", None)  # asyncio.gather's future
    if children is not None:
        return all(c.done() or _blocked_on_us(c, ours, depth + 1) for c in children)
    return False

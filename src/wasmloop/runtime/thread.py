"""Driving guest code from the asyncio loop.

A *guest thread* here is one logical thread of control: a call that started on the host (an
``await`` of an export) and everything it runs, across component boundaries, as a chain of
wasmtime fibers. The fibers are polled only by the coroutine that drives the thread; when the
innermost suspended point (a host ``async def`` import awaiting a future, say) cannot make
progress, it records what it waits on in ``GuestThread.wait`` and every fiber up the chain
suspends. The driver then awaits that, and polls again once it is ready: no busy polling, no
OS threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from ..engine import Pending
from ..errors import Trap

__all__ = ["GuestThread", "current", "drive", "drive_sync", "CoroutineStep", "NOT_READY"]


#: Returned by a poll that cannot finish yet (the engine's sentinel).
NOT_READY: Any = Pending.NOT_READY


class GuestThread:
    """A logical thread of control through guest code, driven by one host coroutine."""

    __slots__ = ("wait", "error", "__weakref__")

    def __init__(self) -> None:
        #: What the innermost suspended point waits on: an asyncio future, or None for "yield
        #: to the loop once".
        self.wait: Any = None
        #: The Python exception behind the last host-side trap, for chaining.
        self.error: BaseException | None = None


_current: GuestThread | None = None


def current() -> GuestThread:
    """The guest thread whose fibers are being polled right now."""
    t = _current
    if t is None:
        raise Trap("no guest thread is running")
    return t


def poll_as(thread: GuestThread, poll: Callable[[], bool]) -> bool:
    global _current
    prev = _current
    _current = thread
    try:
        return poll()
    finally:
        _current = prev


async def _wait_for(w: Any) -> None:
    if w is None:
        await asyncio.sleep(0)
        return
    if w.done():
        return
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def wake(_: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)

    w.add_done_callback(wake)
    try:
        await waiter
    except asyncio.CancelledError:
        w.remove_done_callback(wake)
        w.cancel()
        raise


async def drive(thread: GuestThread, poll: Callable[[], bool]) -> None:
    """Poll until ``poll`` reports completion, awaiting what the thread waits on in between."""
    while not poll_as(thread, poll):
        w = thread.wait
        thread.wait = None
        await _wait_for(w)


_runner: asyncio.Runner | None = None


def drive_sync(thread: GuestThread, poll: Callable[[], bool]) -> None:
    """Like ``drive`` but from synchronous code: polls in place while nothing needs the loop,
    and runs a private event loop only when the guest waits on host async work."""
    if poll_as(thread, poll):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "a synchronous call into a component would block inside a running event loop; "
            "use `await` instead"
        )
    global _runner
    if _runner is None:
        _runner = asyncio.Runner()

    async def rest() -> None:
        w = thread.wait
        thread.wait = None
        await _wait_for(w)
        await drive(thread, poll)

    _runner.run(rest())


class CoroutineStep:
    """Runs a host coroutine in place, on the calling guest's fiber, one step per poll.

    The coroutine is stepped by hand (``send``), the way ``asyncio.Task`` does it, so a host
    ``async def`` that finishes without awaiting anything costs no task and no loop turn. When
    it awaits a future, the future becomes the guest thread's wait object.
    """

    __slots__ = ("coro", "finish", "awaiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], finish: Callable[[Any], Any]) -> None:
        self.coro = coro
        self.finish = finish
        #: The future the coroutine is blocked on; it must not be resumed before it is done.
        self.awaiting: Any = None

    def poll(self) -> Any:
        w = self.awaiting
        if w is not None:
            if not w.done():
                current().wait = w
                return NOT_READY
            self.awaiting = None
        try:
            y = self.coro.send(None)
        except StopIteration as stop:
            return self.finish(stop.value)
        if y is not None:
            if getattr(y, "_asyncio_future_blocking", None) is None:
                self.coro.close()
                raise TypeError(f"host coroutine awaited {y!r}, which is not an asyncio future")
            y._asyncio_future_blocking = False
            self.awaiting = y
        current().wait = y
        return NOT_READY

    def close(self) -> None:
        self.coro.close()

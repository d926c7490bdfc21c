"""Readiness of a non-blocking socket on the asyncio loop.

Every wait on a socket goes through its ``FdWatch``: one ``add_reader``/``add_writer``
registration however many waiters (a guest may subscribe to the same socket several times, and
asyncio keeps only one callback per fd and direction). The socket calls themselves are plain
non-blocking system calls made on the loop; they never block it.
"""

from __future__ import annotations

import asyncio
import select
import socket

__all__ = ["FdWatch", "ready_now"]


def ready_now(sock: socket.socket, write: bool = False) -> bool:
    """Whether ``sock`` is readable (or writable) right now (also true once it errored)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if hasattr(select, "poll"):
        p = select.poll()
        p.register(fd, select.POLLOUT if write else select.POLLIN)
        return bool(p.poll(0))
    r, w, _ = select.select([] if write else [fd], [fd] if write else [], [], 0)
    return bool(r or w)


class FdWatch:
    """Waiters for one socket's readability and writability."""

    __slots__ = ("sock", "fd", "loop", "_waiters")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiters: tuple[list[asyncio.Future[None]], list[asyncio.Future[None]]] = ([], [])

    async def wait(self, write: bool = False) -> None:
        """Returns once the socket is readable (``write``: writable), or was closed."""
        if self.fd < 0:
            return
        loop = asyncio.get_running_loop()
        self.loop = loop
        waiters = self._waiters[write]
        fut: asyncio.Future[None] = loop.create_future()
        waiters.append(fut)
        if len(waiters) == 1:
            if write:
                loop.add_writer(self.fd, self._wake, True)
            else:
                loop.add_reader(self.fd, self._wake, False)
        try:
            await fut
        finally:
            if fut in waiters:
                waiters.remove(fut)
                if not waiters:
                    self._unregister(write)

    def _unregister(self, write: bool) -> None:
        if self.loop is None or self.fd < 0:
            return
        if write:
            self.loop.remove_writer(self.fd)
        else:
            self.loop.remove_reader(self.fd)

    def _wake(self, write: bool) -> None:
        waiters = self._waiters[write]
        self._unregister(write)
        pending, waiters[:] = list(waiters), []
        for fut in pending:
            if not fut.done():
                fut.set_result(None)

    def close(self) -> None:
        """Wakes every waiter and forgets the fd (call before closing the socket)."""
        if self.fd < 0:
            return
        for write in (False, True):
            if self._waiters[write]:
                self._wake(write)
        self.fd = -1

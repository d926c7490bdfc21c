"""``wasi:clocks@0.2``: ``monotonic-clock`` (with timers as pollables) and ``wall-clock``.

The monotonic clock is ``time.monotonic_ns()``, the clock asyncio's own timers run on, so a
``subscribe-instant``/``subscribe-duration`` pollable is an asyncio timer: blocking on it suspends
only the calling guest.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Literal

from wasmloop.values import Record

from .io import Pollable

if TYPE_CHECKING:
    from wasmloop.host import Linker

    from ..ctx import WasiCtx

__all__ = ["register", "timer"]

VERSION = "0.2.12"


def _resolution_ns(clock: Literal["monotonic", "time"]) -> int:
    try:
        return max(1, round(time.get_clock_info(clock).resolution * 1e9))
    except (ValueError, OSError):
        return 1


def timer(deadline_ns: int) -> Pollable:
    """A pollable ready once ``time.monotonic_ns()`` reaches ``deadline_ns``."""

    def is_ready() -> bool:
        return time.monotonic_ns() >= deadline_ns

    async def wait() -> None:
        delay = deadline_ns - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)

    return Pollable(is_ready, wait)


def yield_once() -> Pollable:
    """A deadline already past, as Wasmtime's: not ready until it was waited on once, and that
    wait only lets the loop run what is ready (a zero sleep yields to everyone else)."""
    yielded = False

    def is_ready() -> bool:
        return yielded

    async def wait() -> None:
        nonlocal yielded
        if not yielded:
            yielded = True
            await asyncio.sleep(0)

    return Pollable(is_ready, wait)


class MonotonicClock:
    """``wasi:clocks/monotonic-clock``."""

    def __init__(self) -> None:
        self._resolution = _resolution_ns("monotonic")

    def now(self) -> int:
        return time.monotonic_ns()

    def resolution(self) -> int:
        return self._resolution

    def subscribe_instant(self, when: int) -> Pollable:
        return timer(when) if when > time.monotonic_ns() else yield_once()

    def subscribe_duration(self, when: int) -> Pollable:
        return timer(time.monotonic_ns() + when) if when > 0 else yield_once()


class WallClock:
    """``wasi:clocks/wall-clock``: ``datetime`` records since the Unix epoch."""

    def __init__(self) -> None:
        self._resolution = _resolution_ns("time")

    def now(self) -> Record:
        ns = time.time_ns()
        return Record(seconds=ns // 1_000_000_000, nanoseconds=ns % 1_000_000_000)

    def resolution(self) -> Record:
        r = self._resolution
        return Record(seconds=r // 1_000_000_000, nanoseconds=r % 1_000_000_000)


def register(linker: Linker, ctx: WasiCtx | None = None) -> None:
    """Define ``wasi:clocks/{monotonic-clock,wall-clock}@0.2.12`` on ``linker``."""
    linker.define_interface(f"wasi:clocks/monotonic-clock@{VERSION}", MonotonicClock())
    linker.define_interface(f"wasi:clocks/wall-clock@{VERSION}", WallClock())

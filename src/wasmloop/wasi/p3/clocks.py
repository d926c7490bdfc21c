"""``wasi:clocks@0.3.0``: the monotonic clock with real asyncio timers, the system clock, and
a timezone that is always UTC (the host's own zone is not shown to the guest)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ...host import Linker
from ..ctx import WasiCtx

__all__ = ["register"]

VERSION = "0.3.0"


class MonotonicClock:
    @staticmethod
    def now() -> int:
        return time.monotonic_ns()

    @staticmethod
    def get_resolution() -> int:
        return 1

    @staticmethod
    async def wait_until(when: int) -> None:
        delay = when - time.monotonic_ns()
        if delay > 0:
            await asyncio.sleep(delay / 1e9)
        else:
            await asyncio.sleep(0)

    @staticmethod
    async def wait_for(how_long: int) -> None:
        await asyncio.sleep(how_long / 1e9 if how_long > 0 else 0)


def _instant(ns: int) -> dict[str, int]:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return {"seconds": seconds, "nanoseconds": nanos}


class SystemClock:
    @staticmethod
    def now() -> dict[str, int]:
        return _instant(time.time_ns())

    @staticmethod
    def get_resolution() -> int:
        return 1


class Timezone:
    @staticmethod
    def iana_id() -> str | None:
        return "UTC"

    @staticmethod
    def utc_offset(when: Any) -> int | None:
        return 0

    @staticmethod
    def to_debug_string() -> str:
        return "UTC"


def register(linker: Linker, ctx: WasiCtx) -> None:
    v = VERSION
    linker.define_interface(f"wasi:clocks/types@{v}", object())
    linker.define_interface(f"wasi:clocks/monotonic-clock@{v}", MonotonicClock())
    linker.define_interface(f"wasi:clocks/system-clock@{v}", SystemClock())
    linker.define_interface(f"wasi:clocks/timezone@{v}", Timezone())

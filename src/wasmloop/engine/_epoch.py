"""The epoch ticker: a daemon thread that advances an engine's epoch at a fixed period.

wasmtime's epoch interruption checks, at function entries and loop back-edges, whether the
engine's epoch has reached the running store's deadline; if so the guest traps with
``wasm trap: interrupt``. A guest spinning in wasm holds the Python thread inside a ctypes
call (which releases the GIL), so only another OS thread can advance the epoch: this one.

The thread runs only while at least one store has a deadline (``acquire``/``release``), and
catches up on wall-clock time: after a late wake-up it increments the epoch as many times as
whole periods have passed, so a deadline of ``n`` ticks never fires earlier than ``n``
periods after it was set, and never much later.
"""

from __future__ import annotations

import threading
import time

from . import _capi

#: Seconds per epoch tick.
TICK = 0.005


class EpochTicker:
    def __init__(self, engine_ptr: int, tick: float = TICK) -> None:
        self._engine = engine_ptr
        self.tick = tick
        self._users = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    def ticks_for(self, seconds: float) -> int:
        """The deadline, in ticks beyond the current epoch, for ``seconds`` from now."""
        return max(1, int(seconds / self.tick) + 1)

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="wasmloop-epoch", daemon=True
                )
                self._thread.start()

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)

    def close(self) -> None:
        """Stops the thread (the engine is going away); waits for it."""
        with self._lock:
            self._closed = True
            self._wake.notify_all()
            t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join()

    def _run(self) -> None:
        start = time.monotonic()
        done = 0
        engine = self._engine
        while True:
            with self._lock:
                if self._closed or self._users == 0:
                    self._thread = None
                    return
                self._wake.wait(self.tick)
                if self._closed:
                    self._thread = None
                    return
            due = int((time.monotonic() - start) / self.tick)
            while done < due:
                _capi.wasmtime_engine_increment_epoch(engine)
                done += 1

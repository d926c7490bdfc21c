"""Limits for untrusted guests: time, fuel, memory, tables and handles per instance.

``Limits`` applies to one top-level instantiation (its store: the instance and every component
instance nested in it). Engine-wide switches (epoch interruption, fuel metering, stack sizes)
are ``wasmloop.Engine`` arguments; ``Limits`` that need one of them say so when used.

The command line spells them as Wasmtime does: ``-W timeout=10s`` (or ``--timeout``),
``-W fuel=N``, ``-W max-memory-size=BYTES``, ``-W max-table-elements=N``,
``-W max-instances=N``, ``-W max-tables=N``, ``-W max-memories=N``, and
``-S max-component-handles=N``.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Trap
from .runtime.table import DEFAULT_MAX_HANDLES, HandleBudget

if TYPE_CHECKING:
    from .engine import Store
    from .runtime.instance import ComponentInstance

__all__ = ["Limits", "parse_duration", "parse_size", "INTERRUPT_MESSAGE"]

#: Wasmtime's message for an epoch deadline reached by running wasm.
INTERRUPT_MESSAGE = "wasm trap: interrupt"


@dataclass(frozen=True)
class Limits:
    """What one instantiation may use.

    - ``timeout``: seconds of wall-clock time from instantiation. Running wasm past it traps
      ``wasm trap: interrupt`` (epoch interruption: needs ``Engine(epoch_interruption=True)``);
      a guest still waiting then (on a host future that never resolves, say) is woken and
      ends with the same trap, and the instance is poisoned.
    - ``fuel``: units of fuel (about one per wasm instruction) for the whole store; running
      out traps ``wasm trap: all fuel consumed by WebAssembly`` (needs
      ``Engine(consume_fuel=True)``).
    - ``max_memory_size``: bytes per linear memory. ``memory.grow`` past it returns -1; a
      memory whose minimum is larger fails instantiation.
    - ``max_table_elements``, ``max_instances``, ``max_tables``, ``max_memories``: wasmtime's
      other store limits (elements per table; core instances, tables and memories in the
      store).
    - ``max_handles``: handles (resources, waitables, waitable sets, error contexts, threads)
      the store's component instances hold together; one more traps. Default 100,000.
    """

    timeout: float | None = None
    fuel: int | None = None
    max_memory_size: int | None = None
    max_table_elements: int | None = None
    max_instances: int | None = None
    max_tables: int | None = None
    max_memories: int | None = None
    max_handles: int = DEFAULT_MAX_HANDLES

    def __post_init__(self) -> None:
        for name in ("timeout", "fuel", "max_memory_size", "max_table_elements",
                     "max_instances", "max_tables", "max_memories", "max_handles"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"Limits.{name} must not be negative, got {v!r}")

    # -- applying -------------------------------------------------------------------------------

    def apply_to_store(self, store: Store) -> None:
        """Configures a fresh store (before anything is instantiated in it)."""
        engine = store.engine
        if self.timeout is not None and not engine.epoch_interruption:
            raise ValueError("Limits(timeout=...) needs wasmloop.Engine(epoch_interruption=True)")
        if self.fuel is not None and not engine.consume_fuel:
            raise ValueError("Limits(fuel=...) needs wasmloop.Engine(consume_fuel=True)")
        store.handle_budget = HandleBudget(self.max_handles)  # type: ignore[attr-defined]
        if any(v is not None for v in (self.max_memory_size, self.max_table_elements,
                                        self.max_instances, self.max_tables,
                                        self.max_memories)):
            store.set_limits(
                memory_size=self.max_memory_size,
                table_elements=self.max_table_elements,
                instances=self.max_instances,
                tables=self.max_tables,
                memories=self.max_memories,
            )
        if self.fuel is not None:
            store.set_fuel(self.fuel)
        if self.timeout is not None:
            store.set_deadline(self.timeout)

    def arm_timeout(self, inst: ComponentInstance, loop: asyncio.AbstractEventLoop) -> Any:
        """At the deadline, poison ``inst`` (waking its waiting threads, which then trap
        ``wasm trap: interrupt``). Returns the timer handle (``cancel()`` it on close)."""
        if self.timeout is None:
            return None

        def interrupt() -> None:
            if not inst.poisoned:
                inst.poison(Trap(INTERRUPT_MESSAGE))

        return loop.call_later(self.timeout, interrupt)


# -- parsing (the command line) ---------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|min|h)?\s*$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0,
         "h": 3600.0}


def parse_duration(text: str) -> float:
    """``10s``, ``500ms``, ``1.5s``, ``2m``, ``1h``, or a bare number of seconds → seconds."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 10s, 500ms, 2m)")
    return float(m.group(1)) * _UNIT[m.group(2) or "s"]


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNIT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """A byte count: ``65536``, ``64K``, ``16MiB``, ``1G`` (binary units) or ``0x...``."""
    t = text.strip()
    if t.lower().startswith("0x"):
        try:
            return int(t, 16)
        except ValueError:
            pass
    else:
        m = _SIZE.match(t)
        if m is not None:
            unit = m.group(2)
            return int(m.group(1)) * (_SIZE_UNIT[unit[0].lower()] if unit else 1)
    raise ValueError(f"invalid size {text!r} (expected bytes, e.g. 1048576 or 16MiB)")


def parse_count(text: str) -> int:
    try:
        v = int(text.strip().replace("_", ""), 0)
    except ValueError:
        raise ValueError(f"invalid number {text!r}") from None
    if v < 0:
        raise ValueError(f"invalid number {text!r}: must not be negative")
    return v

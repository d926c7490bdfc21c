"""A fake canonical-ABI context for the abi tests: bytearray memory, bump realloc, hooks."""

from __future__ import annotations

from typing import Any


class FakeCx:
    """``view()``/``realloc()`` over a bytearray; grows by replacing the bytearray (so a stale
    view keeps pointing at the old bytes) and records every realloc and hook call."""

    def __init__(self, size: int = 1 << 16, grow: bool = True, start: int = 8) -> None:
        self.mem = bytearray(size)
        self.next = start
        self.grow = grow
        self.reallocs: list[tuple[int, int, int, int]] = []
        self.calls: list[tuple[Any, ...]] = []
        self.handles: dict[int, Any] = {}
        self.next_handle = 1
        self.realloc_override: Any = None

    def view(self) -> memoryview:
        return memoryview(self.mem)

    def realloc(self, old: int, old_size: int, align: int, new_size: int) -> int:
        self.reallocs.append((old, old_size, align, new_size))
        if self.realloc_override is not None:
            return int(self.realloc_override(old, old_size, align, new_size))
        ptr = (self.next + align - 1) & -align
        self.next = ptr + new_size
        if self.next > len(self.mem) and self.grow:
            new = bytearray(max(2 * len(self.mem), self.next + 1024))
            new[: len(self.mem)] = self.mem
            self.mem = new
        if old and new_size:
            n = min(old_size, new_size)
            self.mem[ptr : ptr + n] = self.mem[old : old + n]
        return ptr

    def _new_handle(self, obj: Any) -> int:
        i = self.next_handle
        self.next_handle += 1
        self.handles[i] = obj
        return i

    def lift_own(self, rt: Any, i: int) -> Any:
        self.calls.append(("lift_own", rt, i))
        return self.handles.pop(i)

    def lift_borrow(self, rt: Any, i: int) -> Any:
        self.calls.append(("lift_borrow", rt, i))
        return self.handles[i]

    def lower_own(self, rt: Any, obj: Any) -> int:
        self.calls.append(("lower_own", rt, obj))
        return self._new_handle(obj)

    def lower_borrow(self, rt: Any, obj: Any) -> int:
        self.calls.append(("lower_borrow", rt, obj))
        return self._new_handle(obj)

    def lift_stream(self, t: Any, i: int) -> Any:
        self.calls.append(("lift_stream", t, i))
        return self.handles.pop(i)

    def lower_stream(self, t: Any, obj: Any) -> int:
        self.calls.append(("lower_stream", t, obj))
        return self._new_handle(obj)

    def lift_future(self, t: Any, i: int) -> Any:
        self.calls.append(("lift_future", t, i))
        return self.handles.pop(i)

    def lower_future(self, t: Any, obj: Any) -> int:
        self.calls.append(("lower_future", t, obj))
        return self._new_handle(obj)

    def lift_error_context(self, i: int) -> Any:
        self.calls.append(("lift_error_context", i))
        return self.handles[i]

    def lower_error_context(self, obj: Any) -> int:
        self.calls.append(("lower_error_context", obj))
        return self._new_handle(obj)

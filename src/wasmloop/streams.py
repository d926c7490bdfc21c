"""Streams and futures for Python programs (the host side of ``stream<T>`` / ``future<T>``).

```python
writer, reader = wasmloop.stream(wasmloop.types.U8)
result = instance.exports["consume"](reader)     # the component now owns the readable end
async with writer:
    await writer.write(b"hello")                  # returns once the component read it all
await result

async for chunk in await instance.exports["produce"]():   # a stream<u8> result
    ...                                                    # chunks are bytes

fw, fr = wasmloop.future(wasmloop.types.STRING)
fw.write("done")                                   # offered; the reader takes it when it reads
print(await fr)
```

Chunks are ``bytes`` for ``stream<u8>`` and lists of Python values otherwise (``[None, …]`` for
``stream`` without a payload). A read returns as soon as the writer offered anything; it raises
:class:`EndOfStream` at the end. A write waits until the reader took every element and raises
:class:`BrokenResourceError` if the reader is gone. Every end is single-owner: passing a
reader into a component moves it there. Nothing polls and no thread is involved: a component's
progress completes the host's asyncio futures and the host's progress wakes guest threads.
"""

from __future__ import annotations

from .runtime.copy import (
    BrokenResourceError,
    BusyResourceError,
    ClosedResourceError,
    EndOfStream,
)
from .runtime.error_context import ErrorContext
from .runtime.feed import future_from, stream_from
from .runtime.future import FutureReader, FutureWriter, new_future
from .runtime.stream import StreamReader, StreamWriter, new_stream
from .types import ValType

__all__ = [
    "stream",
    "future",
    "stream_from",
    "future_from",
    "StreamReader",
    "StreamWriter",
    "FutureReader",
    "FutureWriter",
    "ErrorContext",
    "EndOfStream",
    "BrokenResourceError",
    "ClosedResourceError",
    "BusyResourceError",
]


def _check(t: ValType | None, what: str) -> None:
    if t is not None and not isinstance(t, ValType):
        raise TypeError(f"{what} element type must be a wasmloop.types value type or None, "
                        f"not {type(t).__name__}")


def stream(t: ValType | None) -> tuple[StreamWriter, StreamReader]:
    """A new ``stream<t>`` (``t`` None: a stream without payload): ``(writer, reader)``."""
    _check(t, "stream")
    return new_stream(t)


def future(t: ValType | None) -> tuple[FutureWriter, FutureReader]:
    """A new ``future<t>`` (``t`` None: a future without payload): ``(writer, reader)``."""
    _check(t, "future")
    return new_future(t)

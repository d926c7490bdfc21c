"""Stream and future ends fed from Python values.

``stream_from(t, source)`` makes a ``stream<t>`` whose writable end a background asyncio task
feeds from ``source``: ``bytes`` (for ``stream<u8>``), a list of elements, or an iterable or
async iterable of such chunks. ``future_from(t, source)`` makes a ``future<t>`` written with
the result of an awaitable (or with ``source`` itself if it is a plain value).

A host function whose result type holds a ``stream<T>``/``future<T>`` may return such a
source directly: lowering it makes the end. The feeding task stops when the reader drops its
end (the source's ``aclose()``/``close()`` is called); an exception from the source closes
the writable end (the reader sees the end of the stream, or a future dropped without a value)
and is reported to the loop's exception handler.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from ..types import ValType
from .copy import BrokenResourceError
from .future import FutureReader, FutureWriter, new_future
from .stream import StreamReader, StreamWriter, new_stream

__all__ = ["stream_from", "future_from", "is_stream_source", "is_future_source"]

#: Feeding tasks in flight (asyncio keeps only weak references to tasks).
_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any, what: str) -> None:
    loop = asyncio.get_running_loop()
    task = loop.create_task(coro, name=what)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _report(loop: asyncio.AbstractEventLoop, what: str, exc: BaseException) -> None:
    loop.call_exception_handler({"message": f"wasmloop: the source of {what} raised",
                                 "exception": exc})


def is_stream_source(v: Any) -> bool:
    return (isinstance(v, bytes | bytearray | memoryview | list | tuple)
            or hasattr(v, "__aiter__") or (hasattr(v, "__iter__") and not isinstance(v, str)))


def stream_from(t: ValType | None, source: Any) -> StreamReader:
    """A readable end of a new ``stream<t>`` fed from ``source`` (see the module docs)."""
    w, r = new_stream(t)
    if isinstance(source, bytes | bytearray | memoryview | list | tuple):
        source = (source,)
    _spawn(_feed_stream(w, source), "wasmloop stream feeder")
    return r


async def _feed_stream(w: StreamWriter, source: Any) -> None:
    try:
        if hasattr(source, "__aiter__"):
            it = source.__aiter__()
            try:
                async for chunk in it:
                    await w.write(chunk)
            finally:
                aclose = getattr(it, "aclose", None)
                if aclose is not None:
                    await aclose()
        else:
            it = iter(source)
            try:
                for chunk in it:
                    await w.write(chunk)
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
    except BrokenResourceError:
        pass  # the reader went away: stop feeding
    except asyncio.CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - reported, and the reader sees the end
        _report(asyncio.get_running_loop(), "a stream", e)
    finally:
        w.close()


def is_future_source(v: Any) -> bool:
    return inspect.isawaitable(v)


def future_from(t: ValType | None, source: Any) -> FutureReader:
    """A readable end of a new ``future<t>`` written with ``await source`` (or ``source``
    itself when it is not awaitable)."""
    w, r = new_future(t)
    if inspect.isawaitable(source):
        _spawn(_feed_future(w, source), "wasmloop future feeder")
    else:
        w.write(source)
    return r


async def _feed_future(w: FutureWriter, source: Any) -> None:
    try:
        value = await source
    except asyncio.CancelledError:
        w.close()
        raise
    except Exception as e:  # noqa: BLE001 - reported; the reader sees the writer dropped
        _report(asyncio.get_running_loop(), "a future", e)
        w.close()
        return
    if w.shared is not None:
        w.write(value)
    w.close()

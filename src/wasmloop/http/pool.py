"""The instance pool behind ``wasmloop.asgi.App`` and ``wasmloop serve``.

A service component is linked once (by its factory); the pool then makes instances from it
as requests need them and decides reuse and concurrency, with Wasmtime's defaults:

- an instance takes at most ``max_reuse`` requests in its life (128; ``wasmtime serve
  --max-instance-reuse-count``), then retires: it takes no new request and is closed when the
  ones it has finish;
- at most ``max_concurrent`` requests run on one instance at once (16;
  ``--max-instance-concurrent-reuse-count``); more at once start another instance;
- an idle instance is kept ``idle_timeout`` seconds (1 s, ``--idle-instance-timeout``) for
  reuse and then closed; wasmloop keeps the last one warm (``keep_warm``), because
  instantiating a 20 MB interpreter costs more here than under Wasmtime;
- ``max_reuse=1`` gives a fresh instance per request;
- an instance that traps (its ``broken`` turns true, or ``handle`` raises ``Trap``) is
  discarded at once; the request that trapped gets the error, requests on other instances
  carry on. (Requests in flight on the same instance share its fate: a trap poisons the
  whole instance, as under Wasmtime.)

A request holds its place on the instance until its response body and trailers are done (a
guest keeps running while it streams), or until the reader stops early.

The pool is itself a ``Handler`` (``await pool.handle(request)``), so it can be the ``next``
of a middleware component.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import Trap

__all__ = ["InstancePool", "PoolOptions", "ServiceFactoryLike", "ServiceInstanceLike",
           "release_response"]

log = logging.getLogger("wasmloop.serve")


@runtime_checkable
class ServiceInstanceLike(Protocol):
    """What the pool needs of an instance: P3's/P2's ``ServiceInstance``."""

    broken: bool

    async def handle(self, request: Any) -> Any: ...


@runtime_checkable
class ServiceFactoryLike(Protocol):
    """A linked service component that makes instances."""

    async def new_instance(self) -> Any: ...


@dataclass(frozen=True)
class PoolOptions:
    #: requests one instance serves in its life (1 = a fresh instance per request)
    max_reuse: int = 128
    #: requests running on one instance at once
    max_concurrent: int = 16
    #: seconds an idle instance is kept for reuse (None: forever)
    idle_timeout: float | None = 1.0
    #: keep the most recent idle instance past ``idle_timeout``
    keep_warm: bool = True
    #: requests in flight over the whole pool; more wait (None: no limit)
    max_requests: int | None = None

    def __post_init__(self) -> None:
        if self.max_reuse < 1:
            raise ValueError("max_reuse must be at least 1")
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        if self.idle_timeout is not None and self.idle_timeout < 0:
            raise ValueError("idle_timeout must not be negative")
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError("max_requests must be at least 1")


class _Slot:
    """One instance (or one being made) and its bookkeeping."""

    __slots__ = ("instance", "ready", "active", "started", "retired", "idle_handle", "seq")

    def __init__(self, seq: int) -> None:
        self.instance: Any = None
        self.ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.active = 0        # requests holding this slot now
        self.started = 0       # requests given to it, ever
        self.retired = False   # no new requests
        self.idle_handle: asyncio.TimerHandle | None = None
        self.seq = seq


def _is_broken(inst: Any) -> bool:
    return bool(getattr(inst, "broken", False))


async def _close_instance(inst: Any) -> None:
    for name in ("aclose", "close"):
        fn = getattr(inst, name, None)
        if fn is None:
            continue
        try:
            r = fn()
            if isinstance(r, Awaitable):
                await r
        except Exception as e:  # noqa: BLE001 - closing a broken instance may fail too
            log.debug("closing an instance failed: %s", e)
        return


class InstancePool:
    """Instances of one linked service, made on demand and reused (see the module doc)."""

    def __init__(self, factory: Any, options: PoolOptions | None = None) -> None:
        if not hasattr(factory, "new_instance"):
            raise TypeError(f"{factory!r} has no new_instance()")
        self.factory = factory
        self.options = options or PoolOptions()
        self._slots: list[_Slot] = []
        self._seq = 0
        self._closed = False
        self._gate = (asyncio.Semaphore(self.options.max_requests)
                      if self.options.max_requests is not None else None)
        self._closing: set[asyncio.Task[None]] = set()
        #: counters, for tests and the log
        self.instances_made = 0
        self.instances_discarded = 0

    # -- the pool's life -------------------------------------------------------------------

    async def start(self) -> None:
        """Make the first instance now (at server start-up), so the first request does not
        pay for it and a component that cannot be instantiated fails at start."""
        slot = self._new_slot()
        try:
            await slot.ready
        except BaseException:
            if slot in self._slots:
                self._slots.remove(slot)
            raise
        self._arm_idle(slot)

    async def close(self) -> None:
        """Close every instance (after the server has drained its requests)."""
        self._closed = True
        slots, self._slots = self._slots, []
        for s in slots:
            if s.idle_handle is not None:
                s.idle_handle.cancel()
            if s.instance is not None:
                await _close_instance(s.instance)
            elif not s.ready.done():
                s.ready.cancel()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    @property
    def live_instances(self) -> int:
        return sum(1 for s in self._slots if s.instance is not None)

    # -- requests --------------------------------------------------------------------------

    async def handle(self, request: Any) -> Any:
        """Serve ``request`` on a pooled instance; returns its response, whose body and
        trailers keep the instance's place until they are done."""
        if self._closed:
            raise RuntimeError("the instance pool is closed")
        if self._gate is not None:
            await self._gate.acquire()
        try:
            slot = self._acquire()
            try:
                inst = await asyncio.shield(slot.ready) if not slot.ready.done() \
                    else slot.ready.result()
            except BaseException:
                self._release(slot, failed=True)
                raise
            try:
                response = await inst.handle(request)
            except BaseException as e:
                self._release(slot, failed=isinstance(e, Trap) or _is_broken(inst))
                raise
        except BaseException:
            if self._gate is not None:
                self._gate.release()
            raise
        lease = _Lease(self, slot)
        return lease.wrap(response)

    def _acquire(self) -> _Slot:
        opts = self.options
        best: _Slot | None = None
        for s in self._slots:
            if s.retired or s.active >= opts.max_concurrent:
                continue
            if s.instance is not None and _is_broken(s.instance):
                self._discard(s)
                continue
            # prefer the busiest usable instance: fewer live instances, warmer caches
            if best is None or s.active > best.active:
                best = s
        if best is None:
            best = self._new_slot()
        best.active += 1
        best.started += 1
        if best.started >= opts.max_reuse:
            best.retired = True
        if best.idle_handle is not None:
            best.idle_handle.cancel()
            best.idle_handle = None
        return best

    def _new_slot(self) -> _Slot:
        self._seq += 1
        slot = _Slot(self._seq)
        self._slots.append(slot)

        async def make() -> None:
            try:
                inst = await self.factory.new_instance()
            except BaseException as e:
                if slot in self._slots:
                    self._slots.remove(slot)
                if not slot.ready.done():
                    slot.ready.set_exception(e)
                if isinstance(e, Exception):
                    return
                raise
            self.instances_made += 1
            slot.instance = inst
            if self._closed or slot not in self._slots:
                await _close_instance(inst)
                if not slot.ready.done():
                    slot.ready.set_exception(RuntimeError("the instance pool is closed"))
                return
            if not slot.ready.done():
                slot.ready.set_result(inst)

        task = asyncio.get_running_loop().create_task(make())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        # a failure is handed to the waiters through slot.ready; make sure it is retrieved
        slot.ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        return slot

    def _release(self, slot: _Slot, *, failed: bool = False) -> None:
        slot.active -= 1
        if failed or (slot.instance is not None and _is_broken(slot.instance)):
            self._discard(slot)
        if slot.active == 0 and slot in self._slots:
            if slot.retired:
                self._drop(slot)
            else:
                self._arm_idle(slot)
        elif slot.active == 0 and slot.instance is not None and slot not in self._slots:
            self._close_later(slot.instance)
            slot.instance = None

    def _discard(self, slot: _Slot) -> None:
        if slot in self._slots:
            self._slots.remove(slot)
            self.instances_discarded += 1
            log.info("instance %d discarded (trapped)", slot.seq)
        slot.retired = True
        if slot.active == 0 and slot.instance is not None:
            self._close_later(slot.instance)
            slot.instance = None

    def _drop(self, slot: _Slot) -> None:
        if slot in self._slots:
            self._slots.remove(slot)
        if slot.idle_handle is not None:
            slot.idle_handle.cancel()
            slot.idle_handle = None
        if slot.instance is not None:
            self._close_later(slot.instance)
            slot.instance = None

    def _close_later(self, inst: Any) -> None:
        task = asyncio.get_running_loop().create_task(_close_instance(inst))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _arm_idle(self, slot: _Slot) -> None:
        timeout = self.options.idle_timeout
        if timeout is None or self._closed:
            return
        if slot.idle_handle is not None:
            slot.idle_handle.cancel()

        def expire() -> None:
            slot.idle_handle = None
            if slot.active or slot not in self._slots:
                return
            if self.options.keep_warm:
                idle = [s for s in self._slots if s.active == 0 and not s.retired
                        and s.instance is not None]
                if len(idle) == len([s for s in self._slots if s.instance is not None]) and \
                        max(idle, key=lambda s: s.seq) is slot:
                    return  # the last idle instance stays warm
            self._drop(slot)

        slot.idle_handle = asyncio.get_running_loop().call_later(timeout, expire)


class _Lease:
    """A request's hold on its instance, given back when the response's body and trailers
    are done with, or when its reader gives it up (``release_response``)."""

    __slots__ = ("pool", "slot", "pending", "released")

    def __init__(self, pool: InstancePool, slot: _Slot) -> None:
        self.pool = pool
        self.slot = slot
        self.pending = 0
        self.released = False

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.pool._release(self.slot)
        if self.pool._gate is not None:
            self.pool._gate.release()

    def _part_done(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.release()

    def wrap(self, response: Any) -> Any:
        body = getattr(response, "body", None)
        trailers = getattr(response, "trailers", None)
        if body is None and trailers is None:
            self.release()
            return response
        if body is not None:
            self.pending += 1
            response.body = _LeasedBody(self, body)
        if trailers is not None:
            self.pending += 1
            response.trailers = _LeasedTrailers(self, trailers)
        return response


class _LeasedBody:
    """An async iterator over a pooled response's body chunks."""

    def __init__(self, lease: _Lease, body: AsyncIterator[bytes]) -> None:
        self.lease = lease
        self.body = body
        self.it: AsyncIterator[bytes] | None = None
        self.done = False

    def __aiter__(self) -> _LeasedBody:
        return self

    async def __anext__(self) -> bytes:
        if self.done:
            raise StopAsyncIteration
        if self.it is None:
            self.it = aiter(self.body)
        try:
            return await anext(self.it)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            aclose = getattr(self.it if self.it is not None else self.body, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        finally:
            self.lease._part_done()


class _LeasedTrailers:
    """An awaitable for a pooled response's trailers."""

    def __init__(self, lease: _Lease, trailers: Awaitable[Any]) -> None:
        self.lease = lease
        self.trailers: Awaitable[Any] | None = trailers

    def __await__(self) -> Any:
        return self._get().__await__()

    async def _get(self) -> Any:
        t, self.trailers = self.trailers, None
        if t is None:
            raise RuntimeError("trailers awaited twice")
        try:
            return await t
        finally:
            self.lease._part_done()

    def abandon(self) -> None:
        t, self.trailers = self.trailers, None
        if t is None:
            return
        close = getattr(t, "close", None)   # an un-awaited coroutine
        if close is not None:
            with contextlib.suppress(Exception):
                close()
        cancel = getattr(t, "cancel", None)  # a future or task
        if cancel is not None:
            cancel()
        self.lease._part_done()


async def release_response(response: Any) -> None:
    """Give up what is left of a response from ``InstancePool.handle`` (or any Handler): close
    its body and drop its trailers if they were not awaited. Safe to call on any response,
    and more than once."""
    body = getattr(response, "body", None)
    if body is not None:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
    trailers = getattr(response, "trailers", None)
    if isinstance(trailers, _LeasedTrailers):
        trailers.abandon()
    elif trailers is not None and hasattr(trailers, "close") and not hasattr(trailers, "cancel"):
        with contextlib.suppress(Exception):
            trailers.close()

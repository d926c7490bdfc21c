"""``wasi:sockets@0.3.0``: ``types`` (``tcp-socket``, ``udp-socket``) and ``ip-name-lookup``,
over the policy-checked backend in ``wasmloop.wasi.sockets``.

Values are the embedding API's: addresses are ``Variant("ipv4", Record(port=…, address=(a, b,
c, d)))`` etc., results ``Ok``/``Err``. ``listen`` returns a stream fed by an async generator of
accepted sockets; ``send`` pumps the guest's ``stream<u8>`` into the socket and its future
resolves when the stream ended (the socket is then shut down for sending) or failed;
``receive`` is a stream of what arrives plus a future that resolves at the end of it. Errors
other than the WIT cases are ``other(none)``, as in Wasmtime.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any, ClassVar

from ...host import Linker
from ...streams import StreamReader
from ...values import Err, Ok, Variant
from ..ctx import NetworkPolicy, WasiCtx
from ..sockets import tcp as _tcp
from ..sockets import udp as _udp
from ..sockets.addr import address_from_wit, address_to_wit, family_from_wit, ip_to_wit
from ..sockets.errors import ERROR_CODES, LOOKUP_ERROR_CODES, SocketError
from ..sockets.ip_name_lookup import resolve_addresses

__all__ = ["register", "TcpSocket", "UdpSocket", "Types", "IpNameLookup", "error_code"]

VERSION = "0.3.0"


def error_code(e: SocketError) -> Any:
    """A ``wasi:sockets/types`` ``error-code`` value."""
    if e.code in ERROR_CODES and e.code != "other":
        return e.code
    return Variant("other", None)


def lookup_error_code(e: SocketError) -> Any:
    """A ``wasi:sockets/ip-name-lookup`` ``error-code`` value."""
    if e.code in LOOKUP_ERROR_CODES and e.code != "other":
        return e.code
    return Variant("other", None)


async def _value(v: Any) -> Any:
    return v


class TcpSocket:
    """``tcp-socket``: one backend ``TcpSocket``."""

    _policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    __slots__ = ("inner",)

    def __init__(self, inner: _tcp.TcpSocket) -> None:
        self.inner = inner

    @classmethod
    def create(cls, address_family: Any) -> Any:
        try:
            return Ok(cls(_tcp.TcpSocket.create(cls._policy, family_from_wit(address_family))))
        except SocketError as e:
            return Err(error_code(e))

    def bind(self, local_address: Any) -> Any:
        try:
            self.inner.bind(address_from_wit(local_address))
        except SocketError as e:
            return Err(error_code(e))
        return Ok()

    async def connect(self, remote_address: Any) -> Any:
        try:
            await self.inner.connect(address_from_wit(remote_address))
        except SocketError as e:
            return Err(error_code(e))
        return Ok()

    def listen(self) -> Any:
        try:
            self.inner.listen()
        except SocketError as e:
            return Err(error_code(e))
        return Ok(self._accepted())

    async def _accepted(self) -> AsyncIterator[list[TcpSocket]]:
        listener = self.inner
        listener.acquire()
        cls = type(self)
        try:
            while True:
                yield [cls(await listener.accept())]
        except SocketError:
            return
        finally:
            listener.release()

    def send(self, data: StreamReader) -> Awaitable[Any]:
        try:
            writer = self.inner.take_send()
        except SocketError as e:
            data.close()
            return _value(Err(error_code(e)))
        return self._pump(data, writer)

    @staticmethod
    async def _pump(data: StreamReader, writer: _tcp.TcpWriter) -> Any:
        try:
            async for chunk in data:
                await writer.write(chunk)
        except SocketError as e:
            data.close()
            return Err(error_code(e))
        finally:
            writer.close()
        return Ok()

    def receive(self) -> tuple[Any, Awaitable[Any]]:
        try:
            reader = self.inner.take_receive()
        except SocketError as e:
            return b"", _value(Err(error_code(e)))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return self._received(reader, done), done

    @staticmethod
    async def _received(reader: _tcp.TcpReader, done: asyncio.Future[Any]) -> AsyncIterator[bytes]:
        result: Any = Ok()
        try:
            while True:
                chunk = await reader.read()
                if not chunk:
                    break
                yield chunk
        except SocketError as e:
            result = Err(error_code(e))
        finally:
            reader.close()
            if not done.done():
                done.set_result(result)

    def _call(self, op: Any, *args: Any) -> Any:
        try:
            return Ok(op(*args))
        except SocketError as e:
            return Err(error_code(e))

    def get_local_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.local_address()))
        except SocketError as e:
            return Err(error_code(e))

    def get_remote_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.remote_address()))
        except SocketError as e:
            return Err(error_code(e))

    def get_is_listening(self) -> bool:
        return self.inner.is_listening()

    def get_address_family(self) -> str:
        return self.inner.family

    def set_listen_backlog_size(self, value: int) -> Any:
        return self._call(self.inner.set_listen_backlog_size, value)

    def get_keep_alive_enabled(self) -> Any:
        return self._call(self.inner.keep_alive_enabled)

    def set_keep_alive_enabled(self, value: bool) -> Any:
        return self._call(self.inner.set_keep_alive_enabled, value)

    def get_keep_alive_idle_time(self) -> Any:
        return self._call(self.inner.keep_alive_idle_time)

    def set_keep_alive_idle_time(self, value: int) -> Any:
        return self._call(self.inner.set_keep_alive_idle_time, value)

    def get_keep_alive_interval(self) -> Any:
        return self._call(self.inner.keep_alive_interval)

    def set_keep_alive_interval(self, value: int) -> Any:
        return self._call(self.inner.set_keep_alive_interval, value)

    def get_keep_alive_count(self) -> Any:
        return self._call(self.inner.keep_alive_count)

    def set_keep_alive_count(self, value: int) -> Any:
        return self._call(self.inner.set_keep_alive_count, value)

    def get_hop_limit(self) -> Any:
        return self._call(self.inner.hop_limit)

    def set_hop_limit(self, value: int) -> Any:
        return self._call(self.inner.set_hop_limit, value)

    def get_receive_buffer_size(self) -> Any:
        return self._call(self.inner.receive_buffer_size)

    def set_receive_buffer_size(self, value: int) -> Any:
        return self._call(self.inner.set_receive_buffer_size, value)

    def get_send_buffer_size(self) -> Any:
        return self._call(self.inner.send_buffer_size)

    def set_send_buffer_size(self, value: int) -> Any:
        return self._call(self.inner.set_send_buffer_size, value)

    def drop(self) -> None:
        self.inner.close()


class UdpSocket:
    """``udp-socket``: one backend ``UdpSocket``."""

    _policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    __slots__ = ("inner",)

    def __init__(self, inner: _udp.UdpSocket) -> None:
        self.inner = inner

    @classmethod
    def create(cls, address_family: Any) -> Any:
        try:
            return Ok(cls(_udp.UdpSocket.create(cls._policy, family_from_wit(address_family))))
        except SocketError as e:
            return Err(error_code(e))

    def _call(self, op: Any, *args: Any) -> Any:
        try:
            return Ok(op(*args))
        except SocketError as e:
            return Err(error_code(e))

    def bind(self, local_address: Any) -> Any:
        try:
            self.inner.bind(address_from_wit(local_address))
        except SocketError as e:
            return Err(error_code(e))
        return Ok()

    def connect(self, remote_address: Any) -> Any:
        try:
            self.inner.connect(address_from_wit(remote_address))
        except SocketError as e:
            return Err(error_code(e))
        return Ok()

    def disconnect(self) -> Any:
        return self._call(self.inner.disconnect)

    async def send(self, data: bytes, remote_address: Any) -> Any:
        try:
            addr = None if remote_address is None else address_from_wit(remote_address)
            await self.inner.send(bytes(data), addr)
        except SocketError as e:
            return Err(error_code(e))
        return Ok()

    async def receive(self) -> Any:
        try:
            data, addr = await self.inner.receive()
        except SocketError as e:
            return Err(error_code(e))
        return Ok((data, address_to_wit(addr)))

    def get_local_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.local_address()))
        except SocketError as e:
            return Err(error_code(e))

    def get_remote_address(self) -> Any:
        try:
            return Ok(address_to_wit(self.inner.remote_address()))
        except SocketError as e:
            return Err(error_code(e))

    def get_address_family(self) -> str:
        return self.inner.family

    def get_unicast_hop_limit(self) -> Any:
        return self._call(self.inner.unicast_hop_limit)

    def set_unicast_hop_limit(self, value: int) -> Any:
        return self._call(self.inner.set_unicast_hop_limit, value)

    def get_receive_buffer_size(self) -> Any:
        return self._call(self.inner.receive_buffer_size)

    def set_receive_buffer_size(self, value: int) -> Any:
        return self._call(self.inner.set_receive_buffer_size, value)

    def get_send_buffer_size(self) -> Any:
        return self._call(self.inner.send_buffer_size)

    def set_send_buffer_size(self, value: int) -> Any:
        return self._call(self.inner.set_send_buffer_size, value)

    def drop(self) -> None:
        self.inner.close()


class Types:
    """``wasi:sockets/types``: the two resource classes, bound to one guest's policy."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.TcpSocket: type[TcpSocket] = type("TcpSocket", (TcpSocket,),
                                               {"_policy": policy, "__slots__": ()})
        self.UdpSocket: type[UdpSocket] = type("UdpSocket", (UdpSocket,),
                                               {"_policy": policy, "__slots__": ()})


class IpNameLookup:
    """``wasi:sockets/ip-name-lookup``."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.policy = policy

    async def resolve_addresses(self, name: str) -> Any:
        try:
            addrs = await resolve_addresses(self.policy, name)
        except SocketError as e:
            return Err(lookup_error_code(e))
        return Ok([ip_to_wit(a) for a in addrs])


def register(linker: Linker, ctx: WasiCtx) -> None:
    v = VERSION
    linker.define_interface(f"wasi:sockets/types@{v}", Types(ctx.network))
    linker.define_interface(f"wasi:sockets/ip-name-lookup@{v}", IpNameLookup(ctx.network))

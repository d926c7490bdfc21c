"""wasi:http@0.2 (src/wasmloop/http/p2.py): a componentize-py 0.2 proxy guest
(tests/guests/http_p2_app.py) called through ``P2ServiceInstance.handle``, the fields rules at
the Python level, and a differential run against ``wasmtime serve``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from guests import build_python, guest_source, wasi_wit

import wasmloop
from wasmloop.http import model, p2
from wasmloop.interfaces import find_compatible
from wasmloop.values import Err, Ok, Variant

WORLD = "package local:app;\n\nworld app {\n  include wasi:http/proxy@0.2.12;\n}\n"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 300))


@pytest.fixture(scope="module")
def wasm() -> Path:
    return build_python(guest_source("http_p2_app.py"), "local:app/app", wasi_wit("0.2.12", WORLD))


@pytest.fixture(scope="module")
def component(wasm: Path) -> wasmloop.Component:
    return wasmloop.Component.from_file(wasmloop.Engine(), wasm)


def req(path: str, method: str = "GET", headers: model.Headers | None = None,
        body: AsyncIterator[bytes] | None = None, trailers: Any = None) -> model.Request:
    return model.Request(method, "http", "example.com", path, list(headers or []), body,
                         trailers)


async def read(resp: model.Response) -> tuple[bytes, model.Headers | None]:
    data = bytearray()
    if resp.body is not None:
        async for chunk in resp.body:
            data += chunk
    trailers = await resp.trailers if resp.trailers is not None else None
    return bytes(data), trailers


async def instance(component: wasmloop.Component, client: Any = None) -> p2.P2ServiceInstance:
    service = await p2.load_service_p2(component, client=client)
    return await service.new_instance()


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


# -- through the guest -------------------------------------------------------------------------

def test_hello_headers_and_404(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/"))
        assert r.status == 200
        assert r.headers == [(b"content-type", b"text/plain"), (b"x-guest", b"py")]
        assert await read(r) == (b"hello from python\n", None)
        r = await inst.handle(req("/nowhere"))
        assert r.status == 404
        assert await read(r) == (b"not found\n", None)
        assert not inst.broken
        inst.close()

    run(main())


def test_request_as_the_guest_sees_it(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        headers = [(b"x-test", b"1"), (b"host", b"elsewhere"), (b"connection", b"close"),
                   (b"x-test", b"2"), (b"transfer-encoding", b"chunked"), (b"bad name", b"x"),
                   (b"x-bad", b"a\nb"), (b"accept", b"*/*")]
        r = await inst.handle(model.Request("PURGE", "https", "example.com:8443",
                                            "/headers?a=b", headers))
        body, _ = await read(r)
        # forbidden and invalid fields never reach the guest; repeats keep their order
        assert body.decode().splitlines() == [
            "method: PURGE", "scheme: https", "authority: example.com:8443",
            "path: /headers?a=b", "x-test: 1", "x-test: 2", "accept: */*"]
        inst.close()

    run(main())


def test_post_echo_streams_both_ways(component: wasmloop.Component) -> None:
    size = 50 << 20
    data = hashlib.sha256(b"p2").digest() * (size // 32)
    pulled = 0
    received = 0
    lead = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled, lead
        view = memoryview(data)
        step = 100_003                     # chunks that fit no buffer exactly
        for i in range(0, len(view), step):
            pulled += len(view[i:i + step])
            lead = max(lead, pulled - received)
            yield bytes(view[i:i + step])

    async def main() -> None:
        nonlocal received
        inst = await instance(component)
        r = await inst.handle(req("/echo", "POST", [(b"content-type", b"x/y")], body()))
        assert r.status == 200
        h = hashlib.sha256()
        assert r.body is not None
        async for chunk in r.body:
            received += len(chunk)
            h.update(chunk)
        assert received == len(data)
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
        assert r.trailers is not None and await r.trailers is None
        inst.close()

    run(main())
    # the request body is pulled on demand: it never runs far ahead of the response
    assert lead < 1 << 20, lead


def test_request_trailers_reach_the_guest(component: wasmloop.Component) -> None:
    async def trailers() -> model.Headers:
        return [(b"x-checksum", b"abc"), (b"host", b"dropped")]

    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/echo-trailers", "POST", [], _chunks(b"ab", b"cd"),
                                  trailers()))
        assert await read(r) == (b"abcd", [(b"x-checksum", b"abc")])
        inst.close()

    run(main())


def test_response_trailers(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/trailers"))
        assert await read(r) == (b"body with trailers\n", [(b"x-trailer", b"done")])
        inst.close()

    run(main())


def test_chunks_reach_the_reader_while_the_guest_writes(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        t0 = time.monotonic()
        r = await inst.handle(req("/stream?n=5"))
        assert time.monotonic() - t0 < 0.3          # returned once the outparam was set
        assert r.body is not None
        times = []
        chunks = []
        async for chunk in r.body:
            times.append(time.monotonic() - t0)
            chunks.append(chunk)
        assert b"".join(chunks) == b"".join(b"chunk %d\n" % i for i in range(5))
        assert len(chunks) >= 4
        assert times[0] < 0.3 and times[-1] >= 0.4
        inst.close()

    run(main())


def test_big_response_streams_with_content_length(component: wasmloop.Component) -> None:
    n = 50 << 20
    pattern = bytes(range(256)) * 256

    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req(f"/big?n={n}"))
        assert (b"content-length", str(n).encode()) in r.headers
        assert r.body is not None
        h = hashlib.sha256()
        total = 0
        biggest = 0
        async for chunk in r.body:
            total += len(chunk)
            biggest = max(biggest, len(chunk))
            h.update(chunk)
            # what waits for this reader stays bounded by the pipe
            assert isinstance(r.body, p2._Pipe) and r.body.queued <= p2.PIPE_LIMIT + (64 << 10)
        assert total == n
        assert h.hexdigest() == hashlib.sha256(pattern * (n // len(pattern))).hexdigest()
        assert biggest <= 256 << 10
        inst.close()

    run(main())


def test_error_code_trap_and_no_response(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        with pytest.raises(model.HttpErrorCode) as e:
            await inst.handle(req("/error"))
        assert e.value == model.HttpErrorCode("internal-error", "boom")
        assert not inst.broken
        with pytest.raises(model.HttpErrorCode) as e:
            await inst.handle(req("/noset"))
        assert e.value.case == "internal-error"
        assert "response-outparam::set" in str(e.value.payload)
        assert not inst.broken
        r = await inst.handle(req("/"))                # the instance is still good
        assert await read(r) == (b"hello from python\n", None)
        with pytest.raises(wasmloop.Trap):
            await inst.handle(req("/trap"))
        assert inst.broken
        inst.close()

    run(main())


def test_trap_while_the_body_streams(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/trap-mid"))
        assert r.status == 200
        assert r.body is not None
        got = b""
        with pytest.raises(wasmloop.Trap):
            async for chunk in r.body:
                got += chunk
        assert got == b"partial\n"
        assert inst.broken
        assert r.trailers is not None
        with pytest.raises(wasmloop.Trap):
            await r.trailers
        inst.close()

    run(main())


def test_content_length_mismatch_fails_the_body(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/length"))
        with pytest.raises(model.HttpErrorCode) as e:
            await read(r)
        assert e.value.case == "HTTP-protocol-error"
        assert not inst.broken
        inst.close()

    run(main())


def test_a_reader_that_gives_up_does_not_hang_the_guest(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req(f"/big?n={50 << 20}"))
        assert r.body is not None
        first = await r.body.__anext__()
        assert first
        await r.body.aclose()       # type: ignore[attr-defined]
        # the guest's next writes see `closed` (this guest then raises, so it traps)
        for _ in range(200):
            if inst.broken:
                break
            await asyncio.sleep(0.05)
        assert inst.broken
        inst.close()

    run(main())


def test_through_the_asgi_app_under_uvicorn(wasm: Path) -> None:
    import httpx
    from asgiutil import uvicorn_server

    from wasmloop.asgi import App

    data = os.urandom(1 << 20)

    async def main() -> None:
        async with uvicorn_server(App(str(wasm))) as url, httpx.AsyncClient(timeout=60) as c:
            r = await c.get(url + "/")
            assert (r.status_code, r.text, r.headers["x-guest"]) == \
                (200, "hello from python\n", "py")
            r = await c.post(url + "/echo", content=data)
            assert r.status_code == 200 and r.content == data
            r = await c.get(url + "/nowhere")
            assert r.status_code == 404
            r = await c.get(url + "/error")
            assert r.status_code == 500

    run(main())


def test_several_requests_at_once_on_one_instance(component: wasmloop.Component) -> None:
    async def one(inst: p2.P2ServiceInstance, i: int) -> bytes:
        path = "/stream?n=3" if i % 2 else "/echo"
        r = await inst.handle(req(path, "POST", [], _chunks(b"x%d" % i)))
        body, _ = await read(r)
        return body

    async def main() -> None:
        inst = await instance(component)
        got = await asyncio.gather(*(one(inst, i) for i in range(6)))
        for i, body in enumerate(got):
            assert body == (b"chunk 0\nchunk 1\nchunk 2\n" if i % 2 else b"x%d" % i)
        assert not inst.broken
        inst.close()

    run(main())


def test_fields_rules_from_the_guest(component: wasmloop.Component) -> None:
    async def main() -> list[str]:
        inst = await instance(component)
        r = await inst.handle(req("/fields", headers=[(b"x-test", b"1")]))
        body, _ = await read(r)
        inst.close()
        return body.decode().splitlines()

    lines = run(main())
    for line in ["request headers append: err Immutable", "request headers set: err Immutable",
                 "request headers delete: err Immutable", "clone append: ok",
                 "forbidden host: err Forbidden", "forbidden connection: err Forbidden",
                 "forbidden delete: err Forbidden", "invalid name: err InvalidSyntax",
                 "empty name: err InvalidSyntax", "invalid value: err InvalidSyntax",
                 "nul value: err InvalidSyntax", "tab value: ok",
                 "content-length +1: err InvalidSyntax", "from_list bad: err InvalidSyntax",
                 "from_list forbidden: err Forbidden", "get X-MULTI: [b'1', b'2']",
                 "has x-multi: True has bad name: False", "after set: [b'3']",
                 "after set []: has False", "response headers append: err Immutable",
                 "status 99: err NoneType", "status 1000: err NoneType", "status 599: ok",
                 "second body: err NoneType", "second write: err NoneType",
                 "second consume: err NoneType", "second stream: err NoneType",
                 "trailers: Ok(value=Ok(value=None))", "trailers again: Err(value=None)",
                 "set method bad: err NoneType", "set authority bad port: err NoneType",
                 "set path bad: err NoneType"]:
        assert line in lines


def test_outgoing_denied_without_a_client(component: wasmloop.Component) -> None:
    async def main() -> None:
        inst = await instance(component)
        r = await inst.handle(req("/outgoing"))
        assert await read(r) == (b"handle err HttpRequestDenied\n", None)
        inst.close()

    run(main())


class FakeClient:
    def __init__(self, result: model.Response | model.HttpErrorCode) -> None:
        self.result = result
        self.sent: list[model.Request] = []

    async def send(self, request: model.Request) -> model.Response:
        self.sent.append(request)
        await asyncio.sleep(0.01)
        if isinstance(self.result, model.HttpErrorCode):
            raise self.result
        return self.result


def test_outgoing_goes_to_the_client(component: wasmloop.Component) -> None:
    async def main() -> None:
        client = FakeClient(model.Response(201, [(b"x-a", b"1")], _chunks(b"hi")))
        inst = await instance(component, client)
        r = await inst.handle(req("/outgoing"))
        assert await read(r) == (b"response 201\n", None)
        (sent,) = client.sent
        assert (sent.method, sent.scheme, sent.authority, sent.path_with_query) == \
            ("GET", "http", "127.0.0.1:9", "/x")
        assert sent.headers == [(b"x-out", b"1")]
        inst.close()

        refused = FakeClient(model.HttpErrorCode("connection-refused"))
        inst = await instance(component, refused)
        r = await inst.handle(req("/outgoing"))
        assert await read(r) == (b"response err ConnectionRefused\n", None)
        inst.close()

    run(main())


# -- the host resources from Python -----------------------------------------------------------

def test_fields_python_level() -> None:
    f = p2.Fields()
    assert f.append("X-A", b"1") == Ok(None)
    assert f.append("x-a", b"2") == Ok(None)
    assert f.get("x-A") == [b"1", b"2"]
    assert f.entries() == [("x-a", b"1"), ("x-a", b"2")]
    assert f.append("host", b"h") == Err(Variant("forbidden"))
    assert f.set("Keep-Alive", [b"1"]) == Err(Variant("forbidden"))
    assert f.delete("proxy-connection") == Err(Variant("forbidden"))
    assert f.append("a:b", b"x") == Err(Variant("invalid-syntax"))
    assert f.append("x-b", b"\r") == Err(Variant("invalid-syntax"))
    assert f.append("x-b", b"\x7f") == Err(Variant("invalid-syntax"))
    assert f.append("content-length", b"") == Err(Variant("invalid-syntax"))
    assert f.append("content-length", b"12") == Ok(None)
    assert f.has("X-A") and not f.has("x-b") and not f.has("bad name")
    assert f.get("bad name") == []
    assert f.set("x-a", [b"3", b"4"]) == Ok(None) and f.get("x-a") == [b"3", b"4"]
    assert f.delete("x-a") == Ok(None) and not f.has("x-a")
    # the forbidden check comes before the immutable one, the syntax check before both
    frozen = f.clone().freeze()
    assert frozen.append("x-c", b"1") == Err(Variant("immutable"))
    assert frozen.append("host", b"1") == Err(Variant("forbidden"))
    assert frozen.append("bad name", b"1") == Err(Variant("invalid-syntax"))
    assert frozen.clone().append("x-c", b"1") == Ok(None)
    assert p2.Fields.from_list([("a", b"1"), ("b c", b"2")]) == Err(Variant("invalid-syntax"))
    r = p2.Fields.from_list([("a", b"1")])
    assert isinstance(r, Ok) and r.value.entries() == [("a", b"1")]


def test_fields_size_limit_traps() -> None:
    f = p2.Fields()
    with pytest.raises(p2.HttpTrap):
        for i in range(10_000):
            f.append(f"x-{i}", b"v" * 100)
    assert f._size <= p2.FIELD_SIZE_LIMIT


def test_incoming_request_headers_are_immutable_and_stripped() -> None:
    async def main() -> None:
        r = p2.IncomingRequest(model.Request(
            "GET", None, None, None, [(b"x-a", b"1"), (b"upgrade", b"h2c")]))
        h = r.headers()
        assert h.entries() == [("x-a", b"1")]
        assert h.append("x-b", b"1") == Err(Variant("immutable"))
        assert h.delete("x-a") == Err(Variant("immutable"))
        assert r.scheme() is None and r.authority() is None and r.path_with_query() is None
        assert r.method() == Variant("get")
        body = r.consume()
        assert isinstance(body, Ok)
        assert r.consume() == Err(None)
        # finishing a body while its stream lives traps, as in Wasmtime
        stream = body.value.stream().value
        with pytest.raises(p2.HttpTrap):
            p2.IncomingBody.finish(body.value)
        stream.drop()
        ft = p2.IncomingBody.finish(body.value)
        await ft.subscribe().block()
        assert ft.get() == Ok(Ok(None))
        assert ft.get() == Err(None)

    run(main())


def test_outgoing_response_headers_become_immutable() -> None:
    async def main() -> None:
        f = p2.Fields()
        f.append("x-a", b"1")
        resp = p2.OutgoingResponse(f)
        assert resp.headers().append("x-b", b"1") == Err(Variant("immutable"))
        assert resp.set_status_code(1000) == Err(None)
        bad = p2.Fields()
        bad.append("content-length", b"1")
        bad.append("content-length", b"2")
        assert isinstance(p2.OutgoingResponse(bad).body(), Ok)   # the first value counts
        body = resp.body().value
        assert resp.body() == Err(None)
        out = body.write().value
        assert body.write() == Err(None)
        with pytest.raises(p2.HttpTrap):
            body.drop()
        out.drop()

    run(main())


def test_http_error_code_of_a_stream_error() -> None:
    from wasmloop.wasi.p2 import io

    assert p2.Types.http_error_code(io.Error(model.HttpErrorCode("HTTP-request-body-size", 3))) \
        == Variant("HTTP-request-body-size", 3)
    assert p2.Types.http_error_code(io.Error(OSError("x"))) is None


def test_register_serves_other_02_versions() -> None:
    linker = wasmloop.Linker(wasmloop.Engine())
    p2.register(linker)
    assert find_compatible("wasi:http/types@0.2.0", linker._defs) == "wasi:http/types@0.2.12"
    assert find_compatible("wasi:http/outgoing-handler@0.2.3", linker._defs) == \
        "wasi:http/outgoing-handler@0.2.12"


# -- against wasmtime serve --------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def wasmtime_serve(wasm: Path) -> Any:
    from difftest import reference_wasmtime

    port = _free_port()
    proc = subprocess.Popen([reference_wasmtime(), "serve", "--addr", f"127.0.0.1:{port}",
                             "-S", "common", str(wasm)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "RUST_LOG": "off"})
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                pytest.fail(f"wasmtime serve did not start: {err.decode(errors='replace')}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.kill()
    proc.wait()


DIFF_CASES = [("GET", "/", b""), ("GET", "/nowhere", b""), ("POST", "/echo", b"x" * 300_000),
              ("GET", "/stream?n=2", b""), ("GET", "/big?n=1000000", b""),
              ("GET", "/fields", b""), ("GET", "/trailers", b"")]


@pytest.mark.parametrize(("method", "path", "body"), DIFF_CASES,
                         ids=[c[1] for c in DIFF_CASES])
def test_same_as_wasmtime_serve(component: wasmloop.Component, wasmtime_serve: str,
                                method: str, path: str, body: bytes) -> None:
    import httpx

    headers = {"x-test": "1"}
    ref = httpx.request(method, wasmtime_serve + path, content=body, headers=headers,
                        timeout=60)

    async def main() -> tuple[int, model.Headers, bytes]:
        inst = await instance(component)
        hs = [(k.encode(), v.encode()) for k, v in headers.items()]
        if body:
            hs.append((b"content-length", str(len(body)).encode()))
        r = await inst.handle(req(path, method, hs, _chunks(body) if body else None))
        data, _ = await read(r)
        inst.close()
        return r.status, r.headers, data

    status, got_headers, data = run(main())
    assert status == ref.status_code
    assert data == ref.content
    ref_headers = [(k.lower(), v) for k, v in ref.headers.raw
                   if k.lower() not in (b"date", b"transfer-encoding")]
    assert got_headers == ref_headers


@pytest.mark.parametrize("path", ["/error", "/noset", "/trap"])
def test_failures_are_500_under_wasmtime_too(component: wasmloop.Component,
                                             wasmtime_serve: str, path: str) -> None:
    import httpx

    ref = httpx.get(wasmtime_serve + path, timeout=60)
    assert ref.status_code == 500

    async def main() -> None:
        inst = await instance(component)
        with pytest.raises((model.HttpErrorCode, wasmloop.Trap)):
            await inst.handle(req(path))
        inst.close()

    run(main())


class EchoClient:
    """Reads the whole request body and trailers, answers with them."""

    def __init__(self) -> None:
        self.sent: list[model.Request] = []

    async def send(self, request: model.Request) -> model.Response:
        self.sent.append(request)
        data = b""
        assert request.body is not None
        async for chunk in request.body:
            data += chunk
        trailers = await request.trailers if request.trailers is not None else None

        async def trailers_back() -> model.Headers | None:
            return trailers

        return model.Response(200, [(b"x-len", str(len(data)).encode())], _chunks(data),
                              trailers_back())


def test_outgoing_request_body_streams_to_the_client() -> None:
    async def main() -> None:
        client = EchoClient()
        handler = p2.OutgoingHandler(client)
        headers = p2.Fields()
        headers.append("content-length", b"5")
        request = p2.OutgoingRequest(headers)
        assert request.set_authority("example.com") == Ok(None)
        body = request.body().value
        out = body.write().value
        future = handler.handle(request, None).value     # sent before the body is written
        assert future.get() is None
        assert out.write(b"hel") == Ok(None)
        assert out.write(b"lo") == Ok(None)
        assert await out.blocking_flush() == Ok(None)
        out.drop()
        trailers = p2.Fields.from_list([("x-t", b"1")]).value
        assert await p2.OutgoingBody.finish(body, trailers) == Ok(None)
        await future.subscribe().block()
        resp = future.get().value.value
        assert future.get() == Err(None)
        assert resp.status() == 200 and resp.headers().entries() == [("x-len", b"5")]
        (sent,) = client.sent
        assert (sent.scheme, sent.authority, sent.path_with_query) == ("https", "example.com", "/")
        incoming = resp.consume().value
        stream = incoming.stream().value
        got = b""
        while True:
            r = await stream.blocking_read(100)
            if isinstance(r, Err):
                assert r == Err(Variant("closed"))
                break
            got += r.value
        assert got == b"hello"
        stream.drop()
        ft = p2.IncomingBody.finish(incoming)
        await ft.subscribe().block()
        t = ft.get().value.value
        assert t.entries() == [("x-t", b"1")]

    run(main())


def test_outgoing_body_shorter_than_its_content_length() -> None:
    async def main() -> None:
        client = EchoClient()
        headers = p2.Fields()
        headers.append("content-length", b"5")
        request = p2.OutgoingRequest(headers)
        request.set_authority("example.com")
        body = request.body().value
        out = body.write().value
        future = p2.OutgoingHandler(client).handle(request, None).value
        out.write(b"hi")
        out.drop()
        assert await p2.OutgoingBody.finish(body, None) == \
            Err(Variant("HTTP-request-body-size", 2))
        await future.subscribe().block()
        assert future.get() == Ok(Err(Variant("HTTP-protocol-error", None)))

    run(main())

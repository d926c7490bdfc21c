"""wasmloop.asgi.App, its limits, errors and instance pool, under real servers on 127.0.0.1
with a real HTTP client (httpx). Most tests use Python Handlers (wasmloop.http.model) so the
ASGI side is checked on its own; tests/test_serve.py runs real guest components."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiutil import (
    granian_server,
    hypercorn_server,
    raw_exchange,
    request_bytes,
    statuses,
    uvicorn_server,
)
from fastapi import Request as FastAPIRequest

from wasmloop.asgi import ERROR_PAGE, App
from wasmloop.errors import Trap
from wasmloop.http.asgi_next import asgi_handler
from wasmloop.http.limits import RequestLimits, check_request
from wasmloop.http.model import HttpErrorCode, Request, Response
from wasmloop.http.pool import InstancePool, PoolOptions, release_response

TIMEOUT = httpx.Timeout(60.0)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 300))


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


class Recorder:
    """A Python Handler: records each request, answers by route."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.release = asyncio.Event()
        self.first_chunk_sent = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.started = asyncio.Event()

    async def handle(self, request: Request) -> Response:
        self.requests.append(request)
        path = (request.path_with_query or "/").split("?")[0]
        if path == "/echo":
            return Response(200, [(b"content-type", b"application/octet-stream")],
                            request.body or _chunks())
        if path == "/sha":
            h = hashlib.sha256()
            n = 0
            if request.body is not None:
                async for c in request.body:
                    h.update(c)
                    n += len(c)
            return Response(200, [(b"x-len", str(n).encode())], _chunks(h.hexdigest().encode()))
        if path == "/stream":
            async def gen() -> AsyncIterator[bytes]:
                yield b"first\n"
                self.first_chunk_sent.set()
                await self.release.wait()      # the client has the first chunk already
                yield b"second\n"
            return Response(200, [], gen())
        if path == "/trailers":
            async def trailers() -> list[tuple[bytes, bytes]]:
                return [(b"x-checksum", b"abc123")]
            return Response(200, [(b"x-a", b"1")], _chunks(b"body"), trailers())
        if path == "/error":
            raise HttpErrorCode("internal-error", "boom")
        if path == "/trap":
            raise Trap("wasm trap: wasm `unreachable` instruction executed")
        if path == "/trap-mid":
            async def gen2() -> AsyncIterator[bytes]:
                yield b"partial\n"
                raise Trap("wasm trap: wasm `unreachable` instruction executed")
            return Response(200, [], gen2())
        if path == "/hang":
            self.started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if path == "/hang-body":
            async def gen3() -> AsyncIterator[bytes]:
                yield b"x"
                self.started.set()
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    self.cancelled.set()
                    raise
            return Response(200, [], gen3())
        if path == "/status":
            return Response(404, [(b"x-dup", b"1"), (b"x-dup", b"2"),
                                  (b"connection", b"keep-alive")], None)
        return Response(200, [(b"content-type", b"text/plain")], _chunks(b"hello\n"))


# -- conversion: ASGI scope <-> Request/Response ---------------------------------------------


def test_request_conversion_under_uvicorn() -> None:
    rec = Recorder()

    async def main() -> None:
        async with uvicorn_server(App(rec)) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/a%20b/c?x=1&y=%2F", headers=[
                ("X-One", "1"), ("x-dup", "a"), ("X-Dup", "b"), ("Connection", "keep-alive")])
            assert r.status_code == 200 and r.text == "hello\n"
        req = rec.requests[0]
        assert req.method == "GET"
        assert req.scheme == "http"
        assert req.authority == url.removeprefix("http://")
        assert req.path_with_query == "/a%20b/c?x=1&y=%2F"
        names = [n for n, _ in req.headers]
        assert (b"x-one", b"1") in req.headers
        assert [v for n, v in req.headers if n == b"x-dup"] == [b"a", b"b"]
        assert b"connection" not in names and b"host" not in names
        assert req.body is None            # no Content-Length, no Transfer-Encoding

    run(main())


def test_response_conversion_status_and_duplicate_headers() -> None:
    async def main() -> None:
        async with uvicorn_server(App(Recorder())) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/status")
            assert r.status_code == 404
            assert r.headers.get_list("x-dup") == ["1", "2"]
            assert r.content == b""

    run(main())


def test_post_body_streams_both_ways_sha256() -> None:
    data = os.urandom(3 << 20)

    async def main() -> None:
        async with uvicorn_server(App(Recorder())) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.post(url + "/echo", content=data)
            assert r.status_code == 200
            assert hashlib.sha256(r.content).hexdigest() == hashlib.sha256(data).hexdigest()

            async def gen() -> AsyncIterator[bytes]:
                for i in range(0, len(data), 100_000):
                    yield data[i:i + 100_000]
            r = await c.post(url + "/sha", content=gen())      # chunked
            assert r.text == hashlib.sha256(data).hexdigest()
            assert r.headers["x-len"] == str(len(data))

    run(main())


def test_request_body_is_pulled_on_demand() -> None:
    """Backpressure: while the guest does not read, the client cannot push the whole 50 MB
    body; the server stops reading and the socket buffers fill."""
    total = 50 << 20
    sent = 0
    gate = asyncio.Event()

    class Slow:
        async def handle(self, request: Request) -> Response:
            assert request.body is not None
            it = aiter(request.body)
            h = hashlib.sha256()
            h.update(await anext(it))
            await gate.wait()
            async for c in it:
                h.update(c)
            return Response(200, [], _chunks(h.hexdigest().encode()))

    chunk = os.urandom(1 << 16)

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < total:
            sent += len(chunk)
            yield chunk

    async def main() -> None:
        async with uvicorn_server(App(Slow())) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            post = asyncio.ensure_future(c.post(url + "/", content=body()))
            # wait until the sender stalls
            last = -1
            while sent != last:
                last = sent
                await asyncio.sleep(0.5)
            stalled_at = sent
            gate.set()
            r = await post
            assert r.status_code == 200
            assert stalled_at < 24 << 20, stalled_at  # far from the whole 50 MiB
            h = hashlib.sha256()
            for _ in range(total // len(chunk)):
                h.update(chunk)
            assert r.text == h.hexdigest()

    run(main())


def test_response_chunks_arrive_while_the_guest_produces() -> None:
    rec = Recorder()

    async def main() -> None:
        async with uvicorn_server(App(rec)) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            async with c.stream("GET", url + "/stream") as r:
                it = r.aiter_raw()
                got = b""
                while b"first\n" not in got:
                    got += await anext(it)
                assert not rec.release.is_set()    # the guest has not produced the rest
                rec.release.set()
                async for more in it:
                    got += more
            assert got == b"first\nsecond\n"

    run(main())


def test_trailers_where_the_server_supports_them() -> None:
    """hypercorn advertises http.response.trailers over HTTP/2 (h2c here)."""
    async def main() -> None:
        async with hypercorn_server(App(Recorder())) as url:
            async with httpx.AsyncClient(http1=False, http2=True, timeout=TIMEOUT) as c:
                r = await c.get(url + "/trailers", headers={"te": "trailers"})
                assert r.http_version == "HTTP/2"
                assert r.status_code == 200 and r.content == b"body"
                assert r.headers["x-a"] == "1"
            # httpx does not expose HTTP/2 trailers; read the frames with h2 directly
            trailers = await _h2_trailers(url, "/trailers")
            assert (b"x-checksum", b"abc123") in trailers
            # over HTTP/1.1 the server does not advertise trailers: the body still ends
            async with httpx.AsyncClient(timeout=TIMEOUT) as c:
                r = await c.get(url + "/trailers")
                assert r.status_code == 200 and r.content == b"body"

    run(main())


async def _h2_trailers(url: str, path: str) -> list[tuple[bytes, bytes]]:
    import h2.config
    import h2.connection
    import h2.events

    host, port = url.removeprefix("http://").split(":")
    r, w = await asyncio.open_connection(host, int(port))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [(":method", "GET"), (":path", path), (":scheme", "http"),
                          (":authority", f"{host}:{port}"), ("te", "trailers")],
                      end_stream=True)
    w.write(conn.data_to_send())
    trailers: list[tuple[bytes, bytes]] = []
    done = False
    while not done:
        data = await asyncio.wait_for(r.read(65536), 30)
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.TrailersReceived):
                trailers = [(bytes(n), bytes(v)) for n, v in ev.headers]
            if isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if isinstance(ev, h2.events.StreamEnded):
                done = True
        w.write(conn.data_to_send())
    w.close()
    return trailers


# -- errors --------------------------------------------------------------------------------


def test_error_code_and_trap_give_wasmtimes_500_page() -> None:
    async def main() -> None:
        async with uvicorn_server(App(Recorder())) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            for path in ("/error", "/trap"):
                r = await c.get(url + path)
                assert r.status_code == 500
                assert r.headers["content-type"] == "text/html; charset=UTF-8"
                assert r.content == ERROR_PAGE
            r = await c.get(url + "/")            # the server is fine
            assert r.status_code == 200

    run(main())


def test_error_after_the_head_truncates_the_response() -> None:
    async def main() -> None:
        async with uvicorn_server(App(Recorder())) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(url + "/trap-mid")
            r = await c.get(url + "/")
            assert r.status_code == 200

    run(main())


@pytest.mark.parametrize("status", [500, 504])
def test_deadline(status: int) -> None:
    rec = Recorder()

    async def main() -> None:
        app = App(rec, timeout=0.5, timeout_status=status)
        async with uvicorn_server(app) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/hang")
            assert r.status_code == status
            assert rec.cancelled.is_set()     # the guest's task was cancelled

    run(main())


@pytest.mark.parametrize("path", ["/hang", "/hang-body"])
def test_client_disconnect_cancels_the_guest(path: str) -> None:
    rec = Recorder()

    async def main() -> None:
        async with uvicorn_server(App(rec)) as url:
            port = int(url.rsplit(":", 1)[1])
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(request_bytes("GET", path))
            await w.drain()
            await asyncio.wait_for(rec.started.wait(), 30)
            w.close()
            await asyncio.wait_for(rec.cancelled.wait(), 30)

    run(main())


def test_disconnect_mid_request_body_cancels_the_guest() -> None:
    reading = asyncio.Event()
    outcome: list[str] = []

    class Reader:
        async def handle(self, request: Request) -> Response:
            assert request.body is not None
            try:
                async for _ in request.body:
                    reading.set()
            except HttpErrorCode as e:
                outcome.append(e.case)
                raise
            except asyncio.CancelledError:
                outcome.append("cancelled")
                raise
            outcome.append("ended")
            return Response(200, [], None)

    async def main() -> None:
        async with uvicorn_server(App(Reader())) as url:
            port = int(url.rsplit(":", 1)[1])
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(request_bytes("POST", "/", [("Content-Length", "1000000")], b"x" * 5000))
            await w.drain()
            await asyncio.wait_for(reading.wait(), 30)
            w.close()
            for _ in range(300):
                if outcome:
                    break
                await asyncio.sleep(0.05)
        assert outcome and outcome[0] in ("HTTP-protocol-error", "cancelled")

    run(main())


# -- limits and framing ----------------------------------------------------------------------


def _scope(headers: list[tuple[bytes, bytes]], path: str = "/") -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
            "query_string": b"", "headers": headers}


def test_check_request_defaults_match_wasmtime() -> None:
    lim = RequestLimits()
    assert check_request(_scope([]), lim) is None
    assert check_request(_scope([], "/" + "a" * 65533), lim) is None
    ref = check_request(_scope([], "/" + "a" * 65534), lim)
    assert ref is not None and ref.status == 414
    ok = [(b"x-%d" % i, b"v") for i in range(100)]
    assert check_request(_scope(ok), lim) is None
    ref = check_request(_scope(ok + [(b"x-more", b"v")]), lim)
    assert ref is not None and ref.status == 431
    ref = check_request(_scope([(b"x-big", b"v" * (1 << 20))]), lim)
    assert ref is not None and ref.status == 431
    for bad in ([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")],
                [(b"transfer-encoding", b"chunked"), (b"content-length", b"5")],
                [(b"content-length", b"5"), (b"content-length", b"6")],
                [(b"content-length", b"-1")], [(b"content-length", b"0x10")],
                [(b"transfer-encoding", b"chunked, gzip")]):
        ref = check_request(_scope(bad), lim)
        assert ref is not None and ref.status == 400 and ref.close, bad
    assert check_request(_scope([(b"content-length", b"5"), (b"content-length", b"5")]),
                         lim) is None
    body = RequestLimits(max_body_size=10)
    ref = check_request(_scope([(b"content-length", b"11")]), body)
    assert ref is not None and ref.status == 413


def test_app_refuses_smuggling_and_closes_the_connection() -> None:
    """Framing is checked by the App itself too, for servers whose parser lets CL+TE through."""
    called = []

    class H:
        async def handle(self, request: Request) -> Response:
            called.append(request)
            return Response(200, [], None)

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    async def main() -> None:
        await App(H())(_scope([(b"content-length", b"4"), (b"transfer-encoding", b"chunked")]),
                       receive, send)

    run(main())
    assert not called
    assert sent[0]["status"] == 400
    assert (b"connection", b"close") in sent[0]["headers"]


SMUGGLE = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n"
           b"\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
BAD_CHUNK = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"
             b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")


@pytest.mark.parametrize("server", ["uvicorn-httptools", "uvicorn-h11", "hypercorn"])
def test_limits_and_smuggling_on_the_wire(server: str) -> None:
    rec = Recorder()
    app = App(rec, limits=RequestLimits(max_body_size=1000))

    async def main() -> None:
        if server == "hypercorn":
            ctx: Any = hypercorn_server(app)
        else:
            ctx = uvicorn_server(app, http=server.split("-")[1])
        async with ctx as url:
            port = int(url.rsplit(":", 1)[1])
            for data in (SMUGGLE, BAD_CHUNK):
                out, closed = await raw_exchange(port, data)
                assert closed, out
                assert statuses(out) and statuses(out)[0] == 400, out
            # (httptools cannot parse a URL past 65,535 bytes and answers 400 itself; `wasmloop
            # serve` answers 414 there too, see test_serve.py)
            out, closed = await raw_exchange(port, request_bytes("GET", "/" + "a" * 65534))
            # (hypercorn's h11 refuses a head past 16 KiB itself, with 431)
            assert statuses(out)[:1] == ([431] if server == "hypercorn" else [414]), out[:200]
            assert closed
            out, closed = await raw_exchange(
                port, request_bytes("GET", "/", [(f"x-{i}", "v") for i in range(150)]))
            assert statuses(out)[:1] == [431] and closed, out[:200]
            out, closed = await raw_exchange(
                port, request_bytes("POST", "/sha", [("Content-Length", "2000")], b"x" * 2000))
            assert statuses(out)[:1] == [413] and closed, out[:200]
            # chunked past the limit: the guest sees an error and the client gets 413
            out, closed = await raw_exchange(
                port, b"POST /sha HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                b"".join(b"%x\r\n%s\r\n" % (500, b"y" * 500) for _ in range(4)) + b"0\r\n\r\n")
            assert statuses(out)[:1] == [413], out[:200]
            # two pipelined requests are two answers, in order
            out, _ = await raw_exchange(port, request_bytes("GET", "/") + request_bytes(
                "GET", "/status") + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert statuses(out) == [200, 404, 200], out
        paths = [r.path_with_query for r in rec.requests]
        assert "/smuggled" not in paths

    run(main())


# -- lifespan, mounting, other servers --------------------------------------------------------


class CountingFactory:
    """A fake linked service: instances are Recorders that count their requests."""

    def __init__(self, fail: bool = False) -> None:
        self.made: list[FakeInstance] = []
        self.fail = fail

    async def new_instance(self) -> FakeInstance:
        if self.fail:
            raise RuntimeError("cannot instantiate")
        await asyncio.sleep(0)
        inst = FakeInstance(len(self.made))
        self.made.append(inst)
        return inst


class FakeInstance:
    def __init__(self, n: int) -> None:
        self.n = n
        self.broken = False
        self.closed = False
        self.served = 0
        self.active = 0
        self.max_active = 0
        self.gate: asyncio.Event | None = None

    async def handle(self, request: Request) -> Response:
        path = request.path_with_query or "/"
        self.served += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if path == "/trap":
                self.broken = True
                raise Trap("wasm trap: unreachable")
            if self.gate is not None:
                await self.gate.wait()
        finally:
            if path != "/stream":
                self.active -= 1

        async def body() -> AsyncIterator[bytes]:
            try:
                if self.gate is not None:
                    await self.gate.wait()
                yield b"instance %d\n" % self.n
            finally:
                if path == "/stream":
                    self.active -= 1
        return Response(200, [(b"x-instance", str(self.n).encode())], body())

    def close(self) -> None:
        self.closed = True


def test_lifespan_links_and_makes_the_first_instance_at_startup() -> None:
    factory = CountingFactory()

    async def main() -> None:
        async with uvicorn_server(App(factory)) as url:
            assert len(factory.made) == 1          # before any request
            async with httpx.AsyncClient(timeout=TIMEOUT) as c:
                r = await c.get(url + "/")
                assert r.headers["x-instance"] == "0"
        assert factory.made[0].closed               # shut down with the server

    run(main())


def test_lifespan_startup_failure_is_reported() -> None:
    sent: list[dict[str, Any]] = []
    msgs = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return msgs.pop(0)

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    run(App(CountingFactory(fail=True))({"type": "lifespan"}, receive, send))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "cannot instantiate" in sent[0]["message"]


def test_mounted_in_starlette_and_fastapi() -> None:
    from fastapi import FastAPI
    from starlette.applications import Starlette
    from starlette.routing import Mount

    rec = Recorder()
    wasm = App(rec)
    star = Starlette(routes=[Mount("/wasm", app=wasm)])
    api = FastAPI(lifespan=wasm.lifespan_context)

    @api.get("/py")
    async def py() -> dict[str, str]:
        return {"from": "fastapi"}

    api.mount("/svc", wasm)

    async def main() -> None:
        for app, prefix in ((star, "/wasm"), (api, "/svc")):
            async with uvicorn_server(app) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
                r = await c.get(url + prefix + "/x/y?q=1")
                assert r.status_code == 200 and r.text == "hello\n"
                assert rec.requests[-1].path_with_query == "/x/y?q=1"
                r = await c.post(url + prefix + "/echo", content=b"abc" * 1000)
                assert r.content == b"abc" * 1000
                if app is api:
                    assert (await c.get(url + "/py")).json() == {"from": "fastapi"}

    run(main())


def test_under_hypercorn_http1() -> None:
    async def main() -> None:
        async with hypercorn_server(App(Recorder())) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/?a=b")
            assert r.status_code == 200 and r.text == "hello\n"
            data = os.urandom(1 << 20)
            r = await c.post(url + "/echo", content=data)
            assert r.content == data
            assert (await c.get(url + "/error")).status_code == 500

    run(main())


GRANIAN_APP = textwrap.dedent('''
    import asyncio
    from wasmloop.asgi import App
    from wasmloop.http.model import Request, Response

    async def chunks(*parts):
        for p in parts:
            yield p

    class H:
        async def handle(self, request):
            if request.path_with_query.startswith("/echo"):
                return Response(200, [(b"x-path", request.path_with_query.encode())],
                                request.body or chunks())
            if request.path_with_query == "/error":
                raise RuntimeError("boom")
            return Response(200, [(b"x-path", request.path_with_query.encode())],
                            chunks(b"hello ", b"granian\\n"))

    app = App(H())
''')


def test_under_granian(tmp_path: Path) -> None:
    (tmp_path / "granian_app.py").write_text(GRANIAN_APP)
    with granian_server(tmp_path, "granian_app:app") as url:
        with httpx.Client(timeout=TIMEOUT) as c:
            r = c.get(url + "/x?y=1")
            assert r.status_code == 200 and r.text == "hello granian\n"
            assert r.headers["x-path"] == "/x?y=1"
            data = os.urandom(2 << 20)
            r = c.post(url + "/echo", content=data)
            assert r.content == data
            assert c.get(url + "/error").status_code == 500
            port = int(url.rsplit(":", 1)[1])
            out, closed = asyncio.run(raw_exchange(port, SMUGGLE))
            # granian's parser (hyper) drops Content-Length beside Transfer-Encoding itself
            # and closes the connection after the response: nothing is smuggled through
            assert closed and b"/smuggled" not in out
            assert len(statuses(out)) == 1, out


# -- the instance pool ---------------------------------------------------------------------


def _req(path: str = "/") -> Request:
    return Request(method="GET", scheme="http", authority="x", path_with_query=path,
                   headers=[], body=None)


async def _drain(resp: Response) -> bytes:
    out = b""
    if resp.body is not None:
        async for c in resp.body:
            out += c
    if resp.trailers is not None:
        await resp.trailers
    return out


def test_pool_reuses_an_instance_max_reuse_times() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions(max_reuse=128))
        await pool.start()
        for _ in range(300):
            await _drain(await pool.handle(_req()))
        assert [i.served for i in f.made] == [128, 128, 44]
        assert f.made[0].closed and f.made[1].closed and not f.made[2].closed
        await pool.close()
        assert f.made[2].closed

    run(main())


def test_pool_fresh_instance_per_request() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions(max_reuse=1))
        for _ in range(5):
            await _drain(await pool.handle(_req()))
        assert [i.served for i in f.made] == [1] * 5
        await pool.close()

    run(main())


def test_pool_concurrency_per_instance() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions(max_concurrent=16))
        await pool.start()
        gate = asyncio.Event()
        f.made[0].gate = gate
        # 20 at once: 16 on the first instance, 4 on a second
        tasks = [asyncio.ensure_future(pool.handle(_req("/stream"))) for _ in range(20)]
        for _ in range(100):
            await asyncio.sleep(0)
        assert len(f.made) == 2
        f.made[1].gate = gate
        gate.set()
        bodies = [await _drain(await t) for t in tasks]
        assert sorted(bodies).count(b"instance 0\n") == 16
        assert sorted(bodies).count(b"instance 1\n") == 4
        assert f.made[0].max_active == 16
        await pool.close()

    run(main())


def test_pool_holds_the_instance_while_the_body_streams() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions(max_concurrent=1))
        await pool.start()
        r1 = await pool.handle(_req("/stream"))      # body not read yet
        r2 = await pool.handle(_req("/stream"))      # so this one needs a second instance
        assert len(f.made) == 2
        await _drain(r1)
        await _drain(r2)
        r3 = await pool.handle(_req("/stream"))
        assert len(f.made) == 2                      # reused
        await release_response(r3)                   # given up unread: the place is freed
        r4 = await pool.handle(_req("/stream"))
        assert len(f.made) == 2
        await _drain(r4)
        await pool.close()

    run(main())


def test_pool_discards_a_trapped_instance_others_unaffected() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions())
        await pool.start()
        assert await _drain(await pool.handle(_req())) == b"instance 0\n"
        with pytest.raises(Trap):
            await pool.handle(_req("/trap"))
        for _ in range(5):
            await asyncio.sleep(0)       # the pool closes it in a task of its own
        assert f.made[0].closed
        assert await _drain(await pool.handle(_req())) == b"instance 1\n"
        assert pool.instances_discarded == 1
        await pool.close()

    run(main())


def test_pool_drops_idle_instances_but_keeps_one_warm() -> None:
    async def main() -> None:
        f = CountingFactory()
        pool = InstancePool(f, PoolOptions(max_concurrent=1, idle_timeout=0.05))
        r = [await pool.handle(_req("/stream")) for _ in range(3)]
        assert len(f.made) == 3
        for x in r:
            await _drain(x)
        for _ in range(100):
            if pool.live_instances == 1:
                break
            await asyncio.sleep(0.02)
        assert pool.live_instances == 1
        assert sum(i.closed for i in f.made) == 2
        await pool.close()

    run(main())


def test_pool_behind_app_trap_then_next_request_fine() -> None:
    async def main() -> None:
        f = CountingFactory()
        async with uvicorn_server(App(f)) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            assert (await c.get(url + "/")).headers["x-instance"] == "0"
            r = await c.get(url + "/trap")
            assert r.status_code == 500
            r = await c.get(url + "/")
            assert r.status_code == 200 and r.headers["x-instance"] == "1"

    run(main())


def test_pool_options_are_checked() -> None:
    for bad in ({"max_reuse": 0}, {"max_concurrent": 0}, {"idle_timeout": -1},
                {"max_requests": 0}):
        with pytest.raises(ValueError):
            PoolOptions(**bad)


# -- a Python ASGI app as a Handler (the innermost `next` of a chain) -------------------------


def test_asgi_handler_wraps_fastapi() -> None:
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    api = FastAPI()
    events: list[str] = []
    gate = asyncio.Event()

    @api.get("/hello/{name}")
    async def hello(name: str, q: str = "") -> dict[str, str]:
        return {"hello": name, "q": q}

    @api.post("/sum")
    async def total(req: FastAPIRequest) -> dict[str, int]:
        n = 0
        async for c in req.stream():
            n += len(c)
        return {"n": n}

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            yield b"a"
            events.append("a sent")
            await gate.wait()
            yield b"b"
        return StreamingResponse(gen(), media_type="text/plain")

    @api.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async def main() -> None:
        h = asgi_handler(api)
        await h.startup()
        resp = await h.handle(Request("GET", "http", "example.com", "/hello/w?q=z",
                                      [(b"accept", b"*/*")], None))
        assert resp.status == 200
        assert await _drain(resp) == b'{"hello":"w","q":"z"}'
        resp = await h.handle(Request("POST", "http", "example.com", "/sum",
                                      [(b"content-length", b"30000")],
                                      _chunks(b"x" * 10000, b"y" * 20000)))
        assert await _drain(resp) == b'{"n":30000}'
        resp = await h.handle(Request("GET", "http", "example.com", "/stream", [], None))
        assert resp.body is not None
        it = aiter(resp.body)
        assert await anext(it) == b"a"
        assert events == ["a sent"] and not gate.is_set()
        gate.set()
        assert await anext(it) == b"b"
        # FastAPI answers an exception with its own 500 (then re-raises it, which ends there)
        resp = await h.handle(Request("GET", "http", "example.com", "/boom", [], None))
        assert resp.status == 500
        assert await _drain(resp) == b"Internal Server Error"

        async def no_response(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                raise RuntimeError("nothing to say")
        with pytest.raises(HttpErrorCode) as e:
            await asgi_handler(no_response).handle(
                Request("GET", "http", "example.com", "/", [], None))
        assert e.value.case == "internal-error"
        await h.shutdown()

    run(main())


def test_app_with_a_python_asgi_app_as_next_of_a_python_middleware() -> None:
    """App(next=asgi_app): the chain's innermost is a FastAPI app."""
    from fastapi import FastAPI

    api = FastAPI()

    @api.get("/{p}")
    async def get(p: str) -> dict[str, str]:
        return {"p": p}

    async def main() -> None:
        async with uvicorn_server(App([api])) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/zz")
            assert r.json() == {"p": "zz"}

    run(main())


if __name__ == "__main__":     # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


# -- the protocol `wasmloop serve` runs: limits while parsing, a deadline for the head -------


def test_serve_protocol_refuses_long_urls_and_big_heads() -> None:
    from wasmloop.http.protocol import WasmloopHttpProtocol

    rec = Recorder()

    async def main() -> None:
        async with uvicorn_server(App(rec), http=WasmloopHttpProtocol) as url:
            port = int(url.rsplit(":", 1)[1])
            for n in (65534, 70000, 1 << 20):
                out, closed = await raw_exchange(port, request_bytes("GET", "/" + "a" * n))
                assert statuses(out) == [414] and closed, out[:100]
            out, _ = await raw_exchange(port, request_bytes("GET", "/" + "a" * 65532) +
                                        b"")
            assert statuses(out)[:1] == [200]
            out, closed = await raw_exchange(
                port, request_bytes("GET", "/", [(f"x-{i}", "v") for i in range(10_000)]))
            assert statuses(out) == [431] and closed
            out, closed = await raw_exchange(
                port, request_bytes("GET", "/", [("x-big", "v" * (1 << 20))]))
            assert statuses(out) == [431] and closed
            for data in (SMUGGLE, BAD_CHUNK):
                out, closed = await raw_exchange(port, data)
                assert statuses(out) == [400] and closed
        assert all(r.path_with_query != "/smuggled" for r in rec.requests)

    run(main())


def test_slow_clients_trickling_heads_do_not_hold_up_others(monkeypatch: Any) -> None:
    """200 clients send a header line every 0.2 s; normal requests are served meanwhile, and
    the trickling ones are cut off at the head deadline with 408."""
    from wasmloop.http.protocol import WasmloopHttpProtocol

    monkeypatch.setattr(WasmloopHttpProtocol, "header_timeout", 2.0)

    async def trickle(port: int) -> tuple[bytes, bool]:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        out = b""
        try:
            for i in range(100):
                w.write(b"x-slow-%d: v\r\n" % i)
                await w.drain()
                try:
                    out += await asyncio.wait_for(r.read(4096), 0.2)
                except TimeoutError:
                    continue
                if out or r.at_eof():
                    break
        except OSError:
            pass
        w.close()
        return out, True

    async def main() -> None:
        async with uvicorn_server(App(Recorder()), http=WasmloopHttpProtocol) as url, \
                httpx.AsyncClient(timeout=TIMEOUT) as c:
            port = int(url.rsplit(":", 1)[1])
            slow = [asyncio.ensure_future(trickle(port)) for _ in range(200)]
            await asyncio.sleep(0.3)
            for _ in range(20):
                r = await c.get(url + "/")
                assert r.status_code == 200 and r.text == "hello\n"
            results = await asyncio.gather(*slow)
            assert all(statuses(out) == [408] for out, _ in results), \
                [out[:40] for out, _ in results if statuses(out) != [408]][:3]

    run(main())

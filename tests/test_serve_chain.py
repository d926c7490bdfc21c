"""Middleware chains linked at serve time: ``wasmloop serve log.wasm headers.wasm app.wasm``
links each middleware's imported handler to the next component's export, in process.

The reference is the same three components composed ahead of time (``wasm-tools compose``)
under ``wasmtime serve``: the answers must be the same. The same chain also runs with a
FastAPI app, and with a Python Handler, innermost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgiutil import uvicorn_server
from difftest import reference_wasmtime
from guests import compose
from serve_guests import py_middleware, py_serve_app
from test_serve import (
    TIMEOUT,
    Server,
    _body,
    _duplex_post,
    _expected_sha,
    _guest_headers,
    _host_traceback,
    wasmloop_serve,
)

from wasmloop.asgi import App
from wasmloop.http.model import Request, Response


def _chain() -> tuple[Path, Path, Path]:
    return py_middleware("log"), py_middleware("headers"), py_serve_app()


@pytest.fixture(scope="module")
def chain_pair() -> Iterator[tuple[Server, Server]]:
    log, headers, app = _chain()
    composed = compose(log, compose(headers, app))
    # three componentize-py interpreters overflow the pooling allocator's instance size
    ref = Server([reference_wasmtime(), "serve"], composed, "-Opooling-allocator=n")
    ours = ChainServer([log, headers, app])
    try:
        yield ref, ours
    finally:
        ref.stop()
        code, err = ours.stop()
        assert not _host_traceback(err), err
        assert code == 0, err


class ChainServer(Server):
    def __init__(self, parts: list[Path | str]) -> None:
        import subprocess

        from asgiutil import free_port, wait_port

        self.port = free_port()
        self.out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"chain-{self.port}.out"
        self._out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*wasmloop_serve(), "-Scli", "--addr", f"127.0.0.1:{self.port}",
             *map(str, parts)], stdout=self._out, stderr=subprocess.PIPE)
        wait_port(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> tuple[int, str]:
        r = super().stop()
        self._out.close()
        return r

    def stdout(self) -> str:
        self._out.flush()
        return self.out_path.read_text(errors="replace")


def test_chain_same_answers_as_composed_under_wasmtime(chain_pair: tuple[Server, Server]) -> None:
    ref, ours = chain_pair
    with httpx.Client(timeout=TIMEOUT) as c:
        for method, path in [("GET", "/"), ("GET", "/nope"), ("GET", "/stream?n=3"),
                             ("GET", "/trailers"), ("GET", "/error"), ("GET", "/trap"),
                             ("GET", "/"), ("PUT", "/?a=1")]:
            a = c.request(method, ref.url + path)
            b = c.request(method, ours.url + path)
            assert (a.status_code, _guest_headers(a), _body(a, "ref")) == \
                (b.status_code, _guest_headers(b), _body(b, "ours")), (method, path)
        r = c.get(ours.url + "/")
        assert r.headers["x-mw-response"] == "headers" and r.headers["x-guest"] == "py"
        # the innermost handler saw the header the middle one added
        lines = set(c.get(ours.url + "/headers").text.splitlines())
        assert "x-mw: headers" in lines
        assert lines >= {"method: GET", "path: /headers"}
        data = os.urandom(3 << 20)
        assert c.post(ours.url + "/echo", content=data).content == data
    assert "log: GET / -> 200" in ours.stdout()   # type: ignore[attr-defined]
    assert "log: GET /nope -> 404" in ours.stdout()   # type: ignore[attr-defined]


def test_chain_echo_50mb(chain_pair: tuple[Server, Server]) -> None:
    """Bodies move along the chain as stream ends: 50 MB echoed through two middlewares."""
    ref, ours = chain_pair
    n, chunk = 50 << 20, 1 << 20
    block = os.urandom(chunk)
    want = _expected_sha(n, chunk, block)
    for server in (ref, ours):
        assert asyncio.run(_duplex_post(server.port, "/echo", n, block)) == (200, want, n)


FASTAPI_APP = textwrap.dedent('''
    from fastapi import FastAPI, Request
    from fastapi.responses import PlainTextResponse, StreamingResponse

    app = FastAPI()

    @app.get("/hello/{name}")
    async def hello(name: str, request: Request):
        return PlainTextResponse(f"hello {name} mw={request.headers.get('x-mw')}\\n",
                                 headers={"x-app": "fastapi"})

    @app.post("/echo")
    async def echo(request: Request):
        async def body():
            async for chunk in request.stream():
                yield chunk
        return StreamingResponse(body(), media_type="application/octet-stream")

    @app.get("/boom")
    async def boom():
        raise RuntimeError("boom")
''')


def test_chain_with_fastapi_innermost(tmp_path: Path) -> None:
    """log → headers → a FastAPI app, in one process under uvicorn."""
    ns: dict[str, object] = {}
    exec(compile(FASTAPI_APP, "fastapi_app.py", "exec"), ns)
    fastapi_app = ns["app"]
    log, headers, _ = _chain()

    async def main() -> None:
        app = App([str(log), str(headers)], next=fastapi_app)
        async with uvicorn_server(app) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.get(url + "/hello/wasm")
            assert r.status_code == 200
            assert r.text == "hello wasm mw=headers\n"
            assert r.headers["x-app"] == "fastapi"
            assert r.headers["x-mw-response"] == "headers"
            data = os.urandom(5 << 20)
            r = await c.post(url + "/echo", content=data)
            assert r.status_code == 200
            assert hashlib.sha256(r.content).digest() == hashlib.sha256(data).digest()
            r = await c.get(url + "/boom")
            assert r.status_code == 500     # the app's failure is an error-code for the chain
            r = await c.get(url + "/missing")
            assert r.status_code == 404 and r.headers["x-mw-response"] == "headers"

    asyncio.run(main())


def test_serve_cli_with_asgi_app_innermost(tmp_path: Path) -> None:
    """``wasmloop serve headers.wasm MODULE:ATTR``."""
    (tmp_path / "inner_app.py").write_text(FASTAPI_APP)
    _, headers, _ = _chain()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        ours = ChainServer([headers, "inner_app:app"])
    finally:
        os.chdir(cwd)
    try:
        with httpx.Client(timeout=TIMEOUT) as c:
            r = c.get(ours.url + "/hello/cli")
            assert r.status_code == 200 and r.text == "hello cli mw=headers\n"
            assert r.headers["x-mw-response"] == "headers"
    finally:
        code, err = ours.stop()
    assert code == 0, err
    assert not _host_traceback(err), err


class PyInner:
    """A Python Handler the wasm middleware calls."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    async def handle(self, request: Request) -> Response:
        self.seen.append(request)
        total = 0
        if request.body is not None:
            async for c in request.body:
                total += len(c)

        async def body() -> AsyncIterator[bytes]:
            yield b"python got %d bytes\n" % total

        return Response(201, [(b"x-inner", b"python")], body())


def test_wasm_middleware_calls_a_python_handler() -> None:
    _, headers, _ = _chain()
    inner = PyInner()

    async def main() -> None:
        app = App([str(headers), inner])
        async with uvicorn_server(app) as url, httpx.AsyncClient(timeout=TIMEOUT) as c:
            r = await c.post(url + "/p?q=1", content=b"x" * 100_000)
            assert r.status_code == 201
            assert r.text == "python got 100000 bytes\n"
            assert r.headers["x-inner"] == "python"
            assert r.headers["x-mw-response"] == "headers"
        req = inner.seen[0]
        assert (req.method, req.path_with_query) == ("POST", "/p?q=1")
        assert (b"x-mw", b"headers") in req.headers

    asyncio.run(main())

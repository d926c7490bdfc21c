"""Running an ASGI app under a real server on 127.0.0.1 for tests: uvicorn and hypercorn in
the test's own loop (so a test can watch the app), granian in a subprocess; raw-socket
helpers for what an HTTP client library will not send."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

LOCAL = "127.0.0.1"


def listen_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((LOCAL, 0))
    s.listen(128)
    s.setblocking(False)
    return s


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def uvicorn_server(app: Any, **options: Any) -> AsyncIterator[str]:
    """``app`` under uvicorn (httptools, lifespan on) in this loop; yields the base URL."""
    import uvicorn

    sock = listen_socket()
    config = uvicorn.Config(app, http=options.pop("http", "httptools"),
                            lifespan=options.pop("lifespan", "on"), log_level="warning",
                            access_log=False, **options)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.01)
        yield f"http://{LOCAL}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 30)
        sock.close()


@contextlib.asynccontextmanager
async def hypercorn_server(app: Any) -> AsyncIterator[str]:
    """``app`` under hypercorn (h11 and h2c) in this loop."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sock = listen_socket()
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.loglevel = "WARNING"
    config.accesslog = None
    stop = asyncio.Event()
    task = asyncio.ensure_future(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    port = sock.getsockname()[1]
    try:
        for _ in range(500):
            try:
                _r, w = await asyncio.open_connection(LOCAL, port)
                w.close()
                break
            except OSError:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        yield f"http://{LOCAL}:{port}"
    finally:
        stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 30)
        with contextlib.suppress(OSError):
            sock.close()


@contextlib.contextmanager
def granian_server(module_dir: Path, target: str) -> Any:
    """``module:attr`` under granian in a subprocess; yields the base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(module_dir), *sys.path])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "granian", "--interface", "asgi", "--host", LOCAL,
         "--port", str(port), "--workers", "1", "--log-level", "warning", target],
        cwd=module_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        yield f"http://{LOCAL}:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None,
              timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited {proc.returncode}: {out}")
        try:
            with socket.create_connection((LOCAL, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


async def raw_exchange(port: int, data: bytes, *, read_timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data`` on a new connection; read until the server closes (True) or goes quiet
    for ``read_timeout`` seconds (False)."""
    r, w = await asyncio.open_connection(LOCAL, port)
    w.write(data)
    with contextlib.suppress(OSError):
        await w.drain()
    out = b""
    closed = False
    try:
        while True:
            chunk = await asyncio.wait_for(r.read(65536), read_timeout)
            if not chunk:
                closed = True
                break
            out += chunk
    except TimeoutError:
        pass
    except OSError:
        closed = True
    w.close()
    with contextlib.suppress(OSError):
        await w.wait_closed()
    return out, closed


def raw_exchange_sync(port: int, data: bytes, read_timeout: float = 5.0) -> tuple[bytes, bool]:
    s = socket.create_connection((LOCAL, port))
    s.settimeout(read_timeout)
    with contextlib.suppress(OSError):
        s.sendall(data)
    out = b""
    closed = False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except TimeoutError:
        pass
    except OSError:
        closed = True
    s.close()
    return out, closed


def statuses(raw: bytes) -> list[int]:
    """The status codes of every response in a raw HTTP/1.1 byte stream."""
    out = []
    for line in raw.split(b"\r\n"):
        if line.startswith(b"HTTP/1.1 ") and line[9:12].isdigit():
            out.append(int(line[9:12]))
    return out


def request_bytes(method: str = "GET", target: str = "/", headers: Sequence[tuple[str, str]] = (),
                  body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: x", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

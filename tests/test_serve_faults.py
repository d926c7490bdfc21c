"""Faults and bad input against ``wasmloop serve`` with a real guest (componentize-py,
tests/guests/http_serve_app.py) on 127.0.0.1: the server stays up and keeps serving, the guest
sees the error-code Wasmtime gives it, and the server's memory stays flat over 1,000 rounds of
bad requests, cut-off uploads, traps and error-codes.

Where Wasmtime defines the behaviour (what a guest's body reader sees when the client goes
away, a trap after the head, a guest that never answers under ``-W timeout``), the same
request goes to ``wasmtime serve`` too and the two are compared. Both run with
``-W timeout=2s``: a request's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asgiutil import raw_exchange, request_bytes, statuses
from difftest import reference_wasmtime
from serve_guests import py_serve_app
from test_serve import Server, _host_traceback, wasmloop_serve

TIMEOUT = httpx.Timeout(60.0)
DEADLINE = ["-Wtimeout=2s"]


class LoggedServer(Server):
    """A server whose stderr goes to a file (a pipe nobody reads would fill up and stall it
    after a few hundred guest tracebacks)."""

    def __init__(self, cmd: list[str], wasm: Path, log: Path, *extra: str) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        super().__init__(cmd, wasm, *extra, stderr=self._log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(15)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.proc.returncode, self.log()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoggedServer,
                                                                          LoggedServer]]:
    wasm = py_serve_app()
    logs = tmp_path_factory.mktemp("serve-logs")
    ref = LoggedServer([reference_wasmtime(), "serve"], wasm, logs / "wasmtime.log", *DEADLINE)
    ours = LoggedServer(wasmloop_serve(), wasm, logs / "wasmloop.log", *DEADLINE)
    try:
        yield ref, ours
    finally:
        ref.stop()
        code, err = ours.stop()
        assert not _host_traceback(err), err[-3000:]
        assert code == 0, err[-3000:]


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


async def upload_then_vanish(port: int, size: int = 1_000_000, sent: int = 100_000,
                             chunked: bool = False) -> None:
    """Start a POST /consume, send part of its body, and close the connection."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    if chunked:
        w.write(request_bytes("POST", "/consume", [("Transfer-Encoding", "chunked")],
                              b"%x\r\n%s\r\n" % (sent, b"c" * sent)))
    else:
        w.write(request_bytes("POST", "/consume", [("Content-Length", str(size))],
                              b"c" * sent))
    await w.drain()
    await asyncio.sleep(0.2)
    w.close()
    with contextlib.suppress(OSError):
        await w.wait_closed()


def wait_for_line(server: LoggedServer, pattern: str, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = re.findall(pattern, server.log())
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_guest_sees_wasmtimes_error_code_when_the_client_vanishes_mid_body(
        servers: tuple[LoggedServer, LoggedServer]) -> None:
    """The guest reads the body of an upload whose client goes away, then awaits the body's
    trailers future: it gets the same error-code under both hosts (and a whole upload gives
    ok), and the server carries on."""
    outcomes = []
    for server in servers:
        before = len(wait_for_line(server, r"consume: .*", 0, 0))

        async def go(port: int = port_of(server)) -> None:
            await upload_then_vanish(port)
            await upload_then_vanish(port, sent=16, chunked=True)

        asyncio.run(go())
        with httpx.Client(timeout=TIMEOUT) as c:
            r = c.post(server.url + "/consume", content=b"x" * 10)
        assert (r.status_code, r.text) == (200, "10\n")
        lines = wait_for_line(server, r"consume: \d+ bytes, trailers [\w ]+", before + 3)
        outcomes.append(lines[before:before + 3])
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][2] == "consume: 10 bytes, trailers ok"
    assert outcomes[1][0] == "consume: 100000 bytes, trailers err ErrorCode_HttpProtocolError"


def test_trap_after_the_head_cuts_the_response_off(
        servers: tuple[LoggedServer, LoggedServer]) -> None:
    """A guest that traps while its body streams: under both hosts the head and the chunk
    before the trap arrive, and the next request is served. Then wasmloop cuts the response
    off (no last chunk, the connection closed: the client knows the body is incomplete),
    where Wasmtime 49 ends it with a last chunk as if it were whole — a deliberate
    difference."""
    seen = []
    for server in servers:
        out, closed = asyncio.run(raw_exchange(port_of(server),
                                               request_bytes("GET", "/trap-mid"), read_timeout=3))
        _head, _, body = out.partition(b"\r\n\r\n")
        seen.append((statuses(out), b"partial\n" in body, body.endswith(b"0\r\n\r\n"), closed))
        with httpx.Client(timeout=TIMEOUT) as c:
            assert c.get(server.url + "/").text == "hello from python\n"
    assert seen[0][:2] == seen[1][:2] == ([200], True)
    assert seen[0][2:] == (True, False)     # Wasmtime: a last chunk, the connection kept
    assert seen[1][2:] == (False, True)     # wasmloop: no last chunk, the connection closed


def test_guest_that_never_answers_hits_the_deadline(
        servers: tuple[LoggedServer, LoggedServer]) -> None:
    """/hang waits an hour: under -W timeout=2s both hosts answer 500 when the deadline
    passes, and the next request is served."""
    got = []
    for server in servers:
        with httpx.Client(timeout=TIMEOUT) as c:
            t0 = time.monotonic()
            r = c.get(server.url + "/hang")
            elapsed = time.monotonic() - t0
            after = c.get(server.url + "/")
        got.append((r.status_code, after.status_code))
        assert elapsed < 50, elapsed     # the deadline, not the hour
    assert got[0] == got[1] == (500, 200)
    assert "timed out" in servers[1].log()


# -- 1,000 rounds of bad input and faults ----------------------------------------------------

SMUGGLED = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")


def _bad_inputs() -> list[tuple[str, bytes, list[int], bool]]:
    """(what, bytes sent on a fresh connection, the statuses expected, connection closed)."""
    many = [(f"x-h{i}", "v") for i in range(150)]
    return [
        ("malformed request line", b"GARBAGE\r\n\r\n", [400], True),
        ("bad header line", b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", [400], True),
        ("oversized URL", request_bytes("GET", "/" + "a" * 70_000), [414], True),
        ("oversized header", request_bytes("GET", "/", [("x-big", "b" * 600_000)]), [431], True),
        ("too many headers", request_bytes("GET", "/", many), [431], True),
        ("CL+TE smuggling", SMUGGLED, [400], True),
        ("malformed chunk size",
         request_bytes("POST", "/echo", [("Transfer-Encoding", "chunked")], b"zz\r\nabc\r\n"),
         [400], True),
        ("pipelined", request_bytes("GET", "/") + request_bytes("GET", "/nope")
         + request_bytes("GET", "/", [("Connection", "close")]), [200, 404, 200], True),
    ]


async def _round(port: int, i: int) -> None:
    """One round: every bad input, a vanishing upload, an error-code, a trap before and a trap
    after the head, each checked."""
    for what, data, want, want_closed in _bad_inputs():
        out, closed = await raw_exchange(port, data, read_timeout=10)
        assert (statuses(out), closed) == (want, want_closed), (i, what, out[:300])
        assert b"/smuggled" not in out
    await upload_then_vanish(port, sent=20_000)
    async with httpx.AsyncClient(timeout=TIMEOUT) as c:
        r = await c.get(f"http://127.0.0.1:{port}/error")
        assert r.status_code == 500, (i, "error-code")
        r = await c.get(f"http://127.0.0.1:{port}/trap")
        assert r.status_code == 500, (i, "trap")
        out, closed = await raw_exchange(port, request_bytes("GET", "/trap-mid"))
        assert statuses(out) == [200] and closed, (i, "trap mid-stream")
        r = await c.get(f"http://127.0.0.1:{port}/")
        assert (r.status_code, r.text) == (200, "hello from python\n"), (i, "after the faults")


def test_bad_input_and_faults_leave_the_server_up_and_its_memory_flat(
        servers: tuple[LoggedServer, LoggedServer]) -> None:
    """100 rounds × (8 bad inputs, a vanishing upload, an error-code, two traps, a good
    request): 1,300 requests. The server answers every one as expected, and its resident
    memory after the last round is within 40 MiB of what it was after the first 20 (a leak
    of one guest instance per trap would be ≈2 GiB)."""
    ours = servers[1]
    port = port_of(ours)

    async def rounds(start: int, n: int) -> None:
        for i in range(start, start + n):
            await _round(port, i)

    asyncio.run(rounds(0, 20))
    warm = ours.rss_kib()
    asyncio.run(rounds(20, 80))
    end = ours.rss_kib()
    assert end - warm < 40 * 1024, (warm, end)
    assert ours.proc.poll() is None
    # every vanished upload reached the guest as an error on its body
    assert len(re.findall(r"trailers err ErrorCode_HttpProtocolError", ours.log())) >= 100


# -- slow clients ----------------------------------------------------------------------------


async def _trickle(port: int, lines: int, gap: float) -> tuple[bytes, bool]:
    """A client that sends a request head one header line every ``gap`` seconds, then the
    end of the head; returns what it got back."""
    r, w = await asyncio.open_connection("127.0.0.1", port)
    try:
        w.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for i in range(lines):
            await asyncio.sleep(gap)
            w.write(b"x-slow-%d: v\r\n" % i)
            await w.drain()
        w.write(b"Connection: close\r\n\r\n")
        await w.drain()
        out = await asyncio.wait_for(r.read(), 60)
        return out, True
    except OSError:
        return b"", False
    finally:
        w.close()


def test_slow_clients_trickling_heads_do_not_hold_up_normal_requests(
        servers: tuple[LoggedServer, LoggedServer]) -> None:
    """200 clients each take ≈3 s to send their request head; meanwhile 50 normal requests
    are all answered while every slow client is still sending, and at the end the slow
    clients are served too. (The latencies are printed, not asserted.)"""
    ours = servers[1]
    port = port_of(ours)

    async def main() -> tuple[list[float], list[tuple[bytes, bool]], int]:
        slow = [asyncio.ensure_future(_trickle(port, 10, 0.3)) for _ in range(200)]
        await asyncio.sleep(0.5)
        latencies = []
        async with httpx.AsyncClient(timeout=TIMEOUT) as c:
            for _ in range(50):
                t0 = time.perf_counter()
                r = await c.get(f"http://127.0.0.1:{port}/")
                latencies.append(time.perf_counter() - t0)
                assert (r.status_code, r.text) == (200, "hello from python\n")
        still_sending = sum(not t.done() for t in slow)
        return latencies, await asyncio.gather(*slow), still_sending

    latencies, results, still_sending = asyncio.run(main())
    latencies.sort()
    print(f"normal requests under 200 slow clients: p50 {latencies[25] * 1e3:.1f} ms, "
          f"max {latencies[-1] * 1e3:.1f} ms; {still_sending} slow clients still sending")
    assert still_sending == 200
    assert all(statuses(out) == [200] for out, _ in results), \
        [out[:80] for out, _ in results if statuses(out) != [200]][:3]


def test_many_connections_opened_and_dropped(servers: tuple[LoggedServer, LoggedServer]) -> None:
    """Connections that open and close without a byte, or stop half-way through a head, do
    not take the server down."""
    ours = servers[1]
    port = port_of(ours)
    for i in range(200):
        with socket.create_connection(("127.0.0.1", port)) as s:
            if i % 2:
                s.sendall(b"GET / HTT")
    with httpx.Client(timeout=TIMEOUT) as c:
        assert c.get(ours.url + "/").status_code == 200

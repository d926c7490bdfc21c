"""Streams stay bounded: `wasmloop run` of the C guest writing 512 MiB to stdout in 4 MiB
stream writes, and 64 MiB of stdin piped through to stdout, keep the process's peak RSS
(`ru_maxrss` of that very child, from `os.wait4`) under 150 MiB. Wasmtime runs the same guest
first, as the oracle for the bytes."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from difftest import reference_wasmtime, wasmloop_command
from guests import c_cli03

LIMIT_MIB = 150


@pytest.fixture(scope="module")
def wasm() -> Path:
    return c_cli03()


def run_streaming(cmd: Sequence[str], stdin: bytes | None = None) -> tuple[int, int, str, int, str]:
    """Run cmd, feeding stdin from a thread and hashing stdout as it arrives (never holding it).
    Returns (exit code, stdout byte count, stdout sha256, peak RSS in KiB, stderr)."""
    # A child forked from this (large) test process starts with its RSS high-water mark, so
    # the command runs under a small launcher that reports its own child's peak RSS.
    proc = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, *cmd],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors: list[bytes] = []

    def feed() -> None:
        assert proc.stdin is not None
        view = memoryview(stdin or b"")
        try:
            for i in range(0, len(view), 1 << 20):
                proc.stdin.write(view[i:i + (1 << 20)])
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass

    threads = [threading.Thread(target=lambda: errors.append(proc.stderr.read()))]  # type: ignore[union-attr]
    if stdin is not None:
        threads.append(threading.Thread(target=feed))
    for t in threads:
        t.start()
    h = hashlib.sha256()
    n = 0
    while chunk := proc.stdout.read(1 << 20):
        n += len(chunk)
        h.update(chunk)
    for t in threads:
        t.join()
    proc.wait()
    err = b"".join(errors).decode(errors="replace")
    err, _, rss = err.rpartition("\nLAUNCHER-MAXRSS ")
    return proc.returncode, n, h.hexdigest(), int(rss), err


_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nLAUNCHER-MAXRSS %d" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def expected_big(mib: int) -> str:
    chunk = bytes(ord("a") + i % 26 for i in range(4 << 20))
    h = hashlib.sha256()
    for _ in range(mib // 4):
        h.update(chunk)
    return h.hexdigest()


@pytest.mark.slow
def test_512_mib_of_stdout_in_bounded_memory(wasm: Path) -> None:
    args = [str(wasm), "big", "512"]
    code, n, digest, ref_rss, err = run_streaming([reference_wasmtime(), "run", *args])
    assert (code, n, digest) == (0, 512 << 20, expected_big(512)), err
    code, n, got, rss, err = run_streaming([*wasmloop_command(), *args])
    assert (code, n, got) == (0, 512 << 20, digest), err[-3000:]
    assert rss < LIMIT_MIB * 1024, f"wasmloop peak RSS {rss // 1024} MiB (wasmtime {ref_rss // 1024} MiB)"


@pytest.mark.slow
def test_64_mib_of_stdin_piped_through_in_bounded_memory(wasm: Path) -> None:
    block = hashlib.sha256(b"block").digest() * (1 << 15)  # 1 MiB
    data = block * 64
    args = [str(wasm), "cat"]
    code, n, digest, ref_rss, err = run_streaming([reference_wasmtime(), "run", *args], stdin=data)
    assert (code, n, digest) == (0, len(data), hashlib.sha256(data).hexdigest()), err
    code, n, got, rss, err = run_streaming([*wasmloop_command(), *args], stdin=data)
    assert (code, n, got) == (0, len(data), digest), err[-3000:]
    assert rss < LIMIT_MIB * 1024, f"wasmloop peak RSS {rss // 1024} MiB (wasmtime {ref_rss // 1024} MiB)"

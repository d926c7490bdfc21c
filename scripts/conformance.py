"""Pass rate of wasmloop and the reference Wasmtime on a directory of `.wast` files.

Usage: python scripts/conformance.py DIR... [--wasmtime PATH] [--jobs N] [--timeout S]

Each file runs under `wasmloop wast FILE` and `wasmtime wast -W … FILE` with the features its
`;;!` header names (both read the same header: wasmloop itself, Wasmtime through the `-W` flags
this script derives from it, as Wasmtime's own test harness does). A file passes when its run
exits 0 within the timeout. Prints one line per file that the two hosts disagree on, then the
pass rates. Point it at test suites that are not in this repository, e.g. the component-model
repository's `test/` and Wasmtime's `tests/misc_testsuite/component-model/`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from wasmloop.wast import header_config

WASMTIME_DEFAULTS = ["-W", "component-model=y"]


def run(cmd: list[str], timeout: float) -> tuple[bool, str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout:g}s"
    last = (proc.stderr or proc.stdout).strip().splitlines()
    return proc.returncode == 0, (last[-1] if last else f"exit {proc.returncode}")[:200]


def wasmtime_flags(text: str) -> tuple[list[str], bool]:
    cfg = header_config(text)
    flags = list(WASMTIME_DEFAULTS)
    for name, on in sorted(cfg.features.items()):
        flags += ["-W", f"{name}={'y' if on else 'n'}"]
    return flags, cfg.ignore_error_messages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--wasmtime", default=None, help="the reference wasmtime binary")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args(argv)
    wasmtime = args.wasmtime or subprocess.run(
        ["/work/shared/tools/reference-wasmtime"], capture_output=True, text=True, check=True
    ).stdout.strip()
    wasmloop = [str(Path(sys.executable).parent / "wasmloop")]
    files = sorted(p for d in args.dirs for p in d.rglob("*.wast"))

    def one(path: Path) -> tuple[Path, bool, str, bool, str]:
        text = path.read_text(errors="replace")
        try:
            flags, ignore = wasmtime_flags(text)
        except ValueError as e:
            return path, False, str(e), False, str(e)
        extra = ["--ignore-error-messages"] if ignore else []
        ours = run([*wasmloop, "wast", str(path)], args.timeout)
        theirs = run([wasmtime, "wast", *flags, *extra, str(path)], args.timeout)
        return path, ours[0], ours[1], theirs[0], theirs[1]

    env_jobs = max(1, args.jobs)
    with ThreadPoolExecutor(env_jobs) as pool:
        results = list(pool.map(one, files))
    base = os.path.commonpath([str(d) for d in args.dirs]) if len(args.dirs) > 1 else str(args.dirs[0])
    for path, ok, why, wok, wwhy in results:
        if ok != wok:
            rel = os.path.relpath(path, base)
            who = "wasmloop fails" if wok else "wasmtime fails"
            print(f"{who}: {rel}: {why if not ok else wwhy}")
    n = len(results)
    ours = sum(r[1] for r in results)
    theirs = sum(r[3] for r in results)
    print(f"files: {n}; wasmloop passes {ours} ({100 * ours / max(n, 1):.0f}%), "
          f"wasmtime passes {theirs} ({100 * theirs / max(n, 1):.0f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

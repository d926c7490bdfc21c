"""The ``wasmloop`` command line: thin, it parses flags and calls the library."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .errors import WasmloopError

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from . import wave
    from .host import Component, Engine, Func, Linker

    engine = Engine(features=_features(args))
    component = Component.from_file(engine, args.component)
    if args.invoke is None:
        print(
            "wasmloop: running a component without --invoke needs WASI (wasi:cli/run), "
            "which is not supported yet",
            file=sys.stderr,
        )
        return 2

    linker = Linker(engine)

    async def go() -> int:
        instance = await linker.instantiate(component)
        name, arg_texts = wave.parse_call(args.invoke)
        try:
            func = instance.exports[name]
        except KeyError:
            print(f"wasmloop: the component has no export named `{name}`", file=sys.stderr)
            return 2
        if not isinstance(func, Func):
            print(f"wasmloop: export `{name}` is not a function", file=sys.stderr)
            return 2
        values = wave.parse_args(arg_texts, func.type.param_types)
        result = await func(*values)
        if func.type.result is not None:
            print(wave.format_value(result, func.type.result))
        return 0

    return asyncio.run(go())


def _cmd_inspect(args: argparse.Namespace) -> int:
    from . import wit
    from .binary import decode_component
    from .validate import validate

    with open(args.component, "rb") as f:
        data = f.read()
    info = validate(decode_component(data))
    sys.stdout.write(wit.format_component_type(info.type))
    return 0


def _cmd_wast(args: argparse.Namespace) -> int:
    from .host import Engine
    from .wast import WastResult, WastRunner

    runner = WastRunner(Engine(features=_features(args)), features=_features(args))
    total = WastResult()
    for path in args.files:
        res = runner.run_json(path) if args.json else runner.run_wast(path)
        total.passed += res.passed
        total.failed += res.failed
    print(f"{total.passed} passed, {total.failed} failed")
    return 1 if total.failed else 0


def _features(args: argparse.Namespace) -> set[str]:
    """``-W component-model-NAME=y`` flags, as Wasmtime spells them."""
    out: set[str] = set()
    for flag in args.wasm_flags or ():
        name, _, value = flag.partition("=")
        name = name.removeprefix("component-model-")
        if value.lower() in ("", "y", "yes", "true"):
            out.add(name)
    return out


def _add_w(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-W",
        dest="wasm_flags",
        action="append",
        metavar="component-model-NAME=y",
        help="enable a component-model feature (async-stackful, more-async-builtins, "
        "error-context, threading), as Wasmtime's -W does",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wasmloop", description="Run WebAssembly components on Python's asyncio loop."
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a component or call one of its exports")
    run.add_argument("--invoke", metavar="EXPR", help="call an export, e.g. 'add(1, 2)' (WAVE)")
    run.add_argument("component", help="the component (.wasm)")
    run.add_argument("args", nargs="*", help="arguments for the component")
    _add_w(run)
    run.set_defaults(func=_cmd_run)

    insp = sub.add_parser("inspect", help="print a component's imports and exports as WIT")
    insp.add_argument("component")
    insp.set_defaults(func=_cmd_inspect)

    wast = sub.add_parser("wast", help="run spec-style .wast tests")
    wast.add_argument("files", nargs="+")
    wast.add_argument(
        "--json", action="store_true", help="the files are `wasm-tools json-from-wast` output"
    )
    _add_w(wast)
    wast.set_defaults(func=_cmd_wast)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except WasmloopError as e:
        print(f"wasmloop: error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # a bad --invoke expression (wave.WaveError) or argument value
        print(f"wasmloop: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"wasmloop: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

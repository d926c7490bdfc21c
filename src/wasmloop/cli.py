"""The ``wasmloop`` command line: thin, it parses flags and calls the library.

Exit statuses, the same for every subcommand: 0 success; 1 an error in the input or the
options (malformed or invalid component, link error, bad flag value, unreadable file; the
message is ``wasmloop: error: …`` on stderr) or a failed ``wast`` assertion; 2 a usage error
(argparse) or an export that does not exist; 134 a trap in ``run`` (Wasmtime's status);
70 an internal error (a bug: set ``WASMLOOP_TRACEBACK=1``); 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import WasmloopError

__all__ = ["main"]


def _cmd_run(args: argparse.Namespace) -> int:
    from . import wasi, wave
    from .errors import Trap
    from .host import Component, Engine, Func, Linker
    from .wasi.options import config_from_options

    config = config_from_options(
        args=[args.component, *args.args],
        dirs=args.dirs or (),
        readonly_dirs=args.readonly_dirs or (),
        envs=args.envs or (),
        s_flags=getattr(args, "wasi_flags", None) or (),
        inherit_env=args.inherit_env,
        allow_tcp=args.allow_tcp,
        allow_udp=args.allow_udp,
        allow_ip_name_lookup=args.allow_ip_name_lookup,
    )
    engine = Engine(features=_features(args), **_engine_options(args))
    component = Component.from_file(engine, args.component)
    linker = Linker(engine, limits=_limits(args))

    async def invoke() -> int:
        ctx = wasi.add_to_linker(linker, config)
        instance = await linker.instantiate(component)
        try:
            name, arg_texts = wave.parse_call(args.invoke)
            iface, fname = wave.split_func_name(name)
            try:
                func = instance.exports[fname] if iface is None else \
                    instance.exports[iface][fname]
            except KeyError:
                print(f"wasmloop: the component has no export named `{name}`", file=sys.stderr)
                return 2
            if not isinstance(func, Func):
                print(f"wasmloop: export `{name}` is not a function", file=sys.stderr)
                return 2
            values = wave.parse_args(arg_texts, func.type.param_types)
            try:
                result = await func(*values)
            except Trap as t:
                code = wasi.exit_code_of(t)
                if code is None:
                    raise
                return code
            finally:
                await wasi.flush_stdio(ctx)
            if func.type.result is not None:
                print(wave.format_value(result, func.type.result))
            return 0
        finally:
            instance.close()

    async def go() -> int:
        if args.invoke is not None:
            return await invoke()
        return await wasi.run(component, config, linker=linker)

    try:
        return int(asyncio.run(_with_timeout(go(), args)))
    except Trap as t:
        sys.stdout.flush()
        what = "invoke `" + args.invoke + "`" if args.invoke is not None else "invoke `run` function"
        print(_trap_report(args.component, what, t), file=sys.stderr)
        return TRAP_EXIT_STATUS


def _trap_report(component: str, what: str, t: BaseException) -> str:
    """Wasmtime's layout: the error, then its causes numbered, the backtrace under its cause."""
    causes = [f"failed to {what}"]
    causes += [c.strip("\n") for c in str(t).split("\n\nCaused by:\n")]
    lines = [f"Error: failed to run main module `{component}`", "", "Caused by:"]
    for i, c in enumerate(causes):
        first, *rest = [ln.strip() for ln in c.splitlines()] or [""]
        lines.append(f"    {i}: {first}")
        lines += [f"    {ln}" for ln in rest if ln]
    return "\n".join(lines)


#: The exit status of a run that trapped: Wasmtime's (128 + SIGABRT).
TRAP_EXIT_STATUS = 134


def _cmd_inspect(args: argparse.Namespace) -> int:
    from . import wit
    from .binary import decode_component
    from .engine import CoreEngine
    from .errors import ValidationError
    from .validate import validate

    with open(args.component, "rb") as f:
        data = f.read()
    from .validate import parse_features

    features = parse_features(_features(args))
    info = validate(decode_component(data), features.component)
    # the component validator checks core modules' imports and exports only: their bodies
    # are wasmtime's to check, as when they are compiled
    core = CoreEngine(use_cache=False, wasm_features=features.core)
    stack = [info]
    while stack:
        ci = stack.pop()
        for m in ci.module_infos:
            try:
                core.validate(m.data)
            except ValidationError as e:
                raise ValidationError(f"core module at offset {m.offset:#x}: {e}") from None
        stack.extend(ci.nested.values())
    sys.stdout.write(wit.format_component_type(info.type))
    return 0


def _cmd_wast(args: argparse.Namespace) -> int:
    from .host import Engine
    from .wast import WastResult, WastRunner

    opts: dict[str, Any] = {**_engine_options(args), **_w_engine_options(args)}
    runner = WastRunner(Engine(features=_features(args), **opts), features=_features(args),
                        limits=_limits(args), engine_options=opts,
                        ignore_error_messages=args.ignore_error_messages,
                        wasmtime_builtins=args.wasmtime_builtins)
    total = WastResult()
    for path in args.files:
        res = runner.run_json(path) if args.json else runner.run_wast(path)
        total.passed += res.passed
        total.failed += res.failed
    print(f"{total.passed} passed, {total.failed} failed")
    return 1 if total.failed else 0


#: ``-W`` options of Wasmtime 49 that are engine settings, not features → Engine keyword.
_ENGINE_W_FLAGS = {"max-wasm-stack": "max_wasm_stack", "async-stack-size": "async_stack_size"}
#: ``-W`` options of Wasmtime 49 that wasmloop recognizes but does not implement.
_UNSUPPORTED_W_FLAGS = {
    "epoch-interruption": "wasmloop enables epochs itself for -W timeout",
    "async-stack-zeroing": "fiber stacks are not zeroed",
    "unknown-exports-allow": "commands run through wasi:cli/run only",
    "unknown-imports-trap": "every import must be defined",
    "unknown-imports-default": "every import must be defined",
    "wmemcheck": "wasmtime-py is built without wmemcheck",
    "trap-on-grow-failure": "memory.grow and table.grow return -1 on failure",
}


def _w_flags(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """Every ``-W KEY[=VAL][,KEY[=VAL]…]`` item, in order (as Wasmtime's parser splits them)."""
    out: list[tuple[str, str | None]] = []
    for flag in args.wasm_flags or ():
        for item in flag.split(","):
            if item.strip():
                name, eq, value = item.strip().partition("=")
                out.append((name, value if eq else None))
    return out


def _features(args: argparse.Namespace) -> dict[str, bool]:
    """The feature ``-W NAME[=y|n]`` flags, by Wasmtime 49's names (``component-model-map``,
    ``gc``, ``threads`` …; see ``wasmloop.validate.features``). Other ``-W`` options are
    limits (``_LIMIT_W_FLAGS``), engine settings (``_ENGINE_W_FLAGS``) or refused by name."""
    from .validate.features import parse_bool

    out: dict[str, bool] = {}
    for name, value in _w_flags(args):
        if name in _LIMIT_W_FLAGS or name in _ENGINE_W_FLAGS:
            continue
        if name in _UNSUPPORTED_W_FLAGS:
            raise ValueError(f"-W {name} is not supported by wasmloop "
                             f"({_UNSUPPORTED_W_FLAGS[name]})")
        out[name] = True if value is None else parse_bool(name, value)
    return out


def _w_engine_options(args: argparse.Namespace) -> dict[str, int]:
    from .limits import parse_size

    out: dict[str, int] = {}
    for name, value in _w_flags(args):
        if name in _ENGINE_W_FLAGS:
            if not value:
                raise ValueError(f"-W {name} needs a value (bytes)")
            out[_ENGINE_W_FLAGS[name]] = parse_size(value)
    return out


def _add_w(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-W",
        dest="wasm_flags",
        action="append",
        metavar="NAME=VALUE",
        help="wasm options, as Wasmtime's -W (KEY[=VAL][,KEY…]): features NAME[=y|n] "
        "(component-model-{async,more-async-builtins,async-stackful,threading,error-context,"
        "map,fixed-length-lists,implements,memory64}, and core ones: gc, threads, simd, "
        "memory64, custom-page-sizes, …); limits timeout=DUR, fuel=N, "
        "max-memory-size=BYTES, max-table-elements=N, max-instances=N, max-tables=N, "
        "max-memories=N; max-wasm-stack=BYTES, async-stack-size=BYTES",
    )


# -- limits (see wasmloop.limits) -------------------------------------------------------------

#: ``-W NAME=VALUE`` limit options, as Wasmtime spells them → (Limits field, parser).
_LIMIT_W_FLAGS = {
    "timeout": "timeout",
    "fuel": "fuel",
    "max-memory-size": "max_memory_size",
    "max-table-elements": "max_table_elements",
    "max-instances": "max_instances",
    "max-tables": "max_tables",
    "max-memories": "max_memories",
}
#: ``-S NAME=VALUE`` limit options.
_LIMIT_S_FLAGS = {"max-component-handles": "max_handles"}


def _limit_values(args: argparse.Namespace) -> dict[str, Any]:
    from .limits import parse_count, parse_duration, parse_size

    parsers: dict[str, Callable[[str], Any]] = {
        "timeout": parse_duration,
        "max_memory_size": parse_size,
    }
    out: dict[str, Any] = {}
    for flag in args.wasm_flags or ():
        name, _, value = flag.partition("=")
        field = _LIMIT_W_FLAGS.get(name)
        if field is not None:
            out[field] = parsers.get(field, parse_count)(value)
    for flag in getattr(args, "wasi_flags", None) or ():
        name, _, value = flag.partition("=")
        field = _LIMIT_S_FLAGS.get(name)
        if field is not None:
            out[field] = parse_count(value)
    if getattr(args, "timeout", None) is not None:
        out["timeout"] = parse_duration(args.timeout)
    if getattr(args, "fuel", None) is not None:
        out["fuel"] = parse_count(args.fuel)
    if getattr(args, "max_memory_size", None) is not None:
        out["max_memory_size"] = parse_size(args.max_memory_size)
    return out


def _limits(args: argparse.Namespace) -> Any:
    from .limits import Limits

    values = _limit_values(args)
    return Limits(**values) if values else None


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    values = _limit_values(args)
    return {
        "epoch_interruption": values.get("timeout") is not None,
        "consume_fuel": values.get("fuel") is not None,
    }


async def _with_timeout(coro: Any, args: argparse.Namespace) -> Any:
    """The whole run ends at ``--timeout``, as under Wasmtime, even if the host itself is
    what waits (the instance's own deadline ends guests that spin or wait)."""
    timeout = _limit_values(args).get("timeout")
    if timeout is None:
        return await coro
    try:
        # a little after the instance's own deadline, which gives the clearer trap
        async with asyncio.timeout(timeout + 0.25):
            return await coro
    except TimeoutError:
        raise WasmloopError("timed out after deadline has elapsed: wasm trap: interrupt") from None


def _add_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--timeout", metavar="DUR",
                   help="end the run after DUR (10s, 500ms); same as -W timeout=DUR")
    p.add_argument("--fuel", metavar="N", help="give each instance N units of fuel (-W fuel=N)")
    p.add_argument("--max-memory-size", metavar="BYTES",
                   help="largest size of a linear memory (-W max-memory-size=BYTES)")
    p.add_argument(
        "-S",
        dest="wasi_flags",
        action="append",
        metavar="NAME=VALUE",
        help="system options, as Wasmtime's -S: max-component-handles=N (default 100000)",
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    """``wasmloop serve``: see wasmloop.http.serve."""
    from .http.serve import ServeConfig, parse_addr, serve
    from .limits import parse_duration

    host, port = parse_addr(args.addr)
    s_flags: list[str] = []
    allow_http: list[str] = list(args.allow_http or ())
    for flag in getattr(args, "wasi_flags", None) or ():
        rest = []
        for part in flag.split(","):
            name, _, value = part.strip().partition("=")
            if name == "allow-http":
                if not value:
                    raise ValueError("-S allow-http needs a value (-S allow-http=HOST[:PORT])")
                allow_http.append(value)
            elif name == "max-component-handles":
                continue        # a limit, in _limit_values
            else:
                rest.append(part)
        if rest:
            s_flags.append(",".join(rest))
    wasi = {
        "args": [args.components[0]], "dirs": args.dirs or [],
        "readonly_dirs": args.readonly_dirs or [], "envs": args.envs or [],
        "s_flags": s_flags, "inherit_env": args.inherit_env,
    }
    from .wasi.options import config_from_options

    config_from_options(**wasi)     # a bad flag is an error before anything starts
    limits = _limit_values(args)
    components: list[str] = []
    next_app = None
    for i, c in enumerate(args.components):
        if not c.endswith((".wasm", ".wat")) and ":" in c and not os.path.exists(c):
            if i != len(args.components) - 1:
                raise ValueError(f"`{c}`: a Python ASGI app can only be the last of the chain")
            next_app = c
            continue
        components.append(c)
    if not components:
        raise ValueError("serve needs at least one component")
    headers: list[tuple[str, str]] = []
    for h in args.headers or ():
        lines = [h]
        if h.startswith("@"):
            with open(h[1:]) as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"-H {line!r}: expected `name: value`")
            headers.append((name.strip(), value.strip()))
    idle: float | None = 1.0
    if args.idle_instance_timeout is not None:
        idle = parse_duration(args.idle_instance_timeout)
    reuse = args.max_instance_reuse_count
    if args.fresh_instance:
        reuse = 1
    cfg = ServeConfig(
        components=components, host=host, port=port, workers=args.workers, wasi=wasi,
        features=_features(args), limits=limits,
        max_instance_reuse=reuse,
        max_instance_concurrency=args.max_instance_concurrent_reuse_count,
        idle_instance_timeout=idle, max_concurrent_requests=args.max_concurrent_requests,
        max_concurrent_connections=args.max_concurrent_connections,
        headers=headers, allow_http=allow_http,
        request_limits={k: v for k, v in (
            ("max_url_length", args.max_url_length), ("max_header_count", args.max_headers),
            ("max_header_bytes", args.max_header_bytes), ("max_body_size", args.max_body_size),
        ) if v is not None},
        log_level="info" if args.verbose else "warning", next_app=next_app,
    )
    return serve(cfg)


def _add_serve(sub: Any) -> None:
    from .limits import parse_size

    serve = sub.add_parser(
        "serve", help="serve a wasi:http component (or a middleware chain) over HTTP",
        description="Serve HTTP as `wasmtime serve` does, on uvicorn. Several COMPONENTs make "
        "a middleware chain, outermost first: each one's imported handler is linked to the "
        "next one's export. The last may be a Python ASGI app given as MODULE:ATTR.")
    serve.add_argument("components", nargs="+", metavar="COMPONENT")
    serve.add_argument("--addr", default="127.0.0.1:8080", metavar="SOCKADDR",
                       help="address to listen on (default 127.0.0.1:8080)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes sharing the socket (default 1)")
    serve.add_argument("--dir", dest="dirs", action="append", metavar="HOST[::GUEST]",
                       help="grant a host directory, seen by the guest as GUEST")
    serve.add_argument("--readonly-dir", dest="readonly_dirs", action="append",
                       metavar="HOST[::GUEST]", help="grant a host directory, read-only")
    serve.add_argument("--env", dest="envs", action="append", metavar="NAME[=VALUE]",
                       help="set a guest environment variable (a bare NAME passes the host's)")
    serve.add_argument("--inherit-env", action="store_true",
                       help="pass the whole host environment (-S inherit-env)")
    serve.add_argument("--allow-http", action="append", metavar="HOST[:PORT]",
                       help="let the guest send requests to HOST[:PORT] (-S allow-http=…); "
                       "none by default")
    serve.add_argument("-H", "--header", dest="headers", action="append", metavar="HEADER",
                       help="set a request header before the guest sees it (`name: value`, "
                       "or @FILE with one per line)")
    serve.add_argument("--max-instance-reuse-count", type=int, metavar="N",
                       help="requests one instance serves before it is dropped (default 128)")
    serve.add_argument("--max-instance-concurrent-reuse-count", type=int, metavar="N",
                       help="requests one instance serves at once (default 16)")
    serve.add_argument("--fresh-instance", action="store_true",
                       help="a new instance for every request")
    serve.add_argument("--idle-instance-timeout", metavar="DUR",
                       help="how long an idle instance is kept for reuse (default 1s)")
    serve.add_argument("--max-concurrent-requests", type=int, metavar="N",
                       help="requests in flight at once; more wait")
    serve.add_argument("--max-concurrent-connections", type=int, metavar="N",
                       help="connections at once; more are answered 503")
    serve.add_argument("--max-url-length", type=int, metavar="BYTES",
                       help="longest request target (default 65534; longer → 414)")
    serve.add_argument("--max-headers", type=int, metavar="N",
                       help="most request header fields (default 100; more → 431)")
    serve.add_argument("--max-header-bytes", type=parse_size, metavar="BYTES",
                       help="largest request header section (default 480KiB; larger → 431)")
    serve.add_argument("--max-body-size", type=parse_size, metavar="BYTES",
                       help="largest request body (no limit by default; larger → 413)")
    serve.add_argument("--no-logging-prefix", action="store_true",
                       help="accepted for Wasmtime's sake (guest output is not prefixed)")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every refusal/error")
    for flag in ("-O", "-C", "-D"):
        serve.add_argument(flag, dest=f"ignored_{flag[1]}", action="append",
                           metavar="KEY=VAL", help=argparse.SUPPRESS)
    _add_w(serve)
    _add_limits(serve)
    serve.set_defaults(func=_cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wasmloop", description="Run WebAssembly components on Python's asyncio loop."
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run a command component (wasi:cli/run) or call one of its exports",
        description="Run a component as `wasmtime run` does. Everything after the component "
        "path is passed to the guest as its arguments.")
    run.add_argument("--invoke", metavar="EXPR", help="call an export, e.g. 'add(1, 2)' (WAVE)")
    run.add_argument("--dir", dest="dirs", action="append", metavar="HOST[::GUEST]",
                     help="grant a host directory, seen by the guest as GUEST")
    run.add_argument("--readonly-dir", dest="readonly_dirs", action="append",
                     metavar="HOST[::GUEST]", help="grant a host directory, read-only")
    run.add_argument("--env", dest="envs", action="append", metavar="NAME[=VALUE]",
                     help="set a guest environment variable (a bare NAME passes the host's)")
    run.add_argument("--inherit-env", action="store_true",
                     help="pass the whole host environment (-S inherit-env)")
    run.add_argument("--allow-tcp", action="store_true", help="grant TCP (-S tcp)")
    run.add_argument("--allow-udp", action="store_true", help="grant UDP (-S udp)")
    run.add_argument("--allow-ip-name-lookup", action="store_true",
                     help="grant name lookup (-S allow-ip-name-lookup)")
    run.add_argument("component", help="the component (.wasm)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the component")
    _add_w(run)
    _add_limits(run)
    run.set_defaults(func=_cmd_run)

    insp = sub.add_parser("inspect", help="print a component's imports and exports as WIT")
    insp.add_argument("component")
    _add_w(insp)
    insp.set_defaults(func=_cmd_inspect)

    wast = sub.add_parser("wast", help="run spec-style .wast tests")
    wast.add_argument("files", nargs="+")
    wast.add_argument(
        "--json", action="store_true", help="the files are `wasm-tools json-from-wast` output"
    )
    wast.add_argument("--ignore-error-messages", action="store_true",
                      help="any rejection passes assert_invalid/assert_malformed/"
                      "assert_unlinkable, whatever its message (as `wasmtime wast`)")
    wast.add_argument("--wasmtime-builtins", action="store_true",
                      help="define the `wasmtime` instance Wasmtime's own tests import")
    _add_w(wast)
    _add_limits(wast)
    wast.set_defaults(func=_cmd_wast)
    _add_serve(sub)
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
    except Exception as e:  # noqa: BLE001 - never a traceback for a CLI user
        if os.environ.get("WASMLOOP_TRACEBACK"):
            raise
        print(f"wasmloop: internal error: {type(e).__name__}: {e} (set WASMLOOP_TRACEBACK=1 "
              "for the traceback)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())

"""``wasmloop serve``: uvicorn (httptools parser, uvloop loop) around ``wasmloop.asgi.App``.

``serve(ServeConfig(...))`` binds the address (127.0.0.1:8080 by default, never 0.0.0.0 unless
asked), prints ``Serving HTTP on http://ADDR/`` as ``wasmtime serve`` does, and serves until
SIGINT or SIGTERM, which stop accepting connections, let the requests in flight finish, and
exit with status 0. ``workers > 1`` runs that many processes on the one listening socket.

The worker processes rebuild the App from the ``ServeConfig`` (JSON in the environment), so
``workers > 1`` needs only plain data in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Generator
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ServeConfig", "serve", "parse_addr", "build_app", "check_service"]

_ENV = "WASMLOOP_SERVE_CONFIG"
log = logging.getLogger("wasmloop.serve")


@dataclass
class ServeConfig:
    components: list[str]
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    #: keyword arguments of ``wasmloop.wasi.options.config_from_options``
    wasi: dict[str, Any] = field(default_factory=dict)
    #: ``-W`` items as (name, value) and limit values for the linker
    features: dict[str, bool] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    max_instance_reuse: int | None = None
    max_instance_concurrency: int | None = None
    idle_instance_timeout: float | None = 1.0
    max_concurrent_requests: int | None = None
    max_concurrent_connections: int | None = None
    timeout: float | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    allow_http: list[str] = field(default_factory=list)
    #: RequestLimits fields
    request_limits: dict[str, Any] = field(default_factory=dict)
    log_level: str = "warning"
    #: ``module:attr`` of a Python ASGI app as the innermost handler of the chain
    next_app: str | None = None


def parse_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1)."""
    text = text.strip()
    if text.isdigit():
        host, port = "127.0.0.1", text
    elif text.startswith("["):
        end = text.find("]")
        if end < 0 or not text[end + 1:].startswith(":"):
            raise ValueError(f"--addr {text!r}: expected [ADDRESS]:PORT")
        host, port = text[1:end], text[end + 2:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError(f"--addr {text!r}: expected ADDRESS:PORT")
        host = host or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--addr {text!r}: bad port")
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM,
                           flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        raise ValueError(f"--addr {text!r}: `{host}` is not an IP address") from None
    return host, int(port)


def check_service(component: Any, path: str) -> None:
    """A clear error unless ``component`` exports a wasi:http handler (0.3) or incoming
    handler (0.2)."""
    from ..errors import LinkError
    from ..interfaces import compat_key

    for name in component.exports:
        key = compat_key(name)
        if key is None:
            continue
        if key[0] == "wasi:http/handler" and key[1][:2] == (0, 3):
            return
        if key[0] == "wasi:http/incoming-handler" and key[1][:2] == (0, 2):
            return
    names = ", ".join(f"`{n}`" for n in component.exports) or "nothing"
    raise LinkError(f"`{path}` is not an HTTP service: it exports {names}, not "
                    "`wasi:http/handler@0.3` or `wasi:http/incoming-handler@0.2`")


def _import_app(spec: str) -> Any:
    import importlib

    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"`{spec}`: a Python ASGI app is given as MODULE:ATTRIBUTE")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"`{spec}`: cannot import `{mod_name}`: {e}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"`{spec}`: `{mod_name}` has no `{attr}`") from None
    if not callable(obj):
        raise ValueError(f"`{spec}` is not an ASGI application")
    return obj


def build_app(cfg: ServeConfig, components: list[Any] | None = None) -> Any:
    """The ``App`` a ``ServeConfig`` describes (``components``: already loaded ones)."""
    from ..asgi import App
    from ..host import Engine
    from ..wasi.options import config_from_options
    from .limits import RequestLimits

    engine = Engine(features=cfg.features,
                    epoch_interruption=cfg.limits.get("timeout") is not None,
                    consume_fuel=cfg.limits.get("fuel") is not None) \
        if components is None else components[0].engine
    items: list[Any] = list(components) if components is not None else []
    if components is None:
        from ..host import Component

        for path in cfg.components:
            c = Component.from_file(engine, path)
            check_service(c, path)
            items.append(c)
    wasi_config = config_from_options(**cfg.wasi)
    service_options: dict[str, Any] = {}
    linker_limits = {k: v for k, v in cfg.limits.items() if k != "timeout"}
    if linker_limits:
        from ..limits import Limits

        service_options["limits"] = Limits(**linker_limits)
    return App(
        items,
        next=_import_app(cfg.next_app) if cfg.next_app else None,
        wasi=wasi_config,
        engine=engine,
        limits=RequestLimits(**cfg.request_limits),
        max_instance_reuse=cfg.max_instance_reuse,
        max_instance_concurrency=cfg.max_instance_concurrency,
        idle_instance_timeout=cfg.idle_instance_timeout,
        max_concurrent_requests=cfg.max_concurrent_requests,
        timeout=cfg.timeout if cfg.timeout is not None else cfg.limits.get("timeout"),
        headers=cfg.headers,
        allow_http=cfg.allow_http,
        service_options=service_options,
    )


def _worker_app() -> Any:
    """uvicorn's app factory in a worker process."""
    raw = os.environ.get(_ENV)
    if raw is None:
        raise RuntimeError(f"{_ENV} is not set")
    data = json.loads(raw)
    data["headers"] = [tuple(h) for h in data.get("headers", [])]
    return build_app(ServeConfig(**data))


class _QuietIncomplete(logging.Filter):
    """uvicorn reports an app that left its response unfinished; wasmloop does that on
    purpose (a guest that failed mid-body) and has logged why already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def _log_config(level: str) -> dict[str, Any]:
    lvl = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"incomplete": {"()": _QuietIncomplete}},
        "formatters": {"plain": {"format": "%(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "plain", "filters": ["incomplete"]}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": lvl, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "wasmloop.serve": {"handlers": ["stderr"], "level": lvl if lvl != "WARNING"
                               else "ERROR", "propagate": False},
        },
    }


def _uvicorn_config(cfg: ServeConfig, app: Any) -> Any:
    import uvicorn

    from .protocol import WasmloopHttpProtocol

    kwargs: dict[str, Any] = {
        "host": cfg.host, "port": cfg.port, "http": WasmloopHttpProtocol, "loop": "uvloop",
        "lifespan": "on", "log_config": _log_config(cfg.log_level),
        "log_level": cfg.log_level, "access_log": False, "server_header": False,
        "date_header": True, "ws": "none", "proxy_headers": False,
        "timeout_graceful_shutdown": None,
        "h11_max_incomplete_event_size": 1 << 20,
    }
    if cfg.max_concurrent_connections is not None:
        kwargs["limit_concurrency"] = cfg.max_concurrent_connections
    if cfg.workers > 1:
        return uvicorn.Config("wasmloop.http.serve:_worker_app", factory=True,
                              workers=cfg.workers, **kwargs)
    return uvicorn.Config(app, **kwargs)


def _announce(sock: socket.socket) -> None:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving HTTP on http://{shown}:{port}/", file=sys.stderr, flush=True)


def serve(cfg: ServeConfig) -> int:
    """Serve until SIGINT/SIGTERM; returns the exit status."""

    if cfg.workers < 1:
        raise ValueError("--workers must be at least 1")
    # load and check every component here, so a bad one is a clear error before listening
    app = build_app(cfg)
    config = _uvicorn_config(cfg, app)
    try:
        sock = config.bind_socket()
    except SystemExit:
        raise OSError(f"cannot listen on {cfg.host}:{cfg.port}") from None
    if cfg.workers > 1:
        from uvicorn.supervisors import Multiprocess

        # the worker processes start fresh and rebuild the app from this
        data = asdict(cfg)
        data["port"] = sock.getsockname()[1]
        os.environ[_ENV] = json.dumps(data)
        _announce(sock)
        Multiprocess(config, sockets=[sock]).run()
        return 0
    server = _make_server(config, on_started=lambda: _announce(sock))
    try:
        server.run(sockets=[sock])
    except SystemExit as e:     # uvicorn's start-up failure exit
        code = e.code if isinstance(e.code, int) else 1
        if code:
            from ..errors import WasmloopError

            raise WasmloopError("the service could not start (see above)") from None
    finally:
        sock.close()
    return 0


def _make_server(config: Any, on_started: Any) -> Any:
    """uvicorn's Server, announcing the address once it listens and not re-raising the
    signal that stopped it (so a drained shutdown exits 0)."""
    import uvicorn

    class Server(uvicorn.Server):  # type: ignore[misc]
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                on_started()

        @contextlib.contextmanager
        def capture_signals(self) -> Generator[None, None, None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    self._captured_signals.clear()

    return Server(config)

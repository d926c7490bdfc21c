"""Guests for the serve tests (tests/test_serve.py, bench/bench_serve.py), built at test time by
the real toolchains through tests/guests.py (cached by source hash)."""

from __future__ import annotations

from pathlib import Path

from guests import build_python, build_qjs, guest_source, wasi_wit

PY_WORLD = "package local:app;\n\nworld app {\n  include wasi:http/service@0.3.0;\n}\n"

JS_WORLD = """package local:app;

world app {
  import wasi:http/types@0.3.0;
  import wasi:clocks/monotonic-clock@0.3.0;
  export wasi:http/handler@0.3.0;
}
"""


def py_serve_app() -> Path:
    """tests/guests/http_serve_app.py: componentize-py, `wasi:http/service@0.3.0`."""
    return build_python(guest_source("http_serve_app.py"), "wasi:http/service@0.3.0",
                        wasi_wit("0.3.0", PY_WORLD))


def qjs_serve_app() -> Path:
    """tests/guests/http_serve_app.js: componentize-qjs, the handler export only."""
    return build_qjs(guest_source("http_serve_app.js"), wasi_wit("0.3.0", JS_WORLD), "app")


MW_WORLD = "package local:app;\n\nworld app {\n  include wasi:http/middleware@0.3.0;\n}\n"


def py_middleware(name: str) -> Path:
    """tests/guests/http_mw_NAME.py: a componentize-py `wasi:http/middleware@0.3.0`."""
    return build_python(guest_source(f"http_mw_{name}.py"), "wasi:http/middleware@0.3.0",
                        wasi_wit("0.3.0", MW_WORLD))

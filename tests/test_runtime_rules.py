"""The Component Model's runtime rules where the host side matters: type identity in a real
component, start functions, re-entrance, task.return's signature, post-return built-ins, map
values and memory64 (the wast side is in tests/wast/*.wast)."""

from __future__ import annotations

import guests

import wasmloop

HANDLER_WORLD = """package local:app;
world app {
  export wasi:http/handler@0.3.0;
}
"""

HANDLER_JS = """import { Response, Fields } from 'wasi:http/types@0.3.0';
export const handler = {
  async handle(request) {
    const [resp, fut] = Response.new(new Fields(), undefined, Promise.resolve({tag: 'ok'}));
    return resp;
  }
};
"""


def test_qjs_http_handler_validates() -> None:
    """componentize-qjs's shim re-exports `error-code` (a variant imported through an instance
    import of a nested component); the outer re-export of that instance is valid."""
    wit = guests.wasi_wit("0.3.0", HANDLER_WORLD)
    path = guests.build_qjs(HANDLER_JS, wit, "app")
    component = wasmloop.Component.from_file(wasmloop.Engine(), str(path))
    handler = component.exports["wasi:http/handler@0.3.0"]
    assert "handle" in handler.exports  # type: ignore[attr-defined]

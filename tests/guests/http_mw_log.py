# A componentize-py wasi:http/middleware@0.3.0 component that logs: it prints one line per
# request ("log: METHOD PATH -> STATUS") and passes the request and the response on untouched.
# Used by tests/test_serve_chain.py.
from wit_world import exports
from wit_world.imports import handler
from wit_world.imports import wasi_http_types as t


def _method(m: t.Method) -> str:
    return m.value if isinstance(m, t.Method_Other) else type(m).__name__.split("_")[1].upper()


class Handler(exports.Handler):
    async def handle(self, request: t.Request) -> t.Response:
        line = f"log: {_method(request.get_method())} {request.get_path_with_query()}"
        response = await handler.handle(request)
        print(f"{line} -> {response.get_status_code()}", flush=True)
        return response

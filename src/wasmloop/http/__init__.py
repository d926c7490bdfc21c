"""wasi:http for wasmloop: serve HTTP handler components, link middleware chains, send
outgoing requests.

```python
from wasmloop import http
service = await http.load_service(component, wasi_config)     # linked once
instance = await service.new_instance()
response = await instance.handle(http.Request("GET", "http", "example.com", "/", []))
async for chunk in response.body: ...
```

- ``load_service`` takes a component exporting ``wasi:http/handler@0.3`` (a service or a
  middleware) or ``wasi:http/incoming-handler@0.2`` (a 0.2 proxy), links WASI and wasi:http
  for it, and returns a factory of instances; ``next`` is the Handler a middleware's imported
  handler calls, ``client`` what its outgoing requests go to (``HttpClient``; none: every
  outgoing request is denied).
- ``wasmloop.asgi.App`` serves such a service under any ASGI server; ``wasmloop serve`` is
  uvicorn around it.
"""

from __future__ import annotations

from typing import Any

from ..errors import LinkError
from ..interfaces import compat_key
from .model import Handler, HttpErrorCode, Request, RequestOptions, Response

__all__ = [
    "Request",
    "Response",
    "RequestOptions",
    "HttpErrorCode",
    "Handler",
    "HttpClient",
    "load_service",
    "service_kind",
]


def service_kind(component: Any) -> str | None:
    """``"p3"`` for a ``wasi:http/handler@0.3`` export, ``"p2"`` for a
    ``wasi:http/incoming-handler@0.2`` one, else None."""
    kind = None
    for name in component.exports:
        key = compat_key(name)
        if key is None:
            continue
        if key[0] == "wasi:http/handler" and key[1][:2] == (0, 3):
            return "p3"
        if key[0] == "wasi:http/incoming-handler" and key[1][:2] == (0, 2):
            kind = "p2"
    return kind


async def load_service(component: Any, wasi: Any = None, *, next: Any = None,
                       client: Any = None, limits: Any = None) -> Any:
    """Link ``component`` (a ``wasmloop.Component``) as an HTTP service: see the module doc.
    ``wasi`` is a ``wasmloop.wasi.WasiConfig`` (None: no arguments, environment or files)."""
    kind = service_kind(component)
    if kind == "p3":
        from .p3 import load_service_p3

        return await load_service_p3(component, wasi, next=next, client=client, limits=limits)
    if kind == "p2":
        if next is not None:
            raise LinkError("a wasi:http 0.2 proxy cannot be a middleware (it has no imported "
                            "handler to link the next component to)")
        from .p2 import load_service_p2  # type: ignore[import-not-found,unused-ignore]

        return await load_service_p2(component, wasi, client=client, limits=limits)
    names = ", ".join(f"`{n}`" for n in component.exports) or "nothing"
    raise LinkError(f"the component is not an HTTP service: it exports {names}, not "
                    "`wasi:http/handler@0.3` or `wasi:http/incoming-handler@0.2`")


def __getattr__(name: str) -> Any:
    if name == "HttpClient":
        from .client import HttpClient

        return HttpClient
    raise AttributeError(name)

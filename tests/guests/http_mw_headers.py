# A componentize-py wasi:http/middleware@0.3.0 component: forwards each request to its
# imported handler with the request header x-mw: headers added, and answers with the next
# handler's response plus the header x-mw-response: headers. Both bodies (and trailers) are
# passed on as the stream and future they came as. Used by tests/test_serve_chain.py.
from componentize_py_types import Ok
from wit_world import exports
from wit_world import result_unit_wasi_http_types_error_code_future as unit_future
from wit_world.imports import handler
from wit_world.imports import wasi_http_types as t


class Handler(exports.Handler):
    async def handle(self, request: t.Request) -> t.Response:
        headers = request.get_headers().clone()
        headers.append("x-mw", b"headers")
        method = request.get_method()
        scheme = request.get_scheme()
        authority = request.get_authority()
        path = request.get_path_with_query()
        body, trailers = t.Request.consume_body(request, unit_future(lambda: Ok(None))[1])
        forwarded, _sent = t.Request.new(headers, body, trailers, None)
        forwarded.set_method(method)
        forwarded.set_scheme(scheme)
        forwarded.set_authority(authority)
        forwarded.set_path_with_query(path)
        response = await handler.handle(forwarded)
        out_headers = response.get_headers().clone()
        out_headers.append("x-mw-response", b"headers")
        status = response.get_status_code()
        rbody, rtrailers = t.Response.consume_body(response, unit_future(lambda: Ok(None))[1])
        out, _sent = t.Response.new(out_headers, rbody, rtrailers)
        out.set_status_code(status)
        return out

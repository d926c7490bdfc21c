# A componentize-py wasi:http/service@0.3.0 handler with one route per behaviour the serve
# tests check (tests/test_serve.py builds it through tests/serve_guests.py):
#   /            200, content-type and x-guest headers, "hello from python\n"
#   /headers     the request as the guest sees it: method, scheme, authority, path, headers
#   /echo        the request body streamed back (/echo?trailers: the request trailers too)
#   /consume     reads the request body, then prints on stderr how many bytes came and what
#                the body's trailers future gave (ok, or the error-code case)
#   /stream?n=N  N chunks, 0.1 s apart (the response is returned before the first one)
#   /trailers    a body, then the trailer x-trailer: done
#   /error       returns the error-code internal-error("boom")
#   /trap        raises (componentize-py traps)
#   /trap-mid    a first chunk, then a trap while the body streams
#   /hang        never answers
#   anything else: 404 "not found\n"
import sys

import componentize_py_async_support as aio
from componentize_py_types import Err, Ok
from wit_world import byte_stream, exports
from wit_world import (
    result_option_wasi_http_types_fields_wasi_http_types_error_code_future as trailers_future,
)
from wit_world import result_unit_wasi_http_types_error_code_future as unit_future
from wit_world.imports import monotonic_clock
from wit_world.imports import wasi_http_types as t


def _response(status, headers, produce_body=None, trailers=None):
    tx, rx = byte_stream()
    ttx, trx = trailers_future(lambda: Ok(None))
    resp, _sent = t.Response.new(t.Fields.from_list(headers), rx, trx)
    resp.set_status_code(status)

    async def produce():
        with tx:
            if produce_body is not None:
                await produce_body(tx)
        with ttx:
            if trailers is None:
                await ttx.write(Ok(None))
            else:
                await ttx.write(Ok(t.Fields.from_list(trailers)))

    aio.spawn(produce())
    return resp


def _text(status, text, headers=()):
    data = text.encode()

    async def body(tx):
        await tx.write_all(data)

    return _response(status, [("content-type", b"text/plain"), *headers], body)


def _method_name(m):
    return m.value if isinstance(m, t.Method_Other) else type(m).__name__.split("_")[1].upper()


class Handler(exports.Handler):
    async def handle(self, request: t.Request) -> t.Response:
        target = request.get_path_with_query() or "/"
        route = target.split("?")[0]
        if route == "/":
            return _text(200, "hello from python\n", [("x-guest", b"py")])
        if route == "/headers":
            scheme = request.get_scheme()
            scheme_text = None if scheme is None else (
                scheme.value if isinstance(scheme, t.Scheme_Other)
                else type(scheme).__name__.split("_")[1].lower())
            lines = [f"method: {_method_name(request.get_method())}",
                     f"scheme: {scheme_text}",
                     f"authority: {request.get_authority()}",
                     f"path: {target}"]
            lines += [f"{n}: {v.decode('latin-1')}"
                      for n, v in request.get_headers().copy_all()]
            return _text(200, "\n".join(lines) + "\n")
        if route == "/echo":
            rx, _trx = t.Request.consume_body(request, unit_future(lambda: Ok(None))[1])

            async def echo(tx):
                with rx:
                    while not rx.writer_dropped:
                        chunk = await rx.read(65536)
                        if chunk:
                            await tx.write_all(chunk)

            return _response(200, [("content-type", b"application/octet-stream")], echo)
        if route == "/consume":
            rx, trx = t.Request.consume_body(request, unit_future(lambda: Ok(None))[1])
            n = 0
            with rx:
                while not rx.writer_dropped:
                    n += len(await rx.read(65536))
            try:
                outcome = await trx.read()
            except Err as e:
                outcome = e
            what = f"err {type(outcome.value).__name__}" if isinstance(outcome, Err) else "ok"
            sys.stderr.write(f"consume: {n} bytes, trailers {what}\n")
            sys.stderr.flush()
            return _text(200, f"{n}\n")
        if route == "/stream":
            n = int(target.split("n=")[1]) if "n=" in target else 5

            async def chunks(tx):
                for i in range(n):
                    await tx.write_all(b"chunk %d\n" % i)
                    await monotonic_clock.wait_for(100_000_000)

            return _response(200, [("content-type", b"text/plain")], chunks)
        if route == "/trailers":
            async def body(tx):
                await tx.write_all(b"body with trailers\n")

            return _response(200, [], body, trailers=[("x-trailer", b"done")])
        if route == "/error":
            raise Err(t.ErrorCode_InternalError("boom"))
        if route == "/trap":
            raise RuntimeError("guest trap")
        if route == "/hang":
            await monotonic_clock.wait_for(3600 * 1_000_000_000)
        if route == "/trap-mid":
            async def partial(tx):
                await tx.write_all(b"partial\n")
                await monotonic_clock.wait_for(50_000_000)
                raise RuntimeError("trap mid-stream")

            return _response(200, [], partial)
        return _text(404, "not found\n")

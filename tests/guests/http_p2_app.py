# A componentize-py wasi:http/proxy@0.2.12 handler (incoming-handler), written with the
# blocking wasi:io@0.2 calls, one route per behaviour tests/test_http_p2.py checks:
#   /              200, content-type and x-guest headers, "hello from python\n"
#   /headers       the request as the guest sees it: method, scheme, authority, path, headers
#   /echo          the request body streamed back as it arrives (the response is set first)
#   /echo-trailers the body back, then the request's trailers as the response's trailers
#   /trailers      a body, then the trailer x-trailer: done
#   /stream?n=N    N chunks, 0.1 s apart (the response is set before the first one)
#   /big?n=BYTES   BYTES of a repeating pattern, written 64 KiB at a time
#   /fields        what the fields rules say (immutable, forbidden, invalid-syntax, ...)
#   /outgoing      an outgoing request to http://127.0.0.1:9/, and what came of it
#   /length        content-length: 10 but only 5 bytes, then finish (which must fail)
#   /error         response-outparam.set(err(internal-error("boom")))
#   /trap          raises before setting the response (componentize-py traps)
#   /trap-mid      a first chunk, then a trap while the body streams
#   /noset         returns without setting the response
#   anything else: 404 "not found\n"
from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import monotonic_clock, outgoing_handler, streams
from wit_world.imports import types as t

MS = 1_000_000
PATTERN = bytes(range(256)) * 256  # 64 KiB


def write_all(out, data):
    view = memoryview(data)
    while view:
        n = out.check_write()
        if n == 0:
            with out.subscribe() as p:
                p.block()
            continue
        k = min(n, len(view))
        out.write(bytes(view[:k]))
        view = view[k:]


def read_all(stream):
    """Yield the chunks of an input stream until it is closed."""
    while True:
        try:
            chunk = stream.blocking_read(65536)
        except Err as e:
            if isinstance(e.value, streams.StreamError_Closed):
                return
            raise
        if chunk:
            yield chunk


def start(out_param, status, headers):
    """Set the response; returns its outgoing-body."""
    resp = t.OutgoingResponse(t.Fields.from_list(headers))
    resp.set_status_code(status)
    body = resp.body()
    t.ResponseOutparam.set(out_param, Ok(resp))
    return body


def respond(out_param, status, headers, data, trailers=None):
    body = start(out_param, status, headers)
    with body.write() as out:
        write_all(out, data)
        out.blocking_flush()
    t.OutgoingBody.finish(body, None if trailers is None else t.Fields.from_list(trailers))


def code(e):
    v = e.value if isinstance(e, Err) else e
    return type(v).__name__.split("_", 1)[-1]


def attempt(f):
    try:
        r = f()
    except Err as e:
        return "err " + code(e)
    return "ok" if r is None else f"ok {r!r}"


def method_name(m):
    return m.value if isinstance(m, t.Method_Other) else type(m).__name__.split("_")[1].upper()


def fields_report(request):
    lines = []
    rh = request.headers()
    lines.append("request headers append: " + attempt(lambda: rh.append("x-new", b"1")))
    lines.append("request headers set: " + attempt(lambda: rh.set("x-new", [b"1"])))
    lines.append("request headers delete: " + attempt(lambda: rh.delete("x-test")))
    c = rh.clone()
    lines.append("clone append: " + attempt(lambda: c.append("x-new", b"1")))
    f = t.Fields()
    lines.append("forbidden host: " + attempt(lambda: f.append("host", b"example.com")))
    lines.append("forbidden connection: " + attempt(lambda: f.set("Connection", [b"close"])))
    lines.append("forbidden delete: " + attempt(lambda: f.delete("transfer-encoding")))
    lines.append("invalid name: " + attempt(lambda: f.append("bad name", b"x")))
    lines.append("empty name: " + attempt(lambda: f.append("", b"x")))
    lines.append("invalid value: " + attempt(lambda: f.append("x-v", b"a\nb")))
    lines.append("nul value: " + attempt(lambda: f.append("x-v", b"a\x00b")))
    lines.append("tab value: " + attempt(lambda: f.append("x-tab", b"a\tb")))
    lines.append("content-length +1: " + attempt(lambda: f.append("content-length", b"+1")))
    lines.append("from_list bad: " + attempt(lambda: t.Fields.from_list([("a b", b"1")])))
    lines.append("from_list forbidden: "
                 + attempt(lambda: t.Fields.from_list([("upgrade", b"h2")])))
    f.append("X-Multi", b"1")
    f.append("x-multi", b"2")
    lines.append(f"get X-MULTI: {f.get('X-MULTI')!r}")
    lines.append(f"has x-multi: {f.has('x-multi')} has bad name: {f.has('bad name')}")
    lines.append(f"entries: {f.entries()!r}")
    f.set("x-multi", [b"3"])
    lines.append(f"after set: {f.get('x-multi')!r}")
    f.set("x-multi", [])
    lines.append(f"after set []: has {f.has('x-multi')}")
    resp = t.OutgoingResponse(f)
    rhs = resp.headers()
    lines.append("response headers append: " + attempt(lambda: rhs.append("x-a", b"1")))
    lines.append("status 99: " + attempt(lambda: resp.set_status_code(99)))
    lines.append("status 1000: " + attempt(lambda: resp.set_status_code(1000)))
    lines.append("status 599: " + attempt(lambda: resp.set_status_code(599)))
    b = resp.body()
    lines.append("second body: " + attempt(lambda: resp.body()))
    s = b.write()
    lines.append("second write: " + attempt(lambda: b.write()))
    s.__exit__(None, None, None)
    t.OutgoingBody.finish(b, None)
    body = request.consume()
    lines.append("second consume: " + attempt(lambda: request.consume()))
    st = body.stream()
    lines.append("second stream: " + attempt(lambda: body.stream()))
    st.__exit__(None, None, None)
    ft = t.IncomingBody.finish(body)
    with ft.subscribe() as p:
        p.block()
    lines.append(f"trailers: {ft.get()!r}")
    lines.append(f"trailers again: {ft.get()!r}")
    req = t.OutgoingRequest(t.Fields())
    lines.append("set method other ok: " + attempt(lambda: req.set_method(t.Method_Other("PURGE"))))
    lines.append("set method bad: " + attempt(lambda: req.set_method(t.Method_Other("BAD METHOD"))))
    lines.append("set authority bad port: " + attempt(lambda: req.set_authority("h:99999")))
    lines.append("set path bad: " + attempt(lambda: req.set_path_with_query("/a b")))
    lines.append("set scheme other: " + attempt(lambda: req.set_scheme(t.Scheme_Other("ftp"))))
    for scheme in ["1x", "a:b", "", "x" * 65, "svn+ssh"]:
        lines.append(f"set scheme {scheme!r}: "
                     + attempt(lambda s=scheme: req.set_scheme(t.Scheme_Other(s))))
    paths = ["", "/a?b=c", "/a#frag", "a", "*", "/%zz", "/\u00e9", "/a\tb", "?q", "/#x y"]
    paths += [f"/a{c}b" for c in '<>`^|\\"{}[] \x7f']
    paths += [f"/a?{c}" for c in '<>`^|\\"{}[] \x7f']
    for path in paths:
        lines.append(f"set path {path!r}: " + attempt(lambda p=path: req.set_path_with_query(p)))
    for auth in ["h", "h:80", "h:", "[::1]:8080", "[::1", "u@h:1", "h:65536", "h/x",
                 "h h", "", "h:0", "1.2.3.4:99"]:
        lines.append(f"set authority {auth!r}: " + attempt(lambda a=auth: req.set_authority(a)))
    for m in ["get", "M-1", "", "A/B"]:
        lines.append(f"set method {m!r}: " + attempt(lambda m=m: req.set_method(t.Method_Other(m))))
    g = t.Fields()
    for name, value in [("X-Upper", b"v"), ("x-obs", b"\x80\xff"), ("x-sp", b" lead"),
                        ("content-length", b"007"), ("content-length", b"99999999999999999999"),
                        ("x-empty", b""), ("\u00e9", b"v"), ("a" * 200, b"v")]:
        lines.append(f"append {name[:20]!r} {value!r}: " + attempt(lambda n=name, v=value: g.append(n, v)))
    lines.append(f"entries: {g.entries()!r}")
    return lines


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: t.IncomingRequest, response_out: t.ResponseOutparam) -> None:
        target = request.path_with_query() or "/"
        route = target.split("?")[0]
        query = target.split("?")[1] if "?" in target else ""
        if route == "/":
            respond(response_out, 200, [("content-type", b"text/plain"), ("x-guest", b"py")],
                    b"hello from python\n")
        elif route == "/headers":
            scheme = request.scheme()
            scheme_text = None if scheme is None else (
                scheme.value if isinstance(scheme, t.Scheme_Other)
                else type(scheme).__name__.split("_")[1].lower())
            lines = [f"method: {method_name(request.method())}",
                     f"scheme: {scheme_text}",
                     f"authority: {request.authority()}",
                     f"path: {target}"]
            lines += [f"{n}: {v.decode('latin-1')}" for n, v in request.headers().entries()]
            respond(response_out, 200, [("content-type", b"text/plain")],
                    ("\n".join(lines) + "\n").encode())
        elif route in ("/echo", "/echo-trailers"):
            incoming = request.consume()
            body = start(response_out, 200, [("content-type", b"application/octet-stream")])
            with body.write() as out:
                with incoming.stream() as src:
                    for chunk in read_all(src):
                        write_all(out, chunk)
                out.blocking_flush()
            trailers = None
            if route == "/echo-trailers":
                ft = t.IncomingBody.finish(incoming)
                with ft.subscribe() as p:
                    p.block()
                got = ft.get()
                if got is not None and isinstance(got.value, Ok) and got.value.value is not None:
                    trailers = t.Fields.from_list(got.value.value.entries())
            t.OutgoingBody.finish(body, trailers)
        elif route == "/trailers":
            respond(response_out, 200, [], b"body with trailers\n", [("x-trailer", b"done")])
        elif route == "/stream":
            n = int(query.split("n=")[1]) if "n=" in query else 5
            body = start(response_out, 200, [("content-type", b"text/plain")])
            with body.write() as out:
                for i in range(n):
                    write_all(out, b"chunk %d\n" % i)
                    out.blocking_flush()
                    with monotonic_clock.subscribe_duration(100 * MS) as p:
                        p.block()
            t.OutgoingBody.finish(body, None)
        elif route == "/big":
            n = int(query.split("n=")[1])
            body = start(response_out, 200, [("content-type", b"application/octet-stream"),
                                              ("content-length", str(n).encode())])
            with body.write() as out:
                while n > 0:
                    k = min(n, len(PATTERN))
                    write_all(out, PATTERN[:k])
                    n -= k
                out.blocking_flush()
            t.OutgoingBody.finish(body, None)
        elif route == "/fields":
            lines = fields_report(request)
            respond(response_out, 200, [("content-type", b"text/plain")],
                    ("\n".join(lines) + "\n").encode())
        elif route == "/outgoing":
            req = t.OutgoingRequest(t.Fields.from_list([("x-out", b"1")]))
            req.set_scheme(t.Scheme_Http())
            req.set_authority("127.0.0.1:9")
            req.set_path_with_query("/x")
            try:
                fut = outgoing_handler.handle(req, None)
            except Err as e:
                result = "handle err " + code(e)
            else:
                with fut.subscribe() as p:
                    p.block()
                got = fut.get()
                if isinstance(got.value, Ok):
                    result = f"response {got.value.value.status()}"
                else:
                    result = "response err " + code(got.value)
            respond(response_out, 200, [], (result + "\n").encode())
        elif route == "/length":
            body = start(response_out, 200, [("content-length", b"10")])
            with body.write() as out:
                write_all(out, b"12345")
                out.blocking_flush()
            try:
                t.OutgoingBody.finish(body, None)
            except Err as e:
                print("finish failed:", code(e), e.value.value)
        elif route == "/error":
            t.ResponseOutparam.set(response_out, Err(t.ErrorCode_InternalError("boom")))
        elif route == "/trap":
            raise RuntimeError("guest trap")
        elif route == "/trap-mid":
            body = start(response_out, 200, [])
            out = body.write()
            write_all(out, b"partial\n")
            out.blocking_flush()
            with monotonic_clock.subscribe_duration(50 * MS) as p:
                p.block()
            raise RuntimeError("trap mid-stream")
        elif route == "/noset":
            return
        else:
            respond(response_out, 404, [("content-type", b"text/plain")], b"not found\n")

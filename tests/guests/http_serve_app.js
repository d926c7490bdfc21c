// A componentize-qjs wasi:http handler (world: types + monotonic-clock imports, the
// handler@0.3.0 export) for tests/test_serve.py, routes as tests/guests/http_serve_app.py:
// /, /echo, /stream?n=N (chunks without waits: a qjs guest's body generator does not run
// past an await on an import once handle has returned), /trailers, /error, /trap, else 404.
import { Fields, Request, Response } from 'wasi:http/types@0.3.0';

function bytes(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
async function* once(b) { yield b; }
const OK = Promise.resolve({ tag: 'ok', val: undefined });

function respond(status, headers, body, trailers) {
  const fields = Fields.fromList(headers.map(([n, v]) => [n, bytes(v)]));
  const [resp, _sent] = Response.new(fields, body, trailers || OK);
  if (status !== 200) resp.setStatusCode(status);
  return resp;
}

export const handler = {
  async handle(request) {
    const target = request.getPathWithQuery() || '/';
    const path = target.split('?')[0];
    if (path === '/') {
      return respond(200, [['content-type', 'text/plain'], ['x-guest', 'qjs']],
                     once(bytes('hello from js\n')));
    }
    if (path === '/echo') {
      const [body, _trailers] = Request.consumeBody(request, OK);
      async function* echo() { for await (const chunk of body) yield chunk; }
      return respond(200, [['content-type', 'application/octet-stream']], echo());
    }
    if (path === '/stream') {
      const m = /n=(\d+)/.exec(target);
      const n = m ? Number(m[1]) : 5;
      async function* chunks() {
        for (let i = 0; i < n; i++) yield bytes('chunk ' + i + '\n');
      }
      return respond(200, [['content-type', 'text/plain']], chunks());
    }
    if (path === '/trailers') {
      const t = Promise.resolve({ tag: 'ok', val: Fields.fromList([['x-trailer', bytes('done')]]) });
      return respond(200, [], once(bytes('body with trailers\n')), t);
    }
    if (path === '/error') {
      throw { tag: 'internal-error', val: 'boom' };
    }
    if (path === '/trap') {
      const x = undefined;
      return x.nope;
    }
    return respond(404, [['content-type', 'text/plain']], once(bytes('not found\n')));
  }
};

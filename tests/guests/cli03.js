// A componentize-qjs guest for WASI 0.3: prints hello and its arguments through the
// wasi:cli/stdout@0.3.0 stream (qjs has no console), waits 10 ms on the monotonic clock,
// and exits with the code given as `exit N`, or returns err for `err`.
import environment from "wasi:cli/environment@0.3.0";
import stdout from "wasi:cli/stdout@0.3.0";
import exit from "wasi:cli/exit@0.3.0";
import clock from "wasi:clocks/monotonic-clock@0.3.0";

function bytes(text) {
  const utf8 = unescape(encodeURIComponent(text));
  const out = new Uint8Array(utf8.length);
  for (let i = 0; i < utf8.length; i++) out[i] = utf8.charCodeAt(i);
  return out;
}

export const run = {
  async run() {
    const args = environment.getArguments();
    const lines = ["hello from JS", `argc ${args.length}`];
    for (let i = 1; i < args.length; i++) lines.push(`arg[${i}] = '${args[i]}'`);
    await clock.waitFor(10_000_000);
    lines.push("waited");
    const { readable, writable } = wit.Stream(wit.Stream.U8);
    const done = stdout.writeViaStream(readable);
    await writable.writeAll(bytes(lines.join("\n") + "\n"));
    writable.drop();
    await done;
    if (args[1] === "exit") exit.exitWithCode(Number(args[2]));
    if (args[1] === "err") throw undefined;
  },
};

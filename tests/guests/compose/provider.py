# Provider: takes a stream<u8>, hands back a future<string> that resolves to
# "<byte count> <sha256>" once the stream ends.
import hashlib

import componentize_py_async_support
import wit_world
from wit_world import exports


class Hasher(exports.Hasher):
    async def digest(self, data):
        tx, rx = wit_world.string_future(lambda: "dropped")

        async def consume() -> None:
            h = hashlib.sha256()
            n = 0
            with data:
                while not data.writer_dropped:
                    chunk = await data.read(65536)
                    n += len(chunk)
                    h.update(chunk)
            with tx:
                await tx.write(f"{n} {h.hexdigest()}")

        componentize_py_async_support.spawn(consume())
        return rx

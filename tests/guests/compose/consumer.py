# Consumer: a wasi:cli 0.3 command that streams 1 MiB to the provider and prints the digest
# the provider's future resolves to.
import wit_world
from wit_world import exports
from wit_world.imports import hasher, stdout


class Run(exports.Run):
    async def run(self) -> None:
        tx, rx = wit_world.byte_stream()
        fut = await hasher.digest(rx)
        block = bytes(range(256)) * 256
        with tx:
            for _ in range(16):
                await tx.write_all(block)
        result = await fut.read()
        otx, orx = wit_world.byte_stream()
        done = stdout.write_via_stream(orx)
        with otx:
            await otx.write_all(f"digest {result}\n".encode())
        await done.read()

"""wasmloop: an asyncio-native host runtime for WebAssembly components.

```python
import wasmloop
engine = wasmloop.Engine()
component = wasmloop.Component.from_file(engine, "app.wasm")
linker = wasmloop.Linker(engine)
instance = await linker.instantiate(component)
print(await instance.exports["add"](1, 2))
```
"""

from .errors import (
    Cancelled,
    DecodeError,
    InstantiationError,
    LinkError,
    Trap,
    ValidationError,
    WasmloopError,
)
from .host import (
    Component,
    Engine,
    Exports,
    Func,
    HostResource,
    Instance,
    InstancePre,
    Linker,
    run,
)
from .limits import Limits
from .runtime.resource import Resource
from .streams import (
    BrokenResourceError,
    ClosedResourceError,
    EndOfStream,
    ErrorContext,
    FutureReader,
    FutureWriter,
    StreamReader,
    StreamWriter,
    future,
    future_from,
    stream,
    stream_from,
)
from .validate import FEATURES as ALL_FEATURES
from .values import Err, Flags, Map, Ok, Record, Some, Variant

__all__ = [
    "ALL_FEATURES",
    "BrokenResourceError",
    "ClosedResourceError",
    "EndOfStream",
    "ErrorContext",
    "FutureReader",
    "FutureWriter",
    "StreamReader",
    "StreamWriter",
    "future",
    "future_from",
    "stream",
    "stream_from",
    "Cancelled",
    "Component",
    "DecodeError",
    "Engine",
    "Err",
    "Exports",
    "Flags",
    "Func",
    "HostResource",
    "Instance",
    "InstancePre",
    "InstantiationError",
    "Limits",
    "LinkError",
    "Linker",
    "Ok",
    "Record",
    "Map",
    "Resource",
    "Some",
    "Trap",
    "ValidationError",
    "Variant",
    "WasmloopError",
    "run",
]

__version__ = "0.1.0"

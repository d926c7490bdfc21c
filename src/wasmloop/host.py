"""The embedding API: ``Engine``, ``Component``, ``Linker``, ``Instance``, ``Func``.

Async first: ``await linker.instantiate(component)`` and ``await instance.exports["f"](...)``.
Scripts without an event loop can use ``linker.instantiate_sync`` and ``Func.call_sync``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from .binary import decode_component
from .compcache import ComponentCache
from .engine import CoreEngine, CoreModule, Store
from .errors import LinkError
from .interfaces import InterfaceImpl, find_compatible
from .limits import Limits
from .runtime import thread as _thread
from .runtime.func import ComponentFunc, HostCall, HostFunc, LiftedFunc
from .runtime.instance import ComponentInstance
from .runtime.instantiate import ExportBundle, FuncABICache, instantiate
from .runtime.resource import RuntimeResource
from .types import U32, ComponentType, FuncType, InstanceType, ResourceType, TypeBound, ValType
from .validate import ComponentInfo, ModuleInfo, validate
from .validate.features import parse_features

_DTOR_TYPE = FuncType((("rep", U32),), None)

__all__ = ["Engine", "Component", "Linker", "InstancePre", "Instance", "Func", "Exports",
           "HostResource"]


class Engine:
    """Compiles and caches core modules; shared by components, linkers and instances.

    ``cache_dir`` (default ``$WASMLOOP_CACHE_DIR`` or ``~/.cache/wasmloop``) holds compiled
    core modules keyed by content hash and engine settings; ``cache=False`` disables it.

    ``features`` switches proposals by the names of Wasmtime's ``-W`` flags, on top of
    Wasmtime 49's defaults: component-model ones (``"component-model-async-stackful"``, or
    the short ``"async-stackful"``; ``-more-async-builtins``, ``-error-context``,
    ``-threading``, ``-map``, ``-fixed-length-lists``, ``-implements``, ``-memory64``) and
    core ones passed to wasmtime (``"gc"``, ``"threads"``, ``"custom-page-sizes"`` …). Give
    a mapping (``{"gc": False}``) or ``"gc=n"`` to switch one off. ``features=
    wasmloop.ALL_FEATURES`` enables every component-model feature wasmloop implements.

    Limits (see ``wasmloop.Limits``): ``epoch_interruption=True`` lets ``Limits.timeout``
    interrupt running wasm, ``consume_fuel=True`` meters ``Limits.fuel``; both cost a little
    speed, so they are off unless asked for. ``max_wasm_stack`` (default 512 KiB, as Wasmtime)
    bounds the wasm stack; ``async_stack_size`` (default 2 MiB) is each fiber's stack, and
    must exceed it by 1 MiB (Python host code runs on the rest). ``memory_reservation`` and
    ``memory_guard_size`` are wasmtime's virtual-memory settings for linear memories.
    """

    def __init__(
        self,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        features: Iterable[str] | Mapping[str, bool] = (),
        epoch_interruption: bool = False,
        consume_fuel: bool = False,
        max_wasm_stack: int | None = None,
        async_stack_size: int | None = None,
        memory_reservation: int | None = None,
        memory_guard_size: int | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "use_cache": cache,
            "epoch_interruption": epoch_interruption,
            "consume_fuel": consume_fuel,
            "memory_reservation": memory_reservation,
            "memory_guard_size": memory_guard_size,
        }
        if max_wasm_stack is not None:
            kwargs["max_wasm_stack"] = max_wasm_stack
        if async_stack_size is not None:
            kwargs["async_stack_size"] = async_stack_size
        if cache_dir is not None:
            kwargs["cache_dir"] = cache_dir
        parsed = parse_features(features)  # Wasmtime's -W names; ValueError names a bad one
        #: Component-model features on (short names, see ``validate.features``).
        self.features = parsed.component
        #: Core wasm features set explicitly (wasmtime setting → value); the rest are
        #: wasmtime's defaults.
        self.wasm_features = dict(parsed.core)
        #: The features asked for, by Wasmtime's -W names.
        self.feature_flags = dict(parsed.flags)
        self.core = CoreEngine(wasm_features=parsed.core, **kwargs)


class Component:
    """A decoded, validated and compiled component, ready to instantiate any number of times."""

    def __init__(self, engine: Engine, data: bytes | bytearray | memoryview, *, name: str = ""):
        self.engine = engine
        self.name = name
        self._bytes = bytes(data)
        self.info: ComponentInfo
        paused = _pause_gc()
        try:
            self.info, self._module_digests = _load_info(engine, self._bytes)
            self.ast = self.info.ast
            self._compiled: dict[int, CoreModule] = {}
            self._abis = FuncABICache()
            self._compile_all(self.info)
        finally:
            if paused:
                gc.enable()

    @classmethod
    def from_file(cls, engine: Engine, path: str | os.PathLike[str]) -> Component:
        with open(path, "rb") as f:
            data = f.read()
        return cls(engine, data, name=os.path.basename(os.fspath(path)))

    def _compile_all(self, info: ComponentInfo) -> None:
        for m in info.module_infos:
            self._compile(m)
        for child in info.nested.values():
            self._compile_all(child)

    def _compile(self, m: ModuleInfo) -> CoreModule:
        mod = self._compiled.get(id(m))
        if mod is None:
            mod = self._compiled[id(m)] = self.engine.core.compile(
                m.data, digest=self._module_digests.get(id(m)))
        return mod

    @property
    def type(self) -> ComponentType:
        return self.info.type

    @property
    def imports(self) -> dict[str, object]:
        return self.info.type.imports

    @property
    def exports(self) -> dict[str, object]:
        return self.info.type.exports

    def __repr__(self) -> str:
        return f"<Component {self.name or '?'}>"


def _pause_gc() -> bool:
    """Turns the cyclic garbage collector off (the caller turns it back on if this returns
    True). Loading a component and instantiating it make tens of thousands of long-lived
    objects and little garbage: collections during them only re-scan what was just made
    (≈10% of a warm start)."""
    if not gc.isenabled():
        return False
    gc.disable()
    return True


def _load_info(engine: Engine, data: bytes) -> tuple[ComponentInfo, dict[int, str]]:
    """Decodes and validates ``data``, or takes what that learnt from the component cache
    (``wasmloop.compcache``, beside the compiled modules)."""
    cache: ComponentCache | None = getattr(engine, "_component_cache", None)
    if cache is None:
        if engine.core.cache_dir is None:
            return validate(decode_component(data), engine.features), {}
        features = sorted(engine.features) + sorted(
            f"{k}={v}" for k, v in getattr(engine, "wasm_features", {}).items())
        cache = ComponentCache(engine.core.cache_dir / "components", features)
        engine._component_cache = cache  # type: ignore[attr-defined]
    digest = hashlib.sha256(data).hexdigest()
    hit = cache.load(digest, data)
    if hit is None:
        info = validate(decode_component(data), engine.features)
        cache.store(digest, data, info)
        return info, {}
    return hit


class HostResource(RuntimeResource):
    """A resource type defined by the host (see ``Linker.define_resource`` and
    ``Linker.define_interface``). ``cls``, when set, is the Python class whose instances the
    guest's handles refer to: lowering anything else as this resource is a ``TypeError``."""

    __slots__ = ("cls",)

    def __init__(self, name: str, dtor: Any = None, cls: type | None = None) -> None:
        RuntimeResource.__init__(self, name, None, dtor)
        self.cls = cls


class Linker:
    """Names the values a component's imports are satisfied with.

    - ``define_func(instance, name, fn)``: a Python function (``def`` or ``async def``); with
      ``instance=None`` it satisfies a top-level function import ``name``.
    - ``define_resource(instance, name, dtor=None)``: a host resource type; returns it. Guests
      hold handles to Python objects of it; ``dtor(obj)`` runs when a guest drops its own handle.
    - ``define_instance(name, value)``: a whole instance: the exports of another component
      instance (``Instance`` or ``instance.exports[...]``) — runtime composition.
    - ``define_interface(name, impl)``: a whole interface implemented by one Python object,
      its functions and resource classes found by their WIT names (``wasmloop.interfaces``).

    Imports with versions (``ns:pkg/iface@1.2.3``) are satisfied by a semver-compatible
    definition when there is no exact one (see ``wasmloop.interfaces``).
    """

    def __init__(self, engine: Engine, *, limits: Limits | None = None) -> None:
        self.engine = engine
        #: Default ``Limits`` of instances this linker makes (``instantiate(limits=...)``
        #: overrides them).
        self.limits = limits
        self._defs: dict[str, Any] = {}
        self.allow_shadowing = False
        #: one host resource type per class and engine, shared by every linker of the
        #: engine, so that handles (and futures/streams carrying them) made under one linker
        #: pass into components linked by another (a middleware chain links one per component)
        cr = getattr(engine, "_class_resources", None)
        if cr is None:
            cr = {}
            with contextlib.suppress(AttributeError):
                engine._class_resources = cr  # type: ignore[attr-defined]
        self._class_resources: dict[type, HostResource] = cr
        self._bound_resources: dict[ResourceType, HostResource] = {}

    def _slot(self, instance: str | None, name: str, value: Any) -> None:
        if instance is None:
            target = self._defs
        else:
            target = self._defs.setdefault(instance, {})
            if not isinstance(target, dict):
                raise LinkError(f"instance `{instance}` is already defined as a whole instance")
        if name in target and not self.allow_shadowing:
            where = f"`{instance}` `{name}`" if instance else f"`{name}`"
            raise LinkError(f"{where} is already defined")
        target[name] = value

    def define_func(self, instance: str | None, name: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"define_func needs a callable, got {type(fn).__name__}")
        self._slot(instance, name, fn)

    def define_resource(
        self, instance: str | None, name: str, dtor: Callable[[Any], Any] | None = None
    ) -> HostResource:
        rt = HostResource(name, HostFunc(_DTOR_TYPE, dtor, f"[dtor]{name}") if dtor else None)
        self._slot(instance, name, rt)
        return rt

    def define_interface(self, name: str, impl: object, *,
                         resources: Mapping[str, type] | None = None) -> None:
        """Satisfy the interface import ``name`` with the Python object ``impl``: each
        function ``f-g`` is ``impl.f_g``, each resource ``r-s`` the class ``impl.RS`` (or
        ``resources["r-s"]``), with ``[method]``/``[static]`` functions found on the class and
        ``[constructor]`` calling it; an instance's ``drop()`` runs when the guest drops its
        handle. Missing functions and wrong arities are ``LinkError``s at instantiation."""
        if name in self._defs and not self.allow_shadowing:
            raise LinkError(f"`{name}` is already defined")
        self._defs[name] = InterfaceImpl(impl, resources)

    def resource_for_class(self, cls: type, name: str = "") -> HostResource:
        """The host resource type whose reps are instances of ``cls`` (one per class and
        engine, shared by every interface and linker that names it)."""
        rt = self._class_resources.get(cls)
        if rt is None:
            drop = getattr(cls, "drop", None)
            dtor = HostFunc(_DTOR_TYPE, drop, f"[dtor]{name or cls.__name__}") if drop else None
            rt = self._class_resources[cls] = HostResource(name or cls.__name__, dtor, cls)
        return rt

    def define_instance(self, name: str, value: Instance | Exports | Mapping[str, Any]) -> None:
        if name in self._defs and not self.allow_shadowing:
            raise LinkError(f"`{name}` is already defined")
        if isinstance(value, Instance):
            value = value.exports
        if isinstance(value, Exports):
            value = value._bundle
        self._defs[name] = value

    # -- resolving imports ----------------------------------------------------------------------

    def _resolve(self, name: str, et: object, provided: Any, where: str) -> Any:
        if isinstance(et, FuncType):
            if isinstance(provided, ComponentFunc):
                _check_func(et, provided.type, where)
                return provided
            if callable(provided) and not isinstance(provided, RuntimeResource):
                return HostFunc(et, provided, name)
            raise LinkError(f"{where}: expected function found {_kind(provided)}")
        if isinstance(et, TypeBound):
            if isinstance(et.type, ResourceType):
                if not isinstance(provided, RuntimeResource):
                    raise LinkError(f"{where}: expected resource found {_kind(provided)}")
                return provided
            return et.type
        if isinstance(et, InstanceType):
            if isinstance(provided, InterfaceImpl):
                return self._bind_interface(et, provided, where)
            if not isinstance(provided, Mapping):
                raise LinkError(f"{where}: expected instance found {_kind(provided)}")
            bundle = ExportBundle(owner=getattr(provided, "owner", None))
            for ename, ety in et.exports.items():
                if ename not in provided:
                    if isinstance(ety, TypeBound) and not isinstance(ety.type, ResourceType):
                        continue
                    raise LinkError(f"{where}: export `{ename}` has not been defined (a matching "
                                    "implementation was not found in the linker)")
                bundle[ename] = self._resolve(ename, ety, provided[ename], f"{where}#{ename}")
            return bundle
        if isinstance(et, ValType):
            raise LinkError(f"{where}: value imports (🪙) are not supported")
        raise LinkError(f"{where}: importing a {type(et).__name__} is not supported")

    def _bind_interface(self, et: InstanceType, iface: InterfaceImpl, where: str) -> ExportBundle:
        bundle = ExportBundle(owner=None)
        classes: dict[str, type] = {}
        bound = self._bound_resources
        for ename, ety in et.exports.items():
            if isinstance(ety, TypeBound) and isinstance(ety.type, ResourceType):
                rt = None if ety.sub_resource else bound.get(ety.type)
                if rt is None:
                    # a resource this interface defines (or one it `use`s from an interface
                    # that was not bound here): its class comes from this object
                    cls = iface.resource_class(ename, where)
                    rt = self.resource_for_class(cls, ename)
                    bound[ety.type] = rt
                if rt.cls is not None:
                    classes[ename] = rt.cls
                bundle[ename] = rt
        for ename, ety in et.exports.items():
            if isinstance(ety, FuncType):
                fn = iface.function(ename, len(ety.params), where, classes)
                bundle[ename] = HostFunc(ety, fn, ename)
            elif isinstance(ety, TypeBound):
                if not isinstance(ety.type, ResourceType):
                    bundle[ename] = ety.type
            else:
                raise LinkError(f"{where}: export `{ename}` ({type(ety).__name__}) cannot be "
                                "implemented by a Python interface object")
        return bundle

    def _args(self, component: Component) -> dict[str, Any]:
        args: dict[str, Any] = {}
        #: Static resource types of the component's imports → the host resources bound to
        #: them so far, so that an interface that `use`s a resource of another (an `eq` type
        #: bound) gets the same one.
        self._bound_resources = {}
        for name, et in component.imports.items():
            found = find_compatible(name, self._defs)
            if found is None:
                if isinstance(et, TypeBound) and not isinstance(et.type, ResourceType):
                    continue
                raise LinkError(f"import `{name}` has not been defined (a matching implementation "
                                "was not found in the linker)")
            args[name] = self._resolve(name, et, self._defs[found], f"import `{name}`")
        return args

    # -- instantiation --------------------------------------------------------------------------

    def instantiate_pre(self, component: Component) -> InstancePre:
        """Link ``component`` once: its imports resolved against this linker's definitions
        now (a missing or mismatched import is a ``LinkError`` here), for many fast
        instantiations later. Definitions added to the linker afterwards do not change it."""
        return InstancePre(self, component, self._args(component))

    async def instantiate(self, component: Component, *, limits: Limits | None = None) -> Instance:
        """Instantiate ``component`` with this linker's definitions (and ``limits``, or the
        linker's)."""
        return _instantiate(self, component, self._args(component), limits)

    def instantiate_sync(self, component: Component, *, limits: Limits | None = None) -> Instance:
        return _instantiate(self, component, self._args(component), limits)


class InstancePre:
    """A component linked against a linker (``Linker.instantiate_pre``): every import already
    resolved and type-checked, so ``instantiate()`` only builds the new instance. A server
    that makes an instance per request (or per hundred) links once."""

    __slots__ = ("linker", "component", "_args")

    def __init__(self, linker: Linker, component: Component, args: dict[str, Any]) -> None:
        self.linker = linker
        self.component = component
        self._args = args

    async def instantiate(self, *, limits: Limits | None = None) -> Instance:
        return _instantiate(self.linker, self.component, self._args, limits)

    def instantiate_sync(self, *, limits: Limits | None = None) -> Instance:
        return _instantiate(self.linker, self.component, self._args, limits)


def _instantiate(linker: Linker, component: Component, args: dict[str, Any],
                 limits: Limits | None) -> Instance:
    limits = limits if limits is not None else linker.limits
    store = Store(linker.engine.core)
    paused = _pause_gc()
    try:
        if limits is not None:
            limits.apply_to_store(store)
            started = time.monotonic()
        inst = instantiate(
            component.info,
            args,
            store,
            component._compile,
            component._abis,
            name=component.name or "component",
        )
    except BaseException:
        store.close()
        raise
    finally:
        if paused:
            gc.enable()
    instance = Instance(component, inst, store)
    if limits is not None and limits.timeout is not None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = _private_runner().get_loop()  # where call_sync runs the guest
        left = max(0.0, limits.timeout - (time.monotonic() - started))
        instance._timer = replace(limits, timeout=left).arm_timeout(inst, loop)
    return instance


def _kind(v: Any) -> str:
    """What a definition is, in Wasmtime's link errors' words ("expected function found
    instance")."""
    if isinstance(v, RuntimeResource):
        return "resource"
    if isinstance(v, Mapping):
        return "instance"
    if callable(v):
        return "func"
    return type(v).__name__


def _describe(v: Any) -> str:
    if isinstance(v, RuntimeResource):
        return "a resource type"
    if isinstance(v, Mapping):
        return "an instance"
    if callable(v):
        return "a function"
    return type(v).__name__


def _check_func(expected: FuncType, actual: FuncType, where: str) -> None:
    if not _same_shape(expected, actual):
        raise LinkError(f"{where}: function type mismatch: expected {expected}, found {actual}")


def _same_shape(a: Any, b: Any) -> bool:
    """Structural type equality where resource types match any resource type (their identity
    is checked when the instance's resources are bound)."""
    if isinstance(a, ResourceType) and isinstance(b, ResourceType):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_shape(x, y) for x, y in zip(a, b, strict=True))
    fields = getattr(type(a), "__dataclass_fields__", None)
    if fields is None:
        return a == b
    return all(_same_shape(getattr(a, f), getattr(b, f)) for f in fields)


_runner: asyncio.Runner | None = None


def _private_runner() -> asyncio.Runner:
    global _runner
    if _runner is None:
        _runner = asyncio.Runner()
    return _runner


class Func:
    """An exported component function. ``await f(*args)`` calls it."""

    __slots__ = ("_f", "name")

    def __init__(self, f: ComponentFunc, name: str) -> None:
        self._f = f
        self.name = name

    @property
    def type(self) -> FuncType:
        return self._f.type

    async def __call__(self, *args: Any) -> Any:
        f = self._f
        if f.__class__ is LiftedFunc and f.sync_fast_path:  # type: ignore[attr-defined]
            done, value = f.call_from_host_inline(args, _thread._current)  # type: ignore[attr-defined]
            if done:
                return value
            call = HostCall(f, args)
            if value is not None:
                call.adopt(value)
            else:
                call.start()
        else:
            call = HostCall(f, args)
            call.start()
        if not call.done:
            await call.wait()
        return call.outcome()

    async def call_to_exit(self, *args: Any) -> Any:
        """Like ``await f(*args)``, but also waits until the callee task has ended entirely
        (an async export may keep running after it returned its result), raising its trap if
        it trapped after returning. ``wasmloop wast`` calls exports this way, like Wasmtime."""
        call = HostCall(self._f, args)
        call.start()
        if not call.done:
            await call.wait()
        result = call.outcome()
        await call.wait_exit()
        return result

    def call_sync(self, *args: Any) -> Any:
        """Call from synchronous code (no running event loop).

        The call starts at once on a private event loop that is marked running but not run;
        only if the callee blocks (on a host ``async def`` import, say) does that loop run
        until the call resolves. Scripts pay for no event-loop turn on calls that finish.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("call_sync cannot be used inside a running event loop; await instead")
        runner = _private_runner()
        loop = runner.get_loop()
        call = HostCall(self._f, args)
        asyncio._set_running_loop(loop)
        try:
            call.start()
        finally:
            asyncio._set_running_loop(None)
        if not call.done:
            runner.run(call.wait())
        elif loop._ready:  # type: ignore[attr-defined]
            # Work the eager start scheduled (a woken thread, a host coroutine step): run it.
            runner.run(asyncio.sleep(0))
        return call.outcome()

    def __repr__(self) -> str:
        return f"<Func {self.name}: {self._f.type}>"


class Exports(Mapping[str, Any]):
    """The exports of an instance: functions as ``Func``, instances as nested ``Exports``,
    resource types as ``RuntimeResource``. ``exports["ns:pkg/iface#f"]`` also works."""

    __slots__ = ("_bundle", "_prefix", "_cache")

    def __init__(self, bundle: Mapping[str, Any], prefix: str = "") -> None:
        self._bundle = bundle
        self._prefix = prefix
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        if name not in self._bundle and "#" in name:
            outer, _, inner = name.partition("#")
            return self[outer][inner]
        v = self._bundle[name]
        full = f"{self._prefix}#{name}" if self._prefix else name
        if isinstance(v, ComponentFunc):
            v = Func(v, full)
        elif isinstance(v, Mapping):
            v = Exports(v, full)
        self._cache[name] = v
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._bundle)

    def __len__(self) -> int:
        return len(self._bundle)

    def __repr__(self) -> str:
        return f"<Exports {list(self._bundle)}>"


class Instance:
    """An instantiated component."""

    def __init__(self, component: Component, inst: ComponentInstance, store: Store) -> None:
        self.component = component
        self._inst = inst
        self._store = store
        self._timer: Any = None
        self.exports = Exports(ExportBundle(inst.exports, inst))

    @property
    def poisoned(self) -> bool:
        return self._inst.poisoned

    def close(self) -> None:
        """Free the instance's store. Calls after this fail."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._inst.poison()
        self._store.close()

    async def __aenter__(self) -> Instance:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Instance of {self.component!r}>"


def run(coro: Any) -> Any:
    """``asyncio.run`` for scripts; here so examples need one import."""
    return asyncio.run(coro)


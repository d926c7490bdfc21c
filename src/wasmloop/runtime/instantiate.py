"""Instantiation: running a validated component's definitions against its imports.

The validator (``wasmloop.validate``) has already resolved every index and type statically;
instantiation walks the same definitions in order with runtime values: core instances, core
functions (wasm exports, lowered imports, built-ins), component functions (lifted exports, host
functions), component instances (nested ones recursively) and runtime resources.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..abi import CanonOpts, FuncABI
from ..binary import ast
from ..engine import CoreModule, Store
from ..engine import FuncType as CoreSig
from ..errors import InstantiationError, LinkError, Trap
from ..types import (
    PRIMITIVES,
    STRING,
    U32,
    CoreFuncType,
    FuncType,
    InstanceType,
    ListType,
    MapType,
    OptionType,
    RecordType,
    ResourceType,
    ResultType,
    TupleType,
    TypeBound,
    VariantType,
)
from . import asyncvalues, canon
from . import thread as _thread
from .func import ComponentFunc, LiftedFunc, lower_import, lower_import_async
from .instance import ComponentInstance
from .resource import RuntimeResource
from .task import Task

if TYPE_CHECKING:
    from ..validate import ComponentInfo, ModuleInfo

__all__ = ["instantiate", "ExportBundle", "FuncABICache", "ComponentClosure"]

S = ast.Sort

#: The type a resource destructor is called with: the rep, nothing returned.
DTOR_TYPE = FuncType((("rep", U32),), None)

#: The type of the implicit synchronous task a core start function runs in.
START_TYPE = FuncType((), None)


def _no_start() -> list[Any]:
    return []


def _ignore(_x: Any) -> None:
    pass


def _reenter_trap(inst: ComponentInstance) -> Callable[..., Any]:
    def handler(_caller: Any, *_args: Any) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        raise Trap(f"cannot enter component instance {inst.name!r}: it is already on the call "
                   "stack (a component calling its own export)")

    return handler


class ExportBundle(dict):  # type: ignore[type-arg]
    """The exports of a component instance (or an instance built from inline exports), by
    name: ComponentFunc, RuntimeResource (for exported resource types), static types,
    nested ExportBundles, compiled core modules."""

    __slots__ = ("owner",)

    def __init__(self, items: Mapping[str, Any] = (), owner: ComponentInstance | None = None):  # type: ignore[assignment]
        super().__init__(items)
        self.owner = owner


class ComponentClosure:
    """A component as a runtime value: its validated definition and the instantiation of
    the component it is nested in (``outer``), whose items its outer aliases refer to. A
    component nested in a component that is instantiated twice is two closures, each seeing
    the modules, components and resources of its own instantiation."""

    __slots__ = ("info", "outer")

    def __init__(self, info: ComponentInfo, outer: _Instantiator | None) -> None:
        self.info = info
        self.outer = outer

    def __repr__(self) -> str:
        return f"<ComponentClosure {self.info!r}>"


class FuncABICache:
    """FuncABI objects are built once per (function type, static options) for a component
    and shared by every instantiation of it."""

    def __init__(self) -> None:
        self._cache: dict[tuple[FuncType, CanonOpts, bool], FuncABI] = {}
        #: (id of a ComponentInfo, definition position, keep_strings) → the FuncABI of that
        #: definition: the same on every instantiation, and found without hashing its type
        self._at: dict[tuple[int, int, bool], FuncABI] = {}

    def at(self, info: Any, pos: int, ft: FuncType, opts: CanonOpts,
           keep_strings: bool = False) -> FuncABI:
        """``get`` for the function of definition ``pos`` of ``info`` (whose component
        holds this cache, so ``info`` outlives it)."""
        key = (id(info), pos, keep_strings)
        abi = self._at.get(key)
        if abi is None:
            abi = self._at[key] = self.get(ft, opts, keep_strings)
        return abi

    def get(self, ft: FuncType, opts: CanonOpts, keep_strings: bool = False) -> FuncABI:
        """``keep_strings``: lifted strings remember their source encoding (for values on
        their way to another component, which stores them as the spec transcodes)."""
        key = (ft, opts, keep_strings)
        abi = self._cache.get(key)
        if abi is None:
            abi = self._cache[key] = FuncABI(ft, opts, keep_string_encoding=keep_strings)
        return abi


def _has_string(t: Any) -> bool:
    """True if the value type ``t`` holds a string outside a stream or future."""
    if t is None or t is STRING:
        return t is STRING
    if isinstance(t, ListType | OptionType):
        return _has_string(t.elem)
    if isinstance(t, RecordType):
        return any(_has_string(f) for _, f in t.fields)
    if isinstance(t, TupleType):
        return any(_has_string(e) for e in t.elems)
    if isinstance(t, VariantType):
        return any(_has_string(c) for _, c in t.cases)
    if isinstance(t, ResultType):
        return _has_string(t.ok) or _has_string(t.err)
    if isinstance(t, MapType):
        return _has_string(t.key) or _has_string(t.value)
    return False


_core_sigs: dict[CoreFuncType, CoreSig] = {}


def _core_sig(t: CoreFuncType) -> CoreSig:
    sig = _core_sigs.get(t)
    if sig is None:
        sig = _core_sigs[t] = CoreSig(t.params, t.results)
    return sig


def instantiate(
    info: ComponentInfo,
    args: Mapping[str, Any],
    store: Store,
    compiled: Callable[[ModuleInfo], CoreModule],
    abis: FuncABICache,
    *,
    name: str = "",
    parent: ComponentInstance | None = None,
    outer: _Instantiator | None = None,
) -> ComponentInstance:
    """Instantiate ``info`` with ``args`` (import name → runtime value) in ``store``;
    ``outer`` is the instantiation of the component ``info`` is nested in (see
    ``ComponentClosure``)."""
    inst = ComponentInstance(name or "component", store, parent)
    _Instantiator(info, args, store, compiled, abis, inst, outer).run()
    return inst


#: Definition class → the ``_Instantiator`` method that runs it.
_DISPATCH: dict[type, Callable[..., None]] = {}


class _Instantiator:
    def __init__(
        self,
        info: ComponentInfo,
        args: Mapping[str, Any],
        store: Store,
        compiled: Callable[[ModuleInfo], CoreModule],
        abis: FuncABICache,
        inst: ComponentInstance,
        outer: _Instantiator | None = None,
    ) -> None:
        self.info = info
        self.outer = outer
        self.args = args
        self.store = store
        self.compiled = compiled
        self.abis = abis
        self.inst = inst
        self.spaces: dict[ast.Sort, list[Any]] = {s: [] for s in ast.Sort}
        self.core_instances = self.spaces[S.CORE_INSTANCE]

    # -- helpers ------------------------------------------------------------------------------

    def value_of(self, sort: ast.Sort, index: int) -> Any:
        if sort is S.TYPE:
            t = self.info.types[index]
            if isinstance(t, ResourceType):
                return self.inst.runtime_resource(t)
            return t
        return self.spaces[sort][index]

    def bind_resource(self, static: Any, runtime: Any, what: str) -> None:
        if not isinstance(static, ResourceType):
            return
        if not isinstance(runtime, RuntimeResource):
            raise LinkError(f"{what}: expected a resource type, got {runtime!r}")
        bound = self.inst.resources.get(static)
        if bound is None:
            self.inst.resources[static] = runtime
        elif bound is not runtime:
            raise LinkError(f"{what}: mismatched resource types")

    def bind_instance_resources(self, it: Any, bundle: Mapping[str, Any], what: str) -> None:
        if not isinstance(it, InstanceType):
            return
        for ename, et in it.exports.items():
            if isinstance(et, TypeBound) and isinstance(et.type, ResourceType):
                if ename not in bundle:
                    raise LinkError(f"{what}: missing resource type export `{ename}`")
                self.bind_resource(et.type, bundle[ename], f"{what}: export `{ename}`")
            elif isinstance(et, InstanceType) and isinstance(bundle.get(ename), Mapping):
                self.bind_instance_resources(et, bundle[ename], f"{what}/{ename}")

    def created(self, pos: int) -> int:
        c = self.info.created[pos]
        assert c is not None
        return c[1]

    def opts(self, pos: int) -> tuple[CanonOpts, Any, Any, Any]:
        o = self.info.canon_opts.get(pos)
        core_funcs = self.spaces[S.CORE_FUNC]
        if o is None:
            return CanonOpts(), None, None, None
        memory = self.spaces[S.CORE_MEMORY][o.memory] if o.memory is not None else None
        realloc = core_funcs[o.realloc] if o.realloc is not None else None
        post = core_funcs[o.post_return] if o.post_return is not None else None
        static = CanonOpts(o.string_encoding, memory is not None, realloc is not None)
        return static, memory, realloc, post

    # -- the walk -----------------------------------------------------------------------------

    def run(self) -> None:
        dispatch = _DISPATCH
        for pos, d in enumerate(self.info.ast.definitions):
            method = dispatch.get(d.__class__)
            if method is None:
                method = getattr(_Instantiator, "do_" + d.__class__.__name__, None)
                if method is None:
                    raise InstantiationError(f"unsupported definition {type(d).__name__}")
                dispatch[d.__class__] = method
            method(self, pos, d)

    def do_CoreModule(self, pos: int, d: ast.CoreModule) -> None:
        self.spaces[S.CORE_MODULE].append(self.compiled(self.info.core_modules[self.created(pos)]))

    def do_CoreTypeDef(self, pos: int, d: ast.CoreTypeDef) -> None:
        self.spaces[S.CORE_TYPE].append(None)

    def do_CoreInstantiate(self, pos: int, d: ast.CoreInstantiate) -> None:
        module = self.spaces[S.CORE_MODULE][d.module_index]
        if not isinstance(module, CoreModule):
            raise InstantiationError("cannot instantiate an imported core module")
        by_name = {a.name: self.spaces[S.CORE_INSTANCE][a.instance_index] for a in d.args}
        externs = []
        for mod, name, _kind, _ty in module.imports:
            try:
                externs.append(by_name[mod][name])
            except KeyError:
                raise LinkError(f"core module import `{mod}` `{name}` is not satisfied") from None
        instance = self._instantiate_core(module, externs)
        self.spaces[S.CORE_INSTANCE].append(instance.exports)

    def _instantiate_core(self, module: CoreModule, externs: list[Any]) -> Any:
        """Instantiate a core module inside an implicit synchronous task of the component
        instance, so its start function may call lowered imports and built-ins (and traps
        if it would block, as a synchronous task does)."""
        inst = self.inst
        task = Task(START_TYPE, inst, False, True, _no_start, _ignore, _ignore)
        task.state = Task.State.STARTED
        thread = _thread.Thread(task, inst)
        task.implicit_thread = thread
        task.threads.append(thread)
        thread.index = inst.threads.add(thread)
        if inst.exclusive_thread is None:
            inst.exclusive_thread = thread
        inst.exclusive_depth += 1
        prev = _thread._current
        _thread._current = thread
        thread.resumer = prev
        try:
            return self.store.instantiate(module, externs)
        except InstantiationError as e:
            # A trap raised by a host function (a built-in or lowered import) under the start
            # function reaches us as wasmtime's "error while executing …": it is a trap.
            if not str(e).startswith("error while executing"):
                raise
            raise Trap(str(e)) from None
        except RuntimeError as e:
            if "instantiation suspended" not in str(e):
                raise
            # Only waiting for the host gets here (waiting for guest work traps at once).
            raise Trap("cannot block a synchronous task before returning: a start function "
                       "waited for an async host function (wasmloop instantiates "
                       "synchronously)") from None
        finally:
            _thread._current = prev
            inst.exclusive_depth -= 1
            if inst.exclusive_depth == 0:
                inst.exclusive_thread = None
            task.threads.clear()
            inst.threads.remove(thread.index)
            thread.index = None
            thread.done = True
            task.state = Task.State.RESOLVED
            task.exited = True

    def do_CoreInlineExports(self, pos: int, d: ast.CoreInlineExports) -> None:
        self.spaces[S.CORE_INSTANCE].append(
            {e.name: self.spaces[e.sort][e.index] for e in d.exports}
        )

    def do_TypeDef(self, pos: int, d: ast.TypeDef) -> None:
        t = self.info.types[self.created(pos)]
        if isinstance(d.type, ast.ResourceType) and isinstance(t, ResourceType):
            dtor = None
            if t.dtor is not None:
                core = self.spaces[S.CORE_FUNC][t.dtor]
                dtor = LiftedFunc(self.inst, core, DTOR_TYPE, self.abis.get(DTOR_TYPE, CanonOpts()),
                                  None, None, None, name=f"[dtor]{t.name}")
            self.inst.resources[t] = RuntimeResource(t.name, self.inst, dtor)

    def do_NestedComponent(self, pos: int, d: ast.NestedComponent) -> None:
        self.spaces[S.COMPONENT].append(ComponentClosure(self.info.nested[pos], self))

    def do_Instantiate(self, pos: int, d: ast.Instantiate) -> None:
        closure = self.spaces[S.COMPONENT][d.component_index]
        if not isinstance(closure, ComponentClosure):
            raise InstantiationError(f"cannot instantiate {closure!r} as a component")
        child_args = {a.name: self.value_of(a.sort, a.index) for a in d.args}
        idx = self.created(pos)
        child = instantiate(
            closure.info,
            child_args,
            self.store,
            self.compiled,
            self.abis,
            name=f"{self.inst.name}/instance{idx}",
            parent=self.inst,
            outer=closure.outer,
        )
        bundle = ExportBundle(child.exports, child)
        self.bind_instance_resources(self.info.instances[idx], bundle, f"instance {idx}")
        self.spaces[S.INSTANCE].append(bundle)

    def do_InlineExports(self, pos: int, d: ast.InlineExports) -> None:
        self.spaces[S.INSTANCE].append(
            ExportBundle({e.name: self.value_of(e.sort, e.index) for e in d.exports})
        )

    def do_AliasExport(self, pos: int, d: ast.AliasExport) -> None:
        bundle = self.spaces[S.INSTANCE][d.instance_index]
        value = bundle[d.name]
        if d.sort is S.TYPE:
            self.bind_resource(self.info.types[self.created(pos)], value, f"alias `{d.name}`")
        else:
            self.spaces[d.sort].append(value)

    def do_AliasCoreExport(self, pos: int, d: ast.AliasCoreExport) -> None:
        self.spaces[d.sort].append(self.core_instances[d.instance_index][d.name])

    def do_AliasOuter(self, pos: int, d: ast.AliasOuter) -> None:
        idx = self.created(pos)
        target: _Instantiator | None = self
        for _ in range(d.count):
            target = target.outer if target is not None else None
        if d.sort is S.CORE_MODULE or d.sort is S.COMPONENT:
            if target is None:
                raise InstantiationError(f"outer alias of a {d.sort.value} without the "
                                         "instantiation it is defined in")
            self.spaces[d.sort].append(target.spaces[d.sort][d.index])
        elif d.sort is S.CORE_TYPE:
            self.spaces[S.CORE_TYPE].append(None)
        elif d.sort is S.TYPE:
            t = self.info.types[idx]
            if isinstance(t, ResourceType) and t not in self.inst.resources:
                # the resource as the enclosing instantiation bound it (lexically: a
                # component exported and instantiated elsewhere still sees its definer's)
                outer = target.inst if target is not None else None
                if outer is not None and t in outer.resources:
                    self.inst.resources[t] = outer.resources[t]
                    return
                p = self.inst.parent
                while p is not None and t not in p.resources:
                    p = p.parent
                if p is not None:
                    self.inst.resources[t] = p.resources[t]

    def do_CanonLift(self, pos: int, d: ast.CanonLift) -> None:
        ft = self.info.funcs[self.created(pos)]
        static, memory, realloc, post = self.opts(pos)
        o = self.info.canon_opts.get(pos)
        is_async = o is not None and o.is_async
        callback = None
        if o is not None and o.callback is not None:
            callback = self.spaces[S.CORE_FUNC][o.callback]
        core_func = self.spaces[S.CORE_FUNC][d.core_func]
        abis, info = self.abis, self.info
        keep = abis.at(info, pos, ft, static, True) if _has_string(ft.result) else None
        self.spaces[S.FUNC].append(
            LiftedFunc(self.inst, core_func, ft, abis.at(info, pos, ft, static), memory, realloc,
                       post, is_async_lift=is_async, callback=callback, abi_keep=keep)
        )

    def do_CanonLower(self, pos: int, d: ast.CanonLower) -> None:
        callee = self.spaces[S.FUNC][d.func]
        ft = self.info.funcs[d.func]
        static, memory, realloc, _ = self.opts(pos)
        o = self.info.canon_opts.get(pos)
        # Arguments for another component keep their encoding: it transcodes them as the spec
        # does (every realloc, the shrinking one included), as Wasmtime's adapters do.
        to_guest = isinstance(callee, LiftedFunc) and any(_has_string(t) for _, t in ft.params)
        abi = self.abis.at(self.info, pos, ft, static, to_guest)
        if isinstance(callee, LiftedFunc) and callee.inst is self.inst:
            # Lowering the instance's own lifted function: every call would re-enter the
            # instance, which Wasmtime 49 traps (the spec's entering set would be empty).
            sig = abi.core_type_lower_async if o is not None and o.is_async \
                else abi.core_type_lower
            f = self.store.host_func(_core_sig(sig), _reenter_trap(self.inst), can_suspend=False)
            self.spaces[S.CORE_FUNC].append(f)
            return
        if o is not None and o.is_async:
            handler = lower_import_async(self.inst, callee, abi, memory, realloc)
            sig, can_suspend = abi.core_type_lower_async, False
        else:
            handler, can_suspend = lower_import(self.inst, callee, abi, memory, realloc)
            sig = abi.core_type_lower
        f = self.store.host_func(_core_sig(sig), handler, can_suspend=can_suspend)
        self.spaces[S.CORE_FUNC].append(f)

    def _resolve_valtype(self, t: Any) -> Any:
        if t is None:
            return None
        if isinstance(t, str):
            return PRIMITIVES[t]
        return self.info.types[t]

    def do_CanonBuiltin(self, pos: int, d: ast.CanonBuiltin) -> None:
        factory = canon.BUILTINS.get(d.op) or asyncvalues.BUILTINS.get(d.op)
        if factory is None:
            raise InstantiationError(f"canonical built-in `{d.op}` is not supported")
        env = canon.BuiltinEnv(self.inst, d.op)
        if d.type_index is not None:
            env.static_type = self.info.types[d.type_index]
            if d.op.startswith("resource."):
                env.runtime_resource = self.inst.runtime_resource(env.static_type)
        if pos in self.info.canon_opts:
            static, memory, realloc, _ = self.opts(pos)
            env.memory, env.realloc, env.string_encoding = memory, realloc, static.string_encoding
            env.is_async = self.info.canon_opts[pos].is_async
        if d.memory is not None:
            env.memory = self.spaces[S.CORE_MEMORY][d.memory]
        if d.table_index is not None:
            env.table = self.spaces[S.CORE_TABLE][d.table_index]
        if d.op in ("subtask.cancel", "stream.cancel-read", "stream.cancel-write",
                    "future.cancel-read", "future.cancel-write"):
            env.is_async = d.is_async
        env.cancellable = d.cancellable
        env.index = d.index or 0
        env.core_valtype = d.core_valtype or "i32"
        if d.op == "task.return":
            env.result_type = self._resolve_valtype(d.result)
        handler, can_suspend = factory(env)
        sig = self.info.core_funcs[self.created(pos)]
        f = self.store.host_func(_core_sig(sig), handler, can_suspend=can_suspend)
        self.spaces[S.CORE_FUNC].append(f)

    def do_Start(self, pos: int, d: ast.Start) -> None:
        raise InstantiationError("component start functions (🪙) are not supported")

    def do_Value(self, pos: int, d: ast.Value) -> None:
        raise InstantiationError("component value definitions (🪙) are not supported")

    def do_Import(self, pos: int, d: ast.Import) -> None:
        if d.name not in self.args:
            if d.type.sort is S.TYPE \
                    and not isinstance(self.info.types[self.created(pos)], ResourceType):
                return  # an `(eq t)` type import: the type is known, no value is needed
            raise LinkError(f"import `{d.name}` has not been defined")
        value = self.args[d.name]
        sort = d.type.sort
        what = f"import `{d.name}`"
        if sort is S.TYPE:
            self.bind_resource(self.info.types[self.created(pos)], value, what)
            return
        if sort is S.FUNC:
            if not isinstance(value, ComponentFunc):
                raise LinkError(f"{what}: expected a function, got {type(value).__name__}")
        elif sort is S.INSTANCE:
            if not isinstance(value, Mapping):
                raise LinkError(f"{what}: expected an instance, got {type(value).__name__}")
            self.bind_instance_resources(self.info.instances[self.created(pos)], value, what)
        elif sort is S.COMPONENT:
            if not isinstance(value, ComponentClosure):
                raise LinkError(f"{what}: expected a component, got {type(value).__name__}")
        self.spaces[sort].append(value)

    def do_Export(self, pos: int, d: ast.Export) -> None:
        value = self.value_of(d.sort, d.index)
        if d.sort is S.TYPE:
            c = self.info.created[pos]
            if c is not None:
                self.bind_resource(self.info.types[c[1]], value, f"export `{d.name}`")
        else:
            self.spaces[d.sort].append(value)
        if isinstance(value, LiftedFunc) and not value.name:
            value.name = d.name
        self.inst.exports[d.name] = value

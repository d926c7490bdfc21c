"""The component validator: one walk over ``Component.definitions`` in order.

Each index space is built incrementally as the spec says; every type is resolved into
``wasmloop.types`` objects. Resource types are identities: a ``resource`` definition or a
``(sub resource)`` declarator creates a new ``ResourceType``; aliases return the same object;
instantiating a component substitutes its imported resources and gives fresh ones to its
exported abstract resources.

External visibility (Explainer "External Visibility of Types") is tracked with *tokens*: every
type index has one. A value type node is its own token (an import or export of a value type
creates an equal copy, so the copy is a new token); a handle (``own``/``borrow``) remembers the
token of the resource index it was built from. A component keeps the tokens its imports and its
exports introduced; an import may only use imported tokens, an export imported or exported ones.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from wasmloop import types as T
from wasmloop.abi import layout
from wasmloop.binary import ast
from wasmloop.binary.coremodule import _desc_text, _tag_text, parse_module_header
from wasmloop.errors import ValidationError
from wasmloop.validate import names as N
from wasmloop.validate.features import DEFAULT_FEATURES
from wasmloop.validate.typeops import (
    Subst,
    check_subtype,
    children,
    contains_borrow,
    contains_ptr,
    core_extern_why,
    free_resources,
    sort_of,
)

__all__ = ["CanonOptions", "ComponentInfo", "ModuleInfo", "validate"]

MAX_TYPE_SIZE = 1_000_000
MAX_NESTING = 100
#: wasmparser's MAX_WASM_COMPONENT_TYPE_DEPTH: how deeply value types may nest.
MAX_TYPE_DEPTH = 100
_MAX_ELEM_SIZE = 1 << 28

_S = ast.Sort
_CORE_KIND = {
    _S.CORE_FUNC: "func",
    _S.CORE_TABLE: "table",
    _S.CORE_MEMORY: "memory",
    _S.CORE_GLOBAL: "global",
    _S.CORE_TAG: "tag",
}
_SORT_WORD = {
    _S.FUNC: "func",
    _S.INSTANCE: "instance",
    _S.COMPONENT: "component",
    _S.CORE_MODULE: "module",
    _S.TYPE: "type",
    _S.VALUE: "value",
}


@dataclass(frozen=True, slots=True)
class CanonOptions:
    """Resolved ``canonopt``s of a ``canon`` definition (indices into core index spaces)."""

    string_encoding: str = "utf8"
    memory: int | None = None
    realloc: int | None = None
    post_return: int | None = None
    is_async: bool = False
    callback: int | None = None


@dataclass(eq=False, slots=True)
class ModuleInfo:
    """A core module defined in a component: its bytes and its import/export header."""

    data: memoryview | bytes
    offset: int
    type: T.CoreModuleType


class _Scope:
    """Index spaces shared by component definitions and component/instance type scopes."""

    is_component = False

    def __init__(self, parent: _Scope | None) -> None:
        self.parent = parent
        self.types: list[object] = []
        self.type_tokens: list[object] = []
        self.core_types: list[object] = []
        self.funcs: list[T.FuncType] = []
        self.instances: list[T.InstanceType] = []
        self.components: list[object] = []
        self.values: list[T.ValType] = []
        self.core_modules: list[object] = []
        self.import_names = N.UniqueNames("import")
        self.export_names = N.UniqueNames("export")
        self.imported_resources: dict[str, tuple[T.ResourceType, object]] = {}
        self.exported_resources: dict[str, tuple[T.ResourceType, object]] = {}
        self.imported_tokens: set[int] = set()
        self.exported_tokens: set[int] = set()
        self.depth: int = 0 if parent is None else parent.depth + 1


class _TypeScope(_Scope):
    """The declarators of a ``componenttype`` or ``instancetype``."""

    def __init__(self, parent: _Scope, is_instance: bool) -> None:
        super().__init__(parent)
        self.is_instance = is_instance
        self.imports: dict[str, object] = {}
        self.exports: dict[str, object] = {}


class ComponentInfo(_Scope):
    """What validation learnt about one component (see the module docstring).

    Public fields: ``ast``, ``type``, ``parent``, the index spaces ``types``, ``funcs``,
    ``instances``, ``components``, ``values``, ``core_modules``, ``core_funcs``,
    ``core_tables``, ``core_memories``, ``core_globals``, ``core_tags``, ``core_types``,
    ``core_instances``, and per definition ``created``, ``canon_opts``, ``nested``,
    ``module_infos``.
    """

    is_component = True

    def __init__(self, component: ast.Component, parent: ComponentInfo | None) -> None:
        super().__init__(parent)
        self.ast = component
        self.parent: ComponentInfo | None = parent
        self.type = T.ComponentType({}, {})
        self.core_funcs: list[T.CoreFuncType] = []
        self.core_tables: list[object] = []
        self.core_memories: list[object] = []
        self.core_globals: list[object] = []
        self.core_tags: list[object] = []
        self.core_instances: list[dict[str, tuple[str, object]]] = []
        self.created: list[tuple[ast.Sort, int] | None] = []
        self.canon_opts: dict[int, CanonOptions] = {}
        self.nested: dict[int, ComponentInfo] = {}
        self.module_infos: list[ModuleInfo] = []
        self.defined_resources: set[T.ResourceType] = set()
        self.first_exports: set[T.ResourceType] = set()

    def __repr__(self) -> str:
        return (f"<ComponentInfo imports={list(self.type.imports)} "
                f"exports={list(self.type.exports)}>")




def validate(component: ast.Component,
             features: frozenset[str] | None = None, *,
             wasmtime_restrictions: bool = True) -> ComponentInfo:
    """Validate a decoded component and resolve its types; raise ``ValidationError``.

    ``features`` (default ``DEFAULT_FEATURES``) gates the proposals that are not yet on by
    default: stackful async lifts, the more-async built-ins (sync stream/future operations,
    async cancellation), error contexts and the cooperative thread built-ins.
    ``wasmtime_restrictions`` refuses, as Wasmtime 49 does, what the spec allows but no
    runtime can run in a root component (``_check_root``).
    """
    v = _Validator(DEFAULT_FEATURES if features is None else features)
    try:
        info = v.component(component, None)
    except RecursionError:
        raise ValidationError("type nesting is too deep (Python's recursion limit was reached "
                              "while validating)", None) from None
    if wasmtime_restrictions:
        _check_root(info, component)
    return info


def _check_root(info: ComponentInfo, component: ast.Component) -> None:
    """What Wasmtime 49 refuses in a root component although the spec allows it (its
    translation cannot run them, nor can wasmloop's runtime): importing or exporting a
    whole component."""
    offsets = {d.name: d.offset for d in component.definitions
               if isinstance(d, ast.Import | ast.Export)}
    for name, t in info.type.imports.items():
        if isinstance(t, T.ComponentType):
            raise ValidationError("root-level component imports are not supported "
                                  f"(import `{name}`)", offsets.get(name))
    for name, t in info.type.exports.items():
        if isinstance(t, T.ComponentType):
            raise ValidationError("exporting a component from the root component is not "
                                  f"supported (export `{name}`)", offsets.get(name))
    # Re-exporting an imported function (directly, through an alias of an imported instance,
    # or inside a re-exported imported instance) is not implemented in Wasmtime 49.
    funcs: set[int] = set()
    instances: set[int] = set()
    for d, created in zip(component.definitions, info.created, strict=False):
        if created is None:
            continue
        sort, idx = created
        from_import = isinstance(d, ast.Import) or (
            isinstance(d, ast.AliasExport) and d.instance_index in instances) or (
            isinstance(d, ast.Export) and d.index in (funcs if d.sort is _S.FUNC else instances))
        if isinstance(d, ast.Export) and from_import:
            inner = [d.name] if d.sort is _S.FUNC else [
                n for n, et in info.instances[d.index].exports.items()
                if isinstance(et, T.FuncType)] if d.sort is _S.INSTANCE else []
            if inner:
                raise ValidationError(f"component export `{inner[0]}` is a reexport of an "
                                      "imported function which is not implemented", d.offset)
        if from_import:
            (funcs if sort is _S.FUNC else instances if sort is _S.INSTANCE else set()).add(idx)


# ---------------------------------------------------------------------------------------------


def _fmt_core(ts: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(t.upper() if t in ("i32", "i64", "f32", "f64") else t for t in ts) + "]"


def _core_sig(params: list[str] | tuple[str, ...],
              results: list[str] | tuple[str, ...]) -> T.CoreFuncType:
    return T.CoreFuncType(tuple(params), tuple(results))


def flat_functype(ft: T.FuncType, opts: CanonOptions, context: str, addr: str) -> T.CoreFuncType:
    """``flatten_functype(opts, ft, context)`` of the Canonical ABI."""
    params = list(layout.flatten_types(ft.param_types, addr))
    results = list(layout.flatten_types(ft.result_types, addr))
    if not opts.is_async:
        if len(params) > layout.MAX_FLAT_PARAMS:
            params = [addr]
        if len(results) > layout.MAX_FLAT_RESULTS:
            if context == "lift":
                results = [addr]
            else:
                params.append(addr)
                results = []
        return _core_sig(params, results)
    if context == "lift":
        if len(params) > layout.MAX_FLAT_PARAMS:
            params = [addr]
        results = ["i32"] if opts.callback is not None else []
    else:
        if len(params) > layout.MAX_FLAT_ASYNC_PARAMS:
            params = [addr]
        if results:
            params.append(addr)
        results = ["i32"]
    return _core_sig(params, results)


def _enc_name(enc: object) -> str:
    """A string encoding as wasmparser names it in messages."""
    return "latin1-utf16" if enc == "latin1+utf16" else str(enc)


def _mem_addr(mem: object) -> str:
    if isinstance(mem, ast.CoreMemoryType):
        return "i64" if mem.limits.is64 else "i32"
    if isinstance(mem, str) and "i64" in mem:
        return "i64"
    return "i32"


def _is_named_value(t: object) -> bool:
    return isinstance(t, T.RecordType | T.VariantType | T.EnumType | T.FlagsType)


class _Validator:
    def __init__(self, features: frozenset[str] = DEFAULT_FEATURES) -> None:
        self.features = features
        #: id(own/borrow node) -> token of the resource index it was built from.
        self.handle_tokens: dict[int, object] = {}
        self.keep: list[object] = []
        self.sizes: dict[int, int] = {}
        self._depths: dict[int, int] = {}
        self.export_named: set[T.ResourceType] = set()
        self._type_names: dict[int, str] = {}

    # -- components ---------------------------------------------------------------------------

    def component(self, comp: ast.Component, parent: ComponentInfo | None) -> ComponentInfo:
        info = ComponentInfo(comp, parent)
        if info.depth > MAX_NESTING:
            raise ValidationError("components nested too deeply", comp.offset)
        type_names: dict[int, str] = {}
        if comp.names is not None:
            for sn in comp.names.sort_names:
                if sn.sort is _S.TYPE:
                    type_names.update(sn.names)
        self._type_names = type_names
        for pos, d in enumerate(comp.definitions):
            info.created.append(self.definition(info, pos, d))
            self._type_names = type_names
        return info

    def definition(self, s: ComponentInfo, pos: int, d: object) -> tuple[ast.Sort, int] | None:
        off = getattr(d, "offset", None)
        if isinstance(d, ast.CoreModule):
            mi = ModuleInfo(d.data, d.offset, parse_module_header(d.data))
            _check_module_imports(mi.type, d.offset)
            _check_engine_ref_types(mi.type, d.offset)
            s.module_infos.append(mi)
            return self._push(s.core_modules, mi, _S.CORE_MODULE)
        if isinstance(d, ast.NestedComponent):
            child = self.component(d.component, s)
            s.nested[pos] = child
            return self._push(s.components, child, _S.COMPONENT)
        if isinstance(d, ast.CoreTypeDef):
            return self.core_typedef(s, d)
        if isinstance(d, ast.TypeDef):
            t = self.deftype(s, d.type, d.offset, len(s.types))
            if isinstance(t, T.ResourceType):
                s.defined_resources.add(t)
            return self._push_type(s, t, t)
        if isinstance(d, ast.CoreInstantiate):
            return self.core_instantiate(s, d)
        if isinstance(d, ast.CoreInlineExports):
            return self.core_inline_exports(s, d)
        if isinstance(d, ast.Instantiate):
            return self.instantiate(s, d)
        if isinstance(d, ast.InlineExports):
            return self.inline_exports(s, d)
        if isinstance(d, ast.AliasExport | ast.AliasCoreExport | ast.AliasOuter):
            return self.alias(s, d)
        if isinstance(d, ast.CanonLift):
            return self.canon_lift(s, pos, d)
        if isinstance(d, ast.CanonLower):
            return self.canon_lower(s, pos, d)
        if isinstance(d, ast.CanonBuiltin):
            return self.canon_builtin(s, pos, d)
        if isinstance(d, ast.Import):
            return self.import_(s, d)
        if isinstance(d, ast.Export):
            return self.export(s, d)
        if isinstance(d, ast.Start | ast.Value):
            raise ValidationError("value and start definitions (🪙) are not supported", off)
        raise ValidationError(f"unsupported definition {type(d).__name__}", off)

    @staticmethod
    def _push(space: list, item: object, sort: ast.Sort) -> tuple[ast.Sort, int]:
        space.append(item)
        return (sort, len(space) - 1)

    def _push_type(self, s: _Scope, t: object, token: object) -> tuple[ast.Sort, int]:
        s.types.append(t)
        s.type_tokens.append(token)
        return (_S.TYPE, len(s.types) - 1)

    # -- index helpers ------------------------------------------------------------------------

    @staticmethod
    def _at(space: list, i: int, what: str, off: int | None) -> object:
        if not 0 <= i < len(space):
            # wasmparser's words: "unknown core function 3: function index out of bounds"
            raise ValidationError(f"unknown {what} {i}: {what.removeprefix('core ')} index out "
                                  "of bounds", off)
        return space[i]

    def _type_at(self, s: _Scope, i: int, off: int | None) -> Any:
        if not 0 <= i < len(s.types):
            raise ValidationError(f"unknown type {i}: type index out of bounds", off)
        return s.types[i]

    def _core_func(self, s: ComponentInfo, i: int, off: int | None) -> T.CoreFuncType:
        return self._at(s.core_funcs, i, "core function", off)  # type: ignore[return-value]

    # -- sizes --------------------------------------------------------------------------------

    def _size(self, t: object) -> int:
        k = id(t)
        n = self.sizes.get(k)
        if n is not None:
            return n
        if isinstance(t, T.PrimType | T.ResourceType | T.CoreModuleType) or t is None:
            return 1
        n = 1 + sum(self._size(c) for c in children(t))
        self.sizes[k] = n
        self.keep.append(t)
        return n

    def _depth(self, t: object) -> int:
        """Structural nesting of a value type as wasmparser counts it: a leaf is 1, a
        compound type one more than its deepest part (memoized: types are shared)."""
        k = id(t)
        d = self._depths.get(k)
        if d is None:
            if isinstance(t, T.OwnType | T.BorrowType):
                d = 1
            else:
                d = 1 + max((self._depth(c) for c in children(t)), default=0)
            self._depths[k] = d
            self.keep.append(t)
        return d

    def _check_size(self, t: object, off: int | None) -> None:
        if self._size(t) > MAX_TYPE_SIZE:
            raise ValidationError(
                f"effective type size exceeds the limit of {MAX_TYPE_SIZE}", off
            )

    # -- value and defined types --------------------------------------------------------------

    def valtype(self, s: _Scope, vt: ast.ValType, off: int | None) -> T.ValType:
        if isinstance(vt, str):
            p = T.PRIMITIVES.get(vt)
            if p is None:
                raise ValidationError(f"unknown primitive type `{vt}`", off)
            if vt == "error-context":
                self._require_feature("error-context", "`error-context` requires the component "
                                      "model error-context feature", off)
            return p
        t = self._type_at(s, vt, off)
        if not isinstance(t, T.ValType):
            raise ValidationError(f"type index {vt} is not a defined type", off)
        return t

    def _opt_valtype(self, s: _Scope, vt: ast.ValType | None, off: int | None) -> T.ValType | None:
        return None if vt is None else self.valtype(s, vt, off)

    def deftype(self, s: _Scope, dt: object, off: int | None, index: int) -> object:
        if isinstance(dt, ast.FuncType):
            return self.functype(s, dt, off)
        if isinstance(dt, ast.ResourceType):
            return self.resourcetype(s, dt, off, index)
        if isinstance(dt, ast.ComponentType | ast.InstanceType):
            t = self.type_scope(s, dt, off)
            self._check_size(t, off)
            return t
        vt = self.defvaltype(s, dt, off)
        if self._depth(vt) > MAX_TYPE_DEPTH:
            raise ValidationError("type nesting is too deep", off)
        self._check_size(vt, off)
        if layout.elem_size(vt, "i64") >= _MAX_ELEM_SIZE:
            raise ValidationError("type exceeds maximum byte size of 2^28", off)
        return vt

    def defvaltype(self, s: _Scope, dt: object, off: int | None) -> T.ValType:  # noqa: C901
        if isinstance(dt, ast.Primitive):
            return self.valtype(s, dt.name, off)
        if isinstance(dt, ast.Record):
            if not dt.fields:
                raise ValidationError("record type must have at least one field", off)
            N.check_labels_unique([n for n, _ in dt.fields], "record field", off,
                                  "field")
            return T.RecordType(tuple((n, self.valtype(s, t, off)) for n, t in dt.fields))
        if isinstance(dt, ast.Variant):
            if not dt.cases:
                raise ValidationError("variant type must have at least one case", off)
            N.check_labels_unique([c.label for c in dt.cases], "variant case", off, "case")
            return T.VariantType(tuple((c.label, self._opt_valtype(s, c.type, off))
                                       for c in dt.cases))
        if isinstance(dt, ast.List):
            if dt.length is not None:
                self._require_feature("fixed-length-lists", "Fixed-length lists require the "
                                      "component model fixed-length lists feature", off)
            e = self.valtype(s, dt.element, off)
            if dt.length is not None and dt.length == 0:
                raise ValidationError("fixed size list length must be greater than 0", off)
            return T.ListType(e, dt.length)
        if isinstance(dt, ast.Tuple):
            if not dt.elements:
                raise ValidationError("tuple type must have at least one type", off)
            return T.TupleType(tuple(self.valtype(s, t, off) for t in dt.elements))
        if isinstance(dt, ast.Flags):
            if not dt.labels:
                raise ValidationError("flags must have at least one entry", off)
            if len(dt.labels) > 32:
                raise ValidationError("cannot have more than 32 flags", off)
            N.check_labels_unique(dt.labels, "flag", off)
            return T.FlagsType(tuple(dt.labels))
        if isinstance(dt, ast.Enum):
            if not dt.labels:
                raise ValidationError("enum type must have at least one variant", off)
            N.check_labels_unique(dt.labels, "enum tag", off, "tag")
            return T.EnumType(tuple(dt.labels))
        if isinstance(dt, ast.Option):
            return T.OptionType(self.valtype(s, dt.element, off))
        if isinstance(dt, ast.Result):
            return T.ResultType(self._opt_valtype(s, dt.ok, off), self._opt_valtype(s, dt.err, off))
        if isinstance(dt, ast.Own | ast.Borrow):
            r = self._type_at(s, dt.type_index, off)
            if not isinstance(r, T.ResourceType):
                raise ValidationError(f"type index {dt.type_index} is not a resource type", off)
            node = T.OwnType(r) if isinstance(dt, ast.Own) else T.BorrowType(r)
            self.handle_tokens[id(node)] = s.type_tokens[dt.type_index]
            self.keep.append(node)
            return node
        if isinstance(dt, ast.Stream | ast.Future):
            self._require_feature("async", f"`{'stream' if isinstance(dt, ast.Stream) else 'future'}`"
                                  " requires the component model async feature", off)
            elem = self._opt_valtype(s, dt.element, off)
            if elem is not None and contains_borrow(elem):
                raise ValidationError(
                    f"{'stream' if isinstance(dt, ast.Stream) else 'future'} element type "
                    "cannot contain a `borrow` type", off)
            if isinstance(dt, ast.Stream):
                if elem is T.CHAR:
                    raise ValidationError("`stream<char>` is not valid at this time, use a "
                                          "`stream<u8>` "
                                          "of UTF-8 or a `stream<string>`", off)
                return T.StreamType(elem)
            return T.FutureType(elem)
        if isinstance(dt, ast.Map):
            self._require_feature("map", "Maps require the component model map feature", off)
            k = self.valtype(s, dt.key, off)
            if not (isinstance(k, T.PrimType) and k.kind not in ("f32", "f64", "error-context")):
                raise ValidationError("map key type must be a primitive integer, bool, char "
                                      "or string", off)
            return T.MapType(k, self.valtype(s, dt.value, off))
        raise ValidationError(f"unsupported type definition {type(dt).__name__}", off)

    def functype(self, s: _Scope, ft: ast.FuncType, off: int | None) -> T.FuncType:
        N.check_labels_unique([n for n, _ in ft.params], "function parameter", off, "parameter")
        params = tuple((n, self.valtype(s, t, off)) for n, t in ft.params)
        if ft.is_async:
            self._require_feature("async", "async component functions require the component "
                                  "model async feature", off)
        result = self._opt_valtype(s, ft.result, off)
        if result is not None and contains_borrow(result):
            raise ValidationError("function result cannot contain a `borrow` type", off)
        t = T.FuncType(params, result, ft.is_async)
        self._check_size(t, off)
        return t

    def resourcetype(self, s: _Scope, rt: ast.ResourceType, off: int | None,
                     index: int) -> T.ResourceType:
        if not isinstance(s, ComponentInfo):
            raise ValidationError("resources can only be defined within a concrete component",
                                  off)
        if rt.rep not in ("i32", "i64"):
            raise ValidationError("resources can only be represented by `i32` or `i64`", off)
        if rt.rep == "i64":
            self._require_feature("memory64", "resources with `i64` require the `cm64` feature "
                                  "to be enabled", off)
        if rt.dtor is not None:
            ft = self._core_func(s, rt.dtor, off)
            if ft != T.CoreFuncType((rt.rep,), ()):
                raise ValidationError(
                    f"wrong signature for a destructor: expected ({rt.rep}) -> (), found "
                    f"{_fmt_core(ft.params)} -> {_fmt_core(ft.results)}", off)
        return T.ResourceType(name=self._type_names.get(index, ""), defined=True,
                              rep=rt.rep, dtor=rt.dtor)  # type: ignore[arg-type]

    # -- core types ---------------------------------------------------------------------------

    def core_typedef(self, s: _Scope, d: ast.CoreTypeDef) -> tuple[ast.Sort, int]:
        first = len(s.core_types)
        for t in self.core_deftype(s, d.type, d.offset, allow_module=True):
            s.core_types.append(t)
        return (_S.CORE_TYPE, first)

    def core_deftype(self, s: _Scope | None, dt: object, off: int | None, *,
                     allow_module: bool, local: list | None = None) -> list[object]:
        if isinstance(dt, ast.CoreModuleType):
            if not allow_module:
                raise ValidationError("core module types cannot be nested", off)
            return [self.core_moduletype(s, dt, off)]
        if isinstance(dt, ast.CoreRecType):
            out: list[object] = []
            for st in dt.subtypes:
                c = st.comp
                if isinstance(c, ast.CoreFuncType):
                    out.append(T.CoreFuncType(tuple(c.params), tuple(c.results)))
                elif isinstance(c, ast.CoreRawCompType):
                    raise ValidationError(f"unsupported core type opcode 0x{c.opcode:x}",
                                          c.offset)
                else:
                    out.append(c)
            return out
        raise ValidationError(f"unsupported core type {type(dt).__name__}", off)

    def core_moduletype(self, s: _Scope | None, mt: ast.CoreModuleType,
                        off: int | None) -> T.CoreModuleType:
        local: list[object] = []
        imports: list[tuple[str, str, str, object]] = []
        exports: list[tuple[str, str, object]] = []
        export_names: set[str] = set()
        for decl in mt.decls:
            doff = getattr(decl, "offset", off)
            if isinstance(decl, ast.CoreTypeDef):
                local.extend(self.core_deftype(s, decl.type, doff, allow_module=False))
            elif isinstance(decl, ast.CoreAliasOuter):
                if decl.count == 0:
                    t = self._at(local, decl.index, "type", doff)
                elif decl.count == 1 and s is not None:
                    t = self._at(s.core_types, decl.index, "type", doff)
                else:
                    raise ValidationError(f"invalid outer alias count of {decl.count}", doff)
                if isinstance(t, T.CoreModuleType):
                    raise ValidationError("cannot alias a module type into a module type",
                                          doff)
                local.append(t)
            elif isinstance(decl, ast.CoreImportDecl):
                if (decl.module, decl.name) in {(m, n) for m, n, _, _ in imports}:
                    raise ValidationError(f"duplicate import name `{decl.module}:{decl.name}`",
                                          doff)
                _check_core_limits(decl.type, doff)
                imports.append((decl.module, decl.name, decl.type.kind,
                                self._core_externtype(local, decl.type, doff)))
            elif isinstance(decl, ast.CoreExportDecl):
                _check_core_limits(decl.type, doff)
                if decl.name in export_names:
                    raise ValidationError(f"duplicate export name `{decl.name}` already "
                                          "defined", doff)
                export_names.add(decl.name)
                exports.append((decl.name, decl.type.kind,
                                self._core_externtype(local, decl.type, doff)))
            else:
                raise ValidationError("unsupported module type declarator", doff)
        return T.CoreModuleType(tuple(imports), tuple(exports))

    def _core_externtype(self, local: list, et: ast.CoreExternType, off: int | None) -> object:
        """The type of a core import/export, in ``parse_module_header``'s representation."""
        if et.kind in ("func", "tag"):
            if et.type_index is None:
                raise ValidationError(f"{et.kind} without a type", off)
            t = self._at(local, et.type_index, "type", off)
            if not isinstance(t, T.CoreFuncType):
                raise ValidationError(f"type index {et.type_index} is not a function type", off)
            return t if et.kind == "func" else _tag_text(t)
        return _desc_text(et.kind, et.desc)

    # -- component and instance types ---------------------------------------------------------

    def type_scope(self, s: _Scope, dt: ast.ComponentType | ast.InstanceType,
                   off: int | None) -> T.ComponentType | T.InstanceType:
        is_instance = isinstance(dt, ast.InstanceType)
        ts = _TypeScope(s, is_instance)
        if ts.depth > MAX_NESTING:
            raise ValidationError("type nesting too deep", off)
        for decl in dt.decls:
            doff = getattr(decl, "offset", off)
            if isinstance(decl, ast.CoreTypeDef):
                self.core_typedef(ts, decl)
            elif isinstance(decl, ast.TypeDef):
                t = self.deftype(ts, decl.type, doff, len(ts.types))
                self._push_type(ts, t, t)
            elif isinstance(decl, ast.AliasExport):
                if decl.sort not in (_S.TYPE, _S.INSTANCE):
                    raise ValidationError(
                        "alias declarators in a type may only refer to types or instances",
                        doff)
                self.alias(ts, decl)
            elif isinstance(decl, ast.AliasOuter):
                if decl.sort not in (_S.TYPE, _S.CORE_TYPE):
                    raise ValidationError(
                        "outer alias declarators in a type may only refer to types or core "
                        "types (not components or modules): may only refer to types or "
                        "instances", doff)
                self.alias(ts, decl)
            elif isinstance(decl, ast.AliasCoreExport):
                raise ValidationError("core export aliases are not allowed in a type", doff)
            elif isinstance(decl, ast.ImportDecl):
                if is_instance:
                    raise ValidationError("instance types cannot contain imports", doff)
                ent = self.extern_decl(ts, decl.name, decl.attributes, decl.type, doff,
                                       "import")
                ts.imports[decl.name] = ent
            elif isinstance(decl, ast.ExportDecl):
                ent = self.extern_decl(ts, decl.name, decl.attributes, decl.type, doff,
                                       "export")
                ts.exports[decl.name] = ent
            else:
                raise ValidationError(f"unsupported declarator {type(decl).__name__}", doff)
        if is_instance:
            return T.InstanceType(ts.exports)
        return T.ComponentType(ts.imports, ts.exports)

    # -- imports and exports ------------------------------------------------------------------

    def externtype(self, s: _Scope, et: ast.ExternType, off: int | None,
                   name: str) -> object:
        """Resolve an ``externtype`` to the entity type it describes (no index is pushed).

        For ``(type (sub resource))`` a new abstract ``ResourceType`` is made."""
        sort = et.sort
        if sort is _S.CORE_MODULE:
            t = self._at(s.core_types, et.type_index or 0, "core type", off) \
                if et.type_index is not None else None
            if not isinstance(t, T.CoreModuleType):
                raise ValidationError(f"core type index {et.type_index} is not a module type",
                                      off)
            return t
        if sort is _S.FUNC:
            t = self._type_at(s, et.type_index if et.type_index is not None else -1, off)
            if not isinstance(t, T.FuncType):
                raise ValidationError(f"type index {et.type_index} is not a function type", off)
            return t
        if sort is _S.COMPONENT:
            t = self._type_at(s, et.type_index if et.type_index is not None else -1, off)
            if not isinstance(t, T.ComponentType):
                raise ValidationError(f"type index {et.type_index} is not a component type",
                                      off)
            return t
        if sort is _S.INSTANCE:
            t = self._type_at(s, et.type_index if et.type_index is not None else -1, off)
            if not isinstance(t, T.InstanceType):
                raise ValidationError(f"type index {et.type_index} is not an instance type",
                                      off)
            return self._fresh_instance(t, {}, {}, {})
        if sort is _S.TYPE:
            if et.type_index is None:
                return T.TypeBound(T.ResourceType(name=name, defined=False), True)
            return T.TypeBound(self._type_at(s, et.type_index, off), False)
        if sort is _S.VALUE:
            raise ValidationError("value imports and exports (🪙) are not supported", off)
        raise ValidationError(f"invalid extern sort {sort.value}", off)

    def _named_type_entity(self, s: _Scope, tb: T.TypeBound, index: int | None) -> T.TypeBound:
        """Give an imported/exported ``(eq t)`` value type its own identity (token)."""
        t = tb.type
        if isinstance(t, T.ValType) and not isinstance(t, T.PrimType):
            t2 = dataclasses.replace(t)  # type: ignore[type-var]
            if isinstance(t, T.OwnType | T.BorrowType):
                self.handle_tokens[id(t2)] = self.handle_tokens.get(id(t))
            self.keep.append(t2)
            return T.TypeBound(t2, False)
        return tb

    def _push_entity(self, s: _Scope, sort: ast.Sort, ent: object) -> tuple[ast.Sort, int]:
        if sort is _S.TYPE:
            assert isinstance(ent, T.TypeBound)
            token = ent if isinstance(ent.type, T.ResourceType) else ent.type
            return self._push_type(s, ent.type, token)
        if sort is _S.FUNC:
            return self._push(s.funcs, ent, sort)
        if sort is _S.INSTANCE:
            return self._push(s.instances, ent, sort)
        if sort is _S.COMPONENT:
            return self._push(s.components, ent, sort)
        if sort is _S.CORE_MODULE:
            return self._push(s.core_modules, ent, sort)
        return self._push(s.values, ent, sort)

    def _check_name(self, s: _Scope, name: str, attributes: tuple[ast.NameAttribute, ...],
                    sort: ast.Sort, ent: object, off: int | None, kind: str) -> None:
        en = N.parse_extern_name(name, off)
        seen: set[str] = set()
        for a in attributes:
            if a.kind in seen:
                raise ValidationError(f"duplicate `{a.kind}` attribute", off)
            seen.add(a.kind)
            if a.kind == "implements":
                self._require_feature("implements", "the `cm-implements` feature is not active",
                                      off)
                if sort is not _S.INSTANCE:
                    raise ValidationError("only instances can have an `implements` attribute",
                                          off)
                if en.kind != "label":
                    raise ValidationError(f"name `{name}` is not valid with `implements`", off)
                iname = N.parse_extern_name(a.value, off)
                if iname.kind != "interface":
                    raise ValidationError(f"`implements` value `{a.value}` must be an "
                                          "interface name", off)
            elif a.kind == "external-id":
                self._require_feature("implements", "the `cm-implements` feature is not active",
                                      off)
            elif a.kind == "versionsuffix":
                if en.kind != "interface" or en.version is None \
                        or not N.is_canon_version(en.version):
                    raise ValidationError("`versionsuffix` requires a name with a canonical "
                                          "interface version", off)
                if not N.is_semver(en.version + a.value):
                    raise ValidationError(f"`{en.version}{a.value}` is not a valid semver", off)
        resources = s.imported_resources if kind == "import" else s.exported_resources
        if en.kind == "label" and isinstance(ent, T.TypeBound) \
                and isinstance(ent.type, T.ResourceType):
            resources[name] = (ent.type, ent)
        if en.kind in ("constructor", "method", "static"):
            why = self._annotated_why(en, ent, resources)
            if why is not None:
                raise ValidationError(f"{kind} name `{name}` is not valid\n{why}", off)
        (s.import_names if kind == "import" else s.export_names).add(name, off)

    def _annotated_why(self, en: N.ExternName, ent: object,
                       resources: dict[str, tuple[T.ResourceType, object]]) -> str | None:
        """Why a ``[constructor]``/``[method]``/``[static]`` name does not fit its item (None:
        it does), in wasmparser's order and words."""
        if not isinstance(ent, T.FuncType):
            return "item is not a func"
        assert en.resource is not None
        if en.kind == "static":
            return None if en.resource in resources else \
                "static resource name is not known in this context"
        h: T.ValType | None
        if en.kind == "constructor":
            if ent.is_async:
                return "constructor function cannot be async"
            if ent.result is None:
                return "function should return one value"
            h = ent.result
            if isinstance(h, T.ResultType):
                h = h.ok
            if not isinstance(h, T.OwnType):
                return "function should return `(own $T)` or `(result (own $T))`"
        else:
            if not ent.params:
                return "function should have at least one argument"
            pname, h = ent.params[0]
            if pname != "self":
                return "function should have a first argument called `self`"
            if not isinstance(h, T.BorrowType):
                return "function should take a first argument of `(borrow $T)`"
        token = self.handle_tokens.get(id(h))
        for rname, (r, tok) in resources.items():
            if r is h.resource and tok is token:
                if rname != en.resource:
                    return f"function does not match expected resource name `{rname}`"
                return None
        return "resource used in function does not have a name in this context"

    def extern_decl(self, s: _Scope, name: str, attributes: tuple[ast.NameAttribute, ...],
                    et: ast.ExternType, off: int | None, kind: str) -> object:
        ent = self.externtype(s, et, off, name)
        if isinstance(ent, T.TypeBound) and not ent.sub_resource:
            ent = self._named_type_entity(s, ent, None)
        self._check_name(s, name, attributes, et.sort, ent, off, kind)
        if isinstance(s, _TypeScope) and not s.is_instance:
            self._check_visible(s, ent, kind, off)
        self._push_entity(s, et.sort, ent)
        return ent

    def _check_visible(self, s: _Scope, ent: object, kind: str, off: int | None) -> None:
        """External visibility: every record/variant/enum/flags and resource an import
        (export) uses must have been named by an import (an import or an export)."""
        if kind == "import":
            allowed = s.imported_tokens
        else:
            allowed = s.imported_tokens | s.exported_tokens
        if not self._all_named(ent, allowed, None):
            raise ValidationError(f"{sort_of(ent)} not valid to be used as {kind}", off)
        self._register_tokens(ent, s.imported_tokens if kind == "import"
                              else s.exported_tokens)

    def import_(self, s: ComponentInfo, d: ast.Import) -> tuple[ast.Sort, int]:
        ent = self.externtype(s, d.type, d.offset, d.name)
        if isinstance(ent, T.TypeBound) and not ent.sub_resource:
            ent = self._named_type_entity(s, ent, None)
        self._check_name(s, d.name, d.attributes, d.type.sort, ent, d.offset, "import")
        self._check_visible(s, ent, "import", d.offset)
        s.type.imports[d.name] = ent
        return self._push_entity(s, d.type.sort, ent)

    def _item(self, s: ComponentInfo, sort: ast.Sort, i: int, off: int | None) -> object:
        """The (inferred extern) type of item ``i`` of ``sort``."""
        if sort is _S.FUNC:
            return self._at(s.funcs, i, "function", off)
        if sort is _S.INSTANCE:
            return self._at(s.instances, i, "instance", off)
        if sort is _S.COMPONENT:
            c = self._at(s.components, i, "component", off)
            return c.type if isinstance(c, ComponentInfo) else c
        if sort is _S.CORE_MODULE:
            m = self._at(s.core_modules, i, "module", off)
            return m.type if isinstance(m, ModuleInfo) else m
        if sort is _S.TYPE:
            return T.TypeBound(self._type_at(s, i, off), False)
        if sort is _S.VALUE:
            raise ValidationError("values (🪙) are not supported", off)
        raise ValidationError(f"core sort `{sort.value}` cannot be exported from a component",
                              off)

    def export(self, s: ComponentInfo, d: ast.Export) -> tuple[ast.Sort, int]:
        off = d.offset
        inferred = self._item(s, d.sort, d.index, off)
        ent = inferred
        if d.type is not None:
            if d.type.sort is not d.sort:
                raise ValidationError(
                    "ascribed type of export is not compatible with item's type\n"
                    f"expected {_SORT_WORD.get(d.type.sort)}, found {_SORT_WORD.get(d.sort)}",
                    off)
            asc = self.externtype(s, d.type, off, d.name)
            if isinstance(asc, T.TypeBound) and asc.sub_resource:
                if not isinstance(getattr(inferred, "type", None), T.ResourceType):
                    raise ValidationError("ascribed type of export is not compatible with "
                                          "item's type\nexpected resource, found defined type",
                                          off)
                ent = T.TypeBound(getattr(inferred, "type"), True)  # noqa: B009
            else:
                check_subtype(inferred, asc, {}, "ascribed type of export is not compatible with "
                              "item's type", off)
                ent = asc
        if isinstance(ent, T.TypeBound):
            t = ent.type
            if isinstance(t, T.ResourceType):
                first = t not in s.first_exports
                s.first_exports.add(t)
                ent = T.TypeBound(t, first or ent.sub_resource)
                if first and (not t.name or t in s.defined_resources) \
                        and t not in self.export_named:
                    self.export_named.add(t)
                    t.name = d.name
            else:
                ent = self._named_type_entity(s, ent, None)
        self._check_name(s, d.name, d.attributes, d.sort, ent, off, "export")
        self._check_visible(s, ent, "export", off)
        s.type.exports[d.name] = ent
        return self._push_entity(s, d.sort, ent)

    # -- external visibility ------------------------------------------------------------------

    def _register_tokens(self, ent: object, into: set[int]) -> None:
        if isinstance(ent, T.TypeBound):
            tok = ent if isinstance(ent.type, T.ResourceType) else ent.type
            into.add(id(tok))
            self.keep.append(tok)
            if isinstance(ent.type, T.InstanceType):
                self._register_tokens(ent.type, into)
        elif isinstance(ent, T.InstanceType):
            for v in ent.exports.values():
                self._register_tokens(v, into)

    def _instance_tokens(self, it: T.InstanceType, out: set[int]) -> set[int]:
        self._register_tokens(it, out)
        return out

    def _valtype_named(self, t: T.ValType | None, allowed: set[int]) -> bool:
        if t is None or isinstance(t, T.PrimType):
            return True
        if _is_named_value(t):
            return id(t) in allowed
        if isinstance(t, T.OwnType | T.BorrowType):
            return id(self.handle_tokens.get(id(t))) in allowed
        return all(self._valtype_named(c, allowed) for c in children(t))  # type: ignore[arg-type]

    def _defined_named(self, t: object, allowed: set[int]) -> bool:
        if isinstance(t, T.FlagsType | T.EnumType | T.PrimType):
            return True
        if isinstance(t, T.ValType):
            if isinstance(t, T.OwnType | T.BorrowType):
                return self._valtype_named(t, allowed)
            return all(self._valtype_named(c, allowed) for c in children(t))  # type: ignore[arg-type]
        return self._all_named(t, allowed, None)

    def _all_named(self, ent: object, allowed: set[int], _unused: object) -> bool:
        if isinstance(ent, T.FuncType):
            return all(self._valtype_named(c, allowed) for _, c in ent.params) and \
                self._valtype_named(ent.result, allowed)
        if isinstance(ent, T.TypeBound):
            if isinstance(ent.type, T.ResourceType | T.ComponentType):
                return True
            return self._defined_named(ent.type, allowed)
        if isinstance(ent, T.InstanceType):
            inner = set(allowed)
            self._register_tokens(ent, inner)
            return all(self._all_named(v, inner, None) for v in ent.exports.values())
        return True

    # -- aliases ------------------------------------------------------------------------------

    def alias(self, s: _Scope, d: object) -> tuple[ast.Sort, int]:  # noqa: C901
        off = getattr(d, "offset", None)
        if isinstance(d, ast.AliasExport):
            it = self._at(s.instances, d.instance_index, "instance", off)
            assert isinstance(it, T.InstanceType)
            if d.name not in it.exports:
                raise ValidationError(
                    f"instance {d.instance_index} has no export named `{d.name}`", off)
            ent = it.exports[d.name]
            want = _SORT_WORD.get(d.sort)
            if sort_of(ent) != want:
                raise ValidationError(f"export `{d.name}` for instance {d.instance_index} is "
                                      f"not a {want}", off)
            if d.sort is _S.VALUE:
                raise ValidationError("values (🪙) are not supported", off)
            if d.sort is _S.TYPE:
                assert isinstance(ent, T.TypeBound)
                token = ent if isinstance(ent.type, T.ResourceType) else ent.type
                return self._push_type(s, ent.type, token)
            return self._push_entity(s, d.sort, ent)
        if isinstance(d, ast.AliasCoreExport):
            assert isinstance(s, ComponentInfo)
            kind = _CORE_KIND.get(d.sort)
            if kind is None:
                raise ValidationError(f"core export alias of sort `{d.sort.value}` is not "
                                      "supported", off)
            inst = self._at(s.core_instances, d.instance_index, "core instance", off)
            assert isinstance(inst, dict)
            if d.name not in inst:
                raise ValidationError(
                    f"core instance {d.instance_index} has no export named `{d.name}`", off)
            k, t = inst[d.name]
            if k != kind:
                raise ValidationError(f"export `{d.name}` for core instance "
                                      f"{d.instance_index} is not a {kind}", off)
            spaces: dict[str, list[Any]] = {
                "func": s.core_funcs, "table": s.core_tables, "memory": s.core_memories,
                "global": s.core_globals, "tag": s.core_tags}
            space = spaces[kind]
            return self._push(space, t, d.sort)
        assert isinstance(d, ast.AliasOuter)
        if d.sort not in (_S.CORE_MODULE, _S.CORE_TYPE, _S.COMPONENT, _S.TYPE):
            raise ValidationError(
                f"outer item of sort `{d.sort.value}` is not a module, type, or component", off)
        target: _Scope | None = s
        crossed = False
        for _ in range(d.count):
            assert target is not None
            if target.is_component:
                crossed = True
            target = target.parent
            if target is None:
                break
        if target is None:
            raise ValidationError(f"invalid outer alias count of {d.count}", off)
        if d.sort is _S.TYPE:
            t = self._type_at(target, d.index, off)
            if crossed and free_resources(t):
                raise ValidationError(
                    f"type index {d.index} transitively refers to resources not defined in the "
                    "current component", off)
            return self._push_type(s, t, target.type_tokens[d.index])
        if d.sort is _S.CORE_TYPE:
            t = self._at(target.core_types, d.index, "core type", off)
            return self._push(s.core_types, t, d.sort)
        if d.sort is _S.CORE_MODULE:
            m = self._at(target.core_modules, d.index, "module", off)
            return self._push(s.core_modules, m, d.sort)
        c = self._at(target.components, d.index, "component", off)
        return self._push(s.components, c, d.sort)

    # -- instances ----------------------------------------------------------------------------

    def core_inline_exports(self, s: ComponentInfo,
                            d: ast.CoreInlineExports) -> tuple[ast.Sort, int]:
        out: dict[str, tuple[str, object]] = {}
        for e in d.exports:
            kind = _CORE_KIND.get(e.sort)
            if kind is None:
                raise ValidationError(f"core sort `{e.sort.value}` cannot be exported from a "
                                      "core instance", d.offset)
            spaces: dict[str, list[Any]] = {
                "func": s.core_funcs, "table": s.core_tables, "memory": s.core_memories,
                "global": s.core_globals, "tag": s.core_tags}
            space = spaces[kind]
            t = self._at(space, e.index, kind, d.offset)
            if e.name in out:
                raise ValidationError(f"duplicate export name `{e.name}` already defined",
                                      d.offset)
            out[e.name] = (kind, t)
        return self._push(s.core_instances, out, _S.CORE_INSTANCE)

    def core_instantiate(self, s: ComponentInfo,
                         d: ast.CoreInstantiate) -> tuple[ast.Sort, int]:
        off = d.offset
        m = self._at(s.core_modules, d.module_index, "module", off)
        mt = m.type if isinstance(m, ModuleInfo) else m
        assert isinstance(mt, T.CoreModuleType)
        args: dict[str, dict[str, tuple[str, object]]] = {}
        for a in d.args:
            if a.name in args:
                raise ValidationError(f"duplicate module instantiation argument named "
                                      f"`{a.name}`", off)
            args[a.name] = self._at(s.core_instances, a.instance_index, "core instance",
                                    off)  # type: ignore[assignment]
        for module, name, kind, ty in mt.imports:
            if module not in args:
                raise ValidationError(f"missing module instantiation argument named "
                                      f"`{module}`", off)
            inst = args[module]
            if name not in inst:
                raise ValidationError(f"module instantiation argument `{module}` does not "
                                      f"export an item named `{name}`", off)
            k, t = inst[name]
            why = core_extern_why(k, t, kind, ty)
            if why is not None:
                raise ValidationError(f"type mismatch for export `{name}` of module "
                                      f"instantiation argument `{module}`\n{why}", off)
        out = {n: (k, t) for n, k, t in mt.exports}
        return self._push(s.core_instances, out, _S.CORE_INSTANCE)

    def inline_exports(self, s: ComponentInfo, d: ast.InlineExports) -> tuple[ast.Sort, int]:
        bag = _Scope(None)
        exports: dict[str, object] = {}
        for e in d.exports:
            ent = self._item(s, e.sort, e.index, d.offset)
            # Value types keep their identity (the bag names them as they are); a resource
            # gets a new token, so that annotated functions must use this name of it.
            self._check_name(bag, e.name, e.attributes, e.sort, ent, d.offset, "export")
            exports[e.name] = ent
        return self._push(s.instances, T.InstanceType(exports), _S.INSTANCE)

    def instantiate(self, s: ComponentInfo, d: ast.Instantiate) -> tuple[ast.Sort, int]:
        off = d.offset
        c = self._at(s.components, d.component_index, "component", off)
        ct = c.type if isinstance(c, ComponentInfo) else c
        assert isinstance(ct, T.ComponentType)
        args: dict[str, tuple[object, object | None]] = {}
        for a in d.args:
            if a.name in args:
                raise ValidationError(f"instantiation argument `{a.name}` conflicts with "
                                      f"previous argument `{a.name}`", off)
            ent = self._item(s, a.sort, a.index, off)
            token = s.type_tokens[a.index] if a.sort is _S.TYPE else None
            args[a.name] = (ent, token)
        bind: dict[T.ResourceType, T.ResourceType] = {}
        tokens: dict[int, object] = {}
        objmap: dict[int, object] = {}
        for name in ct.imports:
            if name not in args:
                raise ValidationError(f"missing import named `{name}`", off)
        for name, expected in ct.imports.items():
            actual, token = args[name]
            check_subtype(actual, expected, bind, f"type mismatch for import `{name}`", off)
            if isinstance(expected, T.TypeBound) and token is not None:
                tokens[id(expected)] = token
                assert isinstance(actual, T.TypeBound)
                if not isinstance(expected.type, T.ResourceType):
                    objmap[id(expected.type)] = actual.type
            elif isinstance(expected, T.InstanceType) and isinstance(actual, T.InstanceType):
                _bind_instance_types(expected, actual, tokens, objmap)
        result = self._fresh_instance(T.InstanceType(dict(ct.exports)), bind, tokens, objmap)
        return self._push(s.instances, result, _S.INSTANCE)

    def _fresh_instance(self, it: T.InstanceType,
                        bind: dict[T.ResourceType, T.ResourceType],
                        tokens: dict[int, object], objmap: dict[int, object]) -> T.InstanceType:
        """A copy of ``it`` whose ``(sub resource)`` exports are new resource types (each
        import, export or instantiation of an instance type introduces its own)."""
        self._freshen(it, bind, objmap, set(bind))
        sub = Subst(bind, handle_tokens=self.handle_tokens, tokens=tokens, objmap=objmap,
                    keep=self.keep)
        result = sub(it)
        return T.InstanceType(dict(result.exports)) if result is it else result

    def _freshen(self, it: T.InstanceType, bind: dict[T.ResourceType, T.ResourceType],
                 objmap: dict[int, object], preset: set[T.ResourceType]) -> None:
        for name, v in it.exports.items():
            if isinstance(v, T.TypeBound):
                if v.sub_resource and isinstance(v.type, T.ResourceType) \
                        and v.type not in preset:
                    fresh = T.ResourceType(name=v.type.name or name, defined=False)
                    if v.type in bind:
                        # A second `(sub resource)` export of one resource (an ascription
                        # hiding their equality) is a distinct abstract type outside.
                        objmap[id(v)] = T.TypeBound(fresh, True)
                        self.keep.append(v)
                    else:
                        bind[v.type] = fresh
                elif isinstance(v.type, T.InstanceType):
                    self._freshen(v.type, bind, objmap, preset)
            elif isinstance(v, T.InstanceType):
                self._freshen(v, bind, objmap, preset)

    # -- canonical definitions ----------------------------------------------------------------

    def canon_opts(self, s: ComponentInfo, options: tuple[ast.CanonOpt, ...], off: int | None,
                   allowed: frozenset[str], where: str) -> tuple[CanonOptions, str]:
        enc: str | None = None
        vals: dict[str, int | None] = {}
        is_async = False
        for o in options:
            if o.kind == "string-encoding":
                if enc is not None:
                    raise ValidationError(f"canonical encoding option `{_enc_name(enc)}` "
                                          f"conflicts with option `{_enc_name(o.value)}`", off)
                enc = str(o.value)
                if enc not in ("utf8", "utf16", "latin1+utf16"):
                    raise ValidationError(f"unknown string encoding `{enc}`", off)
            elif o.kind in ("memory", "realloc", "post-return", "callback"):
                if o.kind in vals:
                    raise ValidationError(f"canonical option `{o.kind}` is specified more "
                                          "than once", off)
                vals[o.kind] = o.value  # type: ignore[assignment]
            elif o.kind == "async":
                if is_async:
                    raise ValidationError("canonical option `async` is specified more than "
                                          "once", off)
                self._require_feature("async", "canonical option `async` requires the "
                                      "component model async feature", off)
                is_async = True
            elif o.kind in ("gc", "core-type"):
                what = "`gc`" if o.kind == "gc" else "`core type`"
                raise ValidationError(f"canonical option {what} requires the `cm-gc` feature "
                                      "(the component model's GC ABI), which wasmloop does not "
                                      "support", off)
            else:
                raise ValidationError(f"unknown canonical option `{o.kind}`", off)
            if o.kind not in allowed:
                if where == "`canon lower`" and o.kind in ("post-return", "callback"):
                    raise ValidationError(f"canonical option `{o.kind}` cannot be specified "
                                          "for lowerings", off)
                raise ValidationError(f"canonical option `{o.kind}` is not allowed in {where}",
                                      off)
        addr = "i32"
        mem = vals.get("memory")
        if mem is not None:
            addr = _mem_addr(self._at(s.core_memories, mem, "memory", off))
            if addr == "i64":
                self._require_feature("memory64", "64-bit memories require the `cm64` feature "
                                      "to be enabled", off)
        realloc = vals.get("realloc")
        if realloc is not None:
            if mem is None:
                raise ValidationError("canonical option `realloc` requires `memory` to also be "
                                      "specified: "
                                      "canonical option `memory` is required", off)
            ft = self._core_func(s, realloc, off)
            if ft != T.CoreFuncType((addr,) * 4, (addr,)):
                raise ValidationError("canonical option `realloc` uses a core function with "
                                      "an incorrect signature", off)
        cb = vals.get("callback")
        if cb is not None:
            if not is_async:
                raise ValidationError("cannot specify callback without async", off)
            ft = self._core_func(s, cb, off)
            if ft != T.CoreFuncType(("i32", "i32", "i32"), ("i32",)):
                raise ValidationError("canonical option `callback` uses a core function with "
                                      "an incorrect signature", off)
        pr = vals.get("post-return")
        if pr is not None:
            if is_async:
                raise ValidationError("cannot specify post-return function in async", off)
            self._core_func(s, pr, off)
        return CanonOptions(string_encoding=enc or "utf8", memory=mem, realloc=realloc,
                            post_return=pr, is_async=is_async, callback=cb), addr

    @staticmethod
    def _require(opts: CanonOptions, off: int | None, *, memory: bool = False,
                 realloc: bool = False) -> None:
        if memory and opts.memory is None:
            raise ValidationError("canonical option `memory` is required", off)
        if realloc and opts.realloc is None:
            raise ValidationError("canonical option `realloc` is required", off)

    def canon_lift(self, s: ComponentInfo, pos: int, d: ast.CanonLift) -> tuple[ast.Sort, int]:
        off = d.offset
        core = self._core_func(s, d.core_func, off)
        ft = self._type_at(s, d.type_index, off)
        if not isinstance(ft, T.FuncType):
            raise ValidationError(f"type index {d.type_index} is not a function type", off)
        opts, addr = self.canon_opts(
            s, d.options, off,
            frozenset({"string-encoding", "memory", "realloc", "post-return", "async",
                       "callback"}), "`canon lift`")
        if opts.is_async and not ft.is_async:
            raise ValidationError("the `async` canonical option requires an async function "
                                  "type", off)
        if opts.is_async and opts.callback is None:
            self._gate("async-stackful", "`canon lift` with `async` and no `callback`", off)
        memo: dict[int, bool] = {}
        if any(contains_ptr(t, memo) for t in ft.param_types):
            self._require(opts, off, memory=True, realloc=True)
        if len(layout.flatten_types(ft.param_types, addr)) > layout.MAX_FLAT_PARAMS:
            self._require(opts, off, memory=True, realloc=True)
        if contains_ptr(ft.result, memo):
            self._require(opts, off, memory=True)
        max_results = layout.MAX_FLAT_PARAMS if opts.is_async else layout.MAX_FLAT_RESULTS
        if len(layout.flatten_types(ft.result_types, addr)) > max_results:
            self._require(opts, off, memory=True)
        sig = flat_functype(ft, opts, "lift", addr)
        _check_sig(core, sig, off)
        if opts.post_return is not None:
            pr = self._core_func(s, opts.post_return, off)
            if pr != T.CoreFuncType(sig.results, ()):
                raise ValidationError("canonical option `post-return` uses a core function with "
                                      f"an incorrect signature: expected "
                                      f"{_fmt_core(sig.results)} -> [], found "
                                      f"{_fmt_core(pr.params)} -> {_fmt_core(pr.results)}", off)
        s.canon_opts[pos] = opts
        return self._push(s.funcs, ft, _S.FUNC)

    def canon_lower(self, s: ComponentInfo, pos: int,
                    d: ast.CanonLower) -> tuple[ast.Sort, int]:
        off = d.offset
        ft = self._at(s.funcs, d.func, "function", off)
        assert isinstance(ft, T.FuncType)
        opts, addr = self.canon_opts(s, d.options, off,
                                     frozenset({"string-encoding", "memory", "realloc", "async"}),
                                     "`canon lower`")
        if opts.is_async and not ft.is_async:
            raise ValidationError("the `async` canonical option requires an async function "
                                  "type", off)
        memo: dict[int, bool] = {}
        if any(contains_ptr(t, memo) for t in ft.param_types):
            self._require(opts, off, memory=True)
        max_params = layout.MAX_FLAT_ASYNC_PARAMS if opts.is_async else layout.MAX_FLAT_PARAMS
        if len(layout.flatten_types(ft.param_types, addr)) > max_params:
            self._require(opts, off, memory=True)
        if contains_ptr(ft.result, memo):
            self._require(opts, off, memory=True, realloc=True)
        nres = len(layout.flatten_types(ft.result_types, addr))
        if nres > layout.MAX_FLAT_RESULTS or (opts.is_async and nres > 0):
            self._require(opts, off, memory=True)
        s.canon_opts[pos] = opts
        return self._push(s.core_funcs, flat_functype(ft, opts, "lower", addr), _S.CORE_FUNC)

    def _require_feature(self, feature: str, message: str, off: int | None) -> None:
        """wasmparser's wording, and the -W flag that enables the feature."""
        if feature not in self.features:
            raise ValidationError(f"{message} (`-W component-model-{feature}`)", off)

    def _gate(self, feature: str, what: str, off: int) -> None:
        self._require_feature(feature, f"{what} requires the component model "
                              f"{_FEATURE_WORDS.get(feature, feature)} feature", off)

    def _gate_builtin(self, d: ast.CanonBuiltin) -> None:
        """Which feature each built-in needs, in wasmparser's words."""
        op, off = d.op, d.offset
        if op.startswith("error-context."):
            self._gate("error-context", f"`{op}`", off)
        elif op.startswith("thread.") and op != "thread.yield":
            self._gate("threading", f"`{op}`", off)
        elif not op.startswith("resource."):
            self._require_feature("async", f"`{op}` requires the component model async "
                                  "feature", off)
            if op in ("subtask.cancel", "stream.cancel-read", "stream.cancel-write",
                      "future.cancel-read", "future.cancel-write") and d.is_async:
                self._require_feature("more-async-builtins", f"async `{op}` requires the "
                                      "component model more async builtins feature", off)
            elif op in ("stream.read", "stream.write", "future.read", "future.write") and not \
                    any(o.kind == "async" for o in d.options):
                self._require_feature("more-async-builtins", f"synchronous `{op}` requires "
                                      "the component model more async builtins feature", off)
            if op in ("context.get", "context.set") and d.core_valtype == "i64":
                self._require_feature("memory64", f"64-bit `{op}` requires the component "
                                      "model 64-bit feature", off)

    def canon_builtin(self, s: ComponentInfo, pos: int,  # noqa: C901
                      d: ast.CanonBuiltin) -> tuple[ast.Sort, int]:
        off = d.offset
        op = d.op
        i32 = "i32"
        self._gate_builtin(d)
        simple = _SIMPLE_BUILTINS.get(op)
        if simple is not None:
            return self._push(s.core_funcs, _core_sig(*simple), _S.CORE_FUNC)
        if op in ("resource.new", "resource.rep", "resource.drop"):
            r = self._type_at(s, d.type_index if d.type_index is not None else -1, off)
            if not isinstance(r, T.ResourceType):
                raise ValidationError(f"type index {d.type_index} is not a resource type", off)
            if op == "resource.drop":
                sig = _core_sig([i32], [])
            else:
                if not (r.defined and r in s.defined_resources):
                    raise ValidationError(f"type index {d.type_index} is not a local resource",
                                          off)
                sig = _core_sig([r.rep], [i32]) if op == "resource.new" \
                    else _core_sig([i32], [r.rep])
            return self._push(s.core_funcs, sig, _S.CORE_FUNC)
        if op in ("context.get", "context.set"):
            t = d.core_valtype or i32
            if t not in ("i32", "i64"):
                raise ValidationError(f"`{op}` type must be `i32` (or `i64`), not `{t}`", off)
            if d.index is None or not 0 <= d.index < 2:
                raise ValidationError(f"`{op}` slot index {d.index} out of bounds: must be "
                                      "less than 2", off)
            if d.index != 0 and "threading" not in self.features:
                # Wasmtime 49: the second slot comes with the threading feature.
                raise ValidationError(f"`{op}` immediate must be zero: {d.index}", off)
            sig = _core_sig([], [t]) if op == "context.get" else _core_sig([t], [])
            return self._push(s.core_funcs, sig, _S.CORE_FUNC)
        if op == "task.return":
            rt = self._opt_valtype(s, d.result, off)
            opts, addr = self.canon_opts(s, d.options, off,
                                         frozenset({"string-encoding", "memory"}),
                                         "`task.return`")
            flat = list(layout.flatten_types(() if rt is None else (rt,), addr))
            if contains_ptr(rt) or len(flat) > layout.MAX_FLAT_PARAMS:
                self._require(opts, off, memory=True)
            if len(flat) > layout.MAX_FLAT_PARAMS:
                flat = [addr]
            s.canon_opts[pos] = opts
            return self._push(s.core_funcs, _core_sig(flat, []), _S.CORE_FUNC)
        if op in ("waitable-set.wait", "waitable-set.poll"):
            mem = self._at(s.core_memories, d.memory if d.memory is not None else -1, "memory",
                           off)
            return self._push(s.core_funcs, _core_sig([i32, _mem_addr(mem)], [i32]),
                              _S.CORE_FUNC)
        if op.startswith(("stream.", "future.")):
            is_stream = op.startswith("stream.")
            kind = "stream" if is_stream else "future"
            ct = self._type_at(s, d.type_index if d.type_index is not None else -1, off)
            if not isinstance(ct, T.StreamType if is_stream else T.FutureType):
                raise ValidationError(f"`{op}` requires a {kind} type: type index "
                                      f"{d.type_index} is not a {kind} type", off)
            verb = op.split(".", 1)[1]
            if verb == "new":
                return self._push(s.core_funcs, _core_sig([], ["i64"]), _S.CORE_FUNC)
            if verb in ("read", "write"):
                opts, addr = self.canon_opts(
                    s, d.options, off, frozenset({"string-encoding", "memory", "realloc",
                                                  "async"}), f"`{op}`")
                if ct.elem is not None:
                    self._require(opts, off, memory=True)
                    if verb == "read" and contains_ptr(ct.elem):
                        self._require(opts, off, realloc=True)
                s.canon_opts[pos] = opts
                sig = _core_sig([i32, addr, addr], [i32]) if is_stream \
                    else _core_sig([i32, addr], [i32])
                return self._push(s.core_funcs, sig, _S.CORE_FUNC)
            if verb in ("cancel-read", "cancel-write"):
                return self._push(s.core_funcs, _core_sig([i32], [i32]), _S.CORE_FUNC)
            if verb in ("drop-readable", "drop-writable"):
                return self._push(s.core_funcs, _core_sig([i32], []), _S.CORE_FUNC)
            raise ValidationError(f"unknown canonical built-in `{op}`", off)
        if op in ("thread.new-indirect", "thread.spawn-indirect", "thread.spawn-ref"):
            ct = self._at(s.core_types, d.core_type_index if d.core_type_index is not None
                          else -1, "core type", off)
            if not (isinstance(ct, T.CoreFuncType) and ct.results == ()
                    and ct.params in (("i32",), ("i64",))):
                raise ValidationError(f"`{op}`: start function type must be "
                                      "(func (param i32))", off)
            if op == "thread.spawn-ref":
                sig = _core_sig([f"(ref null {d.core_type_index})", ct.params[0]], [i32])
            else:
                tab = self._at(s.core_tables, d.table_index if d.table_index is not None
                               else -1, "table", off)
                if isinstance(tab, ast.CoreTableType) and tab.elem not in ("funcref",
                                                                          "(ref null func)"):
                    raise ValidationError(f"expected table element type funcref, found "
                                          f"{tab.elem}", off)
                idx = "i64" if isinstance(tab, ast.CoreTableType) and tab.limits.is64 else i32
                sig = _core_sig([idx, ct.params[0]], [i32])
            return self._push(s.core_funcs, sig, _S.CORE_FUNC)
        if op in ("error-context.new", "error-context.debug-message"):
            allowed = {"string-encoding", "memory"} | (
                {"realloc"} if op.endswith("debug-message") else set())
            opts, addr = self.canon_opts(s, d.options, off, frozenset(allowed), f"`{op}`")
            self._require(opts, off, memory=True, realloc=op.endswith("debug-message"))
            s.canon_opts[pos] = opts
            sig = _core_sig([addr, addr], [i32]) if op.endswith("new") \
                else _core_sig([i32, addr], [])
            return self._push(s.core_funcs, sig, _S.CORE_FUNC)
        raise ValidationError(f"unknown canonical built-in `{op}`", off)


#: How wasmparser's messages spell a feature.
_FEATURE_WORDS = {"async-stackful": "async stackful", "more-async-builtins": "more async builtins"}

_SIMPLE_BUILTINS: dict[str, tuple[list[str], list[str]]] = {
    "backpressure.inc": ([], []),
    "backpressure.dec": ([], []),
    "task.cancel": ([], []),
    "waitable-set.new": ([], ["i32"]),
    "waitable-set.drop": (["i32"], []),
    "waitable.join": (["i32", "i32"], []),
    "subtask.cancel": (["i32"], ["i32"]),
    "subtask.drop": (["i32"], []),
    "thread.index": ([], ["i32"]),
    "thread.resume-later": (["i32"], []),
    "thread.suspend": ([], ["i32"]),
    "thread.yield": ([], ["i32"]),
    "thread.suspend-then-resume": (["i32"], ["i32"]),
    "thread.yield-then-resume": (["i32"], ["i32"]),
    "thread.suspend-then-promote": (["i32"], ["i32"]),
    "thread.yield-then-promote": (["i32"], ["i32"]),
    "thread.available-parallelism": ([], ["i32"]),
    "error-context.drop": (["i32"], []),
}


def _bind_instance_types(expected: T.InstanceType, actual: T.InstanceType,
                         tokens: dict[int, object], objmap: dict[int, object]) -> None:
    """Map the type exports of an instance import onto those of the instance given for it,
    so that named types (and resource tokens) keep their identity through instantiation."""
    for name, ev in expected.exports.items():
        av = actual.exports.get(name)
        if isinstance(ev, T.TypeBound) and isinstance(av, T.TypeBound):
            if isinstance(ev.type, T.ResourceType):
                tokens[id(ev)] = av
            elif ev.type is not av.type:
                objmap[id(ev.type)] = av.type
            if isinstance(ev.type, T.InstanceType) and isinstance(av.type, T.InstanceType):
                _bind_instance_types(ev.type, av.type, tokens, objmap)
        elif isinstance(ev, T.InstanceType) and isinstance(av, T.InstanceType):
            _bind_instance_types(ev, av, tokens, objmap)


def _check_sig(actual: T.CoreFuncType, expected: T.CoreFuncType, off: int | None) -> None:
    if actual.params != expected.params:
        raise ValidationError(f"lowered parameter types `{_fmt_core(expected.params)}` do not "
                              f"match parameter types `{_fmt_core(actual.params)}` of core "
                              "function", off)
    if actual.results != expected.results:
        raise ValidationError(f"lowered result types `{_fmt_core(expected.results)}` do not "
                              f"match result types `{_fmt_core(actual.results)}` of core "
                              "function", off)


def _check_core_limits(et: ast.CoreExternType, off: int | None) -> None:
    d = et.desc
    if isinstance(d, ast.CoreMemoryType):
        cap = 1 << 48 if d.limits.is64 else 1 << 16
        if d.page_size_log2 is not None:
            cap = (1 << (64 if d.limits.is64 else 32)) >> d.page_size_log2
        for v in (d.limits.min, d.limits.max):
            if v is not None and v > cap:
                raise ValidationError(f"memory size must be at most {cap} pages", off)
        if d.limits.max is not None and d.limits.max < d.limits.min:
            raise ValidationError("size minimum must not be greater than maximum", off)
    elif isinstance(d, ast.CoreTableType):
        if d.limits.max is not None and d.limits.max < d.limits.min:
            raise ValidationError("size minimum must not be greater than maximum", off)


#: Reference types wasmtime's C API can describe: any other in a core module's imports or
#: exports aborts the process inside wasmtime (``support for non-externref and non-funcref
#: references is not implemented``), so such modules are rejected first.
_ENGINE_REF_TYPES = frozenset({"funcref", "externref", "(ref null func)", "(ref null extern)"})
_REF_TOKEN = re.compile(r"\(ref (?:null )?(?:\(shared [a-z]+\)|[^()\s]+)\)|\b[a-z0-9]+ref\b")


def _check_engine_ref_types(mt: T.CoreModuleType, off: int | None) -> None:
    items = [("import", f"{m}:{n}", k, t) for m, n, k, t in mt.imports]
    items += [("export", n, k, t) for n, k, t in mt.exports]
    for where, name, kind, t in items:
        text = " ".join(t.params + t.results) if isinstance(t, T.CoreFuncType) else str(t)
        for m in _REF_TOKEN.finditer(text):
            if m.group(0) not in _ENGINE_REF_TYPES:
                raise ValidationError(
                    f"core module {where} `{name}` ({kind}) uses the reference type "
                    f"`{m.group(0)}`: wasmloop runs core wasm on wasmtime's C API, which "
                    "supports only `funcref` and `externref` at a module's boundary", off)


def _check_module_imports(mt: T.CoreModuleType, off: int | None) -> None:
    seen: set[tuple[str, str]] = set()
    for m, n, _, _ in mt.imports:
        if (m, n) in seen:
            raise ValidationError(f"duplicate import name `{m}:{n}`", off)
        seen.add((m, n))

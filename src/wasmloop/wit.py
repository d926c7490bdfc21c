"""Print component types as WIT (for ``wasmloop inspect app.wasm``).

:func:`format_component_type` prints a ``world`` with the component's imports and exports in
the layout of ``wasm-tools component wit`` (1.262), which the tests compare against:

* ``package root:component;``, a blank line, then ``world root { ... }``;
* in the world: imported interfaces first (``import ns:pkg/iface@1.0.0;`` or
  ``import name: interface { ... }``), then types (``use`` lines, then one declaration per item
  separated by blank lines), then imported functions, then — after a blank line — the exports
  in their original order;
* inside interfaces: ``use`` lines, type declarations, then functions, one blank line between
  items; resource functions (``[constructor]r``, ``[method]r.m``, ``[static]r.s``) are folded
  into ``resource r { constructor(...); m: func(...); s: static func(...); }``;
* interfaces named ``ns:pkg/iface@v`` are printed after the world in nested
  ``package ns:pkg@v { interface iface { ... } }`` blocks (grouped per package, in order of
  first appearance, separated by two blank lines);
* identifiers that are WIT keywords get a ``%`` prefix.

Differences from ``wasm-tools component wit`` that we accept (the input is a *resolved* type,
without type indices or the original names of anonymous types):

* Only records, variants, enums, flags and resources are printed by name; an alias such as
  ``type bytes = list<u8>`` is declared but signatures spell ``list<u8>`` out.
* Named types are matched structurally: two distinct records with the same fields print with
  the first name in scope. An interface type is printed as ``use`` of an earlier interface's
  type only when it is the *same object* (what resolving ``(eq $alias)`` produces).
* Things WIT cannot express — world-level exported types (printed among the world's types),
  nested component/core module/value imports and exports (printed as ``//`` comments), unnamed
  records/variants (printed inline as ``record { a: u32 }``) — do not make printing fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import types as T

__all__ = [
    "WIT_KEYWORDS",
    "escape_id",
    "format_val_type",
    "format_func_type",
    "format_component_type",
]

#: Identifiers that need a ``%`` prefix in WIT.
WIT_KEYWORDS = frozenset(
    """use type func u8 u16 u32 u64 s8 s16 s32 s64 f32 f64 float32 float64 char resource
    record flags variant enum bool string option result future stream list own borrow _ as
    from static interface tuple world import export package with include constructor
    error-context async map""".split()
)

_NOMINAL = (T.RecordType, T.VariantType, T.EnumType, T.FlagsType)


def escape_id(name: str) -> str:
    """A WIT identifier, ``%``-prefixed if it is a keyword."""
    return "%" + name if name in WIT_KEYWORDS else name


def _resource_name(r: T.ResourceType, names: Mapping[object, str] | None) -> str:
    if names is not None:
        n = names.get(r)
        if n is not None:
            return escape_id(n)
    return escape_id(r.name) if r.name else f"resource-{r.uid}"


def format_val_type(t: T.ValType | None, names: Mapping[object, str] | None = None) -> str:
    """A value type as WIT. ``names`` maps named types (records, variants, enums, flags — by
    structural equality — and ``ResourceType`` objects) to the name to print."""
    if t is None:
        return "_"
    if isinstance(t, T.PrimType):
        return t.kind
    if names is not None and isinstance(t, _NOMINAL):
        n = names.get(t)
        if n is not None:
            return escape_id(n)
    f = format_val_type
    if isinstance(t, T.ListType):
        if t.length is not None:
            return f"list<{f(t.elem, names)}, {t.length}>"
        return f"list<{f(t.elem, names)}>"
    if isinstance(t, T.OptionType):
        return f"option<{f(t.elem, names)}>"
    if isinstance(t, T.TupleType):
        return "tuple<" + ", ".join(f(e, names) for e in t.elems) + ">"
    if isinstance(t, T.ResultType):
        if t.ok is None and t.err is None:
            return "result"
        if t.err is None:
            return f"result<{f(t.ok, names)}>"
        return f"result<{f(t.ok, names)}, {f(t.err, names)}>"
    if isinstance(t, T.OwnType):
        return _resource_name(t.resource, names)
    if isinstance(t, T.BorrowType):
        return f"borrow<{_resource_name(t.resource, names)}>"
    if isinstance(t, T.StreamType):
        return "stream" if t.elem is None else f"stream<{f(t.elem, names)}>"
    if isinstance(t, T.FutureType):
        return "future" if t.elem is None else f"future<{f(t.elem, names)}>"
    if isinstance(t, T.MapType):
        return f"map<{f(t.key, names)}, {f(t.value, names)}>"
    # Anonymous nominal types: not valid WIT, but readable.
    if isinstance(t, T.RecordType):
        return "record { " + ", ".join(
            f"{escape_id(n)}: {f(ft, names)}" for n, ft in t.fields) + " }"
    if isinstance(t, T.VariantType):
        return "variant { " + ", ".join(
            escape_id(c) + (f"({f(ct, names)})" if ct is not None else "")
            for c, ct in t.cases) + " }"
    if isinstance(t, T.EnumType):
        return "enum { " + ", ".join(escape_id(x) for x in t.labels) + " }"
    if isinstance(t, T.FlagsType):
        return "flags { " + ", ".join(escape_id(x) for x in t.labels) + " }"
    return repr(t)


def _func_sig(ft: T.FuncType, names: Mapping[object, str] | None, *, skip: int = 0,
              keyword: str = "func", show_result: bool = True) -> str:
    params = ", ".join(
        f"{escape_id(n)}: {format_val_type(pt, names)}" for n, pt in ft.params[skip:])
    s = ("async " if ft.is_async else "") + f"{keyword}({params})"
    if show_result and ft.result is not None:
        s += " -> " + format_val_type(ft.result, names)
    return s


def format_func_type(name: str, ft: T.FuncType, names: Mapping[object, str] | None = None) -> str:
    """``name: func(a: u32) -> string`` (``async func`` for async function types)."""
    return f"{escape_id(name)}: {_func_sig(ft, names)}"


# ---------------------------------------------------------------------------------------------
# Component / world printing
# ---------------------------------------------------------------------------------------------

_RESOURCE_FUNC = re.compile(
    r"\[(constructor|method|static|async method|async static)\]([^.]+)(?:\.(.+))?\Z")
_IFACE_NAME = re.compile(
    r"(?P<ns>[^:/@]+):(?P<pkg>[^:/@]+)/(?P<iface>[^@]+)(?:@(?P<ver>.+))?\Z")


@dataclass
class _Scope:
    """Where a type name is defined: a world (``iface`` None) or an interface."""

    iface: str | None  # full interface name, e.g. "ns:pkg/iface@1.0.0", or a plain name
    package: str | None  # "ns:pkg@ver" for named interfaces


@dataclass
class _Out:
    lines: list[str] = field(default_factory=list)
    indent: int = 0

    def line(self, s: str) -> None:
        self.lines.append("  " * self.indent + s if s else "")

    def open(self, s: str) -> None:
        self.line(s + " {")
        self.indent += 1

    def close(self) -> None:
        self.indent -= 1
        self.line("}")


class _Writer:
    def __init__(self, ct: T.ComponentType, world: str) -> None:
        self.ct = ct
        self.world = world
        #: id(type object) → (scope, name) of its definition, for ``use`` detection
        self.defined: dict[int, tuple[_Scope, str]] = {}
        #: structural name lookup of every named type seen (first definition wins)
        self.global_names: dict[object, str] = {}
        #: interfaces to print in nested packages: package → [(iface short name, InstanceType)]
        self.packages: dict[str, list[tuple[str, T.InstanceType, str]]] = {}

    # -- names -------------------------------------------------------------------------------

    def _key(self, tb: T.TypeBound) -> object:
        return tb.type

    def register(self, scope: _Scope, exports: Mapping[str, object]) -> None:
        for name, item in exports.items():
            if isinstance(item, T.TypeBound):
                obj = item.type
                if id(obj) not in self.defined:
                    self.defined[id(obj)] = (scope, name)
                if isinstance(obj, (T.ResourceType, *_NOMINAL)):
                    self.global_names.setdefault(obj, name)

    def names_for(self, exports: Mapping[str, object]) -> dict[object, str]:
        names = dict(self.global_names)
        for name, item in exports.items():
            if isinstance(item, T.TypeBound) and isinstance(
                    item.type, (T.ResourceType, *_NOMINAL)):
                names[item.type] = name
        return names

    # -- types -------------------------------------------------------------------------------

    def print_types(self, out: _Out, scope: _Scope, exports: Mapping[str, object],
                    funcs: Mapping[str, T.FuncType], names: Mapping[object, str],
                    state: list[bool]) -> set[str]:
        """Print ``use`` lines and type declarations; return resource function names used."""
        uses: list[tuple[_Scope, list[tuple[str, str]]]] = []
        decls: list[tuple[str, T.TypeBound]] = []
        for name, item in exports.items():
            if not isinstance(item, T.TypeBound):
                continue
            origin = self.defined.get(id(item.type))
            if origin is not None and origin[0].iface != scope.iface and origin[0].iface:
                if uses and uses[-1][0].iface == origin[0].iface:
                    uses[-1][1].append((name, origin[1]))
                else:
                    uses.append((origin[0], [(name, origin[1])]))
                continue
            decls.append((name, item))
        for origin_scope, items in uses:
            state[0] = True
            path = self.path_to(origin_scope, scope)
            inner = ", ".join(escape_id(n) if n == o else f"{escape_id(o)} as {escape_id(n)}"
                              for n, o in items)
            out.line(f"use {path}.{{{inner}}};")
        consumed: set[str] = set()
        for name, tb in decls:
            if state[0]:
                out.line("")
            state[0] = True
            t = tb.type
            if isinstance(t, T.ResourceType):
                if tb.sub_resource or self.defined.get(id(t), (None, name))[1] == name:
                    consumed |= self.print_resource(out, name, funcs, names)
                else:
                    out.line(f"type {escape_id(name)} = {_resource_name(t, names)};")
            elif isinstance(t, T.RecordType):
                out.open(f"record {escape_id(name)}")
                for fname, ft in t.fields:
                    out.line(f"{escape_id(fname)}: {format_val_type(ft, names)},")
                out.close()
            elif isinstance(t, T.VariantType):
                out.open(f"variant {escape_id(name)}")
                for c, ct in t.cases:
                    payload = f"({format_val_type(ct, names)})" if ct is not None else ""
                    out.line(f"{escape_id(c)}{payload},")
                out.close()
            elif isinstance(t, T.EnumType | T.FlagsType):
                out.open(f"{t.kind} {escape_id(name)}")
                for x in t.labels:
                    out.line(f"{escape_id(x)},")
                out.close()
            elif isinstance(t, T.ValType):
                # An alias: don't let the name shadow itself in its own definition.
                alias_names = {k: v for k, v in names.items() if not (k == t and v == name)}
                out.line(f"type {escape_id(name)} = {format_val_type(t, alias_names)};")
            else:
                out.line(f"// type {name}: {type(t).__name__} (not expressible in WIT)")
        return consumed

    def print_resource(self, out: _Out, name: str, funcs: Mapping[str, T.FuncType],
                       names: Mapping[object, str]) -> set[str]:
        members = []
        for fname, ft in funcs.items():
            m = _RESOURCE_FUNC.match(fname)
            if m and m.group(2) == name:
                members.append((fname, m.group(1), m.group(3), ft))
        if not members:
            out.line(f"resource {escape_id(name)};")
            return set()
        out.open(f"resource {escape_id(name)}")
        for _fname, kind, item, ft in members:
            if kind == "constructor":
                shorthand = isinstance(ft.result, T.OwnType) and \
                    _resource_name(ft.result.resource, names) == escape_id(name)
                out.line(_func_sig(ft, names, keyword="constructor",
                                   show_result=not shorthand) + ";")
            elif kind in ("method", "async method"):
                out.line(f"{escape_id(item)}: {_func_sig(ft, names, skip=1)};")
            else:
                out.line(f"{escape_id(item)}: static {_func_sig(ft, names)};")
        out.close()
        return {m[0] for m in members}

    def path_to(self, target: _Scope, current: _Scope) -> str:
        assert target.iface is not None
        m = _IFACE_NAME.match(target.iface)
        if m is None:
            return escape_id(target.iface)
        if current.package is not None and current.package == target.package:
            return escape_id(m.group("iface"))
        return target.iface

    # -- interfaces --------------------------------------------------------------------------

    def print_interface_body(self, out: _Out, scope: _Scope, inst: T.InstanceType) -> None:
        exports = inst.exports
        names = self.names_for(exports)
        funcs = {n: f for n, f in exports.items() if isinstance(f, T.FuncType)}
        state = [False]
        consumed = self.print_types(out, scope, exports, funcs, names, state)
        for n, item in exports.items():
            if isinstance(item, T.FuncType):
                if n in consumed:
                    continue
                if state[0]:
                    out.line("")
                state[0] = True
                out.line(format_func_type(n, item, names) + ";")
            elif not isinstance(item, T.TypeBound):
                if state[0]:
                    out.line("")
                state[0] = True
                out.line(f"// {n}: {_describe(item)} (not expressible in WIT)")

    def scope_of(self, name: str) -> _Scope:
        m = _IFACE_NAME.match(name)
        if m is None:
            return _Scope(name, None)
        pkg = f"{m.group('ns')}:{m.group('pkg')}" + (f"@{m.group('ver')}" if m.group("ver")
                                                     else "")
        return _Scope(name, pkg)

    # -- world -------------------------------------------------------------------------------

    def write(self) -> str:
        ct = self.ct
        world_scope = _Scope(None, "root:component")
        # Register named types in definition order: imported interfaces, world types, exports.
        for name, item in _items(ct.imports):
            if isinstance(item, T.InstanceType):
                self.register(self.scope_of(name), item.exports)
        self.register_world(world_scope)
        for name, item in _items(ct.exports):
            if isinstance(item, T.InstanceType):
                self.register(self.scope_of(name), item.exports)

        out = _Out()
        out.line("package root:component;")
        out.line("")
        out.open(f"world {escape_id(self.world)}")
        state = [False]
        # 1. imported interfaces
        for name, item in ct.imports.items():
            if isinstance(item, T.InstanceType):
                self.print_world_instance(out, "import", name, item)
                state[0] = True
            elif not isinstance(item, T.FuncType | T.TypeBound):
                out.line(f"// import {name}: {_describe(item)} (not expressible in WIT)")
                state[0] = True
        # 2. world types (imported and, not expressible in WIT but useful, exported)
        world_types = {n: i for n, i in ct.imports.items() if isinstance(i, T.TypeBound)}
        world_types.update(
            (n, i) for n, i in ct.exports.items()
            if isinstance(i, T.TypeBound) and n not in world_types)
        world_funcs = {n: f for n, f in ct.imports.items() if isinstance(f, T.FuncType)}
        names = self.names_for(world_types)
        consumed = self.print_types(out, world_scope, world_types, world_funcs, names, state)
        # 3. imported functions
        for name, ft in world_funcs.items():
            if name in consumed:
                continue
            out.line(f"import {format_func_type(name, ft, names)};")
            state[0] = True
        # 4. exports
        exports = [(n, i) for n, i in ct.exports.items() if not isinstance(i, T.TypeBound)]
        if exports and state[0]:
            out.line("")
        for name, item in exports:
            if isinstance(item, T.InstanceType):
                self.print_world_instance(out, "export", name, item)
            elif isinstance(item, T.FuncType):
                m = _RESOURCE_FUNC.match(name)
                if m is None:
                    out.line(f"export {format_func_type(name, item, names)};")
                else:  # world-level exported resource functions: no WIT syntax
                    out.line(f"// export {name}: {_func_sig(item, names)};")
            else:
                out.line(f"// export {name}: {_describe(item)} (not expressible in WIT)")
        out.close()
        # 5. nested packages
        for i, (pkg, ifaces) in enumerate(self.packages.items()):
            if i:
                out.line("")
                out.line("")
            out.open(f"package {pkg}")
            for short, inst, full in ifaces:
                out.open(f"interface {escape_id(short)}")
                self.print_interface_body(out, self.scope_of(full), inst)
                out.close()
            out.close()
        return "\n".join(out.lines) + "\n"

    def register_world(self, scope: _Scope) -> None:
        items = {n: i for n, i in self.ct.imports.items() if isinstance(i, T.TypeBound)}
        items.update(
            (n, i) for n, i in self.ct.exports.items() if isinstance(i, T.TypeBound))
        self.register(scope, items)

    def print_world_instance(self, out: _Out, kw: str, name: str, inst: T.InstanceType) -> None:
        scope = self.scope_of(name)
        if scope.package is None:
            out.open(f"{kw} {escape_id(name)}: interface")
            self.print_interface_body(out, scope, inst)
            out.close()
            return
        out.line(f"{kw} {name};")
        m = _IFACE_NAME.match(name)
        assert m is not None
        ifaces = self.packages.setdefault(scope.package, [])
        if not any(full == name for _, _, full in ifaces):
            ifaces.append((m.group("iface"), inst, name))


def _items(d: Mapping[str, object]) -> Iterable[tuple[str, object]]:
    return d.items()


def _describe(item: object) -> str:
    if isinstance(item, T.ComponentType):
        return "component"
    if isinstance(item, T.CoreModuleType):
        return "core module"
    if isinstance(item, T.InstanceType):
        return "instance"
    if isinstance(item, T.ValType):
        return f"value of type {format_val_type(item)}"
    return type(item).__name__


def format_component_type(ct: T.ComponentType, world: str = "root") -> str:
    """The component's imports and exports as a WIT ``world`` (see the module docstring)."""
    return _Writer(ct, world).write()

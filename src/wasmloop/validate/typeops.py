"""Operations on resolved types used by validation: substitution, subtyping, walks.

Every walk memoizes on object identity so that types built as DAGs (a tuple of a tuple of …)
cost time proportional to the number of distinct nodes, not to their unfolded size.
"""

from __future__ import annotations

import re
from typing import Any

from wasmloop import types as T
from wasmloop.errors import ValidationError

__all__ = [
    "Subst",
    "sort_of",
    "contains_ptr",
    "free_resources",
    "check_subtype",
    "subtype_why",
    "module_why",
    "core_extern_why",
    "core_functype_text",
    "parse_core_desc",
]

_VAL_CHILDREN_CLASSES = (
    T.ListType, T.RecordType, T.TupleType, T.VariantType, T.EnumType, T.OptionType,
    T.ResultType, T.FlagsType, T.MapType, T.OwnType, T.BorrowType, T.StreamType, T.FutureType,
)


def sort_of(x: object) -> str:
    """The sort name (as in messages) of an extern type object."""
    if isinstance(x, T.FuncType):
        return "func"
    if isinstance(x, T.InstanceType):
        return "instance"
    if isinstance(x, T.ComponentType):
        return "component"
    if isinstance(x, T.CoreModuleType):
        return "module"
    if isinstance(x, T.TypeBound):
        return "type"
    return "value"


def children(t: object) -> list[object]:
    """Direct sub-types of a value, function, instance or component type."""
    if isinstance(t, T.ListType | T.OptionType):
        return [t.elem]
    if isinstance(t, T.RecordType):
        return [ft for _, ft in t.fields]
    if isinstance(t, T.TupleType):
        return list(t.elems)
    if isinstance(t, T.VariantType):
        return [ct for _, ct in t.cases if ct is not None]
    if isinstance(t, T.ResultType):
        return [x for x in (t.ok, t.err) if x is not None]
    if isinstance(t, T.MapType):
        return [t.key, t.value]
    if isinstance(t, T.OwnType | T.BorrowType):
        return [t.resource]
    if isinstance(t, T.StreamType | T.FutureType):
        return [] if t.elem is None else [t.elem]
    if isinstance(t, T.FuncType):
        return [*(pt for _, pt in t.params), *([] if t.result is None else [t.result])]
    if isinstance(t, T.TypeBound):
        return [t.type]
    if isinstance(t, T.InstanceType):
        return list(t.exports.values())
    if isinstance(t, T.ComponentType):
        return list(t.imports.values()) + list(t.exports.values())
    return []


def contains_ptr(t: T.ValType | None, memo: dict[int, bool] | None = None) -> bool:
    """True if a value of type ``t`` is stored through a pointer (string, list, map): lifting
    or lowering it needs a memory."""
    if t is None:
        return False
    if memo is None:
        memo = {}
    k = id(t)
    if k in memo:
        return memo[k]
    if isinstance(t, T.PrimType):
        r = t.kind == "string"
    elif isinstance(t, T.ListType) and t.length is None or isinstance(t, T.MapType):
        r = True
    elif isinstance(t, T.OwnType | T.BorrowType | T.StreamType | T.FutureType):
        r = False
    else:
        r = any(contains_ptr(c, memo) for c in children(t))  # type: ignore[arg-type]
    memo[k] = r
    return r


def free_resources(t: object) -> list[T.ResourceType]:
    """Resource types ``t`` refers to that it does not itself introduce with ``(sub resource)``."""
    bound: set[int] = set()
    out: dict[int, T.ResourceType] = {}
    seen: set[int] = set()
    stack = [t]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, T.TypeBound) and x.sub_resource:
            bound.add(id(x.type))
            continue
        if isinstance(x, T.ResourceType):
            out[id(x)] = x
            continue
        stack.extend(children(x))
    return [r for k, r in out.items() if k not in bound]


def contains_borrow(t: object, memo: dict[int, bool] | None = None) -> bool:
    if memo is None:
        memo = {}
    k = id(t)
    if k in memo:
        return memo[k]
    if isinstance(t, T.BorrowType):
        r = True
    elif isinstance(t, T.OwnType | T.StreamType | T.FutureType | T.PrimType):
        r = False
    else:
        r = any(contains_borrow(c, memo) for c in children(t))
    memo[k] = r
    return r


class Subst:
    """Substitute resource types (and the identity tokens of handles) throughout a type.

    ``fresh`` gives each ``(sub resource)`` export of an instance type met on the way a new
    ``ResourceType`` (used for the exports of an instantiation, which are generative).
    ``tokens`` maps old handle tokens to new ones and is extended as bounds are rebuilt.
    """

    def __init__(self, mapping: dict[T.ResourceType, T.ResourceType], *, fresh: bool = False,
                 handle_tokens: dict[int, object] | None = None,
                 tokens: dict[int, object] | None = None,
                 objmap: dict[int, object] | None = None,
                 keep: list[object] | None = None) -> None:
        self.map = mapping
        self.fresh = fresh
        self.memo: dict[int, object] = {}
        self.handle_tokens = handle_tokens if handle_tokens is not None else {}
        self.tokens = tokens if tokens is not None else {}
        self.objmap = objmap or {}
        self._keep: list[object] = keep if keep is not None else []

    def __call__(self, x: Any) -> Any:  # noqa: C901
        if x is None or isinstance(x, T.PrimType | T.CoreModuleType):
            return x
        if isinstance(x, T.ResourceType):
            return self.map.get(x, x)
        k = id(x)
        if k in self.memo:
            return self.memo[k]
        if k in self.objmap:
            self.memo[k] = r = self.objmap[k]
            return r
        r = self._apply(x)
        self.memo[k] = r
        if r is not x:
            self.tokens.setdefault(k, r)
            self._keep.append(x)
        return r

    def _apply(self, x: Any) -> Any:  # noqa: C901
        if isinstance(x, T.TypeBound):
            if x.sub_resource and self.fresh and isinstance(x.type, T.ResourceType) \
                    and x.type not in self.map:
                self.map[x.type] = T.ResourceType(name=x.type.name, defined=False)
            return T.TypeBound(self(x.type), x.sub_resource)
        if isinstance(x, T.OwnType | T.BorrowType):
            r = self.map.get(x.resource, x.resource)
            old_tok = self.handle_tokens.get(id(x))
            new_tok = self.tokens.get(id(old_tok), old_tok)
            if r is x.resource and new_tok is old_tok:
                return x
            n = type(x)(r)
            self.handle_tokens[id(n)] = new_tok
            self._keep.append(n)
            return n
        if isinstance(x, T.ListType):
            e = self(x.elem)
            return x if e is x.elem else T.ListType(e, x.length)
        if isinstance(x, T.OptionType):
            e = self(x.elem)
            return x if e is x.elem else T.OptionType(e)
        if isinstance(x, T.StreamType | T.FutureType):
            e = self(x.elem)
            return x if e is x.elem else type(x)(e)
        if isinstance(x, T.RecordType):
            fs = tuple((n, self(t)) for n, t in x.fields)
            return x if all(a[1] is b[1] for a, b in zip(fs, x.fields, strict=True)) else T.RecordType(fs)
        if isinstance(x, T.TupleType):
            es = tuple(self(t) for t in x.elems)
            return x if all(a is b for a, b in zip(es, x.elems, strict=True)) else T.TupleType(es)
        if isinstance(x, T.VariantType):
            cs = tuple((n, self(t)) for n, t in x.cases)
            return x if all(a[1] is b[1] for a, b in zip(cs, x.cases, strict=True)) else T.VariantType(cs)
        if isinstance(x, T.ResultType):
            ok, err = self(x.ok), self(x.err)
            return x if ok is x.ok and err is x.err else T.ResultType(ok, err)
        if isinstance(x, T.MapType):
            kk, v = self(x.key), self(x.value)
            return x if kk is x.key and v is x.value else T.MapType(kk, v)
        if isinstance(x, T.FuncType):
            ps = tuple((n, self(t)) for n, t in x.params)
            res = self(x.result)
            if res is x.result and all(a[1] is b[1] for a, b in zip(ps, x.params, strict=True)):
                return x
            return T.FuncType(ps, res, x.is_async)
        if isinstance(x, T.InstanceType):
            ex = {n: self(v) for n, v in x.exports.items()}
            if all(ex[n] is v for n, v in x.exports.items()):
                return x
            return T.InstanceType(ex)
        if isinstance(x, T.ComponentType):
            saved = self.fresh
            self.fresh = False
            try:
                im = {n: self(v) for n, v in x.imports.items()}
                ex = {n: self(v) for n, v in x.exports.items()}
            finally:
                self.fresh = saved
            if all(im[n] is v for n, v in x.imports.items()) and \
                    all(ex[n] is v for n, v in x.exports.items()):
                return x
            return T.ComponentType(im, ex)
        return x


def _desc(t: object) -> str:
    """What wasmparser calls an expected defined type in a mismatch (``b.desc()``)."""
    if isinstance(t, T.PrimType):
        return "primitive"
    if isinstance(t, T.ListType) and t.length is not None:
        return "fixed-length list"
    return getattr(t, "kind", "?")


def _why(a: object, e: object, top: bool) -> str | None:
    """Why value (or function) type ``a`` is not ``e`` (None if they are the same), in
    wasmparser's words: its context chain, one line each. ``top``: the types themselves (a
    defined type against a defined type), else types met inside them (where a primitive is
    named by itself)."""
    if isinstance(e, T.FuncType) and isinstance(a, T.FuncType):
        if a.is_async != e.is_async:
            # (wasmparser names the actual function first)
            return (f"expected {'async' if a.is_async else 'sync'} function, found "
                    f"{'async' if e.is_async else 'sync'} function")
        if len(a.params) != len(e.params):
            return f"expected {len(e.params)} parameters, found {len(a.params)}"
        for (an, at), (en, et) in zip(a.params, e.params, strict=True):
            if an != en:
                return f"expected parameter named `{en}`, found `{an}`"
            w = _why(at, et, False)
            if w:
                return f"type mismatch in function parameter `{an}`\n{w}"
        if a.result is not None and e.result is not None:
            w = _why(a.result, e.result, False)
            if w:
                return f"type mismatch with result type\n{w}"
        elif a.result is not None:
            return "expected a result, found none"
        elif e.result is not None:
            return "expected no result, found one"
        return None
    if not isinstance(a, T.ValType) or not isinstance(e, T.ValType) or a == e:
        return None
    ap, ep = isinstance(a, T.PrimType), isinstance(e, T.PrimType)
    if ap and ep:
        return f"expected primitive `{e.kind}` found primitive `{a.kind}`"
    if ep:
        return f"expected primitive, found {a.kind}" if top else f"expected {e.kind}, found {a.kind}"
    if ap or type(a) is not type(e) or \
            isinstance(a, T.ListType) and (a.length is None) != (e.length is None):  # type: ignore[attr-defined]
        return f"expected {_desc(e)}, found {a.kind}"
    if isinstance(e, T.RecordType):
        assert isinstance(a, T.RecordType)
        if len(a.fields) != len(e.fields):
            return f"expected {len(e.fields)} fields, found {len(a.fields)}"
        for (an, at), (en, et) in zip(a.fields, e.fields, strict=True):
            if an != en:
                return f"expected field name `{en}`, found `{an}`"
            w = _why(at, et, False)
            if w:
                return f"type mismatch in record field `{an}`\n{w}"
    elif isinstance(e, T.VariantType):
        assert isinstance(a, T.VariantType)
        if len(a.cases) != len(e.cases):
            return f"expected {len(e.cases)} cases, found {len(a.cases)}"
        for (an, act), (en, ect) in zip(a.cases, e.cases, strict=True):
            if an != en:
                return f"expected case named `{en}`, found `{an}`"
            if ect is not None and act is None:
                return f"expected case `{an}` to have a type, found none"
            if ect is None and act is not None:
                return f"expected case `{an}` to have no type"
            w = _why(act, ect, False)
            if w:
                return f"type mismatch in variant case `{an}`\n{w}"
    elif isinstance(e, T.TupleType):
        assert isinstance(a, T.TupleType)
        if len(a.elems) != len(e.elems):
            return f"expected {len(e.elems)} types, found {len(a.elems)}"
        for i, (at, et) in enumerate(zip(a.elems, e.elems, strict=True)):
            w = _why(at, et, False)
            if w:
                return f"type mismatch in tuple field {i}\n{w}"
    elif isinstance(e, T.FlagsType):
        return "mismatch in flags elements"
    elif isinstance(e, T.EnumType):
        return "mismatch in enum elements"
    elif isinstance(e, T.ResultType):
        assert isinstance(a, T.ResultType)
        for part, apt, ept in (("ok", a.ok, e.ok), ("err", a.err, e.err)):
            if ept is None and apt is not None:
                return f"expected {part} type to not be present"
            if ept is not None and apt is None:
                return f"expected {part} type, but found none"
            w = _why(apt, ept, False)
            if w:
                return f"type mismatch in {part} variant\n{w}"
    elif isinstance(e, T.ListType):
        assert isinstance(a, T.ListType)
        if a.length != e.length:
            return f"expected fixed-length {e.length}, found size {a.length}"
        return _why(a.elem, e.elem, False)
    elif isinstance(e, T.OptionType):
        assert isinstance(a, T.OptionType)
        return _why(a.elem, e.elem, False)
    elif isinstance(e, T.MapType):
        assert isinstance(a, T.MapType)
        w = _why(a.key, e.key, False)
        if w:
            return f"type mismatch in map key\n{w}"
        w = _why(a.value, e.value, False)
        if w:
            return f"type mismatch in map value\n{w}"
    elif isinstance(e, T.OwnType | T.BorrowType):
        assert isinstance(a, T.OwnType | T.BorrowType)
        if a.resource is not e.resource:
            return "resource types are not the same"
    elif isinstance(e, T.StreamType | T.FutureType):
        assert isinstance(a, T.StreamType | T.FutureType)
        if e.elem is not None and a.elem is None:
            return f"expected {e.kind} type, but found none"
        if e.elem is None and a.elem is not None:
            return f"expected {e.kind} type to not be present"
        w = _why(a.elem, e.elem, False)
        if w:
            return f"type mismatch in {e.kind}\n{w}"
    return None


def _any_kind(t: object) -> str:
    if isinstance(t, T.ResourceType):
        return "resource"
    if isinstance(t, T.FuncType):
        return "func"
    if isinstance(t, T.InstanceType):
        return "instance"
    if isinstance(t, T.ComponentType):
        return "component"
    return "defined type"


_ANY_FOUND = {"resource": "resource", "func": "func type", "instance": "instance type",
              "component": "component type", "defined type": "defined type"}


def check_subtype(actual: object, expected: object, bind: dict[T.ResourceType, T.ResourceType],
                  context: str, offset: int | None) -> None:
    """Check ``actual <: expected``. Abstract resources introduced by ``(sub resource)`` in
    ``expected`` are bound in ``bind`` to the actual resources as they are met (in
    declaration order), and later uses are compared after that substitution. A mismatch
    raises ``context`` followed by wasmparser's reasons, one line each."""
    why = subtype_why(actual, expected, bind)
    if why is not None:
        raise ValidationError(f"{context}\n{why}", offset)


def subtype_why(actual: object, expected: object,  # noqa: C901
                bind: dict[T.ResourceType, T.ResourceType]) -> str | None:
    """Why ``actual`` is not a subtype of ``expected`` (None: it is); see check_subtype."""
    ea, ee = sort_of(actual), sort_of(expected)
    if ea != ee:
        return f"expected {ee}, found {ea}"
    if isinstance(expected, T.TypeBound):
        assert isinstance(actual, T.TypeBound)
        if expected.sub_resource:
            if not isinstance(actual.type, T.ResourceType):
                return f"expected resource, found {_ANY_FOUND[_any_kind(actual.type)]}"
            bind[expected.type] = actual.type  # type: ignore[index]
            return None
        exp_t = Subst(bind)(expected.type)
        ka, ke = _any_kind(actual.type), _any_kind(exp_t)
        if ka != ke:
            return f"expected {ke}, found {_ANY_FOUND[ka]}"
        if ka == "resource":
            return None if exp_t is actual.type else "resource types are not the same"
        if ka != "defined type":
            return subtype_why(actual.type, exp_t, bind)
        if exp_t != actual.type:
            return _why(actual.type, exp_t, True) or "type mismatch"
        return None
    if isinstance(expected, T.FuncType):
        exp_f = Subst(bind)(expected)
        if exp_f != actual:
            return _why(actual, exp_f, False) or "type mismatch"
        return None
    if isinstance(expected, T.InstanceType):
        assert isinstance(actual, T.InstanceType)
        for name in expected.exports:
            if name not in actual.exports:
                return f"missing expected export `{name}`"
        for name, et in expected.exports.items():
            w = subtype_why(actual.exports[name], et, bind)
            if w is not None:
                return f"type mismatch in instance export `{name}`\n{w}"
        return None
    if isinstance(expected, T.ComponentType):
        assert isinstance(actual, T.ComponentType)
        # Imports are contravariant: everything the actual component imports must be
        # offered by the expected one.
        rbind: dict[T.ResourceType, T.ResourceType] = {}
        for name in actual.imports:
            if name not in expected.imports:
                return f"missing import named `{name}`"
        for name, at in actual.imports.items():
            w = subtype_why(Subst(bind)(expected.imports[name]), at, rbind)
            if w is not None:
                return f"type mismatch for import `{name}`\n{w}"
        for name in expected.exports:
            if name not in actual.exports:
                return f"missing export named `{name}`"
        for name, et in expected.exports.items():
            w = subtype_why(Subst(rbind)(actual.exports[name]), et, bind)
            if w is not None:
                return f"type mismatch for export `{name}`\n{w}"
        return None
    if isinstance(expected, T.CoreModuleType):
        assert isinstance(actual, T.CoreModuleType)
        return module_why(actual, expected)
    exp_v = Subst(bind)(expected)
    if actual != exp_v:
        return _why(actual, exp_v, False) or "type mismatch"
    return None


def module_why(actual: T.CoreModuleType, expected: T.CoreModuleType) -> str | None:
    """Why core module type ``actual`` is not a subtype of ``expected`` (wasmparser's words):
    it may import less and export more."""
    e_imports = {(m, n): (k, t) for m, n, k, t in expected.imports}
    for m, n, k, t in actual.imports:
        if (m, n) not in e_imports:
            return f"missing expected import `{m}::{n}`"
        ek, et = e_imports[(m, n)]
        w = core_extern_why(ek, et, k, t)
        if w is not None:
            return f"type mismatch in import `{m}::{n}`\n{w}"
    a_exports = {n: (k, t) for n, k, t in actual.exports}
    for n, k, t in expected.exports:
        if n not in a_exports:
            return f"missing expected export `{n}`"
        ak, at = a_exports[n]
        w = core_extern_why(ak, at, k, t)
        if w is not None:
            return f"type mismatch in export `{n}`\n{w}"
    return None


def core_functype_text(ft: object) -> str:
    """A core function type as wasmparser prints it: ``(func (param i32) (result i64))``."""
    if not isinstance(ft, T.CoreFuncType):
        return str(ft)
    out = "(func"
    if ft.params:
        out += " (param " + " ".join(ft.params) + ")"
    if ft.results:
        out += " (result " + " ".join(ft.results) + ")"
    return out + ")"


_LIMITS = r"(?P<i64> i64)? (?P<min>\d+)(?: (?P<max>\d+))?(?P<shared> shared)?"


def parse_core_desc(d: object) -> object:
    """Turn ``parse_module_header``'s text description of a table, memory or global back
    into the ``ast`` type, so limits can be compared."""
    from wasmloop.binary import ast

    if not isinstance(d, str):
        return d
    m = re.fullmatch(r"\((?P<kind>memory|table)" + _LIMITS + r"(?: (?P<elem>.*))?\)", d)
    if m:
        lim = ast.CoreLimits(min=int(m["min"]), max=None if m["max"] is None else int(m["max"]),
                             is64=bool(m["i64"]), shared=bool(m["shared"]))
        if m["kind"] == "memory":
            return ast.CoreMemoryType(limits=lim)
        return ast.CoreTableType(elem=m["elem"] or "funcref", limits=lim)
    m = re.fullmatch(r"\(global (?:\(mut (?P<mt>.*)\)|(?P<t>.*))\)", d)
    if m:
        return ast.CoreGlobalType(valtype=m["mt"] or m["t"], mutable=m["mt"] is not None)
    return d


def _limits_ok(actual: Any, expected: Any) -> bool:
    if actual.min < expected.min:
        return False
    if expected.max is not None and (actual.max is None or actual.max > expected.max):
        return False
    return True


def core_extern_why(akind: str, actual: object, ekind: str,  # noqa: C901
                    expected: object) -> str | None:
    """Why a core item of kind ``akind`` and type ``actual`` does not satisfy an import of
    kind ``ekind`` and type ``expected`` (None: it does), in wasmparser's words."""
    from wasmloop.binary import ast

    if akind != ekind:
        return f"expected {ekind}, found {akind}"
    if akind == "func":
        if actual != expected:
            return (f"expected: {core_functype_text(expected)}\n"
                    f"found:    {core_functype_text(actual)}")
        return None
    if akind == "tag":
        return None if actual == expected else f"expected: {expected}\nfound:    {actual}"
    a = parse_core_desc(actual)
    e = parse_core_desc(expected)
    if isinstance(a, ast.CoreMemoryType) and isinstance(e, ast.CoreMemoryType):
        if a.limits.shared != e.limits.shared:
            return "mismatch in the shared flag for memories"
        if a.limits.is64 != e.limits.is64:
            return "mismatch in index type used for memories"
        if a.page_size_log2 != e.page_size_log2:
            return "mismatch in page size for memories"
        if not _limits_ok(a.limits, e.limits):
            return "mismatch in memory limits"
        return None
    if isinstance(a, ast.CoreTableType) and isinstance(e, ast.CoreTableType):
        if a.elem != e.elem:
            return f"expected table element type {e.elem}, found {a.elem}"
        if a.limits.shared != e.limits.shared:
            return "mismatch in the shared flag for tables"
        if a.limits.is64 != e.limits.is64 or not _limits_ok(a.limits, e.limits):
            return "mismatch in table limits"
        return None
    if isinstance(a, ast.CoreGlobalType) and isinstance(e, ast.CoreGlobalType):
        if a.mutable != e.mutable:
            return "global types differ in mutability"
        if a.valtype != e.valtype:
            return f"expected global type {e.valtype}, found {a.valtype}"
        return None
    return None if a == e else f"expected {ekind} {e}, found {a}"

"""Operations on resolved types used by validation: substitution, subtyping, walks.

Every walk memoizes on object identity so that types built as DAGs (a tuple of a tuple of …)
cost time proportional to the number of distinct nodes, not to their unfolded size.
"""

from __future__ import annotations

from typing import Any

from wasmloop import types as T
from wasmloop.errors import ValidationError

__all__ = [
    "Subst",
    "sort_of",
    "contains_ptr",
    "free_resources",
    "check_subtype",
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


def _mismatch(what: str, offset: int | None, actual: object = None,
              expected: object = None, top: bool = True) -> ValidationError:
    """``type mismatch in {what}``, followed where it can be told by why, in wasmparser's
    words (its context chain joined with ``: ``)."""
    why = _why(actual, expected, top) if actual is not None and expected is not None else None
    return ValidationError(f"type mismatch in {what}" + (f": {why}" if why else ""), offset)


def _why(a: object, e: object, top: bool) -> str | None:
    """Why value (or function) type ``a`` is not ``e``, or None if they match or the reason
    is not one wasmparser words. ``top``: the types themselves (a defined type against a
    defined type), else types met inside them (where a primitive is named by itself)."""
    if isinstance(e, T.FuncType) and isinstance(a, T.FuncType):
        if len(a.params) != len(e.params):
            return f"expected {len(e.params)} parameters, found {len(a.params)}"
        for (an, at), (en, et) in zip(a.params, e.params, strict=True):
            if an != en:
                return f"expected parameter named `{en}`, found `{an}`"
            w = _why(at, et, False)
            if w:
                return f"type mismatch in function parameter `{an}`: {w}"
        if (a.result is None) != (e.result is None):
            # (wasmparser's wording: named after the actual type's result)
            return "expected no result, found one" if a.result is None else \
                "expected a result, found none"
        if a.result is not None:
            w = _why(a.result, e.result, False)
            if w:
                return f"type mismatch with result type: {w}"
        return None
    if not isinstance(a, T.ValType) or not isinstance(e, T.ValType) or a == e:
        return None
    ap, ep = isinstance(a, T.PrimType), isinstance(e, T.PrimType)
    if ap and ep:
        return f"expected primitive `{e.kind}` found primitive `{a.kind}`"
    if ep:
        return f"expected primitive, found {a.kind}" if top else f"expected {e.kind}, found {a.kind}"
    if ap or type(a) is not type(e):
        return f"expected {e.kind}, found {a.kind}"
    if isinstance(e, T.RecordType):
        assert isinstance(a, T.RecordType)
        if len(a.fields) != len(e.fields):
            return f"expected {len(e.fields)} fields, found {len(a.fields)}"
        for (an, at), (en, et) in zip(a.fields, e.fields, strict=True):
            if an != en:
                return f"expected field name `{en}`, found `{an}`"
            w = _why(at, et, False)
            if w:
                return f"type mismatch in record field `{an}`: {w}"
    elif isinstance(e, T.VariantType):
        assert isinstance(a, T.VariantType)
        if len(a.cases) != len(e.cases):
            return f"expected {len(e.cases)} cases, found {len(a.cases)}"
        for (an, act), (en, ect) in zip(a.cases, e.cases, strict=True):
            if an != en:
                return f"expected case named `{en}`, found `{an}`"
            if ect is not None and act is None:
                return f"expected case `{en}` to have a type, found none"
            if ect is None and act is not None:
                return f"expected case `{en}` to have no type"
            w = _why(act, ect, False)
            if w:
                return f"type mismatch in variant case `{an}`: {w}"
    elif isinstance(e, T.TupleType):
        assert isinstance(a, T.TupleType)
        if len(a.elems) != len(e.elems):
            return f"expected {len(e.elems)} types, found {len(a.elems)}"
        for i, (at, et) in enumerate(zip(a.elems, e.elems, strict=True)):
            w = _why(at, et, False)
            if w:
                return f"type mismatch in tuple field {i}: {w}"
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
                return f"type mismatch in {part} variant: {w}"
    elif isinstance(e, T.OptionType | T.ListType | T.StreamType | T.FutureType):
        return _why(getattr(a, "elem", None), e.elem, False)
    return None


def check_subtype(actual: object, expected: object, bind: dict[T.ResourceType, T.ResourceType],
                  what: str, offset: int | None) -> None:
    """Check ``actual <: expected``. Abstract resources introduced by ``(sub resource)`` in
    ``expected`` are bound in ``bind`` to the actual resources as they are met (in
    declaration order), and later uses are compared after that substitution."""
    ea, ee = sort_of(actual), sort_of(expected)
    if ea != ee:
        raise ValidationError(f"{what}: expected {ee}, found {ea}", offset)
    if isinstance(expected, T.TypeBound):
        assert isinstance(actual, T.TypeBound)
        if expected.sub_resource:
            if not isinstance(actual.type, T.ResourceType):
                raise ValidationError(f"{what}: expected resource, found defined type", offset)
            bind[expected.type] = actual.type  # type: ignore[index]
            return
        exp_t = Subst(bind)(expected.type)
        if isinstance(exp_t, T.ResourceType) or isinstance(actual.type, T.ResourceType):
            if exp_t is not actual.type:
                if isinstance(exp_t, T.ResourceType) and isinstance(actual.type, T.ResourceType):
                    raise ValidationError(f"{what}: resource types are not the same", offset)
                raise _mismatch(what, offset)
            return
        if isinstance(exp_t, T.InstanceType | T.ComponentType | T.FuncType):
            check_subtype(actual.type, exp_t, bind, what, offset)
            return
        if exp_t != actual.type:
            raise _mismatch(what, offset, actual.type, exp_t)
        return
    if isinstance(expected, T.FuncType):
        exp_f = Subst(bind)(expected)
        if exp_f != actual:
            if _resources_differ(actual, exp_f):
                raise ValidationError(f"{what}: resource types are not the same", offset)
            raise _mismatch(what, offset, actual, exp_f)
        return
    if isinstance(expected, T.InstanceType):
        assert isinstance(actual, T.InstanceType)
        for name, et in expected.exports.items():
            if name not in actual.exports:
                raise ValidationError(f"{what}: missing expected export `{name}`", offset)
            check_subtype(actual.exports[name], et, bind, f"instance export `{name}`", offset)
        return
    if isinstance(expected, T.ComponentType):
        assert isinstance(actual, T.ComponentType)
        # Imports are contravariant: everything the actual component imports must be
        # offered by the expected one.
        rbind: dict[T.ResourceType, T.ResourceType] = {}
        for name, at in actual.imports.items():
            if name not in expected.imports:
                raise ValidationError(f"{what}: missing expected import `{name}`", offset)
            check_subtype(Subst(bind)(expected.imports[name]), at, rbind,
                          f"import `{name}`", offset)
        for name, et in expected.exports.items():
            if name not in actual.exports:
                raise ValidationError(f"{what}: missing expected export `{name}`", offset)
            check_subtype(Subst(rbind)(actual.exports[name]), et, bind,
                          f"export `{name}`", offset)
        return
    if isinstance(expected, T.CoreModuleType):
        assert isinstance(actual, T.CoreModuleType)
        a_imports = {(m, n): (k, t) for m, n, k, t in actual.imports}
        e_imports = {(m, n): (k, t) for m, n, k, t in expected.imports}
        for key, (k, t) in a_imports.items():
            if key not in e_imports:
                raise ValidationError(f"{what}: missing expected import `{key[0]}::{key[1]}`",
                                      offset)
            if e_imports[key][0] != k or (k == "func" and e_imports[key][1] != t):
                raise ValidationError(f"{what}: type mismatch in import `{key[0]}::{key[1]}`",
                                      offset)
        a_exports = {n: (k, t) for n, k, t in actual.exports}
        for n, k, t in expected.exports:
            if n not in a_exports:
                raise ValidationError(f"{what}: missing expected export `{n}`", offset)
            if a_exports[n][0] != k or (k == "func" and a_exports[n][1] != t):
                raise ValidationError(f"{what}: type mismatch in export `{n}`", offset)
        return
    exp_v = Subst(bind)(expected)
    if actual != exp_v:
        raise _mismatch(what, offset, actual, exp_v)


def _resources_differ(a: object, b: object) -> bool:
    """Heuristic for messages: the two types differ only in resource identity."""
    ra = free_resources(a)
    rb = free_resources(b)
    return bool(ra or rb) and {id(x) for x in ra} != {id(x) for x in rb}

"""``dataclass`` for slotted classes, at a fraction of the stdlib's cost to define a class.

``dataclasses.dataclass`` compiles each method it adds with ``exec`` when the class is defined
(≈6 per class): with ≈100 classes that was a fifth of ``import wasmloop``. This decorator makes
the same class (``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` see a
dataclass; ``__slots__``, ``__match_args__``, ``__doc__``, pickling and the frozen
``__setattr__``/``__delattr__`` are as the stdlib makes them) but compiles ``__init__``,
``__repr__``, ``__eq__`` and ``__hash__`` on first use, from the same source as the stdlib's,
so a class that is only unpickled (the component cache) never compiles anything.

Only what wasmloop uses is supported: ``slots=True`` (required), ``frozen``, ``kw_only``,
``eq`` and ``field(...)``; anything else is a ``TypeError`` at definition time.
``tests/test_dataclass.py`` compares the classes with the stdlib's.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, field
from types import MemberDescriptorType
from typing import Any, ClassVar, TypeVar, dataclass_transform

__all__ = ["dataclass", "field"]

_T = TypeVar("_T")
_FIELD = dataclasses._FIELD  # type: ignore[attr-defined]
_HAS_DEFAULT_FACTORY = dataclasses._HAS_DEFAULT_FACTORY  # type: ignore[attr-defined]
_PARAMS = "__dataclass_params__"
_FIELDS = "__dataclass_fields__"
_PSEUDO_FIELDS = ("ClassVar", "typing.ClassVar", "InitVar", "dataclasses.InitVar", "KW_ONLY",
                  "dataclasses.KW_ONLY")


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(*, frozen: bool = False, slots: bool = False, kw_only: bool = False,
              eq: bool = True) -> Callable[[type[_T]], type[_T]]:
    """``dataclasses.dataclass(frozen=…, slots=True, kw_only=…, eq=…)``, cheaper to apply."""
    if not slots:
        raise TypeError("wasmloop._dataclass.dataclass needs slots=True")

    def wrap(c: type[_T]) -> type[_T]:
        return _process(c, frozen, kw_only, eq)

    return wrap


def _params(frozen: bool, kw_only: bool, eq: bool) -> Any:
    """A ``dataclasses._DataclassParams`` (its fields differ between Python versions)."""
    values = {"init": True, "repr": True, "eq": eq, "order": False, "unsafe_hash": False,
              "frozen": frozen, "match_args": True, "kw_only": kw_only, "slots": True,
              "weakref_slot": False}
    cls = dataclasses._DataclassParams  # type: ignore[attr-defined]
    p = object.__new__(cls)
    for name in cls.__slots__:
        object.__setattr__(p, name, values[name])
    return p


def _is_pseudo(annotation: Any) -> bool:
    """A ``ClassVar``, ``InitVar`` or ``KW_ONLY`` annotation (not supported here)."""
    if isinstance(annotation, str):
        return annotation.split("[", 1)[0].strip() in _PSEUDO_FIELDS
    return (annotation is dataclasses.KW_ONLY or isinstance(annotation, dataclasses.InitVar)
            or annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar)


def _process(cls: type[_T], frozen: bool, kw_only: bool, eq: bool) -> type[_T]:
    fields: dict[str, Field[Any]] = {}
    any_frozen_base = has_dataclass_bases = False
    for b in cls.__mro__[-1:0:-1]:
        base_fields = getattr(b, _FIELDS, None)
        if base_fields is not None:
            has_dataclass_bases = True
            for f in base_fields.values():
                fields[f.name] = f
            if getattr(b, _PARAMS).frozen:
                any_frozen_base = True
    if has_dataclass_bases:
        if any_frozen_base and not frozen:
            raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
        if not any_frozen_base and frozen:
            raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    own = cls.__dict__.get("__annotations__", {})
    for name, annotation in own.items():
        if _is_pseudo(annotation):
            raise TypeError(f"{cls.__qualname__}.{name}: ClassVar, InitVar and KW_ONLY are "
                            "not supported by wasmloop._dataclass")
        default: Any = getattr(cls, name, MISSING)
        if isinstance(default, MemberDescriptorType):  # a slot of a base: no default
            default = MISSING
        f = default if isinstance(default, Field) else field(default=default)
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not "
                             "allowed: use default_factory")
        f.name = name
        f.type = annotation
        f._field_type = _FIELD  # type: ignore[attr-defined]
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        fields[name] = f
    for name, value in cls.__dict__.items():
        if isinstance(value, Field) and name not in own:
            raise TypeError(f"{name!r} is a field but has no type annotation")

    # The order checks the stdlib makes when it builds __init__, made now as it does.
    seen_default = None
    for f in fields.values():
        if f.init and not f.kw_only:
            if f.default is MISSING and f.default_factory is MISSING:
                if seen_default:
                    raise TypeError(f"non-default argument {f.name!r} follows default "
                                    f"argument {seen_default!r}")
            else:
                seen_default = f.name

    d = dict(cls.__dict__)
    for name in fields:
        d.pop(name, None)
    d.pop("__dict__", None)
    d.pop("__weakref__", None)
    inherited: set[str] = set()
    for b in cls.__mro__[1:-1]:
        s = b.__dict__.get("__slots__")
        if s is not None:
            inherited.update((s,) if isinstance(s, str) else s)
    d["__slots__"] = tuple(n for n in fields if n not in inherited)
    d[_FIELDS] = fields
    d[_PARAMS] = _params(frozen, kw_only, eq)

    lazy: list[_Lazy] = []

    def add(name: str, value: Any) -> None:
        if name not in cls.__dict__:
            d[name] = value
            if isinstance(value, _Lazy):
                lazy.append(value)

    add("__init__", _Lazy("__init__", _make_init))
    add("__repr__", _Lazy("__repr__", _make_repr))
    if eq:
        add("__eq__", _Lazy("__eq__", _make_eq))
    class_hash = cls.__dict__.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in cls.__dict__))
    if eq and not explicit_hash:
        if frozen:
            d["__hash__"] = h = _Lazy("__hash__", _make_hash)
            lazy.append(h)
        else:
            d["__hash__"] = None
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in cls.__dict__:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    if "__match_args__" not in cls.__dict__:
        d["__match_args__"] = tuple(f.name for f in fields.values() if f.init and not f.kw_only)
    if frozen:
        d.setdefault("__getstate__", getattr(dataclasses, "_dataclass_getstate", _getstate))
        d.setdefault("__setstate__", getattr(dataclasses, "_dataclass_setstate", _setstate))
    replace = getattr(dataclasses, "_replace", None)
    if replace is not None:  # Python 3.13+: copy.replace()
        d.setdefault("__replace__", replace)

    meta: Any = type(cls)
    new: Any = meta(cls.__name__, cls.__bases__, d)
    new.__qualname__ = cls.__qualname__
    if frozen:
        names = tuple(fields)

        def __setattr__(self: Any, name: str, value: Any) -> None:
            if type(self) is new or name in names:
                raise FrozenInstanceError(f"cannot assign to field {name!r}")
            super(new, self).__setattr__(name, value)

        def __delattr__(self: Any, name: str) -> None:
            if type(self) is new or name in names:
                raise FrozenInstanceError(f"cannot delete field {name!r}")
            super(new, self).__delattr__(name)

        for fn in (__setattr__, __delattr__):
            fn.__qualname__ = f"{new.__qualname__}.{fn.__name__}"
            type.__setattr__(new, fn.__name__, fn)
    for stub in lazy:
        stub.owner = new
    if not new.__doc__:
        new.__doc__ = _signature_doc(new, fields)
    return new  # type: ignore[no-any-return]


class _Lazy:
    """A method compiled the first time it is looked up, then set on its class in its place."""

    __slots__ = ("name", "make", "owner")

    def __init__(self, name: str, make: Callable[[type], Callable[..., Any]]) -> None:
        self.name = name
        self.make = make
        self.owner: type | None = None

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        owner = self.owner
        assert owner is not None
        fn: Any = owner.__dict__.get(self.name)
        if fn is self:
            fn = self.make(owner)
            fn.__qualname__ = f"{owner.__qualname__}.{fn.__name__}"
            type.__setattr__(owner, self.name, fn)
        return fn if obj is None else fn.__get__(obj, objtype)


def _fields(cls: type) -> list[Field[Any]]:
    return [f for f in getattr(cls, _FIELDS).values() if f._field_type is _FIELD]  # type: ignore[attr-defined]


def _create(cls: type, name: str, src_lines: list[str], ns: dict[str, Any]) -> Any:
    """The stdlib's ``_create_fn``: the function made in a scope holding ``ns``, with the
    globals of the class's module."""
    local_names = ", ".join(ns)
    src = f"def __create_fn__({local_names}):\n" + "".join(f"  {ln}\n" for ln in src_lines) \
        + f"  return {name}"
    module = sys.modules.get(cls.__module__)
    scope: dict[str, Any] = {}
    code = compile(src, "<string>", "exec", dont_inherit=True)  # not this module's __future__
    exec(code, module.__dict__ if module is not None else {}, scope)  # noqa: S102
    return scope["__create_fn__"](**ns)


def _make_init(cls: type) -> Any:
    frozen = getattr(cls, _PARAMS).frozen
    fs = [f for f in getattr(cls, _FIELDS).values() if f._field_type is _FIELD]  # type: ignore[attr-defined]
    ns: dict[str, Any] = {}
    for f in fs:
        ns[f"__dataclass_type_{f.name}__"] = f.type
    ns["__dataclass_HAS_DEFAULT_FACTORY__"] = _HAS_DEFAULT_FACTORY
    ns["__dataclass_builtins_object__"] = object
    ns["__dataclass_return_type__"] = None
    body = []
    for f in fs:
        if f.default_factory is not MISSING:
            ns[f"__dataclass_dflt_{f.name}__"] = f.default_factory
            if f.init:
                value = (f"__dataclass_dflt_{f.name}__() if {f.name} is "
                         f"__dataclass_HAS_DEFAULT_FACTORY__ else {f.name}")
            else:
                value = f"__dataclass_dflt_{f.name}__()"
        elif f.init:
            if f.default is not MISSING:
                ns[f"__dataclass_dflt_{f.name}__"] = f.default
            value = f.name
        elif f.default is not MISSING:
            ns[f"__dataclass_dflt_{f.name}__"] = f.default
            value = f"__dataclass_dflt_{f.name}__"
        else:
            continue
        if frozen:
            body.append(f"__dataclass_builtins_object__.__setattr__(self,{f.name!r},{value})")
        else:
            body.append(f"self.{f.name}={value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    if not body:
        body = ["pass"]

    def param(f: Field[Any]) -> str:
        if f.default is MISSING and f.default_factory is MISSING:
            default = ""
        elif f.default is not MISSING:
            default = f"=__dataclass_dflt_{f.name}__"
        else:
            default = "=__dataclass_HAS_DEFAULT_FACTORY__"
        return f"{f.name}:__dataclass_type_{f.name}__{default}"

    params = [param(f) for f in fs if f.init and not f.kw_only]
    kws = [param(f) for f in fs if f.init and f.kw_only]
    if kws:
        params += ["*", *kws]
    lines = [f"def __init__({', '.join(['self', *params])})->__dataclass_return_type__:"]
    lines += [f"  {b}" for b in body]
    return _create(cls, "__init__", lines, ns)


def _make_repr(cls: type) -> Any:
    names = [f.name for f in _fields(cls) if f.repr]
    text = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    fn = _create(cls, "__repr__", [
        "def __repr__(self):",
        f"  return self.__class__.__qualname__ + f\"({text})\""], {})
    return _recursive_repr(fn)


def _recursive_repr(fn: Callable[[Any], str]) -> Any:
    import functools
    import threading

    running: set[tuple[int, int]] = set()
    get_ident = threading.get_ident

    @functools.wraps(fn)
    def wrapper(self: Any) -> str:
        key = id(self), get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return fn(self)
        finally:
            running.discard(key)

    return wrapper


def _tuple(names: list[str], obj: str) -> str:
    return f"({','.join(f'{obj}.{n}' for n in names)},)" if names else "()"


def _make_eq(cls: type) -> Any:
    names = [f.name for f in _fields(cls) if f.compare]
    return _create(cls, "__eq__", [
        "def __eq__(self, other):",
        "  if other.__class__ is self.__class__:",
        f"    return {_tuple(names, 'self')}=={_tuple(names, 'other')}",
        "  return NotImplemented"], {})


def _make_hash(cls: type) -> Any:
    names = [f.name for f in _fields(cls) if (f.compare if f.hash is None else f.hash)]
    return _create(cls, "__hash__", [
        "def __hash__(self):",
        f"  return hash({_tuple(names, 'self')})"], {})


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, f.name) for f in _fields(type(self))]


def _setstate(self: Any, state: list[Any]) -> None:
    for f, value in zip(_fields(type(self)), state, strict=False):
        object.__setattr__(self, f.name, value)


def _signature_doc(cls: type, fields: dict[str, Field[Any]]) -> str:
    """``inspect.signature``'s text of ``__init__`` without ``-> None``, as the stdlib's doc."""
    parts = []
    star = False
    for f in fields.values():
        if not f.init:
            continue
        if f.kw_only and not star:
            parts.append("*")
            star = True
        a = f.type
        text = f"{f.name}: {a!r}" if isinstance(a, str) else \
            f"{f.name}: {getattr(a, '__qualname__', repr(a))}"
        if f.default is not MISSING:
            text += f" = {f.default!r}"
        elif f.default_factory is not MISSING:
            text += " = <factory>"
        parts.append(text)
    return f"{cls.__name__}({', '.join(parts)})"

"""wasmloop._dataclass makes the classes ``dataclasses.dataclass`` makes: each module that uses
it is executed again with the stdlib's decorator, and every class is compared with its twin
(fields, slots, docs, signatures, and what the methods do on sample instances)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import sys
from pathlib import Path
from typing import ClassVar

import pytest

import wasmloop.abi.func
import wasmloop.abi.lift
import wasmloop.abi.lower
import wasmloop.binary.ast
import wasmloop.engine._types
import wasmloop.types
from wasmloop._dataclass import dataclass, field

MODULES = [wasmloop.binary.ast, wasmloop.types, wasmloop.engine._types, wasmloop.abi.func,
           wasmloop.abi.lift, wasmloop.abi.lower]


def _stdlib_twin(module):
    """``module`` executed again with ``dataclasses.dataclass`` in place of ours."""
    src = Path(module.__file__).read_text()
    for ours in ("from .._dataclass import", "from ._dataclass import"):
        src = src.replace(ours, "from dataclasses import")
    assert "_dataclass" not in src
    name = module.__name__ + "_stdlib_twin"
    ns = {"__name__": name, "__package__": module.__package__, "__file__": module.__file__}
    twin = type(sys)(name)
    twin.__dict__.update(ns)
    sys.modules[name] = twin
    try:
        exec(compile(src, module.__file__, "exec"), twin.__dict__)  # noqa: S102
    finally:
        del sys.modules[name]
    return twin


def _record_classes(module):
    return [v for k, v in vars(module).items()
            if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == module.__name__
            and "__slots__" in v.__dict__]


def _field_view(f: dataclasses.Field) -> tuple:
    return (f.name, f.type, f.default, f.default_factory is dataclasses.MISSING, f.init, f.repr,
            f.hash, f.compare, dict(f.metadata), f.kw_only, f._field_type)


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001
        return (type(e).__name__, str(e))


def _samples(cls) -> list[dict]:
    """Keyword arguments for a few instances of ``cls`` (its fields get plain values)."""
    fs = [f for f in dataclasses.fields(cls) if f.init]
    a = {f.name: (1, f"v-{f.name}") for f in fs}
    b = {f.name: (2, f"w-{f.name}") for f in fs}
    required = {f.name: a[f.name] for f in fs
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if any(f.default_factory is not dataclasses.MISSING for f in fs):
        # a factory's values may differ between the twins (ResourceType's uid counter)
        return [a, b, dict(a)]
    return [a, b, required, dict(a)]


def _methods_view(cls, kwargs_list):
    out = []
    objs = []
    for kw in kwargs_list:
        r = _outcome(lambda kw=kw: cls(**kw))
        if r[0] != "ok":
            out.append(r)
            continue
        obj = r[1]
        objs.append(obj)
        out.append(("repr", repr(obj).replace("_stdlib_twin", "")))
        if cls.__hash__ is object.__hash__:
            out.append(("hash", "identity"))
        else:
            out.append(("hash", _outcome(lambda obj=obj: hash(obj))))
        for name in [f.name for f in dataclasses.fields(cls)][:1] + ["not_a_field"]:
            r2 = _outcome(lambda obj=obj, name=name: setattr(obj, name, 0))
            # Setting a name that is not a field on a frozen slotted instance: the stdlib's
            # __setattr__ refers to the class before slots were added and fails in super()
            # (TypeError); ours says the instance is frozen. Both refuse.
            out.append(("setattr", name, r2 if name != "not_a_field" else r2[0] != "ok"))
            r3 = _outcome(lambda obj=obj, name=name: delattr(obj, name))
            out.append(("delattr", name, r3 if name != "not_a_field" else r3[0] != "ok"))
        out.append(("getstate", _outcome(lambda obj=obj: obj.__getstate__())))
        out.append(("asdict", _outcome(lambda obj=obj: dataclasses.asdict(obj))))
        out.append(("replace", _outcome(lambda obj=obj: repr(dataclasses.replace(obj)))))
        out.append(("copy", _outcome(lambda obj=obj: copy.copy(obj) == obj)))
    for x in objs:
        out.append(("eq", [x == y for y in objs], [x != y for y in objs], x == 1, x != 1))
    return out


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_classes_match_the_stdlib(module) -> None:
    twin = _stdlib_twin(module)
    classes = _record_classes(module)
    assert classes
    for ours in classes:
        theirs = getattr(twin, ours.__name__)
        assert dataclasses.is_dataclass(theirs)
        where = ours.__qualname__
        assert [_field_view(f) for f in dataclasses.fields(ours)] == \
            [_field_view(f) for f in dataclasses.fields(theirs)], where
        assert ours.__slots__ == theirs.__slots__, where
        assert ours.__match_args__ == theirs.__match_args__, where
        assert ours.__doc__ == theirs.__doc__, where
        assert str(inspect.signature(ours)) == str(inspect.signature(theirs)), where
        assert ours.__init__.__annotations__ == theirs.__init__.__annotations__, where
        for name in ("__eq__", "__hash__", "__setattr__", "__delattr__", "__getstate__",
                     "__setstate__"):
            assert (name in ours.__dict__) == (name in theirs.__dict__), (where, name)
            assert (getattr(ours, name, 0) is None) == (getattr(theirs, name, 0) is None), \
                (where, name)
        for name in ("__dict__", "__weakref__"):
            assert hasattr(ours, name) == hasattr(theirs, name), (where, name)
        for p in ("init", "repr", "eq", "order", "unsafe_hash", "frozen"):
            assert getattr(ours.__dataclass_params__, p) == \
                getattr(theirs.__dataclass_params__, p), (where, p)
        kws = _samples(ours)
        assert _methods_view(ours, kws) == _methods_view(theirs, kws), where


def test_lazy_methods_are_compiled_once_and_shared_by_subclasses() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class A:
        x: int
        y: tuple = field(default=())

    class B(A):
        __slots__ = ()

    assert "__init__" in A.__dict__ and not inspect.isfunction(A.__dict__["__init__"])
    b = B(x=1)
    assert inspect.isfunction(A.__dict__["__init__"])  # compiled on first use, on A
    assert "__init__" not in B.__dict__
    assert repr(b).endswith("<locals>.B(x=1, y=())") and b == B(x=1) and b != A(x=1)
    assert hash(b) == hash((1, ()))
    with pytest.raises(TypeError):
        A(1)  # keyword-only
    with pytest.raises(TypeError):
        A()
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.x = 2
    assert copy.deepcopy(b) == b
    lim = wasmloop.binary.ast.CoreLimits(min=1, max=2)
    assert pickle.loads(pickle.dumps(lim)) == lim


def test_mutable_state_and_factories() -> None:
    @dataclass(eq=False, slots=True)
    class R:
        name: str
        uid: list = field(default_factory=list)

        def __hash__(self) -> int:
            return 7

    r = R("a")
    r.uid.append(1)
    assert R("a").uid == [] and r.uid == [1] and hash(r) == 7 and r != R("a")
    r.name = "b"
    assert r.name == "b"

    @dataclass(slots=True)
    class M:
        a: int

    assert M.__hash__ is None and M(1) == M(1)


def test_what_is_not_supported_is_refused() -> None:
    with pytest.raises(TypeError):
        dataclass(frozen=True)  # slots=True is required
    with pytest.raises(TypeError):
        @dataclass(slots=True)
        class C:
            x: ClassVar[int] = 1
    with pytest.raises(ValueError):
        @dataclass(slots=True)
        class D:
            x: list = []  # noqa: RUF012
    with pytest.raises(TypeError):
        @dataclass(slots=True)
        class E:
            x: int = 1
            y: int

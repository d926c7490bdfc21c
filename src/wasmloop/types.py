"""The component type model: value, function, resource, instance and component types.

These are *resolved* types: no type indices remain, every reference points at the type object
itself. The validator builds them from the binary's type definitions; the canonical ABI compiles
lifters and lowerers from them; the embedding API shows them to users.

Value types compare structurally (``==``) except resource types, which are nominal: two
``ResourceType`` objects are equal only if they are the same object. A ``ResourceType`` here is a
*static* resource: the type a component definition talks about. Each instantiation maps its static
resources onto runtime resources (see ``wasmloop.runtime``).
"""

from __future__ import annotations

import itertools
from typing import Literal

from ._dataclass import dataclass, field

__all__ = [
    "ValType",
    "PrimType",
    "BOOL",
    "S8",
    "U8",
    "S16",
    "U16",
    "S32",
    "U32",
    "S64",
    "U64",
    "F32",
    "F64",
    "CHAR",
    "STRING",
    "ERROR_CONTEXT",
    "PRIMITIVES",
    "ListType",
    "RecordType",
    "TupleType",
    "VariantType",
    "EnumType",
    "OptionType",
    "ResultType",
    "FlagsType",
    "OwnType",
    "BorrowType",
    "StreamType",
    "FutureType",
    "MapType",
    "ResourceType",
    "FuncType",
    "CoreFuncType",
    "CoreModuleType",
    "ComponentType",
    "InstanceType",
    "ExternType",
    "TypeBound",
    "despecialize",
    "contains_borrow",
]


class ValType:
    """Base class of every component value type."""

    __slots__ = ()

    #: WIT-ish name of the type constructor, e.g. ``"u32"``, ``"list"``, ``"record"``.
    kind: str = "?"


class PrimType(ValType):
    """A primitive value type: bool, integers, floats, char, string, error-context."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind

    def __reduce__(self) -> str:
        return _PRIM_NAMES[self.kind]


BOOL = PrimType("bool")
S8 = PrimType("s8")
U8 = PrimType("u8")
S16 = PrimType("s16")
U16 = PrimType("u16")
S32 = PrimType("s32")
U32 = PrimType("u32")
S64 = PrimType("s64")
U64 = PrimType("u64")
F32 = PrimType("f32")
F64 = PrimType("f64")
CHAR = PrimType("char")
STRING = PrimType("string")
ERROR_CONTEXT = PrimType("error-context")

#: Primitive types by name (``"u32"`` → ``U32``).
PRIMITIVES: dict[str, PrimType] = {
    t.kind: t
    for t in (BOOL, S8, U8, S16, U16, S32, U32, S64, U64, F32, F64, CHAR, STRING, ERROR_CONTEXT)
}
_PRIM_NAMES = {
    t.kind: name
    for name, t in [
        ("BOOL", BOOL), ("S8", S8), ("U8", U8), ("S16", S16), ("U16", U16), ("S32", S32),
        ("U32", U32), ("S64", S64), ("U64", U64), ("F32", F32), ("F64", F64), ("CHAR", CHAR),
        ("STRING", STRING), ("ERROR_CONTEXT", ERROR_CONTEXT),
    ]
}


@dataclass(frozen=True, slots=True)
class ListType(ValType):
    elem: ValType
    #: Fixed length for 🔧 ``list<T, N>``; ``None`` for an ordinary list.
    length: int | None = None
    kind = "list"


@dataclass(frozen=True, slots=True)
class RecordType(ValType):
    fields: tuple[tuple[str, ValType], ...]
    kind = "record"


@dataclass(frozen=True, slots=True)
class TupleType(ValType):
    elems: tuple[ValType, ...]
    kind = "tuple"


@dataclass(frozen=True, slots=True)
class VariantType(ValType):
    cases: tuple[tuple[str, ValType | None], ...]
    kind = "variant"


@dataclass(frozen=True, slots=True)
class EnumType(ValType):
    labels: tuple[str, ...]
    kind = "enum"


@dataclass(frozen=True, slots=True)
class OptionType(ValType):
    elem: ValType
    kind = "option"


@dataclass(frozen=True, slots=True)
class ResultType(ValType):
    ok: ValType | None
    err: ValType | None
    kind = "result"


@dataclass(frozen=True, slots=True)
class FlagsType(ValType):
    labels: tuple[str, ...]
    kind = "flags"


@dataclass(frozen=True, slots=True)
class MapType(ValType):
    """🗺️ ``map<K, V>``: despecializes to ``list<tuple<K, V>>``."""

    key: ValType
    value: ValType
    kind = "map"


_resource_ids = itertools.count(1)


@dataclass(eq=False, slots=True)
class ResourceType:
    """A static resource type; nominal (identity) equality.

    ``defined`` is True for a ``(resource (rep i32) (dtor f)?)`` definition in a component, False
    for an abstract resource (an imported ``(sub resource)`` or one exported from an instance
    type). ``dtor`` is the core function index of the destructor in the defining component's core
    function index space, if any.
    """

    name: str = ""
    defined: bool = False
    rep: Literal["i32", "i64"] = "i32"
    dtor: int | None = None
    uid: int = field(default_factory=lambda: next(_resource_ids))

    def __repr__(self) -> str:
        return f"resource {self.name or '#' + str(self.uid)}"

    def __hash__(self) -> int:
        return self.uid


@dataclass(frozen=True, slots=True)
class OwnType(ValType):
    resource: ResourceType
    kind = "own"


@dataclass(frozen=True, slots=True)
class BorrowType(ValType):
    resource: ResourceType
    kind = "borrow"


@dataclass(frozen=True, slots=True)
class StreamType(ValType):
    elem: ValType | None
    kind = "stream"


@dataclass(frozen=True, slots=True)
class FutureType(ValType):
    elem: ValType | None
    kind = "future"


@dataclass(frozen=True, slots=True)
class FuncType:
    """A component function type. ``result`` is ``None`` for a function with no result."""

    params: tuple[tuple[str, ValType], ...]
    result: ValType | None
    is_async: bool = False

    @property
    def param_types(self) -> tuple[ValType, ...]:
        return tuple(t for _, t in self.params)

    @property
    def result_types(self) -> tuple[ValType, ...]:
        return () if self.result is None else (self.result,)


@dataclass(frozen=True, slots=True)
class CoreFuncType:
    """A core function type; value types are ``"i32" | "i64" | "f32" | "f64" | "v128" |
    "funcref" | "externref"`` (other reference types keep their text form)."""

    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CoreModuleType:
    """Imports as ``(module, name, kind, type)`` and exports as ``(name, kind, type)``; ``type``
    is a ``CoreFuncType`` for functions and a short description string otherwise."""

    imports: tuple[tuple[str, str, str, object], ...]
    exports: tuple[tuple[str, str, object], ...]


@dataclass(frozen=True, slots=True)
class TypeBound:
    """The type of a ``type`` import or export.

    ``(eq T)``: ``type`` is T and ``sub_resource`` is False. ``(sub resource)``: ``type`` is the
    fresh abstract ``ResourceType`` the declaration introduces and ``sub_resource`` is True.
    """

    type: ValType | ResourceType | FuncType | InstanceType | ComponentType
    sub_resource: bool = False


#: What an import or export carries.
ExternType = (
    "FuncType | ComponentType | InstanceType | CoreModuleType | TypeBound | ValType"
)


@dataclass(eq=False, slots=True)
class InstanceType:
    """Exports of an instance by name. Values are FuncType, InstanceType, ComponentType,
    CoreModuleType, TypeBound (for exported types) or ValType (🪙 values)."""

    exports: dict[str, object]


@dataclass(eq=False, slots=True)
class ComponentType:
    """Imports and exports of a component by name (same value kinds as ``InstanceType``)."""

    imports: dict[str, object]
    exports: dict[str, object]


def despecialize(t: ValType) -> ValType:
    """Map the specialized value types onto the ones the ABI handles directly.

    tuple → record, enum → variant, option → variant, result → variant, map → list of tuples
    (the Canonical ABI's ``despecialize``).
    """
    if isinstance(t, TupleType):
        return RecordType(tuple((str(i), e) for i, e in enumerate(t.elems)))
    if isinstance(t, EnumType):
        return VariantType(tuple((label, None) for label in t.labels))
    if isinstance(t, OptionType):
        return VariantType((("none", None), ("some", t.elem)))
    if isinstance(t, ResultType):
        return VariantType((("ok", t.ok), ("error", t.err)))
    if isinstance(t, MapType):
        return ListType(TupleType((t.key, t.value)))
    return t


def contains_borrow(t: ValType | None) -> bool:
    """True if ``t`` transitively contains a ``borrow`` (not allowed in results or streams)."""
    if t is None or isinstance(t, PrimType):
        return False
    if isinstance(t, BorrowType):
        return True
    if isinstance(t, OwnType | StreamType | FutureType):
        return False
    if isinstance(t, ListType | OptionType):
        return contains_borrow(t.elem)
    if isinstance(t, RecordType):
        return any(contains_borrow(ft) for _, ft in t.fields)
    if isinstance(t, TupleType):
        return any(contains_borrow(e) for e in t.elems)
    if isinstance(t, VariantType):
        return any(contains_borrow(ct) for _, ct in t.cases)
    if isinstance(t, ResultType):
        return contains_borrow(t.ok) or contains_borrow(t.err)
    if isinstance(t, MapType):
        return contains_borrow(t.key) or contains_borrow(t.value)
    return False

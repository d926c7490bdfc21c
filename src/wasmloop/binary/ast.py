"""Plain data for a decoded component binary (Binary.md), with no behaviour.

Class names follow the spec's productions so that ``grep`` for a production finds its node.
Every *definition* node (an entry of ``Component.definitions``) and every declarator inside a
component, instance or core module type carries ``offset``: the absolute byte offset, within
the outermost binary, where its encoding starts. Indices are kept as plain ``int``s and are
not resolved or checked: that is the validator's job.

A component value type (``valtype``) is either an ``int`` (a type index) or a ``str`` naming a
primitive (``"bool"``, ``"s8"`` … ``"string"``, ``"error-context"``).

A core value type is a ``str`` in text form: ``"i32" "i64" "f32" "f64" "v128" "funcref"
"externref"`` and, for other reference types, ``"anyref"`` …, ``"(ref 3)"``,
``"(ref null func)"``, ``"(ref null (shared any))"``.

All classes are frozen, slotted and keyword-only, so new fields can be added (with defaults)
without breaking callers.
"""

from __future__ import annotations

import enum

from .._dataclass import dataclass, field

#: A component value type: a type index or a primitive name.
ValType = int | str

PRIMITIVE_NAMES: frozenset[str] = frozenset(
    {
        "bool",
        "s8",
        "u8",
        "s16",
        "u16",
        "s32",
        "u32",
        "s64",
        "u64",
        "f32",
        "f64",
        "char",
        "string",
        "error-context",
    }
)


class Sort(enum.Enum):
    """A ``sort`` (or ``core:sort``): which index space an index points into."""

    CORE_FUNC = "core func"
    CORE_TABLE = "core table"
    CORE_MEMORY = "core memory"
    CORE_GLOBAL = "core global"
    CORE_TAG = "core tag"
    CORE_TYPE = "core type"
    CORE_MODULE = "core module"
    CORE_INSTANCE = "core instance"
    FUNC = "func"
    VALUE = "value"
    TYPE = "type"
    COMPONENT = "component"
    INSTANCE = "instance"

    #: Members are singletons compared by identity: the C identity hash spares every
    #: dictionary keyed by a sort (index spaces) Enum's Python-level ``__hash__``.
    __hash__ = object.__hash__


_frozen = dataclass(frozen=True, slots=True, kw_only=True)


# ---------------------------------------------------------------------------------------------
# Core types (core:type, core:moduletype, WebAssembly 3.0 rec/sub types)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreLimits:
    """Core ``limits``: ``min``, optional ``max``, and the 64-bit / shared flags."""

    min: int
    max: int | None = None
    is64: bool = False
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreTableType:
    """Core ``tabletype``: element reference type and limits."""

    elem: str
    limits: CoreLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreMemoryType:
    """Core ``memtype``: limits (``is64`` for memory64) and the custom page size, if any."""

    limits: CoreLimits
    page_size_log2: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreGlobalType:
    """Core ``globaltype``: value type and mutability."""

    valtype: str
    mutable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreExternType:
    """Core ``externtype`` of an import or export declaration.

    ``kind`` is ``"func" | "table" | "memory" | "global" | "tag"``. ``type_index`` is the
    core function type index for ``func`` and ``tag``; ``desc`` holds the table, memory or
    global type for the other kinds.
    """

    kind: str
    type_index: int | None = None
    desc: CoreTableType | CoreMemoryType | CoreGlobalType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreFuncType:
    """Core ``functype`` (comp type ``0x60``): params and results as core value type text."""

    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreFieldType:
    """A GC ``fieldtype``: storage type (a value type or ``"i8"``/``"i16"``) and mutability."""

    storage: str
    mutable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreStructType:
    """A GC ``structtype`` (comp type ``0x5f``)."""

    fields: tuple[CoreFieldType, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreArrayType:
    """A GC ``arraytype`` (comp type ``0x5e``)."""

    element: CoreFieldType


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreRawCompType:
    """A core comp type this decoder does not model (e.g. a continuation type), kept as its
    opcode and raw bytes (opcode excluded) so a validator can reject it with its offset."""

    opcode: int
    data: bytes
    offset: int


#: A core comp type.
CoreCompType = CoreFuncType | CoreStructType | CoreArrayType | CoreRawCompType


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreSubType:
    """A core ``subtype``: ``final``, the declared supertype indices and the comp type.

    A bare comp type (no ``sub`` prefix) is final with no supertypes.
    """

    comp: CoreCompType
    final: bool = True
    supertypes: tuple[int, ...] = ()
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreRecType:
    """A core ``rectype``. A lone subtype decodes as a rec group of one (``explicit=False``);
    ``0x4e vec(subtype)`` gives ``explicit=True``."""

    subtypes: tuple[CoreSubType, ...]
    explicit: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreImportDecl:
    """``core:import`` inside a core module type: ``(import module name type)``."""

    module: str
    name: str
    type: CoreExternType
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreExportDecl:
    """``core:exportdecl`` inside a core module type: ``(export name type)``."""

    name: str
    type: CoreExternType
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreAliasOuter:
    """``core:alias`` inside a core module type: ``(alias outer count index (type))``."""

    count: int
    index: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreModuleType:
    """``core:moduletype`` (``0x50``): the declarators of a core module type, in order.

    Each decl is a ``CoreImportDecl``, ``CoreTypeDef``, ``CoreAliasOuter`` or
    ``CoreExportDecl``.
    """

    decls: tuple[CoreImportDecl | CoreTypeDef | CoreAliasOuter | CoreExportDecl, ...]


#: What a ``core:type`` defines.
CoreDefType = CoreRecType | CoreModuleType


# ---------------------------------------------------------------------------------------------
# Component value types (defvaltype)


@dataclass(frozen=True, slots=True, kw_only=True)
class Primitive:
    """A ``primvaltype`` used as a whole type definition, e.g. ``(type string)``."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """``(record (field label type)+)``."""

    fields: tuple[tuple[str, ValType], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """A ``variant`` case: label and optional payload type."""

    label: str
    type: ValType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """``(variant (case label type?)+)``."""

    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class List:
    """``(list t)`` (``0x70``), or the 🔧 fixed-length ``(list t len)`` (``0x67``) when
    ``length`` is not None."""

    element: ValType
    length: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tuple:
    """``(tuple t+)``."""

    elements: tuple[ValType, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Flags:
    """``(flags label+)``."""

    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Enum:
    """``(enum label+)``."""

    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """``(option t)``."""

    element: ValType


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """``(result t? (error u)?)``."""

    ok: ValType | None = None
    err: ValType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Own:
    """``(own i)``: ``type_index`` should name a resource type."""

    type_index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Borrow:
    """``(borrow i)``: ``type_index`` should name a resource type."""

    type_index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    """🔀 ``(stream t?)``."""

    element: ValType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Future:
    """🔀 ``(future t?)``."""

    element: ValType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Map:
    """🗺️ ``(map k v)``."""

    key: ValType
    value: ValType


#: A ``defvaltype``.
DefValType = (
    Primitive
    | Record
    | Variant
    | List
    | Tuple
    | Flags
    | Enum
    | Option
    | Result
    | Own
    | Borrow
    | Stream
    | Future
    | Map
)


# ---------------------------------------------------------------------------------------------
# Other component types


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceType:
    """``(resource (rep t) (dtor f)?)``: ``rep`` is a core value type (``"i32"``; ``"i64"``
    with 🐘); ``dtor`` is a core function index."""

    rep: str
    dtor: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FuncType:
    """``functype``: ``0x40`` (sync) or ``0x43`` (``func async``, ``is_async=True``).

    ``result`` is None for ``0x01 0x00`` (no result).
    """

    params: tuple[tuple[str, ValType], ...]
    result: ValType | None = None
    is_async: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternType:
    """``externtype``: the type of an import or export.

    ``sort`` is one of ``CORE_MODULE``, ``FUNC``, ``VALUE``, ``TYPE``, ``COMPONENT``,
    ``INSTANCE``.

    - core module / func / component / instance: ``type_index`` is the (core) type index.
    - type: ``type_index`` is the ``(eq i)`` bound, or None for ``(sub resource)``.
    - 🪙 value: ``value_index`` for ``(eq i)``, else ``value_type`` for a value type bound.
    """

    sort: Sort
    type_index: int | None = None
    value_index: int | None = None
    value_type: ValType | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NameAttribute:
    """An ``attribute`` of ``nameattributes`` (🏷️/🔗).

    ``kind`` is ``"implements"``, ``"versionsuffix"`` or ``"external-id"``; ``value`` the string.
    """

    kind: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportDecl:
    """``importdecl`` inside a component type: ``(import name type)``.

    ``name_kind`` is the ``nameattributes`` discriminant (0, 1 or 2).
    """

    name: str
    type: ExternType
    offset: int
    attributes: tuple[NameAttribute, ...] = ()
    name_kind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportDecl:
    """``exportdecl`` inside a component or instance type: ``(export name type)``."""

    name: str
    type: ExternType
    offset: int
    attributes: tuple[NameAttribute, ...] = ()
    name_kind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentType:
    """``componenttype`` (``0x41``): declarators in order.

    Each decl is a ``CoreTypeDef``, ``TypeDef``, alias (``AliasExport``, ``AliasCoreExport``,
    ``AliasOuter``), ``ImportDecl`` or ``ExportDecl``.
    """

    decls: tuple[object, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceType:
    """``instancetype`` (``0x42``): declarators in order (as ``ComponentType`` but without
    ``ImportDecl``)."""

    decls: tuple[object, ...]


#: A ``deftype``.
DefType = DefValType | FuncType | ComponentType | InstanceType | ResourceType


# ---------------------------------------------------------------------------------------------
# Definitions (entries of Component.definitions, in binary order)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreModule:
    """``section_1(core:module)``: a core module, not decoded.

    ``data`` is a zero-copy view of the module's bytes (preamble included); ``offset`` is the
    absolute offset of its first byte.
    """

    data: memoryview | bytes
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreInstantiateArg:
    """``(with name (instance i))`` of a core instantiation."""

    name: str
    instance_index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreInstantiate:
    """``(core instance (instantiate m arg*))``."""

    module_index: int
    args: tuple[CoreInstantiateArg, ...]
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreInlineExport:
    """``(export name (sort idx))`` of a core instance built from inline exports; ``sort`` is
    a core sort."""

    name: str
    sort: Sort
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreInlineExports:
    """``(core instance (export …)*)``: a core instance made of inline exports."""

    exports: tuple[CoreInlineExport, ...]
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreTypeDef:
    """``(core type dt)`` — as a definition, or as a declarator in a module, component or
    instance type."""

    type: CoreDefType
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NestedComponent:
    """``section_4(component)``: a nested component, decoded recursively."""

    component: Component
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InstantiateArg:
    """``(with name (sort idx))`` of a component instantiation."""

    name: str
    sort: Sort
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Instantiate:
    """``(instance (instantiate c arg*))``."""

    component_index: int
    args: tuple[InstantiateArg, ...]
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineExport:
    """``(export nameattributes (sort idx))`` of an instance built from inline exports."""

    name: str
    sort: Sort
    index: int
    attributes: tuple[NameAttribute, ...] = ()
    name_kind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class InlineExports:
    """``(instance (export …)*)``: an instance made of inline exports."""

    exports: tuple[InlineExport, ...]
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasExport:
    """``(alias export i name (sort))``: export ``name`` of component instance ``i``."""

    sort: Sort
    instance_index: int
    name: str
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasCoreExport:
    """``(alias core export i name (sort))``: export ``name`` of core instance ``i``."""

    sort: Sort
    instance_index: int
    name: str
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AliasOuter:
    """``(alias outer count index (sort))``: ``count`` enclosing scopes out."""

    sort: Sort
    count: int
    index: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeDef:
    """``(type dt)`` — as a definition, or as a declarator in a component or instance type."""

    type: DefType
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CanonOpt:
    """One ``canonopt``, duplicates kept.

    ``kind`` is ``"string-encoding"`` (``value`` = ``"utf8" | "utf16" | "latin1+utf16"``),
    ``"memory"``, ``"realloc"``, ``"post-return"``, ``"callback"``, ``"core-type"`` (``value``
    = the core index), ``"async"`` or ``"gc"`` (``value`` None).
    """

    kind: str
    value: int | str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CanonLift:
    """``(canon lift core_func opts (type type_index))``: defines a component func."""

    core_func: int
    options: tuple[CanonOpt, ...]
    type_index: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CanonLower:
    """``(canon lower func opts (core func))``: defines a core func."""

    func: int
    options: tuple[CanonOpt, ...]
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CanonBuiltin:
    """Any other ``canon`` built-in; each defines one core func.

    ``op`` is the spec's text name (``"resource.new"``, ``"stream.read"``,
    ``"waitable-set.wait"`` …) and ``opcode`` its byte. Immediates, where the op has them:

    - ``type_index``: the component type index (resource.*, stream.*, future.*).
    - ``options``: ``opts`` (task.return, stream/future read/write, error-context.new and
      debug-message).
    - ``result``: task.return's result type (None for no result).
    - ``is_async``: ``async?`` (subtask.cancel, cancel-read/write).
    - ``cancellable``: ``cancel?`` (waitable-set.wait/poll, thread.yield, thread.suspend …).
    - ``memory``: the core memory index (waitable-set.wait/poll).
    - ``core_valtype`` and ``index``: context.get/set's type and slot.
    - ``core_type_index`` and ``table_index``: thread.new-indirect, thread.spawn-*.
    - ``shared``: ``sh?`` of the 🧵② built-ins.
    """

    op: str
    opcode: int
    offset: int
    type_index: int | None = None
    options: tuple[CanonOpt, ...] = ()
    result: ValType | None = None
    is_async: bool = False
    cancellable: bool = False
    memory: int | None = None
    core_valtype: str | None = None
    index: int | None = None
    core_type_index: int | None = None
    table_index: int | None = None
    shared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """🪙 ``(start f (value arg)* (result (value))^results)``."""

    func_index: int
    args: tuple[int, ...]
    results: int
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Import:
    """``(import name type)`` of a component.

    ``name_kind`` is the ``nameattributes`` discriminant (0, 1 or 2); ``attributes`` the 🏷️/🔗
    attributes of kind 2, duplicates kept.
    """

    name: str
    type: ExternType
    offset: int
    attributes: tuple[NameAttribute, ...] = ()
    name_kind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Export:
    """``(export name (sort index) type?)`` of a component."""

    name: str
    sort: Sort
    index: int
    offset: int
    type: ExternType | None = None
    attributes: tuple[NameAttribute, ...] = ()
    name_kind: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Value:
    """🪙 ``(value t v)``: the type and the raw encoding of ``v`` (not interpreted)."""

    type: ValType
    data: memoryview | bytes
    offset: int


#: An entry of ``Component.definitions``.
Definition = (
    CoreModule
    | CoreInstantiate
    | CoreInlineExports
    | CoreTypeDef
    | NestedComponent
    | Instantiate
    | InlineExports
    | AliasExport
    | AliasCoreExport
    | AliasOuter
    | TypeDef
    | CanonLift
    | CanonLower
    | CanonBuiltin
    | Start
    | Import
    | Export
    | Value
)


# ---------------------------------------------------------------------------------------------
# Custom sections and the component name section


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomSection:
    """A custom section (id 0): its name and a zero-copy view of its payload."""

    name: str
    data: memoryview | bytes
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SortNames:
    """A ``sortnamesubsec``: names for indices of one sort, as ``(index, name)`` pairs."""

    sort: Sort
    names: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentNames:
    """The decoded ``component-name`` custom section."""

    component_name: str | None = None
    sort_names: tuple[SortNames, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """A decoded component: definitions in binary (index-space) order, custom sections, and
    the ``component-name`` section if present and well formed (an invalid one is ignored).

    ``offset`` and ``size`` locate the component's bytes (preamble included) in the outermost
    binary.
    """

    definitions: tuple[Definition, ...]
    offset: int = 0
    size: int = 0
    custom_sections: tuple[CustomSection, ...] = ()
    names: ComponentNames | None = None
    sections: tuple[tuple[int, int, int], ...] = field(default=())
    """``(section id, offset of the section body, body size)`` for every section, in order."""

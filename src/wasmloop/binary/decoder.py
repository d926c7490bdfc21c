"""Decoding a component binary (Binary.md) into ``binary.ast`` nodes.

Functions here mirror the spec's productions (``_component``, ``_core_instance``, ``_alias``,
``_deftype``, ``_canon`` …). Core modules are not decoded: a component keeps a zero-copy view of
each module's bytes, so decoding stays fast however large the modules are.
"""

from __future__ import annotations

from collections.abc import Callable

from wasmloop.binary import ast
from wasmloop.binary.ast import Sort
from wasmloop.binary.coremodule import (
    CORE_VERSION,
    MAGIC,
    check_module_sections,
    read_core_externtype,
    read_core_rectype,
    read_core_subtype,
    read_core_valtype,
)
from wasmloop.binary.reader import MAX_NESTING, Reader
from wasmloop.errors import DecodeError

__all__ = ["decode_component", "COMPONENT_VERSION"]

COMPONENT_VERSION = b"\x0d\x00\x01\x00"

_PRIMVALTYPES: dict[int, str] = {
    0x7F: "bool",
    0x7E: "s8",
    0x7D: "u8",
    0x7C: "s16",
    0x7B: "u16",
    0x7A: "s32",
    0x79: "u32",
    0x78: "s64",
    0x77: "u64",
    0x76: "f32",
    0x75: "f64",
    0x74: "char",
    0x73: "string",
    0x64: "error-context",
}

_CORE_SORTS: dict[int, Sort] = {
    0x00: Sort.CORE_FUNC,
    0x01: Sort.CORE_TABLE,
    0x02: Sort.CORE_MEMORY,
    0x03: Sort.CORE_GLOBAL,
    0x04: Sort.CORE_TAG,
    0x10: Sort.CORE_TYPE,
    0x11: Sort.CORE_MODULE,
    0x12: Sort.CORE_INSTANCE,
}

_SORTS: dict[int, Sort] = {
    0x01: Sort.FUNC,
    0x02: Sort.VALUE,
    0x03: Sort.TYPE,
    0x04: Sort.COMPONENT,
    0x05: Sort.INSTANCE,
}

_SECTION_NAMES = {
    0: "custom",
    1: "core module",
    2: "core instance",
    3: "core type",
    4: "component",
    5: "instance",
    6: "alias",
    7: "type",
    8: "canonical function",
    9: "start",
    10: "import",
    11: "export",
    12: "value",
}

# ---------------------------------------------------------------------------------------------
# Component decoding


def decode_component(data: bytes | bytearray | memoryview) -> ast.Component:
    """Decode a whole component binary. Raises ``DecodeError`` on malformed input."""
    r = Reader(data)
    return _component(r, 0)


def _preamble(r: Reader) -> None:
    start = r.pos
    if r.remaining() < 8:
        raise DecodeError(
            "magic header not detected: bad magic number: unexpected end-of-file after "
            f"{r.remaining()} bytes (the preamble is 8 bytes: \\0asm, version, layer)", start)
    head = bytes(r.view[start : start + 8])
    if head[:4] != MAGIC:
        raise DecodeError("magic header not detected: bad magic number", start)
    if head[4:] == CORE_VERSION:
        raise DecodeError(
            "expected a version header for a component, found a core module (layer 0)",
            start + 4,
        )
    if head[4:8] != b"\x0d\x00\x01\x00":
        version = int.from_bytes(head[4:8], "little")
        raise DecodeError(
            f"unknown binary version: {version:#10x} (version 0x{version & 0xFFFF:x}, layer "
            f"0x{version >> 16:x}; a component has version 0xd, layer 0x1)", start + 4)
    r.pos = start + 8


def _component(r: Reader, depth: int) -> ast.Component:
    if depth > MAX_NESTING:
        raise DecodeError(f"components nested more than {MAX_NESTING} deep", r.pos)
    start = r.pos
    _preamble(r)
    defs: list[ast.Definition] = []
    customs: list[ast.CustomSection] = []
    sections: list[tuple[int, int, int]] = []
    names: ast.ComponentNames | None = None
    counts: dict[str, int] = {}
    while not r.eof():
        sec_pos = r.pos
        sid = r.u8("a section id")
        if sid > 12:
            raise DecodeError(f"malformed section id: {sid}", sec_pos)
        size = r.u32()
        body = r.sub(size, "section")
        sections.append((sid, body.pos, size))
        if sid == 0:
            c = _custom(body, sec_pos)
            customs.append(c)
            if c.name == "component-name":
                names = _name_section(c.data)
            continue
        if sid == 1:
            _check_max(counts, "modules", 1, sec_pos)
            defs.append(_core_module(body))
            continue
        if sid == 4:
            _check_max(counts, "components", 1, sec_pos)
            comp = _component(body, depth + 1)
            defs.append(ast.NestedComponent(component=comp, offset=comp.offset))
            if not body.eof():
                raise DecodeError(
                    "section size mismatch: unexpected data at the end of the section", body.pos
                )
            continue
        if sid == 9:
            defs.append(_start(body))
        elif sid in _VEC_SECTIONS:
            item, what, min_size = _VEC_SECTIONS[sid]
            cpos = body.pos
            n = body.count(what, min_size)
            space = _SECTION_SPACES.get(sid)
            if space is not None:
                _check_max(counts, space, n, cpos)
            for _ in range(n):
                defs.append(item(body, depth))
        if not body.eof():
            raise DecodeError(
                f"section size mismatch: unexpected data at the end of the {_SECTION_NAMES[sid]} section",
                body.pos,
            )
    return ast.Component(
        definitions=tuple(defs),
        offset=start,
        size=r.pos - start,
        custom_sections=tuple(customs),
        names=names,
        sections=tuple(sections),
    )


#: Sections whose items count toward one of wasmparser's per-component limits.
_SECTION_SPACES = {2: "instances", 5: "instances", 3: "types", 7: "types", 8: "functions",
                   10: "imports", 11: "exports"}
#: wasmparser's limits (``limits.rs``): modules, components and instances 1,000 each; types,
#: functions, imports and exports 1,000,000.
_MAX_COUNTS = {"modules": 1_000, "components": 1_000, "instances": 1_000, "types": 1_000_000,
               "functions": 1_000_000, "imports": 1_000_000, "exports": 1_000_000}


def _check_max(counts: dict[str, int], space: str, n: int, pos: int) -> None:
    total = counts.get(space, 0) + n
    limit = _MAX_COUNTS[space]
    if total > limit:
        raise DecodeError(f"{space} count exceeds limit of {limit}", pos)
    counts[space] = total


def _custom(r: Reader, sec_pos: int) -> ast.CustomSection:
    name = r.name("custom section name")
    data = r.bytes(r.remaining())
    return ast.CustomSection(name=name, data=data, offset=sec_pos)


def _core_module(r: Reader) -> ast.CoreModule:
    """``section_1(core:module)``: check the preamble and the section framing only."""
    start = r.pos
    check_module_sections(r)
    return ast.CoreModule(data=r.view[start : r.end], offset=start)


def _start(r: Reader) -> ast.Start:
    pos = r.pos
    f = r.u32()
    n = r.count("start function arguments", 1, 1000)
    args = tuple(r.u32() for _ in range(n))
    return ast.Start(func_index=f, args=args, results=r.u32(), offset=pos)


# -- sorts ----------------------------------------------------------------------------------


def _core_sort(r: Reader) -> Sort:
    pos = r.pos
    b = r.u8("a core sort")
    s = _CORE_SORTS.get(b)
    if s is None:
        raise DecodeError(f"invalid leading byte (0x{b:x}) for core sort", pos)
    return s


def _sort(r: Reader) -> Sort:
    pos = r.pos
    b = r.u8("a sort")
    if b == 0x00:
        return _core_sort(r)
    s = _SORTS.get(b)
    if s is None:
        raise DecodeError(f"invalid leading byte (0x{b:x}) for component external kind", pos)
    return s


# -- instances ------------------------------------------------------------------------------


def _core_instance(r: Reader, depth: int) -> ast.Definition:
    pos = r.pos
    b = r.u8("a core instance")
    if b == 0x00:
        m = r.u32()
        n = r.count("core instantiation arguments", 3, 100_000)
        args = []
        for _ in range(n):
            name = r.name("instantiation argument name")
            kpos = r.pos
            k = r.u8("a core instance sort")
            if k != 0x12:
                raise DecodeError(
                    f"invalid leading byte (0x{k:x}) for instantiation arg kind",
                    kpos,
                )
            args.append(ast.CoreInstantiateArg(name=name, instance_index=r.u32()))
        return ast.CoreInstantiate(module_index=m, args=tuple(args), offset=pos)
    if b == 0x01:
        n = r.count("core instantiation exports", 3, 100_000)
        exports = []
        for _ in range(n):
            name = r.name("export name")
            sort = _core_sort(r)
            exports.append(ast.CoreInlineExport(name=name, sort=sort, index=r.u32()))
        return ast.CoreInlineExports(exports=tuple(exports), offset=pos)
    raise DecodeError(f"invalid leading byte (0x{b:x}) for core instance", pos)


def _name_attributes(r: Reader) -> tuple[str, tuple[ast.NameAttribute, ...], int]:
    pos = r.pos
    kind = r.u8("an extern name")
    if kind > 2:
        raise DecodeError(f"invalid leading byte (0x{kind:x}) for component name", pos)
    name = r.name("extern name")
    attrs: list[ast.NameAttribute] = []
    if kind == 2:
        n = r.count("name attribute", 2)
        for _ in range(n):
            apos = r.pos
            a = r.u8("a name attribute")
            if a == 0x00:
                attrs.append(ast.NameAttribute(kind="implements", value=r.name("interface name")))
            elif a == 0x01:
                attrs.append(
                    ast.NameAttribute(kind="versionsuffix", value=r.name("version suffix"))
                )
            elif a == 0x02:
                attrs.append(ast.NameAttribute(kind="external-id", value=r.name("external id")))
            else:
                raise DecodeError(f"invalid leading byte (0x{a:x}) for name option", apos)
    return name, tuple(attrs), kind


def _instance(r: Reader, depth: int) -> ast.Definition:
    pos = r.pos
    b = r.u8("an instance")
    if b == 0x00:
        c = r.u32()
        n = r.count("instantiation arguments", 3, 100_000)
        args = []
        for _ in range(n):
            name = r.name("instantiation argument name")
            sort = _sort(r)
            args.append(ast.InstantiateArg(name=name, sort=sort, index=r.u32()))
        return ast.Instantiate(component_index=c, args=tuple(args), offset=pos)
    if b == 0x01:
        n = r.count("instantiation exports", 4, 100_000)
        exports = []
        for _ in range(n):
            name, attrs, kind = _name_attributes(r)
            sort = _sort(r)
            exports.append(
                ast.InlineExport(
                    name=name, sort=sort, index=r.u32(), attributes=attrs, name_kind=kind
                )
            )
        return ast.InlineExports(exports=tuple(exports), offset=pos)
    raise DecodeError(f"invalid leading byte (0x{b:x}) for instance", pos)


# -- aliases --------------------------------------------------------------------------------


def _alias(r: Reader, depth: int = 0) -> ast.AliasExport | ast.AliasCoreExport | ast.AliasOuter:
    pos = r.pos
    b1 = r.u8("a sort")
    b2 = r.u8("a core sort") if b1 == 0x00 else None
    tpos = r.pos
    t = r.u8("an alias target")
    if t == 0x02:
        sort = _OUTER_ALIAS_SORTS.get((b1, b2))
        if sort is None:
            bad, bpos = (b1, pos) if b2 is None else (b2, pos + 1)
            raise DecodeError(
                f"invalid leading byte (0x{bad:x}) for component outer alias kind", bpos
            )
        ct = r.u32()
        return ast.AliasOuter(sort=sort, count=ct, index=r.u32(), offset=pos)
    if t > 0x02:
        raise DecodeError(f"invalid leading byte (0x{t:x}) for alias", tpos)
    if b2 is None:
        sort = _SORTS.get(b1)
        if sort is None:
            raise DecodeError(f"invalid leading byte (0x{b1:x}) for component external kind", pos)
    else:
        sort = _CORE_SORTS.get(b2)
        if sort is None:
            raise DecodeError(f"invalid leading byte (0x{b2:x}) for core sort", pos + 1)
    i = r.u32()
    name = r.name("export name")
    if t == 0x00:
        return ast.AliasExport(sort=sort, instance_index=i, name=name, offset=pos)
    return ast.AliasCoreExport(sort=sort, instance_index=i, name=name, offset=pos)


_OUTER_ALIAS_SORTS: dict[tuple[int, int | None], Sort] = {
    (0x00, 0x10): Sort.CORE_TYPE,
    (0x00, 0x11): Sort.CORE_MODULE,
    (0x03, None): Sort.TYPE,
    (0x04, None): Sort.COMPONENT,
}


# -- core types -----------------------------------------------------------------------------


def _core_type(r: Reader, depth: int) -> ast.CoreTypeDef:
    if depth > MAX_NESTING:
        raise DecodeError(f"types nested more than {MAX_NESTING} deep", r.pos)
    pos = r.pos
    b = r.peek("a core type")
    if b == 0x50:
        r.pos += 1
        return ast.CoreTypeDef(type=_core_module_type(r, depth + 1), offset=pos)
    if b == 0x00:
        r.pos += 1
        sub_pos = r.pos
        if r.u8("a sub type") != 0x50:
            raise DecodeError("invalid leading byte for core sub type: expected 0x00 0x50", sub_pos)
        r.pos = sub_pos  # let read_core_subtype see the 0x50 (a non-final sub)
        sub = read_core_subtype(r, (0x50, 0x4F))
        return ast.CoreTypeDef(type=ast.CoreRecType(subtypes=(sub,)), offset=pos)
    return ast.CoreTypeDef(type=read_core_rectype(r), offset=pos)


def _core_module_type(r: Reader, depth: int) -> ast.CoreModuleType:
    n = r.count("module type declaration", 2, 100_000)
    decls: list[ast.CoreImportDecl | ast.CoreTypeDef | ast.CoreAliasOuter | ast.CoreExportDecl] = []
    for _ in range(n):
        pos = r.pos
        k = r.u8("a module type declaration")
        if k == 0x00:
            module = r.name("import module name")
            name = r.name("import name")
            decls.append(
                ast.CoreImportDecl(
                    module=module, name=name, type=read_core_externtype(r), offset=pos
                )
            )
        elif k == 0x01:
            td = _core_type(r, depth)
            if isinstance(td.type, ast.CoreModuleType):
                raise DecodeError(
                    "invalid leading byte (0x50) for core type in a module type: module types do not nest",
                    pos + 1,
                )
            decls.append(ast.CoreTypeDef(type=td.type, offset=pos))
        elif k == 0x02:
            spos = r.pos
            s = r.u8("an alias sort")
            if s != 0x10:
                raise DecodeError(f"invalid leading byte (0x{s:x}) for outer alias kind", spos)
            tpos = r.pos
            t = r.u8("an alias target")
            if t != 0x01:
                raise DecodeError(f"invalid leading byte (0x{t:x}) for outer alias target", tpos)
            ct = r.u32()
            decls.append(ast.CoreAliasOuter(count=ct, index=r.u32(), offset=pos))
        elif k == 0x03:
            name = r.name("export name")
            decls.append(ast.CoreExportDecl(name=name, type=read_core_externtype(r), offset=pos))
        else:
            raise DecodeError(f"invalid leading byte (0x{k:x}) for type definition", pos)
    return ast.CoreModuleType(decls=tuple(decls))


# -- component types ------------------------------------------------------------------------


def _valtype(r: Reader) -> ast.ValType:
    pos = r.pos
    b = r.peek("a component value type")
    p = _PRIMVALTYPES.get(b)
    if p is not None:
        r.pos += 1
        return p
    v = r.s33()
    if v < 0:
        raise DecodeError(f"invalid leading byte (0x{b:x}) for component value type", pos)
    if v > 0xFFFFFFFF:
        raise DecodeError("type index out of range", pos)
    return v


def _opt_valtype(r: Reader) -> ast.ValType | None:
    return _valtype(r) if r.present("value type") else None


def _label(r: Reader) -> str:
    return r.name("label")


def _type(r: Reader, depth: int) -> ast.TypeDef:
    if depth > MAX_NESTING:
        raise DecodeError(f"types nested more than {MAX_NESTING} deep", r.pos)
    pos = r.pos
    return ast.TypeDef(type=_deftype(r, depth), offset=pos)


def _deftype(r: Reader, depth: int) -> ast.DefType:
    pos = r.pos
    b = r.u8("a type definition")
    p = _PRIMVALTYPES.get(b)
    if p is not None:
        return ast.Primitive(name=p)
    if b == 0x72:
        n = r.count("record field", 2, 10_000)
        return ast.Record(fields=tuple((_label(r), _valtype(r)) for _ in range(n)))
    if b == 0x71:
        n = r.count("variant cases", 3, 10_000)
        cases = []
        for _ in range(n):
            label = _label(r)
            t = _opt_valtype(r)
            epos = r.pos
            z = r.u8("the end of a variant case")
            if z != 0x00:
                raise DecodeError(f"invalid leading byte (0x{z:x}) for zero byte required", epos)
            cases.append(ast.Case(label=label, type=t))
        return ast.Variant(cases=tuple(cases))
    if b == 0x70:
        return ast.List(element=_valtype(r))
    if b == 0x67:
        t = _valtype(r)
        return ast.List(element=t, length=r.u32())
    if b == 0x6F:
        n = r.count("tuple types", 1, 10_000)
        return ast.Tuple(elements=tuple(_valtype(r) for _ in range(n)))
    if b == 0x6E:
        n = r.count("flag names", 1, 1_000)
        return ast.Flags(labels=tuple(_label(r) for _ in range(n)))
    if b == 0x6D:
        n = r.count("enum cases", 1, 10_000)
        return ast.Enum(labels=tuple(_label(r) for _ in range(n)))
    if b == 0x6B:
        return ast.Option(element=_valtype(r))
    if b == 0x6A:
        ok = _opt_valtype(r)
        return ast.Result(ok=ok, err=_opt_valtype(r))
    if b == 0x69:
        return ast.Own(type_index=r.u32())
    if b == 0x68:
        return ast.Borrow(type_index=r.u32())
    if b == 0x66:
        return ast.Stream(element=_opt_valtype(r))
    if b == 0x65:
        return ast.Future(element=_opt_valtype(r))
    if b == 0x63:
        k = _valtype(r)
        return ast.Map(key=k, value=_valtype(r))
    if b == 0x3F:
        rep = read_core_valtype(r)
        dtor = r.u32() if r.present("destructor") else None
        return ast.ResourceType(rep=rep, dtor=dtor)
    if b == 0x40 or b == 0x43:
        n = r.count("component function parameters", 2, 1_000)
        params = tuple((_label(r), _valtype(r)) for _ in range(n))
        return ast.FuncType(params=params, result=_resultlist(r), is_async=b == 0x43)
    if b == 0x41:
        n = r.count("component type declaration", 2, 1_000_000)
        return ast.ComponentType(decls=tuple(_component_decl(r, depth + 1) for _ in range(n)))
    if b == 0x42:
        n = r.count("instance type declaration", 2, 1_000_000)
        return ast.InstanceType(decls=tuple(_instance_decl(r, depth + 1) for _ in range(n)))
    raise DecodeError(f"invalid leading byte (0x{b:x}) for component defined type", pos)


def _resultlist(r: Reader) -> ast.ValType | None:
    pos = r.pos
    b = r.u8("a result list")
    if b == 0x00:
        return _valtype(r)
    if b == 0x01:
        zpos = r.pos
        z = r.u8("an empty result list")
        if z != 0x00:
            raise DecodeError(f"invalid leading byte (0x{z:x}) for number of results", zpos)
        return None
    raise DecodeError(f"invalid leading byte (0x{b:x}) for component function results", pos)


def _component_decl(r: Reader, depth: int) -> object:
    pos = r.pos
    if r.peek("a component type declaration") == 0x03:
        r.pos += 1
        name, attrs, kind = _name_attributes(r)
        return ast.ImportDecl(
            name=name, type=_externtype(r), offset=pos, attributes=attrs, name_kind=kind
        )
    return _instance_decl(r, depth)


def _instance_decl(r: Reader, depth: int) -> object:
    pos = r.pos
    k = r.u8("an instance type declaration")
    if k == 0x00:
        td = _core_type(r, depth)
        return ast.CoreTypeDef(type=td.type, offset=pos)
    if k == 0x01:
        t = _type(r, depth)
        return ast.TypeDef(type=t.type, offset=pos)
    if k == 0x02:
        a = _alias(r)
        return _with_offset(a, pos)
    if k == 0x04:
        name, attrs, kind = _name_attributes(r)
        return ast.ExportDecl(
            name=name, type=_externtype(r), offset=pos, attributes=attrs, name_kind=kind
        )
    raise DecodeError(
        f"invalid leading byte (0x{k:x}) for component or instance type declaration", pos
    )


def _with_offset(a: ast.AliasExport | ast.AliasCoreExport | ast.AliasOuter, pos: int) -> object:
    if isinstance(a, ast.AliasOuter):
        return ast.AliasOuter(sort=a.sort, count=a.count, index=a.index, offset=pos)
    if isinstance(a, ast.AliasExport):
        return ast.AliasExport(
            sort=a.sort, instance_index=a.instance_index, name=a.name, offset=pos
        )
    return ast.AliasCoreExport(
        sort=a.sort, instance_index=a.instance_index, name=a.name, offset=pos
    )


def _externtype(r: Reader) -> ast.ExternType:
    pos = r.pos
    b = r.u8("an extern type")
    if b == 0x00:
        if r.u8("a core module extern type") != 0x11:
            raise DecodeError("invalid leading byte (0x0) for component external kind", pos)
        return ast.ExternType(sort=Sort.CORE_MODULE, type_index=r.u32())
    if b == 0x01:
        return ast.ExternType(sort=Sort.FUNC, type_index=r.u32())
    if b == 0x02:
        bpos = r.pos
        k = r.u8("a value bound")
        if k == 0x00:
            return ast.ExternType(sort=Sort.VALUE, value_index=r.u32())
        if k == 0x01:
            return ast.ExternType(sort=Sort.VALUE, value_type=_valtype(r))
        raise DecodeError(f"invalid leading byte (0x{k:x}) for value bound", bpos)
    if b == 0x03:
        bpos = r.pos
        k = r.u8("a type bound")
        if k == 0x00:
            return ast.ExternType(sort=Sort.TYPE, type_index=r.u32())
        if k == 0x01:
            return ast.ExternType(sort=Sort.TYPE)
        raise DecodeError(f"invalid leading byte (0x{k:x}) for type bound", bpos)
    if b == 0x04:
        return ast.ExternType(sort=Sort.COMPONENT, type_index=r.u32())
    if b == 0x05:
        return ast.ExternType(sort=Sort.INSTANCE, type_index=r.u32())
    raise DecodeError(f"invalid leading byte (0x{b:x}) for component external kind", pos)


# -- canonical definitions ------------------------------------------------------------------

_STRING_ENCODINGS = {0x00: "utf8", 0x01: "utf16", 0x02: "latin1+utf16"}
_INDEX_OPTS = {0x03: "memory", 0x04: "realloc", 0x05: "post-return", 0x07: "callback",
               0x08: "core-type"}


def _opts(r: Reader) -> tuple[ast.CanonOpt, ...]:
    n = r.count("canonical options", 1, 10)
    opts = []
    for _ in range(n):
        pos = r.pos
        b = r.u8("a canonical option")
        if b in _STRING_ENCODINGS:
            opts.append(ast.CanonOpt(kind="string-encoding", value=_STRING_ENCODINGS[b]))
        elif b in _INDEX_OPTS:
            opts.append(ast.CanonOpt(kind=_INDEX_OPTS[b], value=r.u32()))
        elif b == 0x06:
            opts.append(ast.CanonOpt(kind="async"))
        elif b == 0x09:
            opts.append(ast.CanonOpt(kind="gc"))
        else:
            raise DecodeError(f"invalid leading byte (0x{b:x}) for canonical option", pos)
    return tuple(opts)


# opcode -> (op name, immediates); immediates are read by _canon in this order.
_T, _OPTS, _ASYNC, _CANCEL, _MEM, _SHARED = "t", "opts", "async", "cancel", "mem", "shared"
_BUILTINS: dict[int, tuple[str, tuple[str, ...]]] = {
    0x02: ("resource.new", (_T,)),
    0x03: ("resource.drop", (_T,)),
    0x04: ("resource.rep", (_T,)),
    0x24: ("backpressure.inc", ()),
    0x25: ("backpressure.dec", ()),
    0x09: ("task.return", ("result", _OPTS)),
    0x05: ("task.cancel", ()),
    0x0A: ("context.get", ("valtype", "index")),
    0x0B: ("context.set", ("valtype", "index")),
    0x06: ("subtask.cancel", (_ASYNC,)),
    0x0D: ("subtask.drop", ()),
    0x0E: ("stream.new", (_T,)),
    0x0F: ("stream.read", (_T, _OPTS)),
    0x10: ("stream.write", (_T, _OPTS)),
    0x11: ("stream.cancel-read", (_T, _ASYNC)),
    0x12: ("stream.cancel-write", (_T, _ASYNC)),
    0x13: ("stream.drop-readable", (_T,)),
    0x14: ("stream.drop-writable", (_T,)),
    0x15: ("future.new", (_T,)),
    0x16: ("future.read", (_T, _OPTS)),
    0x17: ("future.write", (_T, _OPTS)),
    0x18: ("future.cancel-read", (_T, _ASYNC)),
    0x19: ("future.cancel-write", (_T, _ASYNC)),
    0x1A: ("future.drop-readable", (_T,)),
    0x1B: ("future.drop-writable", (_T,)),
    0x1C: ("error-context.new", (_OPTS,)),
    0x1D: ("error-context.debug-message", (_OPTS,)),
    0x1E: ("error-context.drop", ()),
    0x1F: ("waitable-set.new", ()),
    0x20: ("waitable-set.wait", (_CANCEL, _MEM)),
    0x21: ("waitable-set.poll", (_CANCEL, _MEM)),
    0x22: ("waitable-set.drop", ()),
    0x23: ("waitable.join", ()),
    0x26: ("thread.index", ()),
    0x27: ("thread.new-indirect", ("coretype", "table")),
    0x28: ("thread.resume-later", ()),
    0x29: ("thread.suspend", (_CANCEL,)),
    0x0C: ("thread.yield", (_CANCEL,)),
    0x2A: ("thread.suspend-then-resume", (_CANCEL,)),
    0x2B: ("thread.yield-then-resume", (_CANCEL,)),
    0x2C: ("thread.suspend-then-promote", (_CANCEL,)),
    0x2D: ("thread.yield-then-promote", (_CANCEL,)),
    0x40: ("thread.spawn-ref", (_SHARED, "coretype")),
    0x41: ("thread.spawn-indirect", (_SHARED, "coretype", "table")),
    0x42: ("thread.available-parallelism", (_SHARED,)),
}

#: Text names of every canon built-in by opcode (lift and lower excluded).
BUILTIN_NAMES: dict[int, str] = {op: name for op, (name, _) in _BUILTINS.items()}


def _canon(r: Reader, depth: int) -> ast.Definition:
    pos = r.pos
    b = r.u8("a canonical function")
    if b == 0x00 or b == 0x01:
        spos = r.pos
        z = r.u8("a canonical function sort")
        if z != 0x00:
            raise DecodeError(
                f"invalid leading byte (0x{z:x}) for canonical function {'lift' if b == 0 else 'lower'}",
                spos,
            )
        f = r.u32()
        opts = _opts(r)
        if b == 0x00:
            return ast.CanonLift(core_func=f, options=opts, type_index=r.u32(), offset=pos)
        return ast.CanonLower(func=f, options=opts, offset=pos)
    spec = _BUILTINS.get(b)
    if spec is None:
        raise DecodeError(f"invalid leading byte (0x{b:x}) for canonical function", pos)
    name, imms = spec
    kw: dict[str, object] = {}
    for imm in imms:
        if imm == _T:
            kw["type_index"] = r.u32()
        elif imm == _OPTS:
            kw["options"] = _opts(r)
        elif imm == _ASYNC:
            kw["is_async"] = r.flag("async")
        elif imm == _CANCEL:
            kw["cancellable"] = r.flag("cancellable")
        elif imm == _MEM:
            kw["memory"] = r.u32()
        elif imm == _SHARED:
            kw["shared"] = r.flag("shared")
        elif imm == "result":
            kw["result"] = _resultlist(r)
        elif imm == "valtype":
            kw["core_valtype"] = read_core_valtype(r)
        elif imm == "index":
            kw["index"] = r.u32()
        elif imm == "coretype":
            kw["core_type_index"] = r.u32()
        elif imm == "table":
            kw["table_index"] = r.u32()
    return ast.CanonBuiltin(op=name, opcode=b, offset=pos, **kw)  # type: ignore[arg-type]


# -- imports, exports, values ---------------------------------------------------------------


def _import(r: Reader, depth: int) -> ast.Import:
    pos = r.pos
    name, attrs, kind = _name_attributes(r)
    return ast.Import(name=name, type=_externtype(r), offset=pos, attributes=attrs, name_kind=kind)


def _export(r: Reader, depth: int) -> ast.Export:
    pos = r.pos
    name, attrs, kind = _name_attributes(r)
    sort = _sort(r)
    idx = r.u32()
    et = _externtype(r) if r.present("component export type") else None
    return ast.Export(
        name=name, sort=sort, index=idx, offset=pos, type=et, attributes=attrs, name_kind=kind
    )


def _value(r: Reader, depth: int) -> ast.Value:
    pos = r.pos
    t = _valtype(r)
    n = r.u32()
    return ast.Value(type=t, data=r.bytes(n, "bytes of a value"), offset=pos)


# section id -> (item decoder, what, minimum item size)
_VEC_SECTIONS: dict[int, tuple[Callable[[Reader, int], ast.Definition], str, int]] = {
    2: (_core_instance, "core instance", 2),
    3: (_core_type, "core type", 1),
    5: (_instance, "instance", 2),
    6: (_alias, "alias", 3),
    7: (_type, "type", 1),
    8: (_canon, "canonical function", 1),
    10: (_import, "import", 3),
    11: (_export, "export", 4),
    12: (_value, "value", 2),
}


# -- name section ---------------------------------------------------------------------------


def _name_section(data: memoryview | bytes) -> ast.ComponentNames | None:
    """Decode a ``component-name`` payload; an invalid one gives None (never an error)."""
    try:
        r = Reader(data)
        component_name: str | None = None
        sort_names: list[ast.SortNames] = []
        while not r.eof():
            sid = r.u8("a name subsection id")
            size = r.u32()
            body = r.sub(size, "name subsection")
            if sid == 0:
                component_name = body.name("component name")
            elif sid == 1:
                sort = _sort(body)
                n = body.count("name", 2)
                pairs = []
                for _ in range(n):
                    idx = body.u32()
                    pairs.append((idx, body.name("name")))
                sort_names.append(ast.SortNames(sort=sort, names=tuple(pairs)))
            else:
                continue  # unknown subsections are skipped
            if not body.eof():
                return None
        return ast.ComponentNames(component_name=component_name, sort_names=tuple(sort_names))
    except DecodeError:
        return None

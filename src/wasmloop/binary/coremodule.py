"""The outside of a core module: its imports and exports, without decoding code or data.

``parse_module_header`` reads only the type, import, function, table, memory, tag, global and
export sections and skips every other section by its size, so it stays fast on modules of
tens of megabytes. ``check_module_sections`` walks the section framing only (ids, order,
sizes), which is what the component decoder does for each embedded module.
"""

from __future__ import annotations

from typing import Any

from wasmloop import types
from wasmloop.binary import ast
from wasmloop.binary.reader import Reader
from wasmloop.errors import DecodeError

__all__ = ["parse_module_header", "check_module_sections"]

MAGIC = b"\x00asm"
CORE_VERSION = b"\x01\x00\x00\x00"

# ---------------------------------------------------------------------------------------------
# Core value types (shared with coremodule.py)

_ABSTRACT_HEAP: dict[int, str] = {
    0x70: "func",
    0x6F: "extern",
    0x6E: "any",
    0x6D: "eq",
    0x6C: "i31",
    0x6B: "struct",
    0x6A: "array",
    0x69: "exn",
    0x68: "cont",
    0x71: "none",
    0x72: "noextern",
    0x73: "nofunc",
    0x74: "noexn",
    0x75: "nocont",
}

_SHORTHAND_REF: dict[int, str] = {
    0x70: "funcref",
    0x6F: "externref",
    0x6E: "anyref",
    0x6D: "eqref",
    0x6C: "i31ref",
    0x6B: "structref",
    0x6A: "arrayref",
    0x69: "exnref",
    0x68: "contref",
    0x71: "nullref",
    0x72: "nullexternref",
    0x73: "nullfuncref",
    0x74: "nullexnref",
    0x75: "nullcontref",
}

_NUM_TYPES: dict[int, str] = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128"}


def read_heap_type(r: Reader) -> str:
    """A core ``heaptype`` as text: a type index (``"3"``) or an abstract name."""
    pos = r.pos
    b = r.peek("a heap type")
    if b == 0x65:
        r.pos += 1
        inner = r.u8("a heap type")
        if inner not in _ABSTRACT_HEAP:
            raise DecodeError(f"invalid heap type 0x{inner:x}", pos + 1)
        return f"(shared {_ABSTRACT_HEAP[inner]})"
    if b in _ABSTRACT_HEAP:
        r.pos += 1
        return _ABSTRACT_HEAP[b]
    v = r.s33()
    if v < 0:
        raise DecodeError(f"invalid heap type 0x{b:x}", pos)
    return str(v)


def read_ref_type(r: Reader) -> str:
    """A core ``reftype`` as text (``"funcref"``, ``"(ref null 3)"`` …)."""
    pos = r.pos
    b = r.u8("a reference type")
    if b in _SHORTHAND_REF:
        return _SHORTHAND_REF[b]
    if b == 0x63 or b == 0x64:
        ht = read_heap_type(r)
        return f"(ref null {ht})" if b == 0x63 else f"(ref {ht})"
    raise DecodeError(f"malformed reference type 0x{b:x}", pos)


def read_core_valtype(r: Reader) -> str:
    """A core ``valtype`` as text."""
    b = r.peek("a value type")
    if b in _NUM_TYPES:
        r.pos += 1
        return _NUM_TYPES[b]
    if b in _SHORTHAND_REF or b == 0x63 or b == 0x64:
        return read_ref_type(r)
    raise DecodeError(f"invalid value type 0x{b:x}", r.pos)


def read_storage_type(r: Reader) -> str:
    b = r.peek("a storage type")
    if b == 0x78:
        r.pos += 1
        return "i8"
    if b == 0x77:
        r.pos += 1
        return "i16"
    return read_core_valtype(r)


def read_limits(r: Reader, memory: bool) -> tuple[ast.CoreLimits, int | None]:
    pos = r.pos
    flags = r.u8("limits flags")
    allowed = 0x0F if memory else 0x07
    if flags & ~allowed:
        raise DecodeError(f"invalid limits flags 0x{flags:x}", pos)
    is64 = bool(flags & 0x04)
    read = r.u64 if is64 else r.u32
    lo = read()
    hi = read() if flags & 0x01 else None
    page = None
    if flags & 0x08:
        page = r.u32()
    return ast.CoreLimits(min=lo, max=hi, is64=is64, shared=bool(flags & 0x02)), page


def read_table_type(r: Reader) -> ast.CoreTableType:
    elem = read_ref_type(r)
    limits, _ = read_limits(r, memory=False)
    return ast.CoreTableType(elem=elem, limits=limits)


def read_memory_type(r: Reader) -> ast.CoreMemoryType:
    limits, page = read_limits(r, memory=True)
    return ast.CoreMemoryType(limits=limits, page_size_log2=page)


def read_global_type(r: Reader) -> ast.CoreGlobalType:
    vt = read_core_valtype(r)
    pos = r.pos
    m = r.u8("global mutability")
    if m > 3:
        raise DecodeError(f"malformed mutability 0x{m:x}", pos)
    return ast.CoreGlobalType(valtype=vt, mutable=bool(m & 1))


def read_core_externtype(r: Reader) -> ast.CoreExternType:
    pos = r.pos
    k = r.u8("a core external kind")
    if k == 0x00:
        return ast.CoreExternType(kind="func", type_index=r.u32())
    if k == 0x01:
        return ast.CoreExternType(kind="table", desc=read_table_type(r))
    if k == 0x02:
        return ast.CoreExternType(kind="memory", desc=read_memory_type(r))
    if k == 0x03:
        return ast.CoreExternType(kind="global", desc=read_global_type(r))
    if k == 0x04:
        apos = r.pos
        if r.u8("a tag attribute") != 0:
            raise DecodeError("invalid tag attribute: expected 0x00", apos)
        return ast.CoreExternType(kind="tag", type_index=r.u32())
    raise DecodeError(f"invalid leading byte (0x{k:x}) for core external kind", pos)


def read_core_comptype(r: Reader) -> ast.CoreCompType:
    pos = r.pos
    b = r.u8("a composite type")
    if b == 0x60:
        n = r.count("parameter")
        params = tuple(read_core_valtype(r) for _ in range(n))
        n = r.count("result")
        results = tuple(read_core_valtype(r) for _ in range(n))
        return ast.CoreFuncType(params=params, results=results)
    if b == 0x5F:
        n = r.count("field", 2)
        fields = tuple(_field_type(r) for _ in range(n))
        return ast.CoreStructType(fields=fields)
    if b == 0x5E:
        return ast.CoreArrayType(element=_field_type(r))
    if b == 0x5D:
        start = r.pos
        r.s33()
        return ast.CoreRawCompType(opcode=b, data=bytes(r.view[start : r.pos]), offset=pos)
    raise DecodeError(f"invalid leading byte (0x{b:x}) for composite type", pos)


def _field_type(r: Reader) -> ast.CoreFieldType:
    st = read_storage_type(r)
    return ast.CoreFieldType(storage=st, mutable=r.flag("field mutability"))


def read_core_subtype(r: Reader, sub_final_opcodes: tuple[int, int]) -> ast.CoreSubType:
    """``subtype``; ``sub_final_opcodes`` are the (non-final, final) ``sub`` opcodes, which
    differ at the top level of a component core type (``0x00 0x50``)."""
    b = r.peek("a sub type")
    final = True
    supers: tuple[int, ...] = ()
    if b == 0x50 or b == 0x4F:
        r.pos += 1
        final = b == 0x4F
        n = r.count("supertype")
        supers = tuple(r.u32() for _ in range(n))
    shared = False
    if r.peek("a composite type") == 0x65:
        r.pos += 1
        shared = True
    comp = read_core_comptype(r)
    return ast.CoreSubType(comp=comp, final=final, supertypes=supers, shared=shared)


def read_core_rectype(r: Reader) -> ast.CoreRecType:
    if r.peek("a recursive type") == 0x4E:
        r.pos += 1
        n = r.count("rec group entry")
        subs = tuple(read_core_subtype(r, (0x50, 0x4F)) for _ in range(n))
        return ast.CoreRecType(subtypes=subs, explicit=True)
    return ast.CoreRecType(subtypes=(read_core_subtype(r, (0x50, 0x4F)),))


# Core sections in the order they must appear (custom sections, id 0, may go anywhere).
_SECTION_ORDER: dict[int, int] = {
    1: 1,  # type
    2: 2,  # import
    3: 3,  # function
    4: 4,  # table
    5: 5,  # memory
    13: 6,  # tag
    6: 7,  # global
    7: 8,  # export
    8: 9,  # start
    9: 10,  # element
    12: 11,  # data count
    10: 12,  # code
    11: 13,  # data
}

_KINDS = {0x00: "func", 0x01: "table", 0x02: "memory", 0x03: "global", 0x04: "tag"}


def _module_preamble(r: Reader) -> None:
    start = r.pos
    if r.remaining() < 8:
        raise DecodeError(
            "magic header not detected: bad magic number: unexpected end-of-file after "
            f"{r.remaining()} bytes (the preamble is 8 bytes: \\0asm, version, layer)", start)
    head = bytes(r.view[start : start + 8])
    if head[:4] != MAGIC:
        raise DecodeError("magic header not detected: bad magic number", start)
    if head[4:] != CORE_VERSION:
        raise DecodeError("expected a version header for a module (version 1, layer 0)", start + 4)
    r.pos = start + 8


def _sections(r: Reader):  # type: ignore[no-untyped-def]
    """Yield ``(id, offset of the id byte, body reader)`` for each section, checking order."""
    last = 0
    while not r.eof():
        pos = r.pos
        sid = r.u8("a section id")
        rank = _SECTION_ORDER.get(sid)
        if rank is None and sid != 0:
            raise DecodeError(f"malformed section id: {sid}", pos)
        size = r.u32()
        body = r.sub(size, "section")
        if rank is not None:
            if rank <= last:
                raise DecodeError(f"section out of order: section id {sid}", pos)
            last = rank
        else:
            body.name("custom section name")
        yield sid, pos, body


def check_module_sections(r: Reader) -> None:
    """Check a core module's preamble and section framing (ids, order, sizes) in ``r``."""
    _module_preamble(r)
    for _ in _sections(r):
        pass


def _limits_text(lim: ast.CoreLimits) -> str:
    parts = []
    if lim.is64:
        parts.append("i64")
    parts.append(str(lim.min))
    if lim.max is not None:
        parts.append(str(lim.max))
    if lim.shared:
        parts.append("shared")
    return " ".join(parts)


def _desc_text(kind: str, desc: object) -> str:
    if isinstance(desc, ast.CoreTableType):
        return f"(table {_limits_text(desc.limits)} {desc.elem})"
    if isinstance(desc, ast.CoreMemoryType):
        return f"(memory {_limits_text(desc.limits)})"
    if isinstance(desc, ast.CoreGlobalType):
        return f"(global (mut {desc.valtype}))" if desc.mutable else f"(global {desc.valtype})"
    return f"({kind})"


def _tag_text(ft: types.CoreFuncType) -> str:
    parts = ["tag"]
    if ft.params:
        parts.append("(param " + " ".join(ft.params) + ")")
    if ft.results:
        parts.append("(result " + " ".join(ft.results) + ")")
    return "(" + " ".join(parts) + ")"


def _skip_const_expr(r: Reader) -> None:
    """Skip a constant expression up to and including its ``end``."""
    while True:
        pos = r.pos
        op = r.u8("a constant expression opcode")
        if op == 0x0B:
            return
        if op == 0x41:
            r.s32()
        elif op == 0x42:
            r.s64()
        elif op == 0x43:
            r.skip(4, "bytes of an f32")
        elif op == 0x44:
            r.skip(8, "bytes of an f64")
        elif op == 0x23 or op == 0xD2:
            r.u32()
        elif op == 0xD0:
            read_heap_type(r)
        elif op in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):
            pass
        elif op == 0xFD:
            sub = r.u32()
            if sub != 12:
                raise DecodeError(f"invalid opcode 0xfd {sub} in a constant expression", pos)
            r.skip(16, "bytes of a v128")
        elif op == 0xFB:
            sub = r.u32()
            if sub in (0, 1, 6, 7):
                r.u32()
            elif sub == 8:
                r.u32()
                r.u32()
            elif sub not in (26, 27, 28):
                raise DecodeError(f"invalid opcode 0xfb {sub} in a constant expression", pos)
        else:
            raise DecodeError(f"invalid opcode 0x{op:x} in a constant expression", pos)


def parse_module_header(data: bytes | bytearray | memoryview) -> types.CoreModuleType:
    """Imports ``(module, name, kind, type)`` and exports ``(name, kind, type)`` of a core
    module. ``type`` is a ``types.CoreFuncType`` for functions and a short text description
    (``"(memory 1 2)"``, ``"(global (mut i32))"``, ``"(tag (param i32))"`` …) otherwise."""
    r = Reader(data)
    _module_preamble(r)
    comp_types: list[ast.CoreCompType] = []
    imports: list[tuple[str, str, str, object]] = []
    funcs: list[int] = []  # type index per function
    tables: list[str] = []
    memories: list[str] = []
    globals_: list[str] = []
    tags: list[int] = []
    exports: list[tuple[str, int, int, int]] = []  # name, kind byte, index, offset

    def func_type(idx: int, pos: int) -> types.CoreFuncType:
        if idx >= len(comp_types):
            raise DecodeError(f"unknown type {idx}: type index out of bounds", pos)
        ct = comp_types[idx]
        if not isinstance(ct, ast.CoreFuncType):
            raise DecodeError(f"type index {idx} is not a function type", pos)
        return types.CoreFuncType(params=ct.params, results=ct.results)

    for sid, _pos, body in _sections(r):
        if sid == 1:
            n = body.count("type")
            for _ in range(n):
                for sub in read_core_rectype(body).subtypes:
                    comp_types.append(sub.comp)
        elif sid == 2:
            n = body.count("import", 3)
            for _ in range(n):
                pos = body.pos
                module = body.name("import module name")
                name = body.name("import name")
                et = read_core_externtype(body)
                desc: object
                if et.kind == "func":
                    assert et.type_index is not None
                    desc = func_type(et.type_index, pos)
                    funcs.append(et.type_index)
                elif et.kind == "tag":
                    assert et.type_index is not None
                    desc = _tag_text(func_type(et.type_index, pos))
                    tags.append(et.type_index)
                else:
                    desc = _desc_text(et.kind, et.desc)
                    {"table": tables, "memory": memories, "global": globals_}[et.kind].append(desc)
                imports.append((module, name, et.kind, desc))
        elif sid == 3:
            n = body.count("function")
            funcs.extend(body.u32() for _ in range(n))
        elif sid == 4:
            n = body.count("table", 3)
            for _ in range(n):
                if body.peek("a table") == 0x40:
                    body.pos += 1
                    zpos = body.pos
                    if body.u8("a table prefix") != 0x00:
                        raise DecodeError("invalid table encoding: expected 0x40 0x00", zpos)
                    tt = read_table_type(body)
                    _skip_const_expr(body)
                else:
                    tt = read_table_type(body)
                tables.append(_desc_text("table", tt))
        elif sid == 5:
            n = body.count("memory")
            for _ in range(n):
                memories.append(_desc_text("memory", read_memory_type(body)))
        elif sid == 13:
            n = body.count("tag", 2)
            for _ in range(n):
                apos = body.pos
                if body.u8("a tag attribute") != 0x00:
                    raise DecodeError("invalid tag attribute: expected 0x00", apos)
                tags.append(body.u32())
        elif sid == 6:
            n = body.count("global", 3)
            for _ in range(n):
                globals_.append(_desc_text("global", read_global_type(body)))
                _skip_const_expr(body)
        elif sid == 7:
            n = body.count("export", 3)
            for _ in range(n):
                pos = body.pos
                name = body.name("export name")
                kpos = body.pos
                k = body.u8("an export kind")
                if k not in _KINDS:
                    raise DecodeError(f"invalid leading byte (0x{k:x}) for external kind", kpos)
                exports.append((name, k, body.u32(), pos))
        else:
            continue  # code, data, element, start, custom … are skipped by size
        if not body.eof():
            raise DecodeError(
                "section size mismatch: unexpected data at the end of the section", body.pos
            )

    out: list[tuple[str, str, object]] = []
    for name, k, idx, pos in exports:
        kind = _KINDS[k]
        space: list[Any] = {  # type: ignore[assignment]
            0x00: funcs,
            0x01: tables,
            0x02: memories,
            0x03: globals_,
            0x04: tags,
        }[k]
        if idx >= len(space):
            raise DecodeError(f"unknown {kind} {idx}: exported {kind} index out of bounds", pos)
        if k == 0x00:
            desc = func_type(funcs[idx], pos)
        elif k == 0x04:
            desc = _tag_text(func_type(tags[idx], pos))
        else:
            desc = space[idx]
        out.append((name, kind, desc))
    return types.CoreModuleType(imports=tuple(imports), exports=tuple(out))

"""Canonical ABI layout: alignment, element size and flattening of component value types.

Mirrors the spec's "Alignment", "Element Size" and "Flattening" sections. Results are cached
per type: these functions run when lifters and lowerers are compiled, never per call.

``addr`` is the memory's address type (``'i32'``, or ``'i64'`` for 🐘 memory64); the lifters and
lowerers only implement ``'i32'`` today.
"""

from __future__ import annotations

from functools import lru_cache

from wasmloop import types as T

__all__ = [
    "MAX_FLAT_PARAMS",
    "MAX_FLAT_RESULTS",
    "MAX_FLAT_ASYNC_PARAMS",
    "MAX_STRING_BYTE_LENGTH",
    "MAX_LIST_BYTE_LENGTH",
    "size",
    "elem_size",
    "alignment",
    "flatten",
    "flatten_types",
    "join",
    "align_to",
    "discriminant_size",
    "case_payload_offset",
    "field_offsets",
]

MAX_FLAT_PARAMS = 16
MAX_FLAT_RESULTS = 1
MAX_FLAT_ASYNC_PARAMS = 4
MAX_STRING_BYTE_LENGTH = (1 << 28) - 1
MAX_LIST_BYTE_LENGTH = (1 << 28) - 1

_PRIM_SIZE = {
    "bool": 1, "s8": 1, "u8": 1, "s16": 2, "u16": 2, "s32": 4, "u32": 4, "s64": 8, "u64": 8,
    "f32": 4, "f64": 8, "char": 4, "error-context": 4,
}
_PRIM_FLAT = {
    "bool": "i32", "s8": "i32", "u8": "i32", "s16": "i32", "u16": "i32", "s32": "i32",
    "u32": "i32", "s64": "i64", "u64": "i64", "f32": "f32", "f64": "f64", "char": "i32",
    "error-context": "i32",
}


def _ptr_size(addr: str) -> int:
    if addr == "i32":
        return 4
    if addr == "i64":
        return 8
    raise ValueError(f"unknown address type {addr!r}")


def align_to(ptr: int, align: int) -> int:
    """Round ``ptr`` up to a multiple of ``align`` (a power of two)."""
    return (ptr + align - 1) & -align


def discriminant_size(n: int) -> int:
    """Byte size of the discriminant of a variant with ``n`` cases (u8, u16 or u32)."""
    if not 0 < n < (1 << 32):
        raise ValueError(f"a variant needs between 1 and 2**32-1 cases, not {n}")
    if n <= 1 << 8:
        return 1
    if n <= 1 << 16:
        return 2
    return 4


def _flags_size(n: int) -> int:
    if not 0 < n <= 32:
        raise ValueError(f"flags need between 1 and 32 labels, not {n}")
    return 1 if n <= 8 else 2 if n <= 16 else 4


def _cases(t: T.ValType) -> tuple[tuple[str, T.ValType | None], ...]:
    d = T.despecialize(t)
    assert isinstance(d, T.VariantType)
    return d.cases


def _fields(t: T.ValType) -> tuple[tuple[str, T.ValType], ...]:
    d = T.despecialize(t)
    assert isinstance(d, T.RecordType)
    return d.fields


@lru_cache(maxsize=4096)
def alignment(t: T.ValType, addr: str = "i32") -> int:
    """Alignment in bytes of a value of type ``t`` stored in linear memory."""
    d = T.despecialize(t)
    if isinstance(d, T.PrimType):
        if d.kind == "string":
            return _ptr_size(addr)
        return _PRIM_SIZE[d.kind]
    if isinstance(d, T.ListType):
        return _ptr_size(addr) if d.length is None else alignment(d.elem, addr)
    if isinstance(d, T.RecordType):
        return max((alignment(ft, addr) for _, ft in d.fields), default=1)
    if isinstance(d, T.VariantType):
        return max(discriminant_size(len(d.cases)), _max_case_alignment(d.cases, addr))
    if isinstance(d, T.FlagsType):
        return _flags_size(len(d.labels))
    if isinstance(d, T.OwnType | T.BorrowType | T.StreamType | T.FutureType):
        return 4
    raise TypeError(f"not a value type: {t!r}")


def _max_case_alignment(cases: tuple[tuple[str, T.ValType | None], ...], addr: str) -> int:
    return max((alignment(ct, addr) for _, ct in cases if ct is not None), default=1)


def case_payload_offset(t: T.ValType, addr: str = "i32") -> int:
    """Offset of the payload of a variant-like type (variant, option, result, enum)."""
    cases = _cases(t)
    return align_to(discriminant_size(len(cases)), _max_case_alignment(cases, addr))


@lru_cache(maxsize=4096)
def elem_size(t: T.ValType, addr: str = "i32") -> int:
    """Byte size of a value of type ``t`` in linear memory (a multiple of its alignment)."""
    d = T.despecialize(t)
    if isinstance(d, T.PrimType):
        if d.kind == "string":
            return 2 * _ptr_size(addr)
        return _PRIM_SIZE[d.kind]
    if isinstance(d, T.ListType):
        if d.length is None:
            return 2 * _ptr_size(addr)
        return d.length * elem_size(d.elem, addr)
    if isinstance(d, T.RecordType):
        s = 0
        for _, ft in d.fields:
            s = align_to(s, alignment(ft, addr)) + elem_size(ft, addr)
        return align_to(s, alignment(d, addr))
    if isinstance(d, T.VariantType):
        s = case_payload_offset(d, addr)
        s += max((elem_size(ct, addr) for _, ct in d.cases if ct is not None), default=0)
        return align_to(s, alignment(d, addr))
    if isinstance(d, T.FlagsType):
        return _flags_size(len(d.labels))
    if isinstance(d, T.OwnType | T.BorrowType | T.StreamType | T.FutureType):
        return 4
    raise TypeError(f"not a value type: {t!r}")


def size(t: T.ValType, addr: str = "i32") -> int:
    """Alias of :func:`elem_size`."""
    return elem_size(t, addr)


def field_offsets(t: T.ValType, addr: str = "i32") -> tuple[int, ...]:
    """Byte offsets of the fields of a record or tuple."""
    offs = []
    s = 0
    for _, ft in _fields(t):
        s = align_to(s, alignment(ft, addr))
        offs.append(s)
        s += elem_size(ft, addr)
    return tuple(offs)


def join(a: str, b: str) -> str:
    """The core type that can carry both ``a`` and ``b`` in a variant's flat slot."""
    if a == b:
        return a
    if {a, b} == {"i32", "f32"}:
        return "i32"
    return "i64"


@lru_cache(maxsize=4096)
def flatten(t: T.ValType, addr: str = "i32") -> tuple[str, ...]:
    """The core value types a value of type ``t`` flattens to."""
    d = T.despecialize(t)
    if isinstance(d, T.PrimType):
        if d.kind == "string":
            return (addr, addr)
        return (_PRIM_FLAT[d.kind],)
    if isinstance(d, T.ListType):
        if d.length is None:
            return (addr, addr)
        return flatten(d.elem, addr) * d.length
    if isinstance(d, T.RecordType):
        return tuple(ct for _, ft in d.fields for ct in flatten(ft, addr))
    if isinstance(d, T.VariantType):
        flat: list[str] = []
        for _, ct in d.cases:
            if ct is None:
                continue
            for i, ft in enumerate(flatten(ct, addr)):
                if i < len(flat):
                    flat[i] = join(flat[i], ft)
                else:
                    flat.append(ft)
        return ("i32", *flat)
    if isinstance(d, T.FlagsType):
        _flags_size(len(d.labels))
        return ("i32",)
    if isinstance(d, T.OwnType | T.BorrowType | T.StreamType | T.FutureType):
        return ("i32",)
    raise TypeError(f"not a value type: {t!r}")


def flatten_types(ts: tuple[T.ValType, ...] | list[T.ValType], addr: str = "i32") -> tuple[str, ...]:
    """Concatenation of :func:`flatten` over ``ts``."""
    return tuple(ct for t in ts for ct in flatten(t, addr))

"""Python values for component values.

| component type        | Python value                                                      |
|-----------------------|-------------------------------------------------------------------|
| bool                  | ``bool``                                                          |
| s8 … u64              | ``int``                                                           |
| f32, f64              | ``float`` (NaNs canonicalized on the way in)                       |
| char                  | ``str`` of length 1                                               |
| string                | ``str``                                                           |
| list<u8>              | ``bytes`` (lowering also takes bytearray, memoryview, list of int)|
| list<T>               | ``list``                                                          |
| record                | ``Record`` (attribute and item access; lowering also takes a dict)|
| tuple                 | ``tuple``                                                         |
| variant               | ``Variant(case, value)``                                          |
| enum                  | ``str`` (the case label)                                          |
| option<T>             | ``None`` or the value; ``Some(v)`` when T itself can be ``None``  |
| result<T, E>          | ``Ok(v)`` / ``Err(e)``                                            |
| flags                 | ``frozenset`` of the set labels (lowering takes any iterable)     |
| own<R>, borrow<R>     | ``Resource`` (guest-defined) or the host's object (host-defined)  |
| map<K, V>             | ``Map``: every entry in order, duplicate keys included (lowering  |
|                       | also takes a dict or any iterable of ``(key, value)`` pairs)       |
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Record", "Variant", "Some", "Ok", "Err", "Flags", "Map"]

T = TypeVar("T")
E = TypeVar("E")
K = TypeVar("K")
V = TypeVar("V")


def _attr(label: str) -> str:
    return label.replace("-", "_")


class Record(Mapping[str, Any]):
    """A record value. Fields are reachable as ``r["field-name"]`` and as ``r.field_name``."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        data = dict(fields or {})
        for k, v in kwargs.items():
            data[k.replace("_", "-")] = v
        object.__setattr__(self, "_fields", data)

    def __getitem__(self, key: str) -> Any:
        fields = self._fields
        if key in fields:
            return fields[key]
        return fields[key.replace("_", "-")]

    def __getattr__(self, name: str) -> Any:
        fields = object.__getattribute__(self, "_fields")
        try:
            return fields[name.replace("_", "-")]
        except KeyError:
            if name in fields:
                return fields[name]
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Record values are immutable")

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._fields == other._fields
        if isinstance(other, Mapping):
            return self._fields == {k.replace("_", "-"): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._fields.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{_attr(k)}={v!r}" for k, v in self._fields.items())
        return f"Record({inner})"


class Variant:
    """A variant value: the case label and its payload (``None`` for a case without one)."""

    __slots__ = ("case", "value")

    def __init__(self, case: str, value: Any = None) -> None:
        self.case = case
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Variant):
            return self.case == other.case and self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.case, self.value))

    def __repr__(self) -> str:
        if self.value is None:
            return f"Variant({self.case!r})"
        return f"Variant({self.case!r}, {self.value!r})"


class Some(Generic[T]):
    """``some(v)`` of an option whose payload can itself be ``None`` (e.g. ``option<option<T>>``)."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Some):
            return self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("some", self.value))

    def __repr__(self) -> str:
        return f"Some({self.value!r})"


class Ok(Generic[T]):
    """The ``ok`` case of a ``result``."""

    __slots__ = ("value",)

    def __init__(self, value: T = None) -> None:  # type: ignore[assignment]
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ok):
            return self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("ok", self.value))

    def __repr__(self) -> str:
        return f"Ok({self.value!r})" if self.value is not None else "Ok()"


class Err(Generic[E]):
    """The ``error`` case of a ``result``."""

    __slots__ = ("value",)

    def __init__(self, value: E = None) -> None:  # type: ignore[assignment]
        self.value = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Err):
            return self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("err", self.value))

    def __repr__(self) -> str:
        return f"Err({self.value!r})" if self.value is not None else "Err()"


#: A flags value is a frozenset of the labels that are set.
Flags = frozenset


class Map(Generic[K, V]):
    """A ``map<K, V>`` value: its entries in order, duplicate keys included (the Canonical ABI
    stores a map as a ``list<tuple<K, V>>``, so nothing makes keys unique).

    Iterating yields the ``(key, value)`` pairs; ``items()``, ``keys()`` and ``values()`` list
    them in order; ``get(key)`` and ``to_dict()`` see the *last* entry for a repeated key (as
    ``dict(pairs)`` would). A ``Map`` equals another ``Map`` or a list/tuple of pairs with the
    same entries in the same order, and a ``dict`` when it has no repeated key and
    ``to_dict() == other``.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        if isinstance(entries, Mapping):
            pairs = tuple(entries.items())
        else:
            pairs = tuple((k, v) for k, v in entries)
        self._entries: tuple[tuple[K, V], ...] = pairs

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._entries)

    def items(self) -> list[tuple[K, V]]:
        return list(self._entries)

    def keys(self) -> list[K]:
        return [k for k, _ in self._entries]

    def values(self) -> list[V]:
        return [v for _, v in self._entries]

    def get(self, key: K, default: Any = None) -> V | Any:
        for k, v in reversed(self._entries):
            if k == key:
                return v
        return default

    def to_dict(self) -> dict[K, V]:
        return dict(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Map):
            return self._entries == other._entries
        if isinstance(other, Mapping):
            d = self.to_dict()
            return len(d) == len(self._entries) and d == dict(other)
        if isinstance(other, list | tuple):
            return list(self._entries) == [tuple(p) for p in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Map({list(self._entries)!r})"

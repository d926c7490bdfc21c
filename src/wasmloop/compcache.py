"""The whole-component cache: what decoding and validating a component learnt, kept on disk.

DESIGN.md: "validation once per component, cached with the compiled code". An entry is keyed
by the sha256 of the component's bytes, the enabled features and a fingerprint of the wasmloop
code whose objects it holds, and stores a pickle of the validated ``ComponentInfo`` (its AST
included) **without** the core modules' bytes: those are kept as offsets into the component's
bytes and become zero-copy views of them again on load. A warm load therefore reads the file,
hashes it once, unpickles, and deserializes the compiled modules; it never decodes or validates.

A pickle runs code when loaded, so entries are only read from a private directory (owned by this
user, not writable by group or others) and only from files owned by this user and writable by
no one else; each entry also carries the sha256 of its payload. A missing, corrupt or stale
entry is ignored (and rewritten by the caller's next ``store``), never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import stat
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import types as T
from .engine._engine import _private, _private_dirs

if TYPE_CHECKING:
    from .validate import ComponentInfo, ModuleInfo

__all__ = ["ComponentCache", "code_fingerprint"]

#: Bumped whenever the layout of an entry changes.
FORMAT = 1
_MAGIC = b"wlcc\x00\x01\r\n"
_HEADER = len(_MAGIC) + 64 + 32  # magic, entry key (hex), sha256 of the payload

#: Modules whose classes end up in an entry: a change to any of them makes old entries stale.
_CODE_FILES = (
    "compcache.py",
    "types.py",
    "binary/ast.py",
    "binary/coremodule.py",
    "binary/decoder.py",
    "validate/component.py",
    "validate/features.py",
    "validate/__init__.py",
    "validate/names.py",
    "validate/typeops.py",
    "abi/layout.py",
    "_dataclass.py",
)

_fingerprint: str | None = None


def code_fingerprint() -> str:
    """Identifies the wasmloop code that makes and reads entries: its version, the Python
    implementation, and the size and modification time of each module whose objects are
    pickled (so an edited checkout never reads entries an older copy wrote)."""
    global _fingerprint
    if _fingerprint is None:
        from . import __version__

        root = os.path.dirname(os.path.abspath(__file__))
        parts = [f"v{__version__}", sys.implementation.cache_tag or "", f"fmt{FORMAT}"]
        for rel in _CODE_FILES:
            try:
                st = os.stat(os.path.join(root, rel))
                parts.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
            except OSError:
                parts.append(f"{rel}:-")
        _fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return _fingerprint


def _is_private_dir(path: Path) -> bool:
    return _private(path) and path.is_dir()


def _private_dir(path: Path) -> bool:
    """Makes ``path`` (mode 0700) if missing; whether it is a private directory of ours."""
    return _private_dirs(path, levels=1) and path.is_dir()


class _Pickler(pickle.Pickler):
    def __init__(self, f: io.BytesIO, views: dict[int, tuple[int, int]]) -> None:
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self._views = views
        self._canon: dict[T.CoreFuncType, T.CoreFuncType] = {}

    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is memoryview:
            loc = self._views.get(id(obj))
            if loc is not None:
                return ("view", *loc)
            return ("bytes", obj.tobytes())
        if type(obj) is T.ResourceType:
            # Fresh uids on load, so resource types never share one with a live resource type.
            return ("resource", obj.name, obj.defined, obj.rep, obj.dtor, obj.uid)
        return None

    def reducer_override(self, obj: Any) -> Any:
        # Slotted dataclasses pickle through dataclasses' __setstate__, which calls fields()
        # for every object on load: rebuild them from a tuple of slot values instead.
        cls = type(obj)
        names = _slot_names(cls)
        if names is None:
            return NotImplemented
        if cls is T.CoreModuleType:
            # An interpreter's module exports thousands of functions of a few dozen types:
            # equal function types are pickled as one object (the memo), not one each.
            canon = self._canon.setdefault
            return _rebuild, (cls, (
                tuple([(m, n, k, canon(t, t) if type(t) is T.CoreFuncType else t)
                       for m, n, k, t in obj.imports]),
                tuple([(n, k, canon(t, t) if type(t) is T.CoreFuncType else t)
                       for n, k, t in obj.exports])))
        return _rebuild, (cls, tuple([getattr(obj, n) for n in names]))


_SLOTS: dict[type, tuple[str, ...] | None] = {}
#: Per class: the ``__set__`` of each slot's member descriptor, in ``_slot_names`` order.
_SETTERS: dict[type, tuple[Any, ...]] = {}


def _slot_names(cls: type) -> tuple[str, ...] | None:
    try:
        return _SLOTS[cls]
    except KeyError:
        pass
    names: tuple[str, ...] | None = None
    fields = cls.__dict__.get("__dataclass_fields__")
    if fields is not None and "__slots__" in cls.__dict__ and "__dict__" not in dir(cls):
        names = tuple(f.name for f in fields.values() if f._field_type is dataclasses._FIELD)  # type: ignore[attr-defined]
        if set(names) != set(cls.__dict__["__slots__"]) or len(cls.__mro__) > 2 and any(
                "__slots__" in b.__dict__ and b.__dict__["__slots__"] for b in cls.__mro__[1:]):
            names = None
    _SLOTS[cls] = names
    return names


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    # Called once per object on load (thousands): the slots' own setters, no lookups.
    setters = _SETTERS.get(cls)
    if setters is None:
        names = _slot_names(cls)
        if names is None:
            raise pickle.UnpicklingError(f"{cls.__qualname__} is not a slotted dataclass")
        setters = _SETTERS[cls] = tuple(cls.__dict__[n].__set__ for n in names)
    if len(values) != len(setters):
        raise pickle.UnpicklingError(f"{cls.__qualname__}: {len(values)} values")
    obj: Any = _new(cls)
    for setter, v in zip(setters, values):  # noqa: B905 - the lengths are checked
        setter(obj, v)
    return obj


_new = object.__new__


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: io.BytesIO, data: memoryview) -> None:
        super().__init__(f)
        self._data = data
        self._resources: dict[int, T.ResourceType] = {}

    def persistent_load(self, pid: Any) -> Any:
        tag = pid[0]
        if tag == "view":
            _tag, offset, size = pid
            if offset < 0 or offset + size > len(self._data):
                raise pickle.UnpicklingError("view out of range")
            return self._data[offset : offset + size]
        if tag == "bytes":
            return memoryview(pid[1])
        if tag == "resource":
            _tag, name, defined, rep, dtor, uid = pid
            rt = self._resources.get(uid)
            if rt is None:
                rt = self._resources[uid] = T.ResourceType(name, defined, rep, dtor)
            return rt
        raise pickle.UnpicklingError(f"unknown persistent id {tag!r}")


def _module_views(info: ComponentInfo, data: bytes, out: dict[int, tuple[int, int]]) -> None:
    """The core modules' byte views in ``info`` (and nested components): id → (offset, size),
    each checked to be exactly those bytes of ``data``."""
    for m in module_infos(info):
        view = m.data
        if type(view) is memoryview and id(view) not in out:
            n = len(view)
            if data[m.offset : m.offset + n] == view.tobytes():
                out[id(view)] = (m.offset, n)


def module_infos(info: ComponentInfo) -> list[ModuleInfo]:
    """Every core module of ``info`` and its nested components, in a fixed order."""
    out = list(info.module_infos)
    for child in info.nested.values():
        out.extend(module_infos(child))
    return out


class ComponentCache:
    """Entries under ``directory``, for components validated with ``features``."""

    def __init__(self, directory: str | os.PathLike[str], features: Iterable[str]) -> None:
        self.directory = Path(directory)
        self.features = tuple(sorted(features))
        self.stats = {"hits": 0, "misses": 0, "errors": 0, "stored": 0}

    def key(self, digest: str) -> str:
        """The entry key of a component whose bytes have the sha256 ``digest`` (hex)."""
        text = f"{digest}:{','.join(self.features)}:{code_fingerprint()}"
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.pickle"

    def load(self, digest: str, data: bytes) -> tuple[ComponentInfo, dict[int, str]] | None:
        """The cached ``ComponentInfo`` of ``data`` (whose sha256 is ``digest``) and the sha256
        of each core module in it (by ``id`` of its ``ModuleInfo``), or None."""
        key = self.key(digest)
        path = self.path(key)
        if not (_is_private_dir(self.directory) and _is_private_dir(path.parent)):
            self.stats["misses"] += 1
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            self.stats["misses"] += 1
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid()
                        or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                    self.stats["errors"] += 1
                    return None
                blob = f.read()
        except OSError:
            self.stats["errors"] += 1
            return None
        head = blob[:_HEADER]
        payload = memoryview(blob)[_HEADER:]
        if (len(head) != _HEADER or head[: len(_MAGIC)] != _MAGIC
                or head[len(_MAGIC) : len(_MAGIC) + 64] != key.encode()
                or head[len(_MAGIC) + 64 :] != hashlib.sha256(payload).digest()):
            self.stats["errors"] += 1
            return None
        from .validate import ComponentInfo

        try:
            info, digests = _Unpickler(io.BytesIO(payload), memoryview(data)).load()
            modules = module_infos(info)
            if not (isinstance(info, ComponentInfo) and len(digests) == len(modules)
                    and all(isinstance(d, str) for d in digests)):
                raise ValueError("not an entry")
        except Exception:  # noqa: BLE001 - a bad entry is a miss, whatever it raises
            self.stats["errors"] += 1
            return None
        self.stats["hits"] += 1
        return info, {id(m): d for m, d in zip(modules, digests, strict=True)}

    def store(self, digest: str, data: bytes, info: ComponentInfo) -> bool:
        """Writes the entry for ``data``; False if it could not (the cache is best effort)."""
        key = self.key(digest)
        path = self.path(key)
        views: dict[int, tuple[int, int]] = {}
        _module_views(info, data, views)
        buf = io.BytesIO()
        try:
            digests = [hashlib.sha256(m.data).hexdigest() for m in module_infos(info)]
            _Pickler(buf, views).dump((info, digests))
        except Exception:  # noqa: BLE001 - an unpicklable object: just do not cache
            self.stats["errors"] += 1
            return False
        payload = buf.getbuffer()
        head = _MAGIC + key.encode() + hashlib.sha256(payload).digest()
        if not (_private_dir(self.directory) and _private_dir(path.parent)):
            return False
        import tempfile  # only when writing: not imported on a warm start

        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        except OSError:
            return False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(head)
                f.write(payload)
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        self.stats["stored"] += 1
        return True

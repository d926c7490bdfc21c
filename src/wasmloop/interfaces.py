"""Host interfaces as Python objects, and interface names with versions.

``Linker.define_interface(name, impl)`` binds a whole WIT interface to one Python object. The
linker looks each function up by its WIT name in snake case, against the component's own import
type, so no WIT is needed at run time:

- a function ``get-arguments`` is ``impl.get_arguments`` (``def`` or ``async def``);
- a resource ``tcp-socket`` is the class ``impl.TcpSocket`` (or ``resources={"tcp-socket": C}``):
  guests hold handles to instances of it;
- ``[constructor]tcp-socket`` calls the class, ``[method]tcp-socket.bind`` is ``TcpSocket.bind``
  called with the instance first, ``[static]tcp-socket.create`` is ``TcpSocket.create``;
- when a guest drops its owning handle, the instance's ``drop()`` runs, if the class has one.

Names that are Python keywords get a trailing underscore (``from`` → ``from_``).

Interface names carry semver versions (``wasi:cli/environment@0.3.0``). An import is satisfied by
an exact definition or else by a *compatible* one: the same ``namespace:package/interface`` and
the same major version (for ``0.x``, the same minor; for ``0.0.x``, the same patch), ignoring
pre-release tags, so ``@0.3.0-rc-2025-09-16`` and ``@0.3.1`` find ``@0.3.0``, and ``@0.2.9``
finds ``@0.2.12``.
"""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Mapping
from typing import Any

from .errors import LinkError

__all__ = [
    "InterfaceImpl",
    "python_name",
    "class_name",
    "split_func_name",
    "parse_versioned",
    "compat_key",
    "find_compatible",
]

_VERSIONED = re.compile(r"^(?P<base>[^@]+)@(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$")


def python_name(wit_name: str) -> str:
    """``get-arguments`` → ``get_arguments``; keywords get a trailing ``_``."""
    n = wit_name.replace("-", "_")
    if keyword.iskeyword(n) or keyword.issoftkeyword(n):
        n += "_"
    return n


def class_name(wit_name: str) -> str:
    """``tcp-socket`` → ``TcpSocket``."""
    return "".join(w[:1].upper() + w[1:] for w in wit_name.split("-"))


def split_func_name(name: str) -> tuple[str, str | None, str]:
    """``[method]r.f`` → (``"method"``, ``"r"``, ``"f"``); ``f`` → (``"func"``, None, ``"f"``).

    Also ``[static]``, ``[constructor]`` (the third item is then the resource name) and the
    ``[async …]`` spellings of earlier async proposals."""
    if not name.startswith("["):
        return "func", None, name
    close = name.find("]")
    kind = name[1:close].removeprefix("async").strip() or "func"
    rest = name[close + 1:]
    if kind == "constructor":
        return "constructor", rest, rest
    if kind in ("method", "static"):
        res, _, f = rest.partition(".")
        return kind, res, f
    return "func", None, rest


def parse_versioned(name: str) -> tuple[str, tuple[int, int, int], str] | None:
    """``ns:pkg/iface@1.2.3-pre`` → (``"ns:pkg/iface"``, (1, 2, 3), ``"1.2.3-pre"``)."""
    m = _VERSIONED.match(name)
    if m is None:
        return None
    version = m.group("version")
    core = re.split(r"[-+]", version, maxsplit=1)[0]
    major, minor, patch = (int(x) for x in core.split("."))
    return m.group("base"), (major, minor, patch), version


def compat_key(name: str) -> tuple[str, tuple[int, ...]] | None:
    """The part of a versioned name that compatible versions share (semver)."""
    p = parse_versioned(name)
    if p is None:
        return None
    base, (major, minor, patch), _ = p
    if major > 0:
        return base, (major,)
    if minor > 0:
        return base, (0, minor)
    return base, (0, 0, patch)


def find_compatible(name: str, defined: Mapping[str, Any]) -> str | None:
    """The defined name that satisfies import ``name`` (exact, else the newest compatible one);
    raises ``LinkError`` naming the versions offered when only incompatible versions exist."""
    if name in defined:
        return name
    key = compat_key(name)
    if key is None:
        return None
    best: tuple[tuple[int, int, int], str] | None = None
    offered: list[str] = []
    for d in defined:
        p = parse_versioned(d)
        if p is None or p[0] != key[0]:
            continue
        offered.append(p[2])
        if compat_key(d) == key and (best is None or p[1] > best[0]):
            best = (p[1], d)
    if best is not None:
        return best[1]
    if offered:
        asked = name.rpartition("@")[2]
        raise LinkError(f"import `{name}`: version {asked} of `{key[0]}` is not provided; "
                        f"versions offered: {', '.join(sorted(offered))}")
    return None


class InterfaceImpl:
    """A Python object bound as a whole interface (see the module docs)."""

    __slots__ = ("impl", "resources")

    def __init__(self, impl: object, resources: Mapping[str, type] | None = None) -> None:
        self.impl = impl
        self.resources = dict(resources or {})

    def resource_class(self, wit_name: str, where: str) -> type:
        cls = self.resources.get(wit_name)
        if cls is None:
            cls = getattr(self.impl, class_name(wit_name), None)
        if not isinstance(cls, type):
            raise LinkError(f"{where}: resource `{wit_name}` is not implemented: "
                            f"{_show(self.impl)} has no class `{class_name(wit_name)}`")
        return cls

    def function(self, name: str, nparams: int, where: str,
                 classes: Mapping[str, type]) -> Any:
        """The Python callable for function export ``name`` taking ``nparams`` parameters."""
        kind, res, fname = split_func_name(name)
        if res is not None:
            cls = classes.get(res)
            if cls is None:
                raise LinkError(f"{where}: `{name}` belongs to resource `{res}`, which this "
                                "interface does not export")
            if kind == "constructor":
                fn: Any = cls
                owner = cls.__name__
                attr = "__init__"
            else:
                owner = cls.__name__
                attr = python_name(fname)
                fn = getattr(cls, attr, None)
        else:
            owner = _show(self.impl)
            attr = python_name(fname)
            fn = getattr(self.impl, attr, None)
        if fn is None or not callable(fn):
            raise LinkError(f"{where}: `{name}` is not implemented: {owner} has no "
                            f"{'method' if kind == 'method' else 'function'} `{attr}`")
        _check_arity(fn, nparams, f"{where}: `{name}` ({owner}.{attr})")
        return fn


def _show(obj: object) -> str:
    if inspect.ismodule(obj):
        return f"module {obj.__name__}"
    if isinstance(obj, type):
        return obj.__name__
    return type(obj).__name__


def _check_arity(fn: Any, n: int, where: str) -> None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins without a signature: checked when called
    try:
        sig.bind(*range(n))
    except TypeError:
        raise LinkError(f"{where} cannot be called with the {n} argument"
                        f"{'' if n == 1 else 's'} the import passes (signature {sig})") from None

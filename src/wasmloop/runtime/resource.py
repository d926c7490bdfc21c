"""Resources at run time (CanonicalABI.md "Resource State", ``canon resource.*``).

A ``RuntimeResource`` is a resource type as it exists in a running program: each instantiation
of a component that *defines* a resource creates a fresh one; the host creates its own with
``Linker.define_resource``. Static ``types.ResourceType`` objects are mapped onto runtime ones per
component instance (``ComponentInstance.resources``).

The rep of a guest-defined resource is an int chosen by the guest; the rep of a host-defined
resource is the host's Python object (guests only ever see handle indices of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Trap

if TYPE_CHECKING:
    from .instance import ComponentInstance
    from .task import Task

__all__ = ["RuntimeResource", "ResourceHandle", "Resource"]


class RuntimeResource:
    """A resource type at run time; identity is the type's identity."""

    __slots__ = ("name", "impl", "dtor", "__weakref__")

    def __init__(self, name: str, impl: ComponentInstance | None, dtor: Any = None) -> None:
        self.name = name
        #: The defining component instance, or None for a host-defined resource.
        self.impl = impl
        #: The destructor as a component function taking the rep (a lifted guest function, or
        #: a host function), if any.
        self.dtor = dtor

    @property
    def is_host(self) -> bool:
        return self.impl is None

    def __repr__(self) -> str:
        owner = "host" if self.impl is None else self.impl.name
        return f"<resource {self.name or '?'} of {owner}>"


class ResourceHandle:
    """An entry of a component instance's handle table for a resource."""

    __slots__ = ("rt", "rep", "own", "borrow_scope", "num_lends")

    def __init__(
        self, rt: RuntimeResource, rep: Any, own: bool, borrow_scope: Task | None = None
    ) -> None:
        self.rt = rt
        self.rep = rep
        self.own = own
        self.borrow_scope = borrow_scope
        self.num_lends = 0


class Resource:
    """A guest-defined resource held by the host.

    The host receives one when an export returns ``own<R>`` (or an import receives ``own<R>`` /
    ``borrow<R>``) for a resource that a component defines. Pass it back into a call to move it
    (for ``own``) or lend it (for ``borrow``); ``await resource.drop()`` runs the guest's
    destructor. A borrowed ``Resource`` is only valid during the call that lent it.
    """

    __slots__ = ("rt", "rep", "own", "_valid", "__weakref__")

    def __init__(self, rt: RuntimeResource, rep: Any, own: bool) -> None:
        self.rt = rt
        self.rep = rep
        self.own = own
        self._valid = True

    @property
    def valid(self) -> bool:
        return self._valid

    def _take(self) -> Any:
        if not self._valid:
            raise ValueError(f"{self!r} was already moved or dropped")
        self._valid = False
        return self.rep

    def _check(self) -> Any:
        if not self._valid:
            raise ValueError(f"{self!r} was already moved or dropped")
        return self.rep

    async def drop(self) -> None:
        """Drop an owned resource: runs its destructor in the defining component."""
        if not self.own:
            raise ValueError("only an owned resource can be dropped by the host")
        rep = self._take()
        from .func import run_destructor

        await run_destructor(self.rt, rep)

    def __repr__(self) -> str:
        kind = "own" if self.own else "borrow"
        state = "" if self._valid else ", gone"
        return f"<Resource {kind} {self.rt.name or '?'} rep={self.rep!r}{state}>"


def check_rt(h: Any, rt: RuntimeResource, i: int) -> ResourceHandle:
    if not isinstance(h, ResourceHandle) or h.rt is not rt:
        # Wasmtime 49's wording, then the resource names.
        expected = "host resource" if rt.is_host else "guest-defined resource"
        if not isinstance(h, ResourceHandle):
            found = _describe(h)
        elif h.rt.is_host:
            found = "host resource"
        elif rt.is_host:
            found = "guest-defined resource"
        else:
            found = "a different guest-defined resource"
        raise Trap(f"handle index {i} used with the wrong type, expected {expected} but found "
                   f"{found} (expected resource {rt.name or '?'}, found {_describe(h)})")
    return h


def _describe(h: Any) -> str:
    if isinstance(h, ResourceHandle):
        return f"a handle of resource {h.rt.name or '?'}"
    return type(h).__name__

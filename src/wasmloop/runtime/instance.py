"""Component instances at run time (CanonicalABI.md "Component Instances")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import Trap
from .table import Table

if TYPE_CHECKING:
    from ..engine import Store
    from ..types import ResourceType
    from .resource import RuntimeResource

__all__ = ["ComponentInstance"]


class ComponentInstance:
    """One instantiation of a component (nested components get their own).

    Holds the handle table, the ``may_leave`` flag the canonical built-ins check, the mapping
    from the component's static resource types to runtime resources, and whether a trap has
    poisoned it.
    """

    __slots__ = (
        "name",
        "store",
        "parent",
        "handles",
        "may_leave",
        "_poison",
        "resources",
        "exports",
        "__weakref__",
    )

    def __init__(self, name: str, store: Store, parent: ComponentInstance | None = None) -> None:
        self.name = name
        self.store = store
        self.parent = parent
        self.handles = Table()
        self.may_leave = True
        # A trap anywhere in an instance tree (a top-level instantiation and its nested
        # component instances) poisons the whole tree: one shared cell.
        self._poison: list[bool] = parent._poison if parent is not None else [False]
        self.resources: dict[ResourceType, RuntimeResource] = {}
        self.exports: dict[str, Any] = {}

    @property
    def poisoned(self) -> bool:
        return self._poison[0]

    def check_enter(self) -> None:
        if self._poison[0]:
            raise Trap(
                f"cannot enter component instance {self.name!r}: "
                "it trapped earlier and may be in an inconsistent state"
            )

    def poison(self) -> None:
        self._poison[0] = True

    def runtime_resource(self, rt: ResourceType) -> RuntimeResource:
        try:
            return self.resources[rt]
        except KeyError:
            raise Trap(f"resource type {rt!r} is not bound in component instance "
                       f"{self.name!r}") from None

    def __repr__(self) -> str:
        return f"<ComponentInstance {self.name!r}>"

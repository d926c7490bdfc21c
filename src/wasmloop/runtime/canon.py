"""The canonical built-ins of the synchronous ABI: ``resource.new``, ``resource.drop``,
``resource.rep`` (CanonicalABI.md "canon resource.*"). Each factory returns the core host
function handler for one built-in in one component instance, and whether it can suspend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import Pending
from ..errors import Trap
from .func import destructor_call
from .instance import ComponentInstance
from .resource import ResourceHandle, RuntimeResource, check_rt

NOT_READY = Pending.NOT_READY

Handler = Callable[..., Any]


def resource_new(inst: ComponentInstance, rt: RuntimeResource) -> tuple[Handler, bool]:
    handles = inst.handles

    def handler(_caller: Any, rep: int) -> int:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        return handles.add(ResourceHandle(rt, rep, True))

    return handler, False


def resource_rep(inst: ComponentInstance, rt: RuntimeResource) -> tuple[Handler, bool]:
    handles = inst.handles

    def handler(_caller: Any, i: int) -> int:
        return check_rt(handles.get(i), rt, i).rep

    return handler, False


def resource_drop(inst: ComponentInstance, rt: RuntimeResource) -> tuple[Handler, bool]:
    handles = inst.handles
    needs_call = rt.impl is not None and rt.dtor is not None or rt.host_dtor is not None

    def handler(_caller: Any, i: int) -> Any:
        if not inst.may_leave:
            raise Trap("cannot leave component instance")
        h = check_rt(handles.remove(i), rt, i)
        if h.num_lends != 0:
            raise Trap("cannot drop a resource handle while it is borrowed")
        if not h.own:
            if h.borrow_scope is not None:
                h.borrow_scope.num_borrows -= 1
            return None
        if not needs_call:
            return None
        call = destructor_call(rt, h.rep)
        if call.poll():
            return None

        def poll() -> Any:
            return None if call.poll() else NOT_READY

        return Pending(poll, call.close)

    return handler, needs_call

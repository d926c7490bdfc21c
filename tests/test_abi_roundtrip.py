"""Property tests: store→load and lower_flat→lift_flat give back the value, for random types."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_abi_support import FakeCx, canon, val_types, values

from wasmloop import types as T
from wasmloop.abi import (
    CanonOpts,
    FuncABI,
    compile_lift_flat,
    compile_load,
    compile_lower_flat,
    compile_store,
    layout,
)

ENCODINGS = ["utf8", "utf16", "latin1+utf16"]


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[T.ValType, object, str]:
    t = draw(val_types)
    return t, draw(values(t)), draw(st.sampled_from(ENCODINGS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values())
def test_store_then_load_gives_back_the_value(tv: tuple[T.ValType, object, str]) -> None:
    t, v, enc = tv
    opts = CanonOpts(string_encoding=enc, memory=True, realloc=True)
    cx = FakeCx(size=256)  # small: nested strings and lists make it grow
    ptr = layout.align_to(64, layout.alignment(t))
    if ptr + layout.size(t) > len(cx.mem):
        cx.mem.extend(bytes(ptr + layout.size(t)))
    cx.next = ptr + layout.size(t)
    compile_store(t, opts)(cx, v, ptr)
    assert canon(compile_load(t, opts)(cx, ptr)) == canon(v)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_values())
def test_lower_flat_then_lift_flat_gives_back_the_value(tv: tuple[T.ValType, object, str]) -> None:
    t, v, enc = tv
    opts = CanonOpts(string_encoding=enc, memory=True, realloc=True)
    cx = FakeCx(size=64)
    flat = compile_lower_flat(t, opts)(cx, v)
    assert len(flat) == len(layout.flatten(t))
    for core, ct in zip(flat, layout.flatten(t), strict=True):
        if ct in ("i32", "i64"):
            assert type(core) is int and 0 <= core < (1 << (32 if ct == "i32" else 64))
        else:
            assert type(core) is float
    got, nxt = compile_lift_flat(t, opts)(cx, [99, *flat, 77], 1)
    assert nxt == 1 + len(flat)
    assert canon(got) == canon(v)


def _signed(vals: list[object], flat: tuple[str, ...]) -> list[object]:
    """Core values as wasmtime hands them over: signed ints."""
    out: list[object] = []
    for x, ct in zip(vals, flat, strict=True):
        if ct == "i32" and isinstance(x, int) and x >= 1 << 31:
            x -= 1 << 32
        elif ct == "i64" and isinstance(x, int) and x >= 1 << 63:
            x -= 1 << 64
        out.append(x)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(val_types, min_size=0, max_size=4).flatmap(
    lambda ts: st.tuples(st.just(ts), st.tuples(*[values(t) for t in ts]))), st.sampled_from(ENCODINGS))
def test_funcabi_params_and_results_round_trip(tsv: tuple[list[T.ValType], tuple[object, ...]], enc: str) -> None:
    ts, vs = tsv
    result = ts[0] if ts else None
    ft = T.FuncType(tuple((f"p{i}", t) for i, t in enumerate(ts)), result)
    abi = FuncABI(ft, CanonOpts(enc, True, True))
    cx = FakeCx(size=128)
    core = abi.lower_params(cx, list(vs))
    assert len(core) == len(abi.core_type_lift.params)
    core = _signed(core, abi.core_type_lift.params)
    assert canon(abi.lift_params(cx, core)) == canon(list(vs))
    # results, import side: lower_results → (out-pointer) → lift_results
    if result is None:
        assert abi.lower_results(cx, None, core) == []
        assert abi.lift_results(cx, []) is None
        return
    if abi.results_spilled:
        out_ptr = cx.realloc(0, 0, layout.alignment(result), layout.size(result))
        assert abi.lower_results(cx, vs[0], [*core, out_ptr]) == []
        back = abi.lift_results(cx, [out_ptr])
    else:
        res = abi.lower_results(cx, vs[0], core)
        back = abi.lift_results(cx, _signed(res, abi.core_type_lift.results))
    assert canon(back) == canon(vs[0])
    # async: params (at most 4 flat) and the result through the out-pointer
    if len(abi.flat_params) <= 4:
        acore = list(core)
    else:
        acore = abi.lower_params(cx, list(vs)) if abi.params_spilled else None
        if acore is None:
            tt = T.TupleType(tuple(ts))
            p = cx.realloc(0, 0, layout.alignment(tt), layout.size(tt))
            compile_store(tt, CanonOpts(enc))(cx, tuple(vs), p)
            acore = [p]
    assert canon(abi.lift_params_async(cx, acore)) == canon(list(vs))
    out_ptr = cx.realloc(0, 0, layout.alignment(result), layout.size(result))
    assert abi.store_result_async(cx, vs[0], [*acore, out_ptr]) == []
    assert canon(compile_load(result, CanonOpts(enc))(cx, out_ptr)) == canon(vs[0])
    # task.return takes the flattened result (or a pointer past 16)
    tr = compile_lower_flat(result, CanonOpts(enc))(cx, vs[0])
    if len(tr) > 16:
        p = cx.realloc(0, 0, layout.alignment(result), layout.size(result))
        compile_store(result, CanonOpts(enc))(cx, vs[0], p)
        tr = [p]
    assert len(tr) == len(abi.core_type_task_return.params)
    assert canon(abi.lift_task_return(cx, tr)) == canon(vs[0])

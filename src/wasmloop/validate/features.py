"""Feature names as Wasmtime 49 spells them (``wasmtime run -W help``), and what each switches.

Two kinds of feature reach two places:

- **Component-model features** (``component-model-NAME``) gate what wasmloop's own validator
  accepts. Inside wasmloop they go by their short name (``"async"``, ``"map"`` …, the set
  ``Engine.features`` and ``validate(…, features)`` take).
- **Core wasm features** (``gc``, ``simd``, ``memory64`` …) configure wasmtime's engine, which
  validates and compiles every core module. They go to ``CoreEngine(wasm_features=…)``.

``parse_features`` turns what a user wrote (names, or ``name: bool`` pairs, as ``-W NAME=y|n``)
into both, and refuses a name wasmloop does not know or cannot honour, naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "COMPONENT_FEATURES",
    "CORE_FEATURES",
    "DEFAULT_FEATURES",
    "FEATURES",
    "FeatureSet",
    "parse_features",
]

#: ``-W component-model-NAME`` → the short name wasmloop's validator uses (None: wasmloop does
#: not implement it; enabling it is refused by name).
COMPONENT_FEATURES: dict[str, str | None] = {
    "component-model-async": "async",
    "component-model-more-async-builtins": "more-async-builtins",
    "component-model-async-stackful": "async-stackful",
    "component-model-threading": "threading",
    "component-model-error-context": "error-context",
    "component-model-map": "map",
    "component-model-fixed-length-lists": "fixed-length-lists",
    "component-model-implements": "implements",
    "component-model-memory64": "memory64",
    "component-model-gc": None,
}

#: Component-model features (short names) wasmloop implements.
FEATURES = frozenset(v for v in COMPONENT_FEATURES.values() if v is not None)
#: What Wasmtime 49 enables by default (wasmloop matches it, so the same components validate).
DEFAULT_FEATURES = frozenset({"async"})

#: Why a component-model feature is refused.
_UNSUPPORTED = {
    "component-model-gc": "the GC ABI of the component model (🛸, the `gc` and `core-type` "
    "canonical options) is not supported by wasmloop",
}

#: ``-W NAME`` core wasm features → the ``wasmtime_config_<setting>_set`` of wasmtime's C API
#: (None: wasmtime 49 has no switch for it; the value it always has is in ``_FIXED``).
CORE_FEATURES: dict[str, str | None] = {
    "bulk-memory": "wasm_bulk_memory",
    "multi-memory": "wasm_multi_memory",
    "multi-value": "wasm_multi_value",
    "reference-types": "wasm_reference_types",
    "simd": "wasm_simd",
    "relaxed-simd": "wasm_relaxed_simd",
    "relaxed-simd-deterministic": "wasm_relaxed_simd_deterministic",
    "tail-call": "wasm_tail_call",
    "threads": "wasm_threads",
    "shared-memory": "shared_memory",
    "shared-everything-threads": None,
    "memory64": "wasm_memory64",
    "function-references": "wasm_function_references",
    "stack-switching": "wasm_stack_switching",
    "gc": "wasm_gc",
    "custom-page-sizes": "wasm_custom_page_sizes",
    "wide-arithmetic": "wasm_wide_arithmetic",
    "branch-hinting": "wasm_branch_hinting",
    "extended-const": None,
    "exceptions": "wasm_exceptions",
    "gc-support": "gc_support",
    "concurrency-support": "concurrency_support",
    "nan-canonicalization": "cranelift_nan_canonicalization",
    "component-model": None,
}
#: Core features wasmtime's C API cannot switch, with the only value they can have.
_FIXED = {"extended-const": True, "shared-everything-threads": False, "component-model": True}
_FIXED_WHY = {
    "extended-const": "wasmtime's C API cannot disable extended-const",
    "shared-everything-threads": "Wasmtime 49 does not implement shared-everything-threads",
    "component-model": "wasmloop always runs components",
}
#: Proposals that need another (Wasmtime turns them on together in its test runner).
_IMPLIES = {
    "gc": ("function-references", "reference-types"),
    "function-references": ("reference-types",),
    "relaxed-simd": ("simd",),
    "stack-switching": ("exceptions", "function-references"),
}

#: The short names wasmloop accepted before it took Wasmtime's spelling; still accepted.
_SHORT = {v: k for k, v in COMPONENT_FEATURES.items()
          if v is not None and v not in CORE_FEATURES}

_TRUE = ("", "y", "yes", "true", "on", "1")
_FALSE = ("n", "no", "false", "off", "0")


@dataclass(frozen=True)
class FeatureSet:
    """The outcome of ``parse_features``: component-model features on (short names), and
    every core setting the user asked for (``wasmtime_config`` setting → value)."""

    component: frozenset[str] = DEFAULT_FEATURES
    core: dict[str, bool] = field(default_factory=dict)
    #: What was asked for, by Wasmtime's ``-W`` names (short names spelled out).
    flags: dict[str, bool] = field(default_factory=dict)


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"invalid value `{value}` for -W {name}: expected y or n")


def parse_features(features: Iterable[str] | Mapping[str, bool] = (),
                   base: frozenset[str] = DEFAULT_FEATURES) -> FeatureSet:
    """``features``: names to enable (``"gc"``, ``"component-model-map"``, ``"map=n"``), or a
    mapping ``name -> bool``. Names are Wasmtime's ``-W`` names; the short component-model
    names (``"async-stackful"``, ``"threading"`` …) are accepted too. Later entries win."""
    items: list[tuple[str, bool]] = []
    if isinstance(features, Mapping):
        items = [(str(k), bool(v)) for k, v in features.items()]
    else:
        for f in features:
            name, eq, value = str(f).partition("=")
            items.append((name.strip(), parse_bool(name, value) if eq else True))
    comp = set(base)
    core: dict[str, bool] = {}
    flags: dict[str, bool] = {}
    unknown: list[str] = []
    for name, on in items:
        flags[_SHORT.get(name, name)] = on
        if name == "all-proposals":
            for n in CORE_FEATURES:
                if n not in _FIXED and n not in ("relaxed-simd-deterministic", "shared-memory",
                                                 "nan-canonicalization", "gc-support",
                                                 "concurrency-support"):
                    _set_core(core, n, on)
            for short in COMPONENT_FEATURES.values():
                if short is not None:
                    (comp.add if on else comp.discard)(short)
            continue
        wname = _SHORT.get(name, name)
        if wname in COMPONENT_FEATURES:
            short = COMPONENT_FEATURES[wname]
            if short is None:
                if on:
                    raise ValueError(f"-W {wname}: {_UNSUPPORTED[wname]}")
                continue
            (comp.add if on else comp.discard)(short)
        elif wname in CORE_FEATURES:
            if wname in _FIXED:
                if on != _FIXED[wname]:
                    raise ValueError(f"-W {wname}={'y' if on else 'n'}: {_FIXED_WHY[wname]}")
                continue
            _set_core(core, wname, on)
            if on:
                for dep in _IMPLIES.get(wname, ()):
                    _set_core(core, dep, True)
        else:
            unknown.append(name)
    if unknown:
        known = sorted(set(CORE_FEATURES) | set(COMPONENT_FEATURES))
        raise ValueError(f"unknown wasm feature{'s' if len(unknown) > 1 else ''}: "
                         f"{', '.join(unknown)}; known (as Wasmtime's -W): {', '.join(known)}")
    return FeatureSet(frozenset(comp), core, flags)


def _set_core(core: dict[str, bool], name: str, on: bool) -> None:
    setting = CORE_FEATURES[name]
    if setting is not None:
        core[setting] = on

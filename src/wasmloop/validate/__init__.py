"""Validation of decoded components (Explainer.md, Binary.md, CanonicalABI.md).

``validate(component)`` walks the definitions in order, checks every rule and returns a
``ComponentInfo`` with each index space resolved into ``wasmloop.types`` objects.
"""

from __future__ import annotations

from wasmloop.validate.component import (
    DEFAULT_FEATURES,
    FEATURES,
    CanonOptions,
    ComponentInfo,
    ModuleInfo,
    validate,
)

__all__ = ["CanonOptions", "ComponentInfo", "DEFAULT_FEATURES", "FEATURES", "ModuleInfo",
           "validate"]

"""Validation of decoded components (Explainer.md, Binary.md, CanonicalABI.md).

``validate(component)`` walks the definitions in order, checks every rule and returns a
``ComponentInfo`` with each index space resolved into ``wasmloop.types`` objects.
"""

from __future__ import annotations

from wasmloop.validate.component import (
    CanonOptions,
    ComponentInfo,
    ModuleInfo,
    validate,
)
from wasmloop.validate.features import DEFAULT_FEATURES, FEATURES, parse_features

__all__ = ["CanonOptions", "ComponentInfo", "DEFAULT_FEATURES", "FEATURES", "ModuleInfo",
           "parse_features", "validate"]

"""Decoding the component binary format (Binary.md) into plain data (``binary.ast``).

Pure code: bytes in, frozen dataclasses out, no engine. Malformed input raises
``wasmloop.errors.DecodeError`` and nothing else.
"""

from __future__ import annotations

from wasmloop.binary import ast
from wasmloop.binary.coremodule import parse_module_header
from wasmloop.binary.decoder import decode_component

__all__ = ["ast", "decode_component", "parse_module_header"]

"""Name rules of the Explainer's "Import and Export Definitions" and "Name Uniqueness".

Labels are kebab-case; extern names are plain names (optionally ``[constructor]``,
``[method]`` or ``[static]`` annotated) or interface names ``ns:pkg/iface@version``; names in
one scope must be *strongly unique* (equal after lowercasing and stripping annotations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wasmloop.errors import ValidationError

__all__ = [
    "ExternName",
    "check_label",
    "is_label",
    "parse_extern_name",
    "strong_key",
    "is_semver",
    "is_canon_version",
    "UniqueNames",
]

_WORD = r"[a-z][0-9a-z]*"
_LABEL_RE = re.compile(r"(?:[a-z][0-9a-z]*|[A-Z][0-9A-Z]*)(?:-(?:[0-9a-z]+|[0-9A-Z]+))*\Z")
_WORDS_RE = re.compile(rf"{_WORD}(?:-[0-9a-z]+)*\Z")
_IDENT = r"[0-9A-Za-z-]+"
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = rf"(?:{_NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER_RE = re.compile(
    rf"{_NUM}\.{_NUM}\.{_NUM}(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?(?:\+{_IDENT}(?:\.{_IDENT})*)?\Z"
)
_CANON_RE = re.compile(r"(?:[1-9][0-9]*|0\.[1-9][0-9]*|0\.0\.[1-9][0-9]*|0\.0\.0)\Z")


def is_label(s: str) -> bool:
    return bool(_LABEL_RE.match(s))


def check_label(s: str, what: str, offset: int | None) -> None:
    """Raise unless ``s`` is a kebab-case ``label``; ``what`` names it in the message."""
    if s == "":
        raise ValidationError(f"{what} name cannot be empty", offset)
    if not is_label(s):
        raise ValidationError(f"{what} name `{s}` is not in kebab case", offset)


def is_semver(s: str) -> bool:
    return bool(_SEMVER_RE.match(s))


def is_canon_version(s: str) -> bool:
    return bool(_CANON_RE.match(s))


@dataclass(frozen=True, slots=True)
class ExternName:
    """A parsed ``externname``.

    ``kind`` is ``"label" | "constructor" | "method" | "static" | "interface"``. For the
    annotated kinds ``resource`` is the first label and ``item`` the second (None for a
    constructor). For an interface name, ``version`` is the text after ``@`` (or None).
    """

    text: str
    kind: str
    resource: str | None = None
    item: str | None = None
    version: str | None = None


def semver_error(v: str) -> str:
    """Why ``v`` is not a semver version, worded as wasmparser reports it (it uses the
    ``semver`` crate): the part being parsed and the character found."""
    if not v:
        return "empty string, expected a semver version"
    i = 0
    for part in ("major", "minor", "patch"):
        start = i
        while i < len(v) and v[i].isdigit():
            i += 1
        if i == start:
            if i == len(v):
                return f"unexpected end of input while parsing {part} version number"
            return f"unexpected character {v[i]!r} while parsing {part} version number"
        if v[start] == "0" and i - start > 1:
            return f"invalid leading zero in {part} version number"
        if part == "patch":
            break
        if i == len(v):
            return f"unexpected end of input while parsing {part} version number"
        if v[i] != ".":
            return f"unexpected character {v[i]!r} after {part} version number"
        i += 1
    rest = v[i:]
    if rest and rest[0] not in "-+":
        return f"unexpected character {rest[0]!r} after patch version number"
    pre, plus, build = rest[1:].partition("+") if rest.startswith("-") else ("", "+", rest[1:])
    if rest.startswith("-"):
        for ident in pre.split("."):
            if not ident:
                return "empty identifier segment in pre-release identifier"
            if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                return "invalid leading zero in pre-release identifier"
    if plus and any(not ident for ident in build.split(".")):
        return "empty identifier segment in build metadata"
    return "not a semver version"


def _bad(name: str, why: str, offset: int | None) -> ValidationError:
    return ValidationError(f"`{name}` is not a valid extern name: {why}", offset)


def parse_extern_name(name: str, offset: int | None) -> ExternName:
    """Parse ``name`` per the ``externname`` grammar or raise ``ValidationError``."""
    for prefix, kind in (("[constructor]", "constructor"), ("[method]", "method"),
                         ("[static]", "static")):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if kind == "constructor":
                if not is_label(rest):
                    raise ValidationError(f"`{rest}` is not in kebab case", offset)
                return ExternName(name, kind, resource=rest)
            dot = rest.find(".")
            if dot < 0:
                raise _bad(name, "failed to find `.` character", offset)
            res, item = rest[:dot], rest[dot + 1:]
            for part in (res, item):
                if not is_label(part):
                    raise ValidationError(f"`{part}` is not in kebab case", offset)
            return ExternName(name, kind, resource=res, item=item)
    if name.startswith("["):
        raise _bad(name, "unknown annotation", offset)
    if ":" in name or "/" in name or "@" in name:
        return _parse_interface_name(name, offset)
    if not is_label(name):
        raise ValidationError(f"`{name}` is not in kebab case", offset)
    return ExternName(name, "label")


def _parse_interface_name(name: str, offset: int | None) -> ExternName:
    body, at, version = name.partition("@")
    if at:
        if not (is_semver(version) or is_canon_version(version)):
            raise _bad(name, f"invalid interface version: {semver_error(version)}", offset)
    head, slash, path = body.partition("/")
    if ":" not in head:
        # wasmparser reads a name without a namespace as a plain label
        raise _bad(name, f"`{name}` is not in kebab case", offset)
    if not slash:
        if head.endswith(":"):
            raise _bad(name, "`` is not in kebab case", offset)
        raise _bad(name, "expected `/` after package name", offset)
    parts = head.split(":")
    if len(parts) > 2:
        # 🪺 nested namespaces are not enabled (wasm-tools rejects them too).
        raise _bad(name, "expected `/` after package name", offset)
    for p in parts:
        if not _WORDS_RE.match(p):
            raise _bad(name, f"`{p}` is not in kebab case", offset)
    projections = path.split("/")
    # A single namespace and package take exactly one projection; 🪺 nested names may take more.
    if len(parts) == 2 and len(projections) > 1:
        raise _bad(name, f"trailing characters found: `/{'/'.join(projections[1:])}`", offset)
    for p in projections:
        if not is_label(p):
            raise _bad(name, f"`{p}` is not in kebab case", offset)
    return ExternName(name, "interface", version=version if at else None)


def strong_key(name: str) -> str:
    """The canonical form under which two names are compared for strong uniqueness."""
    n = name.lower()
    for prefix in ("[method]", "[static]"):
        if n.startswith(prefix):
            rest = n[len(prefix):]
            a, dot, b = rest.partition(".")
            if dot and a == b:
                return a
            return rest
    return n


class UniqueNames:
    """Strongly-unique names of one scope (imports, exports, fields …)."""

    __slots__ = ("_exact", "_keys", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._exact: set[str] = set()
        self._keys: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._exact

    def add(self, name: str, offset: int | None) -> None:
        if name in self._exact:
            raise ValidationError(
                f"{self._what} name `{name}` conflicts with previous name `{name}`", offset)
        key = strong_key(name)
        prev = self._keys.get(key)
        if prev is not None:
            raise ValidationError(
                f"{self._what} name `{name}` conflicts with previous name `{prev}`", offset
            )
        self._exact.add(name)
        self._keys[key] = name


def check_labels_unique(labels: list[str] | tuple[str, ...], what: str, offset: int | None,
                        plural: str | None = None) -> None:
    """Kebab-case and strongly-unique labels (record fields, cases, flags, params)."""
    seen: dict[str, str] = {}
    for label in labels:
        check_label(label, what, offset)
        key = label.lower()
        if key in seen:
            raise ValidationError(
                f"{what} name `{label}` conflicts with previous {plural or what} name "
                f"`{seen[key]}`",
                offset,
            )
        seen[key] = label

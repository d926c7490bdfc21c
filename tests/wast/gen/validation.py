import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from validation_cases import cases  # noqa: E402

MSG = {
    "dup-memory": (
        "canonical option `memory` is specified more than once",
        "a canon option may appear at most once",
    ),
    "dup-encoding": ("conflicts with option", "at most one string-encoding"),
    "realloc-no-memory": ("`realloc` requires `memory`", "realloc needs memory"),
    "string-no-memory": (
        "canonical option `memory` is required",
        "lifting a string param needs memory",
    ),
    "string-param-no-realloc": (
        "canonical option `realloc` is required",
        "lifting a string param needs realloc (the caller allocates in the callee)",
    ),
    "list-result-no-memory": (
        "canonical option `memory` is required",
        "lifting a list result needs memory",
    ),
    "post-return-wrong-type": (
        "`post-return` uses a core function with an incorrect signature",
        "post-return must take the flat results and return nothing",
    ),
    "post-return-on-lower": (
        "`post-return` cannot be specified for lowerings",
        "post-return is lift-only",
    ),
    "post-return-async": (
        "cannot specify post-return function in async",
        "post-return is sync-only",
    ),
    "async-on-sync-type": (
        "requires an async function type",
        "async options need a `func async` type",
    ),
    "lift-wrong-core-sig": (
        "do not match result types",
        "core result type must be the flattened result type",
    ),
    "lift-wrong-core-params": (
        "do not match parameter types",
        "core param types must be the flattened param types",
    ),
    "realloc-wrong-type": (
        "`realloc` uses a core function with an incorrect signature",
        "realloc must be (i32 i32 i32 i32) -> i32",
    ),
    "type-index-oob": ("type index out of bounds", "type index out of range"),
    "func-index-oob": ("function index out of bounds", "component function index out of range"),
    "core-func-index-oob": ("function index out of bounds", "core function index out of range"),
    "instance-index-oob": ("instance index out of bounds", "instance index out of range"),
    "kebab-export": ("is not in kebab case", "export names must be kebab-case"),
    "kebab-import": ("is not in kebab case", "import names must be kebab-case"),
    "kebab-param": ("is not in kebab case", "param names must be kebab-case (no trailing hyphen)"),
    "kebab-label": ("is not in kebab case", "record field names must be kebab-case"),
    "dup-export": ("conflicts with previous name", "export names must be unique"),
    "dup-export-case": ("conflicts with previous name", "names are compared case-insensitively"),
    "dup-import": ("conflicts with previous name", "import names must be unique"),
    "dup-param": ("conflicts with previous parameter name", "param names must be unique"),
    "dup-field": ("conflicts with previous field name", "field names must be unique"),
    "borrow-in-result": (
        "function result cannot contain a `borrow` type",
        "borrow may not appear in results",
    ),
    "borrow-in-nested-result": (
        "function result cannot contain a `borrow` type",
        "... not even nested",
    ),
    "stream-char": ("`stream<char>` is not valid", "stream<char> is not allowed"),
    "own-non-resource": ("is not a resource type", "own needs a resource type"),
    "borrow-non-resource": ("is not a resource type", "borrow needs a resource type"),
    "dtor-wrong-type": ("wrong signature for a destructor", "a destructor is (func (param i32))"),
    "export-private-resource": (
        "type not valid to be used as export",
        "an exported type may not refer to a private resource",
    ),
    "export-func-private-type": (
        "func not valid to be used as export",
        "an exported func may not refer to an unexported enum",
    ),
    "outer-alias-count": (
        "invalid outer alias count",
        "outer alias count beyond the enclosing components",
    ),
    "outer-alias-index": ("type index out of bounds", "outer alias index out of range"),
    "outer-alias-resource": (
        "refers to resources not defined in the current component",
        "outer aliases may not capture resource types",
    ),
    "empty-record": ("must have at least one field", "records must be non-empty"),
    "empty-variant": ("must have at least one case", "variants must be non-empty"),
    "empty-tuple": ("must have at least one type", "tuples must be non-empty"),
    "empty-flags": ("must have at least one entry", "flags must be non-empty"),
    "flags-33": ("cannot have more than 32 flags", "at most 32 flags"),
    "resource-new-imported": (
        "is not a local resource",
        "resource.new only for locally defined resources",
    ),
    "resource-rep-imported": (
        "is not a local resource",
        "resource.rep only for locally defined resources",
    ),
    "resource-drop-non-resource": ("is not a resource type", "resource.drop needs a resource type"),
}
out = [
    """;; validation.wast -- static validation of components (Explainer.md, Binary.md,
;; CanonicalABI.md "canon lift"/"canon lower" validation rules).
;;
;; Pins, as assert_invalid: canon option rules (duplicates, realloc/memory
;; requirements, post-return typing and placement, async only on async func
;; types, realloc signature), lifted core function signatures, index bounds,
;; kebab-case and unique names (case-insensitive), borrow only in params,
;; no stream<char>, own/borrow only of resources, destructor signature,
;; resource built-ins only for local resources, exported types/funcs may not
;; mention private types, outer alias bounds and resource capture, non-empty
;; records/variants/tuples/flags, at most 32 flags.
;; Then assert_malformed cases for the binary format: bad magic, bad
;; version/layer, unknown section id, truncated section.
;;
;; The expected texts are substrings of Wasmtime 49's messages.
"""
]
skip = {"resource-rep-i64", "lower-wrong-kind"}
for name, kind, text in cases:
    if name in skip:
        continue
    msg, why = MSG[name]
    out.append(f";; {why}")
    out.append(f'({kind}\n{text}\n  "{msg}")')
    out.append("")
out.append(open(os.path.join(HERE, "validation_malformed.tmpl")).read())
sys.stdout.write("\n".join(out))

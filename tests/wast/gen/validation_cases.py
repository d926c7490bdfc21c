import json
import sys

CORE = """    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))"""


def C(body):
    return f"  (component\n{CORE}\n{body})"


cases = [
    (
        "dup-memory",
        "assert_invalid",
        C(
            '    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (memory $mem) (realloc $realloc)))'
        ),
    ),
    (
        "dup-encoding",
        "assert_invalid",
        C(
            '    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (realloc $realloc) string-encoding=utf8 string-encoding=utf16))'
        ),
    ),
    (
        "realloc-no-memory",
        "assert_invalid",
        C(
            '    (func (export "f") (param "s" string) (canon lift (core func $m "f") (realloc $realloc)))'
        ),
    ),
    (
        "string-no-memory",
        "assert_invalid",
        C('    (func (export "f") (param "s" string) (canon lift (core func $m "f")))'),
    ),
    (
        "string-param-no-realloc",
        "assert_invalid",
        C(
            '    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem)))'
        ),
    ),
    (
        "list-result-no-memory",
        "assert_invalid",
        C('    (func (export "g") (result (list u8)) (canon lift (core func $m "g")))'),
    ),
    (
        "post-return-wrong-type",
        "assert_invalid",
        C(
            '    (func (export "g") (result u32) (canon lift (core func $m "g") (post-return (core func $m "post-i64"))))'
        ),
    ),
    (
        "post-return-on-lower",
        "assert_invalid",
        C(
            '    (func $g (result u32) (canon lift (core func $m "g")))\n    (core func (canon lower (func $g) (post-return (core func $m "post-i32"))))'
        ),
    ),
    (
        "post-return-async",
        "assert_invalid",
        C(
            '    (func (export "g") async (result u32) (canon lift (core func $m "async-g") async (callback (core func $m "cb")) (post-return (core func $m "post-i32"))))'
        ),
    ),
    (
        "async-on-sync-type",
        "assert_invalid",
        C(
            '    (func (export "g") (result u32) (canon lift (core func $m "async-g") async (callback (core func $m "cb"))))'
        ),
    ),
    (
        "lift-wrong-core-sig",
        "assert_invalid",
        C('    (func (export "g") (result u64) (canon lift (core func $m "g")))'),
    ),
    (
        "lift-wrong-core-params",
        "assert_invalid",
        C('    (func (export "g") (param "x" u32) (result u32) (canon lift (core func $m "g")))'),
    ),
    (
        "realloc-wrong-type",
        "assert_invalid",
        C(
            '    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (realloc (core func $m "post-i32"))))'
        ),
    ),
    (
        "type-index-oob",
        "assert_invalid",
        '  (component\n    (type (func))\n    (import "f" (func (type 99))))',
    ),
    ("func-index-oob", "assert_invalid", '  (component\n    (export "f" (func 99)))'),
    (
        "core-func-index-oob",
        "assert_invalid",
        "  (component\n    (func (canon lift (core func 7))))",
    ),
    ("instance-index-oob", "assert_invalid", '  (component\n    (alias export 3 "f" (func)))'),
    (
        "kebab-export",
        "assert_invalid",
        C('    (func (export "Not_Kebab") (result u32) (canon lift (core func $m "g")))'),
    ),
    ("kebab-import", "assert_invalid", '  (component\n    (import "a b" (func)))'),
    (
        "kebab-param",
        "assert_invalid",
        C('    (func (export "g") (param "x-" u32) (result u32) (canon lift (core func $m "g")))'),
    ),
    ("kebab-label", "assert_invalid", '  (component\n    (type (record (field "fooBar" u8))))'),
    (
        "dup-export",
        "assert_invalid",
        C(
            '    (func $g (result u32) (canon lift (core func $m "g")))\n    (export "g" (func $g))\n    (export "g" (func $g))'
        ),
    ),
    (
        "dup-export-case",
        "assert_invalid",
        C(
            '    (func $g (result u32) (canon lift (core func $m "g")))\n    (export "g-x" (func $g))\n    (export "G-X" (func $g))'
        ),
    ),
    (
        "dup-import",
        "assert_invalid",
        '  (component\n    (import "f" (func))\n    (import "f" (func (param "x" u32))))',
    ),
    (
        "dup-param",
        "assert_invalid",
        '  (component\n    (import "f" (func (param "x" u32) (param "x" u32))))',
    ),
    (
        "dup-field",
        "assert_invalid",
        '  (component\n    (type (record (field "a" u8) (field "a" u16))))',
    ),
    (
        "borrow-in-result",
        "assert_invalid",
        "  (component\n    (type $R (resource (rep i32)))\n    (type (func (result (borrow $R)))))",
    ),
    (
        "borrow-in-nested-result",
        "assert_invalid",
        "  (component\n    (type $R (resource (rep i32)))\n    (type (func (result (list (borrow $R))))))",
    ),
    ("stream-char", "assert_invalid", "  (component\n    (type (stream char)))"),
    ("own-non-resource", "assert_invalid", "  (component\n    (type $T u32)\n    (type (own $T)))"),
    (
        "borrow-non-resource",
        "assert_invalid",
        '  (component\n    (type $T (record (field "a" u8)))\n    (type (borrow $T)))',
    ),
    (
        "dtor-wrong-type",
        "assert_invalid",
        '  (component\n    (core module $M (func (export "d") (param i64)))\n    (core instance $m (instantiate $M))\n    (type (resource (rep i32) (dtor (core func $m "d")))))',
    ),
    ("resource-rep-i64", "assert_invalid", "  (component\n    (type (resource (rep i64))))"),
    (
        "export-private-resource",
        "assert_invalid",
        '  (component\n    (type $R (resource (rep i32)))\n    (type $L (list (own $R)))\n    (export "l" (type $L)))',
    ),
    (
        "export-func-private-type",
        "assert_invalid",
        C(
            '    (type $E (enum "a" "b"))\n    (func (export "g") (result $E) (canon lift (core func $m "g")))'
        ),
    ),
    (
        "outer-alias-count",
        "assert_invalid",
        "  (component\n    (component\n      (alias outer 2 0 (type))))",
    ),
    (
        "outer-alias-index",
        "assert_invalid",
        "  (component\n    (type (func))\n    (component\n      (alias outer 1 5 (type))))",
    ),
    (
        "outer-alias-resource",
        "assert_invalid",
        "  (component\n    (type $R (resource (rep i32)))\n    (component\n      (alias outer 1 $R (type))))",
    ),
    ("empty-record", "assert_invalid", "  (component\n    (type (record)))"),
    ("empty-variant", "assert_invalid", "  (component\n    (type (variant)))"),
    ("empty-tuple", "assert_invalid", "  (component\n    (type (tuple)))"),
    ("empty-flags", "assert_invalid", "  (component\n    (type (flags)))"),
    (
        "flags-33",
        "assert_invalid",
        "  (component\n    (type (flags " + " ".join(f'"f{i}"' for i in range(33)) + ")))",
    ),
    (
        "resource-new-imported",
        "assert_invalid",
        '  (component\n    (import "r" (type $R (sub resource)))\n    (core func (canon resource.new $R)))',
    ),
    (
        "resource-rep-imported",
        "assert_invalid",
        '  (component\n    (import "r" (type $R (sub resource)))\n    (core func (canon resource.rep $R)))',
    ),
    (
        "resource-drop-non-resource",
        "assert_invalid",
        "  (component\n    (type $T u32)\n    (core func (canon resource.drop $T)))",
    ),
    (
        "lower-wrong-kind",
        "assert_invalid",
        "  (component\n    (type $T (func))\n    (core func (canon lower (func 0))))",
    ),
]
if __name__ == "__main__":
    json.dump(cases, sys.stdout)

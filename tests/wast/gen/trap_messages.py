"""Generates trap-messages.wast: one small component per trap rule, each trap asserted with the
message Wasmtime 49 prints (bounds, alignment, realloc, discriminants, string encodings and
handles), on both paths that lift and lower values: the host boundary (`invoke` lifts results
and lowers arguments in the host) and a component-to-component call (Wasmtime's fused adapter).

    python3 gen/trap_messages.py > trap-messages.wast
"""

import sys

# -- host boundary --------------------------------------------------------------------------

# A core module with one memory, a realloc that returns the value of the global $ra (0x100
# when not set), and one export per case: `body` is the function's core text.
HOST_MODULE = """    (memory (export "mem") 1)
    (data (i32.const 0x200) "ok\\ff\\fe")
    (data (i32.const 0x210) "\\00\\d8\\41\\00")
    (global $ra (mut i32) (i32.const 0x100))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (global.get $ra))
    (func (export "set-realloc") (param i32) (global.set $ra (local.get 0)))
    (func $pair (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0)) (i32.store (i32.const 4) (local.get 1)) (i32.const 0))"""

# (name, component function type, core signature, core body, canon options, invoke args,
#  wasmtime 49's message, note)
HOST_CASES = [
    ("string-oob", '(result string)', "(result i32)",
     "(call $pair (i32.const 0xfffa) (i32.const 100))", "", "",
     "string pointer/length out of bounds of memory"),
    ("string-len-overflow", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x10) (i32.const 0x7fffffff))", "string-encoding=utf16", "",
     "string pointer/length out of bounds of memory"),
    ("list-oob", '(result (list u8))', "(result i32)",
     "(call $pair (i32.const 0xfff0) (i32.const 0x11))", "", "",
     "list pointer/length out of bounds of memory"),
    ("list-len-overflow", '(result (list u64))', "(result i32)",
     "(call $pair (i32.const 0x10) (i32.const 0x20000000))", "", "",
     "list pointer/length out of bounds of memory"),
    ("list-align", '(result (list u32))', "(result i32)",
     "(call $pair (i32.const 0x202) (i32.const 1))", "", "",
     "list pointer is not aligned"),
    ("utf16-align", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x201) (i32.const 1))", "string-encoding=utf16", "",
     "string pointer not aligned to 2"),
    ("latin1-align", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x201) (i32.const 1))", "string-encoding=latin1+utf16", "",
     "string pointer not aligned to 2"),
    ("retptr-align", '(result string)', "(result i32)", "(i32.const 2)", "", "",
     "return pointer not aligned"),
    ("retptr-oob", '(result string)', "(result i32)", "(i32.const 0xfffc)", "", "",
     "pointer out of bounds of memory"),
    ("realloc-align", '(param "l" (list u32))', "(param i32 i32)", "", "", "(list.const (u32.const 1))",
     "realloc return: result not aligned"),
    ("realloc-oob", '(param "s" string)', "(param i32 i32)", "", "", '(str.const "abc")',
     "realloc return: beyond end of memory"),
    ("variant-disc", "(result $V')", "(result i32)",
     "(i32.const 2)", "", "", "discriminant 2 out of range [0..2)"),
    ("enum-disc", "(result $E')", "(result i32)",
     "(i32.const 3)", "", "", "discriminant 3 out of range [0..3)"),
    ("option-disc", '(result (option u8))', "(result i32)",
     "(i32.store (i32.const 0) (i32.const 2)) (i32.const 0)", "", "",
     "discriminant 2 out of range [0..2)"),
    ("result-disc", '(result (result u8 (error u8)))', "(result i32)",
     "(i32.store (i32.const 0) (i32.const 2)) (i32.const 0)", "", "",
     "discriminant 2 out of range [0..2)"),
    ("char-surrogate", '(result char)', "(result i32)", "(i32.const 0xd800)", "", "",
     "converted integer out of range for `char`"),
    ("char-range", '(result char)', "(result i32)", "(i32.const 0x110000)", "", "",
     "converted integer out of range for `char`"),
    ("utf8", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x200) (i32.const 3))", "", "",
     "invalid utf-8 sequence of 1 bytes from index 2"),
    ("utf16-surrogate", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x210) (i32.const 2))", "string-encoding=utf16", "",
     "unpaired surrogate found"),
    ("latin1-utf16-surrogate", '(result string)', "(result i32)",
     "(call $pair (i32.const 0x210) (i32.const 0x80000002))", "string-encoding=latin1+utf16", "",
     "unpaired surrogate found"),
    ("own-unknown", '(result (own $R))', "(result i32)", "(i32.const 7)", "", "",
     "unknown handle index 7"),
    ("rep-unknown", '', "", "(drop (call $rep (i32.const 5)))", "", "",
     "unknown handle index 5"),
    ("drop-zero", '', "", "(call $drop (i32.const 0))", "", "",
     "unknown handle index 0"),
    ("rep-wrong-type", '', "", "(drop (call $rep (call $new-s (i32.const 1))))", "", "",
     "handle index 1 used with the wrong type, expected guest-defined resource but found a "
     "different guest-defined resource"),
    ("drop-twice", '', "",
     "(local i32) (local.set 0 (call $new (i32.const 1))) (call $drop (local.get 0))"
     " (call $drop (local.get 0))", "", "",
     "unknown handle index 1"),
]


def host_component(cases):
    core, lifts = [], []
    for name, ftype, csig, body, opts, _args, _msg in cases:
        if not body:  # a param case: the export takes its arguments and does nothing
            core.append(f'    (func (export "{name}") {csig})')
        else:
            core.append(f'    (func (export "{name}") {csig} {body})')
        lifts.append(
            f'  (func (export "{name}") {ftype}\n'
            f'    (canon lift (core func $m "{name}") (memory $mem) (realloc $realloc) {opts}))'
        )
    return (
        "(component definition $Host\n"
        "  (type $R (resource (rep i32)))\n"
        "  (type $S (resource (rep i32)))\n"
        "  (export $R' \"r\" (type $R))\n"
        "  (type $V (variant (case \"a\") (case \"b\")))\n"
        "  (export $V' \"v\" (type $V))\n"
        "  (type $E (enum \"a\" \"b\" \"c\"))\n"
        "  (export $E' \"e\" (type $E))\n"
        "  (core func $new (canon resource.new $R))\n"
        "  (core func $new-s (canon resource.new $S))\n"
        "  (core func $rep (canon resource.rep $R))\n"
        "  (core func $drop (canon resource.drop $R))\n"
        "  (core module $M\n"
        '    (import "" "new" (func $new (param i32) (result i32)))\n'
        '    (import "" "new-s" (func $new-s (param i32) (result i32)))\n'
        '    (import "" "rep" (func $rep (param i32) (result i32)))\n'
        '    (import "" "drop" (func $drop (param i32)))\n'
        f"{HOST_MODULE}\n" + "\n".join(core) + "\n  )\n"
        "  (core instance $m (instantiate $M (with \"\" (instance\n"
        '    (export "new" (func $new)) (export "new-s" (func $new-s))\n'
        '    (export "rep" (func $rep)) (export "drop" (func $drop))))))\n'
        '  (alias core export $m "mem" (core memory $mem))\n'
        '  (alias core export $m "realloc" (core func $realloc))\n'
        '  (func (export "set-realloc") (param "p" u32) (canon lift (core func $m "set-realloc")))\n'
        + "\n".join(lifts).replace("(own $R)", "(own $R')") + "\n)\n"
    )


def host_section(cases, expect):
    out = [host_component(cases)]
    for i, (name, _ftype, _csig, _body, _opts, args, msg) in enumerate(cases):
        msg = expect.get(("host", name), msg)
        if msg is None:
            continue
        out.append(f"(component instance $h{i} $Host)")
        if name == "realloc-align":
            out.append('(invoke "set-realloc" (u32.const 2))')
        if name == "realloc-oob":
            out.append('(invoke "set-realloc" (u32.const 0xfffe))')
        out.append(f'(assert_trap (invoke "{name}" {args}) "{msg}")'.replace(" )", ")"))
    return "\n".join(out)


# -- component to component -------------------------------------------------------------------

# The callee lifts each function; its core code returns what the case puts in memory, and its
# realloc returns the global $ra. The caller's core code calls the lowered import with the
# arguments of the case. Traps are raised by the adapter between the two.
ADAPTER_CASES = [
    # (name, function type, callee core sig, callee body, callee opts, caller core sig,
    #  caller call args, caller opts, message)
    ("string-oob", '(param "s" string)', "(param i32 i32)", "", "", "(param i32 i32)",
     "(i32.const 0xfffa) (i32.const 100)", "", "string content out-of-bounds"),
    ("list-oob", '(param "l" (list u8))', "(param i32 i32)", "", "", "(param i32 i32)",
     "(i32.const 0xfff0) (i32.const 0x11)", "", "list content out-of-bounds"),
    ("list-align", '(param "l" (list u32))', "(param i32 i32)", "", "", "(param i32 i32)",
     "(i32.const 2) (i32.const 1)", "", "unaligned pointer"),
    ("utf16-align", '(param "s" string)', "(param i32 i32)", "", "", "(param i32 i32)",
     "(i32.const 1) (i32.const 1)", "string-encoding=utf16", "unaligned pointer"),
    ("result-string-oob", '(result string)', "(result i32)",
     "(call $pair (i32.const 0xfffa) (i32.const 100))", "", "(param i32)",
     "(i32.const 0x20)", "", "string content out-of-bounds"),
    ("realloc-align", '(param "l" (list u32))', "(param i32 i32)", "", "ra=2", "(param i32 i32)",
     "(i32.const 0x20) (i32.const 1)", "", "unaligned pointer"),
    ("realloc-oob", '(param "s" string)', "(param i32 i32)", "", "ra=0xfffe", "(param i32 i32)",
     "(i32.const 0x20) (i32.const 4)", "", "string content out-of-bounds"),
    ("variant-disc", '(result (variant (case "a") (case "b")))', "(result i32)",
     "(i32.const 2)", "", "(result i32)", "", "", "invalid variant discriminant"),
    ("variant-payload-disc", '(result (variant (case "a" u8) (case "b" u8)))', "(result i32)",
     "(i32.store8 (i32.const 0) (i32.const 2)) (i32.const 0)", "", "(param i32)",
     "(i32.const 0x20)", "", "invalid variant discriminant"),
    ("enum-disc", '(result (enum "a" "b" "c"))', "(result i32)",
     "(i32.const 3)", "", "(result i32)", "", "", "invalid variant discriminant"),
    ("option-disc", '(result (option u8))', "(result i32)",
     "(i32.store (i32.const 0) (i32.const 2)) (i32.const 0)", "", "(param i32)",
     "(i32.const 0x20)", "", "invalid variant discriminant"),
    ("result-disc", '(result (result u8 (error u8)))', "(result i32)",
     "(i32.store (i32.const 0) (i32.const 2)) (i32.const 0)", "", "(param i32)",
     "(i32.const 0x20)", "", "invalid variant discriminant"),
    ("char-surrogate", '(result char)', "(result i32)", "(i32.const 0xd800)", "",
     "(result i32)", "", "", "invalid `char` bit pattern"),
    ("char-range", '(param "c" char)', "(param i32)", "", "", "(param i32)",
     "(i32.const 0x110000)", "", "invalid `char` bit pattern"),
    ("utf8", '(param "s" string)', "(param i32 i32)", "", "string-encoding=utf16",
     "(param i32 i32)", "(i32.const 0x200) (i32.const 3)", "", "invalid utf8 encoding"),
    ("utf16-surrogate", '(param "s" string)', "(param i32 i32)", "", "",
     "(param i32 i32)", "(i32.const 0x210) (i32.const 2)", "string-encoding=utf16",
     "invalid utf16 encoding"),
    ("own-unknown", '(param "r" (own $r))', "(param i32)", "", "", "(param i32)",
     "(i32.const 5)", "", "unknown handle index 5"),
    ("borrow-unknown", '(param "r" (borrow $r))', "(param i32)", "", "", "(param i32)",
     "(i32.const 5)", "", "unknown handle index 5"),
    ("callee-retptr-align", '(result string)', "(result i32)", "(i32.const 2)", "",
     "(param i32)", "(i32.const 0x20)", "", "unaligned pointer"),
    ("callee-retptr-oob", '(result string)', "(result i32)", "(i32.const 0xfffc)", "",
     "(param i32)", "(i32.const 0x20)", "", "out of bounds memory access"),
    ("caller-retptr-align", '(result string)', "(result i32)",
     "(call $pair (i32.const 0) (i32.const 0))", "", "(param i32)", "(i32.const 2)", "", "unaligned pointer"),
    ("caller-retptr-oob", '(result string)', "(result i32)",
     "(call $pair (i32.const 0) (i32.const 0))", "", "(param i32)", "(i32.const 0xfffc)", "",
     "out of bounds memory access"),
    ("list-realloc-oob", '(param "l" (list u32))', "(param i32 i32)", "", "ra=0xfffc",
     "(param i32 i32)", "(i32.const 0x20) (i32.const 4)", "", "list content out-of-bounds"),
    ("borrow-kept", '(param "r" (borrow $r))', "(param i32)", "", "", "(param i32)",
     "(call $new (i32.const 1))", "", "borrow handles still remain at the end of the call"),
]


def adapter_case(i, case, expect):
    name, ftype, csig, cbody, copts, rsig, rargs, ropts, msg = case
    msg = expect.get(("adapter", name), msg)
    if msg is None:
        return ""
    ra = "0x100"
    if copts.startswith("ra="):
        ra, copts = copts[3:], ""
    typedef = ""
    for kw in ("(variant", "(enum"):
        if f"(result {kw}" in ftype:
            inner = ftype[len("(result ") : -1]
            typedef = f"    (type $T {inner})\n    (export $T' \"t\" (type $T))\n"
            ftype = "(result $T')"
    callee_body = cbody if cbody else ""
    call = f"(call $f {rargs})"
    if "result i32" in rsig:
        call = f"(drop {call})"
    if name == "borrow-kept":
        callee_body = ""  # the callee keeps the borrow it was given (index 1)
    return f""";; {name}
(component definition $A{i}
  (type $R (resource (rep i32)))
  (component $Callee
    (import "r" (type $r (sub resource)))
{typedef}    (core module $M
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const {ra}))
      (func $pair (param i32 i32) (result i32)
        (i32.store (i32.const 0) (local.get 0)) (i32.store (i32.const 4) (local.get 1)) (i32.const 0))
      (func (export "f") {csig} {callee_body}))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") {ftype}
      (canon lift (core func $m "f") (memory $mem) (realloc $realloc) {copts})))
  (instance $callee (instantiate $Callee (with "r" (type $R))))
  (alias export $callee "f" (func $g))
  (core module $Mem
    (memory (export "mem") 1)
    (data (i32.const 0x200) "ok\\ff\\fe")
    (data (i32.const 0x210) "\\00\\d8\\41\\00")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0x400)))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (alias core export $mem "realloc" (core func $realloc))
  (core func $f (canon lower (func $g) (memory $memory) (realloc $realloc) {ropts}))
  (core func $new (canon resource.new $R))
  (core module $Caller
    (import "" "f" (func $f {rsig}))
    (import "" "new" (func $new (param i32) (result i32)))
    (func (export "run") {call}))
  (core instance $c (instantiate $Caller (with "" (instance (export "f" (func $f)) (export "new" (func $new))))))
  (func (export "run") (canon lift (core func $c "run")))
)
(component instance $a{i} $A{i})
(assert_trap (invoke "run") "{msg}")
"""


def main(expect=None):
    expect = expect or {}
    print(HEADER)
    print(host_section(HOST_CASES, expect))
    print()
    print(";; --- component to component: the adapter's messages ---\n")
    for i, case in enumerate(ADAPTER_CASES):
        print(adapter_case(i, case, expect))


HEADER = """;; trap-messages.wast -- generated by gen/trap_messages.py; do not edit.
;;
;; Trap messages as Wasmtime 49 prints them, for bounds, alignment, realloc, discriminants
;; (variant, enum, option, result, bool, char), string encodings and handles. The host
;; boundary (values lifted to and lowered from `invoke`) and a call between two components
;; (Wasmtime's fused adapter) word the same rule differently, so both paths are here.
;; Runs unchanged under `wasmtime wast` (Wasmtime 49, no -W flags) and `wasmloop wast`.
"""

if __name__ == "__main__":
    main()
    sys.stdout.flush()

import sys

ENCS = {"utf8": "utf8", "utf16": "utf16", "latin1+utf16": "latin1+utf16"}
OPT = {
    "utf8": "string-encoding=utf8",
    "utf16": "string-encoding=utf16",
    "latin1+utf16": "string-encoding=latin1+utf16",
}
SHORT = {"utf8": "U8", "utf16": "U16", "latin1+utf16": "L1"}

REALLOC = """    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))"""


def leaf(name, enc, indent="  "):
    """A component whose core code sees strings in `enc` and exposes echo/len/byte."""
    o = OPT[enc]
    s = f"""(component ${name}
  (core module $M
    (memory (export "mem") 2)
{REALLOC}
    ;; echo: return the (ptr, len) pair exactly as received
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    ;; len: the (possibly tagged) code-unit count the core code received
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
    ;; byte: the i-th byte of the received encoding
    (func (export "byte") (param i32 i32 i32) (result i32)
      (i32.load8_u (i32.add (local.get 0) (local.get 2))))
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) {o}))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) {o}))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) {o}))
)"""
    return "\n".join(indent + ln if ln else ln for ln in s.split("\n"))


def pair(caller, callee):
    """Outer component: host -> $Caller (caller enc) -> $Callee (callee enc)."""
    oc = OPT[caller]
    return f""";; caller: {caller}, callee: {callee}
(component
{leaf("Callee", callee)}
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
{REALLOC}
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) {oc}))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) {oc}))
    (core module $M
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (import "" "len" (func $len (param i32 i32) (result i32)))
      (import "env" "mem" (memory 2))
      ;; round trip: pass our string to the callee, return what comes back
      (func (export "round-trip") (param i32 i32) (result i32)
        (call $echo (local.get 0) (local.get 1) (i32.const 16))
        (i32.const 16))
      ;; the code-unit count the callee's core code sees for our string
      (func (export "callee-len") (param i32 i32) (result i32)
        (call $len (local.get 0) (local.get 1)))
      ;; the code-unit count we get back after a round trip
      (func (export "back-len") (param i32 i32) (result i32)
        (call $echo (local.get 0) (local.get 1) (i32.const 16))
        (i32.load (i32.const 20)))
    )
    (core instance $m (instantiate $M
      (with "" (instance (export "echo" (func $echo')) (export "len" (func $len'))))
      (with "env" (instance $mem))))
    (func (export "round-trip") (param "s" string) (result string)
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) {oc}))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) {oc}))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) {oc}))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)
"""


TEST_STRINGS = [
    "",
    "hello",
    "h\u00e9llo\u00ff",
    "\u20acuro",
    "a\U0001f600b",
    "\u00e9\u4e2d\U0001f600",
]


def utf8len(s):
    return len(s.encode("utf-8"))


def u16len(s):
    return len(s.encode("utf-16-le")) // 2


def enclen(enc, s):
    if enc == "utf8":
        return utf8len(s)
    if enc == "utf16":
        return u16len(s)
    if all(ord(c) < 256 for c in s):
        return len(s)
    return u16len(s) | 0x80000000


def wstr(s):
    out = ""
    for c in s:
        if 0x20 <= ord(c) < 0x7F and c not in '"\\':
            out += c
        else:
            out += f"\\u{{{ord(c):x}}}"
    return '"' + out + '"'


def data_bytes(b):
    return '"' + "".join(f"\\{x:02x}" for x in b) + '"'


def fixed_component(enc, entries, defname=None, extra_data=()):
    """A leaf with an extra "ret" export: returns entry i of a table of
    (ptr, len) pairs at 0x100 whose bytes live in data segments."""
    o = OPT[enc]
    table = b"".join(p.to_bytes(4, "little") + ln.to_bytes(4, "little") for (p, ln, _) in entries)
    datas = ["    ;; (ptr, len) table at 0x100, one 8-byte entry per case:"]
    for i, (p, ln, b) in enumerate(entries):
        datas.append(f"    ;;   {i}: ptr={hex(p)} len={hex(ln)} bytes={b.hex() or '-'}")
    datas.append(f"    (data (i32.const 0x100) {data_bytes(table)})")
    for p, _ln, b in entries:
        if b:
            datas.append(f"    (data (i32.const {hex(p)}) {data_bytes(b)})")
    head = f"(component definition ${defname}" if defname else "(component"
    return f"""{head}
  (core module $M
    (memory (export "mem") 2)
{REALLOC}
{chr(10).join(datas)}
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
    (func (export "byte") (param i32 i32 i32) (result i32)
      (i32.load8_u (i32.add (local.get 0) (local.get 2))))
    ;; ret: a pointer to the i-th (ptr, len) pair of the table
    (func (export "ret") (param i32) (result i32)
      (i32.add (i32.const 0x100) (i32.shl (local.get 0) (i32.const 3))))
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) {o}))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) {o}))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) {o}))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) {o}))
)
"""


def u16b(s):
    return s.encode("utf-16-le")


END = 0x20000

# (ptr, len-field, bytes, expected string or ('trap', msg))
FIX = {
    "utf8": [
        (0x400, 0, b"", ""),
        (0x410, 5, b"hello", "hello"),
        (0x420, 6, "h\u00e9llo".encode(), "h\u00e9llo"),
        (0x430, 4, "\U0001f600".encode(), "\U0001f600"),
        (0, 0, b"", ""),
        (END - 2, 2, b"ok", "ok"),  # ends exactly at the end of memory
        (0x440, 1, b"\xff", ("trap", "invalid utf-8")),
        (0x450, 1, b"\xc3", ("trap", "incomplete utf-8")),  # truncated sequence
        (0x460, 3, b"\xed\xa0\x80", ("trap", "invalid utf-8")),  # encoded surrogate
        (0x470, 2, b"\xc0\x80", ("trap", "invalid utf-8")),  # overlong NUL
        (END - 2, 3, b"", ("trap", "out of bounds")),
        (0xFFFFFFFF, 1, b"", ("trap", "out of bounds")),
    ],
    "utf16": [
        (0x400, 0, b"", ""),
        (0x410, 2, u16b("hi"), "hi"),
        (0x420, 2, u16b("\u00e9\u20ac"), "\u00e9\u20ac"),
        (0x430, 2, u16b("\U0001f600"), "\U0001f600"),
        (0, 0, b"", ""),
        (END - 4, 2, u16b("ok"), "ok"),
        (0x440, 1, b"\x3d\xd8", ("trap", "unpaired surrogate")),  # lone high surrogate at the end
        (0x450, 2, b"\x00\xde\x41\x00", ("trap", "unpaired surrogate")),  # lone low surrogate
        (0x460, 2, b"\x3d\xd8\x41\x00", ("trap", "unpaired surrogate")),  # high surrogate then 'A'
        (0x471, 1, b"\x41\x00", ("trap", "not aligned")),  # odd pointer
        (END - 2, 2, b"", ("trap", "out of bounds")),  # 4 bytes, 2 available
    ],
    "latin1+utf16": [
        (0x400, 0, b"", ""),
        (0x410, 5, "h\u00e9llo".encode("latin-1"), "h\u00e9llo"),
        (0x420, 3, bytes([0x41, 0xFF, 0x80]), "A\u00ff\u0080"),
        (0x430, 0x80000002, u16b("\u20ac\u00e9"), "\u20ac\u00e9"),  # tagged UTF-16
        (0x440, 0x80000002, u16b("\U0001f600"), "\U0001f600"),
        (0x450, 0x80000002, u16b("h\u00e9"), "h\u00e9"),  # tagged, yet latin1-only content
        (END - 2, 2, b"ok", "ok"),
        (0x460, 0x80000001, b"\x00\xdc", ("trap", "unpaired surrogate")),
        (0x471, 1, b"A", ("trap", "not aligned")),  # latin1 still needs 2-alignment
        (0x481, 0x80000001, b"\x41\x00", ("trap", "not aligned")),
        (END - 2, 3, b"", ("trap", "out of bounds")),
        (END - 2, 0x80000002, b"", ("trap", "out of bounds")),
    ],
}


def gen():
    out = [HEADER]
    # --- host <-> leaf, per encoding
    for enc in ENCS:
        ents = [(p, ln, b) for (p, ln, b, _) in FIX[enc]]
        out.append(
            f";; ===========================================================================\n;; {enc}: strings between the host and a single component\n"
        )
        out.append(fixed_component(enc, ents))
        for s in TEST_STRINGS:
            out.append(
                f'(assert_return (invoke "echo" (str.const {wstr(s)})) (str.const {wstr(s)}))'
            )
        for s in TEST_STRINGS:
            out.append(
                f'(assert_return (invoke "len" (str.const {wstr(s)})) (u32.const {enclen(enc, s)}))'
            )
        # byte views of one non-ASCII string
        for s in ["\u00e9\u20ac", "\U0001f600"]:
            if enc == "utf8":
                b = s.encode()
            elif enc == "utf16" or any(ord(c) > 255 for c in s):
                b = u16b(s)
            else:
                b = s.encode("latin-1")
            for i, x in enumerate(b):
                out.append(
                    f'(assert_return (invoke "byte" (str.const {wstr(s)}) (u32.const {i})) (u8.const {hex(x)}))'
                )
        if enc == "latin1+utf16":
            for i, x in enumerate("\u00e9\u00ff".encode("latin-1")):
                out.append(
                    f'(assert_return (invoke "byte" (str.const {wstr(chr(0xE9) + chr(0xFF))}) (u32.const {i})) (u8.const {hex(x)}))'
                )
        for i, (_p, _l, _b, exp) in enumerate(FIX[enc]):
            if not isinstance(exp, tuple):
                out.append(
                    f'(assert_return (invoke "ret" (u32.const {i})) (str.const {wstr(exp)}))'
                )
        out.append("")
        # traps: one fresh instance per trap (a trap poisons the instance)
        dn = "Bad" + SHORT[enc]
        out.append(f";; {enc}: invalid results trap (fresh instance for each)")
        out.append(fixed_component(enc, ents, defname=dn))
        for i, (_p, _l, _b, exp) in enumerate(FIX[enc]):
            if isinstance(exp, tuple):
                out.append(f"(component instance ${dn.lower()}{i} ${dn})")
                out.append(f'(assert_trap (invoke "ret" (u32.const {i})) "{exp[1]}")')
        out.append("")
    # --- transcoding pairs
    out.append(
        ";; ===========================================================================\n;; Transcoding between two components with (possibly) different encodings.\n;; round-trip: host -> caller -> callee echo -> caller -> host must preserve\n;; the string; callee-len is the code-unit count in the *callee* encoding\n;; (latin1+utf16 picks latin1 exactly when every char is < U+0100, otherwise\n;; tagged UTF-16); back-len is the count in the caller encoding.\n"
    )
    for caller in ENCS:
        for callee in ENCS:
            out.append(pair(caller, callee))
            for s in TEST_STRINGS:
                out.append(
                    f'(assert_return (invoke "round-trip" (str.const {wstr(s)})) (str.const {wstr(s)}))'
                )
            for s in TEST_STRINGS[1:]:
                out.append(
                    f'(assert_return (invoke "callee-len" (str.const {wstr(s)})) (u32.const {enclen(callee, s)}))'
                )
            for s in TEST_STRINGS[2:]:
                out.append(
                    f'(assert_return (invoke "back-len" (str.const {wstr(s)})) (u32.const {enclen(caller, s)}))'
                )
            out.append("")
    out.append(TRAILER)
    return "\n".join(out)


HEADER = """;; values-strings.wast -- Canonical ABI strings (CanonicalABI.md "Strings",
;; definitions.py load_string_from_range / store_string_into_range).
;;
;; Pins:
;;  * utf8, utf16 and latin1+utf16 strings lifted from a component's memory
;;    (results) and lowered into it through realloc (params): empty strings
;;    (also with ptr 0 and with a non-zero ptr), ASCII, Latin-1, BMP and
;;    astral characters, a string ending exactly at the end of memory.
;;  * The code-unit count the core code receives: UTF-8 bytes, UTF-16 code
;;    units, and for latin1+utf16 the Latin-1 byte count when every char is
;;    below U+0100, else the UTF-16 code-unit count tagged with bit 31.
;;  * The exact bytes the core code receives (little-endian UTF-16, Latin-1).
;;  * Transcoding for every (caller, callee) pair of encodings through
;;    canon lower of another component's lifted function.
;;  * Traps: invalid UTF-8 (bad byte, truncated, surrogate, overlong),
;;    unpaired UTF-16 surrogates, out-of-bounds ptr/len, misaligned
;;    utf16 and latin1+utf16 pointers (alignment 2 even for Latin-1 content),
;;    a realloc result that is misaligned or out of bounds, and an invalid
;;    string passed from one component to another.
;;
;; Every component has 2 pages of memory (0x20000 bytes).
"""

TRAILER = r""";; ===========================================================================
;; Lowering traps: realloc must return an aligned, in-bounds pointer.
(component definition $BadRealloc
  (core module $M
    (memory (export "mem") 1)
    (func (export "realloc-odd") (param i32 i32 i32 i32) (result i32) (i32.const 0x101))
    (func (export "realloc-oob") (param i32 i32 i32 i32) (result i32) (i32.const 0xfffe))
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc-odd" (core func $odd))
  (alias core export $m "realloc-oob" (core func $oob))
  (func (export "utf16-odd") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $odd) string-encoding=utf16))
  (func (export "latin1-odd") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $odd) string-encoding=latin1+utf16))
  (func (export "utf8-odd") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $odd)))
  (func (export "utf8-oob") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $oob)))
  (func (export "utf16-oob") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $oob) string-encoding=utf16))
)
(component instance $br1 $BadRealloc)
;; utf8 has alignment 1, so an odd pointer is fine
(assert_return (invoke "utf8-odd" (str.const "abc")) (u32.const 3))
;; 0xfffe + 2 bytes fits exactly in one page
(assert_return (invoke "utf8-oob" (str.const "ab")) (u32.const 2))
(component instance $br2 $BadRealloc)
(assert_trap (invoke "utf16-odd" (str.const "abc")) "not aligned")
(component instance $br3 $BadRealloc)
(assert_trap (invoke "latin1-odd" (str.const "abc")) "not aligned")
(component instance $br4 $BadRealloc)
(assert_trap (invoke "utf8-oob" (str.const "abc")) "beyond end of memory")
(component instance $br5 $BadRealloc)
(assert_trap (invoke "utf16-oob" (str.const "ab")) "beyond end of memory")

;; ===========================================================================
;; An invalid string handed from one component to another traps in the
;; adapter, before the callee runs.
(component definition $CrossBad
  (component $Callee
    (core module $M
      (memory (export "mem") 1)
      (global $calls (mut i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0x100))
      (func (export "take") (param i32 i32) (global.set $calls (i32.add (global.get $calls) (i32.const 1))))
    )
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "take-utf8") (param "s" string)
      (canon lift (core func $m "take") (memory $mem) (realloc $realloc)))
    (func (export "take-utf16") (param "s" string)
      (canon lift (core func $m "take") (memory $mem) (realloc $realloc) string-encoding=utf16))
  )
  (instance $callee (instantiate $Callee))
  (core module $Mem
    (memory (export "mem") 1)
    (data (i32.const 0x10) "ok\ff\00\3d\d8"))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $u8-to-u8 (canon lower (func $callee "take-utf8") (memory $memory)))
  (core func $u8-to-u16 (canon lower (func $callee "take-utf16") (memory $memory)))
  (core func $u16-to-u8 (canon lower (func $callee "take-utf8") (memory $memory) string-encoding=utf16))
  (core module $M
    (import "" "u8-to-u8" (func $u8-to-u8 (param i32 i32)))
    (import "" "u8-to-u16" (func $u8-to-u16 (param i32 i32)))
    (import "" "u16-to-u8" (func $u16-to-u8 (param i32 i32)))
    (func (export "ok") (call $u8-to-u8 (i32.const 0x10) (i32.const 2)) (call $u8-to-u16 (i32.const 0x10) (i32.const 2)))
    (func (export "bad-u8-to-u8") (call $u8-to-u8 (i32.const 0x10) (i32.const 3)))
    (func (export "bad-u8-to-u16") (call $u8-to-u16 (i32.const 0x10) (i32.const 3)))
    (func (export "bad-u16-to-u8") (call $u16-to-u8 (i32.const 0x13) (i32.const 1)))
    (func (export "bad-u16-surrogate") (call $u16-to-u8 (i32.const 0x14) (i32.const 1)))
    (func (export "oob-u8") (call $u8-to-u16 (i32.const 0xffff) (i32.const 2)))
  )
  (core instance $m (instantiate $M (with "" (instance
    (export "u8-to-u8" (func $u8-to-u8))
    (export "u8-to-u16" (func $u8-to-u16))
    (export "u16-to-u8" (func $u16-to-u8))))))
  (func (export "ok") (canon lift (core func $m "ok")))
  (func (export "bad-u8-to-u8") (canon lift (core func $m "bad-u8-to-u8")))
  (func (export "bad-u8-to-u16") (canon lift (core func $m "bad-u8-to-u16")))
  (func (export "bad-u16-to-u8") (canon lift (core func $m "bad-u16-to-u8")))
  (func (export "bad-u16-surrogate") (canon lift (core func $m "bad-u16-surrogate")))
  (func (export "oob-u8") (canon lift (core func $m "oob-u8")))
)
(component instance $cb0 $CrossBad)
(assert_return (invoke "ok"))
(component instance $cb1 $CrossBad)
(assert_trap (invoke "bad-u8-to-u8") "invalid utf8")
(component instance $cb2 $CrossBad)
(assert_trap (invoke "bad-u8-to-u16") "invalid utf8")
(component instance $cb3 $CrossBad)
(assert_trap (invoke "bad-u16-to-u8") "unaligned pointer")
(component instance $cb4 $CrossBad)
(assert_trap (invoke "bad-u16-surrogate") "invalid utf16")
(component instance $cb5 $CrossBad)
(assert_trap (invoke "oob-u8") "out-of-bounds")
"""

if __name__ == "__main__":
    sys.stdout.write(gen())

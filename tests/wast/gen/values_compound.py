import sys

REALLOC = """    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func $realloc (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))"""


def comp(core_body, types, funcs, definition=None):
    """funcs: list of (name, functype-text, core-export, with_realloc)"""
    head = f"(component definition ${definition}" if definition else "(component"
    lines = [
        head,
        "  (core module $M",
        '    (memory (export "mem") 1)',
        REALLOC,
        core_body,
        "  )",
        "  (core instance $m (instantiate $M))",
        '  (alias core export $m "mem" (core memory $mem))',
        '  (alias core export $m "realloc" (core func $realloc))',
    ]
    lines += ["  " + t for t in types]
    for name, ft, core in funcs:
        lines.append(
            f'  (func (export "{name}") {ft}\n    (canon lift (core func $m "{core}") (memory $mem) (realloc $realloc)))'
        )
    lines.append(")")
    return "\n".join(lines)


def data_bytes(b):
    return '"' + "".join(f"\\{x:02x}" for x in b) + '"'


def le(v, n):
    return (v % (1 << (8 * n))).to_bytes(n, "little")


HEADER = """;; values-compound.wast -- Canonical ABI compound types (CanonicalABI.md
;; "Despecialization", "Alignment", "Element Size", "Loading", "Storing",
;; "Flattening").
;;
;; Pins:
;;  * list<T>: (ptr, len) where len counts elements; empty lists, list<u8>,
;;    list<u32>, list<u64>, list<record>, list<string>, list<list<u16>>; the
;;    exact byte layout of lowered list elements; traps on a misaligned or
;;    out-of-bounds list and on a length whose byte size overflows.
;;  * record / tuple: fields at aligned offsets (padding skipped, garbage in
;;    padding ignored), record alignment = max field alignment, flat params.
;;  * variant: discriminant then payload aligned to the max case alignment;
;;    flat form joins case payload types (i32+f32 -> i32, i32+i64 -> i64,
;;    f32+i64 -> i64); u8 vs u16 discriminant (256 vs 257 cases); a bad
;;    discriminant traps (in memory, in a flat result, in a flat param).
;;  * enum (incl. 256/257 cases), option, result (all four shapes).
;;  * flags with 1, 8, 9, 16, 17 and 32 labels: in-memory size 1/2/4 bytes,
;;    bit i = label i, flat form one i32.
;;  * nested combinations round-trip host -> component -> host.
;;
;; Exported functions may only mention record/variant/enum/flags types that
;; are themselves exported, so each such type is exported under a name.
"""


def lists():
    core = r"""
    ;; echo: store the received (ptr, len) as the result pair
    (func $echo (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
    (func (export "byte") (param i32 i32 i32) (result i32)
      (i32.load8_u (i32.add (local.get 0) (local.get 2))))
    ;; sum of a list<u32>
    (func (export "sum32") (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (local.get $s))
    ;; ret: pointer to the i-th (ptr, len) pair of the table at 0x100
    (func (export "ret") (param i32) (result i32)
      (i32.add (i32.const 0x100) (i32.shl (local.get 0) (i32.const 3))))
"""
    # table entries for list<u16> results
    ents = [
        (0x400, 3, le(1, 2) + le(0xFFFF, 2) + le(0x8000, 2)),  # [1, 65535, 32768]
        (0x400, 0, b""),  # empty, non-zero ptr
        (0, 0, b""),  # empty, ptr 0
        (0xFFFE, 1, le(7, 2)),  # last element ends at end of memory
        (0x401, 1, b""),  # misaligned
        (0xFFFE, 2, b""),  # out of bounds
        (0xFFFFFFFF, 0, b""),  # out of bounds even when empty
        (0x400, 0x80000000, b""),  # byte length overflows 32 bits
    ]
    table = b"".join(le(p, 4) + le(n, 4) for p, n, _ in ents)
    datas = [f"    (data (i32.const 0x100) {data_bytes(table)})"] + [
        f"    (data (i32.const {hex(p)}) {data_bytes(b)})" for p, _n, b in ents if b
    ]
    core += (
        "    ;; list<u16> table: "
        + "; ".join(f"{i}: ptr={hex(p)} len={hex(n)}" for i, (p, n, _) in enumerate(ents))
        + "\n"
        + "\n".join(datas)
    )
    types = [
        '(type $P\' (record (field "a" u8) (field "b" u32)))',
        '(export $P "pair" (type $P\'))',
    ]
    funcs = [
        ("echo-u8", '(param "l" (list u8)) (result (list u8))', "echo"),
        ("echo-u32", '(param "l" (list u32)) (result (list u32))', "echo"),
        ("echo-u64", '(param "l" (list u64)) (result (list u64))', "echo"),
        ("echo-pair", '(param "l" (list $P)) (result (list $P))', "echo"),
        ("echo-str", '(param "l" (list string)) (result (list string))', "echo"),
        ("echo-nested", '(param "l" (list (list u16))) (result (list (list u16)))', "echo"),
        ("len-u64", '(param "l" (list u64)) (result u32)', "len"),
        ("len-str", '(param "l" (list string)) (result u32)', "len"),
        ("byte-pair", '(param "l" (list $P)) (param "i" u32) (result u8)', "byte"),
        ("byte-u64", '(param "l" (list u64)) (param "i" u32) (result u8)', "byte"),
        ("byte-str", '(param "l" (list string)) (param "i" u32) (result u8)', "byte"),
        ("sum32", '(param "l" (list u32)) (result u32)', "sum32"),
        ("ret-u16", '(param "i" u32) (result (list u16))', "ret"),
    ]
    out = [
        "",
        ";; ===========================================================================",
        ";; Lists",
        comp(core, types, funcs),
    ]
    A = out.append
    A('(assert_return (invoke "echo-u8" (list.const)) (list.const))')
    A(
        '(assert_return (invoke "echo-u8" (list.const (u8.const 0) (u8.const 255) (u8.const 128))) (list.const (u8.const 0) (u8.const 255) (u8.const 128)))'
    )
    A(
        '(assert_return (invoke "echo-u32" (list.const (u32.const 1) (u32.const 0xffffffff))) (list.const (u32.const 1) (u32.const 0xffffffff)))'
    )
    A(
        '(assert_return (invoke "echo-u64" (list.const (u64.const 0xffffffffffffffff) (u64.const 0))) (list.const (u64.const 0xffffffffffffffff) (u64.const 0)))'
    )
    A(
        '(assert_return (invoke "echo-pair" (list.const (record.const (field "a" u8.const 1) (field "b" u32.const 2)) (record.const (field "a" u8.const 255) (field "b" u32.const 0xdeadbeef)))) (list.const (record.const (field "a" u8.const 1) (field "b" u32.const 2)) (record.const (field "a" u8.const 255) (field "b" u32.const 0xdeadbeef))))'
    )
    A('(assert_return (invoke "echo-str" (list.const)) (list.const))')
    A(
        '(assert_return (invoke "echo-str" (list.const (str.const "") (str.const "ab") (str.const "\\u{1F600}"))) (list.const (str.const "") (str.const "ab") (str.const "\\u{1F600}")))'
    )
    A(
        '(assert_return (invoke "echo-nested" (list.const (list.const) (list.const (u16.const 1) (u16.const 65535)) (list.const (u16.const 3)))) (list.const (list.const) (list.const (u16.const 1) (u16.const 65535)) (list.const (u16.const 3))))'
    )
    A(";; len is the element count, not the byte count")
    A(
        '(assert_return (invoke "len-u64" (list.const (u64.const 1) (u64.const 2) (u64.const 3))) (u32.const 3))'
    )
    A(
        '(assert_return (invoke "len-str" (list.const (str.const "abc") (str.const "de"))) (u32.const 2))'
    )
    A(";; list<pair>: 8-byte elements, a at offset 0, b at offset 4")
    pair_bytes = (
        le(0x11, 1) + b"\0\0\0" + le(0x44332211, 4) + le(0x22, 1) + b"\0\0\0" + le(0x88776655, 4)
    )
    for i in [0, 4, 5, 6, 7, 8, 12, 15]:
        A(
            f'(assert_return (invoke "byte-pair" (list.const (record.const (field "a" u8.const 0x11) (field "b" u32.const 0x44332211)) (record.const (field "a" u8.const 0x22) (field "b" u32.const 0x88776655))) (u32.const {i})) (u8.const {hex(pair_bytes[i])}))'
        )
    A(";; list<u64>: little-endian 8-byte elements")
    for i in [0, 7, 8, 15]:
        v = le(0x0102030405060708, 8) + le(0xA0B0C0D0E0F01020, 8)
        A(
            f'(assert_return (invoke "byte-u64" (list.const (u64.const 0x0102030405060708) (u64.const 0xa0b0c0d0e0f01020)) (u32.const {i})) (u8.const {hex(v[i])}))'
        )
    A(
        ';; list<string>: each element is an 8-byte (ptr, len) pair; the length of "abc" is at offset 4'
    )
    A(
        '(assert_return (invoke "byte-str" (list.const (str.const "abc") (str.const "de")) (u32.const 4)) (u8.const 3))'
    )
    A(
        '(assert_return (invoke "byte-str" (list.const (str.const "abc") (str.const "de")) (u32.const 12)) (u8.const 2))'
    )
    A(
        '(assert_return (invoke "sum32" (list.const (u32.const 1) (u32.const 2) (u32.const 3) (u32.const 0x100))) (u32.const 0x106))'
    )
    A(
        '(assert_return (invoke "ret-u16" (u32.const 0)) (list.const (u16.const 1) (u16.const 65535) (u16.const 32768)))'
    )
    A('(assert_return (invoke "ret-u16" (u32.const 1)) (list.const))')
    A('(assert_return (invoke "ret-u16" (u32.const 2)) (list.const))')
    A('(assert_return (invoke "ret-u16" (u32.const 3)) (list.const (u16.const 7)))')
    A(";; invalid list results trap; fresh instance per trap")
    A(comp(core, types, funcs, definition="L"))
    for i, msg in [
        (4, "list pointer is not aligned"),
        (5, "list pointer/length out of bounds"),
        (6, "list pointer/length out of bounds"),
        (7, "out of bounds"),
    ]:
        A(f"(component instance $l{i} $L)")
        A(f'(assert_trap (invoke "ret-u16" (u32.const {i})) "{msg}")')
    return "\n".join(out)


class Ret:
    """Lays out fixed in-memory values; "ret-NAME" (param i) returns a
    pointer to the i-th value of NAME (lifted as the result type)."""

    def __init__(self):
        self.next = 0x2000
        self.tbl = 0x100
        self.core = []
        self.funcs = []

    def add(self, name, ty, entries, comment=""):
        ptrs = []
        for b in entries:
            self.next = (self.next + 15) & ~15
            ptrs.append(self.next)
            if b:
                self.core.append(f"    (data (i32.const {hex(self.next)}) {data_bytes(b)})")
            self.next += max(len(b), 1)
        self.core.append(
            f"    (data (i32.const {hex(self.tbl)}) {data_bytes(b''.join(le(p, 4) for p in ptrs))})"
        )
        self.core.append(
            f'    (func (export "ret-{name}") (param i32) (result i32)'
            f" (i32.load (i32.add (i32.const {hex(self.tbl)}) (i32.shl (local.get 0) (i32.const 2)))))"
        )
        self.tbl += 4 * len(entries)
        self.funcs.append((f"ret-{name}", f'(param "i" u32) (result {ty})', f"ret-{name}"))
        return ptrs


def labels(prefix, n):
    return " ".join(f'"{prefix}{i}"' for i in range(n))


def records():
    out = [
        "",
        ";; ===========================================================================",
        ";; Records, tuples, variants, enums, options, results, flags",
    ]
    A = out.append
    r = Ret()
    types = [
        '(type $R\' (record (field "a" u8) (field "b" u32) (field "c" u16) (field "d" u64) (field "e" bool) (field "f" s8)))',
        '(export $R "rec" (type $R\'))',
        '(type $V\' (variant (case "a") (case "b" u8) (case "c" u64) (case "d" f32) (case "e" string)))',
        '(export $V "var" (type $V\'))',
        '(type $E3\' (enum "x" "y" "z"))',
        '(export $E3 "e3" (type $E3\'))',
        f"(type $E256' (enum {labels('e', 256)}))",
        '(export $E256 "e256" (type $E256\'))',
        f"(type $E257' (enum {labels('e', 257)}))",
        '(export $E257 "e257" (type $E257\'))',
        "(type $V257' (variant "
        + " ".join(f'(case "c{i}")' for i in range(256))
        + ' (case "c256" u8)))',
        '(export $V257 "v257" (type $V257\'))',
    ]
    for n in [1, 8, 9, 16, 17, 32]:
        types.append(f"(type $F{n}' (flags {labels('f', n)}))")
        types.append(f'(export $F{n} "f{n}" (type $F{n}\'))')
    G = 0xCC  # garbage byte for padding

    def pad(n):
        return bytes([G]) * n

    # record layout: a@0 b@4 c@8 d@16 e@24 f@25, size 32
    rec = (
        le(0xFE, 1)
        + pad(3)
        + le(0x12345678, 4)
        + le(0xBEEF, 2)
        + pad(6)
        + le(0x1122334455667788, 8)
        + le(2, 1)
        + le(0x80, 1)
        + pad(6)
    )
    r.add("rec", "$R", [rec])
    # tuple<u8, u64, u8>: 0, 8, 16; size 24
    r.add(
        "tup",
        "(tuple u8 u64 u8)",
        [le(9, 1) + pad(7) + le(0xFFFFFFFFFFFFFFFF, 8) + le(0x7F, 1) + pad(7)],
    )
    # variant: disc u8 @0, payload @8 (max case alignment 8), size 16
    r.core.append('    (data (i32.const 0x1800) "hey")')
    var = [
        le(0, 1) + pad(15),
        le(1, 1) + pad(7) + le(0xFF, 1) + pad(7),
        le(2, 1) + pad(7) + le(0x8000000000000001, 8),
        le(3, 1) + pad(7) + le(0x3FC00000, 4) + pad(4),
        le(4, 1) + pad(7) + le(0x1800, 4) + le(3, 4),
        le(5, 1) + pad(15),
        le(0xFF, 1) + pad(15),
    ]
    r.add("var", "$V", var)
    # enums with 256 (u8 discriminant) and 257 (u16 discriminant) cases, followed by a u8
    r.add("e256", "(tuple $E256 u8)", [le(255, 1) + le(7, 1), le(0, 1) + le(8, 1)])
    r.add(
        "e257",
        "(tuple $E257 u8)",
        [le(256, 2) + le(7, 1) + pad(1), le(1, 2) + le(8, 1) + pad(1), le(257, 2) + le(0, 2)],
    )
    # variant with 257 cases: u16 discriminant, u8 payload at 2, size 4 (align 2); then the u8 at 4
    r.add(
        "v257",
        "(tuple $V257 u8)",
        [le(256, 2) + le(0x42, 1) + pad(1) + le(9, 1), le(255, 2) + pad(2) + le(9, 1)],
    )
    # option<u32>: disc @0, payload @4, size 8
    r.add(
        "opt", "(option u32)", [le(0, 1) + pad(7), le(1, 1) + pad(3) + le(42, 4), le(2, 1) + pad(7)]
    )
    # option<option<u8>>: outer disc @0, inner disc @1, inner payload @2
    r.add(
        "optopt",
        "(option (option u8))",
        [
            le(0, 1) + pad(2),
            le(1, 1) + le(0, 1) + pad(1),
            le(1, 1) + le(1, 1) + le(5, 1),
            le(1, 1) + le(2, 1) + pad(1),
        ],
    )
    # result<u32, string>: disc @0, payload @4, size 12
    r.add(
        "res-both",
        "(result u32 (error string))",
        [
            le(0, 1) + pad(3) + le(77, 4) + pad(4),
            le(1, 1) + pad(3) + le(0x1800, 4) + le(3, 4),
            le(2, 1) + pad(11),
        ],
    )
    r.add("res-ok", "(result u8)", [le(0, 1) + le(200, 1), le(1, 1) + pad(1)])
    r.add("res-err", "(result (error u8))", [le(0, 1) + pad(1), le(1, 1) + le(201, 1)])
    # flags in memory, followed by a u8 marker: sizes 1, 1, 2, 2, 4, 4
    fl = {
        1: (1, 0x1),
        8: (1, 0x81),
        9: (2, 0x101),
        16: (2, 0x8001),
        17: (4, 0x10001),
        32: (4, 0x80000001),
    }
    for n, (sz, v) in fl.items():
        r.add(f"f{n}", f"(tuple $F{n} u8)", [le(v, sz) + le(0x5A, 1) + pad(sz - 1)])

    core = r"""
    (func (export "id32") (param i32) (result i32) (local.get 0))
    (func (export "first-of-2") (param i32 i32) (result i32) (local.get 0))
    ;; echo-rec: store the flat record params at the record's memory layout
    (func (export "echo-rec") (param $a i32) (param $b i32) (param $c i32) (param $d i64) (param $e i32) (param $f i32) (result i32)
      (i32.store8 (i32.const 0x40) (local.get $a))
      (i32.store (i32.const 0x44) (local.get $b))
      (i32.store16 (i32.const 0x48) (local.get $c))
      (i64.store (i32.const 0x50) (local.get $d))
      (i32.store8 (i32.const 0x58) (local.get $e))
      (i32.store8 (i32.const 0x59) (local.get $f))
      (i32.const 0x40))
    (func (export "tup-mid") (param i32 i64 i32) (result i64) (local.get 1))
    (func (export "tup-last") (param i32 i64 i32) (result i32) (local.get 2))
    ;; variant flat params: (disc i32, slot0 i64, slot1 i32)
    (func (export "var-disc") (param i32 i64 i32) (result i32) (local.get 0))
    (func (export "var-slot0") (param i32 i64 i32) (result i64) (local.get 1))
    (func (export "var-slot1") (param i32 i64 i32) (result i32) (local.get 2))
    ;; option<f32> / result<f32, u64> flat params
    (func (export "optf-slot") (param i32 f32) (result i32) (i32.reinterpret_f32 (local.get 1)))
    (func (export "resfu-slot") (param i32 i64) (result i64) (local.get 1))
    (func (export "resfs-slot") (param i32 i32) (result i32) (local.get 1))
""" + "\n".join(r.core)
    funcs = r.funcs + [
        ("echo-rec", '(param "r" $R) (result $R)', "echo-rec"),
        ("tup-mid", '(param "t" (tuple u8 u64 u8)) (result u64)', "tup-mid"),
        ("tup-last", '(param "t" (tuple u8 u64 u8)) (result u8)', "tup-last"),
        ("var-disc", '(param "v" $V) (result u32)', "var-disc"),
        ("var-slot0", '(param "v" $V) (result u64)', "var-slot0"),
        ("var-slot1", '(param "v" $V) (result u32)', "var-slot1"),
        ("optf-slot", '(param "o" (option f32)) (result u32)', "optf-slot"),
        ("resfu-slot", '(param "r" (result f32 (error u64))) (result u64)', "resfu-slot"),
        ("resfs-slot", '(param "r" (result f32 (error s8))) (result u32)', "resfs-slot"),
        ("enum3", '(param "x" u32) (result $E3)', "id32"),
        ("enum3-in", '(param "x" $E3) (result u32)', "id32"),
        ("enum257-in", '(param "x" $E257) (result u32)', "id32"),
        ("res-none", '(param "x" u32) (result (result))', "id32"),
        ("res-none-in", '(param "x" (result)) (result u32)', "id32"),
        ("opt-none-in", '(param "x" (option u8)) (result u32)', "first-of-2"),
    ]
    for n in [1, 8, 9, 16, 17, 32]:
        funcs.append((f"flags{n}", f'(param "x" u32) (result $F{n})', "id32"))
        funcs.append((f"flags{n}-in", f'(param "x" $F{n}) (result u32)', "id32"))
    C = comp(core, types, funcs)
    A(C)
    rc = '(record.const (field "a" u8.const 254) (field "b" u32.const 0x12345678) (field "c" u16.const 0xbeef) (field "d" u64.const 0x1122334455667788) (field "e" bool.const true) (field "f" s8.const -128))'
    A(";; record fields are read at aligned offsets; padding bytes are ignored")
    A(f'(assert_return (invoke "ret-rec" (u32.const 0)) {rc})')
    A(f'(assert_return (invoke "echo-rec" {rc}) {rc})')
    rc2 = '(record.const (field "a" u8.const 0) (field "b" u32.const 0) (field "c" u16.const 0) (field "d" u64.const 0) (field "e" bool.const false) (field "f" s8.const 0))'
    A(f'(assert_return (invoke "echo-rec" {rc2}) {rc2})')
    A(
        '(assert_return (invoke "ret-tup" (u32.const 0)) (tuple.const (u8.const 9) (u64.const 0xffffffffffffffff) (u8.const 0x7f)))'
    )
    A(
        '(assert_return (invoke "tup-mid" (tuple.const (u8.const 1) (u64.const 0xfedcba9876543210) (u8.const 2))) (u64.const 0xfedcba9876543210))'
    )
    A(
        '(assert_return (invoke "tup-last" (tuple.const (u8.const 1) (u64.const 3) (u8.const 200))) (u8.const 200))'
    )
    A(";; variants in memory: u8 discriminant, payload at offset 8")
    A('(assert_return (invoke "ret-var" (u32.const 0)) (variant.const "a"))')
    A('(assert_return (invoke "ret-var" (u32.const 1)) (variant.const "b" (u8.const 0xff)))')
    A(
        '(assert_return (invoke "ret-var" (u32.const 2)) (variant.const "c" (u64.const 0x8000000000000001)))'
    )
    A('(assert_return (invoke "ret-var" (u32.const 3)) (variant.const "d" (f32.const 1.5)))')
    A('(assert_return (invoke "ret-var" (u32.const 4)) (variant.const "e" (str.const "hey")))')
    A(";; variant flat params: joined slots [i32 disc, i64, i32]; unused slots are zero")
    for case, val, disc, s0, s1 in [
        ("a", None, 0, 0, 0),
        ("b", "(u8.const 255)", 1, 0xFF, 0),
        ("c", "(u64.const 0xffffffffffffffff)", 2, 0xFFFFFFFFFFFFFFFF, 0),
        ("d", "(f32.const 1.5)", 3, 0x3FC00000, 0),
        ("d", "(f32.const -0)", 3, 0x80000000, 0),
    ]:
        v = f'(variant.const "{case}"{" " + val if val else ""})'
        A(f'(assert_return (invoke "var-disc" {v}) (u32.const {disc}))')
        A(f'(assert_return (invoke "var-slot0" {v}) (u64.const {hex(s0)}))')
        A(f'(assert_return (invoke "var-slot1" {v}) (u32.const {s1}))')
    A('(assert_return (invoke "var-disc" (variant.const "e" (str.const "hello"))) (u32.const 4))')
    A('(assert_return (invoke "var-slot1" (variant.const "e" (str.const "hello"))) (u32.const 5))')
    A(
        ";; option<f32> flattens to (i32, f32); result<f32, u64> to (i32, i64); result<f32, s8> to (i32, i32)"
    )
    A('(assert_return (invoke "optf-slot" (option.some (f32.const -1))) (u32.const 0xbf800000))')
    A('(assert_return (invoke "optf-slot" (option.none)) (u32.const 0))')
    A('(assert_return (invoke "resfu-slot" (result.ok (f32.const 2))) (u64.const 0x40000000))')
    A(
        '(assert_return (invoke "resfu-slot" (result.err (u64.const 0xffffffffffffffff))) (u64.const 0xffffffffffffffff))'
    )
    A('(assert_return (invoke "resfs-slot" (result.ok (f32.const -2))) (u32.const 0xc0000000))')
    A('(assert_return (invoke "resfs-slot" (result.err (s8.const -1))) (u32.const 0xffffffff))')
    A(";; enums: flat form is the case index")
    A('(assert_return (invoke "enum3" (u32.const 0)) (enum.const "x"))')
    A('(assert_return (invoke "enum3" (u32.const 2)) (enum.const "z"))')
    A('(assert_return (invoke "enum3-in" (enum.const "y")) (u32.const 1))')
    A('(assert_return (invoke "enum257-in" (enum.const "e256")) (u32.const 256))')
    A(";; 256 cases use a u8 discriminant, 257 cases a u16 discriminant")
    A(
        '(assert_return (invoke "ret-e256" (u32.const 0)) (tuple.const (enum.const "e255") (u8.const 7)))'
    )
    A(
        '(assert_return (invoke "ret-e256" (u32.const 1)) (tuple.const (enum.const "e0") (u8.const 8)))'
    )
    A(
        '(assert_return (invoke "ret-e257" (u32.const 0)) (tuple.const (enum.const "e256") (u8.const 7)))'
    )
    A(
        '(assert_return (invoke "ret-e257" (u32.const 1)) (tuple.const (enum.const "e1") (u8.const 8)))'
    )
    A(
        '(assert_return (invoke "ret-v257" (u32.const 0)) (tuple.const (variant.const "c256" (u8.const 0x42)) (u8.const 9)))'
    )
    A(
        '(assert_return (invoke "ret-v257" (u32.const 1)) (tuple.const (variant.const "c255") (u8.const 9)))'
    )
    A(";; option / result")
    A('(assert_return (invoke "ret-opt" (u32.const 0)) (option.none))')
    A('(assert_return (invoke "ret-opt" (u32.const 1)) (option.some (u32.const 42)))')
    A('(assert_return (invoke "ret-optopt" (u32.const 0)) (option.none))')
    A('(assert_return (invoke "ret-optopt" (u32.const 1)) (option.some (option.none)))')
    A(
        '(assert_return (invoke "ret-optopt" (u32.const 2)) (option.some (option.some (u8.const 5))))'
    )
    A('(assert_return (invoke "ret-res-both" (u32.const 0)) (result.ok (u32.const 77)))')
    A('(assert_return (invoke "ret-res-both" (u32.const 1)) (result.err (str.const "hey")))')
    A('(assert_return (invoke "ret-res-ok" (u32.const 0)) (result.ok (u8.const 200)))')
    A('(assert_return (invoke "ret-res-ok" (u32.const 1)) (result.err))')
    A('(assert_return (invoke "ret-res-err" (u32.const 0)) (result.ok))')
    A('(assert_return (invoke "ret-res-err" (u32.const 1)) (result.err (u8.const 201)))')
    A('(assert_return (invoke "res-none" (u32.const 0)) (result.ok))')
    A('(assert_return (invoke "res-none" (u32.const 1)) (result.err))')
    A('(assert_return (invoke "res-none-in" (result.ok)) (u32.const 0))')
    A('(assert_return (invoke "res-none-in" (result.err)) (u32.const 1))')
    A('(assert_return (invoke "opt-none-in" (option.none)) (u32.const 0))')
    A('(assert_return (invoke "opt-none-in" (option.some (u8.const 9))) (u32.const 1))')
    A(";; flags: bit i is label i; in memory 1..8 labels use 1 byte, 9..16 two, 17..32 four")
    for n in [1, 8, 9, 16, 17, 32]:
        allset = (1 << n) - 1
        A(f'(assert_return (invoke "flags{n}" (u32.const 0)) (flags.const))')
        A(
            f'(assert_return (invoke "flags{n}" (u32.const {hex(allset)})) (flags.const {labels("f", n)}))'
        )
        A(
            f'(assert_return (invoke "flags{n}" (u32.const {hex(1 << (n - 1))})) (flags.const "f{n - 1}"))'
        )
        A(
            f'(assert_return (invoke "flags{n}-in" (flags.const "f0" "f{n - 1}")) (u32.const {hex(1 | (1 << (n - 1)))}))'
        )
        A(
            f'(assert_return (invoke "flags{n}-in" (flags.const {labels("f", n)})) (u32.const {hex(allset)}))'
        )
        A(f'(assert_return (invoke "flags{n}-in" (flags.const)) (u32.const 0))')
        v = fl[n][1]
        set_ = " ".join(f'"f{i}"' for i in range(n) if v >> i & 1)
        A(
            f'(assert_return (invoke "ret-f{n}" (u32.const 0)) (tuple.const (flags.const {set_}) (u8.const 0x5a)))'
        )
    A("")
    A(";; bad discriminants and case indices trap (fresh instance per trap)")
    A(comp(core, types, funcs, definition="T"))
    i = 0
    for inv, msg in [
        ('"ret-var" (u32.const 5)', "out of range"),
        ('"ret-var" (u32.const 6)', "out of range"),
        ('"ret-e257" (u32.const 2)', "out of range"),
        ('"ret-opt" (u32.const 2)', "out of range"),
        ('"ret-optopt" (u32.const 3)', "out of range"),
        ('"ret-res-both" (u32.const 2)', "out of range"),
        ('"enum3" (u32.const 3)', "out of range"),
        ('"enum3" (u32.const 0x100)', "out of range"),
        ('"res-none" (u32.const 2)', "out of range"),
    ]:
        i += 1
        A(f"(component instance $t{i} $T)")
        A(f'(assert_trap (invoke {inv}) "{msg}")')
    return "\n".join(out)


def extra():
    out = ["", ";; ==========================================================================="]
    A = out.append
    A(";; Nested types round-trip host -> component -> host through one (ptr, len) pair.")
    core = r"""
    (func (export "echo") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    ;; echo of a 4-flat record through memory: store the flat values at the
    ;; layout of record { o: option<u8>, t: tuple<u16, s64> }: o@0 (disc),
    ;; o.payload@1, t@8 (u16 @8, s64 @16), size 24
    (func (export "echo-ot") (param i32 i32 i32 i64) (result i32)
      (i32.store8 (i32.const 0x40) (local.get 0))
      (i32.store8 (i32.const 0x41) (local.get 1))
      (i32.store16 (i32.const 0x48) (local.get 2))
      (i64.store (i32.const 0x50) (local.get 3))
      (i32.const 0x40))
"""
    types = [
        '(type $F3\' (flags "r" "w" "x"))',
        '(export $F3 "f3" (type $F3\'))',
        '(type $Pay\' (variant (case "n" u32) (case "l" (list u8)) (case "none")))',
        '(export $Pay "pay" (type $Pay\'))',
        '(type $Item\' (record (field "s" string) (field "v" $Pay) (field "f" $F3)))',
        '(export $Item "item" (type $Item\'))',
        '(type $OT\' (record (field "o" (option u8)) (field "t" (tuple u16 s64))))',
        '(export $OT "ot" (type $OT\'))',
    ]
    funcs = [
        ("echo-items", '(param "l" (list (option $Item))) (result (list (option $Item)))', "echo"),
        (
            "echo-res",
            '(param "l" (list (result (list string) (error (tuple bool char))))) (result (list (result (list string) (error (tuple bool char)))))',
            "echo",
        ),
        ("echo-ot", '(param "x" $OT) (result $OT)', "echo-ot"),
    ]
    A(comp(core, types, funcs))
    items = (
        "(list.const (option.none)"
        ' (option.some (record.const (field "s" str.const "first") (field "v" variant.const "n" (u32.const 0xffffffff)) (field "f" flags.const "r" "x")))'
        ' (option.some (record.const (field "s" str.const "") (field "v" variant.const "l" (list.const (u8.const 1) (u8.const 2))) (field "f" flags.const)))'
        ' (option.some (record.const (field "s" str.const "\\u{e9}") (field "v" variant.const "none") (field "f" flags.const "r" "w" "x"))))'
    )
    A(f'(assert_return (invoke "echo-items" {items}) {items})')
    A('(assert_return (invoke "echo-items" (list.const)) (list.const))')
    res = '(list.const (result.ok (list.const (str.const "a") (str.const "bc"))) (result.err (tuple.const (bool.const true) (char.const "\\u{10FFFF}"))) (result.ok (list.const)))'
    A(f'(assert_return (invoke "echo-res" {res}) {res})')
    for o in ["(option.none)", "(option.some (u8.const 255))"]:
        v = f'(record.const (field "o" {o[1:-1]}) (field "t" tuple.const (u16.const 65535) (s64.const -2)))'
        A(f'(assert_return (invoke "echo-ot" {v}) {v})')
    A("")
    A(";; ---------------------------------------------------------------------------")
    A(";; Flat lifting of params in a component-to-component call: the caller's core")
    A(";; code passes raw discriminants; out-of-range ones trap, valid ones arrive.")
    A("""(component definition $FlatParams
  (component $Callee
    (type $V' (variant (case "a") (case "b" u32)))
    (export $V "v" (type $V'))
    (type $E' (enum "p" "q"))
    (export $E "e" (type $E'))
    (type $F' (flags "f0" "f1" "f2"))
    (export $F "f" (type $F'))
    (core module $M
      ;; returns disc * 0x1000 + payload
      (func (export "take2") (param i32 i32) (result i32)
        (i32.add (i32.mul (local.get 0) (i32.const 0x1000)) (local.get 1)))
      (func (export "id") (param i32) (result i32) (local.get 0))
    )
    (core instance $m (instantiate $M))
    (func (export "var") (param "x" $V) (result u32) (canon lift (core func $m "take2")))
    (func (export "opt") (param "x" (option u32)) (result u32) (canon lift (core func $m "take2")))
    (func (export "res") (param "x" (result u32 (error u32))) (result u32) (canon lift (core func $m "take2")))
    (func (export "enum") (param "x" $E) (result u32) (canon lift (core func $m "id")))
    (func (export "flags") (param "x" $F) (result u32) (canon lift (core func $m "id")))
    (func (export "bool") (param "x" bool) (result u32) (canon lift (core func $m "id")))
  )
  (instance $c (instantiate $Callee))
  (core func $var (canon lower (func $c "var")))
  (core func $opt (canon lower (func $c "opt")))
  (core func $res (canon lower (func $c "res")))
  (core func $enum (canon lower (func $c "enum")))
  (core func $flags (canon lower (func $c "flags")))
  (core func $bool (canon lower (func $c "bool")))
  (core module $Caller
    (import "" "var" (func $var (param i32 i32) (result i32)))
    (import "" "opt" (func $opt (param i32 i32) (result i32)))
    (import "" "res" (func $res (param i32 i32) (result i32)))
    (import "" "enum" (func $enum (param i32) (result i32)))
    (import "" "flags" (func $flags (param i32) (result i32)))
    (import "" "bool" (func $bool (param i32) (result i32)))
    (func (export "var") (param i32 i32) (result i32) (call $var (local.get 0) (local.get 1)))
    (func (export "opt") (param i32 i32) (result i32) (call $opt (local.get 0) (local.get 1)))
    (func (export "res") (param i32 i32) (result i32) (call $res (local.get 0) (local.get 1)))
    (func (export "enum") (param i32) (result i32) (call $enum (local.get 0)))
    (func (export "flags") (param i32) (result i32) (call $flags (local.get 0)))
    (func (export "bool") (param i32) (result i32) (call $bool (local.get 0)))
  )
  (core instance $caller (instantiate $Caller (with "" (instance
    (export "var" (func $var)) (export "opt" (func $opt)) (export "res" (func $res))
    (export "enum" (func $enum)) (export "flags" (func $flags)) (export "bool" (func $bool))))))
  (func (export "var") (param "d" u32) (param "p" u32) (result u32) (canon lift (core func $caller "var")))
  (func (export "opt") (param "d" u32) (param "p" u32) (result u32) (canon lift (core func $caller "opt")))
  (func (export "res") (param "d" u32) (param "p" u32) (result u32) (canon lift (core func $caller "res")))
  (func (export "enum") (param "x" u32) (result u32) (canon lift (core func $caller "enum")))
  (func (export "flags") (param "x" u32) (result u32) (canon lift (core func $caller "flags")))
  (func (export "bool") (param "x" u32) (result u32) (canon lift (core func $caller "bool")))
)
(component instance $fp0 $FlatParams)
;; a payload-less case: the payload slot is not passed on (callee sees 0)
(assert_return (invoke "var" (u32.const 0) (u32.const 0x77)) (u32.const 0))
(assert_return (invoke "var" (u32.const 1) (u32.const 0x77)) (u32.const 0x1077))
(assert_return (invoke "opt" (u32.const 0) (u32.const 0x77)) (u32.const 0))
(assert_return (invoke "opt" (u32.const 1) (u32.const 0x77)) (u32.const 0x1077))
(assert_return (invoke "res" (u32.const 1) (u32.const 0x77)) (u32.const 0x1077))
(assert_return (invoke "enum" (u32.const 1)) (u32.const 1))
;; flags: bits above the last label are dropped, the rest pass through
(assert_return (invoke "flags" (u32.const 0x5)) (u32.const 0x5))
(assert_return (invoke "flags" (u32.const 0xfffffff8)) (u32.const 0))
(assert_return (invoke "flags" (u32.const 0xffffffff)) (u32.const 0x7))
;; bool: any nonzero value arrives as exactly 1
(assert_return (invoke "bool" (u32.const 0x100)) (u32.const 1))
(assert_return (invoke "bool" (u32.const 0)) (u32.const 0))
(component instance $fp1 $FlatParams)
(assert_trap (invoke "var" (u32.const 2) (u32.const 0)) "invalid variant discriminant")
(component instance $fp2 $FlatParams)
(assert_trap (invoke "opt" (u32.const 2) (u32.const 0)) "invalid variant discriminant")
(component instance $fp3 $FlatParams)
(assert_trap (invoke "res" (u32.const 0xffffffff) (u32.const 0)) "invalid variant discriminant")
(component instance $fp4 $FlatParams)
(assert_trap (invoke "enum" (u32.const 2)) "invalid variant discriminant")
""")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(HEADER + lists() + "\n" + records() + "\n" + extra() + "\n")

;; values-strings.wast -- Canonical ABI strings (CanonicalABI.md "Strings",
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

;; ===========================================================================
;; utf8: strings between the host and a single component

(component
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x5 bytes=68656c6c6f
    ;;   2: ptr=0x420 len=0x6 bytes=68c3a96c6c6f
    ;;   3: ptr=0x430 len=0x4 bytes=f09f9880
    ;;   4: ptr=0x0 len=0x0 bytes=-
    ;;   5: ptr=0x1fffe len=0x2 bytes=6f6b
    ;;   6: ptr=0x440 len=0x1 bytes=ff
    ;;   7: ptr=0x450 len=0x1 bytes=c3
    ;;   8: ptr=0x460 len=0x3 bytes=eda080
    ;;   9: ptr=0x470 len=0x2 bytes=c080
    ;;   10: ptr=0x1fffe len=0x3 bytes=-
    ;;   11: ptr=0xffffffff len=0x1 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\05\00\00\00\20\04\00\00\06\00\00\00\30\04\00\00\04\00\00\00\00\00\00\00\00\00\00\00\fe\ff\01\00\02\00\00\00\40\04\00\00\01\00\00\00\50\04\00\00\01\00\00\00\60\04\00\00\03\00\00\00\70\04\00\00\02\00\00\00\fe\ff\01\00\03\00\00\00\ff\ff\ff\ff\01\00\00\00")
    (data (i32.const 0x410) "\68\65\6c\6c\6f")
    (data (i32.const 0x420) "\68\c3\a9\6c\6c\6f")
    (data (i32.const 0x430) "\f0\9f\98\80")
    (data (i32.const 0x1fffe) "\6f\6b")
    (data (i32.const 0x440) "\ff")
    (data (i32.const 0x450) "\c3")
    (data (i32.const 0x460) "\ed\a0\80")
    (data (i32.const 0x470) "\c0\80")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=utf8))
)

(assert_return (invoke "echo" (str.const "")) (str.const ""))
(assert_return (invoke "echo" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "echo" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "echo" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "echo" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "echo" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "len" (str.const "")) (u32.const 0))
(assert_return (invoke "len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 0)) (u8.const 0xc3))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 1)) (u8.const 0xa9))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 2)) (u8.const 0xe2))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 3)) (u8.const 0x82))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 4)) (u8.const 0xac))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 0)) (u8.const 0xf0))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 1)) (u8.const 0x9f))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 2)) (u8.const 0x98))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 3)) (u8.const 0x80))
(assert_return (invoke "ret" (u32.const 0)) (str.const ""))
(assert_return (invoke "ret" (u32.const 1)) (str.const "hello"))
(assert_return (invoke "ret" (u32.const 2)) (str.const "h\u{e9}llo"))
(assert_return (invoke "ret" (u32.const 3)) (str.const "\u{1f600}"))
(assert_return (invoke "ret" (u32.const 4)) (str.const ""))
(assert_return (invoke "ret" (u32.const 5)) (str.const "ok"))

;; utf8: invalid results trap (fresh instance for each)
(component definition $BadU8
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x5 bytes=68656c6c6f
    ;;   2: ptr=0x420 len=0x6 bytes=68c3a96c6c6f
    ;;   3: ptr=0x430 len=0x4 bytes=f09f9880
    ;;   4: ptr=0x0 len=0x0 bytes=-
    ;;   5: ptr=0x1fffe len=0x2 bytes=6f6b
    ;;   6: ptr=0x440 len=0x1 bytes=ff
    ;;   7: ptr=0x450 len=0x1 bytes=c3
    ;;   8: ptr=0x460 len=0x3 bytes=eda080
    ;;   9: ptr=0x470 len=0x2 bytes=c080
    ;;   10: ptr=0x1fffe len=0x3 bytes=-
    ;;   11: ptr=0xffffffff len=0x1 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\05\00\00\00\20\04\00\00\06\00\00\00\30\04\00\00\04\00\00\00\00\00\00\00\00\00\00\00\fe\ff\01\00\02\00\00\00\40\04\00\00\01\00\00\00\50\04\00\00\01\00\00\00\60\04\00\00\03\00\00\00\70\04\00\00\02\00\00\00\fe\ff\01\00\03\00\00\00\ff\ff\ff\ff\01\00\00\00")
    (data (i32.const 0x410) "\68\65\6c\6c\6f")
    (data (i32.const 0x420) "\68\c3\a9\6c\6c\6f")
    (data (i32.const 0x430) "\f0\9f\98\80")
    (data (i32.const 0x1fffe) "\6f\6b")
    (data (i32.const 0x440) "\ff")
    (data (i32.const 0x450) "\c3")
    (data (i32.const 0x460) "\ed\a0\80")
    (data (i32.const 0x470) "\c0\80")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf8))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=utf8))
)

(component instance $badu86 $BadU8)
(assert_trap (invoke "ret" (u32.const 6)) "invalid utf-8")
(component instance $badu87 $BadU8)
(assert_trap (invoke "ret" (u32.const 7)) "incomplete utf-8")
(component instance $badu88 $BadU8)
(assert_trap (invoke "ret" (u32.const 8)) "invalid utf-8")
(component instance $badu89 $BadU8)
(assert_trap (invoke "ret" (u32.const 9)) "invalid utf-8")
(component instance $badu810 $BadU8)
(assert_trap (invoke "ret" (u32.const 10)) "out of bounds")
(component instance $badu811 $BadU8)
(assert_trap (invoke "ret" (u32.const 11)) "out of bounds")

;; ===========================================================================
;; utf16: strings between the host and a single component

(component
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x2 bytes=68006900
    ;;   2: ptr=0x420 len=0x2 bytes=e900ac20
    ;;   3: ptr=0x430 len=0x2 bytes=3dd800de
    ;;   4: ptr=0x0 len=0x0 bytes=-
    ;;   5: ptr=0x1fffc len=0x2 bytes=6f006b00
    ;;   6: ptr=0x440 len=0x1 bytes=3dd8
    ;;   7: ptr=0x450 len=0x2 bytes=00de4100
    ;;   8: ptr=0x460 len=0x2 bytes=3dd84100
    ;;   9: ptr=0x471 len=0x1 bytes=4100
    ;;   10: ptr=0x1fffe len=0x2 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\02\00\00\00\20\04\00\00\02\00\00\00\30\04\00\00\02\00\00\00\00\00\00\00\00\00\00\00\fc\ff\01\00\02\00\00\00\40\04\00\00\01\00\00\00\50\04\00\00\02\00\00\00\60\04\00\00\02\00\00\00\71\04\00\00\01\00\00\00\fe\ff\01\00\02\00\00\00")
    (data (i32.const 0x410) "\68\00\69\00")
    (data (i32.const 0x420) "\e9\00\ac\20")
    (data (i32.const 0x430) "\3d\d8\00\de")
    (data (i32.const 0x1fffc) "\6f\00\6b\00")
    (data (i32.const 0x440) "\3d\d8")
    (data (i32.const 0x450) "\00\de\41\00")
    (data (i32.const 0x460) "\3d\d8\41\00")
    (data (i32.const 0x471) "\41\00")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=utf16))
)

(assert_return (invoke "echo" (str.const "")) (str.const ""))
(assert_return (invoke "echo" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "echo" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "echo" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "echo" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "echo" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "len" (str.const "")) (u32.const 0))
(assert_return (invoke "len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 0)) (u8.const 0xe9))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 1)) (u8.const 0x0))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 2)) (u8.const 0xac))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 3)) (u8.const 0x20))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 0)) (u8.const 0x3d))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 1)) (u8.const 0xd8))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 2)) (u8.const 0x0))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 3)) (u8.const 0xde))
(assert_return (invoke "ret" (u32.const 0)) (str.const ""))
(assert_return (invoke "ret" (u32.const 1)) (str.const "hi"))
(assert_return (invoke "ret" (u32.const 2)) (str.const "\u{e9}\u{20ac}"))
(assert_return (invoke "ret" (u32.const 3)) (str.const "\u{1f600}"))
(assert_return (invoke "ret" (u32.const 4)) (str.const ""))
(assert_return (invoke "ret" (u32.const 5)) (str.const "ok"))

;; utf16: invalid results trap (fresh instance for each)
(component definition $BadU16
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x2 bytes=68006900
    ;;   2: ptr=0x420 len=0x2 bytes=e900ac20
    ;;   3: ptr=0x430 len=0x2 bytes=3dd800de
    ;;   4: ptr=0x0 len=0x0 bytes=-
    ;;   5: ptr=0x1fffc len=0x2 bytes=6f006b00
    ;;   6: ptr=0x440 len=0x1 bytes=3dd8
    ;;   7: ptr=0x450 len=0x2 bytes=00de4100
    ;;   8: ptr=0x460 len=0x2 bytes=3dd84100
    ;;   9: ptr=0x471 len=0x1 bytes=4100
    ;;   10: ptr=0x1fffe len=0x2 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\02\00\00\00\20\04\00\00\02\00\00\00\30\04\00\00\02\00\00\00\00\00\00\00\00\00\00\00\fc\ff\01\00\02\00\00\00\40\04\00\00\01\00\00\00\50\04\00\00\02\00\00\00\60\04\00\00\02\00\00\00\71\04\00\00\01\00\00\00\fe\ff\01\00\02\00\00\00")
    (data (i32.const 0x410) "\68\00\69\00")
    (data (i32.const 0x420) "\e9\00\ac\20")
    (data (i32.const 0x430) "\3d\d8\00\de")
    (data (i32.const 0x1fffc) "\6f\00\6b\00")
    (data (i32.const 0x440) "\3d\d8")
    (data (i32.const 0x450) "\00\de\41\00")
    (data (i32.const 0x460) "\3d\d8\41\00")
    (data (i32.const 0x471) "\41\00")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf16))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=utf16))
)

(component instance $badu166 $BadU16)
(assert_trap (invoke "ret" (u32.const 6)) "unpaired surrogate")
(component instance $badu167 $BadU16)
(assert_trap (invoke "ret" (u32.const 7)) "unpaired surrogate")
(component instance $badu168 $BadU16)
(assert_trap (invoke "ret" (u32.const 8)) "unpaired surrogate")
(component instance $badu169 $BadU16)
(assert_trap (invoke "ret" (u32.const 9)) "not aligned")
(component instance $badu1610 $BadU16)
(assert_trap (invoke "ret" (u32.const 10)) "out of bounds")

;; ===========================================================================
;; latin1+utf16: strings between the host and a single component

(component
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x5 bytes=68e96c6c6f
    ;;   2: ptr=0x420 len=0x3 bytes=41ff80
    ;;   3: ptr=0x430 len=0x80000002 bytes=ac20e900
    ;;   4: ptr=0x440 len=0x80000002 bytes=3dd800de
    ;;   5: ptr=0x450 len=0x80000002 bytes=6800e900
    ;;   6: ptr=0x1fffe len=0x2 bytes=6f6b
    ;;   7: ptr=0x460 len=0x80000001 bytes=00dc
    ;;   8: ptr=0x471 len=0x1 bytes=41
    ;;   9: ptr=0x481 len=0x80000001 bytes=4100
    ;;   10: ptr=0x1fffe len=0x3 bytes=-
    ;;   11: ptr=0x1fffe len=0x80000002 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\05\00\00\00\20\04\00\00\03\00\00\00\30\04\00\00\02\00\00\80\40\04\00\00\02\00\00\80\50\04\00\00\02\00\00\80\fe\ff\01\00\02\00\00\00\60\04\00\00\01\00\00\80\71\04\00\00\01\00\00\00\81\04\00\00\01\00\00\80\fe\ff\01\00\03\00\00\00\fe\ff\01\00\02\00\00\80")
    (data (i32.const 0x410) "\68\e9\6c\6c\6f")
    (data (i32.const 0x420) "\41\ff\80")
    (data (i32.const 0x430) "\ac\20\e9\00")
    (data (i32.const 0x440) "\3d\d8\00\de")
    (data (i32.const 0x450) "\68\00\e9\00")
    (data (i32.const 0x1fffe) "\6f\6b")
    (data (i32.const 0x460) "\00\dc")
    (data (i32.const 0x471) "\41")
    (data (i32.const 0x481) "\41\00")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=latin1+utf16))
)

(assert_return (invoke "echo" (str.const "")) (str.const ""))
(assert_return (invoke "echo" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "echo" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "echo" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "echo" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "echo" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "len" (str.const "")) (u32.const 0))
(assert_return (invoke "len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 0)) (u8.const 0xe9))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 1)) (u8.const 0x0))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 2)) (u8.const 0xac))
(assert_return (invoke "byte" (str.const "\u{e9}\u{20ac}") (u32.const 3)) (u8.const 0x20))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 0)) (u8.const 0x3d))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 1)) (u8.const 0xd8))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 2)) (u8.const 0x0))
(assert_return (invoke "byte" (str.const "\u{1f600}") (u32.const 3)) (u8.const 0xde))
(assert_return (invoke "byte" (str.const "\u{e9}\u{ff}") (u32.const 0)) (u8.const 0xe9))
(assert_return (invoke "byte" (str.const "\u{e9}\u{ff}") (u32.const 1)) (u8.const 0xff))
(assert_return (invoke "ret" (u32.const 0)) (str.const ""))
(assert_return (invoke "ret" (u32.const 1)) (str.const "h\u{e9}llo"))
(assert_return (invoke "ret" (u32.const 2)) (str.const "A\u{ff}\u{80}"))
(assert_return (invoke "ret" (u32.const 3)) (str.const "\u{20ac}\u{e9}"))
(assert_return (invoke "ret" (u32.const 4)) (str.const "\u{1f600}"))
(assert_return (invoke "ret" (u32.const 5)) (str.const "h\u{e9}"))
(assert_return (invoke "ret" (u32.const 6)) (str.const "ok"))

;; latin1+utf16: invalid results trap (fresh instance for each)
(component definition $BadL1
  (core module $M
    (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    ;; (ptr, len) table at 0x100, one 8-byte entry per case:
    ;;   0: ptr=0x400 len=0x0 bytes=-
    ;;   1: ptr=0x410 len=0x5 bytes=68e96c6c6f
    ;;   2: ptr=0x420 len=0x3 bytes=41ff80
    ;;   3: ptr=0x430 len=0x80000002 bytes=ac20e900
    ;;   4: ptr=0x440 len=0x80000002 bytes=3dd800de
    ;;   5: ptr=0x450 len=0x80000002 bytes=6800e900
    ;;   6: ptr=0x1fffe len=0x2 bytes=6f6b
    ;;   7: ptr=0x460 len=0x80000001 bytes=00dc
    ;;   8: ptr=0x471 len=0x1 bytes=41
    ;;   9: ptr=0x481 len=0x80000001 bytes=4100
    ;;   10: ptr=0x1fffe len=0x3 bytes=-
    ;;   11: ptr=0x1fffe len=0x80000002 bytes=-
    (data (i32.const 0x100) "\00\04\00\00\00\00\00\00\10\04\00\00\05\00\00\00\20\04\00\00\03\00\00\00\30\04\00\00\02\00\00\80\40\04\00\00\02\00\00\80\50\04\00\00\02\00\00\80\fe\ff\01\00\02\00\00\00\60\04\00\00\01\00\00\80\71\04\00\00\01\00\00\00\81\04\00\00\01\00\00\80\fe\ff\01\00\03\00\00\00\fe\ff\01\00\02\00\00\80")
    (data (i32.const 0x410) "\68\e9\6c\6c\6f")
    (data (i32.const 0x420) "\41\ff\80")
    (data (i32.const 0x430) "\ac\20\e9\00")
    (data (i32.const 0x440) "\3d\d8\00\de")
    (data (i32.const 0x450) "\68\00\e9\00")
    (data (i32.const 0x1fffe) "\6f\6b")
    (data (i32.const 0x460) "\00\dc")
    (data (i32.const 0x471) "\41")
    (data (i32.const 0x481) "\41\00")
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
    (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "byte") (param "s" string) (param "i" u32) (result u8)
    (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  (func (export "ret") (param "i" u32) (result string)
    (canon lift (core func $m "ret") (memory $mem) string-encoding=latin1+utf16))
)

(component instance $badl17 $BadL1)
(assert_trap (invoke "ret" (u32.const 7)) "unpaired surrogate")
(component instance $badl18 $BadL1)
(assert_trap (invoke "ret" (u32.const 8)) "not aligned")
(component instance $badl19 $BadL1)
(assert_trap (invoke "ret" (u32.const 9)) "not aligned")
(component instance $badl110 $BadL1)
(assert_trap (invoke "ret" (u32.const 10)) "out of bounds")
(component instance $badl111 $BadL1)
(assert_trap (invoke "ret" (u32.const 11)) "out of bounds")

;; ===========================================================================
;; Transcoding between two components with (possibly) different encodings.
;; round-trip: host -> caller -> callee echo -> caller -> host must preserve
;; the string; callee-len is the code-unit count in the *callee* encoding
;; (latin1+utf16 picks latin1 exactly when every char is < U+0100, otherwise
;; tagged UTF-16); back-len is the count in the caller encoding.

;; caller: utf8, callee: utf8
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf8))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf8))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf8))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))

;; caller: utf8, callee: utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf8))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf8))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))

;; caller: utf8, callee: latin1+utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf8))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf8))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf8))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))

;; caller: utf16, callee: utf8
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf8))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))

;; caller: utf16, callee: utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))

;; caller: utf16, callee: latin1+utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))

;; caller: latin1+utf16, callee: utf8
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf8))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf8))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 8))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 9))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))

;; caller: latin1+utf16, callee: utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 4))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 4))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))

;; caller: latin1+utf16, callee: latin1+utf16
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 2)
      ;; bump allocator; shrinking keeps the block, growing copies it
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
        (local $p i32)
        (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
          (then (return (local.get $old))))
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get $align))))
        (global.set $next (i32.add (local.get $p) (local.get $nsz)))
        (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
        (local.get $p))
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
      (canon lift (core func $m "echo") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "len") (param "s" string) (result u32)
      (canon lift (core func $m "len") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "byte") (param "s" string) (param "i" u32) (result u8)
      (canon lift (core func $m "byte") (memory $mem) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $callee (instantiate $Callee))
  (component $Caller
    (import "echo" (func $echo (param "s" string) (result string)))
    (import "len" (func $len (param "s" string) (result u32)))
    (core module $Mem
      (memory (export "mem") 2)
    ;; bump allocator; shrinking keeps the block, growing copies it
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param $old i32) (param $osz i32) (param $align i32) (param $nsz i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get $old) (i32.const 0)) (i32.le_u (local.get $nsz) (local.get $osz)))
        (then (return (local.get $old))))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $p) (local.get $nsz)))
      (if (local.get $old) (then (memory.copy (local.get $p) (local.get $old) (local.get $osz))))
      (local.get $p))
    )
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $echo' (canon lower (func $echo) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (core func $len' (canon lower (func $len) (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
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
      (canon lift (core func $m "round-trip") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "callee-len") (param "s" string) (result u32)
      (canon lift (core func $m "callee-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
    (func (export "back-len") (param "s" string) (result u32)
      (canon lift (core func $m "back-len") (memory $memory) (realloc $realloc) string-encoding=latin1+utf16))
  )
  (instance $caller (instantiate $Caller
    (with "echo" (func $callee "echo"))
    (with "len" (func $callee "len"))))
  (export "round-trip" (func $caller "round-trip"))
  (export "callee-len" (func $caller "callee-len"))
  (export "back-len" (func $caller "back-len"))
)

(assert_return (invoke "round-trip" (str.const "")) (str.const ""))
(assert_return (invoke "round-trip" (str.const "hello")) (str.const "hello"))
(assert_return (invoke "round-trip" (str.const "h\u{e9}llo\u{ff}")) (str.const "h\u{e9}llo\u{ff}"))
(assert_return (invoke "round-trip" (str.const "\u{20ac}uro")) (str.const "\u{20ac}uro"))
(assert_return (invoke "round-trip" (str.const "a\u{1f600}b")) (str.const "a\u{1f600}b"))
(assert_return (invoke "round-trip" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (str.const "\u{e9}\u{4e2d}\u{1f600}"))
(assert_return (invoke "callee-len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "callee-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "callee-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "callee-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "h\u{e9}llo\u{ff}")) (u32.const 6))
(assert_return (invoke "back-len" (str.const "\u{20ac}uro")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "a\u{1f600}b")) (u32.const 2147483652))
(assert_return (invoke "back-len" (str.const "\u{e9}\u{4e2d}\u{1f600}")) (u32.const 2147483652))

;; ===========================================================================
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

;; flattening.wast -- Canonical ABI flattening limits, realloc and post-return
;; (CanonicalABI.md "Flattening", "canon lift", "canon lower"; definitions.py
;; MAX_FLAT_PARAMS = 16, MAX_FLAT_RESULTS = 1, lift_flat_values /
;; lower_flat_values, realloc, post_return).
;;
;; Pins:
;;  * exactly 16 flat params are passed as 16 core params;
;;  * more than 16 flat params are stored as a tuple in the callee's memory,
;;    allocated with realloc(0, 0, align, size) of that tuple, and the core
;;    function receives one i32 pointer (tuple layout: u8 then u64s at 8-byte
;;    alignment);
;;  * in canon lower, more than 16 flat params are passed by the caller as a
;;    pointer to the tuple in the caller's memory, and more than 1 flat result
;;    is written to a return pointer passed as an extra last core param;
;;  * in canon lift, more than 1 flat result is returned as a pointer to the
;;    result tuple in memory;
;;  * realloc receives (0, 0, alignment, byte size) for fresh allocations
;;    (strings: alignment 1 / byte length; list<u32>: 4 / 4*len);
;;  * post-return runs after the results are lifted (so it may clobber the
;;    result memory), receives the core results as its params, runs once per
;;    call, and does not run when lifting the results traps.

;; ---------------------------------------------------------------------------
;; Host -> component: spilling params, realloc arguments, results in memory.
(component
  (core module $M
    (memory (export "mem") 1)
    ;; realloc that logs its arguments: count, old-ptr, old-size, align, new-size
    (global $count (mut i32) (i32.const 0))
    (global $a0 (mut i32) (i32.const -1))
    (global $a1 (mut i32) (i32.const -1))
    (global $a2 (mut i32) (i32.const -1))
    (global $a3 (mut i32) (i32.const -1))
    (global $next (mut i32) (i32.const 0x1000))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $a0 (local.get 0))
      (global.set $a1 (local.get 1))
      (global.set $a2 (local.get 2))
      (global.set $a3 (local.get 3))
      (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "log") (result i32)
      (i32.store (i32.const 0x20) (global.get $count))
      (i32.store (i32.const 0x24) (global.get $a0))
      (i32.store (i32.const 0x28) (global.get $a1))
      (i32.store (i32.const 0x2c) (global.get $a2))
      (i32.store (i32.const 0x30) (global.get $a3))
      (i32.const 0x20))
    ;; 16 flat params arrive directly: return a15 * 0x100 + a0
    (func (export "p16") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
      (i32.add (i32.mul (local.get 15) (i32.const 0x100)) (local.get 0)))
    ;; 17 u32 params arrive as a pointer to 17 consecutive u32s
    (func (export "p17") (param $p i32) (result i32)
      (i32.add (i32.mul (i32.load offset=64 (local.get $p)) (i32.const 0x100)) (i32.load (local.get $p))))
    (func (export "p17-ptr-aligned") (param $p i32) (result i32)
      (i32.eqz (i32.and (local.get $p) (i32.const 3))))
    ;; u8 + 16 u64: tuple layout u8 @0, x0 @8, ..., x15 @128
    (func (export "pmixed") (param $p i32) (result i64)
      (i64.add (i64.load8_u (local.get $p))
        (i64.add (i64.load offset=8 (local.get $p)) (i64.load offset=128 (local.get $p)))))
    ;; two flat results: return a pointer to (u64, u8) at 0x40
    (func (export "two") (param i64 i32) (result i32)
      (i64.store (i32.const 0x40) (local.get 0))
      (i32.store8 (i32.const 0x48) (local.get 1))
      (i32.const 0x40))
    (func (export "strlen") (param i32 i32) (result i32) (local.get 1))
    (func (export "listlen") (param i32 i32) (result i32) (local.get 1))
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (func (export "log") (result (tuple u32 u32 u32 u32 u32)) (canon lift (core func $m "log") (memory $mem)))
  (func (export "p16") (param "a0" u32) (param "a1" u32) (param "a2" u32) (param "a3" u32) (param "a4" u32) (param "a5" u32) (param "a6" u32) (param "a7" u32) (param "a8" u32) (param "a9" u32) (param "a10" u32) (param "a11" u32) (param "a12" u32) (param "a13" u32) (param "a14" u32) (param "a15" u32) (result u32) (canon lift (core func $m "p16")))
  (func (export "p17") (param "a0" u32) (param "a1" u32) (param "a2" u32) (param "a3" u32) (param "a4" u32) (param "a5" u32) (param "a6" u32) (param "a7" u32) (param "a8" u32) (param "a9" u32) (param "a10" u32) (param "a11" u32) (param "a12" u32) (param "a13" u32) (param "a14" u32) (param "a15" u32) (param "a16" u32) (result u32)
    (canon lift (core func $m "p17") (memory $mem) (realloc $realloc)))
  (func (export "p17-ptr-aligned") (param "a0" u32) (param "a1" u32) (param "a2" u32) (param "a3" u32) (param "a4" u32) (param "a5" u32) (param "a6" u32) (param "a7" u32) (param "a8" u32) (param "a9" u32) (param "a10" u32) (param "a11" u32) (param "a12" u32) (param "a13" u32) (param "a14" u32) (param "a15" u32) (param "a16" u32) (result bool)
    (canon lift (core func $m "p17-ptr-aligned") (memory $mem) (realloc $realloc)))
  (func (export "pmixed") (param "b" u8) (param "x0" u64) (param "x1" u64) (param "x2" u64) (param "x3" u64) (param "x4" u64) (param "x5" u64) (param "x6" u64) (param "x7" u64) (param "x8" u64) (param "x9" u64) (param "x10" u64) (param "x11" u64) (param "x12" u64) (param "x13" u64) (param "x14" u64) (param "x15" u64) (result u64)
    (canon lift (core func $m "pmixed") (memory $mem) (realloc $realloc)))
  (func (export "two") (param "a" u64) (param "b" u8) (result (tuple u64 u8))
    (canon lift (core func $m "two") (memory $mem)))
  (func (export "strlen") (param "s" string) (result u32)
    (canon lift (core func $m "strlen") (memory $mem) (realloc $realloc)))
  (func (export "listlen") (param "l" (list u32)) (result u32)
    (canon lift (core func $m "listlen") (memory $mem) (realloc $realloc)))
)
(assert_return (invoke "log") (tuple.const (u32.const 0) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff)))
;; 16 flat params: no realloc call
(assert_return (invoke "p16" (u32.const 1) (u32.const 2) (u32.const 3) (u32.const 4) (u32.const 5) (u32.const 6) (u32.const 7) (u32.const 8) (u32.const 9) (u32.const 10) (u32.const 11) (u32.const 12) (u32.const 13) (u32.const 14) (u32.const 15) (u32.const 16)) (u32.const 0x1001))
(assert_return (invoke "log") (tuple.const (u32.const 0) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff)))
;; 17 u32 params: realloc(0, 0, 4, 68)
(assert_return (invoke "p17" (u32.const 1) (u32.const 2) (u32.const 3) (u32.const 4) (u32.const 5) (u32.const 6) (u32.const 7) (u32.const 8) (u32.const 9) (u32.const 10) (u32.const 11) (u32.const 12) (u32.const 13) (u32.const 14) (u32.const 15) (u32.const 16) (u32.const 17)) (u32.const 0x1101))
(assert_return (invoke "log") (tuple.const (u32.const 1) (u32.const 0) (u32.const 0) (u32.const 4) (u32.const 68)))
(assert_return (invoke "p17-ptr-aligned" (u32.const 1) (u32.const 2) (u32.const 3) (u32.const 4) (u32.const 5) (u32.const 6) (u32.const 7) (u32.const 8) (u32.const 9) (u32.const 10) (u32.const 11) (u32.const 12) (u32.const 13) (u32.const 14) (u32.const 15) (u32.const 16) (u32.const 17)) (bool.const true))
;; u8 + 16 u64: realloc(0, 0, 8, 136)
(assert_return (invoke "pmixed" (u8.const 0xab) (u64.const 0x10000000001) (u64.const 0x20000000002) (u64.const 0x30000000003) (u64.const 0x40000000004) (u64.const 0x50000000005) (u64.const 0x60000000006) (u64.const 0x70000000007) (u64.const 0x80000000008) (u64.const 0x90000000009) (u64.const 0xa000000000a) (u64.const 0xb000000000b) (u64.const 0xc000000000c) (u64.const 0xd000000000d) (u64.const 0xe000000000e) (u64.const 0xf000000000f) (u64.const 0x100000000010)) (u64.const 0x1100000000bc))
(assert_return (invoke "log") (tuple.const (u32.const 3) (u32.const 0) (u32.const 0) (u32.const 8) (u32.const 136)))
;; strings: realloc(0, 0, 1, byte length)
(assert_return (invoke "strlen" (str.const "abcde")) (u32.const 5))
(assert_return (invoke "log") (tuple.const (u32.const 4) (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 5)))
(assert_return (invoke "strlen" (str.const "\u{e9}")) (u32.const 2))
(assert_return (invoke "log") (tuple.const (u32.const 5) (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 2)))
;; list<u32>: realloc(0, 0, 4, 4 * len)
(assert_return (invoke "listlen" (list.const (u32.const 1) (u32.const 2) (u32.const 3))) (u32.const 3))
(assert_return (invoke "log") (tuple.const (u32.const 6) (u32.const 0) (u32.const 0) (u32.const 4) (u32.const 12)))
;; empty string / empty list: realloc is still called, with size 0
(assert_return (invoke "strlen" (str.const "")) (u32.const 0))
(assert_return (invoke "log") (tuple.const (u32.const 7) (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 0)))
(assert_return (invoke "listlen" (list.const)) (u32.const 0))
(assert_return (invoke "log") (tuple.const (u32.const 8) (u32.const 0) (u32.const 0) (u32.const 4) (u32.const 0)))
;; two flat results are returned through memory
(assert_return (invoke "two" (u64.const 0xffffffffffffffff) (u8.const 0xfe)) (tuple.const (u64.const 0xffffffffffffffff) (u8.const 0xfe)))

;; ---------------------------------------------------------------------------
;; Component -> component: the caller passes >16 flat params as a pointer into
;; its own memory and receives >1 flat results through a return pointer.
(component
  (component $Callee
    (core module $M
      (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                               (i32.sub (i32.const 0) (local.get 2))))
        (global.set $next (i32.add (local.get $p) (local.get 3)))
        (local.get $p))
      (func (export "p17") (param $p i32) (result i32)
        (i32.add (i32.mul (i32.load offset=64 (local.get $p)) (i32.const 0x100)) (i32.load (local.get $p))))
      (func (export "two") (param i64 i32) (result i32)
        (i64.store (i32.const 0x40) (local.get 0))
        (i32.store8 (i32.const 0x48) (local.get 1))
        (i32.const 0x40))
      (data (i32.const 0x80) "\00\01\00\00\03\00\00\00")
      (data (i32.const 0x100) "hi\e2\82\ac")
      (func (export "greet") (result i32)
        (i32.store (i32.const 0x80) (i32.const 0x100))
        (i32.store (i32.const 0x84) (i32.const 5))
        (i32.const 0x80))
    )
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "p17") (param "a0" u32) (param "a1" u32) (param "a2" u32) (param "a3" u32) (param "a4" u32) (param "a5" u32) (param "a6" u32) (param "a7" u32) (param "a8" u32) (param "a9" u32) (param "a10" u32) (param "a11" u32) (param "a12" u32) (param "a13" u32) (param "a14" u32) (param "a15" u32) (param "a16" u32) (result u32)
      (canon lift (core func $m "p17") (memory $mem) (realloc $realloc)))
    (func (export "two") (param "a" u64) (param "b" u8) (result (tuple u64 u8))
      (canon lift (core func $m "two") (memory $mem)))
    (func (export "greet") (result string)
      (canon lift (core func $m "greet") (memory $mem)))
  )
  (instance $callee (instantiate $Callee))
  (core module $Mem
    (memory (export "mem") 1)
    (global $count (mut i32) (i32.const 0))
    (global $last (mut i32) (i32.const 0))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      ;; remember (align << 16 | size) of the last call
      (global.set $last (i32.or (i32.shl (local.get 2) (i32.const 16)) (local.get 3)))
      (i32.const 0x800))
    (func (export "count") (result i32) (global.get $count))
    (func (export "last") (result i32) (global.get $last))
  )
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (alias core export $mem "realloc" (core func $realloc))
  (core func $p17 (canon lower (func $callee "p17") (memory $memory)))
  (core func $two (canon lower (func $callee "two") (memory $memory)))
  (core func $greet (canon lower (func $callee "greet") (memory $memory) (realloc $realloc)))
  (core module $Caller
    (import "" "mem" (memory 1))
    (import "" "p17" (func $p17 (param i32) (result i32)))
    (import "" "two" (func $two (param i64 i32 i32)))
    (import "" "greet" (func $greet (param i32)))
    (import "" "count" (func $count (result i32)))
    (import "" "last" (func $last (result i32)))
    (func (export "p17") (result i32)
      (local $i i32)
      ;; the 17 params are 1, 2, ..., 17, stored as u32s at 0x100
      (loop $l
        (i32.store (i32.add (i32.const 0x100) (i32.shl (local.get $i) (i32.const 2)))
                   (i32.add (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 17))))
      (call $p17 (i32.const 0x100)))
    (func (export "two") (result i64)
      ;; results land at the return pointer 0x200: u64 @0x200, u8 @0x208
      (i32.store8 (i32.const 0x208) (i32.const 0x55))
      (call $two (i64.const 0x0123456789abcdef) (i32.const 0x1ee) (i32.const 0x200))
      (i64.add (i64.load (i32.const 0x200)) (i64.load8_u (i32.const 0x208))))
    (func (export "greet") (result i32)
      ;; (ptr, len) of the string land at 0x300; the bytes at our realloc'd 0x800
      (call $greet (i32.const 0x300))
      (if (i32.ne (i32.load (i32.const 0x300)) (i32.const 0x800)) (then unreachable))
      (if (i32.ne (call $count) (i32.const 1)) (then unreachable))
      ;; realloc(0, 0, 1, 5)
      (if (i32.ne (call $last) (i32.const 0x10005)) (then unreachable))
      ;; return len | third byte << 8 | fifth byte << 16
      (i32.or (i32.load (i32.const 0x304))
        (i32.or (i32.shl (i32.load8_u (i32.const 0x802)) (i32.const 8))
                (i32.shl (i32.load8_u (i32.const 0x804)) (i32.const 16)))))
  )
  (core instance $caller (instantiate $Caller (with "" (instance
    (export "mem" (memory $memory))
    (export "p17" (func $p17))
    (export "two" (func $two))
    (export "greet" (func $greet))
    (export "count" (func $mem "count"))
    (export "last" (func $mem "last"))))))
  (func (export "p17") (result u32) (canon lift (core func $caller "p17")))
  (func (export "two") (result u64) (canon lift (core func $caller "two")))
  (func (export "greet") (result u32) (canon lift (core func $caller "greet")))
)
(assert_return (invoke "p17") (u32.const 0x1101))
(assert_return (invoke "two") (u64.const 0x123456789abcedd))
(assert_return (invoke "greet") (u32.const 0xac_e2_05))

;; ---------------------------------------------------------------------------
;; post-return
(component definition $PR
  (core module $M
    (memory (export "mem") 1)
    (global $count (mut i32) (i32.const 0))
    (global $arg (mut i32) (i32.const -1))
    (data (i32.const 0x100) "hello")
    (func (export "get-str") (result i32)
      (i32.store (i32.const 0x10) (i32.const 0x100))
      (i32.store (i32.const 0x14) (i32.const 5))
      (i32.const 0x10))
    ;; post-return of get-str: record the argument, then clobber both the
    ;; string bytes and the (ptr, len) pair
    (func (export "get-str-post") (param $p i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $arg (local.get $p))
      (i32.store (i32.const 0x100) (i32.const 0x58585858))
      (i64.store (local.get $p) (i64.const 0)))
    (func (export "get-u32") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
    (func (export "get-u32-post") (param $r i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $arg (local.get $r)))
    (func (export "nothing"))
    (func (export "nothing-post")
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $arg (i32.const -2)))
    (func (export "stats") (result i32)
      (i32.store (i32.const 0x20) (global.get $count))
      (i32.store (i32.const 0x24) (global.get $arg))
      (i32.const 0x20))
    (func (export "bad-char") (result i32) (i32.const 0xD800))
    (func (export "trapping-post") (param i32) unreachable)
  )
  (core instance $m (instantiate $M))
  (alias core export $m "mem" (core memory $mem))
  (func (export "get-str") (result string)
    (canon lift (core func $m "get-str") (memory $mem) (post-return (core func $m "get-str-post"))))
  (func (export "get-u32") (param "x" u32) (result u32)
    (canon lift (core func $m "get-u32") (post-return (core func $m "get-u32-post"))))
  (func (export "nothing")
    (canon lift (core func $m "nothing") (post-return (core func $m "nothing-post"))))
  (func (export "stats") (result (tuple u32 s32))
    (canon lift (core func $m "stats") (memory $mem)))
  (func (export "bad-char") (result char)
    (canon lift (core func $m "bad-char") (post-return (core func $m "trapping-post"))))
  (func (export "trap-in-post") (param "x" u32) (result u32)
    (canon lift (core func $m "get-u32") (post-return (core func $m "trapping-post"))))
)
(component instance $pr1 $PR)
(assert_return (invoke "stats") (tuple.const (u32.const 0) (s32.const -1)))
;; the result was lifted before post-return clobbered it
(assert_return (invoke "get-str") (str.const "hello"))
;; post-return ran once and got the core result (the return pointer)
(assert_return (invoke "stats") (tuple.const (u32.const 1) (s32.const 0x10)))
(assert_return (invoke "get-u32" (u32.const 7)) (u32.const 21))
(assert_return (invoke "stats") (tuple.const (u32.const 2) (s32.const 21)))
(assert_return (invoke "nothing"))
(assert_return (invoke "stats") (tuple.const (u32.const 3) (s32.const -2)))
;; memory really was clobbered by post-return: a fresh get-str rewrites
;; the pair but not the bytes
(assert_return (invoke "get-str") (str.const "XXXXo"))
(assert_return (invoke "stats") (tuple.const (u32.const 4) (s32.const 0x10)))
;; lifting the result traps, so post-return (which would hit `unreachable`)
;; never runs: the trap is the char error
(component instance $pr2 $PR)
(assert_trap (invoke "bad-char") "out of range for `char`")
;; a trap inside post-return is a trap of the call
(component instance $pr3 $PR)
(assert_trap (invoke "trap-in-post" (u32.const 1)) "unreachable")

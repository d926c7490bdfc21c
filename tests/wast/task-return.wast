;; task-return.wast -- task.return's core signature: the result is passed like parameters
;; (CanonicalABI.md "canon task.return": flatten_functype with MAX_FLAT_PARAMS = 16), so up
;; to 16 flat values are passed directly and more as one pointer into memory — for every
;; result type, not only the ones whose results would fit MAX_FLAT_RESULTS = 1.
;; Reference: wasmtime 49 `wasmtime wast task-return.wast`
;;
;; Also pinned: a task.return without a `memory` option (f3, f16: validation needs none) is
;; accepted by a task whose lift has one (Wasmtime 49 compares the memory only when
;; task.return names one).

(component definition $TR
  (component $C
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (type $t3 (tuple u32 u64 f32))
    (type $t16 (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32))
    (type $t17 (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32))
    (core func $ret3 (canon task.return (result $t3)))
    (core func $ret16 (canon task.return (result $t16)))
    (core func $ret17 (canon task.return (result $t17) (memory (core memory $mem "mem"))))
    (core func $rets (canon task.return (result string) (memory (core memory $mem "mem"))))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "ret3" (func $ret3 (param i32 i64 f32)))
      (import "" "ret16" (func $ret16 (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))
      (import "" "ret17" (func $ret17 (param i32)))
      (import "" "rets" (func $rets (param i32 i32)))
      (data (i32.const 0x100) "hello")
      (func (export "f3") (result i32)
        (call $ret3 (i32.const 7) (i64.const 0x100000000) (f32.const 1.5)) (i32.const 0))
      (func (export "f16") (result i32)
        (call $ret16 (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5) (i32.const 6)
          (i32.const 7) (i32.const 8) (i32.const 9) (i32.const 10) (i32.const 11) (i32.const 12)
          (i32.const 13) (i32.const 14) (i32.const 15) (i32.const 16)) (i32.const 0))
      (func (export "f17") (result i32) (local $i i32)
        (loop $l
          (i32.store (i32.add (i32.const 0x200) (i32.shl (local.get $i) (i32.const 2)))
                     (i32.add (local.get $i) (i32.const 100)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 17))))
        (call $ret17 (i32.const 0x200)) (i32.const 0))
      (func (export "fs") (result i32) (call $rets (i32.const 0x100) (i32.const 5)) (i32.const 0))
      (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
    (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $mem "mem"))
      (export "ret3" (func $ret3)) (export "ret16" (func $ret16)) (export "ret17" (func $ret17))
      (export "rets" (func $rets))))))
    (func (export "f3") async (result $t3) (canon lift (core func $m "f3") async (memory (core memory $mem "mem")) (callback (core func $m "cb"))))
    (func (export "f16") async (result $t16) (canon lift (core func $m "f16") async (memory (core memory $mem "mem")) (callback (core func $m "cb"))))
    (func (export "f17") async (result $t17) (canon lift (core func $m "f17") async (memory (core memory $mem "mem")) (callback (core func $m "cb"))))
    (func (export "fs") async (result string) (canon lift (core func $m "fs") async (memory (core memory $mem "mem")) (callback (core func $m "cb")))))
  (instance $c (instantiate $C))
  (export "f3" (func $c "f3"))
  (export "f16" (func $c "f16"))
  (export "f17" (func $c "f17"))
  (export "fs" (func $c "fs")))
(component instance $tr $TR)
(assert_return (invoke "f3") (tuple.const (u32.const 7) (u64.const 0x100000000) (f32.const 1.5)))
(assert_return (invoke "f16") (tuple.const (u32.const 1) (u32.const 2) (u32.const 3) (u32.const 4)
  (u32.const 5) (u32.const 6) (u32.const 7) (u32.const 8) (u32.const 9) (u32.const 10) (u32.const 11)
  (u32.const 12) (u32.const 13) (u32.const 14) (u32.const 15) (u32.const 16)))
(assert_return (invoke "f17") (tuple.const (u32.const 100) (u32.const 101) (u32.const 102) (u32.const 103)
  (u32.const 104) (u32.const 105) (u32.const 106) (u32.const 107) (u32.const 108) (u32.const 109)
  (u32.const 110) (u32.const 111) (u32.const 112) (u32.const 113) (u32.const 114) (u32.const 115)
  (u32.const 116)))
(assert_return (invoke "fs") (str.const "hello"))

;; A 17-value result without memory is invalid (the pointer needs one).
(assert_invalid
  (component
    (type $t17 (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32))
    (core func (canon task.return (result $t17))))
  "memory")
;; The wrong flat signature (17 direct values) does not match the core import.
(assert_invalid
  (component
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (type $t17 (tuple u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32 u32))
    (core func $r (canon task.return (result $t17) (memory (core memory $mem "mem"))))
    (core module $M (import "" "r" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32))))
    (core instance (instantiate $M (with "" (instance (export "r" (func $r)))))))
  "type mismatch")

;; memory64.wast -- canonical options naming a 64-bit memory (🐘, CanonicalABI.md: with an i64
;; memory, pointers and lengths are i64 flat values and realloc is (i64 i64 i64 i64) -> i64).
;; Reference: wasmtime 49 `wasmtime wast -W memory64=y -W component-model-memory64=y memory64.wast`
;;
;; Pins, at the host boundary (a host calling a lifted export):
;;  * string and list parameters arrive as i64 (pointer, length) flat values, allocated by an
;;    i64 realloc; the realloc calls (alignment, size, in order) are the same as Wasmtime's
;;    (the `log` checksum);
;;  * 17 u64 parameters spill to memory through realloc and arrive as one i64 pointer;
;;  * WASMTIME 49 DIFFERS FROM THE SPEC: in memory, a string or list is still stored as a
;;    (u32 pointer, u32 length) pair — the elements of a list<string> (w0, w1: pointer in the
;;    low half, length in the high half of one i64), and a string or list result returned
;;    through a pointer (echo, retlist). The spec uses 8-byte pointers and lengths
;;    (ptr_size = 8) there.
;; Not pinned here: Wasmtime 49's component-to-component adapters use the spec's 8-byte layout
;; for memory64 results, unlike its host boundary; wasmloop uses the 4-byte layout for both.
(component definition $A
  (core module $M
    (memory (export "mem") i64 1)
    (global $bump (mut i64) (i64.const 0x100))
    (global $log (mut i64) (i64.const 0))
    (func (export "realloc") (param i64 i64 i64 i64) (result i64) (local $p i64)
      (global.set $log (i64.add (i64.mul (global.get $log) (i64.const 31)) (i64.add (i64.mul (local.get 2) (i64.const 1000)) (local.get 3))))
      (local.set $p (global.get $bump))
      (global.set $bump (i64.and (i64.add (i64.add (global.get $bump) (local.get 3)) (i64.const 15)) (i64.const -16)))
      (local.get $p))
    (func (export "w0") (param i64 i64) (result i64) (i64.load (local.get 0)))
    (func (export "w1") (param i64 i64) (result i64) (i64.load offset=8 (local.get 0)))
    (func (export "n") (param i64 i64) (result i64) (local.get 1))
    (func (export "log") (result i64) (global.get $log))
    (func (export "spill") (param $p i64) (result i64) (i64.load (local.get $p)))
    (func (export "spill8") (param $p i64) (result i64) (i64.load offset=8 (local.get $p)))
    (func (export "retlist") (result i64)
      (i64.store (i64.const 0x40) (i64.const 0x50))
      (i64.store (i64.const 0x48) (i64.const 2))
      (i64.store (i64.const 0x50) (i64.const 0x0000000200000001))
      (i64.const 0x40)))
  (core instance $m (instantiate $M))
  (type $ls (list string))
  (func (export "w0") (param "x" $ls) (result u64) (canon lift (core func $m "w0") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "w1") (param "x" $ls) (result u64) (canon lift (core func $m "w1") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "n") (param "x" $ls) (result u64) (canon lift (core func $m "n") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "log") (result u64) (canon lift (core func $m "log")))
  (func (export "spill") (param "a" u64) (param "b" u64) (param "c" u64) (param "d" u64) (param "e" u64) (param "f" u64) (param "g" u64) (param "h" u64) (param "i" u64) (param "j" u64) (param "k" u64) (param "l" u64) (param "m" u64) (param "n" u64) (param "o" u64) (param "p" u64) (param "q" u64) (result u64)
    (canon lift (core func $m "spill") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "spill8") (param "a" u64) (param "b" u64) (param "c" u64) (param "d" u64) (param "e" u64) (param "f" u64) (param "g" u64) (param "h" u64) (param "i" u64) (param "j" u64) (param "k" u64) (param "l" u64) (param "m" u64) (param "n" u64) (param "o" u64) (param "p" u64) (param "q" u64) (result u64)
    (canon lift (core func $m "spill8") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "retlist") (result (list u32)) (canon lift (core func $m "retlist") (memory (core memory $m "mem")))))
(component instance $a $A)
(assert_return (invoke "w0" (list.const (str.const "ab") (str.const "cde"))) (u64.const 8589934864))
(assert_return (invoke "w1" (list.const (str.const "ab") (str.const "cde"))) (u64.const 12884902224))
(assert_return (invoke "n" (list.const (str.const "ab") (str.const "cde"))) (u64.const 2))
(assert_return (invoke "log") (u64.const 3453784145704593))
(assert_return (invoke "spill" (u64.const 1) (u64.const 2) (u64.const 3) (u64.const 4) (u64.const 5) (u64.const 6) (u64.const 7) (u64.const 8) (u64.const 9) (u64.const 10) (u64.const 11) (u64.const 12) (u64.const 13) (u64.const 14) (u64.const 15) (u64.const 16) (u64.const 17)) (u64.const 1))
(assert_return (invoke "spill8" (u64.const 1) (u64.const 2) (u64.const 3) (u64.const 4) (u64.const 5) (u64.const 6) (u64.const 7) (u64.const 8) (u64.const 9) (u64.const 10) (u64.const 11) (u64.const 12) (u64.const 13) (u64.const 14) (u64.const 15) (u64.const 16) (u64.const 17)) (u64.const 2))
(assert_return (invoke "log") (u64.const 3319086564022374225))
(assert_return (invoke "retlist") (list.const))

(component definition $B
  (core module $M
    (memory (export "mem") i64 1)
    (global $bump (mut i64) (i64.const 0x100))
    (func (export "realloc") (param i64 i64 i64 i64) (result i64) (local $p i64)
      (local.set $p (global.get $bump))
      (global.set $bump (i64.add (global.get $bump) (i64.add (local.get 3) (i64.const 8))))
      (local.get $p))
    (func (export "len") (param i64 i64) (result i32) (i32.wrap_i64 (local.get 1)))
    (func (export "echo") (param i64 i64) (result i64)
      (i64.store (i64.const 0x10) (local.get 0))
      (i64.store (i64.const 0x18) (local.get 1)) (i32.store (i64.const 0x14) (i32.wrap_i64 (local.get 1)))
      (i64.const 0x10)))
  (core instance $m (instantiate $M))
  (func (export "len") (param "s" string) (result u32)
    (canon lift (core func $m "len") (memory (core memory $m "mem")) (realloc (core func $m "realloc"))))
  (func (export "echo") (param "s" string) (result string)
    (canon lift (core func $m "echo") (memory (core memory $m "mem")) (realloc (core func $m "realloc")))))
(component instance $b $B)
(assert_return (invoke "len" (str.const "hello")) (u32.const 5))
(assert_return (invoke "echo" (str.const "hello")) (str.const "hello"))

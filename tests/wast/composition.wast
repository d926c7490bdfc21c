;; Runtime composition: one component instance's exports satisfy another component's imports,
;; in one process (`register` names an instance for the imports of later components). The
;; reference Wasmtime cannot link components this way, so this file runs only under wasmloop.

(component $provider
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $bump))
      (global.set $bump (i32.add (global.get $bump) (local.get 3)))
      (local.get $p))
    (func (export "double") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    ;; length of a string, in bytes of utf8
    (func (export "len") (param i32 i32) (result i32) (local.get 1))
    (func (export "fail") (unreachable)))
  (core instance $i (instantiate $m))
  (alias core export $i "mem" (core memory $mem))
  (func $double (param "x" u32) (result u32) (canon lift (core func $i "double")))
  (func $len (param "s" string) (result u32)
    (canon lift (core func $i "len") (memory $mem) (realloc (core func $i "realloc"))))
  (func $fail (canon lift (core func $i "fail")))
  (export "double" (func $double))
  (export "len" (func $len))
  (export "fail" (func $fail))
)
(register "math" $provider)
(assert_return (invoke "double" (u32.const 21)) (u32.const 42))

(component $consumer
  (import "math" (instance $math
    (export "double" (func (param "x" u32) (result u32)))
    (export "len" (func (param "s" string) (result u32)))
    (export "fail" (func))))
  (core module $mem (memory (export "mem") 1))
  (core instance $mem (instantiate $mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $double (canon lower (func $math "double")))
  (core func $len (canon lower (func $math "len") (memory $memory)))
  (core func $fail (canon lower (func $math "fail")))
  (core module $m
    (import "math" "double" (func $double (param i32) (result i32)))
    (import "math" "len" (func $len (param i32 i32) (result i32)))
    (import "math" "fail" (func $fail))
    (import "env" "mem" (memory 1))
    (data (i32.const 100) "h\c3\a9llo")
    (func (export "quad") (param i32) (result i32) (call $double (call $double (local.get 0))))
    ;; passes a string from this component's memory into the provider's
    (func (export "hello-len") (result i32) (call $len (i32.const 100) (i32.const 6)))
    (func (export "fail") (call $fail)))
  (core instance $i (instantiate $m
    (with "math" (instance (export "double" (func $double)) (export "len" (func $len))
                           (export "fail" (func $fail))))
    (with "env" (instance $mem))))
  (func (export "quad") (param "x" u32) (result u32) (canon lift (core func $i "quad")))
  (func (export "hello-len") (result u32) (canon lift (core func $i "hello-len")))
  (func (export "fail") (canon lift (core func $i "fail")))
)
(assert_return (invoke "quad" (u32.const 5)) (u32.const 20))
(assert_return (invoke "quad" (u32.const 0x40000000)) (u32.const 0))
(assert_return (invoke "hello-len") (u32.const 6))
;; a trap in the provider unwinds through the consumer: both are poisoned
(assert_trap (invoke "fail") "unreachable")
(assert_trap (invoke "quad" (u32.const 1)) "cannot enter component instance")
(assert_trap (invoke $provider "double" (u32.const 1)) "cannot enter component instance")

;; realloc runs with fresh context slots: the callee's realloc (storing an argument) and the
;; caller's (storing a result) each see 0 in slot 0, and what they set there is seen neither
;; by the callee's task nor by the caller's, which keeps its own value across the call.
;; Reference: wasmtime 49 `wasmtime wast realloc-context.wast` (no -W flags).

(component
  (component $A
    (core func $get (canon context.get i32 0))
    (core func $set (canon context.set i32 0))
    (core module $m
      (import "" "get" (func $get (result i32)))
      (import "" "set" (func $set (param i32)))
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 64))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (if (call $get) (then unreachable))
        (call $set (i32.const 0x77))
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (i32.const 256)))
        (local.get $p))
      (func (export "echo") (param i32 i32) (result i32)
        (if (call $get) (then unreachable))
        (i32.store (i32.const 0) (local.get 0))
        (i32.store (i32.const 4) (local.get 1))
        (i32.const 0)))
    (core instance $m (instantiate $m (with "" (instance
      (export "get" (func $get)) (export "set" (func $set))))))
    (func (export "echo") (param "x" string) (result string)
      (canon lift (core func $m "echo") (memory (core memory $m "mem"))
        (realloc (core func $m "realloc")))))

  (component $B
    (import "echo" (func $echo (param "x" string) (result string)))
    (core func $get (canon context.get i32 0))
    (core func $set (canon context.set i32 0))
    (core module $libc
      (import "" "get" (func $get (result i32)))
      (import "" "set" (func $set (param i32)))
      (memory (export "mem") 1)
      (data (i32.const 16) "abc")
      (global $bump (mut i32) (i32.const 64))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (if (call $get) (then unreachable))
        (call $set (i32.const 0x55))
        (local.set $p (global.get $bump))
        (global.set $bump (i32.add (global.get $bump) (i32.const 256)))
        (local.get $p)))
    (core instance $libc (instantiate $libc (with "" (instance
      (export "get" (func $get)) (export "set" (func $set))))))
    (core func $echo' (canon lower (func $echo) (memory (core memory $libc "mem"))
      (realloc (core func $libc "realloc"))))
    (core module $m
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (import "" "get" (func $get (result i32)))
      (import "" "set" (func $set (param i32)))
      (import "" "mem" (memory 1))
      (func (export "run") (result i32)
        (call $set (i32.const 0x1234))
        (call $echo (i32.const 16) (i32.const 3) (i32.const 8))
        ;; the string came back: 3 bytes
        (if (i32.ne (i32.load (i32.const 12)) (i32.const 3)) (then unreachable))
        (call $get)))
    (core instance $m (instantiate $m (with "" (instance
      (export "echo" (func $echo'))
      (export "get" (func $get))
      (export "set" (func $set))
      (export "mem" (memory $libc "mem"))))))
    (func (export "run") (result u32) (canon lift (core func $m "run"))))

  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "echo" (func $a "echo"))))
  (export "run" (func $b "run")))

(assert_return (invoke "run") (u32.const 0x1234))

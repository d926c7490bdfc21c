;; A tiny component with no imports: `add` and `greet`.
;; Built into hello.wasm with: wasm-tools parse hello.wat -o hello.wasm
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1)))
    ;; realloc: a bump allocator, enough for a demo
    (func $realloc (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    ;; greet(name) returns "hello, " ++ name: result string (ptr, len) stored at 8
    (data (i32.const 16) "hello, ")
    (func (export "greet") (param $ptr i32) (param $len i32) (result i32)
      (local $out i32)
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1)
                                     (i32.add (i32.const 7) (local.get $len))))
      (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
      (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $ptr) (local.get $len))
      (i32.store (i32.const 8) (local.get $out))
      (i32.store (i32.const 12) (i32.add (i32.const 7) (local.get $len)))
      (i32.const 8)))
  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $memory))

  (func (export "add") (param "a" u32) (param "b" u32) (result u32)
    (canon lift (core func $i "add")))
  (func (export "greet") (param "name" string) (result string)
    (canon lift (core func $i "greet") (memory $memory) (realloc (core func $i "realloc"))))
)

;;! component_model_async = true
;;! component_model_threading = true
;;! component_model_more_async_builtins = true
;; A waitable that a synchronous operation of another thread is waiting on cannot join a
;; waitable set: here one thread blocks in a synchronous stream.read and the task's
;; implicit thread then joins that readable end to a set. Wasmtime 49's text.
;; Reference: wasmtime 49 `wasmtime wast -W component-model-threading=y -W component-model-more-async-builtins=y async-sync-join.wast`

(component definition $T
  (core module $libc
    (table (export "table") 1 funcref)
    (memory (export "memory") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "table" (core table $table))
  (core type $start (func (param i32)))
  (type $s (stream u8))
  (core func $new (canon thread.new-indirect $start (core table $table)))
  (core func $resume (canon thread.yield-then-resume))
  (core func $set.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $stream.new (canon stream.new $s))
  (core func $stream.read (canon stream.read $s (memory (core memory $libc "memory"))))
  (core module $m
    (import "" "new" (func $new (param i32 i32) (result i32)))
    (import "" "resume" (func $resume (param i32) (result i32)))
    (import "" "set.new" (func $set.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "stream.new" (func $stream.new (result i64)))
    (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
    (import "libc" "table" (table 1 funcref))
    (global $writable (mut i32) (i32.const 0))
    ;; blocks: nobody writes
    (func $reader (param $r i32)
      (drop (call $stream.read (local.get $r) (i32.const 16) (i32.const 8))))
    (elem (i32.const 0) func $reader)
    (func (export "run")
      (local $e i64) (local $r i32) (local $set i32)
      (local.set $e (call $stream.new))
      (local.set $r (i32.wrap_i64 (local.get $e)))
      (global.set $writable (i32.wrap_i64 (i64.shr_u (local.get $e) (i64.const 32))))
      (local.set $set (call $set.new))
      (drop (call $resume (call $new (i32.const 0) (local.get $r))))
      (call $join (local.get $r) (local.get $set))
      unreachable))
  (core instance $m (instantiate $m
    (with "" (instance
      (export "new" (func $new))
      (export "resume" (func $resume))
      (export "set.new" (func $set.new))
      (export "join" (func $join))
      (export "stream.new" (func $stream.new))
      (export "stream.read" (func $stream.read))))
    (with "libc" (instance $libc))))
  (func (export "run") async (canon lift (core func $m "run"))))

(component instance $i $T)
(assert_trap (invoke "run") "waitable cannot be used synchronously while added to a waitable set")

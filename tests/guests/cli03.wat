;; A WASI 0.3 command written directly as component text: it imports
;; wasi:cli/environment get-arguments and wasi:cli/stdout write-via-stream, and exports
;; wasi:cli/run@0.3.0 `run: async func() -> result` as a callback-lifted function.
;; It prints "hello from WAT", then each argument after the program name on its own line
;; (as "[arg]"), then returns `err` when any argument is the empty string, `ok` otherwise.
(component
  (type $error-code (enum "io" "illegal-byte-sequence" "pipe"))
  (import "wasi:cli/types@0.3.0" (instance $types
    (export "error-code" (type (eq $error-code)))))
  (alias export $types "error-code" (type $ec))
  (import "wasi:cli/environment@0.3.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (import "wasi:cli/stdout@0.3.0" (instance $stdout
    (alias outer 1 $ec (type $ec'))
    (export "error-code" (type $e (eq $ec')))
    (export "write-via-stream" (func (param "data" (stream u8)) (result (future (result (error $e))))))))

  (type $S (stream u8))
  (type $F (future (result (error $ec))))

  (core module $Libc
    (memory (export "mem") 1)
    (global $heap (mut i32) (i32.const 4096))
    ;; bump allocator: enough for the argument list
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.const 4)))))
      (local.get $p)))
  (core instance $libc (instantiate $Libc))
  (alias core export $libc "mem" (core memory $mem))

  (core func $get-arguments (canon lower (func $env "get-arguments")
    (memory $mem) (realloc (core func $libc "realloc")) string-encoding=utf8))
  (core func $write-via-stream (canon lower (func $stdout "write-via-stream")))
  (core func $stream.new (canon stream.new $S))
  (core func $stream.write (canon stream.write $S async (memory $mem)))
  (core func $stream.drop-writable (canon stream.drop-writable $S))
  (core func $future.read (canon future.read $F async (memory $mem)))
  (core func $future.drop-readable (canon future.drop-readable $F))
  (core func $ws.new (canon waitable-set.new))
  (core func $ws.wait (canon waitable-set.wait (memory $mem)))
  (core func $ws.drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $task.return (canon task.return (result (result))))

  (core module $Main
    (import "libc" "mem" (memory 1))
    (import "libc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "" "get-arguments" (func $get-arguments (param i32)))
    (import "" "write-via-stream" (func $write-via-stream (param i32) (result i32)))
    (import "" "stream.new" (func $stream.new (result i64)))
    (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
    (import "" "stream.drop-writable" (func $stream.drop-writable (param i32)))
    (import "" "future.read" (func $future.read (param i32 i32) (result i32)))
    (import "" "future.drop-readable" (func $future.drop-readable (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
    (import "" "ws.drop" (func $ws.drop (param i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "task.return" (func $task.return (param i32)))

    (data (i32.const 16) "hello from WAT\n")
    ;; 0..8: get-arguments' (ptr, len); 8..16: event; 64..: the output text
    (global $out (mut i32) (i32.const 0))

    (func $emit (param $p i32) (param $n i32)
      (memory.copy (global.get $out) (local.get $p) (local.get $n))
      (global.set $out (i32.add (global.get $out) (local.get $n))))
    (func $emit-byte (param $b i32)
      (i32.store8 (global.get $out) (local.get $b))
      (global.set $out (i32.add (global.get $out) (i32.const 1))))

    ;; block on one waitable; returns the event's payload
    (func $wait (param $set i32) (param $w i32) (result i32)
      (call $join (local.get $w) (local.get $set))
      (drop (call $ws.wait (local.get $set) (i32.const 8)))
      (call $join (local.get $w) (i32.const 0))
      (i32.load (i32.const 12)))

    (func (export "run") (result i32)
      (local $set i32) (local $ends i64) (local $tx i32) (local $done i32)
      (local $args i32) (local $argc i32) (local $i i32) (local $s i32) (local $len i32)
      (local $start i32) (local $n i32) (local $r i32) (local $failed i32)
      ;; the text goes into a buffer allocated after the argument strings
      (call $get-arguments (i32.const 0))
      (local.set $args (i32.load (i32.const 0)))
      (local.set $argc (i32.load (i32.const 4)))
      (local.set $start (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 65536)))
      (global.set $out (local.get $start))
      (call $emit (i32.const 16) (i32.const 15))
      (local.set $i (i32.const 1))
      (block $done-args
        (loop $next
          (br_if $done-args (i32.ge_u (local.get $i) (local.get $argc)))
          (local.set $s (i32.load (i32.add (local.get $args) (i32.mul (local.get $i) (i32.const 8)))))
          (local.set $len (i32.load offset=4 (i32.add (local.get $args) (i32.mul (local.get $i) (i32.const 8)))))
          (if (i32.eqz (local.get $len)) (then (local.set $failed (i32.const 1))))
          (call $emit-byte (i32.const 91))
          (call $emit (local.get $s) (local.get $len))
          (call $emit-byte (i32.const 93))
          (call $emit-byte (i32.const 10))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))

      (local.set $set (call $ws.new))
      (local.set $ends (call $stream.new))
      (local.set $tx (i32.wrap_i64 (i64.shr_u (local.get $ends) (i64.const 32))))
      (local.set $done (call $write-via-stream (i32.wrap_i64 (local.get $ends))))
      (local.set $n (i32.sub (global.get $out) (local.get $start)))
      (block $written
        (loop $more
          (br_if $written (i32.eqz (local.get $n)))
          (local.set $r (call $stream.write (local.get $tx) (local.get $start) (local.get $n)))
          (if (i32.eq (local.get $r) (i32.const -1))
            (then (local.set $r (call $wait (local.get $set) (local.get $tx)))))
          (if (i32.eq (i32.and (local.get $r) (i32.const 15)) (i32.const 1)) (then unreachable))
          (local.set $start (i32.add (local.get $start) (i32.shr_u (local.get $r) (i32.const 4))))
          (local.set $n (i32.sub (local.get $n) (i32.shr_u (local.get $r) (i32.const 4))))
          (br $more)))
      (call $stream.drop-writable (local.get $tx))
      (if (i32.eq (call $future.read (local.get $done) (i32.const 32)) (i32.const -1))
        (then (drop (call $wait (local.get $set) (local.get $done)))))
      (call $future.drop-readable (local.get $done))
      (call $ws.drop (local.get $set))
      (call $task.return (local.get $failed))
      (i32.const 0))

    (func (export "callback") (param i32 i32 i32) (result i32) unreachable))

  (core instance $main (instantiate $Main
    (with "libc" (instance $libc))
    (with "" (instance
      (export "get-arguments" (func $get-arguments))
      (export "write-via-stream" (func $write-via-stream))
      (export "stream.new" (func $stream.new))
      (export "stream.write" (func $stream.write))
      (export "stream.drop-writable" (func $stream.drop-writable))
      (export "future.read" (func $future.read))
      (export "future.drop-readable" (func $future.drop-readable))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "task.return" (func $task.return))))))

  (func $run async (result (result))
    (canon lift (core func $main "run") async (callback (core func $main "callback"))))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $run-instance)))

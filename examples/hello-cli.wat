;; hello-cli: a WASI 0.3 command written by hand in component text. It prints
;; "hello from a component" and its arguments (after argv[0]) to stdout, through
;; wasi:cli/stdout's write-via-stream, and exits with status 0.
;;
;; Built with: wasm-tools parse examples/hello-cli.wat -o examples/hello-cli.wasm
;; Run with:   wasmloop run examples/hello-cli.wasm a "b c"   (or wasmtime run)
(component
  (import "wasi:cli/environment@0.3.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (import "wasi:cli/stdout@0.3.0" (instance $stdout
    (type $e (enum "io" "illegal-byte-sequence" "pipe"))
    (export "error-code" (type $ec (eq $e)))
    (export "write-via-stream"
      (func (param "data" (stream u8)) (result (future (result (error $ec))))))))

  (core module $Mem
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 8192))
    ;; a bump allocator for the argument list the host lowers
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $bump)
          (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)) (i32.const 1))))))
      (local.get $p)))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (alias core export $mem "realloc" (core func $realloc))

  (alias export $stdout "error-code" (type $ec))
  (type $S (stream u8))
  (type $F (future (result (error $ec))))
  (core func $get-args (canon lower (func $env "get-arguments") (memory $memory)
    (realloc $realloc)))
  (core func $write-via-stream (canon lower (func $stdout "write-via-stream")))
  (core func $stream.new (canon stream.new $S))
  (core func $stream.write (canon stream.write $S async (memory $memory)))
  (core func $drop-w (canon stream.drop-writable $S))
  (core func $drop-fr (canon future.drop-readable $F))
  (core func $ws.new (canon waitable-set.new))
  (core func $join (canon waitable.join))
  (core func $ret (canon task.return (result (result))))

  (core module $Main
    (import "" "mem" (memory 1))
    (import "" "get-args" (func $get-args (param i32)))
    (import "" "write-via-stream" (func $write-via-stream (param i32) (result i32)))
    (import "" "stream.new" (func $stream.new (result i64)))
    (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
    (import "" "drop-w" (func $drop-w (param i32)))
    (import "" "drop-fr" (func $drop-fr (param i32)))
    (import "" "ws.new" (func $ws.new (result i32)))
    (import "" "join" (func $join (param i32 i32)))
    (import "" "ret" (func $ret (param i32)))
    (data (i32.const 1024) "hello from a component")
    (global $w (mut i32) (i32.const 0))
    (global $f (mut i32) (i32.const 0))
    (global $ws (mut i32) (i32.const 0))
    ;; where the message is built, and its length so far
    (global $len (mut i32) (i32.const 22))

    (func $append (param $src i32) (param $n i32)
      (memory.copy (i32.add (i32.const 1024) (global.get $len)) (local.get $src) (local.get $n))
      (global.set $len (i32.add (global.get $len) (local.get $n))))

    (func $finish (result i32)
      (call $drop-w (global.get $w))
      (call $drop-fr (global.get $f))
      (call $ret (i32.const 0))   ;; ok
      (i32.const 0))              ;; EXIT

    (func (export "run") (result i32)
      (local $args i32) (local $n i32) (local $i i32) (local $s i64) (local $r i32)
      ;; args: (ptr, len) of a list of (ptr, len) strings, at 0
      (call $get-args (i32.const 0))
      (local.set $args (i32.load (i32.const 0)))
      (local.set $n (i32.load (i32.const 4)))
      (local.set $i (i32.const 1))
      (block $done (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 (i32.const 16) (i32.const 32))   ;; " "
        (call $append (i32.const 16) (i32.const 1))
        (call $append
          (i32.load (i32.add (local.get $args) (i32.shl (local.get $i) (i32.const 3))))
          (i32.load (i32.add (local.get $args)
            (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
      (i32.store8 (i32.const 16) (i32.const 10))     ;; "\n"
      (call $append (i32.const 16) (i32.const 1))
      ;; stdout: a new stream whose readable end goes to write-via-stream
      (local.set $s (call $stream.new))
      (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
      (global.set $f (call $write-via-stream (i32.wrap_i64 (local.get $s))))
      (local.set $r (call $stream.write (global.get $w) (i32.const 1024) (global.get $len)))
      (if (i32.ne (local.get $r) (i32.const -1))
        (then (return (call $finish))))
      ;; BLOCKED: wait for the write to complete
      (global.set $ws (call $ws.new))
      (call $join (global.get $w) (global.get $ws))
      (i32.or (i32.const 2) (i32.shl (global.get $ws) (i32.const 4))))   ;; WAIT on $ws

    (func (export "run-cb") (param $event i32) (param $index i32) (param $payload i32)
      (result i32)
      (call $join (global.get $w) (i32.const 0))
      (call $finish)))

  (core instance $main (instantiate $Main
    (with "" (instance
      (export "mem" (memory $memory))
      (export "get-args" (func $get-args))
      (export "write-via-stream" (func $write-via-stream))
      (export "stream.new" (func $stream.new))
      (export "stream.write" (func $stream.write))
      (export "drop-w" (func $drop-w))
      (export "drop-fr" (func $drop-fr))
      (export "ws.new" (func $ws.new))
      (export "join" (func $join))
      (export "ret" (func $ret))))))

  (func $run async (result (result))
    (canon lift (core func $main "run") async (callback (core func $main "run-cb"))))
  (instance $run-inst (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $run-inst))
)

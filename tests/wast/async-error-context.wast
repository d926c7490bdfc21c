;; async-error-context.wast -- error-context values (CanonicalABI.md "canon
;; error-context.new", "canon error-context.debug-message", "canon
;; error-context.drop"; definitions.py canon_error_context_*,
;; lift_error_context, lower_error_context).
;;
;; Reference: wasmtime 49 `wasmtime wast -W component-model-error-context=y async-error-context.wast`
;;
;; Pins:
;;  * error-context.new returns a fresh index from the instance's handle
;;    table (shared with waitable sets); freed indices are reused LIFO;
;;  * debug-message stores (ptr, len) of a string allocated with the given
;;    realloc, in the given encoding (utf8 bytes, or utf16 code units);
;;    wasmtime 49 keeps the message passed to error-context.new (the spec
;;    allows any message, including the empty one, so the runner's message
;;    must equal the original for these tests to pass, as in wasmtime);
;;  * passing an error-context to another component (as a param of a sync
;;    or an async-lowered import, or as a result) does not move it: the
;;    receiver gets a new index each time, the sender's index stays valid;
;;    the receiver can read the same debug message;
;;  * traps: drop of a dropped index, debug-message or drop of a handle that
;;    is not an error-context, passing an index that is not an
;;    error-context.

(component definition $T
  (component $C
    (core module $Mem
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
        (global.set $bump (i32.add (local.get $p) (local.get 3)))
        (local.get $p)))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $ec.new (canon error-context.new (memory $memory)))
    (core func $ec.msg (canon error-context.debug-message (memory $memory) (realloc $realloc)))
    (core func $ec.drop (canon error-context.drop))
    (core func $ret (canon task.return (result u32)))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core module $CM
      (import "" "mem" (memory 1))
      (import "" "ec.new" (func $ec.new (param i32 i32) (result i32)))
      (import "" "ec.msg" (func $ec.msg (param i32 i32)))
      (import "" "ec.drop" (func $ec.drop (param i32)))
      (import "" "ret" (func $ret (param i32)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (data (i32.const 0x80) "from C")
      ;; index << 24 | message length << 8 | first byte of the message
      (func $describe (param $e i32) (result i32)
        (call $ec.msg (local.get $e) (i32.const 0x40))
        (i32.or (i32.shl (local.get $e) (i32.const 24))
        (i32.or (i32.shl (i32.load (i32.const 0x44)) (i32.const 8))
                (i32.load8_u (i32.load (i32.const 0x40))))))
      ;; take(e, keep): describe e; drop it unless keep
      (func (export "take") (param $e i32) (param $keep i32) (result i32)
        (local $r i32)
        (local.set $r (call $describe (local.get $e)))
        (if (i32.eqz (local.get $keep)) (then (call $ec.drop (local.get $e))))
        (local.get $r))
      ;; make(): a new error-context "from C" (kept by C as well)
      (func (export "make") (result i32)
        (call $ec.new (i32.const 0x80) (i32.const 6)))
      ;; take-async(e): YIELD once, then describe e and drop it
      (func (export "take-async") (param $e i32) (result i32)
        (call $ctx.set (local.get $e))
        (i32.const 1))
      (func (export "take-async-cb") (param i32 i32 i32) (result i32)
        (call $ret (call $describe (call $ctx.get)))
        (call $ec.drop (call $ctx.get))
        (i32.const 0))
      ;; describe(e) for an index of C's own
      (func (export "describe") (param i32) (result i32) (call $describe (local.get 0)))
    )
    (core instance $cm (instantiate $CM (with "" (instance
      (export "mem" (memory $memory))
      (export "ec.new" (func $ec.new))
      (export "ec.msg" (func $ec.msg))
      (export "ec.drop" (func $ec.drop))
      (export "ret" (func $ret))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))))))
    (func (export "take") (param "e" error-context) (param "keep" u32) (result u32)
      (canon lift (core func $cm "take")))
    (func (export "make") (result error-context)
      (canon lift (core func $cm "make")))
    (func (export "take-async") async (param "e" error-context) (result u32)
      (canon lift (core func $cm "take-async") async (callback (core func $cm "take-async-cb"))))
    (func (export "describe") (param "i" u32) (result u32)
      (canon lift (core func $cm "describe")))
  )

  (component $D
    (import "take" (func $take (param "e" error-context) (param "keep" u32) (result u32)))
    (import "make" (func $make (result error-context)))
    (import "take-async" (func $take-async async (param "e" error-context) (result u32)))
    (import "describe" (func $describe (param "i" u32) (result u32)))
    (core module $Mem
      (memory (export "mem") 1)
      (global $bump (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (local $p i32)
        (local.set $p (i32.and (i32.add (global.get $bump) (i32.const 7)) (i32.const -8)))
        (global.set $bump (i32.add (local.get $p) (local.get 3)))
        (local.get $p)))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "realloc" (core func $realloc))
    (core func $take (canon lower (func $take)))
    (core func $make (canon lower (func $make)))
    (core func $take-async (canon lower (func $take-async) async (memory $memory)))
    (core func $describe (canon lower (func $describe)))
    (core func $ec.new (canon error-context.new (memory $memory)))
    (core func $ec.msg (canon error-context.debug-message (memory $memory) (realloc $realloc)))
    (core func $ec.msg16 (canon error-context.debug-message (memory $memory) (realloc $realloc) string-encoding=utf16))
    (core func $ec.drop (canon error-context.drop))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "take" (func $take (param i32 i32) (result i32)))
      (import "" "make" (func $make (result i32)))
      (import "" "take-async" (func $take-async (param i32 i32) (result i32)))
      (import "" "describe" (func $describe (param i32) (result i32)))
      (import "" "ec.new" (func $ec.new (param i32 i32) (result i32)))
      (import "" "ec.msg" (func $ec.msg (param i32 i32)))
      (import "" "ec.msg16" (func $ec.msg16 (param i32 i32)))
      (import "" "ec.drop" (func $ec.drop (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      (data (i32.const 0x80) "hello")
      (data (i32.const 0x88) "world!")
      (global $lp (mut i32) (i32.const 0x200))
      (func $log (param i32)
        (i32.store (global.get $lp) (local.get 0))
        (global.set $lp (i32.add (global.get $lp) (i32.const 4))))
      (func $done (result i32)
        (i32.store (i32.const 8) (i32.const 0x200))
        (i32.store (i32.const 12) (i32.shr_u (i32.sub (global.get $lp) (i32.const 0x200)) (i32.const 2)))
        (global.set $lp (i32.const 0x200))
        (i32.const 8))
      (func $next-index
        (local $s i32)
        (local.set $s (call $ws.new))
        (call $log (local.get $s))
        (call $ws.drop (local.get $s)))
      ;; log the debug message's length and its first 4 bytes
      (func $msg-log (param $e i32)
        (call $ec.msg (local.get $e) (i32.const 0x40))
        (call $log (i32.load (i32.const 0x44)))
        (call $log (i32.load (i32.load (i32.const 0x40)))))

      (func (export "run-own") (result i32)
        (local $a i32) (local $b i32)
        (local.set $a (call $ec.new (i32.const 0x80) (i32.const 5)))
        (local.set $b (call $ec.new (i32.const 0x88) (i32.const 6)))
        (call $log (local.get $a))
        (call $log (local.get $b))
        (call $msg-log (local.get $a))
        (call $msg-log (local.get $b))
        ;; utf16: 5 code units, "h\00e\00"
        (call $ec.msg16 (local.get $a) (i32.const 0x40))
        (call $log (i32.load (i32.const 0x44)))
        (call $log (i32.load (i32.load (i32.const 0x40))))
        ;; an empty message
        (call $ec.drop (local.get $a))
        (local.set $a (call $ec.new (i32.const 0x80) (i32.const 0)))
        (call $log (local.get $a))
        (call $ec.msg (local.get $a) (i32.const 0x40))
        (call $log (i32.load (i32.const 0x44)))
        (call $ec.drop (local.get $b))
        (call $ec.drop (local.get $a))
        (call $next-index)
        (call $done))

      ;; pass the same context three times: C gets indices 1, 2 (kept), then
      ;; 3 (dropped by C); D's index 1 stays valid
      (func (export "run-pass") (result i32)
        (local $a i32)
        (local.set $a (call $ec.new (i32.const 0x88) (i32.const 6)))
        (call $log (local.get $a))
        (call $log (call $take (local.get $a) (i32.const 1)))
        (call $log (call $take (local.get $a) (i32.const 1)))
        (call $log (call $take (local.get $a) (i32.const 0)))
        (call $msg-log (local.get $a))
        ;; C's own copies (1 and 2) are still there
        (call $log (call $describe (i32.const 2)))
        (call $ec.drop (local.get $a))
        (call $next-index)
        (call $done))

      ;; as a result: make() returns C's context; D gets index 1, C keeps
      ;; its own; twice
      (func (export "run-result") (result i32)
        (local $a i32) (local $b i32)
        (local.set $a (call $make))
        (local.set $b (call $make))
        (call $log (local.get $a))
        (call $log (local.get $b))
        (call $msg-log (local.get $a))
        (call $msg-log (local.get $b))
        ;; and back to C: a fresh index there
        (call $log (call $take (local.get $b) (i32.const 0)))
        (call $ec.drop (local.get $b))
        (call $ec.drop (local.get $a))
        (call $next-index)
        (call $done))

      ;; through an async-lowered call
      (func (export "run-async") (result i32)
        (local $a i32) (local $r i32) (local $ws i32)
        (local.set $a (call $ec.new (i32.const 0x80) (i32.const 5)))
        (local.set $r (call $take-async (local.get $a) (i32.const 0x60)))
        (call $log (local.get $r))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (call $log (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4)))
        (call $log (i32.load (i32.const 0x60)))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (call $msg-log (local.get $a))
        (call $ec.drop (local.get $a))
        (call $next-index)
        (call $done))

      ;; traps
      (func (export "drop-twice") (result i32)
        (local $a i32)
        (local.set $a (call $ec.new (i32.const 0x80) (i32.const 5)))
        (call $ec.drop (local.get $a))
        (call $ec.drop (local.get $a))
        (call $done))
      (func (export "msg-not-ec") (result i32)
        (call $ec.msg (call $ws.new) (i32.const 0x40))
        (call $done))
      (func (export "drop-not-ec") (result i32)
        (call $ec.drop (call $ws.new))
        (call $done))
      (func (export "pass-not-ec") (result i32)
        (drop (call $take (call $ws.new) (i32.const 1)))
        (call $done))
      (func (export "pass-dropped") (result i32)
        (local $a i32)
        (local.set $a (call $ec.new (i32.const 0x80) (i32.const 5)))
        (call $ec.drop (local.get $a))
        (drop (call $take (local.get $a) (i32.const 1)))
        (call $done))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "take" (func $take))
      (export "make" (func $make))
      (export "take-async" (func $take-async))
      (export "describe" (func $describe))
      (export "ec.new" (func $ec.new))
      (export "ec.msg" (func $ec.msg))
      (export "ec.msg16" (func $ec.msg16))
      (export "ec.drop" (func $ec.drop))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))))))
    (func (export "run-own") async (result (list u32)) (canon lift (core func $dm "run-own") (memory $memory)))
    (func (export "run-pass") async (result (list u32)) (canon lift (core func $dm "run-pass") (memory $memory)))
    (func (export "run-result") async (result (list u32)) (canon lift (core func $dm "run-result") (memory $memory)))
    (func (export "run-async") async (result (list u32)) (canon lift (core func $dm "run-async") (memory $memory)))
    (func (export "drop-twice") async (result (list u32)) (canon lift (core func $dm "drop-twice") (memory $memory)))
    (func (export "msg-not-ec") async (result (list u32)) (canon lift (core func $dm "msg-not-ec") (memory $memory)))
    (func (export "drop-not-ec") async (result (list u32)) (canon lift (core func $dm "drop-not-ec") (memory $memory)))
    (func (export "pass-not-ec") async (result (list u32)) (canon lift (core func $dm "pass-not-ec") (memory $memory)))
    (func (export "pass-dropped") async (result (list u32)) (canon lift (core func $dm "pass-dropped") (memory $memory)))
  )
  (instance $c (instantiate $C))
  (instance $d (instantiate $D
    (with "take" (func $c "take"))
    (with "make" (func $c "make"))
    (with "take-async" (func $c "take-async"))
    (with "describe" (func $c "describe"))))
  (export "run-own" (func $d "run-own"))
  (export "run-pass" (func $d "run-pass"))
  (export "run-result" (func $d "run-result"))
  (export "run-async" (func $d "run-async"))
  (export "drop-twice" (func $d "drop-twice"))
  (export "msg-not-ec" (func $d "msg-not-ec"))
  (export "drop-not-ec" (func $d "drop-not-ec"))
  (export "pass-not-ec" (func $d "pass-not-ec"))
  (export "pass-dropped" (func $d "pass-dropped"))
)

;; Each run-* uses a fresh instance, frees what it made, and logs the next
;; free index (1) last. Message words are little-endian: "hell" =
;; 0x6c6c6568, "worl" = 0x6c726f77, "from" = 0x6d6f7266.
(component instance $i $T)
;; indices 1, 2; "hello" (5, "hell"), "world!" (6, "worl"); utf16: 5 code
;; units, "h\00e\00"; index 1 reused for an empty message (length 0)
(assert_return (invoke "run-own")
  (list.const (u32.const 1) (u32.const 2)
              (u32.const 5) (u32.const 0x6c6c6568)
              (u32.const 6) (u32.const 0x6c726f77)
              (u32.const 5) (u32.const 0x00650068)
              (u32.const 1) (u32.const 0) (u32.const 1)))
(component instance $i $T)
;; take() returns C's index << 24 | length << 8 | first byte ('w' = 0x77):
;; C's indices 1, 2, 3 for the same context; D's index 1 still reads
;; "world!"; C's index 2 still describes it
(assert_return (invoke "run-pass")
  (list.const (u32.const 1)
              (u32.const 0x01000677) (u32.const 0x02000677) (u32.const 0x03000677)
              (u32.const 6) (u32.const 0x6c726f77)
              (u32.const 0x02000677) (u32.const 1)))
(component instance $i $T)
;; two results: D's indices 1, 2, both "from C"; passed back to C: index 3
;; there ('f' = 0x66)
(assert_return (invoke "run-result")
  (list.const (u32.const 1) (u32.const 2)
              (u32.const 6) (u32.const 0x6d6f7266)
              (u32.const 6) (u32.const 0x6d6f7266)
              (u32.const 0x03000666) (u32.const 1)))
(component instance $i $T)
;; async lower: the context is D's index 1, so the subtask is 2 (STARTED |
;; 2<<4 = 33); event (SUBTASK 1, 2, RETURNED 2); take-async saw its index 1,
;; "hello"; D's index 1 still reads "hello"
(assert_return (invoke "run-async")
  (list.const (u32.const 33)
              (u32.const 1) (u32.const 2) (u32.const 2)
              (u32.const 0x01000568)
              (u32.const 5) (u32.const 0x6c6c6568) (u32.const 1)))

;; traps
(component instance $i $T)
(assert_trap (invoke "drop-twice") "unknown handle index 1")
(component instance $i $T)
(assert_trap (invoke "msg-not-ec") "handle is not an error-context")
(component instance $i $T)
(assert_trap (invoke "drop-not-ec") "handle is not an error-context")
;; lifting an error-context param: the index must be a live error-context
(component instance $i $T)
(assert_trap (invoke "pass-not-ec") "handle is not an error-context")
(component instance $i $T)
(assert_trap (invoke "pass-dropped") "unknown handle index 1")

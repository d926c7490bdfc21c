;; async-lift.wast -- `canon lift ... async (callback ...)` (CanonicalABI.md
;; "canon lift", definitions.py canon_lift, CallbackCode, unpack_callback_result,
;; canon_task_return, Task.return_, Task.unregister_thread).
;;
;; Reference: wasmtime 49 `wasmtime wast async-lift.wast` (no -W flags needed).
;; Stackful lifts (no callback) are in async-lift-stackful.wast.
;;
;; Pins:
;;  * the core function of a callback-lifted export returns
;;    `code | waitable_set_index << 4` with EXIT = 0, YIELD = 1, WAIT = 2;
;;  * EXIT ends the task; YIELD calls the callback again with the event
;;    (NONE = 0, 0, 0); WAIT calls it with the next event of the set, here
;;    (SUBTASK = 1, subtask index, RETURNED = 2);
;;  * the callback is called once per YIELD/WAIT, with the same (event, p1, p2)
;;    signature, and may itself return EXIT, YIELD or WAIT;
;;  * codes 3..15 trap; WAIT on an index that is not a waitable set traps;
;;  * task.return must be called exactly once: a second call traps, and EXIT
;;    without it traps ("async-lifted export failed to produce a result");
;;  * the task keeps running after task.return (the caller already has the
;;    result) until the callback returns EXIT;
;;  * task.return's result type must be the task's result type;
;;  * a host call of an async-typed export lifted synchronously (no `async`)
;;    returns the core function's result.

(component definition $T
  ;; $Leaf.later(x): yields once, then returns x+100
  (component $Leaf
    (core module $LM
      (import "" "ret" (func $ret (param i32)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (func (export "later") (param i32) (result i32)
        (call $ctx.set (local.get 0))
        (i32.const 1 (; YIELD ;)))
      (func (export "later-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.add (call $ctx.get) (i32.const 100)))
        (i32.const 0 (; EXIT ;))))
    (core func $ret (canon task.return (result u32)))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core instance $lm (instantiate $LM (with "" (instance
      (export "ret" (func $ret))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))))))
    (func (export "later") async (param "x" u32) (result u32)
      (canon lift (core func $lm "later") async (callback (core func $lm "later-cb"))))
  )

  (component $C
    (import "later" (func $later async (param "x" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $later (canon lower (func $later) async (memory $memory)))
    (core func $ret (canon task.return (result u32)))
    (core func $ret64 (canon task.return (result u64)))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core module $CM
      (import "" "mem" (memory 1))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "ret" (func $ret (param i32)))
      (import "" "ret64" (func $ret64 (param i64)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      ;; the callback log: every (event, p1, p2) the callbacks receive
      (global $calls (mut i32) (i32.const 0))
      (global $sum (mut i32) (i32.const 0))
      (func $note (param i32 i32 i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (global.set $sum (i32.add (global.get $sum)
          (i32.add (local.get 0) (i32.add (local.get 1) (local.get 2))))))

      (func (export "exit") (result i32)
        (call $ret (i32.const 42))
        (i32.const 0 (; EXIT ;)))
      (func (export "unreachable-cb") (param i32 i32 i32) (result i32) unreachable)

      ;; YIELD n times (n in context slot 0), then return
      ;; calls * 1000 + the sum of all event fields seen (all NONE = 0)
      (func (export "yields") (param i32) (result i32)
        (global.set $calls (i32.const 0))
        (global.set $sum (i32.const 0))
        (call $ctx.set (local.get 0))
        (if (result i32) (local.get 0)
          (then (i32.const 1 (; YIELD ;)))
          (else (call $ret (i32.const 0)) (i32.const 0))))
      (func (export "yields-cb") (param i32 i32 i32) (result i32)
        (call $note (local.get 0) (local.get 1) (local.get 2))
        (call $ctx.set (i32.sub (call $ctx.get) (i32.const 1)))
        (if (result i32) (call $ctx.get)
          (then (i32.const 1))
          (else
            (call $ret (i32.add (i32.mul (global.get $calls) (i32.const 1000)) (global.get $sum)))
            (i32.const 0))))

      ;; starts later(5) (subtask 1), makes set 2, joins, returns WAIT | 2<<4;
      ;; the callback returns event<<24 | p1<<16 | p2<<8 | (packed code seen)
      (func (export "waits") (result i32)
        (local $r i32) (local $ws i32)
        (local.set $r (call $later (i32.const 5) (i32.const 0x40)))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (i32.store (i32.const 0x50) (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (local.get $ws) (i32.const 4))))
        (i32.load (i32.const 0x50)))
      (func (export "waits-cb") (param i32 i32 i32) (result i32)
        (call $ret
          (i32.or (i32.shl (local.get 0) (i32.const 24))
          (i32.or (i32.shl (local.get 1) (i32.const 16))
          (i32.or (i32.shl (local.get 2) (i32.const 8))
                  (i32.load (i32.const 0x50))))))
        ;; the subtask's result is in place when its event arrives
        (if (i32.ne (i32.load (i32.const 0x40)) (i32.const 105)) (then unreachable))
        ;; free the set (2) first and the subtask (1) last: LIFO reuse hands
        ;; out 1 and 2 again in the next call
        (call $join (local.get 1) (i32.const 0))
        (call $ws.drop (i32.shr_u (i32.load (i32.const 0x50)) (i32.const 4)))
        (call $st.drop (local.get 1))
        (i32.const 0))

      ;; WAIT on a handle that is a subtask, not a waitable set
      (func (export "wait-not-set") (result i32)
        (i32.or (i32.const 2)
          (i32.shl (i32.shr_u (call $later (i32.const 1) (i32.const 0x40)) (i32.const 4)) (i32.const 4))))

      ;; returns the given code without calling task.return
      (func (export "code") (param i32) (result i32)
        (local.get 0))
      ;; EXIT with a nonzero index field (0x10): the index is ignored
      (func (export "exit-hi") (result i32)
        (call $ret (i32.const 0))
        (i32.const 0x10))
      ;; a bad code from the callback (after a YIELD)
      (func (export "cb-code") (param i32) (result i32)
        (call $ctx.set (local.get 0))
        (i32.const 1))
      (func (export "cb-code-cb") (param i32 i32 i32) (result i32)
        (if (i32.eqz (i32.and (call $ctx.get) (i32.const 0xf))) (then (call $ret (i32.const 0))))
        (call $ctx.get))
      ;; task.return twice
      (func (export "twice") (result i32)
        (call $ret (i32.const 1))
        (call $ret (i32.const 2))
        (i32.const 0))
      ;; task.return at once, then WAIT for later(1); the callback runs after
      ;; the caller already has the result and calls task.return again
      (func (export "twice-cb") (result i32)
        (local $r i32) (local $ws i32)
        (call $ret (i32.const 1))
        (local.set $r (call $later (i32.const 1) (i32.const 0x40)))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (i32.or (i32.const 2) (i32.shl (local.get $ws) (i32.const 4))))
      (func (export "twice-cb-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.const 2))
        (i32.const 0))
      ;; EXIT without task.return, at once or from the callback
      (func (export "never") (result i32) (i32.const 0))
      (func (export "never-cb") (result i32) (i32.const 1))
      (func (export "exit-cb") (param i32 i32 i32) (result i32) (i32.const 0))
      ;; task.return with the wrong result type (u64 for a u32 task)
      (func (export "wrong-type") (result i32)
        (call $ret64 (i64.const 1))
        (i32.const 0))
      (func (export "sync-plain") (result i32) (i32.const 9))
    )
    (core instance $cm (instantiate $CM (with "" (instance
      (export "mem" (memory $memory))
      (export "later" (func $later))
      (export "ret" (func $ret))
      (export "ret64" (func $ret64))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))
      (export "ws.new" (func $ws.new))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))))))
    (func (export "exit") async (result u32)
      (canon lift (core func $cm "exit") async (callback (core func $cm "unreachable-cb"))))
    (func (export "yields") async (param "n" u32) (result u32)
      (canon lift (core func $cm "yields") async (callback (core func $cm "yields-cb"))))
    (func (export "waits") async (result u32)
      (canon lift (core func $cm "waits") async (callback (core func $cm "waits-cb"))))
    (func (export "wait-not-set") async (result u32)
      (canon lift (core func $cm "wait-not-set") async (callback (core func $cm "exit-cb"))))
    (func (export "exit-hi") async (result u32)
      (canon lift (core func $cm "exit-hi") async (callback (core func $cm "unreachable-cb"))))
    (func (export "code") async (param "code" u32) (result u32)
      (canon lift (core func $cm "code") async (callback (core func $cm "exit-cb"))))
    (func (export "cb-code") async (param "code" u32) (result u32)
      (canon lift (core func $cm "cb-code") async (callback (core func $cm "cb-code-cb"))))
    (func (export "twice") async (result u32)
      (canon lift (core func $cm "twice") async (callback (core func $cm "unreachable-cb"))))
    (func (export "twice-cb") async (result u32)
      (canon lift (core func $cm "twice-cb") async (callback (core func $cm "twice-cb-cb"))))
    (func (export "never") async (result u32)
      (canon lift (core func $cm "never") async (callback (core func $cm "unreachable-cb"))))
    (func (export "never-cb") async (result u32)
      (canon lift (core func $cm "never-cb") async (callback (core func $cm "exit-cb"))))
    (func (export "wrong-type") async (result u32)
      (canon lift (core func $cm "wrong-type") async (callback (core func $cm "unreachable-cb"))))
    (func (export "sync-plain") async (result u32)
      (canon lift (core func $cm "sync-plain")))
  )

  ;; $D.run-twice-cb: calls twice-cb (eager RETURNED), then waits on an empty
  ;; waitable set. Only $C's callback can still run; it traps. (Were it not
  ;; to trap, the run would end in a deadlock instead.)
  (component $D
    (import "twice-cb" (func $twice-cb async (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $twice-cb (canon lower (func $twice-cb) async (memory $memory)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core module $DM
      (import "" "twice-cb" (func $twice-cb (param i32) (result i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (func (export "run-twice-cb") (result i32)
        (if (i32.ne (call $twice-cb (i32.const 0x40)) (i32.const 2 (; RETURNED ;))) (then unreachable))
        (drop (call $ws.wait (call $ws.new) (i32.const 0)))
        unreachable))
    (core instance $dm (instantiate $DM (with "" (instance
      (export "twice-cb" (func $twice-cb))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))))))
    (func (export "run-twice-cb") async (result u32) (canon lift (core func $dm "run-twice-cb")))
  )

  (instance $leaf (instantiate $Leaf))
  (instance $c (instantiate $C (with "later" (func $leaf "later"))))
  (instance $d (instantiate $D (with "twice-cb" (func $c "twice-cb"))))
  (export "run-twice-cb" (func $d "run-twice-cb"))
  (export "exit" (func $c "exit"))
  (export "yields" (func $c "yields"))
  (export "waits" (func $c "waits"))
  (export "wait-not-set" (func $c "wait-not-set"))
  (export "code" (func $c "code"))
  (export "exit-hi" (func $c "exit-hi"))
  (export "cb-code" (func $c "cb-code"))
  (export "twice" (func $c "twice"))
  (export "twice-cb" (func $c "twice-cb"))
  (export "never" (func $c "never"))
  (export "never-cb" (func $c "never-cb"))
  (export "wrong-type" (func $c "wrong-type"))
  (export "sync-plain" (func $c "sync-plain"))
)

(component instance $i $T)
(assert_return (invoke "exit") (u32.const 42))
;; yields(0) exits at once; yields(3): 3 callback calls, all (NONE, 0, 0)
(assert_return (invoke "yields" (u32.const 0)) (u32.const 0))
(assert_return (invoke "yields" (u32.const 3)) (u32.const 3000))
(assert_return (invoke "yields" (u32.const 1)) (u32.const 1000))
;; WAIT | 2<<4 = 0x22; the callback got (SUBTASK = 1, subtask 1, RETURNED = 2)
(assert_return (invoke "waits") (u32.const 0x01010222))
;; and again: the handles were freed, so the same indices come back
(assert_return (invoke "waits") (u32.const 0x01010222))
(assert_return (invoke "sync-plain") (u32.const 9))

;; the code is only the low 4 bits: 0x10 is EXIT (index field 1 ignored)
(assert_return (invoke "exit-hi") (u32.const 0))
(assert_return (invoke "cb-code" (u32.const 0x10)) (u32.const 0))

;; Traps. Each uses a fresh instance.
;;
;; WASMTIME 49 DIFFERS FROM THE SPEC: traps raised by the host's callback loop
;; (a bad callback code, WAIT on a bad index, EXIT without task.return) do
;; not poison the instance in wasmtime 49: later calls of its exports still
;; run. Per the spec a trap makes the instance unusable (as for the traps in
;; core code or in a built-in below, which wasmtime does poison). These tests
;; follow wasmtime and do not call the instance again after such a trap.

;; callback codes 3..15 trap, from the core function or from the callback
(component instance $i $T)
(assert_trap (invoke "code" (u32.const 3)) "unsupported callback code")
(component instance $i $T)
(assert_trap (invoke "code" (u32.const 15)) "unsupported callback code")
(component instance $i $T)
(assert_trap (invoke "code" (u32.const 0x1f)) "unsupported callback code")
(component instance $i $T)
(assert_trap (invoke "cb-code" (u32.const 3)) "unsupported callback code")
(component instance $i $T)
(assert_trap (invoke "cb-code" (u32.const 0x24)) "unsupported callback code")

;; WAIT on an index that is not a waitable set
(component instance $i $T)
(assert_trap (invoke "code" (u32.const 0x22)) "unknown handle index 2")
(component instance $i $T)
(assert_trap (invoke "code" (u32.const 0x02)) "unknown handle index 0")
(component instance $i $T)
(assert_trap (invoke "wait-not-set") "handle is not an waitable-set")

;; task.return exactly once
(component instance $i $T)
(assert_trap (invoke "never") "async-lifted export failed to produce a result")
(component instance $i $T)
(assert_trap (invoke "never-cb") "async-lifted export failed to produce a result")
(component instance $i $T)
(assert_trap (invoke "twice") "`task.return` or `task.cancel` called more than once for current task")
(assert_trap (invoke "exit") "cannot enter component instance")
(component instance $i $T)
(assert_trap (invoke "run-twice-cb") "`task.return` or `task.cancel` called more than once for current task")
(assert_trap (invoke "exit") "cannot enter component instance")
(component instance $i $T)
(assert_trap (invoke "wrong-type") "invalid `task.return` signature and/or options for current task")
(assert_trap (invoke "sync-plain") "cannot enter component instance")

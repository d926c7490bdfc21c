;; async-stackful.wast -- `canon lift ... async` without a callback
;; (CanonicalABI.md "canon lift", Concurrency.md "Stackful"; definitions.py
;; canon_lift `if not opts.callback`, Task.needs_exclusive,
;; Task.unregister_thread).
;;
;; Reference: wasmtime 49 `wasmtime wast -W component-model-async-stackful=y async-stackful.wast`
;;
;; Pins:
;;  * a stackful export's core function has the flat params and no results;
;;    it delivers its result with task.return;
;;  * it may block inside the core function in waitable-set.wait (here on a
;;    subtask of its own), and continue afterwards: the caller sees STARTED
;;    and later a SUBTASK (RETURNED) event; context slot 0 is kept per task
;;    across the wait;
;;  * stackful tasks do not take the instance's exclusive lock: a second call
;;    starts (STARTED) while the first one is blocked in its core function;
;;    a callback-lifted export that blocks in waitable-set.wait inside its
;;    core function does hold the lock: a second call of it waits (STARTING)
;;    until the first one returns;
;;  * task.return may come before blocking: the caller gets RETURNED at
;;    once, the task runs on;
;;  * traps: returning from the core function without task.return, and
;;    task.return twice.

(component definition $T
  ;; later(x): YIELD once, then return x + 100
  (component $Leaf
    (core module $LM
      (import "" "ret" (func $ret (param i32)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (func (export "later") (param i32) (result i32)
        (call $ctx.set (local.get 0))
        (i32.const 1))
      (func (export "later-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.add (call $ctx.get) (i32.const 100)))
        (i32.const 0)))
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
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core module $CM
      (import "" "mem" (memory 1))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "ret" (func $ret (param i32)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      ;; how many stk tasks are inside their core function right now, and
      ;; the most seen at once
      (global $inside (mut i32) (i32.const 0))
      (global $most (mut i32) (i32.const 0))
      (func (export "most") (result i32) (global.get $most))
      (func $enter
        (global.set $inside (i32.add (global.get $inside) (i32.const 1)))
        (if (i32.gt_u (global.get $inside) (global.get $most))
          (then (global.set $most (global.get $inside)))))
      (func $leave
        (global.set $inside (i32.sub (global.get $inside) (i32.const 1))))
      ;; calls later(x) and blocks until it returns; per-task memory at
      ;; 0x100 + x * 16: +0 result, +8 event; returns
      ;; event << 28 | state << 24 | slot 0 << 16 | later's result
      (func $call-later-and-wait (param $x i32) (result i32)
        (local $base i32) (local $r i32) (local $ws i32) (local $code i32)
        (local.set $base (i32.add (i32.const 0x100) (i32.shl (local.get $x) (i32.const 4))))
        (local.set $r (call $later (local.get $x) (local.get $base)))
        (if (i32.ne (i32.and (local.get $r) (i32.const 0xf)) (i32.const 1)) (then unreachable))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (local.set $code (call $ws.wait (local.get $ws) (i32.add (local.get $base) (i32.const 8))))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (i32.or (i32.shl (local.get $code) (i32.const 28))
        (i32.or (i32.shl (i32.load offset=12 (local.get $base)) (i32.const 24))
        (i32.or (i32.shl (call $ctx.get) (i32.const 16))
                (i32.load (local.get $base))))))

      ;; stackful stk(x): slot 0 := x, call later(x) and wait, then return
      (func (export "stk") (param $x i32)
        (call $enter)
        (call $ctx.set (local.get $x))
        (call $ret (call $call-later-and-wait (local.get $x)))
        (call $leave))
      ;; stackful: task.return first, then block
      (func (export "stk-early") (param $x i32)
        (call $ret (local.get $x))
        (drop (call $call-later-and-wait (local.get $x))))
      ;; callback-lifted, but blocking inside the core function
      (func (export "cb-blocking") (param $x i32) (result i32)
        (call $enter)
        (call $ctx.set (local.get $x))
        (call $ret (call $call-later-and-wait (local.get $x)))
        (call $leave)
        (i32.const 0))
      (func (export "reset") (global.set $most (i32.const 0)))
      (func (export "unreachable-cb") (param i32 i32 i32) (result i32) unreachable)
      ;; stackful, no task.return
      (func (export "stk-none") (param i32))
      ;; stackful, no task.return, after blocking
      (func (export "stk-none-late") (param $x i32)
        (drop (call $call-later-and-wait (local.get $x))))
      ;; stackful, task.return twice
      (func (export "stk-twice") (param $x i32)
        (call $ret (local.get $x))
        (call $ret (local.get $x)))
    )
    (core instance $cm (instantiate $CM (with "" (instance
      (export "mem" (memory $memory))
      (export "later" (func $later))
      (export "ret" (func $ret))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))))))
    (func (export "stk") async (param "x" u32) (result u32)
      (canon lift (core func $cm "stk") async))
    (func (export "stk-early") async (param "x" u32) (result u32)
      (canon lift (core func $cm "stk-early") async))
    (func (export "cb-blocking") async (param "x" u32) (result u32)
      (canon lift (core func $cm "cb-blocking") async (callback (core func $cm "unreachable-cb"))))
    (func (export "stk-none") async (param "x" u32) (result u32)
      (canon lift (core func $cm "stk-none") async))
    (func (export "stk-none-late") async (param "x" u32) (result u32)
      (canon lift (core func $cm "stk-none-late") async))
    (func (export "stk-twice") async (param "x" u32) (result u32)
      (canon lift (core func $cm "stk-twice") async))
    (func (export "most") (result u32) (canon lift (core func $cm "most")))
    (func (export "reset") (canon lift (core func $cm "reset")))
  )

  (component $D
    (import "stk" (func $stk async (param "x" u32) (result u32)))
    (import "stk-early" (func $stk-early async (param "x" u32) (result u32)))
    (import "cb-blocking" (func $cb-blocking async (param "x" u32) (result u32)))
    (import "most" (func $most (result u32)))
    (import "reset" (func $reset))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $stk (canon lower (func $stk) async (memory $memory)))
    (core func $stk-early (canon lower (func $stk-early) async (memory $memory)))
    (core func $cb-blocking (canon lower (func $cb-blocking) async (memory $memory)))
    (core func $most (canon lower (func $most)))
    (core func $reset (canon lower (func $reset)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core func $yield (canon thread.yield))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "stk" (func $stk (param i32 i32) (result i32)))
      (import "" "stk-early" (func $stk-early (param i32 i32) (result i32)))
      (import "" "cb-blocking" (func $cb-blocking (param i32 i32) (result i32)))
      (import "" "most" (func $most (result i32)))
      (import "" "reset" (func $reset))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      (import "" "yield" (func $yield (result i32)))
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
      ;; wait for subtask $s alone; log code, index, payload
      (func $wait-for (param $s i32)
        (local $ws i32)
        (local.set $ws (call $ws.new))
        (call $join (local.get $s) (local.get $ws))
        (call $log (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4)))
        (call $join (local.get $s) (i32.const 0))
        (call $ws.drop (local.get $ws)))

      ;; one stackful call: STARTED, then the event and its result
      (func (export "run-one") (result i32)
        (call $log (call $stk (i32.const 3) (i32.const 0x40)))
        (call $wait-for (i32.const 1))
        (call $log (i32.load (i32.const 0x40)))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; two stackful calls in flight: both STARTED; both were inside their
      ;; core function at the same time
      (func (export "run-two") (result i32)
        (call $reset)
        (call $log (call $stk (i32.const 1) (i32.const 0x40)))
        (call $log (call $stk (i32.const 2) (i32.const 0x44)))
        (call $wait-for (i32.const 2))
        (call $wait-for (i32.const 1))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x44)))
        (call $log (call $most))
        (call $st.drop (i32.const 2))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; two callback-lifted calls that block inside the core function: the
      ;; second waits for the exclusive lock (STARTING), then runs
      (func (export "run-cb-blocking") (result i32)
        (call $reset)
        (call $log (call $cb-blocking (i32.const 1) (i32.const 0x40)))
        (call $log (call $cb-blocking (i32.const 2) (i32.const 0x44)))
        (call $wait-for (i32.const 1))
        (call $wait-for (i32.const 2))
        (call $wait-for (i32.const 2))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x44)))
        (call $log (call $most))
        (call $st.drop (i32.const 2))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; task.return before blocking: RETURNED at once (no subtask)
      (func (export "run-early") (result i32)
        (call $log (call $stk-early (i32.const 4) (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x40)))
        ;; let it finish
        (drop (call $yield))
        (drop (call $yield))
        (drop (call $yield))
        (call $next-index)
        (call $done))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "stk" (func $stk))
      (export "stk-early" (func $stk-early))
      (export "cb-blocking" (func $cb-blocking))
      (export "most" (func $most))
      (export "reset" (func $reset))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))
      (export "yield" (func $yield))))))
    (func (export "run-one") async (result (list u32)) (canon lift (core func $dm "run-one") (memory $memory)))
    (func (export "run-two") async (result (list u32)) (canon lift (core func $dm "run-two") (memory $memory)))
    (func (export "run-cb-blocking") async (result (list u32)) (canon lift (core func $dm "run-cb-blocking") (memory $memory)))
    (func (export "run-early") async (result (list u32)) (canon lift (core func $dm "run-early") (memory $memory)))
  )
  (instance $leaf (instantiate $Leaf))
  (instance $c (instantiate $C (with "later" (func $leaf "later"))))
  (instance $d (instantiate $D
    (with "stk" (func $c "stk"))
    (with "stk-early" (func $c "stk-early"))
    (with "cb-blocking" (func $c "cb-blocking"))
    (with "most" (func $c "most"))
    (with "reset" (func $c "reset"))))
  (export "run-one" (func $d "run-one"))
  (export "run-two" (func $d "run-two"))
  (export "run-cb-blocking" (func $d "run-cb-blocking"))
  (export "run-early" (func $d "run-early"))
  (export "stk" (func $c "stk"))
  (export "stk-none" (func $c "stk-none"))
  (export "stk-none-late" (func $c "stk-none-late"))
  (export "stk-twice" (func $c "stk-twice"))
)

;; Results of stk/cb-blocking(x): event << 28 | state << 24 | slot 0 << 16 |
;; later's result, e.g. 0x12030067: the task's own wait got (SUBTASK 1,
;; RETURNED 2), slot 0 still x = 3, later(3) = 103.
;; Each run-* uses a fresh instance and logs the next free index last.
(component instance $i $T)
;; STARTED | 1<<4; (SUBTASK, 1, RETURNED); the result
(assert_return (invoke "run-one")
  (list.const (u32.const 17) (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 0x12030067) (u32.const 1)))
(component instance $i $T)
;; both STARTED (17, 33): no exclusive lock; both in their core function at
;; once (most = 2); each task kept its own slot 0
(assert_return (invoke "run-two")
  (list.const (u32.const 17) (u32.const 33)
              (u32.const 1) (u32.const 2) (u32.const 2)
              (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 0x12010065) (u32.const 0x12020066)
              (u32.const 2) (u32.const 1)))
(component instance $i $T)
;; callback-lifted and blocking in its core function: the second call is
;; STARTING (0 | 2<<4 = 32); events (1, 1, RETURNED), (1, 2, STARTED),
;; (1, 2, RETURNED); never two inside at once (most = 1)
(assert_return (invoke "run-cb-blocking")
  (list.const (u32.const 17) (u32.const 32)
              (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 1) (u32.const 2) (u32.const 1)
              (u32.const 1) (u32.const 2) (u32.const 2)
              (u32.const 0x12010065) (u32.const 0x12020066)
              (u32.const 1) (u32.const 1)))
(component instance $i $T)
;; task.return before blocking: RETURNED (2), the result 4, no handle
(assert_return (invoke "run-early")
  (list.const (u32.const 2) (u32.const 4) (u32.const 1)))
;; called from the host
(component instance $i $T)
(assert_return (invoke "stk" (u32.const 5)) (u32.const 0x12050069))

;; traps
(component instance $i $T)
(assert_trap (invoke "stk-none" (u32.const 1)) "async-lifted export failed to produce a result")
(component instance $i $T)
(assert_trap (invoke "stk-none-late" (u32.const 1)) "async-lifted export failed to produce a result")
(component instance $i $T)
(assert_trap (invoke "stk-twice" (u32.const 1)) "`task.return` or `task.cancel` called more than once for current task")

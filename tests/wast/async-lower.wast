;; async-lower.wast -- `canon lower ... async` (CanonicalABI.md "canon lower",
;; definitions.py canon_lower, Subtask, MAX_FLAT_ASYNC_PARAMS = 4).
;;
;; Reference: wasmtime 49 `wasmtime wast async-lower.wast` (no -W flags needed;
;; component-model-async is on by default).
;;
;; Pins:
;;  * the core signature of an async-lowered import: up to 4 flat params are
;;    passed directly, more are passed as one pointer to the param tuple in the
;;    caller's memory; results always go through an out-pointer (last core
;;    param); the core function returns an i32 `state | subtask_index << 4`;
;;  * eager return: a callee that calls task.return before it first yields or
;;    waits makes the call return RETURNED (2) with no subtask index, and no
;;    handle is allocated (the next handle gets the index the subtask would
;;    have had); the result is already in the out-pointer;
;;  * deferred return: the call returns STARTED (1) | index << 4; the result is
;;    written later, and a SUBTASK (1) event (index, RETURNED = 2) is
;;    delivered through a waitable set; subtask.drop then frees the index;
;;  * params: the 5-param tuple is read from the caller's memory in order;
;;    4 flat params are still passed directly;
;;  * results: a (tuple u32 u64) result is stored with its memory layout
;;    (u32 at +0, u64 at +8) at the out-pointer;
;;  * an async-typed export lifted *synchronously* (no `async` option) and
;;    called through async lower returns RETURNED at once when it does not
;;    block, and STARTED when it blocks in waitable-set.wait;
;;  * a sync-lowered call (no `async`) of an async callee blocks the caller
;;    until the callee returns, and meanwhile other subtasks make progress;
;;  * subtask.drop traps while the subtask has not resolved, and also when it
;;    has resolved but its SUBTASK event was not delivered yet;
;;  * freed handle indices are reused LIFO (each run-* frees its handles so
;;    that the next one starts again at index 1);
;;  * `async` in canon lower needs an async function type (validation).

(component definition $T
  ;; -------------------------------------------------------------------------
  ;; $Leaf: callback-lifted async exports with different return timing.
  (component $Leaf
    (core module $LM
      (import "" "ret" (func $ret (param i32)))
      (import "" "ret-pair" (func $ret-pair (param i32 i64)))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (global $flag (mut i32) (i32.const 0))
      ;; returns x+1 before yielding: eager return
      (func (export "eager") (param i32) (result i32)
        (call $ret (i32.add (local.get 0) (i32.const 1)))
        (i32.const 0 (; EXIT ;)))
      ;; yields once, then returns x+100 (x kept in context slot 0)
      (func (export "later") (param i32) (result i32)
        (call $ctx.set (local.get 0))
        (i32.const 1 (; YIELD ;)))
      (func (export "later-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.add (call $ctx.get) (i32.const 100)))
        (i32.const 0))
      ;; 5 params: returns the digits a b c d e as a decimal number
      (func (export "five") (param i32 i32 i32 i32 i32) (result i32)
        (call $ret
          (i32.add (i32.mul (local.get 0) (i32.const 10000))
          (i32.add (i32.mul (local.get 1) (i32.const 1000))
          (i32.add (i32.mul (local.get 2) (i32.const 100))
          (i32.add (i32.mul (local.get 3) (i32.const 10)) (local.get 4))))))
        (i32.const 0))
      (func (export "four") (param i32 i32 i32 i32) (result i32)
        (call $ret
          (i32.add (i32.mul (local.get 0) (i32.const 1000))
          (i32.add (i32.mul (local.get 1) (i32.const 100))
          (i32.add (i32.mul (local.get 2) (i32.const 10)) (local.get 3)))))
        (i32.const 0))
      (func (export "pair") (param i32) (result i32)
        (call $ret-pair (local.get 0) (i64.const 0x1122334455667788))
        (i32.const 0))
      ;; sync-lifted async-typed export: a plain core function
      (func (export "plain") (param i32) (result i32)
        (i32.mul (local.get 0) (i32.const 2)))
      ;; yields until "set-flag" has run
      (func (export "wait-flag") (result i32) (i32.const 1))
      (func (export "wait-flag-cb") (param i32 i32 i32) (result i32)
        (if (result i32) (global.get $flag)
          (then (call $ret (i32.const 77)) (i32.const 0))
          (else (i32.const 1))))
      ;; yields once, then sets the flag and returns 55
      (func (export "set-flag") (result i32) (i32.const 1))
      (func (export "set-flag-cb") (param i32 i32 i32) (result i32)
        (global.set $flag (i32.const 1))
        (call $ret (i32.const 55))
        (i32.const 0))
      ;; never returns
      (func (export "forever") (result i32) (i32.const 1))
      (func (export "forever-cb") (param i32 i32 i32) (result i32) (i32.const 1))
    )
    (core func $ret (canon task.return (result u32)))
    (core func $ret-pair (canon task.return (result (tuple u32 u64))))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core instance $lm (instantiate $LM (with "" (instance
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))
      (export "ret" (func $ret))
      (export "ret-pair" (func $ret-pair))))))
    (func (export "eager") async (param "x" u32) (result u32)
      (canon lift (core func $lm "eager") async (callback (core func $lm "later-cb"))))
    (func (export "later") async (param "x" u32) (result u32)
      (canon lift (core func $lm "later") async (callback (core func $lm "later-cb"))))
    (func (export "five") async (param "a" u32) (param "b" u32) (param "c" u32) (param "d" u32) (param "e" u32) (result u32)
      (canon lift (core func $lm "five") async (callback (core func $lm "later-cb"))))
    (func (export "four") async (param "a" u32) (param "b" u32) (param "c" u32) (param "d" u32) (result u32)
      (canon lift (core func $lm "four") async (callback (core func $lm "later-cb"))))
    (func (export "pair") async (param "x" u32) (result (tuple u32 u64))
      (canon lift (core func $lm "pair") async (callback (core func $lm "later-cb"))))
    (func (export "plain") async (param "x" u32) (result u32)
      (canon lift (core func $lm "plain")))
    (func (export "wait-flag") async (result u32)
      (canon lift (core func $lm "wait-flag") async (callback (core func $lm "wait-flag-cb"))))
    (func (export "set-flag") async (result u32)
      (canon lift (core func $lm "set-flag") async (callback (core func $lm "set-flag-cb"))))
    (func (export "forever") async (result u32)
      (canon lift (core func $lm "forever") async (callback (core func $lm "forever-cb"))))
  )

  ;; -------------------------------------------------------------------------
  ;; $Mid: an async-typed export lifted synchronously that blocks in
  ;; waitable-set.wait on an async call of $Leaf.later.
  (component $Mid
    (import "later" (func $later async (param "x" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $later (canon lower (func $later) async (memory $memory)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core module $MM
      (import "" "mem" (memory 1))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      (func (export "sync-waits") (param $x i32) (result i32)
        (local $r i32) (local $ws i32)
        (local.set $r (call $later (local.get $x) (i32.const 0x40)))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (drop (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (i32.add (i32.load (i32.const 0x40)) (i32.const 1000)))
    )
    (core instance $mm (instantiate $MM (with "" (instance
      (export "mem" (memory $memory))
      (export "later" (func $later))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))))))
    (func (export "sync-waits") async (param "x" u32) (result u32)
      (canon lift (core func $mm "sync-waits")))
  )

  ;; -------------------------------------------------------------------------
  ;; $D: the driver. Every "run-*" export returns a log of u32 observations.
  (component $D
    (import "eager" (func $eager async (param "x" u32) (result u32)))
    (import "later" (func $later async (param "x" u32) (result u32)))
    (import "five" (func $five async (param "a" u32) (param "b" u32) (param "c" u32) (param "d" u32) (param "e" u32) (result u32)))
    (import "four" (func $four async (param "a" u32) (param "b" u32) (param "c" u32) (param "d" u32) (result u32)))
    (import "pair" (func $pair async (param "x" u32) (result (tuple u32 u64))))
    (import "plain" (func $plain async (param "x" u32) (result u32)))
    (import "sync-waits" (func $sync-waits async (param "x" u32) (result u32)))
    (import "wait-flag" (func $wait-flag async (result u32)))
    (import "set-flag" (func $set-flag async (result u32)))
    (import "forever" (func $forever async (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $eager (canon lower (func $eager) async (memory $memory)))
    (core func $later (canon lower (func $later) async (memory $memory)))
    (core func $five (canon lower (func $five) async (memory $memory)))
    (core func $four (canon lower (func $four) async (memory $memory)))
    (core func $pair (canon lower (func $pair) async (memory $memory)))
    (core func $plain (canon lower (func $plain) async (memory $memory)))
    (core func $sync-waits (canon lower (func $sync-waits) async (memory $memory)))
    (core func $set-flag (canon lower (func $set-flag) async (memory $memory)))
    (core func $forever (canon lower (func $forever) async (memory $memory)))
    (core func $wait-flag-sync (canon lower (func $wait-flag)))
    (core func $later-sync (canon lower (func $later)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.poll (canon waitable-set.poll (memory $memory)))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core func $st.drop (canon subtask.drop))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "eager" (func $eager (param i32 i32) (result i32)))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "five" (func $five (param i32 i32) (result i32)))
      (import "" "four" (func $four (param i32 i32 i32 i32 i32) (result i32)))
      (import "" "pair" (func $pair (param i32 i32) (result i32)))
      (import "" "plain" (func $plain (param i32 i32) (result i32)))
      (import "" "sync-waits" (func $sync-waits (param i32 i32) (result i32)))
      (import "" "set-flag" (func $set-flag (param i32) (result i32)))
      (import "" "forever" (func $forever (param i32) (result i32)))
      (import "" "wait-flag-sync" (func $wait-flag-sync (result i32)))
      (import "" "later-sync" (func $later-sync (param i32) (result i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.poll" (func $ws.poll (param i32 i32) (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      ;; every run-* drops all the handles it made, so each starts at index 1
      ;; the log: u32s from 0x100; run-* return a pointer to (0x100, count) at 8
      (global $lp (mut i32) (i32.const 0x100))
      (func $log (param i32)
        (i32.store (global.get $lp) (local.get 0))
        (global.set $lp (i32.add (global.get $lp) (i32.const 4))))
      (func $done (result i32)
        (i32.store (i32.const 8) (i32.const 0x100))
        (i32.store (i32.const 12) (i32.shr_u (i32.sub (global.get $lp) (i32.const 0x100)) (i32.const 2)))
        (global.set $lp (i32.const 0x100))
        (i32.const 8))
      ;; wait on $ws and log: event code, index, payload
      (func $wait-log (param $ws i32)
        (call $log (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4))))

      ;; eager return, then the next handle index is still 1
      (func (export "run-eager") (result i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (call $log (call $eager (i32.const 5) (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (call $ws.new))
        (call $ws.drop (i32.const 1))
        (call $done))

      ;; deferred return: STARTED|1<<4, result not yet written, SUBTASK event,
      ;; then the result; subtask.drop frees index 1 (reused by the next new)
      (func (export "run-later") (result i32)
        (local $r i32) (local $ws i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (local.set $r (call $later (i32.const 7) (i32.const 0x40)))
        (call $log (local.get $r))
        (call $log (i32.load (i32.const 0x40)))
        (local.set $ws (call $ws.new))
        (call $log (local.get $ws))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (call $wait-log (local.get $ws))
        (call $log (i32.load (i32.const 0x40)))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (call $log (call $ws.new))
        (call $ws.drop (local.get $ws))
        (call $ws.drop (i32.const 1))
        (call $done))

      ;; two deferred calls at once get indices 1 and 2; each event carries
      ;; its subtask's index (joined one at a time so the order is fixed)
      (func (export "run-two") (result i32)
        (local $ws i32)
        (call $log (call $later (i32.const 1) (i32.const 0x40)))
        (call $log (call $later (i32.const 2) (i32.const 0x44)))
        (local.set $ws (call $ws.new))
        (call $join (i32.const 2) (local.get $ws))
        (call $wait-log (local.get $ws))
        (call $join (i32.const 1) (local.get $ws))
        (call $wait-log (local.get $ws))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x44)))
        ;; join 0 leaves the set; free in the order 3, 2, 1 (LIFO reuse)
        (call $join (i32.const 1) (i32.const 0))
        (call $join (i32.const 2) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.const 2))
        (call $st.drop (i32.const 1))
        (call $done))

      ;; params: 5 flat params through a pointer, 4 directly
      (func (export "run-params") (result i32)
        (i32.store (i32.const 0x60) (i32.const 1))
        (i32.store (i32.const 0x64) (i32.const 2))
        (i32.store (i32.const 0x68) (i32.const 3))
        (i32.store (i32.const 0x6c) (i32.const 4))
        (i32.store (i32.const 0x70) (i32.const 5))
        (call $log (call $five (i32.const 0x60) (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (call $four (i32.const 9) (i32.const 8) (i32.const 7) (i32.const 6) (i32.const 0x44)))
        (call $log (i32.load (i32.const 0x44)))
        (call $done))

      ;; results: (tuple u32 u64) at the out-pointer: u32 @+0, u64 @+8
      (func (export "run-pair") (result i32)
        (i64.store (i32.const 0x40) (i64.const -1))
        (i64.store (i32.const 0x48) (i64.const -1))
        (call $log (call $pair (i32.const 0xabc) (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x44)))
        (call $log (i32.load (i32.const 0x48)))
        (call $log (i32.load (i32.const 0x4c)))
        (call $done))

      ;; sync-lifted callees: RETURNED at once, or STARTED when they block
      (func (export "run-sync-lifted") (result i32)
        (local $r i32) (local $ws i32)
        (call $log (call $plain (i32.const 21) (i32.const 0x40)))
        (call $log (i32.load (i32.const 0x40)))
        (local.set $r (call $sync-waits (i32.const 3) (i32.const 0x44)))
        (call $log (local.get $r))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (call $wait-log (local.get $ws))
        (call $log (i32.load (i32.const 0x44)))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (call $done))

      ;; a sync-lowered call blocks the caller; "set-flag" (started before)
      ;; resolves meanwhile, so the poll afterwards finds its event at once
      (func (export "run-sync-lower") (result i32)
        (local $r i32) (local $ws i32)
        (local.set $r (call $set-flag (i32.const 0x40)))
        (call $log (local.get $r))
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (local.get $ws))
        (call $log (call $wait-flag-sync))
        (call $log (call $ws.poll (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4)))
        (call $log (i32.load (i32.const 0x40)))
        (call $join (i32.shr_u (local.get $r) (i32.const 4)) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (call $log (call $later-sync (i32.const 8)))
        (call $done))

      ;; subtask.drop of a subtask that has not resolved
      (func (export "drop-unresolved") (result i32)
        (call $st.drop (i32.shr_u (call $forever (i32.const 0x40)) (i32.const 4)))
        (call $done))

      ;; subtask.drop of a resolved subtask whose event was not delivered:
      ;; the sync call of "later" lets the first "later" finish meanwhile
      (func (export "drop-undelivered") (result i32)
        (local $r i32)
        (local.set $r (call $later (i32.const 1) (i32.const 0x40)))
        (drop (call $later-sync (i32.const 2)))
        (call $st.drop (i32.shr_u (local.get $r) (i32.const 4)))
        (call $done))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "eager" (func $eager))
      (export "later" (func $later))
      (export "five" (func $five))
      (export "four" (func $four))
      (export "pair" (func $pair))
      (export "plain" (func $plain))
      (export "sync-waits" (func $sync-waits))
      (export "set-flag" (func $set-flag))
      (export "forever" (func $forever))
      (export "wait-flag-sync" (func $wait-flag-sync))
      (export "later-sync" (func $later-sync))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.poll" (func $ws.poll))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))
      (export "st.drop" (func $st.drop))))))
    (func (export "run-eager") async (result (list u32)) (canon lift (core func $dm "run-eager") (memory $memory)))
    (func (export "run-later") async (result (list u32)) (canon lift (core func $dm "run-later") (memory $memory)))
    (func (export "run-two") async (result (list u32)) (canon lift (core func $dm "run-two") (memory $memory)))
    (func (export "run-params") async (result (list u32)) (canon lift (core func $dm "run-params") (memory $memory)))
    (func (export "run-pair") async (result (list u32)) (canon lift (core func $dm "run-pair") (memory $memory)))
    (func (export "run-sync-lifted") async (result (list u32)) (canon lift (core func $dm "run-sync-lifted") (memory $memory)))
    (func (export "run-sync-lower") async (result (list u32)) (canon lift (core func $dm "run-sync-lower") (memory $memory)))
    (func (export "drop-unresolved") async (result (list u32)) (canon lift (core func $dm "drop-unresolved") (memory $memory)))
    (func (export "drop-undelivered") async (result (list u32)) (canon lift (core func $dm "drop-undelivered") (memory $memory)))
  )
  (instance $leaf (instantiate $Leaf))
  (instance $mid (instantiate $Mid (with "later" (func $leaf "later"))))
  (instance $d (instantiate $D
    (with "eager" (func $leaf "eager"))
    (with "later" (func $leaf "later"))
    (with "five" (func $leaf "five"))
    (with "four" (func $leaf "four"))
    (with "pair" (func $leaf "pair"))
    (with "plain" (func $leaf "plain"))
    (with "sync-waits" (func $mid "sync-waits"))
    (with "wait-flag" (func $leaf "wait-flag"))
    (with "set-flag" (func $leaf "set-flag"))
    (with "forever" (func $leaf "forever"))))
  (export "run-eager" (func $d "run-eager"))
  (export "run-later" (func $d "run-later"))
  (export "run-two" (func $d "run-two"))
  (export "run-params" (func $d "run-params"))
  (export "run-pair" (func $d "run-pair"))
  (export "run-sync-lifted" (func $d "run-sync-lifted"))
  (export "run-sync-lower" (func $d "run-sync-lower"))
  (export "drop-unresolved" (func $d "drop-unresolved"))
  (export "drop-undelivered" (func $d "drop-undelivered"))
)

(component instance $t1 $T)
;; eager: RETURNED (2), out-pointer holds 5+1, no handle: the next new gets 1
(assert_return (invoke "run-eager") (list.const (u32.const 2) (u32.const 6) (u32.const 1)))
;; deferred: STARTED|1<<4 = 17, out-pointer untouched (0xdead), ws = 2,
;; event SUBTASK(1) index 1 payload RETURNED(2), result 107, index 1 reused
(assert_return (invoke "run-later")
  (list.const (u32.const 17) (u32.const 0xdead) (u32.const 2)
              (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 107) (u32.const 1)))
;; indices 1 and 2 (17, 33); ws = 3; per-subtask events and results
(assert_return (invoke "run-two")
  (list.const (u32.const 17) (u32.const 33)
              (u32.const 1) (u32.const 2) (u32.const 2)
              (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 101) (u32.const 102)))
(assert_return (invoke "run-params")
  (list.const (u32.const 2) (u32.const 12345) (u32.const 2) (u32.const 9876)))
;; u32 0xabc at +0, padding at +4 untouched, u64 0x1122334455667788 at +8
(assert_return (invoke "run-pair")
  (list.const (u32.const 2) (u32.const 0xabc) (u32.const 0xffffffff)
              (u32.const 0x55667788) (u32.const 0x11223344)))
;; plain: RETURNED, 2*21; sync-waits blocks in waitable-set.wait, so the
;; async call returns STARTED|1<<4; it returns 3+100+1000 later
(assert_return (invoke "run-sync-lifted")
  (list.const (u32.const 2) (u32.const 42) (u32.const 17)
              (u32.const 1) (u32.const 1) (u32.const 2) (u32.const 1103)))
;; set-flag STARTED|1<<4; the sync call of wait-flag returns 77; the poll
;; then finds SUBTASK 1 RETURNED without waiting; set-flag's result 55; a
;; sync-lowered call of "later" returns 108 directly
(assert_return (invoke "run-sync-lower")
  (list.const (u32.const 17) (u32.const 77)
              (u32.const 1) (u32.const 1) (u32.const 2)
              (u32.const 55) (u32.const 108)))

(component instance $t2 $T)
(assert_trap (invoke "drop-unresolved") "cannot drop a subtask which has not yet resolved")
(assert_trap (invoke "run-eager") "cannot enter component instance")

;; the spec (Subtask.drop: trap_if(not resolve_delivered())) and wasmtime 49
;; agree: a resolved subtask whose event was not delivered cannot be dropped;
;; wasmtime uses the same text as for an unresolved one
(component instance $t3 $T)
(assert_trap (invoke "drop-undelivered") "cannot drop a subtask which has not yet resolved")

(assert_invalid
  (component
    (import "f" (func $f (param "x" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $f (canon lower (func $f) async (memory $memory))))
  "the `async` canonical option requires an async function type")

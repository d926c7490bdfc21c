;; async-cancel.wast -- cancelling subtasks (CanonicalABI.md "canon
;; subtask.cancel", "canon task.cancel", Concurrency.md "Cancellation";
;; definitions.py canon_subtask_cancel, Task.request_cancellation,
;; Task.cancel, canon_lower on_resolve).
;;
;; Reference: wasmtime 49 `wasmtime wast -W component-model-more-async-builtins=y async-cancel.wast`
;; (the flag is for `subtask.cancel async`; everything else needs no flag.)
;;
;; Pins:
;;  * a callee that is still waiting for backpressure (subtask STARTING) is
;;    cancelled at once: subtask.cancel returns CANCELLED_BEFORE_STARTED (3),
;;    the callee's core code never runs, the out-pointer is untouched;
;;  * a STARTED callback-lifted callee gets (TASK_CANCELLED = 6, 0, 0) in its
;;    callback; if it calls task.cancel, subtask.cancel returns
;;    CANCELLED_BEFORE_RETURNED (4); if it calls task.return instead,
;;    subtask.cancel returns RETURNED (2) and the result is in place;
;;  * a subtask that resolved but whose event was not delivered yet:
;;    subtask.cancel returns RETURNED (2) without calling the callee;
;;  * after subtask.cancel returned a state, the resolve is delivered: the
;;    subtask can be dropped and its index is reused;
;;  * `subtask.cancel async`: returns BLOCKED (0xffffffff) when the callee
;;    does not resolve at once; the resolution then arrives as a SUBTASK
;;    event (index, CANCELLED_BEFORE_RETURNED); when the callee resolves at
;;    once it returns the state directly;
;;  * traps: cancel after the resolve event was delivered, cancelling twice
;;    (after a state was returned, and after BLOCKED), a sync cancel of a
;;    subtask that is in a waitable set, cancel of a non-subtask,
;;    task.cancel before a cancellation was delivered, task.cancel after
;;    task.return.

(component definition $T
  (component $C
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $ret (canon task.return (result u32)))
    (core func $cancel (canon task.cancel))
    (core func $ctx.get (canon context.get i32 0))
    (core func $ctx.set (canon context.set i32 0))
    (core func $bp.inc (canon backpressure.inc))
    (core func $bp.dec (canon backpressure.dec))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.drop (canon waitable-set.drop))
    (core module $CM
      (import "" "ret" (func $ret (param i32)))
      (import "" "cancel" (func $cancel))
      (import "" "ctx.get" (func $ctx.get (result i32)))
      (import "" "ctx.set" (func $ctx.set (param i32)))
      (import "" "bp.inc" (func $bp.inc))
      (import "" "bp.dec" (func $bp.dec))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      ;; what the callbacks saw: number of calls, and the last (event, p1, p2)
      (global $calls (mut i32) (i32.const 0))
      (global $last (mut i32) (i32.const 0))
      (global $ran (mut i32) (i32.const 0))
      (func $note (param i32 i32 i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (global.set $last (i32.or (i32.shl (local.get 0) (i32.const 16))
                          (i32.or (i32.shl (local.get 1) (i32.const 8)) (local.get 2)))))
      ;; seen() = ran << 28 | calls << 24 | last event; clears the record
      (func (export "seen") (result i32)
        (local $r i32)
        (local.set $r (i32.or (i32.shl (global.get $ran) (i32.const 28))
                      (i32.or (i32.shl (global.get $calls) (i32.const 24)) (global.get $last))))
        (global.set $ran (i32.const 0))
        (global.set $calls (i32.const 0))
        (global.set $last (i32.const 0))
        (local.get $r))

      ;; slow(mode): waits on a fresh empty set until cancelled.
      ;; slot 0 = set << 8 | mode. On TASK_CANCELLED:
      ;;   mode 0: task.cancel; mode 1: task.return(77);
      ;;   mode 2: YIELD first, then task.cancel on the next callback.
      (func (export "slow") (param $mode i32) (result i32)
        (local $ws i32)
        (global.set $ran (i32.add (global.get $ran) (i32.const 1)))
        (local.set $ws (call $ws.new))
        (call $ctx.set (i32.or (i32.shl (local.get $ws) (i32.const 8)) (local.get $mode)))
        (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (local.get $ws) (i32.const 4))))
      (func (export "slow-cb") (param i32 i32 i32) (result i32)
        (local $mode i32)
        (call $note (local.get 0) (local.get 1) (local.get 2))
        (local.set $mode (i32.and (call $ctx.get) (i32.const 0xff)))
        (if (i32.eq (local.get 0) (i32.const 6 (; TASK_CANCELLED ;)))
          (then
            ;; drop the set once; keep only the mode in slot 0
            (if (i32.shr_u (call $ctx.get) (i32.const 8))
              (then (call $ws.drop (i32.shr_u (call $ctx.get) (i32.const 8)))))
            (call $ctx.set (local.get $mode))
            (if (i32.eq (local.get $mode) (i32.const 0))
              (then (call $cancel) (return (i32.const 0))))
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then (call $ret (i32.const 77)) (return (i32.const 0))))
            (if (i32.eq (local.get $mode) (i32.const 2))
              (then (return (i32.const 1 (; YIELD ;)))))
            unreachable))
        ;; mode 2, after the YIELD
        (if (i32.and (i32.eqz (local.get 0)) (i32.eq (local.get $mode) (i32.const 2)))
          (then (call $cancel) (return (i32.const 0))))
        unreachable)

      ;; quick(x): YIELD once, then return x + 100
      (func (export "quick") (param i32) (result i32)
        (call $ctx.set (local.get 0))
        (i32.const 1))
      (func (export "quick-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.add (call $ctx.get) (i32.const 100)))
        (i32.const 0))

      ;; task.cancel with no cancellation requested
      (func (export "cancel-now") (result i32)
        (call $cancel)
        (i32.const 0))
      ;; task.cancel after task.return
      (func (export "cancel-after-return") (result i32)
        (call $ret (i32.const 1))
        (call $cancel)
        (i32.const 0))
      (func (export "unreachable-cb") (param i32 i32 i32) (result i32) unreachable)

      (func (export "bp-inc") (call $bp.inc))
      (func (export "bp-dec") (call $bp.dec)))
    (core instance $cm (instantiate $CM (with "" (instance
      (export "ret" (func $ret))
      (export "cancel" (func $cancel))
      (export "ctx.get" (func $ctx.get))
      (export "ctx.set" (func $ctx.set))
      (export "bp.inc" (func $bp.inc))
      (export "bp.dec" (func $bp.dec))
      (export "ws.new" (func $ws.new))
      (export "ws.drop" (func $ws.drop))))))
    (func (export "slow") async (param "mode" u32) (result u32)
      (canon lift (core func $cm "slow") async (callback (core func $cm "slow-cb"))))
    (func (export "quick") async (param "x" u32) (result u32)
      (canon lift (core func $cm "quick") async (callback (core func $cm "quick-cb"))))
    (func (export "cancel-now") async (result u32)
      (canon lift (core func $cm "cancel-now") async (callback (core func $cm "unreachable-cb"))))
    (func (export "cancel-after-return") async (result u32)
      (canon lift (core func $cm "cancel-after-return") async (callback (core func $cm "unreachable-cb"))))
    (func (export "seen") (result u32) (canon lift (core func $cm "seen")))
    (func (export "bp-inc") (canon lift (core func $cm "bp-inc")))
    (func (export "bp-dec") (canon lift (core func $cm "bp-dec")))
  )

  (component $D
    (import "slow" (func $slow async (param "mode" u32) (result u32)))
    (import "quick" (func $quick async (param "x" u32) (result u32)))
    (import "seen" (func $seen (result u32)))
    (import "bp-inc" (func $bp-inc))
    (import "bp-dec" (func $bp-dec))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $slow (canon lower (func $slow) async (memory $memory)))
    (core func $quick (canon lower (func $quick) async (memory $memory)))
    (core func $quick-sync (canon lower (func $quick)))
    (core func $seen (canon lower (func $seen)))
    (core func $bp-inc (canon lower (func $bp-inc)))
    (core func $bp-dec (canon lower (func $bp-dec)))
    (core func $st.cancel (canon subtask.cancel))
    (core func $st.cancel-async (canon subtask.cancel async))
    (core func $st.drop (canon subtask.drop))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.drop (canon waitable-set.drop))
    (core func $join (canon waitable.join))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "slow" (func $slow (param i32 i32) (result i32)))
      (import "" "quick" (func $quick (param i32 i32) (result i32)))
      (import "" "quick-sync" (func $quick-sync (param i32) (result i32)))
      (import "" "seen" (func $seen (result i32)))
      (import "" "bp-inc" (func $bp-inc))
      (import "" "bp-dec" (func $bp-dec))
      (import "" "st.cancel" (func $st.cancel (param i32) (result i32)))
      (import "" "st.cancel-async" (func $st.cancel-async (param i32) (result i32)))
      (import "" "st.drop" (func $st.drop (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.drop" (func $ws.drop (param i32)))
      (import "" "join" (func $join (param i32 i32)))
      (global $lp (mut i32) (i32.const 0x100))
      (func $log (param i32)
        (i32.store (global.get $lp) (local.get 0))
        (global.set $lp (i32.add (global.get $lp) (i32.const 4))))
      (func $done (result i32)
        (i32.store (i32.const 8) (i32.const 0x100))
        (i32.store (i32.const 12) (i32.shr_u (i32.sub (global.get $lp) (i32.const 0x100)) (i32.const 2)))
        (global.set $lp (i32.const 0x100))
        (i32.const 8))
      ;; the next free index (then freed again)
      (func $next-index
        (local $s i32)
        (local.set $s (call $ws.new))
        (call $log (local.get $s))
        (call $ws.drop (local.get $s)))

      ;; backpressure holds the call back (STARTING | 1<<4 = 16); cancel: 3
      (func (export "run-before-start") (result i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (call $bp-inc)
        (call $log (call $slow (i32.const 0) (i32.const 0x40)))
        (call $log (call $st.cancel (i32.const 1)))
        (call $st.drop (i32.const 1))
        (call $bp-dec)
        (call $log (call $seen))
        (call $log (i32.load (i32.const 0x40)))
        (call $next-index)
        (call $done))

      ;; the same with `subtask.cancel async`: 3 at once, not BLOCKED
      (func (export "run-before-start-async") (result i32)
        (call $bp-inc)
        (call $log (call $slow (i32.const 0) (i32.const 0x40)))
        (call $log (call $st.cancel-async (i32.const 1)))
        (call $st.drop (i32.const 1))
        (call $bp-dec)
        (call $log (call $seen))
        (call $next-index)
        (call $done))

      ;; STARTED callee; it gets TASK_CANCELLED and calls task.cancel: 4
      (func (export "run-cancel-started") (result i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (call $log (call $slow (i32.const 0) (i32.const 0x40)))
        (call $log (call $st.cancel (i32.const 1)))
        (call $log (call $seen))
        (call $log (i32.load (i32.const 0x40)))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; the callee returns 77 when cancelled: RETURNED (2), result in place
      (func (export "run-return-anyway") (result i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (call $log (call $slow (i32.const 1) (i32.const 0x40)))
        (call $log (call $st.cancel (i32.const 1)))
        (call $log (call $seen))
        (call $log (i32.load (i32.const 0x40)))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; quick(5) finishes during a sync call of quick(6); its event is not
      ;; delivered yet: cancel returns RETURNED (2), the result is 105
      (func (export "run-cancel-resolved") (result i32)
        (i32.store (i32.const 0x40) (i32.const 0xdead))
        (call $log (call $quick (i32.const 5) (i32.const 0x40)))
        (call $log (call $quick-sync (i32.const 6)))
        (call $log (call $st.cancel (i32.const 1)))
        (call $log (i32.load (i32.const 0x40)))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; `subtask.cancel async`: the callee yields after TASK_CANCELLED, so the
      ;; cancel returns BLOCKED; the SUBTASK event then carries state 4
      (func (export "run-cancel-async") (result i32)
        (local $ws i32)
        (call $log (call $slow (i32.const 2) (i32.const 0x40)))
        (call $log (call $st.cancel-async (i32.const 1)))
        (local.set $ws (call $ws.new))
        (call $log (local.get $ws))
        (call $join (i32.const 1) (local.get $ws))
        (call $log (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4)))
        (call $log (call $seen))
        (call $join (i32.const 1) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; `subtask.cancel async` of a callee that resolves at once: 4
      (func (export "run-cancel-async-now") (result i32)
        (call $log (call $slow (i32.const 0) (i32.const 0x40)))
        (call $log (call $st.cancel-async (i32.const 1)))
        (call $log (call $seen))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; a second `subtask.cancel async` while the first is still BLOCKED
      (func (export "run-cancel-twice-blocked") (result i32)
        (local $ws i32)
        (call $log (call $slow (i32.const 2) (i32.const 0x40)))
        (call $log (call $st.cancel-async (i32.const 1)))
        (call $log (call $st.cancel-async (i32.const 1)))
        (local.set $ws (call $ws.new))
        (call $join (i32.const 1) (local.get $ws))
        (call $log (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $log (i32.load (i32.const 0)))
        (call $log (i32.load (i32.const 4)))
        (drop (call $seen))
        (call $join (i32.const 1) (i32.const 0))
        (call $ws.drop (local.get $ws))
        (call $st.drop (i32.const 1))
        (call $next-index)
        (call $done))

      ;; traps
      (func (export "cancel-delivered") (result i32)
        (local $ws i32)
        (drop (call $quick (i32.const 1) (i32.const 0x40)))
        (local.set $ws (call $ws.new))
        (call $join (i32.const 1) (local.get $ws))
        (drop (call $ws.wait (local.get $ws) (i32.const 0)))
        (call $join (i32.const 1) (i32.const 0))
        (drop (call $st.cancel (i32.const 1)))
        (call $done))
      (func (export "cancel-twice") (result i32)
        (drop (call $slow (i32.const 0) (i32.const 0x40)))
        (call $log (call $st.cancel (i32.const 1)))
        (drop (call $st.cancel (i32.const 1)))
        (call $done))
      (func (export "cancel-async-in-set") (result i32)
        (drop (call $slow (i32.const 0) (i32.const 0x40)))
        (call $join (i32.const 1) (call $ws.new))
        (drop (call $st.cancel-async (i32.const 1)))
        (call $done))
      (func (export "cancel-in-set") (result i32)
        (drop (call $slow (i32.const 0) (i32.const 0x40)))
        (call $join (i32.const 1) (call $ws.new))
        (drop (call $st.cancel (i32.const 1)))
        (call $done))
      (func (export "cancel-not-subtask") (result i32)
        (drop (call $st.cancel (call $ws.new)))
        (call $done))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "slow" (func $slow))
      (export "quick" (func $quick))
      (export "quick-sync" (func $quick-sync))
      (export "seen" (func $seen))
      (export "bp-inc" (func $bp-inc))
      (export "bp-dec" (func $bp-dec))
      (export "st.cancel" (func $st.cancel))
      (export "st.cancel-async" (func $st.cancel-async))
      (export "st.drop" (func $st.drop))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.drop" (func $ws.drop))
      (export "join" (func $join))))))
    (func (export "run-before-start") async (result (list u32)) (canon lift (core func $dm "run-before-start") (memory $memory)))
    (func (export "run-before-start-async") async (result (list u32)) (canon lift (core func $dm "run-before-start-async") (memory $memory)))
    (func (export "run-cancel-started") async (result (list u32)) (canon lift (core func $dm "run-cancel-started") (memory $memory)))
    (func (export "run-return-anyway") async (result (list u32)) (canon lift (core func $dm "run-return-anyway") (memory $memory)))
    (func (export "run-cancel-resolved") async (result (list u32)) (canon lift (core func $dm "run-cancel-resolved") (memory $memory)))
    (func (export "run-cancel-async") async (result (list u32)) (canon lift (core func $dm "run-cancel-async") (memory $memory)))
    (func (export "run-cancel-async-now") async (result (list u32)) (canon lift (core func $dm "run-cancel-async-now") (memory $memory)))
    (func (export "cancel-delivered") async (result (list u32)) (canon lift (core func $dm "cancel-delivered") (memory $memory)))
    (func (export "cancel-twice") async (result (list u32)) (canon lift (core func $dm "cancel-twice") (memory $memory)))
    (func (export "run-cancel-twice-blocked") async (result (list u32)) (canon lift (core func $dm "run-cancel-twice-blocked") (memory $memory)))
    (func (export "cancel-async-in-set") async (result (list u32)) (canon lift (core func $dm "cancel-async-in-set") (memory $memory)))
    (func (export "cancel-in-set") async (result (list u32)) (canon lift (core func $dm "cancel-in-set") (memory $memory)))
    (func (export "cancel-not-subtask") async (result (list u32)) (canon lift (core func $dm "cancel-not-subtask") (memory $memory)))
  )
  (instance $c (instantiate $C))
  (instance $d (instantiate $D
    (with "slow" (func $c "slow"))
    (with "quick" (func $c "quick"))
    (with "seen" (func $c "seen"))
    (with "bp-inc" (func $c "bp-inc"))
    (with "bp-dec" (func $c "bp-dec"))))
  (export "run-before-start" (func $d "run-before-start"))
  (export "run-before-start-async" (func $d "run-before-start-async"))
  (export "run-cancel-started" (func $d "run-cancel-started"))
  (export "run-return-anyway" (func $d "run-return-anyway"))
  (export "run-cancel-resolved" (func $d "run-cancel-resolved"))
  (export "run-cancel-async" (func $d "run-cancel-async"))
  (export "run-cancel-async-now" (func $d "run-cancel-async-now"))
  (export "cancel-delivered" (func $d "cancel-delivered"))
  (export "cancel-twice" (func $d "cancel-twice"))
  (export "run-cancel-twice-blocked" (func $d "run-cancel-twice-blocked"))
  (export "cancel-async-in-set" (func $d "cancel-async-in-set"))
  (export "cancel-in-set" (func $d "cancel-in-set"))
  (export "cancel-not-subtask" (func $d "cancel-not-subtask"))
  (export "cancel-now" (func $c "cancel-now"))
  (export "cancel-after-return" (func $c "cancel-after-return"))
)

;; Each run-* gets a fresh instance (so that a failure does not cascade),
;; frees what it made, and logs the next free index (1) last.
;; seen() = ran << 28 | callback calls << 24 |
;; last (event << 16 | p1 << 8 | p2).
(component instance $i $T)
;; STARTING | 1<<4 = 16; CANCELLED_BEFORE_STARTED (3); slow never ran, no
;; callback; the out-pointer is untouched
(assert_return (invoke "run-before-start")
  (list.const (u32.const 16) (u32.const 3) (u32.const 0) (u32.const 0xdead) (u32.const 1)))
(component instance $i $T)
(assert_return (invoke "run-before-start-async")
  (list.const (u32.const 16) (u32.const 3) (u32.const 0) (u32.const 1)))
(component instance $i $T)
;; STARTED | 1<<4 = 17; CANCELLED_BEFORE_RETURNED (4); slow ran once, one
;; callback call with (TASK_CANCELLED = 6, 0, 0); no result written
(assert_return (invoke "run-cancel-started")
  (list.const (u32.const 17) (u32.const 4) (u32.const 0x11060000) (u32.const 0xdead) (u32.const 1)))
(component instance $i $T)
;; the callee returns 77 after TASK_CANCELLED: RETURNED (2), result 77
(assert_return (invoke "run-return-anyway")
  (list.const (u32.const 17) (u32.const 2) (u32.const 0x11060000) (u32.const 77) (u32.const 1)))
(component instance $i $T)
;; quick(5) resolved during the sync call (which returned 106), event not
;; yet delivered: cancel returns RETURNED (2); the result 105 is in place
(assert_return (invoke "run-cancel-resolved")
  (list.const (u32.const 17) (u32.const 106) (u32.const 2) (u32.const 105) (u32.const 1)))
(component instance $i $T)
;; async cancel: BLOCKED; set 2; event (SUBTASK 1, index 1, state 4); two
;; callback calls, TASK_CANCELLED then the (NONE, 0, 0) after the YIELD
(assert_return (invoke "run-cancel-async")
  (list.const (u32.const 17) (u32.const 0xffffffff) (u32.const 2)
              (u32.const 1) (u32.const 1) (u32.const 4)
              (u32.const 0x12000000) (u32.const 1)))
(component instance $i $T)
;; async cancel, callee resolves at once: 4 directly
(assert_return (invoke "run-cancel-async-now")
  (list.const (u32.const 17) (u32.const 4) (u32.const 0x11060000) (u32.const 1)))
(component instance $i $T)
;; WASMTIME 49 DIFFERS FROM THE SPEC: a second `subtask.cancel async` while
;; the first is BLOCKED returns BLOCKED again (and the callee's callback gets
;; TASK_CANCELLED a second time). The spec traps
;; (canon_subtask_cancel: trap_if(subtask.cancellation_requested)).
(assert_return (invoke "run-cancel-twice-blocked")
  (list.const (u32.const 17) (u32.const 0xffffffff) (u32.const 0xffffffff)
              (u32.const 1) (u32.const 1) (u32.const 4) (u32.const 1)))

;; traps (each on a fresh instance)
;; the resolve event was delivered by waitable-set.wait
(component instance $i $T)
(assert_trap (invoke "cancel-delivered") "`subtask.cancel` called after terminal status delivered")
;; the first cancel returned 4 (and so delivered the resolve)
(component instance $i $T)
(assert_trap (invoke "cancel-twice") "`subtask.cancel` called after terminal status delivered")
;; a sync cancel of a subtask in a waitable set
(component instance $i $T)
(assert_trap (invoke "cancel-in-set") "waitable cannot be used synchronously while added to a waitable set")
;; WASMTIME 49 DIFFERS FROM THE SPEC: `subtask.cancel async` of a subtask in
;; a waitable set traps too; the spec only traps for the sync form
;; (trap_if(subtask.in_waitable_set() and not async_)).
(component instance $i $T)
(assert_trap (invoke "cancel-async-in-set") "waitable cannot be used synchronously while added to a waitable set")
(component instance $i $T)
(assert_trap (invoke "cancel-not-subtask") "handle is not a subtask")
;; task.cancel with no cancellation delivered, and after task.return
(component instance $i $T)
(assert_trap (invoke "cancel-now") "`task.cancel` called by task which has not been cancelled")
(component instance $i $T)
(assert_trap (invoke "cancel-after-return") "`task.cancel` called by task which has not been cancelled")

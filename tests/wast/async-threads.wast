;; async-threads.wast -- cooperative threads inside a task (CanonicalABI.md
;; "canon thread.*", "canon context.get/set"; Concurrency.md "Threads";
;; definitions.py Thread, canon_thread_index, canon_thread_new_indirect,
;; canon_thread_resume_later, canon_thread_suspend, canon_thread_*_then_*).
;;
;; Reference: wasmtime 49 `wasmtime wast -W component-model-threading=y async-threads.wast`
;;
;; Pins (all threads run inside the task of a `run-*` export, an async-typed
;; export lifted without `async`):
;;  * context slots 0 and 1 exist with threading; both start at 0 in every
;;    thread (the implicit one and each new one) and belong to the thread;
;;  * thread.index gives the current thread's index in the instance's
;;    thread table; thread.new-indirect takes a table index and an argument,
;;    returns the new thread's index, and the new thread starts suspended
;;    (it does not run until resumed);
;;  * thread.resume-later makes a suspended thread ready; it runs when the
;;    current thread yields (thread.yield), with the argument it was given;
;;  * thread.yield-then-resume(t) switches to the suspended thread t at once
;;    and leaves the current thread ready; when t suspends or exits, the
;;    yielding thread continues; thread.suspend returns 0 (not cancelled)
;;    when the thread is resumed;
;;  * thread.suspend-then-promote(t) switches to t if it is ready; the
;;    current thread stays suspended until someone resumes it
;;    (thread.resume-later from t); thread.yield-then-promote(t) of a thread
;;    that is not ready only yields;
;;  * thread indices of exited threads are reused;
;;  * traps: resuming a thread that is not suspended (running, or ready), an
;;    unknown thread index, thread.new-indirect with a table index out of
;;    bounds or of a function with the wrong type.

(component definition $T
  (component $D
    (core module $Mem
      (memory (export "mem") 1)
      (table (export "tbl") 8 funcref))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (alias core export $mem "tbl" (core table $tbl))
    (core type $start-ty (func (param i32)))
    (core func $ctx0.get (canon context.get i32 0))
    (core func $ctx0.set (canon context.set i32 0))
    (core func $ctx1.get (canon context.get i32 1))
    (core func $ctx1.set (canon context.set i32 1))
    (core func $index (canon thread.index))
    (core func $new (canon thread.new-indirect $start-ty (core table $tbl)))
    (core func $resume-later (canon thread.resume-later))
    (core func $suspend (canon thread.suspend))
    (core func $yield (canon thread.yield))
    (core func $yield-then-resume (canon thread.yield-then-resume))
    (core func $suspend-then-resume (canon thread.suspend-then-resume))
    (core func $suspend-then-promote (canon thread.suspend-then-promote))
    (core func $yield-then-promote (canon thread.yield-then-promote))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "tbl" (table 8 funcref))
      (import "" "ctx0.get" (func $ctx0.get (result i32)))
      (import "" "ctx0.set" (func $ctx0.set (param i32)))
      (import "" "ctx1.get" (func $ctx1.get (result i32)))
      (import "" "ctx1.set" (func $ctx1.set (param i32)))
      (import "" "index" (func $index (result i32)))
      (import "" "new" (func $new (param i32 i32) (result i32)))
      (import "" "resume-later" (func $resume-later (param i32)))
      (import "" "suspend" (func $suspend (result i32)))
      (import "" "yield" (func $yield (result i32)))
      (import "" "yield-then-resume" (func $yield-then-resume (param i32) (result i32)))
      (import "" "suspend-then-resume" (func $suspend-then-resume (param i32) (result i32)))
      (import "" "suspend-then-promote" (func $suspend-then-promote (param i32) (result i32)))
      (import "" "yield-then-promote" (func $yield-then-promote (param i32) (result i32)))
      (global $lp (mut i32) (i32.const 0x200))
      (func $log (param i32)
        (i32.store (global.get $lp) (local.get 0))
        (global.set $lp (i32.add (global.get $lp) (i32.const 4))))
      (func $done (result i32)
        (i32.store (i32.const 8) (i32.const 0x200))
        (i32.store (i32.const 12) (i32.shr_u (i32.sub (global.get $lp) (i32.const 0x200)) (i32.const 2)))
        (global.set $lp (i32.const 0x200))
        (i32.const 8))

      ;; table 0: logs its argument, its index and both slots, then sets
      ;; its slots (which must not affect anyone else)
      (func $t-log (param $c i32)
        (call $log (local.get $c))
        (call $log (call $index))
        (call $log (call $ctx0.get))
        (call $log (call $ctx1.get))
        (call $ctx0.set (i32.const 0x55))
        (call $ctx1.set (i32.const 0x66)))
      ;; table 1: logs c, suspends, logs suspend's result and c + 1
      (func $t-suspend (param $c i32)
        (call $log (local.get $c))
        (call $ctx1.set (local.get $c))
        (call $log (call $suspend))
        (call $log (call $ctx1.get))
        (call $log (i32.add (local.get $c) (i32.const 1))))
      ;; table 2: logs 0x77, then makes thread c (suspended) ready
      (func $t-wake (param $c i32)
        (call $log (i32.const 0x77))
        (call $resume-later (local.get $c)))
      ;; table 3: the wrong type
      (func $t-bad (param i64))
      (elem (table 0) (i32.const 0) func $t-log $t-suspend $t-wake $t-bad)

      ;; slots and a thread started with resume-later + yield
      (func (export "run-slots") (result i32)
        (local $t i32)
        (call $log (call $ctx0.get))
        (call $log (call $ctx1.get))
        (call $ctx0.set (i32.const 5))
        (call $ctx1.set (i32.const 7))
        (call $log (call $index))
        (local.set $t (call $new (i32.const 0) (i32.const 0x11)))
        (call $log (local.get $t))
        ;; not run yet
        (call $log (i32.const 0xaa))
        (call $resume-later (local.get $t))
        (call $log (call $yield))
        (call $log (call $ctx0.get))
        (call $log (call $ctx1.get))
        (call $done))

      ;; yield-then-resume into a thread that suspends, and again to let it
      ;; finish; its slot 1 survives the suspension
      (func (export "run-suspend") (result i32)
        (local $t i32)
        (call $ctx1.set (i32.const 9))
        (local.set $t (call $new (i32.const 1) (i32.const 0x20)))
        (call $log (local.get $t))
        (call $log (call $yield-then-resume (local.get $t)))
        (call $log (i32.const 0xbb))
        (call $log (call $yield-then-resume (local.get $t)))
        (call $log (call $ctx1.get))
        ;; the exited thread's index is reused
        (local.set $t (call $new (i32.const 1) (i32.const 0x30)))
        (call $log (local.get $t))
        (call $log (call $yield-then-resume (local.get $t)))
        (call $log (call $yield-then-resume (local.get $t)))
        (call $done))

      ;; suspend-then-resume / suspend-then-promote: the other thread makes
      ;; this one ready again with resume-later
      (func (export "run-promote") (result i32)
        (local $t i32)
        (local.set $t (call $new (i32.const 2) (call $index)))
        (call $resume-later (local.get $t))
        (call $log (call $suspend-then-promote (local.get $t)))
        (call $log (i32.const 0xcc))
        (local.set $t (call $new (i32.const 2) (call $index)))
        (call $log (call $suspend-then-resume (local.get $t)))
        (call $log (i32.const 0xdd))
        ;; yield-then-promote of a suspended (not ready) thread: only yields
        (local.set $t (call $new (i32.const 0) (i32.const 0x40)))
        (call $log (call $yield-then-promote (local.get $t)))
        (call $log (i32.const 0xee))
        (call $log (call $yield-then-resume (local.get $t)))
        (call $done))

      ;; traps
      (func (export "resume-self") (result i32)
        (call $resume-later (call $index))
        (call $done))
      (func (export "resume-ready") (result i32)
        (local $t i32)
        (local.set $t (call $new (i32.const 0) (i32.const 0)))
        (call $resume-later (local.get $t))
        (drop (call $yield-then-resume (local.get $t)))
        (call $done))
      (func (export "resume-unknown") (result i32)
        (call $resume-later (i32.const 100))
        (call $done))
      (func (export "new-oob") (result i32)
        (drop (call $new (i32.const 8) (i32.const 0)))
        (call $done))
      (func (export "new-bad-type") (result i32)
        (drop (call $new (i32.const 3) (i32.const 0)))
        (call $done))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "tbl" (table $tbl))
      (export "ctx0.get" (func $ctx0.get))
      (export "ctx0.set" (func $ctx0.set))
      (export "ctx1.get" (func $ctx1.get))
      (export "ctx1.set" (func $ctx1.set))
      (export "index" (func $index))
      (export "new" (func $new))
      (export "resume-later" (func $resume-later))
      (export "suspend" (func $suspend))
      (export "yield" (func $yield))
      (export "yield-then-resume" (func $yield-then-resume))
      (export "suspend-then-resume" (func $suspend-then-resume))
      (export "suspend-then-promote" (func $suspend-then-promote))
      (export "yield-then-promote" (func $yield-then-promote))))))
    (func (export "run-slots") async (result (list u32)) (canon lift (core func $dm "run-slots") (memory $memory)))
    (func (export "run-suspend") async (result (list u32)) (canon lift (core func $dm "run-suspend") (memory $memory)))
    (func (export "run-promote") async (result (list u32)) (canon lift (core func $dm "run-promote") (memory $memory)))
    (func (export "resume-self") async (result (list u32)) (canon lift (core func $dm "resume-self") (memory $memory)))
    (func (export "resume-ready") async (result (list u32)) (canon lift (core func $dm "resume-ready") (memory $memory)))
    (func (export "resume-unknown") async (result (list u32)) (canon lift (core func $dm "resume-unknown") (memory $memory)))
    (func (export "new-oob") async (result (list u32)) (canon lift (core func $dm "new-oob") (memory $memory)))
    (func (export "new-bad-type") async (result (list u32)) (canon lift (core func $dm "new-bad-type") (memory $memory)))
  )
  (instance $d (instantiate $D))
  (export "run-slots" (func $d "run-slots"))
  (export "run-suspend" (func $d "run-suspend"))
  (export "run-promote" (func $d "run-promote"))
  (export "resume-self" (func $d "resume-self"))
  (export "resume-ready" (func $d "resume-ready"))
  (export "resume-unknown" (func $d "resume-unknown"))
  (export "new-oob" (func $d "new-oob"))
  (export "new-bad-type" (func $d "new-bad-type"))
)

;; The logs interleave the threads' entries in the order they ran.
(component instance $i $T)
;; main: slots 0, 0; index 1; new thread 2; 0xaa (thread 2 has not run);
;; after resume-later + yield, thread 2 logs 0x11, index 2, slots 0, 0;
;; yield returns 0; main's slots are still 5, 7
(assert_return (invoke "run-slots")
  (list.const (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 2)
              (u32.const 0xaa)
              (u32.const 0x11) (u32.const 2) (u32.const 0) (u32.const 0)
              (u32.const 0) (u32.const 5) (u32.const 7)))
(component instance $i $T)
;; thread 2 logs 0x20 and suspends; main's yield-then-resume returns 0; 0xbb;
;; thread 2 resumes: suspend returned 0, its slot 1 = 0x20, 0x21, exits;
;; main: 0, slot 1 still 9; a new thread reuses index 2: 0x30, suspends;
;; 0; 0 (suspend's result), 0x30, 0x31; 0
(assert_return (invoke "run-suspend")
  (list.const (u32.const 2) (u32.const 0x20) (u32.const 0) (u32.const 0xbb)
              (u32.const 0) (u32.const 0x20) (u32.const 0x21)
              (u32.const 0) (u32.const 9)
              (u32.const 2) (u32.const 0x30) (u32.const 0)
              (u32.const 0) (u32.const 0x30) (u32.const 0x31) (u32.const 0)))
(component instance $i $T)
;; suspend-then-promote of a ready thread: it runs (0x77) and wakes main,
;; which gets 0; 0xcc; the same with suspend-then-resume: 0x77, 0, 0xdd;
;; yield-then-promote of a suspended thread only yields (0), 0xee; then
;; yield-then-resume runs it: 0x40, index 2, slots 0, 0; 0
(assert_return (invoke "run-promote")
  (list.const (u32.const 0x77) (u32.const 0) (u32.const 0xcc)
              (u32.const 0x77) (u32.const 0) (u32.const 0xdd)
              (u32.const 0) (u32.const 0xee)
              (u32.const 0x40) (u32.const 2) (u32.const 0) (u32.const 0)
              (u32.const 0)))

;; traps
(component instance $i $T)
(assert_trap (invoke "resume-self") "cannot resume thread which is not suspended")
;; resume-later made it ready; yield-then-resume needs a suspended thread
(component instance $i $T)
(assert_trap (invoke "resume-ready") "cannot resume thread which is not suspended")
(component instance $i $T)
(assert_trap (invoke "resume-unknown") "unknown handle index 100")
(component instance $i $T)
(assert_trap (invoke "new-oob") "out of bounds table access")
(component instance $i $T)
(assert_trap (invoke "new-bad-type") "start function does not match expected type")

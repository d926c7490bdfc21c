;; async-deadlock.wast -- what happens when nothing can make progress, and
;; when a synchronous task blocks (CanonicalABI.md "canon lift" for sync
;; function types, Concurrency.md "Blocking"; definitions.py canon_lift:
;; `trap_if(not candidates)` for sync-typed tasks).
;;
;; Reference: wasmtime 49 `wasmtime wast async-deadlock.wast` (no -W flags).
;;
;; Pins:
;;  * an async-typed export whose task waits on an empty waitable set, with
;;    nothing else able to run, ends the host call with a trap
;;    "deadlock detected: event loop cannot make further progress";
;;  * the same when the caller waits on a subtask that itself waits forever;
;;  * a sync-typed export (no `async` in its type) may use waitable-set.wait
;;    and waitable-set.poll as long as it does not actually block: when an
;;    event is already pending the call returns normally ("lazy" check, as in
;;    the spec's `simplify` branch that wasmtime 49 follows);
;;  * a sync-typed export that really blocks traps "cannot block a synchronous
;;    task before returning": waiting on an empty set, on a subtask, and also
;;    a sync-lowered call of an async callee that yields (the spec agrees:
;;    only ready threads of the *same* instance may run while a sync-typed
;;    task is blocked, and the callee's thread is in another instance).
;;  * the wasmtime texts are different for the two cases: "deadlock detected"
;;    (async task, host event loop) vs "cannot block a synchronous task"
;;    (sync-typed task).

(component definition $T
  (component $C
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $ret (canon task.return (result u32)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core module $CM
      (import "" "ret" (func $ret (param i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (func (export "wait-forever") (result i32)
        (i32.or (i32.const 2 (; WAIT ;)) (i32.shl (call $ws.new) (i32.const 4))))
      (func (export "unreachable-cb") (param i32 i32 i32) (result i32) unreachable)
      (func (export "later") (param i32) (result i32)
        (i32.const 1 (; YIELD ;)))
      (func (export "later-cb") (param i32 i32 i32) (result i32)
        (call $ret (i32.const 100))
        (i32.const 0)))
    (core instance $cm (instantiate $CM (with "" (instance
      (export "ret" (func $ret))
      (export "ws.new" (func $ws.new))))))
    (func (export "wait-forever") async (result u32)
      (canon lift (core func $cm "wait-forever") async (callback (core func $cm "unreachable-cb"))))
    (func (export "later") async (param "x" u32) (result u32)
      (canon lift (core func $cm "later") async (callback (core func $cm "later-cb"))))
  )
  (component $D
    (import "wait-forever" (func $wait-forever async (result u32)))
    (import "later" (func $later async (param "x" u32) (result u32)))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $wait-forever (canon lower (func $wait-forever) async (memory $memory)))
    (core func $later (canon lower (func $later) async (memory $memory)))
    (core func $later-sync (canon lower (func $later)))
    (core func $ws.new (canon waitable-set.new))
    (core func $ws.wait (canon waitable-set.wait (memory $memory)))
    (core func $ws.poll (canon waitable-set.poll (memory $memory)))
    (core func $join (canon waitable.join))
    (type $S (stream u8))
    (core func $stream.new (canon stream.new $S))
    (core func $stream.read (canon stream.read $S async (memory $memory)))
    (core func $stream.write (canon stream.write $S async (memory $memory)))
    (core module $DM
      (import "" "mem" (memory 1))
      (import "" "wait-forever" (func $wait-forever (param i32) (result i32)))
      (import "" "later" (func $later (param i32 i32) (result i32)))
      (import "" "later-sync" (func $later-sync (param i32) (result i32)))
      (import "" "ws.new" (func $ws.new (result i32)))
      (import "" "ws.wait" (func $ws.wait (param i32 i32) (result i32)))
      (import "" "ws.poll" (func $ws.poll (param i32 i32) (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "stream.new" (func $stream.new (result i64)))
      (import "" "stream.read" (func $stream.read (param i32 i32 i32) (result i32)))
      (import "" "stream.write" (func $stream.write (param i32 i32 i32) (result i32)))
      ;; wait on a fresh empty set
      (func (export "wait-empty") (result i32)
        (drop (call $ws.wait (call $ws.new) (i32.const 0)))
        (i32.const 1))
      ;; wait on a subtask that waits forever
      (func (export "wait-subtask") (result i32)
        (local $ws i32)
        (local.set $ws (call $ws.new))
        (call $join (i32.shr_u (call $wait-forever (i32.const 0x40)) (i32.const 4)) (local.get $ws))
        (drop (call $ws.wait (local.get $ws) (i32.const 0)))
        (i32.const 1))
      ;; poll on an empty set does not block: fine in a sync task
      (func (export "sync-poll") (result i32)
        (call $ws.poll (call $ws.new) (i32.const 0)))
      ;; wait with the event already there: a stream<u8> (readable 1,
      ;; writable 2); the write of 3 bytes blocks (BLOCKED), the read takes
      ;; them, so the writable end has a pending STREAM_WRITE event and the
      ;; wait does not block. Returns code << 16 | index << 8 | payload.
      (func (export "sync-wait-ready") (result i32)
        (local $ws i32) (local $p i64) (local $w i32)
        (local.set $p (call $stream.new))
        (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $p) (i64.const 32))))
        (if (i32.ne (call $stream.write (local.get $w) (i32.const 0x80) (i32.const 3)) (i32.const -1))
          (then unreachable))
        (if (i32.ne (call $stream.read (i32.wrap_i64 (local.get $p)) (i32.const 0x90) (i32.const 8)) (i32.const 0x30))
          (then unreachable))
        (local.set $ws (call $ws.new))
        (call $join (local.get $w) (local.get $ws))
        (i32.or (i32.shl (call $ws.wait (local.get $ws) (i32.const 0)) (i32.const 16))
          (i32.or (i32.shl (i32.load (i32.const 0)) (i32.const 8))
                  (i32.load (i32.const 4)))))
      ;; a sync call of an async callee that yields
      (func (export "sync-calls-later") (result i32)
        (call $later-sync (i32.const 3)))
    )
    (core instance $dm (instantiate $DM (with "" (instance
      (export "mem" (memory $memory))
      (export "wait-forever" (func $wait-forever))
      (export "later" (func $later))
      (export "later-sync" (func $later-sync))
      (export "ws.new" (func $ws.new))
      (export "ws.wait" (func $ws.wait))
      (export "ws.poll" (func $ws.poll))
      (export "join" (func $join))
      (export "stream.new" (func $stream.new))
      (export "stream.read" (func $stream.read))
      (export "stream.write" (func $stream.write))))))
    (func (export "wait-empty") async (result u32) (canon lift (core func $dm "wait-empty")))
    (func (export "wait-subtask") async (result u32) (canon lift (core func $dm "wait-subtask")))
    ;; sync-typed exports
    (func (export "sync-wait-empty") (result u32) (canon lift (core func $dm "wait-empty")))
    (func (export "sync-wait-subtask") (result u32) (canon lift (core func $dm "wait-subtask")))
    (func (export "sync-poll") (result u32) (canon lift (core func $dm "sync-poll")))
    (func (export "sync-wait-ready") (result u32) (canon lift (core func $dm "sync-wait-ready")))
    (func (export "sync-calls-later") (result u32) (canon lift (core func $dm "sync-calls-later")))
  )
  (instance $c (instantiate $C))
  (instance $d (instantiate $D (with "wait-forever" (func $c "wait-forever")) (with "later" (func $c "later"))))
  (export "wait-empty" (func $d "wait-empty"))
  (export "wait-subtask" (func $d "wait-subtask"))
  (export "sync-wait-empty" (func $d "sync-wait-empty"))
  (export "sync-wait-subtask" (func $d "sync-wait-subtask"))
  (export "sync-poll" (func $d "sync-poll"))
  (export "sync-wait-ready" (func $d "sync-wait-ready"))
  (export "sync-calls-later" (func $d "sync-calls-later"))
)

(component instance $i $T)
(assert_trap (invoke "wait-empty") "deadlock detected: event loop cannot make further progress")
(component instance $i $T)
(assert_trap (invoke "wait-subtask") "deadlock detected: event loop cannot make further progress")

;; lazy: a sync-typed task may poll, and may wait when an event is pending:
;; (STREAM_WRITE = 3, writable end 2, COMPLETED | 3 << 4 = 0x30)
(component instance $i $T)
(assert_return (invoke "sync-poll") (u32.const 0))
(component instance $i $T)
(assert_return (invoke "sync-wait-ready") (u32.const 0x030230))

(component instance $i $T)
(assert_trap (invoke "sync-wait-empty") "cannot block a synchronous task before returning")
(component instance $i $T)
(assert_trap (invoke "sync-wait-subtask") "cannot block a synchronous task before returning")
(component instance $i $T)
(assert_trap (invoke "sync-calls-later") "cannot block a synchronous task before returning")

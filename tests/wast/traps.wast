;; traps.wast -- traps and their consequences (Explainer.md "Component
;; Invariants", CanonicalABI.md "Component-level state": may_leave, trap
;; poisoning).
;;
;; Pins:
;;  * a trap in core code (`unreachable`, integer division by zero, out of
;;    bounds memory access) surfaces as a trap of the invoked export;
;;  * afterwards the component instance is poisoned: every later call of any
;;    of its exports traps without running, even exports that share no core
;;    instance with the code that trapped;
;;  * a trap inside an inner component called via canon lower propagates out
;;    of the outer call and poisons the outer instance as well;
;;  * may_leave: core code running as realloc or post-return may not call
;;    out of the component (lowered imports or canon built-ins); doing so traps.

(component definition $Simple
  (core module $M
    (memory 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "boom") (result i32) unreachable)
    (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
    (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "bump") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (global.get $g))
  )
  (core instance $m (instantiate $M))
  (core module $Other
    (func (export "seven") (result i32) (i32.const 7)))
  (core instance $o (instantiate $Other))
  (func (export "boom") (result u32) (canon lift (core func $m "boom")))
  (func (export "div") (param "x" u32) (result u32) (canon lift (core func $m "div")))
  (func (export "load") (param "x" u32) (result u32) (canon lift (core func $m "load")))
  (func (export "bump") (result u32) (canon lift (core func $m "bump")))
  (func (export "seven") (result u32) (canon lift (core func $o "seven")))
)
(component instance $s1 $Simple)
(assert_return (invoke "bump") (u32.const 1))
(assert_return (invoke "bump") (u32.const 2))
(assert_return (invoke "seven") (u32.const 7))
(assert_trap (invoke "boom") "unreachable")
;; poisoned: nothing runs any more, not even the unrelated core instance
(assert_trap (invoke "bump") "cannot enter component instance")
(assert_trap (invoke "seven") "cannot enter component instance")
(assert_trap (invoke "boom") "cannot enter component instance")

(component instance $s2 $Simple)
(assert_return (invoke "div" (u32.const 1)) (u32.const 1))
(assert_trap (invoke "div" (u32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (u32.const 1)) "cannot enter component instance")

(component instance $s3 $Simple)
(assert_trap (invoke "load" (u32.const 0x10000)) "out of bounds memory access")
(assert_trap (invoke "seven") "cannot enter component instance")

;; a fresh instance of the same definition is unaffected
(component instance $s4 $Simple)
(assert_return (invoke "bump") (u32.const 1))

;; ---------------------------------------------------------------------------
;; A trap in an inner component, reached through canon lower.
(component definition $Nested
  (component $Inner
    (core module $M
      (global $g (mut i32) (i32.const 0))
      (func (export "check") (param i32) (result i32)
        (if (local.get 0) (then unreachable))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (global.get $g)))
    (core instance $m (instantiate $M))
    (func (export "check") (param "fail" bool) (result u32) (canon lift (core func $m "check")))
  )
  (instance $inner (instantiate $Inner))
  (core func $check (canon lower (func $inner "check")))
  (core module $M
    (import "" "check" (func $check (param i32) (result i32)))
    (func (export "call") (param i32) (result i32) (call $check (local.get 0)))
    (func (export "local") (result i32) (i32.const 99)))
  (core instance $m (instantiate $M (with "" (instance (export "check" (func $check))))))
  (func (export "call") (param "fail" bool) (result u32) (canon lift (core func $m "call")))
  (func (export "local") (result u32) (canon lift (core func $m "local")))
  ;; re-export of the inner function: entering the inner instance directly
  (export "inner-check" (func $inner "check"))
)
(component instance $n1 $Nested)
(assert_return (invoke "call" (bool.const false)) (u32.const 1))
(assert_return (invoke "inner-check" (bool.const false)) (u32.const 2))
(assert_return (invoke "local") (u32.const 99))
(assert_trap (invoke "call" (bool.const true)) "unreachable")
(assert_trap (invoke "local") "cannot enter component instance")
(assert_trap (invoke "call" (bool.const false)) "cannot enter component instance")
(assert_trap (invoke "inner-check" (bool.const false)) "cannot enter component instance")
(component instance $n2 $Nested)
(assert_trap (invoke "inner-check" (bool.const true)) "unreachable")
(assert_trap (invoke "local") "cannot enter component instance")

;; ---------------------------------------------------------------------------
;; may_leave: realloc and post-return must not leave the component.
(component definition $MayLeave
  (component $Helper
    (core module $M (func (export "noop")))
    (core instance $m (instantiate $M))
    (func (export "noop") (canon lift (core func $m "noop")))
  )
  (instance $helper (instantiate $Helper))
  (core func $noop (canon lower (func $helper "noop")))
  (type $R (resource (rep i32)))
  (core func $new (canon resource.new $R))
  (core module $M
    (import "" "noop" (func $noop))
    (import "" "new" (func $new (param i32) (result i32)))
    (memory (export "mem") 1)
    (global $mode (mut i32) (i32.const 0))
    (func (export "set-mode") (param i32) (global.set $mode (local.get 0)))
    ;; mode 1: call an import from realloc; mode 2: call resource.new from realloc
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (if (i32.eq (global.get $mode) (i32.const 1)) (then (call $noop)))
      (if (i32.eq (global.get $mode) (i32.const 2)) (then (drop (call $new (i32.const 1)))))
      (i32.const 0x100))
    (func (export "strlen") (param i32 i32) (result i32) (local.get 1))
    (func (export "value") (result i32) (i32.const 5))
    (func (export "post-import") (param i32) (call $noop))
    (func (export "post-builtin") (param i32) (drop (call $new (i32.const 1))))
    (func (export "post-nothing") (param i32))
    (func (export "call-import") (result i32) (call $noop) (i32.const 1))
  )
  (core instance $m (instantiate $M (with "" (instance (export "noop" (func $noop)) (export "new" (func $new))))))
  (alias core export $m "mem" (core memory $mem))
  (alias core export $m "realloc" (core func $realloc))
  (func (export "set-mode") (param "m" u32) (canon lift (core func $m "set-mode")))
  (func (export "strlen") (param "s" string) (result u32)
    (canon lift (core func $m "strlen") (memory $mem) (realloc $realloc)))
  (func (export "post-import") (result u32)
    (canon lift (core func $m "value") (post-return (core func $m "post-import"))))
  (func (export "post-builtin") (result u32)
    (canon lift (core func $m "value") (post-return (core func $m "post-builtin"))))
  (func (export "post-nothing") (result u32)
    (canon lift (core func $m "value") (post-return (core func $m "post-nothing"))))
  (func (export "call-import") (result u32) (canon lift (core func $m "call-import")))
)
(component instance $ml1 $MayLeave)
;; the same calls are fine outside realloc/post-return
(assert_return (invoke "call-import") (u32.const 1))
(assert_return (invoke "strlen" (str.const "abc")) (u32.const 3))
(assert_return (invoke "post-nothing") (u32.const 5))
(assert_return (invoke "set-mode" (u32.const 1)))
(assert_trap (invoke "strlen" (str.const "abc")) "cannot leave component instance")
(component instance $ml2 $MayLeave)
(assert_return (invoke "set-mode" (u32.const 2)))
(assert_trap (invoke "strlen" (str.const "abc")) "cannot leave component instance")
(component instance $ml3 $MayLeave)
(assert_trap (invoke "post-import") "cannot leave component instance")
(component instance $ml4 $MayLeave)
(assert_trap (invoke "post-builtin") "cannot leave component instance")

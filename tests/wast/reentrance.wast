;; reentrance.wast -- which calls may enter a component instance that is already on the call
;; chain (CanonicalABI.md "Component Instances": may_enter_from / entering_set;
;; definitions.py ComponentInstance.entering_set).
;; Reference: wasmtime 49 `wasmtime wast reentrance.wast`
;;
;; Pins:
;;  * a component that lowers its own lifted function traps "cannot enter component instance"
;;    when it calls it, sync (A) or async lower (F). WASMTIME 49 DIFFERS FROM THE SPEC: the
;;    spec's entering set from an instance into itself is empty, so the spec would allow it.
;;  * parent -> child -> parent is allowed, sync (B) and async callback lifts (E: the
;;    parent's export is entered and reaches its `unreachable`), as the spec's entering set
;;    (the callee's ancestors minus the caller's) is empty;
;;  * host -> child -> parent (C), sibling calls (D), a parent's destructor run by a child's
;;    resource.drop (G) are allowed.
;;  (A host function calling back into the instance that called it is in
;;  tests/test_runtime_rules.py: wast has no host functions.)

;; A. a component lowers its own lifted function and calls it (same instance)
(component definition $Self
  (core module $M (func (export "g") (result i32) (i32.const 7)))
  (core instance $m (instantiate $M))
  (func $g (result u32) (canon lift (core func $m "g")))
  (core func $gl (canon lower (func $g)))
  (core module $N (import "" "g" (func $g (result i32))) (func (export "f") (result i32) (call $g)))
  (core instance $n (instantiate $N (with "" (instance (export "g" (func $gl))))))
  (func (export "f") (result u32) (canon lift (core func $n "f"))))
(component instance $self $Self)
(assert_trap (invoke "f") "cannot enter component instance")

;; B. parent -> child -> parent (sync)
(component definition $PCP
  (core module $M (func (export "a") (result i32) (i32.const 7)))
  (core instance $m (instantiate $M))
  (func $a (result u32) (canon lift (core func $m "a")))
  (component $C
    (import "a" (func $a (result u32)))
    (core func $al (canon lower (func $a)))
    (core module $N (import "" "a" (func $a (result i32))) (func (export "b") (result i32) (call $a)))
    (core instance $n (instantiate $N (with "" (instance (export "a" (func $al))))))
    (func (export "b") (result u32) (canon lift (core func $n "b"))))
  (instance $c (instantiate $C (with "a" (func $a))))
  (core func $bl (canon lower (func $c "b")))
  (core module $O (import "" "b" (func $b (result i32))) (func (export "c") (result i32) (call $b)))
  (core instance $o (instantiate $O (with "" (instance (export "b" (func $bl))))))
  (func (export "c") (result u32) (canon lift (core func $o "c")))
  (export "b" (func $c "b")))
(component instance $pcp $PCP)
(assert_return (invoke "c") (u32.const 7))
(component instance $pcp2 $PCP)
;; C. host -> child -> parent (the parent is not on the chain)
(assert_return (invoke "b") (u32.const 7))

;; D. child -> sibling (no cycle), and parent -> child -> grandchild is fine
(component definition $Sib
  (component $A
    (core module $M (func (export "a") (result i32) (i32.const 3)))
    (core instance $m (instantiate $M))
    (func (export "a") (result u32) (canon lift (core func $m "a"))))
  (component $B
    (import "a" (func $a (result u32)))
    (core func $al (canon lower (func $a)))
    (core module $N (import "" "a" (func $a (result i32))) (func (export "b") (result i32) (i32.add (call $a) (i32.const 1))))
    (core instance $n (instantiate $N (with "" (instance (export "a" (func $al))))))
    (func (export "b") (result u32) (canon lift (core func $n "b"))))
  (instance $a (instantiate $A))
  (instance $b (instantiate $B (with "a" (func $a "a"))))
  (core func $bl (canon lower (func $b "b")))
  (core func $al (canon lower (func $a "a")))
  (core module $O (import "" "b" (func $b (result i32))) (import "" "a" (func $a (result i32)))
    (func (export "c") (result i32) (i32.add (call $b) (call $a))))
  (core instance $o (instantiate $O (with "" (instance (export "b" (func $bl)) (export "a" (func $al))))))
  (func (export "c") (result u32) (canon lift (core func $o "c"))))
(component instance $sib $Sib)
(assert_return (invoke "c") (u32.const 7))

;; E. async parent -> child -> parent (the upstream shape): child's callback calls parent's
;; async-lifted a through an async lower while the parent's task c is still on the chain.
(component definition $APCP
  (core module $CoreInner
    (memory (export "mem") 1)
    (func (export "a") (result i32) unreachable)
    (func (export "a-cb") (param i32 i32 i32) (result i32) unreachable))
  (core instance $core_inner (instantiate $CoreInner))
  (func $a async (canon lift (core func $core_inner "a") async (callback (core func $core_inner "a-cb"))))
  (component $Child
    (import "a" (func $a async))
    (core module $Memory (memory (export "mem") 1))
    (core instance $memory (instantiate $Memory))
    (core module $CoreChild
      (import "" "a" (func $a (result i32)))
      (func (export "b") (result i32) (i32.const 1))
      (func (export "b-cb") (param i32 i32 i32) (result i32) (drop (call $a)) unreachable))
    (core func $a' (canon lower (func $a) async (memory (core memory $memory "mem"))))
    (core instance $core_child (instantiate $CoreChild (with "" (instance (export "a" (func $a'))))))
    (func (export "b") async (canon lift (core func $core_child "b") async (callback (core func $core_child "b-cb")))))
  (instance $child (instantiate $Child (with "a" (func $a))))
  (core module $CoreOuter
    (import "" "b" (func $b (result i32)))
    (func (export "c") (result i32) (i32.const 1))
    (func (export "c-cb") (param i32 i32 i32) (result i32) (drop (call $b)) (i32.const 1)))
  (core func $b (canon lower (func $child "b") async (memory (core memory $core_inner "mem"))))
  (core instance $core_outer (instantiate $CoreOuter (with "" (instance (export "b" (func $b))))))
  (func (export "c") async (canon lift (core func $core_outer "c") async (callback (core func $core_outer "c-cb")))))
(component instance $apcp $APCP)
(assert_trap (invoke "c") "unreachable")

;; F. async lower of the instance's own async export
(component definition $ASelf
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (core func $ret (canon task.return (result u32)))
  (core module $M (import "" "ret" (func $ret (param i32)))
    (func (export "g") (result i32) (call $ret (i32.const 5)) (i32.const 0))
    (func (export "cb") (param i32 i32 i32) (result i32) unreachable))
  (core instance $m (instantiate $M (with "" (instance (export "ret" (func $ret))))))
  (func $g async (result u32) (canon lift (core func $m "g") async (callback (core func $m "cb"))))
  (core func $gl (canon lower (func $g) async (memory (core memory $mem "mem"))))
  (core module $N (import "" "g" (func $g (param i32) (result i32)))
    (func (export "f") (result i32) (call $g (i32.const 0))))
  (core instance $n (instantiate $N (with "" (instance (export "g" (func $gl))))))
  (func (export "f") (result u32) (canon lift (core func $n "f"))))
(component instance $aself $ASelf)
(assert_trap (invoke "f") "cannot enter component instance")

;; G. P gives C an own<R> (R defined by P); C drops it: P's destructor runs while P is on
;; the chain (child -> parent)
(component definition $Dtor
  (core module $DM (global $n (mut i32) (i32.const 0))
    (func (export "dtor") (param i32) (global.set $n (local.get 0)))
    (func (export "n") (result i32) (global.get $n)))
  (core instance $d (instantiate $DM))
  (type $R (resource (rep i32) (dtor (core func $d "dtor"))))
  (component $C
    (import "r" (type $r (sub resource)))
    (core func $drop (canon resource.drop $r))
    (core module $N (import "" "drop" (func $drop (param i32))) (func (export "take") (param i32) (call $drop (local.get 0))))
    (core instance $n (instantiate $N (with "" (instance (export "drop" (func $drop))))))
    (type $own (own $r))
    (func (export "take") (param "x" $own) (canon lift (core func $n "take"))))
  (instance $c (instantiate $C (with "r" (type $R))))
  (core func $new (canon resource.new $R))
  (core func $take (canon lower (func $c "take")))
  (core module $O (import "" "new" (func $new (param i32) (result i32))) (import "" "take" (func $take (param i32)))
    (import "" "n" (func $n (result i32)))
    (func (export "run") (result i32) (call $take (call $new (i32.const 77))) (call $n)))
  (core instance $o (instantiate $O (with "" (instance (export "new" (func $new)) (export "take" (func $take)) (export "n" (func $d "n"))))))
  (func (export "run") (result u32) (canon lift (core func $o "run"))))
(component instance $dtor $Dtor)
(assert_return (invoke "run") (u32.const 77))

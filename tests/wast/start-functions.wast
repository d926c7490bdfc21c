;; start-functions.wast -- a core module's start function runs inside an implicit synchronous
;; task while the component is instantiated (CanonicalABI.md "Component Instances", Wasmtime's
;; instantiation), so it may call lowered imports and canonical built-ins; if it would block it
;; traps "cannot block a synchronous task before returning".
;; Reference: wasmtime 49 `wasmtime wast start-functions.wast`

;; A provider: `get` returns 42 and counts calls; `count` reports them.
(component definition $P
  (core module $M
    (global $n (mut i32) (i32.const 0))
    (func (export "get") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (i32.const 42))
    (func (export "count") (result i32) (global.get $n)))
  (core instance $m (instantiate $M))
  (func (export "get") (result u32) (canon lift (core func $m "get")))
  (func (export "count") (result u32) (canon lift (core func $m "count"))))

;; 1. A start function calls a lowered import (of a sibling instance) and built-ins
;;    (resource.new, resource.rep, resource.drop, waitable-set.new/drop, context.set/get):
;;    its observations are read afterwards through an export.
(component definition $S1
  (component $P
    (core module $M
      (global $n (mut i32) (i32.const 0))
      (func (export "get") (result i32) (global.set $n (i32.add (global.get $n) (i32.const 1))) (i32.const 42))
      (func (export "count") (result i32) (global.get $n)))
    (core instance $m (instantiate $M))
    (func (export "get") (result u32) (canon lift (core func $m "get")))
    (func (export "count") (result u32) (canon lift (core func $m "count"))))
  (component $U
    (import "get" (func $get (result u32)))
    (type $r (resource (rep i32)))
    (core func $get (canon lower (func $get)))
    (core func $rnew (canon resource.new $r))
    (core func $rrep (canon resource.rep $r))
    (core func $rdrop (canon resource.drop $r))
    (core func $wsnew (canon waitable-set.new))
    (core func $wsdrop (canon waitable-set.drop))
    (core func $cset (canon context.set i32 0))
    (core func $cget (canon context.get i32 0))
    (core module $M
      (import "" "get" (func $get (result i32)))
      (import "" "rnew" (func $rnew (param i32) (result i32)))
      (import "" "rrep" (func $rrep (param i32) (result i32)))
      (import "" "rdrop" (func $rdrop (param i32)))
      (import "" "wsnew" (func $wsnew (result i32)))
      (import "" "wsdrop" (func $wsdrop (param i32)))
      (import "" "cset" (func $cset (param i32)))
      (import "" "cget" (func $cget (result i32)))
      (global $a (mut i32) (i32.const 0))
      (global $b (mut i32) (i32.const 0))
      (global $c (mut i32) (i32.const 0))
      (global $d (mut i32) (i32.const 0))
      (func $start (local $h i32) (local $ws i32)
        (global.set $a (call $get))
        (local.set $h (call $rnew (i32.const 7)))
        (global.set $b (i32.add (i32.mul (local.get $h) (i32.const 100)) (call $rrep (local.get $h))))
        (call $rdrop (local.get $h))
        (local.set $ws (call $wsnew))
        (global.set $c (local.get $ws))
        (call $wsdrop (local.get $ws))
        (call $cset (i32.const 99))
        (global.set $d (call $cget)))
      (start $start)
      (func (export "a") (result i32) (global.get $a))
      (func (export "b") (result i32) (global.get $b))
      (func (export "c") (result i32) (global.get $c))
      (func (export "d") (result i32) (global.get $d)))
    (core instance $m (instantiate $M (with "" (instance
      (export "get" (func $get)) (export "rnew" (func $rnew)) (export "rrep" (func $rrep))
      (export "rdrop" (func $rdrop)) (export "wsnew" (func $wsnew)) (export "wsdrop" (func $wsdrop))
      (export "cset" (func $cset)) (export "cget" (func $cget))))))
    (func (export "a") (result u32) (canon lift (core func $m "a")))
    (func (export "b") (result u32) (canon lift (core func $m "b")))
    (func (export "c") (result u32) (canon lift (core func $m "c")))
    (func (export "d") (result u32) (canon lift (core func $m "d"))))
  (instance $p (instantiate $P))
  (instance $u (instantiate $U (with "get" (func $p "get"))))
  (export "a" (func $u "a"))
  (export "b" (func $u "b"))
  (export "c" (func $u "c"))
  (export "d" (func $u "d"))
  (export "count" (func $p "count")))
(component instance $s1 $S1)
(assert_return (invoke "a") (u32.const 42))
(assert_return (invoke "b") (u32.const 107))
(assert_return (invoke "c") (u32.const 1))
;; context.set then context.get inside the start task.
(assert_return (invoke "d") (u32.const 99))
(assert_return (invoke "count") (u32.const 1))

;; 2. Deep chains of nested instantiation: each level's start function calls the level
;;    below through a lowered import (which itself ran a start function when instantiated).
(component definition $Deep
  (component $L0
    (core module $M (global $g (mut i32) (i32.const 0))
      (func $s (global.set $g (i32.const 1))) (start $s)
      (func (export "get") (result i32) (global.get $g)))
    (core instance $m (instantiate $M))
    (func (export "get") (result u32) (canon lift (core func $m "get"))))
  (component $Ln
    (import "below" (func $below (result u32)))
    (core func $below (canon lower (func $below)))
    (core module $M
      (import "" "below" (func $below (result i32)))
      (global $g (mut i32) (i32.const 0))
      (func $s (global.set $g (i32.add (call $below) (i32.const 1)))) (start $s)
      (func (export "get") (result i32) (global.get $g)))
    (core instance $m (instantiate $M (with "" (instance (export "below" (func $below))))))
    (func (export "get") (result u32) (canon lift (core func $m "get"))))
  (component $Wrap
    (import "below" (func $below (result u32)))
    (component $Ln
      (import "below" (func $below (result u32)))
      (core func $below (canon lower (func $below)))
      (core module $M
        (import "" "below" (func $below (result i32)))
        (global $g (mut i32) (i32.const 0))
        (func $s (global.set $g (i32.add (call $below) (i32.const 1)))) (start $s)
        (func (export "get") (result i32) (global.get $g)))
      (core instance $m (instantiate $M (with "" (instance (export "below" (func $below))))))
      (func (export "get") (result u32) (canon lift (core func $m "get"))))
    (instance $a (instantiate $Ln (with "below" (func $below))))
    (instance $b (instantiate $Ln (with "below" (func $a "get"))))
    (instance $c (instantiate $Ln (with "below" (func $b "get"))))
    (export "get" (func $c "get")))
  (instance $i0 (instantiate $L0))
  (instance $i1 (instantiate $Ln (with "below" (func $i0 "get"))))
  (instance $i2 (instantiate $Wrap (with "below" (func $i1 "get"))))
  (instance $i3 (instantiate $Wrap (with "below" (func $i2 "get"))))
  (instance $i4 (instantiate $Ln (with "below" (func $i3 "get"))))
  (export "get" (func $i4 "get")))
(component instance $deep $Deep)
(assert_return (invoke "get") (u32.const 9))

;; 3. A start function that would block traps: waiting on an empty waitable set.
(assert_trap
  (component
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (alias core export $mem "mem" (core memory $memory))
    (core func $wsnew (canon waitable-set.new))
    (core func $wswait (canon waitable-set.wait (memory $memory)))
    (core module $M
      (import "" "wsnew" (func $wsnew (result i32)))
      (import "" "wswait" (func $wswait (param i32 i32) (result i32)))
      (func $s (drop (call $wswait (call $wsnew) (i32.const 0)))) (start $s))
    (core instance $m (instantiate $M (with "" (instance
      (export "wsnew" (func $wsnew)) (export "wswait" (func $wswait)))))))
  "cannot block a synchronous task before returning")

;; 4. A start function may poll (it does not block): poll on an empty set returns NONE (0).
(component definition $Poll
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (alias core export $mem "mem" (core memory $memory))
  (core func $wsnew (canon waitable-set.new))
  (core func $wspoll (canon waitable-set.poll (memory $memory)))
  (core module $M
    (import "" "wsnew" (func $wsnew (result i32)))
    (import "" "wspoll" (func $wspoll (param i32 i32) (result i32)))
    (global $g (mut i32) (i32.const 7))
    (func $s (global.set $g (call $wspoll (call $wsnew) (i32.const 0)))) (start $s)
    (func (export "get") (result i32) (global.get $g)))
  (core instance $m (instantiate $M (with "" (instance
    (export "wsnew" (func $wsnew)) (export "wspoll" (func $wspoll))))))
  (func (export "get") (result u32) (canon lift (core func $m "get"))))
(component instance $poll $Poll)
(assert_return (invoke "get") (u32.const 0))

;; 5. A start function whose sync-lowered call reaches an async callee that blocks traps.
(assert_trap
  (component
    (component $A
      (core module $Mem (memory (export "mem") 1))
      (core instance $mem (instantiate $Mem))
      (alias core export $mem "mem" (core memory $memory))
      (core func $ret (canon task.return (result u32)))
      (core module $M
        (import "" "ret" (func $ret (param i32)))
        (func (export "f") (result i32) (i32.const 1 (; YIELD ;)))
        (func (export "cb") (param i32 i32 i32) (result i32) (call $ret (i32.const 5)) (i32.const 0)))
      (core instance $m (instantiate $M (with "" (instance (export "ret" (func $ret))))))
      (func (export "f") async (result u32) (canon lift (core func $m "f") async (callback (core func $m "cb")))))
    (component $B
      (import "f" (func $f async (result u32)))
      (core func $f (canon lower (func $f)))
      (core module $M
        (import "" "f" (func $f (result i32)))
        (func $s (drop (call $f))) (start $s))
      (core instance $m (instantiate $M (with "" (instance (export "f" (func $f)))))))
    (instance $a (instantiate $A))
    (instance $b (instantiate $B (with "f" (func $a "f")))))
  "cannot block a synchronous task before returning")

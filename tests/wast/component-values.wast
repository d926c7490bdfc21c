;; Components as runtime values: a component passed to an instantiation, imported and
;; instantiated there, exported from an instance and instantiated by its alias, and a nested
;; component closing over the items of the instantiation it is defined in (each
;; instantiation of the outer component gives it its own). Also `(eq t)` type imports, which
;; need no value. Passes under `wasmtime wast` too.

;; An imported component is instantiated; its export is read through the instance.
(component
  (component $leaf
    (core module $m (func (export "f") (result i32) (i32.const 7)))
    (core instance $i (instantiate $m))
    (func (export "f") (result u32) (canon lift (core func $i "f"))))
  (component $runner
    (import "c" (component $c (export "f" (func (result u32)))))
    (instance $ci (instantiate $c))
    (export "f" (func $ci "f")))
  (instance $r (instantiate $runner (with "c" (component $leaf))))
  (export "f" (func $r "f")))
(assert_return (invoke "f") (u32.const 7))

;; A nested component closes over a core module imported by the component it is nested
;; in: two instantiations with different modules give two different components.
(component
  (component $wrap
    (import "m" (core module $m (export "g" (func (result i32)))))
    (component (export "inner")
      (alias outer $wrap $m (core module $mm))
      (core instance $i (instantiate $mm))
      (func (export "g") (result u32) (canon lift (core func $i "g")))))
  (core module $one (func (export "g") (result i32) (i32.const 1)))
  (core module $two (func (export "g") (result i32) (i32.const 2)))
  (instance $w1 (instantiate $wrap (with "m" (core module $one))))
  (instance $w2 (instantiate $wrap (with "m" (core module $two))))
  (instance $a (instantiate (component $w1 "inner")))
  (instance $b (instantiate (component $w2 "inner")))
  (export "a" (func $a "g"))
  (export "b" (func $b "g")))
(assert_return (invoke "a") (u32.const 1))
(assert_return (invoke "b") (u32.const 2))

;; The same through a component import: the outer alias reaches a component.
(component
  (component $wrap
    (import "c" (component $c (export "h" (func (result u32)))))
    (component (export "inner")
      (alias outer $wrap $c (component $cc))
      (instance $i (instantiate $cc))
      (export "h" (func $i "h"))))
  (component $k
    (core module $m (func (export "h") (result i32) (i32.const 42)))
    (core instance $i (instantiate $m))
    (func (export "h") (result u32) (canon lift (core func $i "h"))))
  (instance $w (instantiate $wrap (with "c" (component $k))))
  (instance $x (instantiate (component $w "inner")))
  (export "h" (func $x "h")))
(assert_return (invoke "h") (u32.const 42))

;; An exported component is a new index: instantiating that index runs the same component.
(component
  (component $outer
    (component $k
      (core module $m (func (export "h") (result i32) (i32.const 5)))
      (core instance $i (instantiate $m))
      (func (export "h") (result u32) (canon lift (core func $i "h"))))
    (export $e "k" (component $k))
    (instance $x (instantiate $e))
    (export "h" (func $x "h")))
  (instance $o (instantiate $outer))
  (export "h" (func $o "h")))
(assert_return (invoke "h") (u32.const 5))

;; `(eq t)` type imports name a known type: nothing has to be supplied for them.
(component
  (type $t u64)
  (import "a" (type $a (eq $t)))
  (import "b" (type (eq $a))))

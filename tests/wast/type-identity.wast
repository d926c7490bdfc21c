;; type-identity.wast -- named types keep their identity through instantiation, aliasing and
;; re-export (Explainer.md "Import and export definitions": every record, variant, enum, flags
;; and resource an export's type uses must be named by an import or an export; wasmparser's
;; `all_valtypes_named`).
;; Reference: wasmtime 49 `wasmtime wast type-identity.wast`
;;
;; Found with a real component (a componentize-qjs wasi:http handler): wit-component's shim
;; re-exports `error-code`, a variant imported by an *instance* import of a nested component,
;; and the outer component re-exports the shim's instance.

;; 1. A variant (over a record) from an instance import, re-exported through a nested
;;    component's shim instance and an outer alias + export (the qjs handler, cut down).
(component definition $qjs-shape
  (type $ti (instance
    (type $r0 (record (field "a" u32)))
    (export "payload" (type (eq $r0)))
    (type $v0 (variant (case "x" 1) (case "y")))
    (export "err" (type (eq $v0)))))
  (import "types" (instance $types (type $ti)))
  (component $C
    (type $ti (instance
      (type $r0 (record (field "a" u32)))
      (export "payload" (type (eq $r0)))
      (type $v0 (variant (case "x" 1) (case "y")))
      (export "err" (type (eq $v0)))))
    (import "types" (instance $t (type $ti)))
    (alias export $t "payload" (type $p))
    (alias export $t "err" (type $e))
    (component $shim
      (type $r (record (field "a" u32)))
      (import "import-type-p" (type $p (eq $r)))
      (type $v (variant (case "x" $p) (case "y")))
      (import "import-type-e" (type $e (eq $v)))
      (type $f (func (result $e)))
      (import "f" (func $f (type $f)))
      (export $e2 "err" (type $e))
      (type $f2 (func (result $e2)))
      (export "g" (func $f) (func (type $f2))))
    (core module $m (func (export "f") (result i32) unreachable) (memory (export "mem") 1))
    (core instance $mi (instantiate $m))
    (type $ft (func (result $e)))
    (func $f (type $ft) (canon lift (core func $mi "f") (memory (core memory $mi "mem"))))
    (instance $s (instantiate $shim
      (with "import-type-p" (type $p)) (with "import-type-e" (type $e)) (with "f" (func $f))))
    (export "h" (instance $s)))
  (instance $c (instantiate $C (with "types" (instance $types))))
  (alias export $c "h" (instance $h))
  (export "h" (instance $h)))

;; 2. The record itself, used directly by a function of the re-exported instance (named only
;;    by the outer import, after two instantiations).
(component definition $two-levels
  (type $ti (instance
    (type $r0 (record (field "a" u32) (field "b" u8)))
    (export "rec" (type (eq $r0)))))
  (import "types" (instance $types (type $ti)))
  (component $B
    (type $ti (instance
      (type $r0 (record (field "a" u32) (field "b" u8)))
      (export "rec" (type (eq $r0)))))
    (import "types" (instance $t (type $ti)))
    (alias export $t "rec" (type $r))
    (type $ft (func (param "x" $r)))
    (import "f" (func $f (type $ft)))
    (instance $i (export "f" (func $f)))
    (export "i" (instance $i)))
  (component $A
    (type $ti (instance
      (type $r0 (record (field "a" u32) (field "b" u8)))
      (export "rec" (type (eq $r0)))))
    (import "types" (instance $t (type $ti)))
    (alias export $t "rec" (type $r))
    (type $ft (func (param "x" $r)))
    (import "f" (func $f (type $ft)))
    (instance $b (instantiate $B (with "types" (instance $t)) (with "f" (func $f))))
    (alias export $b "i" (instance $bi))
    (export "i" (instance $bi)))
  (alias export $types "rec" (type $r))
  (type $ft (func (param "x" $r)))
  (core module $m (func (export "f") (param i32 i32)))
  (core instance $mi (instantiate $m))
  (func $f (type $ft) (canon lift (core func $mi "f")))
  (instance $a (instantiate $A (with "types" (instance $types)) (with "f" (func $f))))
  (alias export $a "i" (instance $ai))
  (export "i" (instance $ai)))

;; 3. A resource from an instance import, as own/borrow in a re-exported instance's functions.
(component definition $resource-through
  (type $ti (instance (export "r" (type (sub resource)))))
  (import "types" (instance $types (type $ti)))
  (component $C
    (type $ti (instance (export "r" (type (sub resource)))))
    (import "types" (instance $t (type $ti)))
    (alias export $t "r" (type $r))
    (type $own (own $r))
    (type $ft (func (param "x" $own)))
    (import "f" (func $f (type $ft)))
    (instance $i (export "f" (func $f)))
    (export "i" (instance $i)))
  (alias export $types "r" (type $r))
  (type $own (own $r))
  (type $ft (func (param "x" $own)))
  (core module $m (func (export "f") (param i32)))
  (core instance $mi (instantiate $m))
  (func $f (type $ft) (canon lift (core func $mi "f")))
  (instance $c (instantiate $C (with "types" (instance $types)) (with "f" (func $f))))
  (alias export $c "i" (instance $ci))
  (export "i" (instance $ci)))

;; 4. Still invalid: a record the outer component defines itself and names nowhere, passed
;;    into a nested component and back out in a re-exported instance.
(assert_invalid
  (component
    (component $C
      (type $r0 (record (field "a" u32)))
      (import "t" (type $r (eq $r0)))
      (type $ft (func (param "x" $r)))
      (import "f" (func $f (type $ft)))
      (instance $i (export "f" (func $f)))
      (export "i" (instance $i)))
    (type $r (record (field "a" u32)))
    (type $ft (func (param "x" $r)))
    (core module $m (func (export "f") (param i32)))
    (core instance $mi (instantiate $m))
    (func $f (type $ft) (canon lift (core func $mi "f")))
    (instance $c (instantiate $C (with "t" (type $r)) (with "f" (func $f))))
    (alias export $c "i" (instance $ci))
    (export "i" (instance $ci)))
  "instance not valid to be used as export")

;; 5. Running: the value crosses the re-exported function (instantiated from a definition
;;    that imports nothing).
(component definition $run
  (type $r0 (record (field "a" u32) (field "b" u8)))
  (export $r "rec" (type $r0))
  (component $B
    (type $r0 (record (field "a" u32) (field "b" u8)))
    (import "rec" (type $r (eq $r0)))
    (type $ft (func (param "x" $r) (result u32)))
    (import "f" (func $f (type $ft)))
    (instance $i (export "f" (func $f)))
    (export "i" (instance $i)))
  (type $ft (func (param "x" $r) (result u32)))
  (core module $m (func (export "f") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
  (core instance $mi (instantiate $m))
  (func $f (type $ft) (canon lift (core func $mi "f")))
  (instance $b (instantiate $B (with "rec" (type $r)) (with "f" (func $f))))
  (alias export $b "i" (instance $bi))
  (export "i" (instance $bi))
  (alias export $bi "f" (func $bf))
  (export "f" (func $bf)))
(component instance $run1 $run)
(assert_return (invoke "f" (record.const (field "a" u32.const 40) (field "b" u8.const 2))) (u32.const 42))

;; linking.wast -- component instantiation and linking (Explainer.md
;; "Instance Definitions", "Alias Definitions", "Import and Export
;; Definitions").
;;
;; Pins:
;;  * nested component definitions instantiated several times keep separate
;;    state (core globals and memories are per instance);
;;  * instantiation arguments satisfy function and instance imports, by
;;    name, including instances built inline from exports;
;;  * instance export aliases (`(alias export $i "f" (func $f))` and the
;;    inline `(func $i "f")` form), core instance export aliases;
;;  * outer aliases of core modules, types and components from enclosing
;;    components (by count and by identifier, one and two levels out);
;;  * re-exporting an imported or aliased function, and exporting an instance;
;;  * a core module instantiated with imports from another core instance and
;;    from an inline core instance; core memory shared between two core
;;    instances of one component.

(component definition $Top
  ;; a core module and a function type defined at the top, reached from
  ;; nested components through outer aliases
  (core module $Counter
    (global $g (mut i32) (i32.const 0))
    (func (export "inc") (result i32)
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (global.get $g)))
  (type $CounterFn (func (result u32)))

  (component $C
    (alias outer $Top $Counter (core module $M))
    (alias outer 1 $CounterFn (type $T))
    (core instance $c (instantiate $M))
    (func (export "inc") (type $T) (canon lift (core func $c "inc")))
  )
  (instance $a (instantiate $C))
  (instance $b (instantiate $C))
  (export "a-inc" (func $a "inc"))
  (alias export $b "inc" (func $b-inc))
  (export "b-inc" (func $b-inc))

  ;; a function import satisfied by another instance's export
  (component $Adder
    (import "base" (func $base (result u32)))
    (core func $base' (canon lower (func $base)))
    (core module $M
      (import "" "base" (func $base (result i32)))
      (func (export "plus100") (result i32) (i32.add (call $base) (i32.const 100))))
    (core instance $m (instantiate $M (with "" (instance (export "base" (func $base'))))))
    (func (export "plus100") (result u32) (canon lift (core func $m "plus100")))
  )
  (instance $adder (instantiate $Adder (with "base" (func $a "inc"))))
  (export "a-plus100" (func $adder "plus100"))

  ;; an instance import, re-exported function, satisfied by a component
  ;; instance and by an instance built inline from exports
  (component $Relay
    (import "counter" (instance $i (export "inc" (func (result u32)))))
    (alias export $i "inc" (func $inc))
    (export "again" (func $inc))
  )
  (instance $relay-b (instantiate $Relay (with "counter" (instance $b))))
  (export "b-again" (func $relay-b "again"))
  (instance $bundle (export "inc" (func $a "inc")))
  (instance $relay-a (instantiate $Relay (with "counter" (instance $bundle))))
  (export "a-again" (func $relay-a "again"))

  ;; two levels of nesting: outer aliases by count 2 and by name
  (component $L1
    (component $L2
      (alias outer 2 $Counter (core module $M))
      (alias outer $Top $CounterFn (type $T))
      (core instance $c (instantiate $M))
      (func (export "inc") (type $T) (canon lift (core func $c "inc")))
    )
    (instance $x (instantiate $L2))
    (instance $y (instantiate $L2))
    (export "x" (instance $x))
    (export "y-inc" (func $y "inc"))
  )
  (instance $l1 (instantiate $L1))
  (alias export $l1 "x" (instance $l1x))
  (export "l1-x-inc" (func $l1x "inc"))
  (export "l1-y-inc" (func $l1 "y-inc"))
  (export "l1-x" (instance $l1x))

  ;; outer alias of a component: instantiate $C from inside another component
  (component $Wrap
    (alias outer 1 $C (component $Inner))
    (instance $i (instantiate $Inner))
    (export "inc" (func $i "inc"))
  )
  (instance $wrap (instantiate $Wrap))
  (export "wrap-inc" (func $wrap "inc"))

  ;; core-level linking: a memory shared by two core instances, and a core
  ;; module importing from an inline core instance
  (core module $Mem
    (memory (export "mem") 1)
    (func (export "base") (result i32) (i32.const 1000)))
  (core instance $mem (instantiate $Mem))
  (core module $Writer
    (import "env" "mem" (memory 1))
    (func (export "write") (param i32) (i32.store (i32.const 16) (local.get 0))))
  (core module $Reader
    (import "env" "mem" (memory 1))
    (import "lib" "base" (func $base (result i32)))
    (func (export "read") (result i32) (i32.add (call $base) (i32.load (i32.const 16)))))
  (core instance $w (instantiate $Writer (with "env" (instance $mem))))
  (alias core export $mem "base" (core func $base))
  (core instance $r (instantiate $Reader
    (with "env" (instance $mem))
    (with "lib" (instance (export "base" (func $base))))))
  (func (export "write") (param "v" u32) (canon lift (core func $w "write")))
  (func (export "read") (result u32) (canon lift (core func $r "read")))
)
(component instance $top $Top)
;; $a and $b are separate instances of $C: separate counters
(assert_return (invoke "a-inc") (u32.const 1))
(assert_return (invoke "a-inc") (u32.const 2))
(assert_return (invoke "b-inc") (u32.const 1))
;; $adder's import is $a's inc: it advances $a's counter
(assert_return (invoke "a-plus100") (u32.const 103))
(assert_return (invoke "a-inc") (u32.const 4))
;; relays reach the very same instances
(assert_return (invoke "b-again") (u32.const 2))
(assert_return (invoke "a-again") (u32.const 5))
(assert_return (invoke "b-inc") (u32.const 3))
;; nested instances: each has its own counter
(assert_return (invoke "l1-x-inc") (u32.const 1))
(assert_return (invoke "l1-x-inc") (u32.const 2))
(assert_return (invoke "l1-y-inc") (u32.const 1))
(assert_return (invoke "wrap-inc") (u32.const 1))
(assert_return (invoke "wrap-inc") (u32.const 2))
(assert_return (invoke "a-inc") (u32.const 6))
;; the memory is shared between the two core instances
(assert_return (invoke "read") (u32.const 1000))
(assert_return (invoke "write" (u32.const 234)))
(assert_return (invoke "read") (u32.const 1234))

;; a second instance of the whole definition starts from scratch
(component instance $top2 $Top)
(assert_return (invoke "a-inc") (u32.const 1))
(assert_return (invoke "b-inc") (u32.const 1))
(assert_return (invoke "read") (u32.const 1000))

;; ---------------------------------------------------------------------------
;; Instantiation arguments must match the imports.
(assert_invalid
  (component
    (component $Needs (import "f" (func (result u32))))
    (instance (instantiate $Needs)))
  "missing import named `f`")
(assert_invalid
  (component
    (component $Needs (import "f" (func (result u32))))
    (component $Gives
      (core module $M (func (export "f") (result i64) (i64.const 0)))
      (core instance $m (instantiate $M))
      (func (export "f") (result u64) (canon lift (core func $m "f"))))
    (instance $g (instantiate $Gives))
    (instance (instantiate $Needs (with "f" (func $g "f")))))
  "type mismatch")
(assert_invalid
  (component
    (core module $Needs (import "" "g" (global i32)))
    (core module $Gives (global (export "g") i64 (i64.const 0)))
    (core instance $g (instantiate $Gives))
    (core instance (instantiate $Needs (with "" (instance $g)))))
  "type mismatch")

;; ---------------------------------------------------------------------------
;; A top-level import the test host does not provide cannot be linked.
(assert_unlinkable
  (component (import "not-provided" (func)))
  "not-provided")

;; A core start function that traps makes instantiation trap (this wast
;; version has no assert_uninstantiable; assert_trap on a component is the
;; instantiation-trap form).
(assert_trap
  (component
    (core module $M
      (func $start unreachable)
      (start $start))
    (core instance (instantiate $M)))
  "unreachable")

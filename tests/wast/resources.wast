;; resources.wast -- resource handles (CanonicalABI.md "Handle types",
;; "canon resource.new/drop/rep"; definitions.py ResourceHandle, Table,
;; lift_own/lift_borrow/lower_own/lower_borrow, canon_resource_*).
;;
;; Pins:
;;  * resource.new returns handle indices starting at 1 (index 0 is
;;    reserved); freed slots are reused last-in-first-out;
;;  * resource.rep returns the rep; resource.drop of an own handle runs the
;;    destructor with the rep (also in the defining component);
;;  * own handles passed to a function move: the caller's slot is freed (using
;;    it afterwards traps) and the callee gets a fresh index in its own table;
;;  * returning own<R> moves the handle into the caller's table;
;;  * a borrow passed to a component that does not define the resource
;;    arrives as a fresh borrow handle in the callee's table and must be
;;    dropped before the call returns (else the call traps); dropping a borrow
;;    does not run the destructor; after the call the caller's own handle is
;;    intact;
;;  * a borrow passed to the defining component arrives as the rep itself;
;;  * dropping an own handle from a non-defining component runs the
;;    defining component's destructor;
;;  * passing the same handle as borrow and then own in one call traps (the
;;    handle is lent), wrong resource types trap, and resource.drop/rep of an
;;    invalid index (0, never allocated, already dropped) traps.

;; ---------------------------------------------------------------------------
;; Handle table of the defining component, driven directly by the host.
(component definition $Table
  (core module $Log
    (global $count (mut i32) (i32.const 0))
    (global $last (mut i32) (i32.const -1))
    (func (export "dtor") (param i32)
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (global.set $last (local.get 0)))
    (func (export "count") (result i32) (global.get $count))
    (func (export "last") (result i32) (global.get $last))
  )
  (core instance $log (instantiate $Log))
  (type $R (resource (rep i32) (dtor (core func $log "dtor"))))
  (type $S (resource (rep i32)))
  (core func $new (canon resource.new $R))
  (core func $drop (canon resource.drop $R))
  (core func $rep (canon resource.rep $R))
  (core func $new-s (canon resource.new $S))
  (core func $drop-s (canon resource.drop $S))
  (core func $rep-s (canon resource.rep $S))
  (func (export "new") (param "rep" u32) (result u32) (canon lift (core func $new)))
  (func (export "drop") (param "h" u32) (canon lift (core func $drop)))
  (func (export "rep") (param "h" u32) (result u32) (canon lift (core func $rep)))
  (func (export "new-s") (param "rep" u32) (result u32) (canon lift (core func $new-s)))
  (func (export "drop-s") (param "h" u32) (canon lift (core func $drop-s)))
  (func (export "rep-s") (param "h" u32) (result u32) (canon lift (core func $rep-s)))
  (func (export "dtor-count") (result u32) (canon lift (core func $log "count")))
  (func (export "dtor-last") (result u32) (canon lift (core func $log "last")))
)
(component instance $t $Table)
(assert_return (invoke "new" (u32.const 100)) (u32.const 1))
(assert_return (invoke "new" (u32.const 200)) (u32.const 2))
(assert_return (invoke "new" (u32.const 300)) (u32.const 3))
(assert_return (invoke "rep" (u32.const 1)) (u32.const 100))
(assert_return (invoke "rep" (u32.const 3)) (u32.const 300))
(assert_return (invoke "dtor-count") (u32.const 0))
;; dropping an own handle runs the destructor with its rep
(assert_return (invoke "drop" (u32.const 2)))
(assert_return (invoke "dtor-count") (u32.const 1))
(assert_return (invoke "dtor-last") (u32.const 200))
(assert_return (invoke "new" (u32.const 400)) (u32.const 2))
(assert_return (invoke "rep" (u32.const 2)) (u32.const 400))
;; free 1 then 3: the most recently freed slot (3) is reused first
(assert_return (invoke "drop" (u32.const 1)))
(assert_return (invoke "drop" (u32.const 3)))
(assert_return (invoke "dtor-count") (u32.const 3))
(assert_return (invoke "dtor-last") (u32.const 300))
(assert_return (invoke "new" (u32.const 500)) (u32.const 3))
(assert_return (invoke "new" (u32.const 600)) (u32.const 1))
(assert_return (invoke "new" (u32.const 700)) (u32.const 4))
(assert_return (invoke "rep" (u32.const 1)) (u32.const 600))
(assert_return (invoke "rep" (u32.const 3)) (u32.const 500))
;; one table is shared by all resource types of the instance
(assert_return (invoke "new-s" (u32.const 800)) (u32.const 5))
(assert_return (invoke "rep-s" (u32.const 5)) (u32.const 800))
;; a resource without a destructor: dropping runs nothing
(assert_return (invoke "drop-s" (u32.const 5)))
(assert_return (invoke "dtor-count") (u32.const 3))
(assert_return (invoke "new-s" (u32.const 900)) (u32.const 5))

;; invalid indices and wrong types trap
(component instance $t1 $Table)
(assert_trap (invoke "drop" (u32.const 0)) "unknown handle index 0")
(component instance $t2 $Table)
(assert_trap (invoke "rep" (u32.const 1)) "unknown handle index 1")
(component instance $t3 $Table)
(assert_return (invoke "new" (u32.const 1)) (u32.const 1))
(assert_return (invoke "drop" (u32.const 1)))
(assert_trap (invoke "drop" (u32.const 1)) "unknown handle index 1")
(component instance $t4 $Table)
(assert_return (invoke "new" (u32.const 1)) (u32.const 1))
(assert_trap (invoke "rep-s" (u32.const 1)) "handle index 1 used with the wrong type")
(component instance $t5 $Table)
(assert_return (invoke "new-s" (u32.const 1)) (u32.const 1))
(assert_trap (invoke "drop" (u32.const 1)) "handle index 1 used with the wrong type")
(component instance $t6 $Table)
(assert_trap (invoke "drop" (u32.const 0xffffffff)) "unknown handle index")

;; ---------------------------------------------------------------------------
;; Three components: $Def defines R (with a destructor) and S; $Peer uses R
;; without defining it; $User owns handles and calls both. $User's scenario
;; exports return a list<u32> of observations, in order.
(component definition $World
  (component $Def
    (core module $Log
      (global $count (mut i32) (i32.const 0))
      (global $last (mut i32) (i32.const -1))
      (func (export "dtor") (param i32)
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (global.set $last (local.get 0)))
      (func (export "count") (result i32) (global.get $count))
      (func (export "last") (result i32) (global.get $last))
    )
    (core instance $log (instantiate $Log))
    (type $R' (resource (rep i32) (dtor (core func $log "dtor"))))
    (type $S' (resource (rep i32)))
    (export $R "r" (type $R'))
    (export $S "s" (type $S'))
    (core func $new (canon resource.new $R'))
    (core func $rep (canon resource.rep $R'))
    (core func $new-s (canon resource.new $S'))
    (core module $M
      (import "" "rep" (func $rep (param i32) (result i32)))
      ;; consume: keep the received own handle, report index * 0x10000 + rep
      (func (export "consume") (param $h i32) (result i32)
        (i32.add (i32.mul (local.get $h) (i32.const 0x10000)) (call $rep (local.get $h))))
      ;; inspect: a borrow of our own resource arrives as the rep itself
      (func (export "inspect") (param $rep i32) (result i32) (local.get $rep))
    )
    (core instance $m (instantiate $M (with "" (instance (export "rep" (func $rep))))))
    (func (export "make") (param "rep" u32) (result (own $R)) (canon lift (core func $new)))
    (func (export "make-s") (param "rep" u32) (result (own $S)) (canon lift (core func $new-s)))
    (func (export "consume") (param "x" (own $R)) (result u32) (canon lift (core func $m "consume")))
    (func (export "inspect") (param "x" (borrow $R)) (result u32) (canon lift (core func $m "inspect")))
    (func (export "dtor-count") (result u32) (canon lift (core func $log "count")))
    (func (export "dtor-last") (result u32) (canon lift (core func $log "last")))
  )
  (instance $def (instantiate $Def))

  (component $Peer
    (import "def" (instance $def (export "r" (type (sub resource)))))
    (alias export $def "r" (type $R))
    (core func $drop (canon resource.drop $R))
    (core module $M
      (import "" "drop" (func $drop (param i32)))
      ;; peek: drop the borrow we got and report its index
      (func (export "peek") (param $h i32) (result i32) (call $drop (local.get $h)) (local.get $h))
      (func (export "peek-keep") (param $h i32) (result i32) (local.get $h))
      (func (export "peek2") (param $a i32) (param $b i32) (result i32)
        (call $drop (local.get $a)) (call $drop (local.get $b))
        (i32.add (i32.mul (local.get $a) (i32.const 16)) (local.get $b)))
      ;; take: own handle; report its index and drop it (runs $Def's dtor)
      (func (export "take") (param $h i32) (result i32) (call $drop (local.get $h)) (local.get $h))
      (func (export "take-keep") (param $h i32) (result i32) (local.get $h))
      (func (export "both") (param i32 i32) (result i32) unreachable)
    )
    (core instance $m (instantiate $M (with "" (instance (export "drop" (func $drop))))))
    (func (export "peek") (param "x" (borrow $R)) (result u32) (canon lift (core func $m "peek")))
    (func (export "peek-keep") (param "x" (borrow $R)) (result u32) (canon lift (core func $m "peek-keep")))
    (func (export "peek2") (param "a" (borrow $R)) (param "b" (borrow $R)) (result u32) (canon lift (core func $m "peek2")))
    (func (export "take") (param "x" (own $R)) (result u32) (canon lift (core func $m "take")))
    (func (export "take-keep") (param "x" (own $R)) (result u32) (canon lift (core func $m "take-keep")))
    (func (export "both") (param "b" (borrow $R)) (param "o" (own $R)) (result u32) (canon lift (core func $m "both")))
  )
  (instance $peer (instantiate $Peer (with "def" (instance $def))))

  (component $User
    (import "def" (instance $def
      (export "r" (type $R (sub resource)))
      (export "s" (type $S (sub resource)))
      (export "make" (func (param "rep" u32) (result (own $R))))
      (export "make-s" (func (param "rep" u32) (result (own $S))))
      (export "consume" (func (param "x" (own $R)) (result u32)))
      (export "inspect" (func (param "x" (borrow $R)) (result u32)))
      (export "dtor-count" (func (result u32)))
      (export "dtor-last" (func (result u32)))))
    (alias export $def "r" (type $R))
    (import "peer" (instance $peer
      (export "peek" (func (param "x" (borrow $R)) (result u32)))
      (export "peek-keep" (func (param "x" (borrow $R)) (result u32)))
      (export "peek2" (func (param "a" (borrow $R)) (param "b" (borrow $R)) (result u32)))
      (export "take" (func (param "x" (own $R)) (result u32)))
      (export "take-keep" (func (param "x" (own $R)) (result u32)))
      (export "both" (func (param "b" (borrow $R)) (param "o" (own $R)) (result u32)))))
    (core func $drop (canon resource.drop $R))
    (core func $make (canon lower (func $def "make")))
    (core func $make-s (canon lower (func $def "make-s")))
    (core func $consume (canon lower (func $def "consume")))
    (core func $inspect (canon lower (func $def "inspect")))
    (core func $dtor-count (canon lower (func $def "dtor-count")))
    (core func $dtor-last (canon lower (func $def "dtor-last")))
    (core func $peek (canon lower (func $peer "peek")))
    (core func $peek-keep (canon lower (func $peer "peek-keep")))
    (core func $peek2 (canon lower (func $peer "peek2")))
    (core func $take (canon lower (func $peer "take")))
    (core func $take-keep (canon lower (func $peer "take-keep")))
    (core func $both (canon lower (func $peer "both")))
    (core module $M
      (import "" "drop" (func $drop (param i32)))
      (import "" "make" (func $make (param i32) (result i32)))
      (import "" "make-s" (func $make-s (param i32) (result i32)))
      (import "" "consume" (func $consume (param i32) (result i32)))
      (import "" "inspect" (func $inspect (param i32) (result i32)))
      (import "" "dtor-count" (func $dtor-count (result i32)))
      (import "" "dtor-last" (func $dtor-last (result i32)))
      (import "" "peek" (func $peek (param i32) (result i32)))
      (import "" "peek-keep" (func $peek-keep (param i32) (result i32)))
      (import "" "peek2" (func $peek2 (param i32 i32) (result i32)))
      (import "" "take" (func $take (param i32) (result i32)))
      (import "" "take-keep" (func $take-keep (param i32) (result i32)))
      (import "" "both" (func $both (param i32 i32) (result i32)))
      (memory (export "mem") 1)
      ;; observations are appended as u32s at 0x100; $n counts them
      (global $n (mut i32) (i32.const 0))
      (func $obs (param i32)
        (i32.store (i32.add (i32.const 0x100) (i32.shl (global.get $n) (i32.const 2))) (local.get 0))
        (global.set $n (i32.add (global.get $n) (i32.const 1))))
      (func $done (result i32)
        (i32.store (i32.const 0) (i32.const 0x100))
        (i32.store (i32.const 4) (global.get $n))
        (i32.const 0))

      (func (export "move-own") (result i32)
        (local $h i32)
        (local.set $h (call $make (i32.const 7)))
        (call $obs (local.get $h))                             ;; 1: first index
        (call $obs (call $consume (local.get $h)))             ;; 0x10007: index 1 in $Def, rep 7
        (local.set $h (call $make (i32.const 8)))
        (call $obs (local.get $h))                             ;; 1: the moved-out slot is free again
        (call $obs (call $make (i32.const 9)))                 ;; 2
        (call $obs (call $consume (call $make (i32.const 10)))) ;; 0x2000a: $Def still holds index 1
        (call $obs (call $dtor-count))                          ;; 0: nothing dropped yet
        (call $drop (local.get $h))
        (call $obs (call $dtor-count))                          ;; 1: dropping our own runs $Def's dtor
        (call $obs (call $dtor-last))                           ;; 8
        (call $done))

      (func (export "borrows") (result i32)
        (local $a i32) (local $b i32)
        (local.set $a (call $make (i32.const 0x11)))
        (local.set $b (call $make (i32.const 0x22)))
        (call $obs (call $peek (local.get $b)))                ;; 1: fresh borrow handle in $Peer
        (call $obs (call $peek (local.get $b)))                ;; 1: slot freed by the borrow drop
        (call $obs (call $peek2 (local.get $a) (local.get $b))) ;; 0x12: two borrows, indices 1 and 2
        (call $obs (call $peek2 (local.get $a) (local.get $a))) ;; 0x21: same handle lent twice; $Peer freed 1
                                                                 ;; then 2, so LIFO reuse hands out 2 then 1
        (call $obs (call $dtor-count))                          ;; 0: dropping borrows runs no dtor
        (call $obs (call $inspect (local.get $a)))              ;; 0x11: $Def sees the rep
        (call $obs (call $inspect (local.get $b)))              ;; 0x22
        ;; $Peer keeps an own handle: its next borrow gets index 2
        (call $obs (call $take-keep (call $make (i32.const 0x33)))) ;; 1
        (call $obs (call $peek (local.get $a)))                 ;; 2
        ;; $Peer drops an own handle it received: $Def's dtor runs
        (call $obs (call $take (local.get $b)))                 ;; 2
        (call $obs (call $dtor-count))                          ;; 1
        (call $obs (call $dtor-last))                           ;; 0x22
        ;; our handles: $a still 1; $b's slot 2 was freed by the move
        (call $obs (call $make (i32.const 0x44)))               ;; 2
        (call $drop (local.get $a))
        (call $obs (call $dtor-last))                           ;; 0x11
        (call $done))

      (func (export "use-after-move") (result i32)
        (local $h i32)
        (local.set $h (call $make (i32.const 1)))
        (drop (call $consume (local.get $h)))
        (call $drop (local.get $h))
        (i32.const 0))
      (func (export "pass-after-move") (result i32)
        (local $h i32)
        (local.set $h (call $make (i32.const 1)))
        (drop (call $consume (local.get $h)))
        (call $consume (local.get $h)))
      (func (export "borrow-after-drop") (result i32)
        (local $h i32)
        (local.set $h (call $make (i32.const 1)))
        (call $drop (local.get $h))
        (call $peek (local.get $h)))
      (func (export "keep-borrow") (result i32)
        (call $peek-keep (call $make (i32.const 1))))
      (func (export "borrow-and-own") (result i32)
        (local $h i32)
        (local.set $h (call $make (i32.const 1)))
        (call $both (local.get $h) (local.get $h)))
      (func (export "wrong-type") (result i32)
        (call $inspect (call $make-s (i32.const 1))))
      (func (export "wrong-type-own") (result i32)
        (call $consume (call $make-s (i32.const 1))))
      (func (export "bad-index") (result i32)
        (call $peek (i32.const 5)))
    )
    (core instance $m (instantiate $M (with "" (instance
      (export "drop" (func $drop))
      (export "make" (func $make))
      (export "make-s" (func $make-s))
      (export "consume" (func $consume))
      (export "inspect" (func $inspect))
      (export "dtor-count" (func $dtor-count))
      (export "dtor-last" (func $dtor-last))
      (export "peek" (func $peek))
      (export "peek-keep" (func $peek-keep))
      (export "peek2" (func $peek2))
      (export "take" (func $take))
      (export "take-keep" (func $take-keep))
      (export "both" (func $both))))))
    (alias core export $m "mem" (core memory $mem))
    (func (export "move-own") (result (list u32)) (canon lift (core func $m "move-own") (memory $mem)))
    (func (export "borrows") (result (list u32)) (canon lift (core func $m "borrows") (memory $mem)))
    (func (export "use-after-move") (result u32) (canon lift (core func $m "use-after-move")))
    (func (export "pass-after-move") (result u32) (canon lift (core func $m "pass-after-move")))
    (func (export "borrow-after-drop") (result u32) (canon lift (core func $m "borrow-after-drop")))
    (func (export "keep-borrow") (result u32) (canon lift (core func $m "keep-borrow")))
    (func (export "borrow-and-own") (result u32) (canon lift (core func $m "borrow-and-own")))
    (func (export "wrong-type") (result u32) (canon lift (core func $m "wrong-type")))
    (func (export "wrong-type-own") (result u32) (canon lift (core func $m "wrong-type-own")))
    (func (export "bad-index") (result u32) (canon lift (core func $m "bad-index")))
  )
  (instance $user (instantiate $User (with "def" (instance $def)) (with "peer" (instance $peer))))
  (export "move-own" (func $user "move-own"))
  (export "borrows" (func $user "borrows"))
  (export "use-after-move" (func $user "use-after-move"))
  (export "pass-after-move" (func $user "pass-after-move"))
  (export "borrow-after-drop" (func $user "borrow-after-drop"))
  (export "keep-borrow" (func $user "keep-borrow"))
  (export "borrow-and-own" (func $user "borrow-and-own"))
  (export "wrong-type" (func $user "wrong-type"))
  (export "wrong-type-own" (func $user "wrong-type-own"))
  (export "bad-index" (func $user "bad-index"))
)
(component instance $w1 $World)
(assert_return (invoke "move-own") (list.const
  (u32.const 1) (u32.const 0x10007) (u32.const 1) (u32.const 2) (u32.const 0x2000a)
  (u32.const 0) (u32.const 1) (u32.const 8)))
(component instance $w2 $World)
(assert_return (invoke "borrows") (list.const
  (u32.const 1) (u32.const 1) (u32.const 0x12) (u32.const 0x21) (u32.const 0)
  (u32.const 0x11) (u32.const 0x22) (u32.const 1) (u32.const 2) (u32.const 2)
  (u32.const 1) (u32.const 0x22) (u32.const 2) (u32.const 0x11)))
(component instance $w3 $World)
(assert_trap (invoke "use-after-move") "unknown handle index 1")
(component instance $w4 $World)
(assert_trap (invoke "pass-after-move") "unknown handle index 1")
(component instance $w5 $World)
(assert_trap (invoke "borrow-after-drop") "unknown handle index 1")
(component instance $w6 $World)
(assert_trap (invoke "keep-borrow") "borrow handles still remain at the end of the call")
(component instance $w7 $World)
(assert_trap (invoke "borrow-and-own") "cannot remove owned resource while borrowed")
(component instance $w8 $World)
(assert_trap (invoke "wrong-type") "handle index 1 used with the wrong type")
(component instance $w9 $World)
(assert_trap (invoke "wrong-type-own") "handle index 1 used with the wrong type")
(component instance $w10 $World)
(assert_trap (invoke "bad-index") "unknown handle index 5")

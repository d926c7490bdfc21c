;; map-values.wast -- map<K, V> between two components keeps every entry, in order, duplicate
;; keys included (CanonicalABI.md: a map is laid out and flattened as list<tuple<K, V>>, and
;; nothing makes its keys unique).
;; Reference: wasmtime 49 `wasmtime wast -W component-model-map=y map-values.wast`
;;
;; $B's `echo` returns its map argument as it received it (the same pointer and length). The
;; driver $D builds a map<u32, u32> with the key 5 three times, calls `echo` through a sync
;; lower (the map goes $D -> $B and back), and returns what came back as the
;; list<tuple<u32, u32>> it reads from its own memory.
(component definition $Maps
  (component $B
    (core module $Mem (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get 3)))
        (local.get $p)))
    (core instance $mem (instantiate $Mem))
    (core module $E
      (import "" "mem" (memory 1))
      (func (export "echo") (param i32 i32) (result i32)
        (i32.store (i32.const 0x800) (local.get 0))
        (i32.store (i32.const 0x804) (local.get 1))
        (i32.const 0x800)))
    (core instance $e (instantiate $E (with "" (instance (export "mem" (memory $mem "mem"))))))
    (type $m (map u32 u32))
    (func (export "echo") (param "m" $m) (result $m)
      (canon lift (core func $e "echo") (memory (core memory $mem "mem")) (realloc (core func $mem "realloc")))))
  (instance $b (instantiate $B))
  (component $D
    (type $m (map u32 u32))
    (import "echo" (func $echo (param "m" $m) (result $m)))
    (core module $Mem (memory (export "mem") 1)
      (global $next (mut i32) (i32.const 0x1000))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
        (local.set $p (global.get $next))
        (global.set $next (i32.add (global.get $next) (local.get 3)))
        (local.get $p)))
    (core instance $mem (instantiate $Mem))
    (core func $echo (canon lower (func $echo) (memory (core memory $mem "mem")) (realloc (core func $mem "realloc"))))
    (core module $R
      (import "" "mem" (memory 1))
      (import "" "echo" (func $echo (param i32 i32 i32)))
      (func $pair (param $p i32) (param $k i32) (param $v i32)
        (i32.store (local.get $p) (local.get $k))
        (i32.store offset=4 (local.get $p) (local.get $v)))
      (func (export "run") (result i32)
        (call $pair (i32.const 0x100) (i32.const 5) (i32.const 1))
        (call $pair (i32.const 0x108) (i32.const 5) (i32.const 2))
        (call $pair (i32.const 0x110) (i32.const 3) (i32.const 3))
        (call $pair (i32.const 0x118) (i32.const 5) (i32.const 4))
        (call $echo (i32.const 0x100) (i32.const 4) (i32.const 0x200))
        (i32.const 0x200)))
    (core instance $r (instantiate $R (with "" (instance
      (export "mem" (memory $mem "mem")) (export "echo" (func $echo))))))
    (type $l (list (tuple u32 u32)))
    (func (export "run") (result $l) (canon lift (core func $r "run") (memory (core memory $mem "mem")))))
  (instance $d (instantiate $D (with "echo" (func $b "echo"))))
  (export "run" (func $d "run")))
(component instance $maps $Maps)
(assert_return (invoke "run")
  (list.const (tuple.const (u32.const 5) (u32.const 1)) (tuple.const (u32.const 5) (u32.const 2))
              (tuple.const (u32.const 3) (u32.const 3)) (tuple.const (u32.const 5) (u32.const 4))))

;; Every realloc a string transcoding between two components makes, with its arguments: the
;; callee's realloc logs (old_ptr, old_size, align, new_size) and the lifted function logs
;; the (tagged) code-unit count it received. "héllo" is 6 bytes of utf8 and 5 code units of
;; utf16 (é fits latin1). The caller keeps the string's source encoding all the way to the
;; callee's memory, so the allocate / grow / shrink steps are the spec's (and Wasmtime's
;; adapters'), not one exact allocation. Passes under `wasmtime wast` too.

(component
  (component $callee
    (core module $m
      (memory (export "mem") 1)
      (global $n (mut i32) (i32.const 0))
      (func $log (param i32)
        (i32.store (i32.add (i32.const 1024) (i32.shl (global.get $n) (i32.const 2)))
                   (local.get 0))
        (global.set $n (i32.add (global.get $n) (i32.const 1))))
      ;; one block at 64, reused in place by every later call
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (call $log (local.get 0)) (call $log (local.get 1))
        (call $log (local.get 2)) (call $log (local.get 3))
        (i32.const 64))
      (func (export "take") (param i32 i32) (call $log (local.get 1)))
      (func (export "log") (result i32)
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (global.get $n))
        (i32.const 0)))
    (core instance $i (instantiate $m))
    (func (export "take8") (param "s" string)
      (canon lift (core func $i "take") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc"))))
    (func (export "take16") (param "s" string)
      (canon lift (core func $i "take") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")) string-encoding=utf16))
    (func (export "take-latin1") (param "s" string)
      (canon lift (core func $i "take") (memory (core memory $i "mem"))
        (realloc (core func $i "realloc")) string-encoding=latin1+utf16))
    (func (export "log") (result (list u32))
      (canon lift (core func $i "log") (memory (core memory $i "mem")))))

  ;; passes "héllo" in utf8
  (component $from8
    (import "take" (func $take (param "s" string)))
    (core module $libc (memory (export "mem") 1) (data (i32.const 0) "h\c3\a9llo"))
    (core instance $libc (instantiate $libc))
    (core func $take' (canon lower (func $take) (memory (core memory $libc "mem"))))
    (core module $m
      (import "" "take" (func $take (param i32 i32)))
      (func (export "run") (call $take (i32.const 0) (i32.const 6))))
    (core instance $m (instantiate $m (with "" (instance (export "take" (func $take'))))))
    (func (export "run") (canon lift (core func $m "run"))))

  ;; passes "héllo" in utf16
  (component $from16
    (import "take" (func $take (param "s" string)))
    (core module $libc (memory (export "mem") 1) (data (i32.const 0) "h\00\e9\00l\00l\00o\00"))
    (core instance $libc (instantiate $libc))
    (core func $take'
      (canon lower (func $take) (memory (core memory $libc "mem")) string-encoding=utf16))
    (core module $m
      (import "" "take" (func $take (param i32 i32)))
      (func (export "run") (call $take (i32.const 0) (i32.const 5))))
    (core instance $m (instantiate $m (with "" (instance (export "take" (func $take'))))))
    (func (export "run") (canon lift (core func $m "run"))))

  (instance $a (instantiate $callee))
  (instance $ra (instantiate $from8 (with "take" (func $a "take16"))))
  (instance $b (instantiate $callee))
  (instance $rb (instantiate $from8 (with "take" (func $b "take-latin1"))))
  (instance $c (instantiate $callee))
  (instance $rc (instantiate $from16 (with "take" (func $c "take8"))))
  (instance $d (instantiate $callee))
  (instance $rd (instantiate $from8 (with "take" (func $d "take8"))))
  (export "utf8-to-utf16" (func $ra "run"))
  (export "utf8-to-utf16-log" (func $a "log"))
  (export "utf8-to-latin1" (func $rb "run"))
  (export "utf8-to-latin1-log" (func $b "log"))
  (export "utf16-to-utf8" (func $rc "run"))
  (export "utf16-to-utf8-log" (func $c "log"))
  (export "utf8-to-utf8" (func $rd "run"))
  (export "utf8-to-utf8-log" (func $d "log")))

;; utf8 -> utf16: the worst case (2 bytes per utf8 byte), then shrunk to the 10 bytes used.
(assert_return (invoke "utf8-to-utf16"))
(assert_return (invoke "utf8-to-utf16-log")
  (list.const (u32.const 0) (u32.const 0) (u32.const 2) (u32.const 12)
              (u32.const 64) (u32.const 12) (u32.const 2) (u32.const 10)
              (u32.const 5)))
;; utf8 -> latin1+utf16: one byte per utf8 byte, every character fits latin1, shrunk to 5.
(assert_return (invoke "utf8-to-latin1"))
(assert_return (invoke "utf8-to-latin1-log")
  (list.const (u32.const 0) (u32.const 0) (u32.const 2) (u32.const 6)
              (u32.const 64) (u32.const 6) (u32.const 2) (u32.const 5)
              (u32.const 5)))
;; utf16 -> utf8: one byte per code unit, grown to the worst case at the first non-ascii
;; character, shrunk to the 6 bytes used.
(assert_return (invoke "utf16-to-utf8"))
(assert_return (invoke "utf16-to-utf8-log")
  (list.const (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 5)
              (u32.const 64) (u32.const 5) (u32.const 1) (u32.const 15)
              (u32.const 64) (u32.const 15) (u32.const 1) (u32.const 6)
              (u32.const 6)))
;; utf8 -> utf8: one exact allocation.
(assert_return (invoke "utf8-to-utf8"))
(assert_return (invoke "utf8-to-utf8-log")
  (list.const (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 6) (u32.const 6)))

;; The same for a result: a utf16 string returned to a utf8 caller is stored by the caller's
;; realloc in the same three steps.
(component
  (component $giver
    (core module $m
      (memory (export "mem") 1)
      (data (i32.const 16) "h\00\e9\00l\00l\00o\00")
      (func (export "give") (result i32)
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 5))
        (i32.const 0)))
    (core instance $i (instantiate $m))
    (func (export "give") (result string)
      (canon lift (core func $i "give") (memory (core memory $i "mem")) string-encoding=utf16)))
  (component $getter
    (import "give" (func $give (result string)))
    (core module $libc
      (memory (export "mem") 1)
      (global $n (mut i32) (i32.const 0))
      (func $log (export "log1") (param i32)
        (i32.store (i32.add (i32.const 1024) (i32.shl (global.get $n) (i32.const 2)))
                   (local.get 0))
        (global.set $n (i32.add (global.get $n) (i32.const 1))))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32)
        (call $log (local.get 0)) (call $log (local.get 1))
        (call $log (local.get 2)) (call $log (local.get 3))
        (i32.const 64))
      (func (export "log") (result i32)
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (global.get $n))
        (i32.const 0)))
    (core instance $libc (instantiate $libc))
    (core func $give'
      (canon lower (func $give) (memory (core memory $libc "mem"))
        (realloc (core func $libc "realloc"))))
    (core module $m
      (import "" "give" (func $give (param i32)))
      (import "" "log1" (func $log (param i32)))
      (import "" "mem" (memory 1))
      (func (export "run") (call $give (i32.const 32)) (call $log (i32.load (i32.const 36)))))
    (core instance $m (instantiate $m (with "" (instance
      (export "give" (func $give'))
      (export "log1" (func $libc "log1"))
      (export "mem" (memory $libc "mem"))))))
    (func (export "run") (canon lift (core func $m "run")))
    (func (export "log") (result (list u32))
      (canon lift (core func $libc "log") (memory (core memory $libc "mem")))))
  (instance $g (instantiate $giver))
  (instance $r (instantiate $getter (with "give" (func $g "give"))))
  (export "run" (func $r "run"))
  (export "log" (func $r "log")))
(assert_return (invoke "run"))
(assert_return (invoke "log")
  (list.const (u32.const 0) (u32.const 0) (u32.const 1) (u32.const 5)
              (u32.const 64) (u32.const 5) (u32.const 1) (u32.const 15)
              (u32.const 64) (u32.const 15) (u32.const 1) (u32.const 6)
              (u32.const 6)))

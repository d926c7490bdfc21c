;; values-primitives.wast -- Canonical ABI lifting/lowering of scalar types.
;;
;; Pins (CanonicalABI.md "Flat Lifting"/"Flat Lowering", definitions.py
;; lift_flat/lower_flat):
;;  * bool: lifting takes any nonzero i32 as true; lowering yields exactly 0/1.
;;  * u8/u16/s8/s16: lifting ignores the upper bits of the core i32 (wraps to
;;    the type width, then sign-extends for signed types); lowering produces a
;;    zero-extended (unsigned) or sign-extended (signed) i32.
;;  * u32/s32/u64/s64: boundary values (0, -1, min, max) in both directions.
;;  * f32/f64: -0.0, infinities and ordinary values keep their bits; a NaN stays
;;    a NaN (the exact NaN bits are not asserted: the spec canonicalizes on lift
;;    but allows any NaN on lower; see README.md).
;;  * char: valid boundaries 0, 0xD7FF, 0xE000, 0x10FFFF; lifting a surrogate
;;    or a value >= 0x110000 traps, in results and in parameters.
;;  * The same rules apply to component-to-component calls (canon lower of a
;;    lifted function): narrow values arrive in the caller's core code clean.
;;
;; Note: a top-level f32/f64 argument or result in invoke/assert_return is
;; parsed as a *core* value by the wast parser, so float params and results
;; are wrapped in a one-element tuple, which flattens to the same single core
;; float.

;; ---------------------------------------------------------------------------
;; Results: the core function returns its (u32/u64) argument unchanged and the
;; lift reinterprets it as the narrower/other type.
(component
  (core module $M
    (func (export "id32") (param i32) (result i32) local.get 0)
    (func (export "id64") (param i64) (result i64) local.get 0)
    (func (export "bits-f32") (param i32) (result f32) local.get 0 f32.reinterpret_i32)
    (func (export "bits-f64") (param i64) (result f64) local.get 0 f64.reinterpret_i64)
  )
  (core instance $m (instantiate $M))
  (func (export "to-bool") (param "x" u32) (result bool) (canon lift (core func $m "id32")))
  (func (export "to-u8") (param "x" u32) (result u8) (canon lift (core func $m "id32")))
  (func (export "to-s8") (param "x" u32) (result s8) (canon lift (core func $m "id32")))
  (func (export "to-u16") (param "x" u32) (result u16) (canon lift (core func $m "id32")))
  (func (export "to-s16") (param "x" u32) (result s16) (canon lift (core func $m "id32")))
  (func (export "to-s32") (param "x" u32) (result s32) (canon lift (core func $m "id32")))
  (func (export "to-s64") (param "x" u64) (result s64) (canon lift (core func $m "id64")))
  (func (export "to-char") (param "x" u32) (result char) (canon lift (core func $m "id32")))
  (func (export "to-f32") (param "x" u32) (result (tuple f32)) (canon lift (core func $m "bits-f32")))
  (func (export "to-f64") (param "x" u64) (result (tuple f64)) (canon lift (core func $m "bits-f64")))
)

;; bool: 0 is false, every other bit pattern is true
(assert_return (invoke "to-bool" (u32.const 0)) (bool.const false))
(assert_return (invoke "to-bool" (u32.const 1)) (bool.const true))
(assert_return (invoke "to-bool" (u32.const 2)) (bool.const true))
(assert_return (invoke "to-bool" (u32.const 0x100)) (bool.const true))
(assert_return (invoke "to-bool" (u32.const 0x80000000)) (bool.const true))
(assert_return (invoke "to-bool" (u32.const 0xffffffff)) (bool.const true))

;; u8: upper 24 bits are discarded
(assert_return (invoke "to-u8" (u32.const 0)) (u8.const 0))
(assert_return (invoke "to-u8" (u32.const 0xff)) (u8.const 255))
(assert_return (invoke "to-u8" (u32.const 0x1ff)) (u8.const 0xff))
(assert_return (invoke "to-u8" (u32.const 0x100)) (u8.const 0))
(assert_return (invoke "to-u8" (u32.const 0xffffff7f)) (u8.const 0x7f))

;; s8: wrap to 8 bits, then sign-extend
(assert_return (invoke "to-s8" (u32.const 0x7f)) (s8.const 127))
(assert_return (invoke "to-s8" (u32.const 0x80)) (s8.const -128))
(assert_return (invoke "to-s8" (u32.const 0xff)) (s8.const -1))
(assert_return (invoke "to-s8" (u32.const 0x17f)) (s8.const 127))
(assert_return (invoke "to-s8" (u32.const 0xffffff80)) (s8.const -128))
(assert_return (invoke "to-s8" (u32.const 0x12345600)) (s8.const 0))

;; u16 / s16
(assert_return (invoke "to-u16" (u32.const 0xffff)) (u16.const 65535))
(assert_return (invoke "to-u16" (u32.const 0x1ffff)) (u16.const 0xffff))
(assert_return (invoke "to-u16" (u32.const 0xabcd1234)) (u16.const 0x1234))
(assert_return (invoke "to-s16" (u32.const 0x7fff)) (s16.const 32767))
(assert_return (invoke "to-s16" (u32.const 0x8000)) (s16.const -32768))
(assert_return (invoke "to-s16" (u32.const 0xffff)) (s16.const -1))
(assert_return (invoke "to-s16" (u32.const 0x00017fff)) (s16.const 32767))
(assert_return (invoke "to-s16" (u32.const 0xdead8000)) (s16.const -32768))

;; s32 / s64: two's complement reinterpretation
(assert_return (invoke "to-s32" (u32.const 0x7fffffff)) (s32.const 2147483647))
(assert_return (invoke "to-s32" (u32.const 0x80000000)) (s32.const -2147483648))
(assert_return (invoke "to-s32" (u32.const 0xffffffff)) (s32.const -1))
(assert_return (invoke "to-s64" (u64.const 0x7fffffffffffffff)) (s64.const 9223372036854775807))
(assert_return (invoke "to-s64" (u64.const 0x8000000000000000)) (s64.const -9223372036854775808))
(assert_return (invoke "to-s64" (u64.const 0xffffffffffffffff)) (s64.const -1))

;; char: valid scalar values at every boundary
(assert_return (invoke "to-char" (u32.const 0)) (char.const "\00"))
(assert_return (invoke "to-char" (u32.const 0x41)) (char.const "A"))
(assert_return (invoke "to-char" (u32.const 0xD7FF)) (char.const "\u{D7FF}"))
(assert_return (invoke "to-char" (u32.const 0xE000)) (char.const "\u{E000}"))
(assert_return (invoke "to-char" (u32.const 0x1F600)) (char.const "\u{1F600}"))
(assert_return (invoke "to-char" (u32.const 0x10FFFF)) (char.const "\u{10FFFF}"))

;; f32 / f64: non-NaN bit patterns are preserved exactly
(assert_return (invoke "to-f32" (u32.const 0x00000000)) (tuple.const (f32.const 0)))
(assert_return (invoke "to-f32" (u32.const 0x80000000)) (tuple.const (f32.const -0)))
(assert_return (invoke "to-f32" (u32.const 0x7f800000)) (tuple.const (f32.const inf)))
(assert_return (invoke "to-f32" (u32.const 0xff800000)) (tuple.const (f32.const -inf)))
(assert_return (invoke "to-f32" (u32.const 0x3fc00000)) (tuple.const (f32.const 1.5)))
(assert_return (invoke "to-f32" (u32.const 0x00000001)) (tuple.const (f32.const 0x1p-149)))
(assert_return (invoke "to-f32" (u32.const 0x7f7fffff)) (tuple.const (f32.const 0x1.fffffep+127)))
(assert_return (invoke "to-f64" (u64.const 0x0000000000000000)) (tuple.const (f64.const 0)))
(assert_return (invoke "to-f64" (u64.const 0x8000000000000000)) (tuple.const (f64.const -0)))
(assert_return (invoke "to-f64" (u64.const 0x7ff0000000000000)) (tuple.const (f64.const inf)))
(assert_return (invoke "to-f64" (u64.const 0xfff0000000000000)) (tuple.const (f64.const -inf)))
(assert_return (invoke "to-f64" (u64.const 0xc004000000000000)) (tuple.const (f64.const -2.5)))
(assert_return (invoke "to-f64" (u64.const 0x0000000000000001)) (tuple.const (f64.const 0x1p-1074)))

;; ---------------------------------------------------------------------------
;; char results outside the Unicode scalar value range trap on lift.
(component definition $CharTraps
  (core module $M
    (func (export "id32") (param i32) (result i32) local.get 0))
  (core instance $m (instantiate $M))
  (func (export "to-char") (param "x" u32) (result char) (canon lift (core func $m "id32")))
)
(component instance $ct1 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0xD800)) "out of range for `char`")
(component instance $ct2 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0xDBFF)) "out of range for `char`")
(component instance $ct3 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0xDC00)) "out of range for `char`")
(component instance $ct4 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0xDFFF)) "out of range for `char`")
(component instance $ct5 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0x110000)) "out of range for `char`")
(component instance $ct6 $CharTraps)
(assert_trap (invoke "to-char" (u32.const 0xffffffff)) "out of range for `char`")

;; ---------------------------------------------------------------------------
;; Parameters: the host value is lowered to a core i32/i64, which the core
;; function returns unchanged as a u32/u64 so the exact core bits are visible.
(component
  (core module $M
    (func (export "id32") (param i32) (result i32) local.get 0)
    (func (export "id64") (param i64) (result i64) local.get 0)
    (func (export "f32-bits") (param f32) (result i32) local.get 0 i32.reinterpret_f32)
    (func (export "f64-bits") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
    (func (export "f32-isnan") (param f32) (result i32) (f32.ne (local.get 0) (local.get 0)))
    (func (export "f64-isnan") (param f64) (result i32) (f64.ne (local.get 0) (local.get 0)))
  )
  (core instance $m (instantiate $M))
  (func (export "from-bool") (param "x" bool) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-u8") (param "x" u8) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-s8") (param "x" s8) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-u16") (param "x" u16) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-s16") (param "x" s16) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-s32") (param "x" s32) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-u32") (param "x" u32) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-s64") (param "x" s64) (result u64) (canon lift (core func $m "id64")))
  (func (export "from-u64") (param "x" u64) (result u64) (canon lift (core func $m "id64")))
  (func (export "from-char") (param "x" char) (result u32) (canon lift (core func $m "id32")))
  (func (export "from-f32") (param "x" (tuple f32)) (result u32) (canon lift (core func $m "f32-bits")))
  (func (export "from-f64") (param "x" (tuple f64)) (result u64) (canon lift (core func $m "f64-bits")))
  (func (export "f32-isnan") (param "x" (tuple f32)) (result bool) (canon lift (core func $m "f32-isnan")))
  (func (export "f64-isnan") (param "x" (tuple f64)) (result bool) (canon lift (core func $m "f64-isnan")))
)
(assert_return (invoke "from-bool" (bool.const false)) (u32.const 0))
(assert_return (invoke "from-bool" (bool.const true)) (u32.const 1))
(assert_return (invoke "from-u8" (u8.const 0)) (u32.const 0))
(assert_return (invoke "from-u8" (u8.const 255)) (u32.const 0xff))
(assert_return (invoke "from-s8" (s8.const 127)) (u32.const 0x7f))
(assert_return (invoke "from-s8" (s8.const -1)) (u32.const 0xffffffff))
(assert_return (invoke "from-s8" (s8.const -128)) (u32.const 0xffffff80))
(assert_return (invoke "from-u16" (u16.const 65535)) (u32.const 0xffff))
(assert_return (invoke "from-s16" (s16.const -1)) (u32.const 0xffffffff))
(assert_return (invoke "from-s16" (s16.const -32768)) (u32.const 0xffff8000))
(assert_return (invoke "from-s16" (s16.const 32767)) (u32.const 0x7fff))
(assert_return (invoke "from-s32" (s32.const -2147483648)) (u32.const 0x80000000))
(assert_return (invoke "from-s32" (s32.const -1)) (u32.const 0xffffffff))
(assert_return (invoke "from-u32" (u32.const 4294967295)) (u32.const 0xffffffff))
(assert_return (invoke "from-s64" (s64.const -1)) (u64.const 0xffffffffffffffff))
(assert_return (invoke "from-s64" (s64.const -9223372036854775808)) (u64.const 0x8000000000000000))
(assert_return (invoke "from-u64" (u64.const 18446744073709551615)) (u64.const 0xffffffffffffffff))
(assert_return (invoke "from-char" (char.const "\00")) (u32.const 0))
(assert_return (invoke "from-char" (char.const "\u{D7FF}")) (u32.const 0xD7FF))
(assert_return (invoke "from-char" (char.const "\u{E000}")) (u32.const 0xE000))
(assert_return (invoke "from-char" (char.const "\u{10FFFF}")) (u32.const 0x10FFFF))
(assert_return (invoke "from-char" (char.const "é")) (u32.const 0xE9))
(assert_return (invoke "from-f32" (tuple.const (f32.const -0))) (u32.const 0x80000000))
(assert_return (invoke "from-f32" (tuple.const (f32.const inf))) (u32.const 0x7f800000))
(assert_return (invoke "from-f32" (tuple.const (f32.const -inf))) (u32.const 0xff800000))
(assert_return (invoke "from-f32" (tuple.const (f32.const 1.5))) (u32.const 0x3fc00000))
(assert_return (invoke "from-f64" (tuple.const (f64.const -0))) (u64.const 0x8000000000000000))
(assert_return (invoke "from-f64" (tuple.const (f64.const -inf))) (u64.const 0xfff0000000000000))
(assert_return (invoke "from-f64" (tuple.const (f64.const -2.5))) (u64.const 0xc004000000000000))
(assert_return (invoke "f32-isnan" (tuple.const (f32.const nan))) (bool.const true))
(assert_return (invoke "f32-isnan" (tuple.const (f32.const nan:0x200001))) (bool.const true))
(assert_return (invoke "f32-isnan" (tuple.const (f32.const inf))) (bool.const false))
(assert_return (invoke "f64-isnan" (tuple.const (f64.const -nan))) (bool.const true))
(assert_return (invoke "f64-isnan" (tuple.const (f64.const -inf))) (bool.const false))

;; ---------------------------------------------------------------------------
;; Component-to-component: $Callee lifts values from garbage-laden core
;; results; the caller lowers them into its own core code, which sees the
;; clean canonical core representation.
(component
  (component $Callee
    (core module $M
      ;; each function returns a value whose upper bits are garbage
      (func (export "u8") (result i32) (i32.const 0xabcdef80))
      (func (export "s8") (result i32) (i32.const 0x00000080))
      (func (export "u16") (result i32) (i32.const 0xffff8001))
      (func (export "s16") (result i32) (i32.const 0x12348001))
      (func (export "bool") (result i32) (i32.const 0x100))
      (func (export "nan32") (result f32) (f32.reinterpret_i32 (i32.const 0x7fa00001)))
      (func (export "nan64") (result f64) (f64.reinterpret_i64 (i64.const 0xfff0000000000001)))
      (func (export "char") (param i32) (result i32) local.get 0)
    )
    (core instance $m (instantiate $M))
    (func (export "u8") (result u8) (canon lift (core func $m "u8")))
    (func (export "s8") (result s8) (canon lift (core func $m "s8")))
    (func (export "u16") (result u16) (canon lift (core func $m "u16")))
    (func (export "s16") (result s16) (canon lift (core func $m "s16")))
    (func (export "bool") (result bool) (canon lift (core func $m "bool")))
    (func (export "nan32") (result f32) (canon lift (core func $m "nan32")))
    (func (export "nan64") (result f64) (canon lift (core func $m "nan64")))
    (func (export "char") (param "x" u32) (result char) (canon lift (core func $m "char")))
  )
  (instance $callee (instantiate $Callee))
  (core func $u8 (canon lower (func $callee "u8")))
  (core func $s8 (canon lower (func $callee "s8")))
  (core func $u16 (canon lower (func $callee "u16")))
  (core func $s16 (canon lower (func $callee "s16")))
  (core func $bool (canon lower (func $callee "bool")))
  (core func $nan32 (canon lower (func $callee "nan32")))
  (core func $nan64 (canon lower (func $callee "nan64")))
  (core func $char (canon lower (func $callee "char")))
  (core module $Caller
    (import "c" "u8" (func $u8 (result i32)))
    (import "c" "s8" (func $s8 (result i32)))
    (import "c" "u16" (func $u16 (result i32)))
    (import "c" "s16" (func $s16 (result i32)))
    (import "c" "bool" (func $bool (result i32)))
    (import "c" "nan32" (func $nan32 (result f32)))
    (import "c" "nan64" (func $nan64 (result f64)))
    (import "c" "char" (func $char (param i32) (result i32)))
    (func (export "u8") (result i32) (call $u8))
    (func (export "s8") (result i32) (call $s8))
    (func (export "u16") (result i32) (call $u16))
    (func (export "s16") (result i32) (call $s16))
    (func (export "bool") (result i32) (call $bool))
    (func (export "nan32") (result i32) (local f32) (local.set 0 (call $nan32)) (f32.ne (local.get 0) (local.get 0)))
    (func (export "nan64") (result i32) (local f64) (local.set 0 (call $nan64)) (f64.ne (local.get 0) (local.get 0)))
    (func (export "char") (param i32) (result i32) (call $char (local.get 0)))
  )
  (core instance $caller (instantiate $Caller (with "c" (instance
    (export "u8" (func $u8))
    (export "s8" (func $s8))
    (export "u16" (func $u16))
    (export "s16" (func $s16))
    (export "bool" (func $bool))
    (export "nan32" (func $nan32))
    (export "nan64" (func $nan64))
    (export "char" (func $char))
  ))))
  ;; every result is re-lifted as a u32 so the caller's core view is visible
  (func (export "u8") (result u32) (canon lift (core func $caller "u8")))
  (func (export "s8") (result u32) (canon lift (core func $caller "s8")))
  (func (export "u16") (result u32) (canon lift (core func $caller "u16")))
  (func (export "s16") (result u32) (canon lift (core func $caller "s16")))
  (func (export "bool") (result u32) (canon lift (core func $caller "bool")))
  (func (export "nan32") (result u32) (canon lift (core func $caller "nan32")))
  (func (export "nan64") (result u32) (canon lift (core func $caller "nan64")))
  (func (export "char") (param "x" u32) (result u32) (canon lift (core func $caller "char")))
)
(assert_return (invoke "u8") (u32.const 0x80))
(assert_return (invoke "s8") (u32.const 0xffffff80))
(assert_return (invoke "u16") (u32.const 0x8001))
(assert_return (invoke "s16") (u32.const 0xffff8001))
(assert_return (invoke "bool") (u32.const 1))
(assert_return (invoke "nan32") (u32.const 1))
(assert_return (invoke "nan64") (u32.const 1))
(assert_return (invoke "char" (u32.const 0x10FFFF)) (u32.const 0x10FFFF))
(assert_return (invoke "char" (u32.const 0xE000)) (u32.const 0xE000))
;; an invalid char produced by the callee traps before reaching the caller
(assert_trap (invoke "char" (u32.const 0xDFFF)) "invalid `char` bit pattern")

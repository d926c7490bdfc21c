;; Validation errors worded as wasmparser words them (what `wasmtime wast` 49 and
;; `wasm-tools validate` report); assert_invalid matches the text as a substring.
;; Reference: wasmtime 49 `wasmtime wast -W component-model=y tests/wast/validation-messages.wast`

;; A second string encoding: the first one given is named first, latin1+utf16 as `latin1-utf16`.
(assert_invalid
  (component
    (import "g" (func $g (param "s" string)))
    (core func (canon lower (func $g) string-encoding=utf16 string-encoding=utf8)))
  "canonical encoding option `utf16` conflicts with option `utf8`")
(assert_invalid
  (component
    (import "g" (func $g (param "s" string)))
    (core func (canon lower (func $g) string-encoding=latin1+utf16 string-encoding=utf16)))
  "canonical encoding option `latin1-utf16` conflicts with option `utf16`")

;; Enum tags that differ only in case.
(assert_invalid
  (component (type (enum "red" "green" "RED")))
  "enum tag name `RED` conflicts with previous tag name `red`")

;; An instantiation argument that does not match: the import it is given for, then why,
;; through instance exports, function parameters and handles.
(assert_invalid
  (component
    (import "i" (instance $i (export "a" (func))))
    (component $c (import "i" (instance (export "a" (component)))))
    (instance (instantiate $c (with "i" (instance $i)))))
  "type mismatch in instance export `a`")
(assert_invalid
  (component
    (import "i" (instance $i (export "a" (func (param "x" u8)))))
    (component $c (import "i" (instance (export "a" (func (param "x" u16))))))
    (instance (instantiate $c (with "i" (instance $i)))))
  "type mismatch in function parameter `x`")
(assert_invalid
  (component
    (import "r1" (type $r1 (sub resource)))
    (import "r2" (type $r2 (sub resource)))
    (import "f" (func $f (param "h" (own $r2))))
    (component $c
      (import "r" (type $r (sub resource)))
      (import "f" (func (param "h" (own $r)))))
    (instance (instantiate $c (with "r" (type $r1)) (with "f" (func $f)))))
  "resource types are not the same")
(assert_invalid
  (component
    (type $t (list u8))
    (import "r" (type $r (sub resource)))
    (component $c (type $u (list u8)) (import "t" (type (eq $u))))
    (instance (instantiate $c (with "t" (type $r)))))
  "expected defined type, found resource")
(assert_invalid
  (component
    (component $c (import "x" (func)) (import "y" (func)))
    (import "x" (func $x))
    (instance (instantiate $c (with "x" (func $x)))))
  "missing import named `y`")

;; A core instance given for a module's imports: the export, the argument, then the types as
;; wasmparser prints them.
(assert_invalid
  (component
    (core module $m1 (import "" "f" (func (param i32 i64) (result f32))))
    (core module $m2 (func (export "f") (param i32 f64) unreachable))
    (core instance $i (instantiate $m2))
    (core instance (instantiate $m1 (with "" (instance $i)))))
  "expected: (func (param i32 i64) (result f32))")
(assert_invalid
  (component
    (core module $m1 (import "a" "g" (global (mut i32))))
    (core module $m2 (global (export "g") i64 (i64.const 0)))
    (core instance $i (instantiate $m2))
    (core instance (instantiate $m1 (with "a" (instance $i)))))
  "global types differ in mutability")
(assert_invalid
  (component
    (core module $m1 (import "a" "g" (global i32)))
    (core module $m2 (func (export "g")))
    (core instance $i (instantiate $m2))
    (core instance (instantiate $m1 (with "a" (instance $i)))))
  "expected global, found func")

;; Export ascription.
(assert_invalid
  (component
    (import "f" (instance $i))
    (export "f2" (instance $i) (instance (export "f" (func)))))
  "ascribed type of export is not compatible with item's type")
(assert_invalid
  (component
    (type $t (list u8))
    (export "t" (type $t) (type (sub resource))))
  "expected resource, found defined type")

;; Annotated names ([constructor], [method], [static]): "<kind> name `x` is not valid", then
;; why on the next line, checked in wasmparser's order.
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[method]r.go" (instance)))
  "import name `[method]r.go` is not valid\nitem is not a func")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[constructor]r" (func)))
  "import name `[constructor]r` is not valid\nfunction should return one value")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[constructor]r" (func (result u32))))
  "function should return `(own $T)` or `(result (own $T))`")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[method]r.go" (func)))
  "import name `[method]r.go` is not valid\nfunction should have at least one argument")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[method]r.go" (func (param "this" (borrow $r)))))
  "function should have a first argument called `self`")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[method]r.go" (func (param "self" (own $r)))))
  "function should take a first argument of `(borrow $T)`")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "s" (type $s (sub resource)))
    (import "[method]r.go" (func (param "self" (borrow $s)))))
  "import name `[method]r.go` is not valid\nfunction does not match expected resource name `s`")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[static]s.make" (func)))
  "import name `[static]s.make` is not valid\nstatic resource name is not known in this context")
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "f" (func $f (result (own $r))))
    (export "[constructor]r" (func $f)))
  "export name `[constructor]r` is not valid\nresource used in function does not have a name in this context")
;; The name is judged before it is counted: a bad duplicate reports the bad name.
(assert_invalid
  (component
    (import "r" (type $r (sub resource)))
    (import "[static]r.a" (func))
    (import "[static]s.a" (func)))
  "static resource name is not known in this context")
;; Valid: each annotation names the resource it uses.
(component
  (type (component
    (import "r" (type $r (sub resource)))
    (import "[constructor]r" (func (result (result (own $r)))))
    (import "[method]r.get" (func (param "self" (borrow $r)) (result u32)))
    (import "[static]r.make" (func (result (own $r))))
    (export "r2" (type $r2 (sub resource)))
    (export "[static]r2.make" (func (result (own $r2)))))))

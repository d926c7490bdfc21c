;; Why an instantiation argument does not match the import it is given for, in wasmparser's
;; words (what `wasmtime wast` 49 and `wasm-tools validate` report).
;; Reference: wasmtime 49 `wasmtime wast tests/wast/type-mismatch.wast`

(assert_invalid
  (component
    (component $c (type $t (list u8)) (import "t" (type (eq $t))))
    (type $a (list s8))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected primitive `u8` found primitive `s8`")
(assert_invalid
  (component
    (component $c (type $t bool) (import "t" (type (eq $t))))
    (type $a (enum "no" "yes"))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected primitive, found enum")
(assert_invalid
  (component
    (component $c (type $t (record (field "p" u16) (field "q" u16))) (import "t" (type (eq $t))))
    (type $a (record (field "p" u16)))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected 2 fields, found 1")
(assert_invalid
  (component
    (component $c (type $t (record (field "p" u16))) (import "t" (type (eq $t))))
    (type $a (record (field "r" u16)))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected field name `p`, found `r`")
(assert_invalid
  (component
    (component $c (type $t (variant (case "a" u8) (case "b"))) (import "t" (type (eq $t))))
    (type $a (variant (case "a") (case "b")))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected case `a` to have a type, found none")
(assert_invalid
  (component
    (component $c (type $t (tuple u8 (tuple u8 u8))) (import "t" (type (eq $t))))
    (type $a (tuple u8 (tuple u8 string)))
    (instance (instantiate $c (with "t" (type $a)))))
  "type mismatch in tuple field 1")
(assert_invalid
  (component
    (component $c (type $t (result u8)) (import "t" (type (eq $t))))
    (type $a (result u8 (error u8)))
    (instance (instantiate $c (with "t" (type $a)))))
  "expected err type to not be present")
(assert_invalid
  (component
    (component $c (type $t (flags "x" "y")) (import "t" (type (eq $t))))
    (type $a (flags "x" "z"))
    (instance (instantiate $c (with "t" (type $a)))))
  "mismatch in flags elements")
(assert_invalid
  (component
    (import "f" (func $f (param "n" u32)))
    (component $c (import "f" (func (param "m" u32))))
    (instance (instantiate $c (with "f" (func $f)))))
  "expected parameter named `m`, found `n`")
(assert_invalid
  (component
    (import "f" (func $f (param "n" u32) (result u64)))
    (component $c (import "f" (func (param "n" u32) (result u32))))
    (instance (instantiate $c (with "f" (func $f)))))
  "type mismatch with result type")
(assert_invalid
  (component
    (import "f" (func $f))
    (component $c (import "f" (func (result string))))
    (instance (instantiate $c (with "f" (func $f)))))
  "expected no result, found one")

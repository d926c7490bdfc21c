;; validation.wast -- static validation of components (Explainer.md, Binary.md,
;; CanonicalABI.md "canon lift"/"canon lower" validation rules).
;;
;; Pins, as assert_invalid: canon option rules (duplicates, realloc/memory
;; requirements, post-return typing and placement, async only on async func
;; types, realloc signature), lifted core function signatures, index bounds,
;; kebab-case and unique names (case-insensitive), borrow only in params,
;; no stream<char>, own/borrow only of resources, destructor signature,
;; resource built-ins only for local resources, exported types/funcs may not
;; mention private types, outer alias bounds and resource capture, non-empty
;; records/variants/tuples/flags, at most 32 flags.
;; Then assert_malformed cases for the binary format: bad magic, bad
;; version/layer, unknown section id, truncated section.
;;
;; The expected texts are substrings of Wasmtime 49's messages.

;; a canon option may appear at most once
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (memory $mem) (realloc $realloc))))
  "canonical option `memory` is specified more than once")

;; at most one string-encoding
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (realloc $realloc) string-encoding=utf8 string-encoding=utf16)))
  "conflicts with option")

;; realloc needs memory
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f") (realloc $realloc))))
  "`realloc` requires `memory`")

;; lifting a string param needs memory
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f"))))
  "canonical option `memory` is required")

;; lifting a string param needs realloc (the caller allocates in the callee)
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem))))
  "canonical option `realloc` is required")

;; lifting a list result needs memory
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (result (list u8)) (canon lift (core func $m "g"))))
  "canonical option `memory` is required")

;; post-return must take the flat results and return nothing
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (result u32) (canon lift (core func $m "g") (post-return (core func $m "post-i64")))))
  "`post-return` uses a core function with an incorrect signature")

;; post-return is lift-only
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func $g (result u32) (canon lift (core func $m "g")))
    (core func (canon lower (func $g) (post-return (core func $m "post-i32")))))
  "`post-return` cannot be specified for lowerings")

;; post-return is sync-only
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") async (result u32) (canon lift (core func $m "async-g") async (callback (core func $m "cb")) (post-return (core func $m "post-i32")))))
  "cannot specify post-return function in async")

;; async options need a `func async` type
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (result u32) (canon lift (core func $m "async-g") async (callback (core func $m "cb")))))
  "requires an async function type")

;; core result type must be the flattened result type
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (result u64) (canon lift (core func $m "g"))))
  "do not match result types")

;; core param types must be the flattened param types
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (param "x" u32) (result u32) (canon lift (core func $m "g"))))
  "do not match parameter types")

;; realloc must be (i32 i32 i32 i32) -> i32
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "f") (param "s" string) (canon lift (core func $m "f") (memory $mem) (realloc (core func $m "post-i32")))))
  "`realloc` uses a core function with an incorrect signature")

;; type index out of range
(assert_invalid
  (component
    (type (func))
    (import "f" (func (type 99))))
  "type index out of bounds")

;; component function index out of range
(assert_invalid
  (component
    (export "f" (func 99)))
  "function index out of bounds")

;; core function index out of range
(assert_invalid
  (component
    (func (canon lift (core func 7))))
  "function index out of bounds")

;; instance index out of range
(assert_invalid
  (component
    (alias export 3 "f" (func)))
  "instance index out of bounds")

;; export names must be kebab-case
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "Not_Kebab") (result u32) (canon lift (core func $m "g"))))
  "is not in kebab case")

;; import names must be kebab-case
(assert_invalid
  (component
    (import "a b" (func)))
  "is not in kebab case")

;; param names must be kebab-case (no trailing hyphen)
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func (export "g") (param "x-" u32) (result u32) (canon lift (core func $m "g"))))
  "is not in kebab case")

;; record field names must be kebab-case
(assert_invalid
  (component
    (type (record (field "fooBar" u8))))
  "is not in kebab case")

;; export names must be unique
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func $g (result u32) (canon lift (core func $m "g")))
    (export "g" (func $g))
    (export "g" (func $g)))
  "conflicts with previous name")

;; names are compared case-insensitively
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (func $g (result u32) (canon lift (core func $m "g")))
    (export "g-x" (func $g))
    (export "G-X" (func $g)))
  "conflicts with previous name")

;; import names must be unique
(assert_invalid
  (component
    (import "f" (func))
    (import "f" (func (param "x" u32))))
  "conflicts with previous name")

;; param names must be unique
(assert_invalid
  (component
    (import "f" (func (param "x" u32) (param "x" u32))))
  "conflicts with previous parameter name")

;; field names must be unique
(assert_invalid
  (component
    (type (record (field "a" u8) (field "a" u16))))
  "conflicts with previous field name")

;; borrow may not appear in results
(assert_invalid
  (component
    (type $R (resource (rep i32)))
    (type (func (result (borrow $R)))))
  "function result cannot contain a `borrow` type")

;; ... not even nested
(assert_invalid
  (component
    (type $R (resource (rep i32)))
    (type (func (result (list (borrow $R))))))
  "function result cannot contain a `borrow` type")

;; stream<char> is not allowed
(assert_invalid
  (component
    (type (stream char)))
  "`stream<char>` is not valid")

;; own needs a resource type
(assert_invalid
  (component
    (type $T u32)
    (type (own $T)))
  "is not a resource type")

;; borrow needs a resource type
(assert_invalid
  (component
    (type $T (record (field "a" u8)))
    (type (borrow $T)))
  "is not a resource type")

;; a destructor is (func (param i32))
(assert_invalid
  (component
    (core module $M (func (export "d") (param i64)))
    (core instance $m (instantiate $M))
    (type (resource (rep i32) (dtor (core func $m "d")))))
  "wrong signature for a destructor")

;; an exported type may not refer to a private resource
(assert_invalid
  (component
    (type $R (resource (rep i32)))
    (type $L (list (own $R)))
    (export "l" (type $L)))
  "type not valid to be used as export")

;; an exported func may not refer to an unexported enum
(assert_invalid
  (component
    (core module $M
      (memory (export "mem") 1)
      (func (export "f") (param i32 i32))
      (func (export "g") (result i32) (i32.const 0))
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "post-i64") (param i64))
      (func (export "post-i32") (param i32))
      (func (export "cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "async-g") (result i32) (i32.const 0)))
    (core instance $m (instantiate $M))
    (alias core export $m "mem" (core memory $mem))
    (alias core export $m "realloc" (core func $realloc))
    (type $E (enum "a" "b"))
    (func (export "g") (result $E) (canon lift (core func $m "g"))))
  "func not valid to be used as export")

;; outer alias count beyond the enclosing components
(assert_invalid
  (component
    (component
      (alias outer 2 0 (type))))
  "invalid outer alias count")

;; outer alias index out of range
(assert_invalid
  (component
    (type (func))
    (component
      (alias outer 1 5 (type))))
  "type index out of bounds")

;; outer aliases may not capture resource types
(assert_invalid
  (component
    (type $R (resource (rep i32)))
    (component
      (alias outer 1 $R (type))))
  "refers to resources not defined in the current component")

;; records must be non-empty
(assert_invalid
  (component
    (type (record)))
  "must have at least one field")

;; variants must be non-empty
(assert_invalid
  (component
    (type (variant)))
  "must have at least one case")

;; tuples must be non-empty
(assert_invalid
  (component
    (type (tuple)))
  "must have at least one type")

;; flags must be non-empty
(assert_invalid
  (component
    (type (flags)))
  "must have at least one entry")

;; at most 32 flags
(assert_invalid
  (component
    (type (flags "f0" "f1" "f2" "f3" "f4" "f5" "f6" "f7" "f8" "f9" "f10" "f11" "f12" "f13" "f14" "f15" "f16" "f17" "f18" "f19" "f20" "f21" "f22" "f23" "f24" "f25" "f26" "f27" "f28" "f29" "f30" "f31" "f32")))
  "cannot have more than 32 flags")

;; resource.new only for locally defined resources
(assert_invalid
  (component
    (import "r" (type $R (sub resource)))
    (core func (canon resource.new $R)))
  "is not a local resource")

;; resource.rep only for locally defined resources
(assert_invalid
  (component
    (import "r" (type $R (sub resource)))
    (core func (canon resource.rep $R)))
  "is not a local resource")

;; resource.drop needs a resource type
(assert_invalid
  (component
    (type $T u32)
    (core func (canon resource.drop $T)))
  "is not a resource type")

;; ---------------------------------------------------------------------------
;; Binary format. A component header is "\00asm" followed by version 0x0d
;; and layer 0x01, each a u16 little-endian.

;; the smallest valid component: header only
(component binary "\00asm" "\0d\00\01\00")

;; bad magic. Wasmtime treats input without the "\00asm" magic as text and
;; reports a text parse error, hence the odd expected message.
(assert_malformed
  (component binary "\00asn" "\0d\00\01\00")
  "unexpected character")
(assert_malformed
  (component binary "\00asm" "\0c\00\01\00")
  "unknown binary version")
(assert_malformed
  (component binary "\00asm")
  "unexpected end-of-file")
(assert_malformed
  (component binary "\00asm" "\0d\00\01\00" "\7f\00")
  "malformed section id")
(assert_malformed
  (component binary "\00asm" "\0d\00\01\00" "\07\05\00")
  "unexpected end-of-file")
;; an unknown layer
(assert_malformed
  (component binary "\00asm" "\0d\00\02\00")
  "unknown binary version")

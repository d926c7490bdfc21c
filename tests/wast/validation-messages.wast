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

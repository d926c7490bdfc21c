;; Import and export names that are not valid extern names, with wasmparser's wording
;; (what `wasmtime wast` 49 and `wasm-tools validate` report).
;; Reference: wasmtime 49 `wasmtime wast tests/wast/extern-names.wast`

;; a name without a namespace is read as a plain label
(assert_invalid (component (import "pkg/iface" (func))) "`pkg/iface` is not in kebab case")
;; empty segments
(assert_invalid (component (import "ns:" (func))) "`` is not in kebab case")
(assert_invalid (component (import "ns:/" (func))) "`` is not in kebab case")
(assert_invalid (component (import "ns:pkg/" (func))) "`` is not in kebab case")
(assert_invalid (component (import "ns:pkg" (func))) "expected `/` after package name")
(assert_invalid (component (import "Ns:pkg/i" (func))) "is not a valid extern name")
;; versions, worded as the semver crate does
(assert_invalid (component (import "ns:pkg/i@" (func)))
  "invalid interface version: empty string, expected a semver version")
(assert_invalid (component (import "ns:pkg/i@x.1.0" (func)))
  "unexpected character 'x' while parsing major version number")
(assert_invalid (component (import "ns:pkg/i@2." (func)))
  "unexpected end of input while parsing minor version number")
(assert_invalid (component (import "ns:pkg/i@1.2" (func)))
  "unexpected end of input while parsing minor version number")
(assert_invalid (component (import "ns:pkg/i@00.1.0" (func)))
  "invalid leading zero in major version number")
(assert_invalid (component (import "ns:pkg/i@1.2.3y" (func)))
  "unexpected character 'y' after patch version number")
(assert_invalid (component (import "ns:pkg/i@3z" (func)))
  "unexpected character 'z' after major version number")
(assert_invalid (component (import "ns:pkg/i@1.0.0-" (func)))
  "empty identifier segment in pre-release identifier")
(assert_invalid (component (import "ns:pkg/i@1.0.0-rc.02" (func)))
  "invalid leading zero in pre-release identifier")
(assert_invalid (component (import "ns:pkg/i@1.0.0+" (func)))
  "empty identifier segment in build metadata")
;; valid ones (in a component type, so that nothing needs to be linked)
(component (type (component (import "ns:pkg/i@1.0.0-rc.1+build.5" (func)))))
(component (type (component (import "ns:pkg/i@0.3.0" (func)))))

"""Generates sync-blocking.wast: when a synchronous task may block (`python3 gen/sync_blocking.py
> sync-blocking.wast`). Expectations were learned by running every case under Wasmtime 49."""


CALLEES = {
  # name: (async-typed?, lift kind, core funcs)
  "sync": (False, "sync"),
  "cb-yield": (True, "cb"),
  "cb-after-yield": (True, "cb"),
  "cb-after-wait": (True, "cb"),
  "stackful-yield": (True, "stackful"),
  "stackful-after-yield": (True, "stackful"),
}
CALLERS = ["S", "A"]   # sync-typed sync-lifted; async-typed sync-lifted
LOWERS = ["sync", "async"]

def callee_component() -> str:
    return r'''  (component $C
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (core func $ret (canon task.return (result u32)))
    (core func $yield (canon thread.yield))
    (core func $wsnew (canon waitable-set.new))
    (core module $M
      (import "" "ret" (func $ret (param i32)))
      (import "" "yield" (func $yield (result i32)))
      (import "" "wsnew" (func $wsnew (result i32)))
      (func (export "sync") (result i32) (i32.const 42))
      (func (export "cb-yield") (result i32) (i32.const 1))
      (func (export "cb-yield-cb") (param i32 i32 i32) (result i32) (call $ret (i32.const 42)) (i32.const 0))
      (func (export "cb-after-yield") (result i32) (call $ret (i32.const 42)) (i32.const 1))
      (func (export "cb-after-yield-cb") (param i32 i32 i32) (result i32) (i32.const 0))
      (func (export "cb-after-wait") (result i32) (call $ret (i32.const 42))
        (i32.or (i32.const 2) (i32.shl (call $wsnew) (i32.const 4))))
      (func (export "cb-after-wait-cb") (param i32 i32 i32) (result i32) unreachable)
      (func (export "stackful-yield") (drop (call $yield)) (call $ret (i32.const 42)))
      (func (export "stackful-after-yield") (call $ret (i32.const 42)) (drop (call $yield))))
    (core instance $m (instantiate $M (with "" (instance
      (export "ret" (func $ret)) (export "yield" (func $yield)) (export "wsnew" (func $wsnew))))))
    (func (export "sync") (result u32) (canon lift (core func $m "sync")))
    (func (export "cb-yield") async (result u32) (canon lift (core func $m "cb-yield") async (callback (core func $m "cb-yield-cb"))))
    (func (export "cb-after-yield") async (result u32) (canon lift (core func $m "cb-after-yield") async (callback (core func $m "cb-after-yield-cb"))))
    (func (export "cb-after-wait") async (result u32) (canon lift (core func $m "cb-after-wait") async (callback (core func $m "cb-after-wait-cb"))))
    (func (export "stackful-yield") async (result u32) (canon lift (core func $m "stackful-yield") async))
    (func (export "stackful-after-yield") async (result u32) (canon lift (core func $m "stackful-after-yield") async)))
  (instance $c (instantiate $C))
'''

def driver(callee: str) -> str:
    at = CALLEES[callee][0]
    ft = "async (result u32)" if at else "(result u32)"
    fa = ('(core func $fa (canon lower (func $f) async (memory (core memory $mem "mem"))))' if at
          else '(core module $Stub (func (export "fa") (param i32) (result i32) unreachable))\n'
               '    (core instance $stub (instantiate $Stub))\n    (alias core export $stub "fa" (core func $fa))')
    return f'''  (component $D
    (import "f" (func $f {ft}))
    (core module $Mem (memory (export "mem") 1))
    (core instance $mem (instantiate $Mem))
    (core func $fs (canon lower (func $f)))
    {fa}
    (core func $wsnew (canon waitable-set.new))
    (core func $join (canon waitable.join))
    (core func $wait (canon waitable-set.wait (memory (core memory $mem "mem"))))
    (core func $sdrop (canon subtask.drop))
    (core module $M
      (import "" "mem" (memory 1))
      (import "" "fs" (func $fs (result i32)))
      (import "" "fa" (func $fa (param i32) (result i32)))
      (import "" "wsnew" (func $wsnew (result i32)))
      (import "" "join" (func $join (param i32 i32)))
      (import "" "wait" (func $wait (param i32 i32) (result i32)))
      (import "" "sdrop" (func $sdrop (param i32)))
      (func (export "sync") (result i32) (call $fs))
      (func (export "async") (result i32) (local $st i32) (local $ws i32)
        (local.set $st (call $fa (i32.const 0x100)))
        (if (i32.ne (local.get $st) (i32.const 2))
          (then
            (local.set $ws (call $wsnew))
            (call $join (i32.shr_u (local.get $st) (i32.const 4)) (local.get $ws))
            (drop (call $wait (local.get $ws) (i32.const 0x200)))
            (call $sdrop (i32.shr_u (local.get $st) (i32.const 4)))))
        (i32.load (i32.const 0x100))))
    (core instance $m (instantiate $M (with "" (instance
      (export "mem" (memory $mem "mem")) (export "fs" (func $fs)) (export "fa" (func $fa))
      (export "wsnew" (func $wsnew)) (export "join" (func $join)) (export "wait" (func $wait))
      (export "sdrop" (func $sdrop))))))
    (func (export "S-sync") (result u32) (canon lift (core func $m "sync")))
    (func (export "S-async") (result u32) (canon lift (core func $m "async")))
    (func (export "A-sync") async (result u32) (canon lift (core func $m "sync")))
    (func (export "A-async") async (result u32) (canon lift (core func $m "async"))))
  (instance $d (instantiate $D (with "f" (func $c "{callee}"))))
'''

def case(callee: str, caller: str, lower: str, expect: str | None) -> str:
    name = f"{caller}-{lower}"
    body = f"(component\n{callee_component()}{driver(callee)}  (export \"run\" (func $d \"{name}\")))"
    if expect is None:
        return f"(component definition $T\n{body[len('(component'):]}\n(component instance $t $T)\n(assert_return (invoke \"run\") (u32.const 42))\n"
    if expect == "ok":
        return f"(component definition $T\n{body[len('(component'):]}\n(component instance $t $T)\n(assert_return (invoke \"run\") (u32.const 42))\n"
    return f"(component definition $T\n{body[len('(component'):]}\n(component instance $t $T)\n(assert_trap (invoke \"run\") \"{expect}\")\n"

BODY = {
 "stream-read-ready": """(local $s i64) (local $r i32) (local $w i32)
        (local.set $s (call $snew))
        (local.set $r (i32.wrap_i64 (local.get $s)))
        (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
        (i32.store (i32.const 0x10) (i32.const 0x04030201))
        (drop (call $swrite_async (local.get $w) (i32.const 0x10) (i32.const 4)))
        (call $sread (local.get $r) (i32.const 0x20) (i32.const 4))""",
 "stream-read-block": """(local $s i64)
        (local.set $s (call $snew))
        (call $sread (i32.wrap_i64 (local.get $s)) (i32.const 0x20) (i32.const 4))""",
 "stream-write-block": """(local $s i64)
        (local.set $s (call $snew))
        (call $swrite (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))) (i32.const 0x20) (i32.const 4))""",
 "future-read-block": """(local $s i64)
        (local.set $s (call $fnew))
        (call $fread (i32.wrap_i64 (local.get $s)) (i32.const 0x20))""",
 "future-read-ready": """(local $s i64) (local $r i32) (local $w i32)
        (local.set $s (call $fnew))
        (local.set $r (i32.wrap_i64 (local.get $s)))
        (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
        (i32.store (i32.const 0x10) (i32.const 9))
        (drop (call $fwrite_async (local.get $w) (i32.const 0x10)))
        (call $fread (local.get $r) (i32.const 0x20))""",
}
def stream_case(case: str, caller: str) -> str:
    ft = "async (result u32)" if caller == "A" else "(result u32)"
    return f'''(component definition $T
  (core module $Mem (memory (export "mem") 1))
  (core instance $mem (instantiate $Mem))
  (type $S (stream u8))
  (type $F (future u32))
  (core func $snew (canon stream.new $S))
  (core func $sread (canon stream.read $S (memory (core memory $mem "mem"))))
  (core func $swrite (canon stream.write $S (memory (core memory $mem "mem"))))
  (core func $swrite_async (canon stream.write $S async (memory (core memory $mem "mem"))))
  (core func $fnew (canon future.new $F))
  (core func $fread (canon future.read $F (memory (core memory $mem "mem"))))
  (core func $fwrite_async (canon future.write $F async (memory (core memory $mem "mem"))))
  (core module $M
    (import "" "mem" (memory 1))
    (import "" "snew" (func $snew (result i64)))
    (import "" "sread" (func $sread (param i32 i32 i32) (result i32)))
    (import "" "swrite" (func $swrite (param i32 i32 i32) (result i32)))
    (import "" "swrite_async" (func $swrite_async (param i32 i32 i32) (result i32)))
    (import "" "fnew" (func $fnew (result i64)))
    (import "" "fread" (func $fread (param i32 i32) (result i32)))
    (import "" "fwrite_async" (func $fwrite_async (param i32 i32) (result i32)))
    (func (export "run") (result i32) {BODY[case]}))
  (core instance $m (instantiate $M (with "" (instance (export "mem" (memory $mem "mem"))
    (export "snew" (func $snew)) (export "sread" (func $sread)) (export "swrite" (func $swrite))
    (export "swrite_async" (func $swrite_async)) (export "fnew" (func $fnew))
    (export "fread" (func $fread)) (export "fwrite_async" (func $fwrite_async))))))
  (func (export "run") {ft} (canon lift (core func $m "run"))))
(component instance $t $T)
(assert_return (invoke "run") (u32.const 12345))
'''

BLOCK = "cannot block a synchronous task before returning"
DEADLOCK = "deadlock detected"

HEADER = """\
;; sync-blocking.wast -- when a synchronous task may block (CanonicalABI.md "canon lift" /
;; "canon lower", Concurrency.md "Blocking"; definitions.py: a sync-typed task traps when it
;; would really block, the lazy `simplify` check). Generated by gen/sync_blocking.py.
;; Reference: wasmtime 49 `wasmtime wast -W component-model-async-stackful=y -W component-model-more-async-builtins=y sync-blocking.wast`
;;
;; Part 1, calls: a driver $D calls one export of a callee $C, through a sync or an async
;; lower, from a sync-typed export ("S-…", sync lift) or an async-typed export lifted without
;; `async` ("A-…"). An async lower that gets BLOCKED waits for the subtask in
;; waitable-set.wait. Callees: `sync` (sync lift), `cb-yield` (callback lift: YIELD, then
;; task.return in the callback), `cb-after-yield` / `cb-after-wait` (task.return first, then
;; YIELD, or WAIT on an empty set forever), `stackful-yield` (thread.yield, then task.return),
;; `stackful-after-yield` (task.return, then thread.yield). Every call that returns gives 42.
;;   * only a sync-typed caller whose callee has not returned yet traps (cb-yield,
;;     stackful-yield under S-sync and S-async): "cannot block a synchronous task";
;;   * a callee that keeps running after task.return (YIELD, or WAIT forever) never blocks
;;     its caller, even a sync-typed one;
;;   * async-typed callers may wait for anything.
;; Part 2, sync stream/future operations (no `async` option) in the task itself: a read
;; or write that cannot complete traps in a sync-typed task and is a deadlock in an
;; async-typed one; one that completes at once (the other end already waiting) is fine:
;; 0x40 = 4 elements COMPLETED for the stream, 0 = COMPLETED for the future.
"""

CALL_EXPECT = {
    ("cb-yield", "S"): BLOCK,
    ("stackful-yield", "S"): BLOCK,
}
STREAM_EXPECT = {
    "stream-read-ready": {"S": 0x40, "A": 0x40},
    "future-read-ready": {"S": 0, "A": 0},
    "stream-read-block": {"S": BLOCK, "A": DEADLOCK},
    "stream-write-block": {"S": BLOCK, "A": DEADLOCK},
    "future-read-block": {"S": BLOCK, "A": DEADLOCK},
}


def main() -> None:
    out = [HEADER]
    for callee in CALLEES:
        for caller in CALLERS:
            for lower in LOWERS:
                if callee == "sync" and lower == "async":
                    continue  # an async lower of a sync-typed function is invalid
                exp = CALL_EXPECT.get((callee, caller), "ok")
                out.append(f";; {callee}, {caller}-{lower}")
                out.append(case(callee, caller, lower, exp))
    for name, exps in STREAM_EXPECT.items():
        for caller in CALLERS:
            exp = exps[caller]
            text = stream_case(name, caller)
            if isinstance(exp, int):
                text = text.replace("(u32.const 12345)", f"(u32.const {exp})")
            else:
                text = text.replace('(assert_return (invoke "run") (u32.const 12345))',
                                    f'(assert_trap (invoke "run") "{exp}")')
            out.append(f";; {name}, {caller}")
            out.append(text)
    print("\n".join(out))


if __name__ == "__main__":
    main()

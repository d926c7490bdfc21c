"""Mutation fuzzer for wasmloop's component binary decoder and validator (run off CI).

    python fuzz/fuzz_components.py corpus            # build fuzz/corpus/ from the repo's inputs
    python fuzz/fuzz_components.py run --runs 1000000 [--atheris]
    python fuzz/fuzz_components.py one FILE...       # replay inputs (e.g. a finding)
    python fuzz/fuzz_components.py minimize FILE     # shrink a finding, keeping its signature

Each input goes through ``decode_component`` and then ``validate(…, FEATURES)``. The expected
outcomes are a successful validation, ``DecodeError`` or ``ValidationError``. Anything else
(another exception, an input that takes longer than ``--timeout`` seconds, a dead worker) is a
finding, saved to ``fuzz/findings/`` as ``<kind>-<sha1>.wasm`` with a ``.txt`` traceback.

The mutator knows the component binary format's outer structure: it splits an input into its
sections (recursively, through nested components and embedded core modules), mutates inside a
section's payload, and then re-encodes every size field, so that mutations reach the section
readers and the validator instead of failing the size check. It also splices sections between
seeds, duplicates and drops sections, and writes edge-case LEB128 values. With ``--atheris``
libFuzzer's coverage feedback drives the same mutator (``atheris`` must be installed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))
from componentutil import uleb  # noqa: E402

CORPUS = HERE / "corpus"
FINDINGS = HERE / "findings"

COMPONENT_PREAMBLE = b"\x00asm\x0d\x00\x01\x00"
MODULE_PREAMBLE = b"\x00asm\x01\x00\x00\x00"
MAX_SEED = 1024 * 1024  # larger seeds are reduced to skeletons (module code/data stripped)


# --- the binary's outer structure -------------------------------------------------------------




def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(data) or shift > 35:
            raise ValueError("bad leb")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


Node = tuple[bytes, list[tuple[int, "bytes | Node"]]]  # (preamble, [(section id, payload)])


def split(data: bytes, depth: int = 0) -> Node | None:
    """Sections of a component or module (nested components/modules split too), or None."""
    if len(data) < 8 or data[:4] != b"\x00asm":
        return None
    pre = data[:8]
    is_component = pre == COMPONENT_PREAMBLE
    if not is_component and pre != MODULE_PREAMBLE:
        return None
    secs: list[tuple[int, bytes | Node]] = []
    pos = 8
    try:
        while pos < len(data):
            sid = data[pos]
            size, p = read_uleb(data, pos + 1)
            if p + size > len(data):
                return None
            payload = data[p : p + size]
            pos = p + size
            sub = None
            if is_component and sid in (1, 4) and depth < 20:
                sub = split(payload, depth + 1)
            secs.append((sid, sub if sub is not None else payload))
    except ValueError:
        return None
    return (pre, secs)


def join(node: Node) -> bytes:
    pre, secs = node
    out = bytearray(pre)
    for sid, payload in secs:
        body = payload if isinstance(payload, bytes) else join(payload)
        out.append(sid)
        out += uleb(len(body))
        out += body
    return bytes(out)


def skeleton(data: bytes) -> bytes:
    """The component with code, data and custom sections dropped from every core module (the
    decoder only skips them), so that a 20 MB guest becomes a seed of a few KB."""
    node = split(data)
    if node is None:
        return data

    def strip(n: Node, in_module: bool) -> Node:
        pre, secs = n
        out: list[tuple[int, bytes | Node]] = []
        for sid, payload in secs:
            if in_module and sid in (0, 10, 11, 12):
                continue
            if not in_module and sid == 0:
                continue
            if isinstance(payload, tuple):
                payload = strip(payload, payload[0] == MODULE_PREAMBLE)
            out.append((sid, payload))
        return (pre, out)

    return join(strip(node, node[0] == MODULE_PREAMBLE))


def payloads(node: Node) -> Iterator[tuple[list[tuple[int, bytes | Node]], int]]:
    """Every (section list, index) pair whose payload is raw bytes, at any depth."""
    for i, (_, p) in enumerate(node[1]):
        if isinstance(p, tuple):
            yield from payloads(p)
        else:
            yield node[1], i


def section_lists(node: Node) -> Iterator[list[tuple[int, bytes | Node]]]:
    yield node[1]
    for _, p in node[1]:
        if isinstance(p, tuple):
            yield from section_lists(p)


# --- mutation ---------------------------------------------------------------------------------

INTERESTING_LEB = [
    uleb(0), uleb(1), uleb(0x7F), uleb(0x80), uleb(0xFF), uleb(0x3FFF), uleb(0xFFFF),
    uleb(0x10000), uleb(2**31 - 1), uleb(2**31), uleb(2**32 - 1), uleb(2**32),
    b"\xff\xff\xff\xff\x0f", b"\xff\xff\xff\xff\x7f", b"\x80\x80\x80\x80\x80\x00",
    b"\x80\x00", b"\xff\x00", b"\x80", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
]
INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x40, 0x41, 0x42, 0x60, 0x63, 0x64, 0x66, 0x67, 0x68,
                     0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x71, 0x72, 0x73, 0x74,
                     0x7F, 0x80, 0xFF, 0x10, 0x11, 0x12, 0x50, 0x51, 0x52, 0x53, 0x54]


def mutate_bytes(rng: random.Random, b: bytearray, dictionary: list[bytes]) -> None:
    n = len(b)
    op = rng.randrange(10)
    i = rng.randrange(n + 1) if n else 0
    if op == 0 and n:
        b[min(i, n - 1)] ^= 1 << rng.randrange(8)
    elif op == 1 and n:
        b[min(i, n - 1)] = rng.choice(INTERESTING_BYTES) if rng.random() < 0.5 else rng.randrange(256)
    elif op == 2:
        b[i:i] = bytes([rng.randrange(256) for _ in range(rng.randint(1, 4))])
    elif op == 3 and n:
        del b[i : i + rng.randint(1, 8)]
    elif op == 4:
        leb = rng.choice(INTERESTING_LEB)
        if n and rng.random() < 0.6:  # overwrite an existing LEB at i
            j = min(i, n - 1)
            k = j
            while k < n and b[k] & 0x80:
                k += 1
            b[j : k + 1] = leb
        else:
            b[i:i] = leb
    elif op == 5 and n:
        b[min(i, n - 1)] = (b[min(i, n - 1)] + rng.choice([-1, 1, 2, -2, 16])) & 0xFF
    elif op == 6 and n > 2:  # duplicate a chunk
        j = rng.randrange(n)
        k = min(n, j + rng.randint(1, 32))
        b[i:i] = b[j:k]
    elif op == 7 and dictionary:  # a piece of another seed
        d = rng.choice(dictionary)
        if d:
            j = rng.randrange(len(d))
            b[i:i] = d[j : j + rng.randint(1, 24)]
    elif op == 8 and n:
        del b[i:]
    elif op == 9 and n > 1:  # swap two bytes
        j = rng.randrange(n)
        k = min(i, n - 1)
        b[j], b[k] = b[k], b[j]


class Mutator:
    def __init__(self, seeds: list[bytes], rng: random.Random) -> None:
        self.seeds = seeds
        self.rng = rng
        self.nodes = [n for n in (split(s) for s in seeds) if n is not None]
        self.dictionary = [p for n in self.nodes for sl, i in payloads(n)
                           for p in [sl[i][1]] if isinstance(p, bytes) and len(p) < 4096][:5000]

    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        node = split(data)
        if node is None or rng.random() < 0.1:
            b = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                mutate_bytes(rng, b, self.dictionary)
            return bytes(b)
        node = _copy(node)
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.7:
                places = list(payloads(node))
                if not places:
                    continue
                sl, i = rng.choice(places)
                sid, p = sl[i]
                assert isinstance(p, bytes)
                b = bytearray(p)
                for _ in range(rng.randint(1, 3)):
                    mutate_bytes(rng, b, self.dictionary)
                sl[i] = (sid, bytes(b))
            elif r < 0.8 and self.nodes:  # splice a section from another seed
                other = rng.choice(self.nodes)
                lists = list(section_lists(other))
                src = rng.choice(lists)
                if not src:
                    continue
                dst = rng.choice(list(section_lists(node)))
                sid, p = rng.choice(src)  # copied: a shared node could become a cycle
                dst.insert(rng.randint(0, len(dst)), (sid, p if isinstance(p, bytes) else _copy(p)))
            elif r < 0.88:  # duplicate a section
                dst = rng.choice(list(section_lists(node)))
                if dst:
                    sid, p = dst[rng.randrange(len(dst))]
                    dst.insert(rng.randint(0, len(dst)), (sid, p if isinstance(p, bytes) else _copy(p)))
            elif r < 0.96:  # drop a section
                dst = rng.choice(list(section_lists(node)))
                if dst:
                    del dst[rng.randrange(len(dst))]
            else:  # change a section id
                dst = rng.choice(list(section_lists(node)))
                if dst:
                    j = rng.randrange(len(dst))
                    dst[j] = (rng.randrange(14), dst[j][1])
        out = join(node)
        if rng.random() < 0.03:  # and sometimes break the framing too
            b = bytearray(out)
            mutate_bytes(rng, b, self.dictionary)
            out = bytes(b)
        return out


def _copy(node: Node) -> Node:
    return (node[0], [(sid, p if isinstance(p, bytes) else _copy(p)) for sid, p in node[1]])


# --- the target -------------------------------------------------------------------------------


class Hang(BaseException):
    """An input ran past the per-input time bound."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def make_target() -> Callable[[bytes], None]:
    sys.path.insert(0, str(ROOT / "src"))
    from wasmloop.binary import decode_component
    from wasmloop.errors import DecodeError, ValidationError
    from wasmloop.validate import FEATURES, validate

    def target(data: bytes) -> None:
        try:
            validate(decode_component(data), FEATURES)
        except (DecodeError, ValidationError):
            pass

    return target


def classify(exc: BaseException) -> str:
    if isinstance(exc, Hang):
        return "hang"
    tb = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"
    return f"{type(exc).__name__}@{where}"


def save_finding(data: bytes, kind: str, text: str) -> Path:
    FINDINGS.mkdir(exist_ok=True)
    h = hashlib.sha1(data).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in kind)
    path = FINDINGS / f"{safe}-{h}.wasm"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(f"{kind}\n\n{text}")
    return path


def load_seeds(corpus: Path) -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted(corpus.glob("*.wasm"))]
    if not seeds:
        sys.exit(f"no seeds in {corpus}: run `python {sys.argv[0]} corpus` first")
    return seeds


# --- commands ---------------------------------------------------------------------------------


def cmd_corpus(args: argparse.Namespace) -> None:
    wasm_tools = shutil.which("wasm-tools")
    if wasm_tools is None:
        sys.exit("wasm-tools is needed to build the corpus")
    CORPUS.mkdir(exist_ok=True)
    seen: set[str] = set()

    def add(data: bytes, origin: str) -> None:
        if data[:8] == MODULE_PREAMBLE:  # a core module goes in as a component's module
            data = COMPONENT_PREAMBLE + b"\x01" + uleb(len(data)) + data
        if len(data) > MAX_SEED:
            data = skeleton(data)
        if len(data) > MAX_SEED:
            return
        h = hashlib.sha1(data).hexdigest()[:16]
        if h not in seen:
            seen.add(h)
            (CORPUS / f"{origin}-{h}.wasm").write_bytes(data)

    with tempfile.TemporaryDirectory() as tmp:
        for wast in sorted((ROOT / "tests" / "wast").glob("*.wast")):
            d = Path(tmp) / wast.stem
            d.mkdir()
            r = subprocess.run([wasm_tools, "json-from-wast", str(wast), "-o", str(d / "x.json"),
                                "--wasm-dir", str(d)], capture_output=True)
            if r.returncode != 0:
                print(f"skip {wast.name}: {r.stderr.decode(errors='replace')[:200]}")
                continue
            for f in sorted(d.glob("*.wasm")):
                add(f.read_bytes(), f"wast_{wast.stem}")
        for f in sorted((ROOT / "examples").glob("*.wasm")):
            add(f.read_bytes(), "example")
        cache = Path(os.environ.get("WASMLOOP_GUEST_CACHE", Path.home() / ".cache" / "wasmloop-guests"))
        for f in sorted(cache.glob("*.wasm")):
            add(f.read_bytes(), "guest")
        rng = random.Random(1)
        for i in range(args.smith):
            seed = Path(tmp) / f"s{i}"
            seed.write_bytes(rng.randbytes(rng.randint(64, 2048)))
            out = Path(tmp) / f"s{i}.wasm"
            flags = ["--max-funcs", "8", "--max-instructions", "20", "--gc-enabled", "true",
                     "--exceptions-enabled", "true", "--memory64-enabled", "true",
                     "--multi-value-enabled", "true", "--max-type-size", "200"]
            r = subprocess.run([wasm_tools, "smith", str(seed), "-o", str(out), *flags],
                               capture_output=True)
            if r.returncode != 0:
                r = subprocess.run([wasm_tools, "smith", str(seed), "-o", str(out)],
                                   capture_output=True)
            if r.returncode == 0:
                add(out.read_bytes(), "smith")
    print(f"{len(seen)} seeds in {CORPUS}")


def cmd_run(args: argparse.Namespace) -> None:
    seeds = load_seeds(Path(args.corpus))
    if args.atheris:
        run_atheris(args, seeds)
        return
    rng = random.Random(args.seed)
    mut = Mutator(seeds, rng)
    target = make_target()
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    pool = list(seeds)  # grows with a few mutants, so mutations stack
    findings: dict[str, int] = {}
    start = time.monotonic()
    last = start
    stats_path = Path(args.stats) if args.stats else None
    n = 0
    for s in seeds:  # every seed once, unmutated
        _one(target, s, args.timeout, findings)
        n += 1
    while n < args.runs:
        parent = rng.choice(pool)
        try:
            data = mut.mutate(parent)
        except RecursionError:  # the mutator's own structure walk; not the target's
            continue
        if len(data) > MAX_SEED * 2:
            data = data[: MAX_SEED * 2]
        kind = _one(target, data, args.timeout, findings)
        n += 1
        if kind is None and rng.random() < 0.002 and len(pool) < 4 * len(seeds):
            pool.append(data)
        now = time.monotonic()
        if now - last >= args.report or n == args.runs:
            last = now
            line = {"inputs": n, "seconds": round(now - start, 1),
                    "per_second": round(n / (now - start), 1), "findings": findings}
            print(json.dumps(line), flush=True)
            if stats_path:
                stats_path.write_text(json.dumps(line) + "\n")
    elapsed = time.monotonic() - start
    line = {"inputs": n, "seconds": round(elapsed, 1), "per_second": round(n / elapsed, 1),
            "findings": findings, "done": True}
    print(json.dumps(line), flush=True)
    if stats_path:
        stats_path.write_text(json.dumps(line) + "\n")


def _one(target: Callable[[bytes], None], data: bytes, timeout: float,
         findings: dict[str, int], save: bool = True) -> str | None:
    if timeout:
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        target(data)
        return None
    except BaseException as exc:  # noqa: BLE001 - everything that is not expected is a finding
        if isinstance(exc, KeyboardInterrupt):
            raise
        kind = classify(exc)
        if save and kind not in findings:
            path = save_finding(data, kind, "".join(traceback.format_exception(exc)))
            print(f"FINDING {kind}: {path}", flush=True)
        findings[kind] = findings.get(kind, 0) + 1
        return kind
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)


def run_atheris(args: argparse.Namespace, seeds: list[bytes]) -> None:
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports():
        target = make_target()
    mut = Mutator(seeds, random.Random(args.seed))

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        mut.rng.seed(seed)
        if mut.rng.random() < 0.3:
            return atheris.Mutate(data, max_size)
        return mut.mutate(data)[:max_size]

    findings: dict[str, int] = {}

    def one(data: bytes) -> None:
        # Unexpected exceptions are saved and counted here, so that the campaign goes on;
        # hangs are libFuzzer's -timeout (it writes a timeout-* artifact and stops).
        _one(target, data, 0, findings)

    corpus_dir = Path(tempfile.mkdtemp(prefix="wasmloop-fuzz-"))
    for i, s in enumerate(seeds):
        (corpus_dir / f"{i}.wasm").write_bytes(s)
    FINDINGS.mkdir(exist_ok=True)
    argv = [sys.argv[0], str(corpus_dir), f"-runs={args.runs}", f"-timeout={int(args.timeout) or 1}",
            f"-max_len={MAX_SEED * 2}", f"-artifact_prefix={FINDINGS}/", "-print_final_stats=1"]
    if args.max_time:
        argv.append(f"-max_total_time={int(args.max_time)}")
    atheris.Setup(argv, one, custom_mutator=custom_mutator)
    atheris.Fuzz()


def cmd_one(args: argparse.Namespace) -> None:
    target = make_target()
    signal.signal(signal.SIGALRM, _alarm)
    bad = 0
    for f in args.files:
        findings: dict[str, int] = {}
        kind = _one(target, Path(f).read_bytes(), args.timeout, findings)
        print(f"{f}: {kind or 'ok'}")
        bad += kind is not None
    sys.exit(1 if bad else 0)


def cmd_minimize(args: argparse.Namespace) -> None:
    """Greedy shrink: drop sections, then byte ranges, while the finding keeps its kind."""
    target = make_target()
    signal.signal(signal.SIGALRM, _alarm)
    data = Path(args.file).read_bytes()

    def kind_of(d: bytes) -> str | None:
        return _one(target, d, args.timeout, {}, save=False)

    want = kind_of(data)
    if want is None:
        sys.exit("the input is not a finding")
    node = split(data)
    if node is not None:
        changed = True
        while changed:
            changed = False
            for sl in list(section_lists(node)):
                i = 0
                while i < len(sl):
                    saved = sl.pop(i)
                    if kind_of(join(node)) == want:
                        changed = True
                    else:
                        sl.insert(i, saved)
                        i += 1
        data = join(node)
    chunk = max(1, len(data) // 2)
    while chunk >= 1:
        i = 8
        while i < len(data):
            cand = data[:i] + data[i + chunk :]
            if kind_of(cand) == want:
                data = cand
            else:
                i += chunk
        chunk //= 2
    out = Path(args.output or (str(args.file) + ".min"))
    out.write_bytes(data)
    print(f"{want}: {len(data)} bytes -> {out}\n{data.hex()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus", help="build fuzz/corpus")
    c.add_argument("--smith", type=int, default=200, help="wasm-tools smith modules to add")
    r = sub.add_parser("run", help="fuzz")
    r.add_argument("--runs", type=int, default=1_000_000)
    r.add_argument("--timeout", type=float, default=2.0, help="per-input time bound (s)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--corpus", default=str(CORPUS))
    r.add_argument("--report", type=float, default=60.0, help="progress line every N seconds")
    r.add_argument("--stats", help="also write the latest progress line to this file")
    r.add_argument("--atheris", action="store_true", help="coverage-guided, through atheris")
    r.add_argument("--max-time", type=float, default=0, help="--atheris: stop after N seconds")
    o = sub.add_parser("one", help="replay inputs")
    o.add_argument("files", nargs="+")
    o.add_argument("--timeout", type=float, default=10.0)
    m = sub.add_parser("minimize", help="shrink a finding")
    m.add_argument("file")
    m.add_argument("-o", "--output")
    m.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    {"corpus": cmd_corpus, "run": cmd_run, "one": cmd_one, "minimize": cmd_minimize}[args.cmd](args)


if __name__ == "__main__":
    main()

"""`wasmloop run` against `wasmtime run` with a componentize-py `wasi:cli/command@0.2.12` guest,
pure WASI 0.2 (tests/guests/cli02.py): output-streams, pollables, 0.2 sockets, and files
through componentize-py's wasi-libc. Its first argument names the scenario."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from difftest import RunResult, compare, fs_fixture, run_reference, run_wasmloop
from guests import py_cli02


@pytest.fixture(scope="module")
def wasm() -> Path:
    return py_cli02()


def both(wasm: Path, args: list[str], **kw: object) -> tuple[RunResult, RunResult]:
    ref = run_reference(wasm, [*args], **kw)  # type: ignore[arg-type]
    return ref, run_wasmloop(wasm, [*args], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args", [[], ["args", ""], ["args", "with spaces", "ünï", "-x"]],
    ids=["none", "empty-string", "spaces-unicode-flags"],
)
def test_args(wasm: Path, args: list[str]) -> None:
    ref, got = both(wasm, args)
    assert ref.code == 0, ref.err()
    assert ref.lines()[:2] == ["args " + json.dumps(args[1:]), "sys.argv " + json.dumps(args[1:])]
    compare(ref, got)


def test_env_set_inherited_absent(wasm: Path) -> None:
    ref, got = both(wasm, ["env", "SET", "INHERITED", "ABSENT"],
                    env={"SET": "a b", "INHERITED": None},
                    process_env={"INHERITED": "parent", "ABSENT": "not passed"})
    assert ref.code == 0, ref.err()
    assert ref.lines()[1:4] == ['SET "a b" "a b"', 'INHERITED "parent" "parent"', "ABSENT null null"]
    compare(ref, got)


def test_stdin_read_to_end(wasm: Path) -> None:
    data = hashlib.sha256(b"0.2").digest() * (1 << 15)  # 1 MiB
    ref, got = both(wasm, ["stdin"], stdin=data)
    assert ref.lines()[0] == f"stdin {len(data)} {hashlib.sha256(data).hexdigest()}"
    compare(ref, got)


def test_print_and_stderr(wasm: Path) -> None:
    ref, got = both(wasm, ["print", "hi"])
    assert ref.lines()[0] == "print via libc: hi"
    assert ref.err() == "stderr via 0.2 stream\n"
    compare(ref, got)


def test_filesystem_through_libc(wasm: Path, tmp_path: Path) -> None:
    data = fs_fixture(tmp_path)
    ref, got = both(wasm, ["fs"], dirs={data: "/data"})
    assert ref.code == 0, ref.err()
    for expected in ['read a.txt "alpha\\n"', "read back equal True", "open missing err ENOENT",
                     "rmdir non-empty err ENOTEMPTY", "exclusive create existing err EEXIST"]:
        assert expected in ref.lines()
    assert ref.files["/data"]["link"] == ("symlink", "renamed.txt")
    assert ref.files["/data"]["out.txt"].endswith(b"line 2999\nappended\n")
    compare(ref, got)


def test_escapes_refused(wasm: Path, tmp_path: Path) -> None:
    data = fs_fixture(tmp_path)
    ref, got = both(wasm, ["escape"], dirs={data: "/data"})
    assert ref.code == 0, ref.err()
    for name in ["open ..", "open ../x", "open symlink out", "open abs symlink", "mkdir .."]:
        assert f"{name} err EPERM" in ref.lines()
    assert "open dir/../a.txt ok" in ref.lines()
    compare(ref, got)
    assert not (tmp_path / "outside" / "new.txt").exists()


def test_clocks_pollables_and_random(wasm: Path) -> None:
    ref, got = both(wasm, ["clocks"])
    assert ref.lines()[:2] == ["ten waits of 50ms: at least 50ms True under 400ms True",
                               "subscribe-instant reached True"]
    compare(ref, got)


@pytest.mark.parametrize("args,code,out", [
    (["exit", "7"], 7, "exiting with 7\n"), (["err"], 1, "returning err\n"), (["exit-err"], 1, ""),
], ids=["exit-with-code", "run-err", "exit-err"])
def test_exit_codes(wasm: Path, args: list[str], code: int, out: str) -> None:
    ref, got = both(wasm, args)
    assert (ref.code, ref.out()) == (code, out)
    compare(ref, got)


def test_tcp_echo_server_concurrent_clients(wasm: Path) -> None:
    ref, got = both(wasm, ["tcp", "4"], flags=["-S", "inherit-network"])
    assert ref.code == 0, ref.err()
    assert ref.lines()[0] == "listening True True"
    assert all(ln.endswith(" True") for ln in ref.lines()[1:5])
    compare(ref, got)


def test_udp(wasm: Path) -> None:
    ref, got = both(wasm, ["udp"], flags=["-S", "inherit-network"])
    assert ref.lines()[0] == "sent 1 b got b'ping' from a True"
    compare(ref, got)


def test_name_lookup(wasm: Path) -> None:
    ref, got = both(wasm, ["lookup", "localhost", "", "::1"], flags=["-S", "allow-ip-name-lookup"])
    assert '["IpAddress_Ipv4", [127, 0, 0, 1]]' in ref.lines()[0]
    assert 'lookup "" err invalid-argument' in ref.lines()
    compare(ref, got)


@pytest.mark.parametrize("flags,denied", [
    ([], True), (["-S", "inherit-network", "-S", "allow-ip-name-lookup"], False),
], ids=["no-grants", "granted"])
def test_network_ops_need_their_grant(wasm: Path, flags: list[str], denied: bool) -> None:
    ref, got = both(wasm, ["net"], flags=flags)
    assert ref.code == 0, ref.err()
    if denied:
        assert "tcp create err access-denied" in ref.lines()
        assert "lookup localhost err permanent-resolver-failure" in ref.lines()
    else:
        assert "tcp bind ok" in ref.lines()
        assert "tcp connect err connection-refused" in ref.lines()
    compare(ref, got)

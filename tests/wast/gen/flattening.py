import os
import re

N = 17
params17 = " ".join(f'(param "a{i}" u32)' for i in range(N))
params16 = " ".join(f'(param "a{i}" u32)' for i in range(16))
mixed = '(param "b" u8) ' + " ".join(f'(param "x{i}" u64)' for i in range(16))
args17 = " ".join(f"(u32.const {i + 1})" for i in range(N))
args16 = " ".join(f"(u32.const {i + 1})" for i in range(16))
argsmixed = "(u8.const 0xab) " + " ".join(
    f"(u64.const {hex((i + 1) << 40 | (i + 1))})" for i in range(16)
)
i32x16 = " ".join(["i32"] * 16)
mixsum = hex(0xAB + (1 << 40 | 1) + (16 << 40 | 16))
LOG0 = "(tuple.const (u32.const 0) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff) (u32.const 0xffffffff))"


def log(c, a, b, al, sz):
    return f"(tuple.const (u32.const {c}) (u32.const {a}) (u32.const {b}) (u32.const {al}) (u32.const {sz}))"


T = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "flattening.tmpl")).read()


def sub(m):
    return str(eval(m.group(1)))


print(re.sub(r"@\{([^}]*)\}", sub, T), end="")

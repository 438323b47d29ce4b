"""CUDA spellings of the IR's primitives and the shared device prelude.

Precise libm calls only (no fast-math intrinsics): results must agree with a
float64 reference within float32 tolerances. ``max``/``min`` propagate NaN
like ``torch.maximum``/``torch.minimum`` (``fmaxf`` would drop it).
"""

from __future__ import annotations

import math

from typing import Callable

from cudarwin.agent.offline.ir import Apply, Const, Index, Program, Reduce, ReduceCount, ReduceKind, Scalar, Value

C_OPS: dict[str, str] = {
    "neg": "(-{0})",
    "exp": "expf({0})",
    "log": "logf({0})",
    "log2": "log2f({0})",
    "sqrt": "sqrtf({0})",
    "rsqrt": "(1.0f / sqrtf({0}))",
    "abs": "fabsf({0})",
    "relu": "cd_relu({0})",
    "sigmoid": "cd_sigmoid({0})",
    "tanh": "tanhf({0})",
    "erf": "erff({0})",
    "sin": "sinf({0})",
    "cos": "cosf({0})",
    "log1p": "log1pf({0})",
    "expm1": "expm1f({0})",
    "floor": "floorf({0})",
    "ceil": "ceilf({0})",
    "round": "rintf({0})",
    "trunc": "truncf({0})",
    "recip": "(1.0f / {0})",
    "inf_to_zero": "(isinf({0}) ? 0.0f : {0})",
    "add": "({0} + {1})",
    "sub": "({0} - {1})",
    "mul": "({0} * {1})",
    "div": "({0} / {1})",
    "pow": "powf({0}, {1})",
    "max": "cd_max({0}, {1})",
    "min": "cd_min({0}, {1})",
    "gt": "({0} > {1} ? 1.0f : 0.0f)",
    "ge": "({0} >= {1} ? 1.0f : 0.0f)",
    "lt": "({0} < {1} ? 1.0f : 0.0f)",
    "le": "({0} <= {1} ? 1.0f : 0.0f)",
    "eq": "({0} == {1} ? 1.0f : 0.0f)",
    "ne": "({0} != {1} ? 1.0f : 0.0f)",
    "fmod": "fmodf({0}, {1})",
    "where": "({0} != 0.0f ? {1} : {2})",
}

PRELUDE = r"""
typedef long long i64;
#define CD_INF __int_as_float(0x7f800000)
#define CD_NAN __int_as_float(0x7fffffff)
__device__ __forceinline__ float cd_max(float a, float b) { return (a > b || a != a) ? a : b; }
__device__ __forceinline__ float cd_min(float a, float b) { return (a < b || a != a) ? a : b; }
__device__ __forceinline__ float cd_relu(float a) { return a < 0.0f ? 0.0f : a; }
__device__ __forceinline__ float cd_sigmoid(float a) { return 1.0f / (1.0f + expf(-a)); }
// n / d for n < 2^31 as a multiply-high and a shift ((magic, shift) computed on the host)
__device__ __forceinline__ unsigned cd_udiv(unsigned n, unsigned magic, unsigned shift) {
  return (__umulhi(n, magic) + n) >> shift;
}
"""

REDUCE_INIT = {ReduceKind.SUM: "0.0f", ReduceKind.MAX: "(-CD_INF)", ReduceKind.MIN: "CD_INF", ReduceKind.PROD: "1.0f"}
REDUCE_CODE = {ReduceKind.SUM: 0, ReduceKind.MAX: 1, ReduceKind.MIN: 2, ReduceKind.PROD: 3}


def float_literal(value: float) -> str:
    """A C float literal for ``value`` (rounded to float32 as torch does for Python scalars)."""
    if math.isnan(value):
        return "CD_NAN"
    if math.isinf(value):
        return "CD_INF" if value > 0 else "(-CD_INF)"
    text = repr(float(value))
    return f"{text}f" if ("." in text or "e" in text) else f"{text}.0f"


def value_expr(v: Value, index_var: Callable[[Index], str] | None = None) -> str:
    """C expression of a non-load value whose arguments are named ``v<index>``;
    ``index_var`` names the linear index an :class:`Index` coordinate comes from."""
    if isinstance(v, Index):
        if index_var is None:
            raise TypeError("a coordinate needs the kernel's index variable")
        d = -v.dim
        q = f"cd_udiv((unsigned)({index_var(v)}), idm{d}, ids{d})"
        return f"(float)({q} - cd_udiv({q}, imm{d}, ims{d}) * imod{d})"
    if isinstance(v, Const):
        return float_literal(v.value)
    if isinstance(v, Scalar):
        return f"s{v.index}"
    if isinstance(v, ReduceCount):
        return "cd_count"
    if isinstance(v, Apply):
        return C_OPS[v.op].format(*(f"v{a}" for a in v.args))
    raise TypeError(f"no C expression for {v!r}")


def deps(program: Program, roots: list[int], stop: set[int]) -> list[int]:
    """Indices of values needed to compute ``roots``, in order, not descending
    into (and not including) values in ``stop``."""
    needed: set[int] = set()
    todo = [r for r in roots if r not in stop]
    while todo:
        k = todo.pop()
        if k in needed:
            continue
        needed.add(k)
        v = program.values[k]
        args = v.args if isinstance(v, Apply) else ((v.arg,) if isinstance(v, Reduce) else ())
        todo.extend(a for a in args if a not in stop and a not in needed)
    return sorted(needed)

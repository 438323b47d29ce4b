"""CUDA for plans with reductions: the ``rows`` kernel (reduced dims end at the
last dim) and the ``columns`` kernel (reduced dims in the middle).

Both evaluate the program in passes. A reduction can start only when the row
values it depends on are known (softmax needs the max before the sum of
exponentials), so every value gets a *stage*: leaves are stage 0, a
reduction is one more than its argument, anything else the max of its
arguments. Pass ``p`` computes the reductions of stage ``p + 1``; the final
pass writes the output when it has one value per element.
"""

from __future__ import annotations

import math
from typing import Callable

from cudarwin.agent.offline.codegen import (
    C_TYPES,
    Kernel,
    TunableSpec,
    _params,
    _unpack,
    index_fields,
    struct_def,
    _pow2_at_least,
    ld,
)
from cudarwin.agent.offline.builder import Unsupported
from cudarwin.agent.offline.cuda_ops import PRELUDE, REDUCE_CODE, REDUCE_INIT, deps, value_expr
from cudarwin.agent.offline.ir import Apply, Index, Layout, Load, Plan, Program, Reduce, per_element


def stages(prog: Program) -> list[int]:
    out: list[int] = []
    for v in prog.values:
        if isinstance(v, Apply):
            out.append(max(out[a] for a in v.args))
        elif isinstance(v, Reduce):
            out.append(out[v.arg] + 1)
        else:
            out.append(0)
    return out


class _Passes:
    """Which values each pass computes, shared by both kernel shapes."""

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.per = per_element(prog)
        self.stage = stages(prog)
        needed = deps(prog, [o.value for o in prog.outputs], set())
        self.needed = needed
        self.row_values = [k for k in needed if not self.per[k]]
        self.row_set = set(self.row_values)
        reduces = [k for k in needed if isinstance(prog.values[k], Reduce)]
        self.count = max(self.stage[k] for k in reduces)
        self.reduces = [[k for k in reduces if self.stage[k] == p + 1] for p in range(self.count)]
        self.elem_outputs = [(m, o.value) for m, o in enumerate(prog.outputs) if self.per[o.value]]
        self.row_outputs = [(m, o.value) for m, o in enumerate(prog.outputs) if not self.per[o.value]]
        self.out_per_element = bool(self.elem_outputs)

    def index_var(self, names: tuple[str, str, str]) -> Callable[[Index], str]:
        """Picks the linear index of the group an Index's dim belongs to:
        names = (outer, reduced, inner) variable names of the kernel."""
        lo, hi = self.prog.reduce_dims[0], self.prog.reduce_dims[-1]

        def pick(v: Index) -> str:
            d = self.prog.rank + v.dim
            return names[0] if d < lo else (names[1] if d <= hi else names[2])

        return pick

    def body(self, p: int) -> list[int]:
        """Per-element values computed inside pass ``p`` (p == count: the output pass)."""
        if p == self.count:
            roots = [v for _, v in self.elem_outputs]
        else:
            roots = [self.prog.values[k].arg for k in self.reduces[p]]  # type: ignore[union-attr]
        return deps(self.prog, roots, self.row_set)

    def row_lines(self, stage: int, loads: dict[int, str], names: tuple[str, str, str]) -> list[str]:
        """Row-constant values that become known at ``stage`` (reductions excluded)."""
        lines = []
        for k in self.row_values:
            v = self.prog.values[k]
            if self.stage[k] != stage or isinstance(v, Reduce):
                continue
            expr = loads[v.operand] if isinstance(v, Load) else value_expr(v, self.index_var(names))
            lines.append(f"  const float v{k} = {expr};")
        return lines

    def passes(self) -> list[int]:
        return list(range(self.count + (1 if self.out_per_element else 0)))

    def operand_passes(self) -> dict[int, list[int]]:
        used: dict[int, list[int]] = {}
        for p in self.passes():
            for k in self.body(p):
                v = self.prog.values[k]
                if isinstance(v, Load):
                    used.setdefault(v.operand, []).append(p)
        return used


def _init(prog: Program, k: int) -> str:
    v = prog.values[k]
    assert isinstance(v, Reduce)
    return REDUCE_INIT[v.kind]


def _combine(kind_code: int, acc: str, val: str) -> str:
    return {0: f"{acc} += {val};", 1: f"{acc} = cd_max({acc}, {val});", 2: f"{acc} = cd_min({acc}, {val});",
            3: f"{acc} *= {val};"}[kind_code]


def _split_lines(idx: str, q: str, r: str, indent: str, split: bool) -> list[str]:
    """(q, r) = divmod(idx, R1); without ``split`` the reduced dims always
    collapse to one (checked when configuring), so q = 0 and r = idx."""
    if not split:
        return [f"{indent}const int {q} = 0, {r} = {idx};"]
    return [f"{indent}int {q} = 0, {r} = {idx};", f"{indent}if (R1 != R) {{ {q} = {idx} / R1; {r} = {idx} - {q} * R1; }}"]


def _body_lines(ps: _Passes, p: int, load: dict[int, str], cache_store: dict[int, str], indent: str,
                prefix: list[str] | None = None, names: tuple[str, str, str] = ("rr", "j", "0")) -> list[str]:
    prog = ps.prog
    lines = list(prefix or []) if any(isinstance(prog.values[k], Load) for k in ps.body(p)) else []
    for k in ps.body(p):
        v = prog.values[k]
        if isinstance(v, Load):
            lines.append(f"{indent}const float v{k} = {load[v.operand]};")
            if v.operand in cache_store:
                lines.append(f"{indent}{cache_store[v.operand]} = v{k};")
        else:
            lines.append(f"{indent}const float v{k} = {value_expr(v, ps.index_var(names))};")
    if p < ps.count:
        for k in ps.reduces[p]:
            r = prog.values[k]
            lines.append(f"{indent}{_combine(REDUCE_CODE[r.kind], f'acc{k}', f'v{r.arg}')}")  # type: ignore[union-attr]
    return lines


# ---------------------------------------------------------------------- rows


def _layout_lines(prog, strided, what: str) -> list[str]:
    """Launch-time Python that splits the tensors into outer / reduced / inner groups, or refuses."""
    lo, hi = prog.reduce_dims[0], prog.reduce_dims[-1]
    strides = ", ".join(f"_bstrides(_shapes[{k}], _strides[{k}], _F)" for k in strided)
    return [
        f"_g = _group_layout(_F, {lo}, {hi}, [{strides}])",
        "if _g is None:",
        f"    raise RuntimeError('stride pattern cannot be indexed as {what}')",
        "_o0, _o1, _r0, _r1, _i, _per = _g",
        *_split_guard(prog),
    ]


def _split_guard(prog: Program) -> list[str]:
    if prog.reduced_split:
        return []
    return ["if _r0 > 1:",
            "    raise RuntimeError('this kernel indexes the reduced dims as one; the operand strides need two')"]


def _no_concat(prog: Program) -> None:
    if any(o.concat for o in prog.outputs):
        raise Unsupported("op cat of reduction results not supported")


def rows(plan: Plan, name: str, headline_r: int) -> Kernel:
    prog = plan.program
    _no_concat(prog)
    ps = _Passes(prog)
    layouts = [op.layout for op in prog.operands]
    strided = {k: [f"so0_{k}", f"so1_{k}", f"sq_{k}", f"sr_{k}"] for k, lt in enumerate(layouts)
               if lt in (Layout.ROW, Layout.STRIDED)}
    used = ps.operand_passes()
    cached = sorted(k for k, passes in used.items() if len(set(passes)) > 1)
    # the reduced dims collapse to (R0, R1): element j of a row is (j / R1, j % R1)
    extra = ["int rows", "int R", "int O1", "int R1"]

    def elem_load(k: int) -> str:
        if layouts[k] is Layout.FULL:
            return ld(prog, k, "j").replace(f"in{k} + j", f"p{k} + j")
        return ld(prog, k, f"b{k} + (i64)jq * sq_{k} + (i64)jr * sr_{k}")

    fixed_loads = {k: ld(prog, k, None if lt is Layout.SCALAR else f"b{k}")
                   for k, lt in enumerate(layouts) if lt in (Layout.SCALAR, Layout.ROW)}
    tail, index_ints = index_fields(prog)
    names = ("rr", "j", "0")
    lines = [PRELUDE, _ROWS_HELPERS, struct_def(extra, strided, tail),
             f'extern "C" __global__ void __launch_bounds__(TPR * RPB) {name}(',
             f"    {_params(prog, extra, strided)})", "{"]
    lines += _unpack(extra, strided, tail)
    lines += [
        "#if TPR > 32",
        "  __shared__ float cd_red[TPR / 32];",
        "#else",
        "  float* cd_red = nullptr;",
        "#endif",
        "  const int lane = threadIdx.x % TPR;",
        "  const int row = blockIdx.x * RPB + threadIdx.x / TPR;",
        "  const bool active = row < rows;",
        "  const int n = active ? R : 0;  // inactive rows still join the shuffles",
        "  const int rr = active ? row : 0;",
        "  const float cd_count = (float)R;",
        "  (void)cd_count;",
    ]
    if strided:
        lines.append("  const i64 o0 = rr / O1, o1 = rr % O1;")
    for k, lt in enumerate(layouts):
        if lt is Layout.FULL:
            lines.append(f"  const {C_TYPES[prog.operands[k].dtype]}* __restrict__ p{k} = in{k} + (i64)rr * R;")
        elif k in strided:
            lines.append(f"  const i64 b{k} = o0 * so0_{k} + o1 * so1_{k};")
    lines += [f"  float c{k}[CACHE > 0 ? CACHE : 1];" for k in cached]
    lines += ps.row_lines(0, fixed_loads, names)
    first_use = {k: min(used[k]) for k in cached}
    for p in ps.passes():
        lines.append(f"  // pass {p}")
        if p < ps.count:
            lines += [f"  float acc{k} = {_init(prog, k)};" for k in ps.reduces[p]]
        ops_here = {v.operand for v in (prog.values[k] for k in ps.body(p)) if isinstance(v, Load)}
        cache_load = {k: (f"c{k}[q]" if k in cached and first_use[k] < p else elem_load(k)) for k in ops_here}
        cache_load.update({k: v for k, v in fixed_loads.items()})
        store = {k: f"c{k}[q]" for k in cached if first_use[k] == p and k in ops_here}
        tail_load = {k: elem_load(k) for k in ops_here} | fixed_loads
        store_out = [f"      out{m}[(i64)rr * R + j] = v{v};" for m, v in ps.elem_outputs] if p == ps.count else []
        lines += ["#pragma unroll", "  for (int q = 0; q < CACHE; ++q) {", "    const int j = lane + q * TPR;",
                  "    if (j < n) {"]
        split = _split_lines("j", "jq", "jr", "      ", prog.reduced_split) if any(k in strided for k in ops_here) else []
        lines += _body_lines(ps, p, cache_load, store, "      ", split) + store_out + ["    }", "  }"]
        # rows longer than the cache: unrolled so several loads are in flight per thread
        lines += ["#pragma unroll 4", "  for (int j = lane + CACHE * TPR; j < n; j += TPR) {"]
        lines += _body_lines(ps, p, tail_load, {}, "    ", [x[2:] for x in split]) + [x[2:] for x in store_out] + ["  }"]
        if p < ps.count:
            for k in ps.reduces[p]:
                code = REDUCE_CODE[prog.values[k].kind]  # type: ignore[union-attr]
                lines.append(f"  const float v{k} = cd_group_reduce<{code}>(acc{k}, cd_red);")
            lines += ps.row_lines(p + 1, fixed_loads, names)
    lines += [f"  if (active && lane == 0) out{m}[row] = v{v};" for m, v in ps.row_outputs]
    lines.append("}")

    configure = [
        *_layout_lines(prog, strided, "rows"),
        "_rows = _o0 * _o1",
        "_grid = -(-_rows // _RPB)",
        "_block = THREADS_PER_ROW * _RPB",
        f"_ints = _pack((_rows, _r0 * _r1, _o1, _r1) + tuple(x for p in _per for x in p[:4]) + {index_ints})",
    ]
    tpr = min(1024, max(32, _pow2_at_least(math.ceil(headline_r / 16))))
    cache_cap = 32 // max(1, len(cached))
    # also without cached operands: the unrolled first loop keeps CACHE loads in flight
    cache = min(_pow2_at_least(math.ceil(headline_r / tpr)), _pow2_floor(cache_cap), 32)
    tunables = (
        TunableSpec("THREADS_PER_ROW", tpr, (8, 16, 32, 64, 128, 256, 512, 1024)),
        TunableSpec("ROWS_PER_BLOCK", 4 if tpr <= 32 else 1, (1, 2, 4, 8)),
        TunableSpec("CACHE", cache, (0, 1, 2, 4, 8, 16, 32)),
    )
    setup = ("_RPB = 1 if THREADS_PER_ROW > 32 else max(ROWS_PER_BLOCK, 32 // THREADS_PER_ROW)",)
    return Kernel(name, "\n".join(lines) + "\n", (("TPR", "THREADS_PER_ROW"), ("RPB", "_RPB"), ("CACHE", "CACHE")),
                  setup, tunables, tuple(configure), (), (), "rows")


def _pow2_floor(n: int) -> int:
    return 1 << (max(1, n).bit_length() - 1)


_ROWS_HELPERS = r"""
#ifndef TPR
#define TPR 32
#endif
#ifndef RPB
#define RPB 4
#endif
#ifndef CACHE
#define CACHE 4
#endif
template <int OP> __device__ __forceinline__ float cd_combine(float a, float b) {
  return OP == 0 ? a + b : (OP == 1 ? cd_max(a, b) : (OP == 2 ? cd_min(a, b) : a * b));
}
// Reduce over the TPR threads of one row; every thread gets the same result.
template <int OP> __device__ __forceinline__ float cd_group_reduce(float v, float* red) {
#pragma unroll
  for (int off = (TPR < 32 ? TPR : 32) / 2; off > 0; off >>= 1) {
    v = cd_combine<OP>(v, __shfl_xor_sync(0xffffffffu, v, off));
  }
#if TPR > 32
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  v = red[0];
#pragma unroll
  for (int w = 1; w < TPR / 32; ++w) v = cd_combine<OP>(v, red[w]);
  __syncthreads();  // red is reused by the next reduction
#else
  (void)red;
#endif
  return v;
}
"""


# ---------------------------------------------------------------------- columns


def columns(plan: Plan, name: str) -> Kernel:
    prog = plan.program
    _no_concat(prog)
    ps = _Passes(prog)
    layouts = [op.layout for op in prog.operands]
    strided = {k: [f"so0_{k}", f"so1_{k}", f"sq_{k}", f"sr_{k}", f"si_{k}"] for k, lt in enumerate(layouts)
               if lt in (Layout.ROW, Layout.STRIDED)}
    extra = ["long long total", "int R", "int I", "int O1", "int R1"]
    elem = {k: ld(prog, k, "base + (i64)r * I" if lt is Layout.FULL
                  else f"b{k} + (i64)rq * sq_{k} + (i64)rs * sr_{k}")
            for k, lt in enumerate(layouts) if lt in (Layout.FULL, Layout.STRIDED)}
    fixed = {k: ld(prog, k, None if lt is Layout.SCALAR else f"b{k}")
             for k, lt in enumerate(layouts) if lt in (Layout.SCALAR, Layout.ROW)}
    loads = elem | fixed
    tail, index_ints = index_fields(prog)
    names = ("o", "r", "i")
    lines = [PRELUDE, _COLUMN_HELPERS, struct_def(extra, strided, tail),
             f'extern "C" __global__ void __launch_bounds__(BLOCK) {name}(',
             f"    {_params(prog, extra, strided)})", "{",
             *_unpack(extra, strided, tail),
             "  const float cd_count = (float)R;",
             "  (void)cd_count;",
             "  for (i64 t = (i64)blockIdx.x * BLOCK + threadIdx.x; t < total; t += (i64)gridDim.x * BLOCK) {",
             "    const i64 o = t / I, i = t % I;",
             "    const i64 base = o * R * I + i;",
             "    (void)base;"]
    if strided:
        lines.append("    const i64 o0 = o / O1, o1 = o % O1;")
        lines += [f"    const i64 b{k} = o0 * so0_{k} + o1 * so1_{k} + i * si_{k};" for k in strided]
    lines += ["  " + s for s in ps.row_lines(0, loads, names)]
    for p in ps.passes():
        if p < ps.count:
            lines += [f"    float acc{k} = {_init(prog, k)};" for k in ps.reduces[p]]
        lines += ["#pragma unroll cd_unroll", "    for (int r = 0; r < R; ++r) {"]
        split = _split_lines("r", "rq", "rs", "      ", prog.reduced_split) if strided else []
        lines += _body_lines(ps, p, loads, {}, "      ", split, names)
        if p == ps.count:
            lines += [f"      out{m}[base + (i64)r * I] = v{v};" for m, v in ps.elem_outputs]
        lines.append("    }")
        if p < ps.count:
            lines += [f"    const float v{k} = acc{k};" for k in ps.reduces[p]]
            lines += ["  " + s for s in ps.row_lines(p + 1, loads, names)]
    lines += [f"    out{m}[t] = v{v};" for m, v in ps.row_outputs]
    lines += ["  }", "}"]

    configure = [
        *_layout_lines(prog, strided, "columns"),
        "_total = _o0 * _o1 * _i",
        "_grid = max(1, min(-(-_total // BLOCK), _sm_count(_dev) * 32)) if _total else 0",
        "_block = BLOCK",
        f"_ints = _pack((_total, _r0 * _r1, _i, _o1, _r1) + tuple(x for p in _per for x in p) + {index_ints})",
    ]
    tunables = (TunableSpec("BLOCK", 256, (64, 128, 256, 512)), TunableSpec("UNROLL", 4, (1, 2, 4, 8)))
    return Kernel(name, "\n".join(lines) + "\n", (("BLOCK", "BLOCK"), ("UNROLL", "UNROLL")), (), tunables,
                  tuple(configure), (), (), "columns")


_COLUMN_HELPERS = r"""
#ifndef BLOCK
#define BLOCK 256
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
constexpr int cd_unroll = UNROLL;
"""

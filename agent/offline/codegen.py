"""CUDA source and launch code for a :class:`~cudarwin.agent.offline.ir.Plan`.

Three kernel shapes cover every plan:

* ``elementwise`` -- grid-stride loop, ``VEC``-wide (16-byte for VEC=4)
  loads/stores of the operands laid out like the output when they are
  aligned, a scalar tail, broadcast operands indexed through collapsed strides;
* ``rows`` -- reductions over the last dims: ``TPR`` threads per row
  (warp-shuffle reduction, plus a shared-memory step across warps when TPR >
  32), ``ROWS_PER_BLOCK`` rows per block for short rows, and the first
  ``CACHE * TPR`` elements of each row kept in registers between passes;
* ``columns`` -- reductions over a middle dim: one thread per output column,
  walking the reduced dim (coalesced across threads).

Each generator returns a :class:`Kernel`: the CUDA text, its tunables, and
the Python lines that launch it from the candidate's ``forward``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cudarwin.agent.offline.cuda_ops import PRELUDE, deps, value_expr
from cudarwin.agent.offline.ir import Apply, Index, Layout, Load, Plan, Program, Reduce


@dataclass(frozen=True)
class TunableSpec:
    name: str
    default: int
    choices: tuple[int, ...]


@dataclass(frozen=True)
class Kernel:
    """A generated kernel and how to launch it."""

    name: str
    source: str  # CUDA; compile-time constants come from -D options built from the tunables
    defines: tuple[tuple[str, str], ...]  # (macro, Python expression): passed as -D<macro>=<value>
    setup: tuple[str, ...]  # module-level Python lines run before compiling (derived constants)
    tunables: tuple[TunableSpec, ...]
    # Python lines of `_configure` (run once per operand shapes/strides), after `_F`
    # is known; they must define `_grid` (0: nothing to launch), `_block` and
    # `_ints` (the integer kernel arguments). Operand k has shape `_shapes[k]`
    # and strides `_strides[k]`; output m has shape `_oshapes[m]`.
    configure: tuple[str, ...]
    # Python lines run on every call before the launch, and the arguments they
    # add right after the outputs (e.g. the alignment test of vectorized loads).
    per_call: tuple[str, ...]
    per_call_args: tuple[str, ...]
    kind: str


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


# ---------------------------------------------------------------------- shared helpers


C_TYPES = {"float32": "float", "int64": "long long", "int32": "int", "int16": "short", "int8": "signed char",
           "uint8": "unsigned char", "bool": "bool"}


def ld(prog: Program, k: int, offset: str | None) -> str:
    """C expression loading operand ``k`` at ``offset`` (None: element 0) as a float."""
    ptr = f"in{k}" if offset is None else f"in{k} + {offset}"
    dtype = prog.operands[k].dtype
    if dtype == "bool":
        return f"(*({ptr}) ? 1.0f : 0.0f)"
    return f"__ldg({ptr})" if dtype == "float32" else f"(float)__ldg({ptr})"


def _params(prog: Program, extra: list[str], strided: dict[int, list[str]], per_call: tuple[str, ...] = ()) -> str:
    """The kernel's parameter list. Integer sizes and strides (``extra`` then
    ``strided``) travel in one by-value struct ``P`` (one launch argument instead
    of dozens); ``per_call`` parameters stay separate."""
    ins = [f"const {C_TYPES[op.dtype]}* __restrict__ in{k}" for k, op in enumerate(prog.operands)]
    scalars = [f"float s{k}" for k in range(len(prog.scalars))]
    outs = [f"float* __restrict__ out{m}" for m in range(len(prog.outputs))]
    return ",\n    ".join(ins + outs + list(per_call) + ["const cd_params P"] + scalars)


def index_fields(prog: Program) -> tuple[list[str], str]:
    """Struct fields and the Python expression (for ``_configure``) of the
    divisor/size pairs that turn a group's linear index into the coordinates
    :class:`Index` values need."""
    dims = sorted({v.dim for v in prog.values if isinstance(v, Index)})
    names = ("idiv", "idm", "ids", "imod", "imm", "ims")
    fields = [f"unsigned {n}{-d}" for d in dims for n in names]
    lo, hi = (prog.reduce_dims[0], prog.reduce_dims[-1]) if prog.reduce_dims else (prog.rank, prog.rank)
    expr = " + ".join(f"_coord_magic(_F, len(_F) + ({d}), {lo}, {hi})" for d in dims) or "()"
    return fields, expr


def _unpack(extra: list[str], strided: dict[int, list[str]], tail: list[str] = (),  # type: ignore[assignment]
            stride_type: str = "long long") -> list[str]:
    """Kernel-body lines naming the fields of ``P`` (same order as the packed ints)."""
    fields = extra + [f"{stride_type} {s}" for k in sorted(strided) for s in strided[k]] + list(tail)
    out = [f"  const {f.rsplit(' ', 1)[0]} {f.rsplit(' ', 1)[1]} = ({f.rsplit(' ', 1)[0]})P.v[{i}];"
           for i, f in enumerate(fields)]
    return out


def struct_def(extra: list[str], strided: dict[int, list[str]], tail: list[str] = ()) -> str:  # type: ignore[assignment]
    count = len(extra) + sum(len(v) for v in strided.values()) + len(tail)
    return f"struct cd_params {{ long long v[{max(1, count)}]; }};\n"


def _emit(prog: Program, order: list[int], load: dict[int, str], indent: str) -> list[str]:
    # elementwise kernels: every coordinate comes from the element's linear index i
    """Lines defining v<k> for each k in ``order`` (loads via ``load[operand]``)."""
    lines = []
    for k in order:
        v = prog.values[k]
        if isinstance(v, Load):
            lines.append(f"{indent}const float v{k} = {load[v.operand]};")
        elif isinstance(v, Reduce):
            raise AssertionError("reductions are emitted by the pass structure")
        else:
            lines.append(f"{indent}const float v{k} = {value_expr(v, lambda _: 'i')};")
    return lines


def _scalar_args(prog: Program) -> list[str]:
    return [f"_s{k}" for k in range(len(prog.scalars))]


# ---------------------------------------------------------------------- elementwise


def elementwise(plan: Plan, name: str, headline_numel: int) -> Kernel:
    prog = plan.program
    layouts = [op.layout for op in prog.operands]
    strided = {k: [f"st{k}_{d}" for d in range(4)] for k, lt in enumerate(layouts) if lt is Layout.STRIDED}
    # outputs that are pieces of a torch.cat are written through strides into the joined result
    out_strided = {m: [f"ost{m}_{d}" for d in range(4)] for m, o in enumerate(prog.outputs) if o.concat}
    indexed = bool(strided or out_strided)
    divisors = [f"unsigned {n}{k}" for k in (1, 2, 3) for n in ("d", "m", "s")]
    extra = ["long long n"] + (divisors if indexed else [])
    # 32-bit offsets (extents below 2^31 are checked when configuring): cheaper index math
    extra += [f"unsigned {s}" for m in out_strided for s in out_strided[m]]
    full = [k for k, lt in enumerate(layouts) if lt is Layout.FULL and prog.operands[k].dtype == "float32"]
    full_other = [k for k, lt in enumerate(layouts) if lt is Layout.FULL and k not in full]
    body_order = deps(prog, [o.value for o in prog.outputs], set())
    pre = [k for k in body_order if isinstance(prog.values[k], Load) and layouts[prog.values[k].operand] is Layout.SCALAR]
    pre += [k for k in body_order if not isinstance(prog.values[k], Load) and not _depends_on_elements(prog, k)]
    pre = sorted(set(pre))
    body = [k for k in body_order if k not in pre]

    def index_lines(indent: str) -> list[str]:
        if not indexed:
            return []
        out = [
            f"{indent}const unsigned q3 = (unsigned)i, q2 = cd_udiv(q3, m3, s3);",
            f"{indent}const unsigned q1 = cd_udiv(q2, m2, s2), c0 = cd_udiv(q1, m1, s1);",
            f"{indent}const unsigned c3 = q3 - q2 * d3, c2 = q2 - q1 * d2, c1 = q1 - c0 * d1;",
        ]
        for k, st in strided.items():
            out.append(f"{indent}const unsigned o{k} = c0 * {st[0]} + c1 * {st[1]} + c2 * {st[2]} + c3 * {st[3]};")
        for m, st in out_strided.items():
            out.append(f"{indent}const unsigned oo{m} = c0 * {st[0]} + c1 * {st[1]} + c2 * {st[2]} + c3 * {st[3]};")
        return out

    scalar_loads = {k: ld(prog, k, None) for k, lt in enumerate(layouts) if lt is Layout.SCALAR}
    strided_loads = {k: ld(prog, k, f"o{k}") for k in strided}
    other_loads = {k: ld(prog, k, "i") for k in full_other}
    vec_loads = {**scalar_loads, **strided_loads, **other_loads, **{k: f"a{k}[e]" for k in full}}
    tail_loads = {**scalar_loads, **strided_loads, **other_loads, **{k: ld(prog, k, "i") for k in full}}
    tail, index_ints = index_fields(prog)
    lines = [PRELUDE, _VEC_HELPERS, struct_def(extra, strided, tail),
             f'extern "C" __global__ void __launch_bounds__(BLOCK) {name}(',
             f"    {_params(prog, extra, strided, ('int vec_ok',))})", "{"]
    lines += _unpack(extra, strided, tail, "unsigned")
    lines += _emit(prog, pre, scalar_loads, "  ")
    lines += [
        "  const i64 step = (i64)gridDim.x * BLOCK;",
        "  const i64 tid = (i64)blockIdx.x * BLOCK + threadIdx.x;",
        "  const i64 nvec = vec_ok ? n / VEC : 0;",
        "  for (i64 w = tid; w < nvec; w += step) {",
    ]
    outs = [(m, o) for m, o in enumerate(prog.outputs) if m not in out_strided]
    pieces = [(m, o) for m, o in enumerate(prog.outputs) if m in out_strided]
    lines += [f"    float a{k}[VEC]; cd_load_vec(a{k}, in{k}, w);" for k in full]
    lines += [f"    float r{m}[VEC];" for m, _ in outs]
    lines += ["#pragma unroll", "    for (int e = 0; e < VEC; ++e) {", "      const i64 i = w * VEC + e;"]
    lines += index_lines("      ") + _emit(prog, body, vec_loads, "      ")
    lines += [f"      r{m}[e] = v{o.value};" for m, o in outs]
    lines += [f"      out{m}[oo{m}] = v{o.value};" for m, o in pieces] + ["    }"]
    lines += [f"    cd_store_vec(out{m}, w, r{m});" for m, _ in outs] + ["  }"]
    lines += ["  for (i64 i = nvec * VEC + tid; i < n; i += step) {"]
    lines += index_lines("    ") + _emit(prog, body, tail_loads, "    ")
    lines += [f"    out{m}[i] = v{o.value};" for m, o in outs]
    lines += [f"    out{m}[oo{m}] = v{o.value};" for m, o in pieces] + ["  }", "}"]

    vec_check = " and ".join([f"_t{k}.data_ptr() % (4 * VEC) == 0" for k in full] or ["True"])
    configure = [
        "_n = math.prod(_F)",
        "_per_sm = _sm_count(_dev) * BLOCKS_PER_SM",
        # (vectorized, scalar) grid sizes: which one applies depends on the pointers' alignment
        "_grid = (max(1, min(-(-(_n // VEC) // BLOCK), _per_sm)), max(1, min(-(-_n // BLOCK), _per_sm))) if _n else (0, 0)",
        "_block = BLOCK",
        "_ints = (_n,)",
    ]
    if indexed:
        strides = [f"_bstrides(_shapes[{k}], _strides[{k}], _F)" for k in strided]
        strides += [f"_bstrides(_oshapes[{m}], _joined_strides(_oshapes[{m}], {c[3]}, {c[2]}), _F)"
                    for m, c in ((m, prog.outputs[m].concat) for m in out_strided)]
        configure += [
            f"_lay = _collapse(_F, [{', '.join(strides)}], 4)",
            "if _lay is None:",
            "    raise RuntimeError('broadcast pattern needs more than 4 dims')",
            "if _n >= 2 ** 31:",
            "    raise RuntimeError('broadcast indexing uses 31-bit element indices')",
            "_sz, _st = _lay",
            "if any(_extent(_sz, st) >= 2 ** 31 for st in _st):",
            "    raise RuntimeError('broadcast indexing uses 31-bit offsets')",
            "_ints = (_n, *_magic(_sz[1]), *_magic(_sz[2]), *_magic(_sz[3])) + tuple(sum(_st[%d:] + _st[:%d], []))"
            % (len(strided), len(strided)),
        ]
    if tail:
        configure.append("if _n >= 2 ** 31:\n    raise RuntimeError('coordinates use 31-bit element indices')")
    configure.append(f"_ints = _pack(tuple(_ints) + {index_ints})")
    per_call = (f"_vec_ok = int(VEC > 1 and {vec_check})", "_grid = _grid[0] if _vec_ok else _grid[1]")
    vec_default = 4
    block_default = 256 if headline_numel >= 1 << 16 else 128
    tunables = (
        TunableSpec("BLOCK", block_default, (64, 128, 256, 512, 1024)),
        TunableSpec("VEC", vec_default, (1, 2, 4)),
        TunableSpec("BLOCKS_PER_SM", 8, (2, 4, 8, 16, 32)),
    )
    return Kernel(name, "\n".join(lines) + "\n", (("BLOCK", "BLOCK"), ("VEC", "VEC")), (), tunables,
                  tuple(configure), per_call, ("_vec_ok",), "elementwise")


def _depends_on_elements(prog: Program, k: int) -> bool:
    layouts = [op.layout for op in prog.operands]
    per = [False] * len(prog.values)
    for j, v in enumerate(prog.values[: k + 1]):
        if isinstance(v, Load):
            per[j] = layouts[v.operand] is not Layout.SCALAR
        elif isinstance(v, Apply):
            per[j] = any(per[a] for a in v.args)
        elif isinstance(v, Index):
            per[j] = True
    return per[k]


_VEC_HELPERS = r"""
#ifndef VEC
#define VEC 4
#endif
#ifndef BLOCK
#define BLOCK 256
#endif
__device__ __forceinline__ void cd_load_vec(float* a, const float* __restrict__ p, i64 w) {
#if VEC == 4
  const float4 t = __ldg(reinterpret_cast<const float4*>(p) + w);
  a[0] = t.x; a[1] = t.y; a[2] = t.z; a[3] = t.w;
#elif VEC == 2
  const float2 t = __ldg(reinterpret_cast<const float2*>(p) + w);
  a[0] = t.x; a[1] = t.y;
#else
  a[0] = __ldg(p + w);
#endif
}
__device__ __forceinline__ void cd_store_vec(float* p, i64 w, const float* r) {
#if VEC == 4
  reinterpret_cast<float4*>(p)[w] = make_float4(r[0], r[1], r[2], r[3]);
#elif VEC == 2
  reinterpret_cast<float2*>(p)[w] = make_float2(r[0], r[1]);
#else
  p[w] = r[0];
#endif
}
"""

"""fx op handlers for elementwise work: activations, clamps, selections,
triangular masks and tensor factories. Mixed into the Converter."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import fx

from cudarwin.agent.offline import lowering as L
from cudarwin.agent.offline.builder import TVal, Unsupported
from cudarwin.agent.offline.ir import ReduceKind
from cudarwin.agent.offline.values import _INT_DTYPES, Reshaped, Src, ValuesOf, _norm_name


class PointwiseHandlers:
    """``_op_<name>`` methods for elementwise ops (see Converter for the helpers they use)."""

    # ------------------------------------------------------------------ activations
    def _unary(self, node: fx.Node, fn: Callable[..., TVal], *args: Any) -> TVal:
        return fn(self.o, self._t(self._arg(node, 0)), *args)

    def _convert_dtype(self, node: fx.Node, dtype: Any) -> Any:
        x = self._arg(node, 0)
        if dtype != torch.float32:
            raise Unsupported(f"op to({dtype}) (only conversions to float32 are generated)")
        if isinstance(x, Src) and x.meta.dtype in _INT_DTYPES:
            return Src(x.expr, x.meta, as_float=True)
        if isinstance(x, (Src, TVal)) and (isinstance(x, TVal) or x.meta.dtype == torch.float32):
            return x
        dtype = x.meta.dtype if isinstance(x, Src) else type(x).__name__
        raise Unsupported(f"op to(float32) of a {dtype} tensor (only integer and float32 tensors are loaded)")

    def _op_to(self, node: fx.Node) -> Any:
        targets = [self._resolve(a) for a in node.args[1:]] + [self._resolve(v) for v in node.kwargs.values()]
        dtypes = [self._value(t) for t in targets if isinstance(self._value(t), torch.dtype)]
        if len(dtypes) != 1:
            raise Unsupported("op to() without exactly one dtype (devices and copies are not generated)")
        return self._convert_dtype(node, dtypes[0])

    def _op_float(self, node: fx.Node) -> Any:
        return self._convert_dtype(node, torch.float32)

    def _op_sqrt(self, node: fx.Node) -> Any:
        if node.op == "call_function" and getattr(node.target, "__module__", "") == "math":
            return self._math("sqrt", node)
        return self.o.ap("sqrt", self._t(self._arg(node, 0)))

    def _op_gelu(self, node: fx.Node) -> TVal:
        approx = self._value(self._arg(node, 1, "approximate", "none"))
        return self._unary(node, L.gelu, approx)

    def _op_GELU(self, node: fx.Node) -> TVal:
        return self._unary(node, L.gelu, self._module(node).approximate)

    def _op_silu(self, node: fx.Node) -> TVal:
        return self._unary(node, L.silu)

    _op_SiLU = _op_silu

    def _op_mish(self, node: fx.Node) -> TVal:
        return self._unary(node, L.mish)

    _op_Mish = _op_mish

    def _op_softplus(self, node: fx.Node) -> TVal:
        beta = self._value(self._arg(node, 1, "beta", 1.0))
        th = self._value(self._arg(node, 2, "threshold", 20.0))
        return self._unary(node, L.softplus, float(beta), float(th))

    def _op_Softplus(self, node: fx.Node) -> TVal:
        m = self._module(node)
        return self._unary(node, L.softplus, float(m.beta), float(m.threshold))

    def _op_elu(self, node: fx.Node) -> TVal:
        return self._unary(node, L.elu, float(self._value(self._arg(node, 1, "alpha", 1.0))))

    def _op_ELU(self, node: fx.Node) -> TVal:
        return self._unary(node, L.elu, float(self._module(node).alpha))

    def _op_selu(self, node: fx.Node) -> TVal:
        return self._unary(node, L.selu)

    _op_SELU = _op_selu

    def _op_celu(self, node: fx.Node) -> TVal:
        return self._unary(node, L.celu, float(self._value(self._arg(node, 1, "alpha", 1.0))))

    def _op_CELU(self, node: fx.Node) -> TVal:
        return self._unary(node, L.celu, float(self._module(node).alpha))

    def _op_leaky_relu(self, node: fx.Node) -> TVal:
        return self._unary(node, L.leaky_relu, float(self._value(self._arg(node, 1, "negative_slope", 0.01))))

    def _op_LeakyReLU(self, node: fx.Node) -> TVal:
        return self._unary(node, L.leaky_relu, float(self._module(node).negative_slope))

    def _op_hardtanh(self, node: fx.Node) -> TVal:
        lo = self._value(self._arg(node, 1, "min_val", -1.0))
        hi = self._value(self._arg(node, 2, "max_val", 1.0))
        return self.o.clamp(self._t(self._arg(node, 0)), float(lo), float(hi))

    def _op_Hardtanh(self, node: fx.Node) -> TVal:
        m = self._module(node)
        return self.o.clamp(self._t(self._arg(node, 0)), float(m.min_val), float(m.max_val))

    def _op_relu6(self, node: fx.Node) -> TVal:
        return self.o.clamp(self._t(self._arg(node, 0)), 0.0, 6.0)

    _op_ReLU6 = _op_relu6

    def _op_hardsigmoid(self, node: fx.Node) -> TVal:
        return self._unary(node, L.hardsigmoid)

    _op_Hardsigmoid = _op_hardsigmoid

    def _op_hardswish(self, node: fx.Node) -> TVal:
        return self._unary(node, L.hardswish)

    _op_Hardswish = _op_hardswish

    def _op_softsign(self, node: fx.Node) -> TVal:
        return self._unary(node, L.softsign)

    _op_Softsign = _op_softsign

    def _op_tanhshrink(self, node: fx.Node) -> TVal:
        x = self._t(self._arg(node, 0))
        return self.o.sub(x, self.o.ap("tanh", x))

    _op_Tanhshrink = _op_tanhshrink

    def _op_logsigmoid(self, node: fx.Node) -> TVal:
        return self._unary(node, L.logsigmoid)

    _op_LogSigmoid = _op_logsigmoid
    _op_log_sigmoid = _op_logsigmoid

    def _op_threshold(self, node: fx.Node) -> TVal:
        th = self._value(self._arg(node, 1, "threshold"))
        val = self._value(self._arg(node, 2, "value"))
        return self._unary(node, L.threshold, float(th), float(val))

    _op__threshold = _op_threshold

    def _op_Threshold(self, node: fx.Node) -> TVal:
        m = self._module(node)
        return self._unary(node, L.threshold, float(m.threshold), float(m.value))

    def _op_hardshrink(self, node: fx.Node) -> TVal:
        return self._unary(node, L.hardshrink, float(self._value(self._arg(node, 1, "lambd", 0.5))))

    def _op_Hardshrink(self, node: fx.Node) -> TVal:
        return self._unary(node, L.hardshrink, float(self._module(node).lambd))

    def _op_softshrink(self, node: fx.Node) -> TVal:
        return self._unary(node, L.softshrink, float(self._value(self._arg(node, 1, "lambd", 0.5))))

    def _op_Softshrink(self, node: fx.Node) -> TVal:
        return self._unary(node, L.softshrink, float(self._module(node).lambd))

    def _op_square(self, node: fx.Node) -> TVal:
        x = self._t(self._arg(node, 0))
        return self.o.mul(x, x)

    def _op_clamp(self, node: fx.Node) -> TVal:
        lo = self._arg(node, 1, "min")
        hi = self._arg(node, 2, "max")
        lo_v = None if lo is None else self._t_or_num(lo)
        hi_v = None if hi is None else self._t_or_num(hi)
        return self.o.clamp(self._t(self._arg(node, 0)), lo_v, hi_v)

    _op_clip = _op_clamp

    def _op_clamp_min(self, node: fx.Node) -> TVal:
        return self.o.clamp(self._t(self._arg(node, 0)), self._t_or_num(self._arg(node, 1, "min")), None)

    def _op_clamp_max(self, node: fx.Node) -> TVal:
        return self.o.clamp(self._t(self._arg(node, 0)), None, self._t_or_num(self._arg(node, 1, "max")))

    def _op_where(self, node: fx.Node) -> TVal:
        c, a, b = self._arg(node, 0, "condition"), self._arg(node, 1, "input"), self._arg(node, 2, "other")
        if a is None:
            raise Unsupported("op where(condition) with one argument (returns indices)")
        return self.o.where(self._t(c), self._t_or_num(a), self._t_or_num(b))

    def _op_max(self, node: fx.Node) -> Any:
        return self._minmax(node, ReduceKind.MAX, "max")

    def _op_min(self, node: fx.Node) -> Any:
        return self._minmax(node, ReduceKind.MIN, "min")

    def _minmax(self, node: fx.Node, kind: ReduceKind, op: str) -> Any:
        x = self._arg(node, 0)
        other = self._arg(node, 1, "dim" if "dim" in node.kwargs else "other")
        if other is None:
            if not isinstance(x, (Src, TVal)):
                raise Unsupported(f"op {op} of Python values")
            raise Unsupported(f"op {op} over all elements (no dim) not supported: only row/column reductions are generated")
        if isinstance(other, (Src, TVal)):
            return self.o.ap(op, self._t(x), self._t(other))
        keepdim = bool(self._value(self._arg(node, 2, "keepdim", False)))
        return ValuesOf(self.o.reduce(kind, self._t(x), (int(self._value(other)),), keepdim))

    # ------------------------------------------------------------------ masks
    def _factory(self, node: fx.Node, value: float) -> TVal:
        dtype = self._value(self._resolve(node.kwargs.get("dtype")))
        if dtype not in (None, torch.float32, torch.bool):
            raise Unsupported(f"op {_norm_name(node, self.gm)} with dtype {dtype}")
        return self.b.constant(value, tuple(self.metas[node].shape))

    def _op_ones(self, node: fx.Node) -> TVal:
        return self._factory(node, 1.0)

    def _op_zeros(self, node: fx.Node) -> TVal:
        return self._factory(node, 0.0)

    def _op_full(self, node: fx.Node) -> TVal:
        return self._factory(node, float(self._value(self._arg(node, 1, "fill_value"))))

    def _op_ones_like(self, node: fx.Node) -> TVal:
        return self._factory(node, 1.0)

    def _op_zeros_like(self, node: fx.Node) -> TVal:
        return self._factory(node, 0.0)

    def _triangle(self, node: fx.Node, upper: bool) -> TVal:
        x = self._t(self._arg(node, 0))
        k = int(self._value(self._arg(node, 1, "diagonal", 0)))
        if len(x.shape) < 2:
            raise Unsupported("op triu/tril of a tensor with fewer than 2 dims")
        offset = self.o.sub(self.b.index(x, -1), self.b.index(x, -2))
        keep = self.o.ap("ge" if upper else "le", offset, float(k))
        return self.o.where(keep, x, 0.0)

    def _op_triu(self, node: fx.Node) -> TVal:
        return self._triangle(node, upper=True)

    def _op_tril(self, node: fx.Node) -> TVal:
        return self._triangle(node, upper=False)

    def _op_masked_fill(self, node: fx.Node) -> TVal:
        x, mask, value = self._arg(node, 0), self._arg(node, 1, "mask"), self._arg(node, 2, "value")
        return self.o.where(self._t(mask), self._t_or_num(value), self._t(x))

    def _op_GroupNorm(self, node: fx.Node) -> Reshaped:
        m = self._module(node)
        x = self._t(self._arg(node, 0))
        w = Src(f"self.{node.target}.weight", m.weight) if m.affine else None
        b = Src(f"self.{node.target}.bias", m.bias) if m.affine else None
        return self._group_norm(x, f"self.{node.target}.num_groups", int(m.num_groups), w, b, float(m.eps))
